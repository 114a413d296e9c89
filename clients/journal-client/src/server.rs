//! The calls the journal client makes to a Skriva server — list the signed notes updated since a
//! time, and export one as FHIR or plain text — and which of their failures are worth retrying.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// Page size asked of `GET /api/drafts` (the server caps it at its `max_page_size`).
const PAGE_SIZE: usize = 200;

/// A signed note as the draft list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    pub id: String,
    /// `updated_at` exactly as the server wrote it (sent back as `since`).
    pub updated_at: String,
    /// The same instant in milliseconds since the epoch, for ordering.
    pub updated_ms: i64,
}

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    /// The server is unreachable or failing (connection refused, timeout, 5xx, 429, 503 while the
    /// model loads): the same call may succeed later.
    Unavailable(String),
    /// The server refused the request (bad token, forbidden, bad request): retrying will not help.
    Refused { status: u16, message: String },
    /// The server answered something this client does not understand.
    Protocol(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Unavailable(why) => write!(f, "server unavailable: {why}"),
            CallError::Refused { status, message } => {
                write!(f, "the server refused the request ({status}): {message}")
            }
            CallError::Protocol(why) => write!(f, "unexpected answer from the server: {why}"),
        }
    }
}

impl std::error::Error for CallError {}

/// A Skriva server and the bearer token the client uses on it.
#[derive(Debug, Clone)]
pub struct Skriva {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Skriva {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_string();
        // Built without TLS (the workspace's reqwest has no TLS backend): an https:// URL would
        // fail on every request and be retried forever, so it is refused here.
        anyhow::ensure!(
            base.starts_with("http://"),
            "--server `{base}`: expected an http:// URL (this client speaks plain HTTP; run it \
             beside the server or behind a TLS-terminating proxy)"
        );
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base,
            token: token.to_string(),
        })
    }

    /// Every signed note updated at or after `since` (the server's filter is inclusive), over as
    /// many pages as it takes; in the server's order (most recently updated first).
    pub async fn signed_since(&self, since: Option<&str>) -> Result<Vec<SignedNote>, CallError> {
        let mut notes = Vec::new();
        let mut offset = 0usize;
        loop {
            let mut query = vec![
                ("status", "signed".to_string()),
                ("limit", PAGE_SIZE.to_string()),
                ("offset", offset.to_string()),
            ];
            if let Some(since) = since {
                query.push(("since", since.to_string()));
            }
            let request = self
                .http
                .get(format!("{}/api/drafts", self.base))
                .bearer_auth(&self.token)
                .query(&query);
            let body = send(request).await?;
            let page: Value = serde_json::from_slice(&body)
                .map_err(|e| CallError::Protocol(format!("the draft list is not JSON: {e}")))?;
            let items = page["items"]
                .as_array()
                .ok_or_else(|| CallError::Protocol("the draft list has no `items`".into()))?;
            for item in items {
                notes.push(signed_note(item)?);
            }
            match page["next_offset"].as_u64() {
                Some(next) if !items.is_empty() => offset = next as usize,
                _ => return Ok(notes),
            }
        }
    }

    /// A note exported with `?format=` `fhir` or `text`: the response body as is.
    pub async fn export(&self, id: &str, format: &str) -> Result<Vec<u8>, CallError> {
        let request = self
            .http
            .get(format!("{}/api/drafts/{id}", self.base))
            .bearer_auth(&self.token)
            .query(&[("format", format)]);
        send(request).await
    }
}

fn signed_note(item: &Value) -> Result<SignedNote, CallError> {
    let id = item["id"]
        .as_str()
        .ok_or_else(|| CallError::Protocol(format!("a listed draft has no id: {item}")))?;
    let updated_at = item["updated_at"]
        .as_str()
        .ok_or_else(|| CallError::Protocol(format!("draft `{id}` has no `updated_at`")))?;
    let updated_ms = parse_ms(updated_at).ok_or_else(|| {
        CallError::Protocol(format!(
            "draft `{id}`: `updated_at` `{updated_at}` is not RFC 3339"
        ))
    })?;
    if item["status"] != "signed" {
        return Err(CallError::Protocol(format!(
            "draft `{id}` is listed as signed but has status {}",
            item["status"]
        )));
    }
    Ok(SignedNote {
        id: id.to_string(),
        updated_at: updated_at.to_string(),
        updated_ms,
    })
}

/// RFC 3339 → milliseconds since the epoch.
pub fn parse_ms(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Sends a request and returns the body of a 2xx answer, sorting failures into retryable and
/// not.
async fn send(request: reqwest::RequestBuilder) -> Result<Vec<u8>, CallError> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport_error)?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Err(CallError::Unavailable(format!("{status}: {message}")))
    } else {
        Err(CallError::Refused {
            status: status.as_u16(),
            message,
        })
    }
}

fn transport_error(e: reqwest::Error) -> CallError {
    if e.is_builder() {
        CallError::Refused {
            status: 0,
            message: format!("cannot build the request: {e}"),
        }
    } else {
        // Connection refused or reset, timeouts, a body cut off: the server may be restarting.
        CallError::Unavailable(error_chain(&e))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
