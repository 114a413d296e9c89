//! `skriva transcribe` end to end: the real binary, the real provisioned model (run
//! `skriva model fetch` first; the test command does), real corpus audio.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use skriva_bench::corpus::Corpus;
use skriva_bench::wer::word_edits;

/// Corpus WER bound for plain (non-dictation) clips with the default model. Measured 0.494 on
/// this corpus (Whisper base, greedy, 2 threads); the margin absorbs thread-count and CPU
/// differences, which change greedy decoding slightly.
const MAX_CORPUS_WER: f64 = 0.60;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn skriva(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skriva"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run skriva")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes 16 kHz mono 16-bit PCM.
fn write_wav(path: &Path, samples: &[f32]) {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
        .collect();
    std::fs::write(path, skriva_engine::audio::encode_wav(&pcm, 16_000)).expect("write wav");
}

/// Deterministic white noise (xorshift), uniform in [-amp, amp].
fn white_noise(n: usize, amp: f32) -> Vec<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect()
}

#[test]
fn sample_clip_is_transcribed_to_swedish() {
    let out = skriva(&["transcribe", "corpora/sv-clinical/sample.wav"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.split_whitespace().count() >= 5, "{text}");
}

#[test]
fn corpus_wer_is_within_the_measured_bound() {
    let corpus = Corpus::load(&repo().join("corpora/sv-clinical/manifest.tsv")).expect("corpus");
    let clips: Vec<_> = corpus
        .clips
        .iter()
        .filter(|c| c.meta.get("kind").map(String::as_str) == Some("plain"))
        .collect();
    assert!(clips.len() >= 10, "corpus has {} plain clips", clips.len());
    let mut args = vec!["transcribe".to_string(), "--format".into(), "json".into()];
    args.extend(clips.iter().map(|c| c.audio.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = skriva(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let docs = json_lines(&stdout(&out));
    assert_eq!(docs.len(), clips.len());
    let (mut errors, mut words) = (0usize, 0usize);
    for (clip, doc) in clips.iter().zip(&docs) {
        let hyp = doc["text"].as_str().expect("text");
        let edits = word_edits(&clip.reference, hyp);
        errors += edits.errors();
        words += edits.reference_len;
    }
    let wer = errors as f64 / words as f64;
    assert!(
        wer <= MAX_CORPUS_WER,
        "corpus WER {wer:.3} > {MAX_CORPUS_WER}"
    );
}

#[test]
fn silence_and_noise_produce_no_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let silence = dir.path().join("silence.wav");
    let noise = dir.path().join("noise.wav");
    write_wav(&silence, &vec![0.0; 16_000 * 30]);
    write_wav(&noise, &white_noise(16_000 * 30, 0.3));
    for file in [&silence, &noise] {
        let out = skriva(&[
            "transcribe",
            "--format",
            "json",
            &file.display().to_string(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let doc = &json_lines(&stdout(&out))[0];
        assert_eq!(doc["text"], "", "{}: {doc}", file.display());
        assert!(doc["duration_s"].as_f64().expect("duration") > 29.9);
    }
}

#[test]
fn no_words_are_invented_in_a_long_pause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = repo().join("corpora/sv-clinical/sample.wav");
    let (pcm, _) = skriva_engine::audio::load_file(&a).expect("sample");
    let first_end = pcm.duration_s();
    let mut samples = pcm.samples.clone();
    samples.extend(std::iter::repeat_n(0.0, 16_000 * 20));
    samples.extend_from_slice(&pcm.samples);
    let gap = dir.path().join("gap.wav");
    write_wav(&gap, &samples);
    let out = skriva(&["transcribe", "--format", "json", &gap.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = &json_lines(&stdout(&out))[0];
    let mut words_after = 0;
    for seg in doc["segments"].as_array().expect("segments") {
        for w in seg["words"].as_array().expect("words") {
            let start = w["start"].as_f64().expect("start");
            let end = w["end"].as_f64().expect("end");
            assert!(
                end <= first_end + 0.5 || start >= first_end + 19.5,
                "word {w} lies in the silent gap ({first_end:.1}–{:.1} s)",
                first_end + 20.0
            );
            if start >= first_end + 19.5 {
                words_after += 1;
            }
        }
    }
    assert!(words_after >= 5, "the speech after the gap was lost: {doc}");
}

#[test]
fn bad_files_get_one_line_each_and_the_rest_still_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").expect("write");
    let text = dir.path().join("notes.mp3");
    std::fs::write(&text, "Det här är ingen ljudfil.\n".repeat(50)).expect("write");
    let sample = repo().join("corpora/sv-clinical/sample.wav");
    let truncated = dir.path().join("truncated.wav");
    let bytes = std::fs::read(&sample).expect("read");
    std::fs::write(&truncated, &bytes[..30]).expect("write");
    let missing = dir.path().join("missing.flac");
    let files = [&empty, &text, &sample, &truncated, &missing];
    let args: Vec<String> = std::iter::once("transcribe".to_string())
        .chain(files.iter().map(|f| f.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = skriva(&args);
    assert!(!out.status.success(), "bad files must give a non-zero exit");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("skriva:")).collect();
    assert_eq!(lines.len(), 4, "{err}");
    for bad in [&empty, &text, &truncated, &missing] {
        let name = bad.display().to_string();
        assert!(
            lines.iter().any(|l| l.contains(&name)),
            "no line names {name}: {err}"
        );
    }
    assert!(stdout(&out).contains("== "), "good file not transcribed");
    assert!(
        stdout(&out).split_whitespace().count() >= 8,
        "good file not transcribed: {}",
        stdout(&out)
    );
}

#[test]
fn output_formats() {
    let sample = "corpora/sv-clinical/sample.wav";
    let out = skriva(&["transcribe", "--format", "json", sample]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = &json_lines(&stdout(&out))[0];
    assert_eq!(doc["language"], "sv");
    assert!(doc["model"].as_str().expect("model").ends_with(".bin"));
    assert!(doc["timings"]["transcribe_s"].as_f64().expect("timing") > 0.0);
    let seg = &doc["segments"][0];
    for key in ["start", "end", "text", "words"] {
        assert!(seg.get(key).is_some(), "segment lacks {key}: {seg}");
    }
    let w = &seg["words"][0];
    for key in ["word", "start", "end", "p"] {
        assert!(w.get(key).is_some(), "word lacks {key}: {w}");
    }
    let p = w["p"].as_f64().expect("p");
    assert!((0.0..=1.0).contains(&p));

    let srt = stdout(&skriva(&["transcribe", "--format", "srt", sample]));
    assert!(srt.starts_with("1\n00:00:"), "{srt}");
    assert!(srt.contains(" --> "));
    let vtt = stdout(&skriva(&["transcribe", "--format", "vtt", sample]));
    assert!(vtt.starts_with("WEBVTT\n\n00:00:"), "{vtt}");
}

#[test]
fn a_file_that_is_not_a_model_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("ggml-fake.bin");
    std::fs::write(&fake, vec![7u8; 4096]).expect("write");
    let out = skriva(&[
        "transcribe",
        "--model",
        &fake.display().to_string(),
        "corpora/sv-clinical/sample.wav",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ggml-fake.bin") && err.contains("not a whisper.cpp ggml model"),
        "{err}"
    );
}

/// `skriva transcribe --structure --format json` of `path`: the transcript with its note.
fn structured_json(path: &Path) -> serde_json::Value {
    let out = skriva(&[
        "transcribe",
        "--structure",
        "--format",
        "json",
        &path.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    json_lines(&stdout(&out)).swap_remove(0)
}

/// A dictation longer than whisper's 30 s window, through `transcribe --structure` (beam
/// search, speech decoded in pieces cut at pauses): every clip's headings arrive in order,
/// word times rise through the whole recording, and the last clip's words are not lost.
#[test]
fn a_long_dictation_becomes_a_note_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clips = [
        "pc09_dikt_tonsillit.wav",
        "pc10_dikt_hypertoni.wav",
        "ps10_dikt_suicidrisk.wav",
    ];
    let mut samples = Vec::new();
    let mut last_start = 0.0;
    for clip in clips {
        let (pcm, _) =
            skriva_engine::audio::load_file(&repo().join("corpora/sv-clinical").join(clip))
                .expect("clip");
        last_start = samples.len() as f64 / 16_000.0;
        samples.extend_from_slice(&pcm.samples);
        samples.extend(std::iter::repeat_n(0.0, 16_000));
    }
    let long = dir.path().join("long.wav");
    write_wav(&long, &samples);
    let duration = samples.len() as f64 / 16_000.0;
    assert!(duration > 50.0, "{duration}");
    let doc = &structured_json(&long);
    let mut previous = 0.0;
    let mut words_in_last_clip = 0;
    for seg in doc["segments"].as_array().expect("segments") {
        for w in seg["words"].as_array().expect("words") {
            let start = w["start"].as_f64().expect("start");
            assert!(start + 0.05 >= previous, "word {w} goes back in time");
            assert!(start <= duration, "word {w} after the end");
            previous = start;
            if start >= last_start {
                words_in_last_clip += 1;
            }
        }
    }
    assert!(words_in_last_clip >= 10, "the last clip was lost: {doc}");
    let headings: Vec<&str> = doc["note"]["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .filter_map(|s| s["heading"].as_str())
        .collect();
    for wanted in ["Kontaktorsak", "Status", "Bedömning", "Åtgärd"] {
        assert!(headings.contains(&wanted), "{wanted} missing: {headings:?}");
    }
    assert!(
        headings.contains(&"Suicidriskbedömning") || headings.contains(&"Skyddande faktorer"),
        "the last clip's headings are missing: {headings:?}"
    );
}

/// A dictation whose first 39 s have no pause long enough to end a speech region: whisper's
/// second window of that region loops ("röd, röd, röd, …"), and before the looping piece
/// was decoded again, the region after it came out as four words.
#[test]
fn a_looping_decode_loses_no_speech() {
    let clip = repo().join("corpora/sv-structure/clips/pv-09-gikt-stryk.wav");
    let doc = &structured_json(&clip);
    let starts: Vec<f64> = doc["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .flat_map(|seg| seg["words"].as_array().expect("words").iter())
        .map(|w| w["start"].as_f64().expect("start"))
        .collect();
    // The first region ends at 39.2 s; the second holds about 45 spoken words.
    let in_second_region = starts.iter().filter(|&&s| s >= 39.3).count();
    assert!(in_second_region >= 20, "the second region was lost: {doc}");
}

/// A held-out dictation on which whisper looped inside one word ("kontaktorsakorsakors…")
/// and lost the 20 s of speech after it: the looping piece is decoded again, so every
/// 10 s of the 78 s recording has words.
#[test]
fn a_loop_inside_a_word_loses_no_speech() {
    let clip = repo().join("corpora/sv-heldout/clips/ho-pv-03-diabetes-stryk.wav");
    let doc = &structured_json(&clip);
    let mut per_ten_seconds = [0usize; 8];
    for word in doc["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .flat_map(|seg| seg["words"].as_array().expect("words").iter())
    {
        let start = word["start"].as_f64().expect("start");
        if let Some(count) = per_ten_seconds.get_mut((start / 10.0) as usize) {
            *count += 1;
        }
    }
    assert!(
        per_ten_seconds.iter().all(|&n| n >= 8),
        "words per 10 s: {per_ten_seconds:?}\n{doc}"
    );
}
