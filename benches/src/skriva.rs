//! The Skriva side of a run: loads the recognizer once, warms it up on the first clip, then
//! times `transcribe_file` per clip (file decoding included, model load excluded).

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use skriva_engine::recognize::{DecodeOptions, Device, Recognizer, RecognizerConfig};

use crate::corpus::Clip;
use crate::host::process_cpu_s;
use crate::report::{ClipResult, SystemResult, SKRIVA};

/// Transcribes every clip with Skriva and scores it. `peak_mb` is read by the caller after this
/// returns (the process's high-water mark then covers the Skriva run).
pub fn run(
    config: &RecognizerConfig,
    options: &DecodeOptions,
    clips: &[Clip],
    warmup: bool,
) -> Result<SystemResult> {
    let started = Instant::now();
    let recognizer = Recognizer::load(config)
        .with_context(|| format!("cannot load {}", config.model.display()))?;
    let load_s = started.elapsed().as_secs_f64();
    if let (true, Some(first)) = (warmup, clips.first()) {
        recognizer
            .transcribe_file(&first.audio, options, None)
            .with_context(|| format!("warm-up on {}", first.audio.display()))?;
    }
    let mut results = Vec::with_capacity(clips.len());
    for (n, clip) in clips.iter().enumerate() {
        let cpu_before = process_cpu_s();
        let started = Instant::now();
        let transcript = recognizer
            .transcribe_file(&clip.audio, options, None)
            .with_context(|| format!("Skriva could not transcribe {}", clip.audio.display()))?;
        let seconds = started.elapsed().as_secs_f64();
        let cpu_s = cpu_before.zip(process_cpu_s()).map(|(a, b)| b - a);
        let result = ClipResult::score(
            &clip.id,
            transcript.duration_s,
            &clip.reference,
            &transcript.text,
            seconds,
        )
        .with_cpu_s(cpu_s);
        progress("skriva", n + 1, clips.len(), &result);
        results.push(result);
    }
    Ok(SystemResult::new(
        SKRIVA,
        &ggml_type(&config.model).unwrap_or_else(|| "ggml".into()),
        env!("CARGO_PKG_VERSION"),
        load_s,
        None,
        results,
    ))
}

/// One progress line on stderr per clip.
pub fn progress(label: &str, n: usize, of: usize, r: &ClipResult) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "[{label}] {n}/{of} {}: {:.1} s audio in {:.2} s (RTF {:.3}), WER {:.1} %, CER {:.1} %",
        r.id,
        r.duration_s,
        r.seconds,
        r.rtf,
        r.wer * 100.0,
        r.cer * 100.0
    );
}

/// The weight type of a whisper.cpp ggml model, from the `ftype` field of its header
/// (`f32`, `f16`, `q8_0`, …).
pub fn ggml_type(model: &Path) -> Option<String> {
    use std::io::Read as _;
    // Magic, then 11 little-endian i32 hyperparameters of which `ftype` is the last.
    let mut header = [0u8; 48];
    std::fs::File::open(model)
        .and_then(|mut f| f.read_exact(&mut header))
        .ok()?;
    let field = |i: usize| {
        let b = &header[4 * i..4 * i + 4];
        i32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    if field(0) as u32 != 0x6767_6d6c {
        return None;
    }
    // Quantized files add 1000 × the quantization version.
    let name = match field(11) % 1000 {
        0 => "f32",
        1 => "f16",
        2 => "q4_0",
        3 => "q4_1",
        7 => "q8_0",
        8 => "q5_0",
        9 => "q5_1",
        10 => "q2_k",
        11 => "q3_k",
        12 => "q4_k",
        13 => "q5_k",
        14 => "q6_k",
        other => return Some(format!("ggml type {other}")),
    };
    Some(name.to_string())
}

/// The recognizer settings the harness uses: CPU only, VAD on.
pub fn recognizer_config(model: &Path, vad_model: &Path, threads: usize) -> RecognizerConfig {
    RecognizerConfig {
        model: model.to_path_buf(),
        vad_model: Some(vad_model.to_path_buf()),
        device: Device::Cpu,
        threads,
    }
}

/// whisper.cpp's temperature fallback schedule for `increment`: 0, then up to 1.0 inclusive.
pub fn temperature_schedule(increment: f32) -> Vec<f32> {
    let increment = increment.clamp(0.1, 1.0);
    let mut temps = Vec::new();
    let mut t = 0.0f32;
    while t < 1.0 + 1e-6 {
        temps.push((t * 100.0).round() / 100.0);
        t += increment;
    }
    temps
}

/// Candidates whisper.cpp samples per window at temperatures above 0: Skriva's greedy decoding
/// uses 2; with beam search whisper.cpp's greedy `best_of` is unset and it samples 1.
pub fn best_of(beam_size: usize) -> usize {
    if beam_size > 1 {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ggml_weight_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.bin");
        let mut bytes = 0x6767_6d6cu32.to_le_bytes().to_vec();
        for v in [51865i32, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(ggml_type(&path).as_deref(), Some("f16"));
        bytes[44..48].copy_from_slice(&2008i32.to_le_bytes());
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(ggml_type(&path).as_deref(), Some("q5_0"));
        std::fs::write(
            &path,
            b"not a model at all, but long enough to read 48 bytes....",
        )
        .expect("write");
        assert_eq!(ggml_type(&path), None);
    }

    #[test]
    fn temperatures_match_whisper_cpp() {
        assert_eq!(temperature_schedule(0.4), vec![0.0, 0.4, 0.8]);
        assert_eq!(
            temperature_schedule(0.2),
            vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        assert_eq!(best_of(1), 2);
        assert_eq!(best_of(5), 1);
    }
}
