//! The models directory: where models live (`$SKRIVA_HOME/models`), the manifest of their
//! sha256 sums, and the check that a model file is whole before anyone uses it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// File name of the default recognizer model (Whisper base, multilingual, f16 ggml).
pub const DEFAULT_MODEL_FILE: &str = "ggml-base.bin";
/// File name of the converted Silero VAD model.
pub const VAD_MODEL_FILE: &str = "ggml-silero-vad.bin";
/// Directory (inside the models dir) holding the CTranslate2 source of the default model.
pub const CT2_DIR: &str = "whisper-base-ct2";
/// The Silero VAD weights as shipped by the `silero-vad` wheel.
pub const SILERO_SAFETENSORS_FILE: &str = "silero_vad_16k.safetensors";
const MANIFEST_FILE: &str = "manifest.json";

/// Skriva's data directory: `$SKRIVA_HOME`, else `<user data dir>/skriva`
/// (`~/.local/share/skriva` on Linux).
pub fn skriva_home() -> PathBuf {
    if let Some(home) = std::env::var_os("SKRIVA_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("skriva")
}

/// One recorded file in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub sha256: String,
    pub bytes: u64,
    /// Where the file came from (a conversion, a package).
    pub source: String,
}

/// The models directory and its manifest.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

impl ModelStore {
    /// The store under [`skriva_home`].
    pub fn default_location() -> Self {
        Self::new(skriva_home().join("models"))
    }

    /// A store at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn default_model_path(&self) -> PathBuf {
        self.path(DEFAULT_MODEL_FILE)
    }

    pub fn vad_model_path(&self) -> PathBuf {
        self.path(VAD_MODEL_FILE)
    }

    pub fn ct2_dir(&self) -> PathBuf {
        self.path(CT2_DIR)
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// The manifest (empty when none was written yet, or when it is unreadable: every file is
    /// then treated as unverified and re-made).
    pub fn manifest(&self) -> BTreeMap<String, ManifestEntry> {
        std::fs::read(self.manifest_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Records `file`'s checksum in the manifest (atomically).
    pub fn record(&self, file: &str, source: &str) -> Result<ManifestEntry> {
        let path = self.path(file);
        let (sha256, bytes) = sha256_file(&path)?;
        let entry = ManifestEntry {
            sha256,
            bytes,
            source: source.to_string(),
        };
        let mut manifest = self.manifest();
        manifest.insert(file.to_string(), entry.clone());
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::Fetch(format!("cannot serialize manifest: {e}")))?;
        write_atomic(&self.manifest_path(), &json)?;
        Ok(entry)
    }

    /// True when `file` exists and matches the checksum the manifest recorded for it.
    pub fn is_verified(&self, file: &str) -> Result<bool> {
        let Some(entry) = self.manifest().get(file).cloned() else {
            return Ok(false);
        };
        let path = self.path(file);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.len() == entry.bytes => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(path, e)),
        }
        let (sha, _) = sha256_file(&path)?;
        Ok(sha == entry.sha256)
    }

    /// The default model's path, refusing a file that is missing, partial or corrupt.
    pub fn verified_default_model(&self) -> Result<PathBuf> {
        self.verified(DEFAULT_MODEL_FILE)
    }

    /// The VAD model's path, if present and whole.
    pub fn verified_vad_model(&self) -> Result<PathBuf> {
        self.verified(VAD_MODEL_FILE)
    }

    fn verified(&self, file: &str) -> Result<PathBuf> {
        let path = self.path(file);
        if self.is_verified(file)? {
            Ok(path)
        } else {
            Err(Error::Model {
                reason: if path.exists() {
                    "does not match its recorded checksum (partial or corrupt); \
                     run `skriva model fetch` to re-make it"
                        .into()
                } else {
                    "not found; run `skriva model fetch`".into()
                },
                path,
            })
        }
    }
}

/// sha256 (hex) and size of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `data` to `path` through a temporary file in the same directory, so readers see
/// either the old file or the whole new one.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(data).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_or_partial_files_fail_verification() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ModelStore::new(dir.path());
        let file = store.path("m.bin");
        std::fs::write(&file, b"0123456789").expect("write");
        assert!(!store.is_verified("m.bin").expect("check"), "unrecorded");
        store.record("m.bin", "test").expect("record");
        assert!(store.is_verified("m.bin").expect("check"));
        // Same length, one byte changed.
        std::fs::write(&file, b"0123456788").expect("write");
        assert!(!store.is_verified("m.bin").expect("check"));
        // Truncated.
        std::fs::write(&file, b"01234").expect("write");
        assert!(!store.is_verified("m.bin").expect("check"));
        assert!(store.verified("m.bin").is_err());
        std::fs::remove_file(&file).expect("rm");
        assert!(!store.is_verified("m.bin").expect("check"));
    }

    #[test]
    fn sha256_of_known_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").expect("write");
        let (sha, n) = sha256_file(&p).expect("hash");
        assert_eq!(n, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
