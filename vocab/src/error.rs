//! The vocabulary's one error type. Every fallible function in `skriva-vocab` returns
//! [`Result`].

use std::path::PathBuf;

/// Everything that can go wrong loading, importing or indexing the vocabulary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A vocabulary source file (TOML) is malformed.
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// An imported file (ICD-10-SE, NPL) has an unexpected shape.
    #[error("{path}, line {line}: {reason}")]
    Import {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// The search index could not be built, opened or queried.
    #[error("vocabulary index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// No template with this id is known.
    #[error("unknown note template {0:?}")]
    UnknownTemplate(String),
    /// The sources are inconsistent (e.g. a template names an unknown heading).
    #[error("invalid vocabulary: {0}")]
    Invalid(String),
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

impl From<tantivy::directory::error::OpenDirectoryError> for Error {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        Error::Index(e.into())
    }
}

impl From<tantivy::query::QueryParserError> for Error {
    fn from(e: tantivy::query::QueryParserError) -> Self {
        Error::Index(e.into())
    }
}

/// `Result` with the vocabulary's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
