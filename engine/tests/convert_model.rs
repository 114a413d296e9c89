//! Converts the real default model (OpenAI Whisper base, CTranslate2 format) to ggml and checks
//! that whisper.cpp loads it and detects languages like faster-whisper does on the same input.
//! Needs the CTranslate2 model: `SKRIVA_CT2_DIR`, else `$SKRIVA_HOME/models/whisper-base-ct2`,
//! else `<data dir>/skriva/models/whisper-base-ct2` (run `skriva model fetch` to get it there).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use skriva_engine::model::ggml::{inspect, TensorType};
use skriva_engine::model::{convert_ct2_dir, GgmlType};
use whisper_rs::{WhisperContext, WhisperContextParameters};

/// Largest allowed difference of any language probability between the converted model in
/// whisper.cpp and faster-whisper (CTranslate2, float32 compute) on identical log-mel input.
///
/// Both run the same f16 weights, but whisper.cpp multiplies f16 weights with activations rounded
/// to f16 while CTranslate2 computes in f32, which moves the language logits by ~0.01–0.03; a
/// probability p then moves by about p·Δlogit, i.e. ≤ 0.01 here (top p ≈ 0.27). A mapping
/// mistake (a swapped q/k/v third, a transposed matrix, a wrong bias) changes the output
/// completely. The reference input is deliberately ambiguous (top-3 languages 0.27/0.15/0.14),
/// which makes the probabilities sensitive to any such error.
const MAX_PROB_DIFF: f32 = 0.02;
/// The same for q8_0, whose 8-bit weights add their own rounding error.
const MAX_PROB_DIFF_Q8_0: f32 = 0.05;

/// Finds the CTranslate2 model directory or fails the test, saying how to get it.
fn ct2_dir() -> PathBuf {
    let candidates: Vec<PathBuf> = [
        std::env::var_os("SKRIVA_CT2_DIR").map(PathBuf::from),
        std::env::var_os("SKRIVA_HOME").map(|h| PathBuf::from(h).join("models/whisper-base-ct2")),
        dirs::data_dir().map(|d| d.join("skriva/models/whisper-base-ct2")),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.as_os_str().is_empty())
    .collect();
    candidates
        .iter()
        .find(|p| p.join("model.bin").is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the CTranslate2 Whisper base model was not found (looked in {candidates:?}); run \
                 `skriva model fetch` (or point SKRIVA_CT2_DIR at an unpacked model)"
            )
        })
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// faster-whisper's language probabilities and the 80 × 3000 log-mel it computed them from
/// (zero-padded to 30 s, as faster-whisper pads it).
fn reference() -> (BTreeMap<String, f32>, Vec<f32>) {
    let json = std::fs::read_to_string(fixture("lang_detect_sv.json")).expect("reference json");
    let json: serde_json::Value = serde_json::from_str(&json).expect("valid json");
    let probs: BTreeMap<String, f32> = json["probabilities"]
        .as_object()
        .expect("probabilities")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().expect("number") as f32))
        .collect();
    assert_eq!(probs.len(), 99);
    let n_frames = json["n_frames"].as_u64().expect("n_frames") as usize;
    let bytes = std::fs::read(fixture("lang_detect_sv.mel.f32le")).expect("mel fixture");
    assert_eq!(bytes.len(), 80 * n_frames * 4);
    let mel: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut padded = vec![0f32; 80 * 3000];
    for (row, src) in padded
        .chunks_exact_mut(3000)
        .zip(mel.chunks_exact(n_frames))
    {
        row[..n_frames].copy_from_slice(src);
    }
    (probs, padded)
}

/// Language probabilities from whisper.cpp for the given log-mel, by language code.
fn detect(model: &Path, mel: &[f32]) -> BTreeMap<String, f32> {
    let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
        .expect("whisper.cpp loads the converted model");
    let mut state = ctx.create_state().expect("state");
    state.set_mel(mel).expect("set_mel");
    let (_, probs) = state.lang_detect(0, 2).expect("language detection");
    probs
        .iter()
        .enumerate()
        .filter_map(|(id, &p)| Some((whisper_rs::get_lang_str(id as i32)?.to_owned(), p)))
        .collect()
}

fn argmax(p: &BTreeMap<String, f32>) -> &str {
    p.iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(k, _)| k.as_str())
        .expect("non-empty")
}

/// Max |difference| over faster-whisper's 99 languages. (whisper.cpp also scores a 100th,
/// `yue`, which Whisper base does not have: its token is `<|translate|>` there, and it gets a
/// negligible share.)
#[allow(clippy::print_stderr)] // the measured differences belong in the test log
fn compare(name: &str, got: &BTreeMap<String, f32>, want: &BTreeMap<String, f32>) -> f32 {
    let mut max = 0f32;
    for (lang, &p) in want {
        let q = *got
            .get(lang)
            .unwrap_or_else(|| panic!("{name}: no probability for {lang}"));
        max = max.max((p - q).abs());
    }
    let mut top: Vec<_> = got.iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(a.1));
    eprintln!(
        "{name}: max |Δp| = {max:.5}; whisper.cpp top 3 {:?}",
        &top[..3]
    );
    assert_eq!(
        argmax(got),
        argmax(want),
        "{name}: detected language differs"
    );
    max
}

#[test]
fn converts_real_model_and_matches_faster_whisper() {
    let ct2 = ct2_dir();
    let dir = tempfile::tempdir().expect("tempdir");
    let (want, mel) = reference();

    let f16 = dir.path().join("ggml-base-f16.bin");
    let report = convert_ct2_dir(&ct2, &f16, GgmlType::F16).expect("converts to f16");
    assert_eq!(report.tensors, 245);
    assert_eq!(report.n_tokens, 50_257);
    assert_eq!(
        [
            report.n_vocab,
            report.n_audio_ctx,
            report.n_audio_state,
            report.n_audio_head
        ],
        [51_865, 1500, 512, 8]
    );
    assert_eq!(
        [
            report.n_audio_layer,
            report.n_text_ctx,
            report.n_text_head,
            report.n_text_layer
        ],
        [6, 448, 8, 6]
    );
    assert_eq!(report.n_mels, 80);

    let summary = inspect(&f16).expect("reads back");
    assert_eq!(summary.tensors.len(), 245);
    assert_eq!(summary.hparams.ftype, 1);
    assert_eq!(summary.vocab.len(), 50_257);
    assert_eq!(summary.vocab[50_256], b"");
    assert_eq!(summary.vocab[220], b" ");
    let by_name = |n: &str| {
        summary
            .tensors
            .iter()
            .find(|t| t.name == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    let emb = by_name("decoder.token_embedding.weight");
    assert_eq!(
        (emb.ne.as_slice(), emb.ty),
        (&[512, 51_865][..], TensorType::F16)
    );
    let conv = by_name("encoder.conv1.weight");
    assert_eq!(
        (conv.ne.as_slice(), conv.ty),
        (&[3, 80, 512][..], TensorType::F16)
    );

    let got = detect(&f16, &mel);
    let diff = compare("f16", &got, &want);
    assert!(
        diff <= MAX_PROB_DIFF,
        "f16: max probability difference {diff} > {MAX_PROB_DIFF}"
    );

    let q8 = dir.path().join("ggml-base-q8_0.bin");
    let report = convert_ct2_dir(&ct2, &q8, GgmlType::Q8_0).expect("converts to q8_0");
    assert_eq!(report.tensors, 245);
    assert!(report.bytes < std::fs::metadata(&f16).expect("f16").len() * 6 / 10);
    let got = detect(&q8, &mel);
    let diff = compare("q8_0", &got, &want);
    assert!(
        diff <= MAX_PROB_DIFF_Q8_0,
        "q8_0: max probability difference {diff} > {MAX_PROB_DIFF_Q8_0}"
    );
}
