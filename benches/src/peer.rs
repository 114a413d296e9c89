//! The faster-whisper peer: a private Python venv with a pinned faster-whisper, and
//! `benches/peers/faster_whisper_peer.py` run in it once per compute type over all clips, so the
//! peer is measured on the same CTranslate2 weights, clips and decoding settings as Skriva.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The faster-whisper release the harness installs and measures.
pub const FASTER_WHISPER_VERSION: &str = "1.2.1";

/// The peer script, embedded so the binary works from any directory.
const PEER_SCRIPT: &str = include_str!("../peers/faster_whisper_peer.py");

/// One clip as the script sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerClip {
    pub id: String,
    pub path: PathBuf,
}

/// Everything the script needs for one compute type (written to a JSON file for it).
#[derive(Debug, Clone, Serialize)]
pub struct PeerJob {
    /// The CTranslate2 model folder.
    pub model_dir: PathBuf,
    /// `int8`, `float32`, … (any CTranslate2 compute type).
    pub compute_type: String,
    pub threads: usize,
    pub language: String,
    pub beam_size: usize,
    /// Candidates sampled at temperatures above 0.
    pub best_of: usize,
    /// The temperature fallback schedule.
    pub temperatures: Vec<f32>,
    pub word_timestamps: bool,
    /// Transcribe the first clip once, untimed, before timing.
    pub warmup: bool,
    pub clips: Vec<PeerClip>,
}

/// What the script reports for one clip.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerClipResult {
    pub id: String,
    pub text: String,
    /// Wall time of the transcription, file decoding included, model load excluded.
    pub seconds: f64,
    /// CPU time of the transcription (all threads).
    pub cpu_s: f64,
    pub duration_s: f64,
}

/// What the script reports for one run.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerResult {
    pub faster_whisper_version: String,
    pub compute_type: String,
    pub load_s: f64,
    /// Peak resident set size (`VmHWM`) of the Python process, model load included.
    pub peak_rss_mb: f64,
    /// CPU time of the whole Python process (all threads, model load included).
    pub process_cpu_s: f64,
    pub clips: Vec<PeerClipResult>,
}

/// A venv with faster-whisper installed.
#[derive(Debug, Clone)]
pub struct PeerEnv {
    python: PathBuf,
}

impl PeerEnv {
    /// Uses the venv at `venv`, creating it with `base_python -m venv` and installing the pinned
    /// faster-whisper into it when it is missing or holds another version.
    pub fn ensure(venv: &Path, base_python: &str) -> Result<Self> {
        let python = venv.join("bin").join("python");
        if python.is_file() {
            match installed_version(&python) {
                Some(v) if v == FASTER_WHISPER_VERSION => {
                    tracing::info!(venv = %venv.display(), version = %v, "faster-whisper venv ready");
                    return Ok(Self { python });
                }
                found => tracing::info!(
                    venv = %venv.display(),
                    found = found.as_deref().unwrap_or("none"),
                    want = FASTER_WHISPER_VERSION,
                    "installing faster-whisper into the existing venv"
                ),
            }
        } else {
            create_venv(venv, base_python)?;
        }
        pip_install(&python)?;
        match installed_version(&python) {
            Some(v) if v == FASTER_WHISPER_VERSION => Ok(Self { python }),
            found => bail!(
                "faster-whisper {FASTER_WHISPER_VERSION} is still not importable in {} \
                 (found: {}); delete the venv and retry",
                venv.display(),
                found.as_deref().unwrap_or("none")
            ),
        }
    }

    /// Runs the peer script for one job. The script's progress goes to stderr.
    pub fn run(&self, job: &PeerJob) -> Result<PeerResult> {
        let dir = tempfile::tempdir().context("cannot create a temporary folder for the peer")?;
        let script = dir.path().join("faster_whisper_peer.py");
        let job_file = dir.path().join("job.json");
        let result_file = dir.path().join("result.json");
        std::fs::write(&script, PEER_SCRIPT).context("cannot write the peer script")?;
        std::fs::write(&job_file, serde_json::to_vec(job)?).context("cannot write the job")?;
        let status = Command::new(&self.python)
            .arg(&script)
            .arg(&job_file)
            .arg(&result_file)
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .stdin(Stdio::null())
            // Keep our stdout for the report; anything the script or its libraries print there
            // goes to stderr with the progress lines.
            .stdout(Stdio::from(std::io::stderr()))
            .status()
            .with_context(|| format!("cannot run {}", self.python.display()))?;
        if !status.success() {
            bail!(
                "faster-whisper ({}) failed: {status}; see its output above",
                job.compute_type
            );
        }
        let bytes = std::fs::read(&result_file).context("the peer wrote no result")?;
        let result: PeerResult =
            serde_json::from_slice(&bytes).context("the peer's result is not valid JSON")?;
        if result.clips.len() != job.clips.len()
            || result
                .clips
                .iter()
                .zip(&job.clips)
                .any(|(r, c)| r.id != c.id)
        {
            bail!("the peer's result does not list the clips it was given");
        }
        Ok(result)
    }
}

/// The faster-whisper version importable by `python`, if any.
fn installed_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, faster_whisper; sys.stdout.write(faster_whisper.__version__)",
        ])
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn create_venv(venv: &Path, base_python: &str) -> Result<()> {
    let version = Command::new(base_python)
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    match version {
        Ok(out) if out.status.success() => {}
        _ => bail!(
            "`{base_python}` was not found or does not run; the faster-whisper peer needs \
             Python 3.9 or newer (pass --python PATH, or --peer none to skip the peer)"
        ),
    }
    tracing::info!(venv = %venv.display(), "creating the faster-whisper venv");
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let out = Command::new(base_python)
        .args(["-m", "venv"])
        .arg(venv)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {base_python} -m venv"))?;
    if !out.status.success() {
        // A half-made venv would be taken for a broken install next time.
        let _ = std::fs::remove_dir_all(venv);
        bail!(
            "`{base_python} -m venv {}` failed: {}\nOn Debian/Ubuntu the venv module (with \
             ensurepip) is a separate package: apt-get install python3-venv",
            venv.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn pip_install(python: &Path) -> Result<()> {
    let pip_ok = Command::new(python)
        .args(["-m", "pip", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pip_ok {
        bail!(
            "pip is not available in the venv ({}); on Debian/Ubuntu install python3-venv and \
             python3-pip, then delete the venv folder and retry",
            python.display()
        );
    }
    let spec = format!("faster-whisper=={FASTER_WHISPER_VERSION}");
    tracing::info!(%spec, "pip install (first use only; downloads about 150 MB)");
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .arg(&spec)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .context("cannot run pip")?;
    if !status.success() {
        bail!("`pip install {spec}` failed ({status}); see pip's output above");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_serializes_with_the_fields_the_script_reads() {
        let job = PeerJob {
            model_dir: PathBuf::from("/m"),
            compute_type: "int8".into(),
            threads: 2,
            language: "sv".into(),
            beam_size: 1,
            best_of: 2,
            temperatures: vec![0.0, 0.4, 0.8],
            word_timestamps: false,
            warmup: true,
            clips: vec![PeerClip {
                id: "a.wav".into(),
                path: PathBuf::from("/c/a.wav"),
            }],
        };
        let v = serde_json::to_value(&job).expect("json");
        for key in [
            "model_dir",
            "compute_type",
            "threads",
            "language",
            "beam_size",
            "best_of",
            "temperatures",
            "word_timestamps",
            "warmup",
        ] {
            assert!(v.get(key).is_some(), "{key}");
            assert!(
                PEER_SCRIPT.contains(&format!("\"{key}\"")),
                "script reads {key}"
            );
        }
        assert_eq!(v["clips"][0]["path"], "/c/a.wav");
    }

    #[test]
    fn result_parses() {
        let json = r#"{"faster_whisper_version":"1.2.1","compute_type":"int8","load_s":0.5,
            "peak_rss_mb":300.5,"process_cpu_s":9.5,
            "clips":[{"id":"a","text":"hej","seconds":1.5,"cpu_s":2.9,"duration_s":3.0}]}"#;
        let r: PeerResult = serde_json::from_str(json).expect("parse");
        assert_eq!(r.clips[0].text, "hej");
        assert!((r.peak_rss_mb - 300.5).abs() < 1e-9);
    }
}
