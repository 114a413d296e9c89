//! The Silero VAD converted by `skriva_engine::model::convert_silero_safetensors` loads in
//! whisper.cpp and tells silence, noise and speech apart.
//!
//! Needs `silero_vad_16k.safetensors`: `$SKRIVA_SILERO_SAFETENSORS`, else
//! `$SKRIVA_HOME/models/`, else `<data dir>/skriva/models/` (put there by `skriva model fetch`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use skriva_engine::model::convert_silero_safetensors;
use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

const SR: usize = 16_000;
/// Samples per VAD probability in whisper.cpp.
const WINDOW: usize = 512;

fn safetensors_path() -> PathBuf {
    const FILE: &str = "silero_vad_16k.safetensors";
    let candidate = if let Some(p) = std::env::var_os("SKRIVA_SILERO_SAFETENSORS") {
        PathBuf::from(p)
    } else if let Some(home) = std::env::var_os("SKRIVA_HOME") {
        PathBuf::from(home).join("models").join(FILE)
    } else {
        dirs::data_dir()
            .expect("no data directory; set SKRIVA_SILERO_SAFETENSORS")
            .join("skriva/models")
            .join(FILE)
    };
    assert!(
        candidate.is_file(),
        "Silero VAD weights not found at {}: run `skriva model fetch` (or set \
         SKRIVA_SILERO_SAFETENSORS to silero_vad/data/{FILE} from the silero-vad wheel)",
        candidate.display()
    );
    candidate
}

/// Converts the real weights into a fresh temp dir and opens the result in whisper.cpp.
fn vad() -> (tempfile::TempDir, WhisperVadContext) {
    whisper_rs::install_logging_hooks();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ggml-silero-vad.bin");
    let report = convert_silero_safetensors(&safetensors_path(), &out).unwrap();
    assert_eq!(report.tensors, 15);
    assert!(report.ignored.is_empty(), "{:?}", report.ignored);
    let mut params = WhisperVadContextParams::new();
    // One thread: the per-window graph is tiny, and ggml's spinning worker barriers make 2+ threads
    // ~100x slower on a busy 2-core machine (26 s instead of 0.2 s for the 5 s fixture).
    params.set_n_threads(1);
    let ctx = WhisperVadContext::new(out.to_str().unwrap(), params)
        .expect("whisper.cpp rejected the converted VAD model");
    (dir, ctx)
}

/// Speech segments in seconds with whisper.cpp's default VAD parameters.
fn segments(ctx: &mut WhisperVadContext, samples: &[f32]) -> Vec<(f32, f32)> {
    segments_with(ctx, samples, WhisperVadParams::new())
}

fn segments_with(
    ctx: &mut WhisperVadContext,
    samples: &[f32],
    params: WhisperVadParams,
) -> Vec<(f32, f32)> {
    ctx.segments_from_samples(params, samples)
        .unwrap()
        .map(|s| (s.start / 100.0, s.end / 100.0))
        .collect()
}

fn total(segs: &[(f32, f32)]) -> f32 {
    segs.iter().map(|(a, b)| b - a).sum()
}

/// Seconds of `[from, to]` covered by `segs`.
fn covered(segs: &[(f32, f32)], from: f32, to: f32) -> f32 {
    segs.iter()
        .map(|&(a, b)| (b.min(to) - a.max(from)).max(0.0))
        .sum()
}

/// A tiny RIFF/WAVE reader for 16-bit PCM mono 16 kHz.
fn read_wav_pcm16(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE",
        "{}: not RIFF/WAVE",
        path.display()
    );
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut pos = 12;
    let mut fmt_ok = false;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32_at(&bytes, pos + 4) as usize;
        let body = &bytes[pos + 8..(pos + 8 + len).min(bytes.len())];
        match id {
            b"fmt " => {
                let (format, channels, rate, bits) = (
                    u16_at(body, 0),
                    u16_at(body, 2),
                    u32_at(body, 4),
                    u16_at(body, 14),
                );
                assert_eq!(
                    (format, channels, rate, bits),
                    (1, 1, SR as u32, 16),
                    "unsupported WAV"
                );
                fmt_ok = true;
            }
            b"data" => {
                assert!(fmt_ok, "data chunk before fmt chunk");
                return body
                    .chunks_exact(2)
                    .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
                    .collect();
            }
            _ => {}
        }
        pos += 8 + len + (len & 1);
    }
    panic!("{}: no data chunk", path.display());
}

fn speech_fixture() -> Vec<f32> {
    read_wav_pcm16(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech_en_16k.wav"))
}

/// First and last sample above -34 dBFS, in seconds: where the fixture's speech is.
fn speech_span(x: &[f32]) -> (f32, f32) {
    let loud = |s: &&f32| s.abs() > 0.02;
    let first = x.iter().position(|s| loud(&s)).unwrap();
    let last = x.iter().rposition(|s| loud(&s)).unwrap();
    (first as f32 / SR as f32, last as f32 / SR as f32)
}

fn silence(seconds: f32) -> Vec<f32> {
    vec![0.0; (seconds * SR as f32) as usize]
}

#[test]
fn digital_silence_has_no_speech() {
    let (_dir, mut ctx) = vad();
    let x = silence(30.0);
    let segs = segments(&mut ctx, &x);
    assert!(segs.is_empty(), "{segs:?}");
    let max = ctx.probabilities().iter().copied().fold(0.0f32, f32::max);
    assert_eq!(ctx.probabilities().len(), x.len().div_ceil(WINDOW));
    assert!(max < 0.1, "max speech probability in silence {max}");
}

#[test]
fn white_noise_has_almost_no_speech() {
    let (_dir, mut ctx) = vad();
    // xorshift64*, uniform in [-0.1, 0.1): RMS about -35 dBFS.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let x: Vec<f32> = (0..10 * SR)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let u = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
            (u * 2.0 - 1.0) * 0.1
        })
        .collect();
    let segs = segments(&mut ctx, &x);
    let probs = ctx.probabilities();
    let above = probs.iter().filter(|&&p| p >= 0.5).count();
    assert!(total(&segs) <= 0.5, "noise taken for speech: {segs:?}");
    assert!(
        above * 20 <= probs.len(),
        "{above} of {} windows above 0.5",
        probs.len()
    );
}

#[test]
fn speech_is_covered() {
    let (_dir, mut ctx) = vad();
    let speech = speech_fixture();
    let (s0, s1) = speech_span(&speech);
    let lead = 1.0;
    let x = [silence(lead), speech.clone(), silence(1.0)].concat();
    let (start, end) = (lead + s0, lead + s1);
    let segs = segments(&mut ctx, &x);
    assert!(!segs.is_empty(), "no speech found");
    let cov = covered(&segs, start, end);
    assert!(
        cov >= 0.9 * (end - start),
        "speech {start:.2}..{end:.2} s, covered {cov:.2} s by {segs:?}"
    );
    // Nothing far outside the speech.
    let first = segs[0].0;
    let last = segs[segs.len() - 1].1;
    assert!(
        first >= start - 0.5 && last <= end + 0.5,
        "{segs:?} vs speech {start:.2}..{end:.2}"
    );
}

#[test]
fn twenty_seconds_of_silence_split_two_utterances() {
    let (_dir, mut ctx) = vad();
    let speech = speech_fixture();
    let (s0, s1) = speech_span(&speech);
    let len = speech.len() as f32 / SR as f32;
    let lead = 0.5;
    let gap = 20.0;
    let x = [
        silence(lead),
        speech.clone(),
        silence(gap),
        speech,
        silence(0.5),
    ]
    .concat();
    let first = (lead + s0, lead + s1);
    let second = (lead + len + gap + s0, lead + len + gap + s1);
    // Half a second of silence ends an utterance, so the comma pause inside the fixture does not.
    let mut params = WhisperVadParams::new();
    params.set_min_silence_duration(500);
    let segs = segments_with(&mut ctx, &x, params);
    assert_eq!(segs.len(), 2, "{segs:?}");
    let (a, b) = (segs[0], segs[1]);
    // The silence between the utterances is not speech.
    assert!(
        a.1 <= first.1 + 1.0,
        "first segment {a:?} runs into the gap after {:.2} s",
        first.1
    );
    assert!(
        b.0 >= second.0 - 1.0,
        "second segment {b:?} starts in the gap before {:.2} s",
        second.0
    );
    assert!(
        covered(&[a], first.0, first.1) >= 0.9 * (first.1 - first.0),
        "{a:?} vs {first:?}"
    );
    assert!(
        covered(&[b], second.0, second.1) >= 0.9 * (second.1 - second.0),
        "{b:?} vs {second:?}"
    );
}

/// `(window, probability)` for the fixture from an independent NumPy implementation of
/// whisper.cpp's VAD graph (512-sample windows, reflect padding, no context) with the f32
/// safetensors weights. whisper.cpp with the converted f16/f32 model stays within 0.0025.
const REFERENCE: [(usize, f32); 12] = [
    (0, 0.0962),
    (2, 0.8414),
    (4, 0.3907),
    (5, 0.6364),
    (20, 1.0000),
    (60, 0.5065),
    (62, 0.9098),
    (74, 0.2697),
    (121, 0.4063),
    (122, 0.0698),
    (155, 0.0263),
    (163, 0.0066),
];

/// The same windows from the `silero-vad` 6.2.3 Python package (onnxruntime, `silero_vad.onnx`,
/// 64-sample context). Its v6 weights differ from the wheel's safetensors checkpoint and it frames
/// windows differently, so only rough agreement is expected (mean |Δ| over the clip 0.009).
const PYTHON_SILERO: [(usize, f32); 10] = [
    (0, 0.0532),
    (2, 0.9225),
    (4, 0.3867),
    (5, 0.6340),
    (20, 1.0000),
    (62, 0.9393),
    (121, 0.3947),
    (122, 0.0732),
    (155, 0.0332),
    (163, 0.0094),
];

#[test]
fn probabilities_match_reference_implementations() {
    let (_dir, mut ctx) = vad();
    let x = speech_fixture();
    ctx.detect_speech(&x).unwrap();
    let probs = ctx.probabilities();
    assert_eq!(probs.len(), x.len().div_ceil(WINDOW));
    for (i, want) in REFERENCE {
        assert!(
            (probs[i] - want).abs() < 0.01,
            "window {i}: {} vs reference {want}",
            probs[i]
        );
    }
    for (i, want) in PYTHON_SILERO {
        assert!(
            (probs[i] - want).abs() < 0.1,
            "window {i}: {} vs silero-vad {want}",
            probs[i]
        );
    }
}
