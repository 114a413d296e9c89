//! The engine's one error type. Every fallible function in `skriva-engine` returns [`Result`].

use std::path::PathBuf;

/// Everything that can go wrong between an audio source and a transcript.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An audio file could not be decoded (missing, empty, truncated, not audio, unsupported codec).
    #[error("{path}: {reason}")]
    Decode { path: PathBuf, reason: String },
    /// Resampling to 16 kHz failed.
    #[error("resampling failed: {0}")]
    Resample(String),
    /// A CTranslate2 model directory or `model.bin` is malformed.
    #[error("CTranslate2 model: {0}")]
    Ct2Format(String),
    /// Converting a model to ggml failed (unexpected tensor, shape or value).
    #[error("model conversion: {0}")]
    Convert(String),
    /// Provisioning a model (download, unpack, verify) failed.
    #[error("model provisioning: {0}")]
    Fetch(String),
    /// A model file is missing, corrupt, or not a whisper.cpp ggml model.
    #[error("model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    /// whisper.cpp reported an error.
    #[error("recognizer: {0}")]
    Whisper(String),
    /// An option was out of range or inconsistent.
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// The clinical vocabulary failed (loading, index, unknown template).
    #[error("vocabulary: {0}")]
    Vocab(#[from] skriva_vocab::Error),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<whisper_rs::WhisperError> for Error {
    fn from(e: whisper_rs::WhisperError) -> Self {
        Error::Whisper(e.to_string())
    }
}

/// `Result` with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
