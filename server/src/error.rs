//! The server's one error type. Every fallible function in `skriva-server` returns [`Result`],
//! and every [`Error`] knows its HTTP status and stable machine-readable code, so a handler can
//! return it as is: the client gets `{"error": {"code", "message"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything that can go wrong while serving a request or a stream.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No bearer token, or one that matches no user.
    #[error("{0}")]
    Unauthorized(String),
    /// The user is known but their role or relation to the resource does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The session, draft or user does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the resource's state (a signed draft, a finished session).
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named a version that is no longer current.
    #[error("version {given} is stale; the draft is at version {current}")]
    VersionMismatch { given: i64, current: i64 },
    /// An edit came without `If-Match`, so a lost update could not be ruled out.
    #[error("{0}")]
    PreconditionRequired(String),
    /// The request is malformed or names an unsupported option.
    #[error("{0}")]
    BadRequest(String),
    /// A body, upload or frame exceeds a configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A per-user limit (open streams) is reached.
    #[error("{0}")]
    TooMany(String),
    /// The uploaded file is not audio the engine can decode.
    #[error("{0}")]
    UndecodableAudio(String),
    /// The model is still loading (or failed to load).
    #[error("{0}")]
    NotReady(String),
    /// The speech engine failed.
    #[error("speech engine: {0}")]
    Engine(#[from] skriva_engine::Error),
    /// SQLite failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A broken invariant inside the server (a panicked task, a poisoned lock).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::VersionMismatch { .. } => StatusCode::PRECONDITION_FAILED,
            Error::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::UndecodableAudio(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Engine(_) | Error::Database(_) | Error::Io { .. } | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The stable code clients switch on (documented in `docs/protocol.md`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::VersionMismatch { .. } => "version_mismatch",
            Error::PreconditionRequired(_) => "precondition_required",
            Error::BadRequest(_) => "bad_request",
            Error::TooLarge(_) => "too_large",
            Error::TooMany(_) => "too_many",
            Error::UndecodableAudio(_) => "undecodable_audio",
            Error::NotReady(_) => "not_ready",
            Error::Engine(_) | Error::Database(_) | Error::Io { .. } | Error::Internal(_) => {
                "internal"
            }
        }
    }

    /// The message shown to clients. Internal failures are logged in full but answered with a
    /// generic text: their details (paths, SQL) are for the operator, not the caller.
    pub fn public_message(&self) -> String {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            "internal server error; see the server log".into()
        } else {
            self.to_string()
        }
    }

    /// The JSON body `{"error": {"code", "message"}}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code(), "message": self.public_message()}})
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, code = self.code(), "request failed");
        } else {
            tracing::debug!(error = %self, code = self.code(), "request refused");
        }
        crate::metrics::global().count_error(self.code());
        (status, axum::Json(self.body())).into_response()
    }
}

/// `Result` with the server's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
