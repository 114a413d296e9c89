//! Criterion micro-benchmarks of the stages after the recognizer, which run on every live
//! final and every uploaded recording: resampling, spoken-text formatting, structuring into
//! sections, vocabulary look-ups and the harness's own word alignment. The inputs are the
//! evaluation set's real scripts (`corpora/sv-structure/cases`), so the numbers track the work
//! a note costs. `cargo bench -p skriva-bench --bench stages`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use skriva_engine::audio::{resample_to_16k, StreamResampler};
use skriva_engine::journal::eval::{load_eval_set, EvalCase};
use skriva_engine::journal::{self, Mode};
use skriva_engine::text::{self, FormatOptions};
use skriva_vocab::Vocabulary;

/// The evaluation set's dictation with the longest script and its longest ambient dialogue.
fn longest_cases() -> (EvalCase, EvalCase) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/sv-structure/cases");
    let cases = load_eval_set(&dir).expect("the evaluation set loads");
    let longest = |mode: Mode| {
        cases
            .iter()
            .filter(|c| c.mode == mode)
            .max_by_key(|c| c.spoken.len())
            .cloned()
            .expect("a case of each mode")
    };
    (longest(Mode::Dictation), longest(Mode::Ambient))
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

fn text_stages(c: &mut Criterion) {
    let vocab = Vocabulary::builtin().expect("the shipped vocabulary");
    let (dictation, ambient) = longest_cases();

    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(words(&dictation.spoken)));
    for correct_terms in [false, true] {
        let options = FormatOptions {
            correct_terms,
            ..FormatOptions::default()
        };
        group.bench_with_input(
            BenchmarkId::new(
                "dictation",
                if correct_terms { "correction" } else { "plain" },
            ),
            &dictation.spoken,
            |b, spoken| b.iter(|| text::format(black_box(spoken), &vocab, options)),
        );
    }
    group.finish();

    let mut group = c.benchmark_group("structure");
    for case in [&dictation, &ambient] {
        let template = vocab.template(&case.template).expect("the case's template");
        group.throughput(Throughput::Elements(words(&case.spoken)));
        group.bench_with_input(
            BenchmarkId::new(format!("{:?}", case.mode).to_lowercase(), &case.id),
            &case.spoken,
            |b, spoken| {
                b.iter(|| journal::structure(black_box(spoken), case.mode, template, &vocab))
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group("vocab");
    // Drug names as the recognizer mishears them, and one word that is no term at all.
    for spoken in ["sättralin", "omeprasol", "kandesartan", "promenad"] {
        group.bench_with_input(BenchmarkId::new("lookup", spoken), spoken, |b, spoken| {
            b.iter(|| vocab.lookup(black_box(spoken), 5))
        });
    }
    let sentence = "Insätter Sertralin 50 mg 1 x 1 mot medelsvår depressiv episod, MADRS 26 poäng.";
    group.bench_function("find_terms", |b| {
        b.iter(|| vocab.find_terms(black_box(sentence)))
    });
    group.finish();

    let reference = journal::structure(
        &dictation.spoken,
        dictation.mode,
        vocab
            .template(&dictation.template)
            .expect("the case's template"),
        &vocab,
    )
    .expect("the dictation structures")
    .to_text();
    // Every fifth word dropped: an alignment with real work to do.
    let hypothesis: String = reference
        .split_whitespace()
        .enumerate()
        .filter(|(i, _)| i % 5 != 0)
        .map(|(_, w)| w)
        .collect::<Vec<_>>()
        .join(" ");
    let mut group = c.benchmark_group("wer");
    group.throughput(Throughput::Elements(words(&reference)));
    group.bench_function("word_edits", |b| {
        b.iter(|| skriva_bench::wer::word_edits(black_box(&reference), black_box(&hypothesis)))
    });
    group.finish();
}

/// A 440 Hz tone with some noise-like overtones, `seconds` long at `rate`, `channels` interleaved.
fn tone(seconds: f64, rate: u32, channels: usize) -> Vec<f32> {
    let frames = (seconds * f64::from(rate)) as usize;
    (0..frames)
        .flat_map(|i| {
            let t = i as f32 / rate as f32;
            let s = 0.4 * (t * 440.0 * std::f32::consts::TAU).sin()
                + 0.1 * (t * 3_170.0 * std::f32::consts::TAU).sin();
            std::iter::repeat_n(s, channels)
        })
        .collect()
}

fn resampling(c: &mut Criterion) {
    let mut group = c.benchmark_group("resample");
    let clip = tone(10.0, 44_100, 1);
    group.throughput(Throughput::Elements(clip.len() as u64));
    group.bench_function("file_44k1_mono_10s", |b| {
        b.iter(|| resample_to_16k(black_box(&clip), 44_100))
    });
    // The live path: one second of 48 kHz stereo in 20 ms network frames.
    let live = tone(1.0, 48_000, 2);
    group.throughput(Throughput::Elements((live.len() / 2) as u64));
    group.bench_function("stream_48k_stereo_1s_20ms_frames", |b| {
        b.iter(|| {
            let mut resampler = StreamResampler::new(48_000, 2).expect("a resampler");
            let mut out = Vec::with_capacity(16_000);
            for frame in live.chunks(2 * 960) {
                resampler.push(black_box(frame), &mut out).expect("push");
            }
            resampler.finish(&mut out).expect("finish");
            out
        })
    });
    group.finish();
}

criterion_group!(benches, text_stages, resampling);
criterion_main!(benches);
