//! The audio front end on real files: every supported container/codec decodes to the same
//! speech, multi-channel input is downmixed, the resampler keeps durations and pitch, and bad
//! files fail with an error that names the file.

use std::path::{Path, PathBuf};

use skriva_engine::audio::{decode_file, load_file, SAMPLE_RATE};
use skriva_engine::Error;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

#[test]
fn every_format_decodes_to_the_same_duration() {
    let (reference, _) = load_file(&fixture("speech.wav")).expect("wav");
    let ref_s = reference.duration_s();
    assert!(ref_s > 1.0, "reference clip is {ref_s} s");
    for name in [
        "speech_44k_stereo.wav",
        "speech.flac",
        "speech.mp3",
        "speech.ogg",
        "speech.m4a",
    ] {
        let (pcm, info) = load_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Lossy codecs add encoder padding (mp3, aac): allow a few frames.
        let diff = (pcm.duration_s() - ref_s).abs();
        assert!(diff < 0.15, "{name}: {} s vs {ref_s} s", pcm.duration_s());
        assert!(rms(&pcm.samples) > 0.01, "{name} decoded to silence");
        assert!(info.source_rate >= 8_000, "{name}: {info:?}");
    }
}

#[test]
fn stereo_is_downmixed() {
    let decoded = decode_file(&fixture("speech_44k_stereo.wav")).expect("decode");
    assert_eq!(decoded.channels, 2);
    assert_eq!(decoded.sample_rate, 44_100);
    let (pcm, _) = load_file(&fixture("speech_44k_stereo.wav")).expect("load");
    let expected = (decoded.mono.len() as f64 * f64::from(SAMPLE_RATE) / 44_100.0).ceil();
    assert_eq!(pcm.samples.len(), expected as usize);
}

#[test]
fn resampled_tone_keeps_duration_and_frequency() {
    let (pcm, info) = load_file(&fixture("tone_440_48k.wav")).expect("tone");
    assert_eq!(info.source_rate, 48_000);
    assert!(
        (pcm.duration_s() - 2.0).abs() < 0.01,
        "{}",
        pcm.duration_s()
    );
    let body = &pcm.samples[1600..pcm.samples.len() - 1600];
    let crossings = body
        .windows(2)
        .filter(|w| w[0] <= 0.0 && w[1] > 0.0)
        .count();
    let freq = crossings as f64 * f64::from(SAMPLE_RATE) / body.len() as f64;
    assert!((freq - 440.0).abs() < 2.0, "{freq} Hz");
}

#[test]
fn bad_files_name_the_file_and_the_reason() {
    for (name, reason) in [
        ("empty.wav", "empty"),
        ("not_audio.wav", "not a supported audio file"),
        ("does_not_exist.wav", "cannot open"),
    ] {
        let path = fixture(name);
        match decode_file(&path) {
            Err(Error::Decode { path: p, reason: r }) => {
                assert_eq!(p, path);
                assert!(r.contains(reason), "{name}: {r}");
                let line = Error::Decode { path: p, reason: r }.to_string();
                assert!(line.contains(name) && !line.contains('\n'), "{line}");
            }
            other => panic!("{name}: expected a decode error, got {other:?}"),
        }
    }
}

#[test]
fn corrupt_file_is_refused_or_truncated_cleanly() {
    // A valid header followed by garbage must never panic: either an error naming the file, or
    // the audio that could be read.
    match decode_file(&fixture("corrupt.wav")) {
        Err(Error::Decode { path, .. }) => assert!(path.ends_with("corrupt.wav")),
        Err(other) => panic!("unexpected error kind: {other}"),
        Ok(decoded) => assert!(decoded.sample_rate > 0),
    }
}
