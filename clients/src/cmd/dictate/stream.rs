//! The dictation stream (protocol v1, `docs/protocol.md`): sends audio frames over the
//! session's WebSocket and shows what comes back, surviving dropped connections. Every frame
//! is kept until the server acknowledges it; after a reconnect the client asks for the events
//! it missed (`resume_from_event`) and re-sends the frames after the server's
//! `ready.last_frame_seq`. Events are shown once: a seq at or below the last one seen is a
//! replay and is skipped.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::source::AudioSource;
use super::view::LiveView;

/// The WebSocket subprotocol of protocol v1.
pub const SUBPROTOCOL: &str = "skriva.v1";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How to reach the session and how patient to be with it.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// `ws://host:port/api/sessions/{id}/stream`.
    pub ws_url: String,
    pub token: String,
    /// Most frames in flight (sent or waiting) before a source that is not live is paused.
    pub window: usize,
    /// Give up after the server has been unreachable this long.
    pub give_up_after: Duration,
}

/// What a finished stream left behind.
#[derive(Debug, Clone, Default)]
pub struct StreamOutcome {
    pub draft_id: String,
    pub draft_version: Option<u64>,
    /// The draft's text from the `draft` event.
    pub draft_text: Option<String>,
    pub finals: usize,
    pub reconnects: usize,
    /// Seconds of audio streamed in this run.
    pub audio_s: f64,
}

/// Frames not yet acknowledged, oldest first, numbered from 1 (or after the frames a resumed
/// session already holds: see [`Outbox::renumber`]).
#[derive(Debug)]
struct Outbox {
    frames: VecDeque<(u64, Vec<u8>)>,
    next_seq: u64,
    acked: u64,
    /// Whether seqs are final (the session's first `ready` has said where they start).
    numbered: bool,
}

impl Outbox {
    fn new() -> Self {
        Self {
            frames: VecDeque::new(),
            next_seq: 1,
            acked: 0,
            numbered: false,
        }
    }

    fn push(&mut self, samples: &[i16]) {
        let mut pcm = Vec::with_capacity(samples.len() * 2);
        for s in samples {
            pcm.extend_from_slice(&s.to_le_bytes());
        }
        self.frames.push_back((self.next_seq, pcm));
        self.next_seq += 1;
    }

    fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The server holds every frame up to `seq`.
    fn ack(&mut self, seq: u64) {
        while self.frames.front().is_some_and(|(s, _)| *s <= seq) {
            self.frames.pop_front();
        }
        self.acked = self.acked.max(seq);
    }

    /// The session already holds `last_frame_seq` frames (resuming a session this process did
    /// not start): this run's frames follow them.
    fn renumber(&mut self, last_frame_seq: u64) {
        for (seq, _) in &mut self.frames {
            *seq += last_frame_seq;
        }
        self.next_seq += last_frame_seq;
        self.acked = last_frame_seq;
        self.numbered = true;
    }

    /// The next frame to send after `sent`.
    fn after(&self, sent: u64) -> Option<&(u64, Vec<u8>)> {
        let first = self.frames.front()?.0;
        let index = usize::try_from(sent.saturating_add(1).saturating_sub(first)).ok()?;
        self.frames.get(index)
    }
}

/// Why a connection ended.
#[derive(Debug)]
enum Ended {
    /// The session is finished (`closed` seen).
    Finished,
    /// Worth reconnecting.
    Dropped(String),
}

/// The state that outlives connections.
struct Dictation<'a, S> {
    source: S,
    source_done: bool,
    stop: Arc<Notify>,
    outbox: Outbox,
    last_event: u64,
    view: &'a mut LiveView,
    outcome: StreamOutcome,
    options: StreamOptions,
    samples_streamed: usize,
}

/// Streams `source` into the session at `options.ws_url` until the server closes it. `stop`
/// ends the source early (Ctrl-C): what was captured is still sent, then `stop`.
pub async fn dictate<S: AudioSource>(
    source: S,
    options: StreamOptions,
    stop: Arc<Notify>,
    view: &mut LiveView,
) -> Result<StreamOutcome> {
    let mut dictation = Dictation {
        source,
        source_done: false,
        stop,
        outbox: Outbox::new(),
        last_event: 0,
        view,
        outcome: StreamOutcome::default(),
        options,
        samples_streamed: 0,
    };
    let result = dictation.run().await;
    dictation.view.finish();
    let mut outcome = result?;
    outcome.audio_s = dictation.samples_streamed as f64 / 16_000.0;
    Ok(outcome)
}

impl<S: AudioSource> Dictation<'_, S> {
    async fn run(&mut self) -> Result<StreamOutcome> {
        let mut down_since: Option<Instant> = None;
        let mut attempt = 0u32;
        loop {
            let ended = match self.connect().await {
                Ok(socket) => self.converse(socket, &mut down_since, &mut attempt).await?,
                Err(ConnectError::Fatal(e)) => return Err(e),
                Err(ConnectError::Retry(reason)) => Ended::Dropped(reason),
            };
            match ended {
                Ended::Finished => return Ok(self.outcome.clone()),
                Ended::Dropped(reason) => {
                    let since = *down_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > self.options.give_up_after {
                        bail!(
                            "the server has been unreachable for {} s ({reason}); {} s of audio \
                             were not acknowledged",
                            self.options.give_up_after.as_secs(),
                            self.unacked_s()
                        );
                    }
                    attempt += 1;
                    let wait = backoff(attempt);
                    self.view.notice(&format!(
                        "connection lost ({reason}); reconnecting in {:.1} s (attempt {attempt})",
                        wait.as_secs_f64()
                    ));
                    self.outcome.reconnects += 1;
                    self.wait_pulling(wait).await?;
                }
            }
        }
    }

    /// Sleeps while still draining a live source, so a microphone loses nothing meanwhile.
    async fn wait_pulling(&mut self, wait: Duration) -> Result<()> {
        let deadline = Instant::now() + wait;
        loop {
            let pull = self.may_pull();
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return Ok(()),
                frame = self.source.next_frame(), if pull => self.take_frame(frame)?,
                () = self.stop.notified(), if !self.source_done => self.source_done = true,
            }
        }
    }

    async fn connect(&mut self) -> std::result::Result<Socket, ConnectError> {
        let mut request = self
            .options
            .ws_url
            .as_str()
            .into_client_request()
            .map_err(|e| ConnectError::Fatal(anyhow!("bad stream URL: {e}")))?;
        let headers = request.headers_mut();
        let bearer = format!("Bearer {}", self.options.token)
            .parse()
            .map_err(|_| {
                ConnectError::Fatal(anyhow!("the token has characters a header cannot carry"))
            })?;
        headers.insert("authorization", bearer);
        headers.insert(
            "sec-websocket-protocol",
            tungstenite::http::HeaderValue::from_static(SUBPROTOCOL),
        );
        let connecting = tokio_tungstenite::connect_async_with_config(request, None, true);
        tokio::pin!(connecting);
        loop {
            let pull = self.may_pull();
            tokio::select! {
                result = &mut connecting => {
                    return match result {
                        Ok((socket, _)) => Ok(socket),
                        Err(tungstenite::Error::Http(response)) => {
                            let status = response.status();
                            let body = response
                                .body()
                                .as_deref()
                                .map(String::from_utf8_lossy)
                                .unwrap_or_default()
                                .to_string();
                            let message = error_message(&body).unwrap_or(body);
                            if status.is_server_error() || status.as_u16() == 429 {
                                Err(ConnectError::Retry(format!("HTTP {status} {message}")))
                            } else {
                                Err(ConnectError::Fatal(anyhow!(
                                    "the server refused the stream: HTTP {status} {message}"
                                )))
                            }
                        }
                        Err(e) => Err(ConnectError::Retry(e.to_string())),
                    };
                }
                frame = self.source.next_frame(), if pull => {
                    self.take_frame(frame).map_err(ConnectError::Fatal)?;
                }
                () = self.stop.notified(), if !self.source_done => self.source_done = true,
            }
        }
    }

    /// One connection: `start`, then frames out and events in until it ends.
    async fn converse(
        &mut self,
        mut socket: Socket,
        down_since: &mut Option<Instant>,
        attempt: &mut u32,
    ) -> Result<Ended> {
        let start = json!({
            "type": "start",
            "sample_rate": 16_000,
            "channels": 1,
            "encoding": "pcm_s16le",
            "resume_from_event": self.last_event,
        });
        if let Err(e) = socket.send(Message::text(start.to_string())).await {
            return Ok(Ended::Dropped(e.to_string()));
        }
        // Highest frame seq sent on this connection; set by `ready`.
        let mut sent: Option<u64> = None;
        let mut stop_sent = false;
        loop {
            // Send what can be sent before waiting for anything.
            if let Some(sent_seq) = sent.as_mut() {
                while let Some((seq, pcm)) = self.outbox.after(*sent_seq) {
                    let mut frame = Vec::with_capacity(8 + pcm.len());
                    frame.extend_from_slice(&seq.to_le_bytes());
                    frame.extend_from_slice(pcm);
                    let seq = *seq;
                    if let Err(e) = socket.send(Message::binary(frame)).await {
                        return Ok(Ended::Dropped(e.to_string()));
                    }
                    *sent_seq = seq;
                }
                if self.source_done && !stop_sent && *sent_seq >= self.outbox.last_seq() {
                    if let Err(e) = socket.send(Message::text(r#"{"type":"stop"}"#)).await {
                        return Ok(Ended::Dropped(e.to_string()));
                    }
                    stop_sent = true;
                }
            }
            let pull = self.may_pull();
            tokio::select! {
                message = socket.next() => {
                    let message = match message {
                        None => return Ok(Ended::Dropped("the connection closed".into())),
                        Some(Err(e)) => return Ok(Ended::Dropped(e.to_string())),
                        Some(Ok(message)) => message,
                    };
                    match message {
                        Message::Text(text) => {
                            let event: Value = match serde_json::from_str(text.as_str()) {
                                Ok(event) => event,
                                Err(_) => continue,
                            };
                            match self.event(&event)? {
                                Seen::Ready(last_frame_seq) => {
                                    sent = Some(last_frame_seq);
                                    *down_since = None;
                                    *attempt = 0;
                                }
                                Seen::Closed => {
                                    let _ = socket.close(None).await;
                                    return Ok(Ended::Finished);
                                }
                                Seen::Other => {}
                            }
                        }
                        Message::Close(frame) => return self.closed_by_server(frame),
                        _ => {}
                    }
                }
                frame = self.source.next_frame(), if pull => self.take_frame(frame)?,
                () = self.stop.notified(), if !self.source_done => self.source_done = true,
            }
        }
    }

    /// The server closed the connection without `closed`: reconnect, unless it said that
    /// trying again cannot help.
    fn closed_by_server(&self, frame: Option<tungstenite::protocol::CloseFrame>) -> Result<Ended> {
        let Some(frame) = frame else {
            return Ok(Ended::Dropped("closed without a reason".into()));
        };
        let code = u16::from(frame.code);
        let reason = format!("close {code} {}", frame.reason);
        match frame.code {
            CloseCode::Size => bail!("the server refused a frame as too large ({reason})"),
            CloseCode::Library(4400) => bail!("the server refused the audio format ({reason})"),
            CloseCode::Library(4408) => bail!("the session reached its length limit ({reason})"),
            CloseCode::Library(4409) => {
                bail!("another connection took over this session ({reason})")
            }
            _ => Ok(Ended::Dropped(reason)),
        }
    }

    /// Handles one server event; skips replays of events already seen.
    fn event(&mut self, event: &Value) -> Result<Seen> {
        let seq = event["seq"].as_u64().unwrap_or(0);
        if seq > 0 {
            if seq <= self.last_event {
                return Ok(Seen::Other);
            }
            self.last_event = seq;
        }
        let text = || event["text"].as_str().unwrap_or_default();
        match event["type"].as_str().unwrap_or_default() {
            "ready" => {
                if let Some(id) = event["draft_id"].as_str() {
                    self.outcome.draft_id = id.to_string();
                }
                let last_frame_seq = event["last_frame_seq"].as_u64().unwrap_or(0);
                if !self.outbox.numbered {
                    self.outbox.renumber(last_frame_seq);
                } else if last_frame_seq < self.outbox.acked {
                    bail!(
                        "the server holds audio up to frame {last_frame_seq}, but acknowledged \
                         frame {} before",
                        self.outbox.acked
                    );
                } else {
                    self.outbox.ack(last_frame_seq);
                }
                if self.outcome.reconnects > 0 {
                    let resend = self.outbox.last_seq().saturating_sub(last_frame_seq);
                    self.view.notice(&format!(
                        "resumed: the server holds {last_frame_seq} frames; re-sending {resend}"
                    ));
                }
                return Ok(Seen::Ready(last_frame_seq));
            }
            "ack" => self.outbox.ack(event["frame_seq"].as_u64().unwrap_or(0)),
            "partial" => self.view.partial(text()),
            "stable" => self.view.stable(text()),
            "final" => {
                self.outcome.finals += 1;
                let start = event["start"].as_f64().unwrap_or(0.0);
                let end = event["end"].as_f64().unwrap_or(0.0);
                self.view.final_text(text(), start, end);
            }
            "backpressure" => {
                let behind = event["behind_s"].as_f64().unwrap_or(0.0);
                self.view.notice(&format!(
                    "the server is {behind:.1} s behind the audio (busy); text will lag"
                ));
            }
            "error" => {
                let code = event["code"].as_str().unwrap_or("error");
                let message = event["message"].as_str().unwrap_or_default();
                self.view.notice(&format!("server: {code}: {message}"));
            }
            "draft" => {
                if let Some(id) = event["draft_id"].as_str() {
                    self.outcome.draft_id = id.to_string();
                }
                self.outcome.draft_version = event["version"].as_u64();
                self.outcome.draft_text = Some(text().to_string());
            }
            "closed" => {
                if let Some(id) = event["draft_id"].as_str() {
                    self.outcome.draft_id = id.to_string();
                }
                return Ok(Seen::Closed);
            }
            _ => {}
        }
        Ok(Seen::Other)
    }

    /// Whether to ask the source for another frame now.
    fn may_pull(&self) -> bool {
        !self.source_done
            && (self.source.is_live() || self.outbox.frames.len() < self.options.window)
    }

    fn take_frame(&mut self, frame: Result<Option<Vec<i16>>>) -> Result<()> {
        match frame.context("reading audio")? {
            Some(samples) if !samples.is_empty() => {
                self.samples_streamed += samples.len();
                self.outbox.push(&samples);
            }
            Some(_) => {}
            None => self.source_done = true,
        }
        Ok(())
    }

    fn unacked_s(&self) -> String {
        let bytes: usize = self.outbox.frames.iter().map(|(_, pcm)| pcm.len()).sum();
        format!("{:.1}", bytes as f64 / 32_000.0)
    }
}

/// What an event meant for the connection.
enum Seen {
    Ready(u64),
    Closed,
    Other,
}

enum ConnectError {
    Fatal(anyhow::Error),
    Retry(String),
}

/// 0.25 s, doubling, at most 4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.saturating_sub(1).min(4)))
}

/// `error.message` of a protocol error body, if it is one.
pub fn error_message(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let error = value.get("error")?;
    Some(format!(
        "{}: {}",
        error["code"].as_str().unwrap_or("error"),
        error["message"].as_str().unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_resends_exactly_what_is_not_acknowledged() {
        let mut outbox = Outbox::new();
        for i in 0..5 {
            outbox.push(&[i]);
        }
        outbox.renumber(0);
        outbox.ack(2);
        assert_eq!(outbox.frames.len(), 3);
        assert_eq!(outbox.after(2).map(|f| f.0), Some(3));
        assert_eq!(outbox.after(4).map(|f| f.0), Some(5));
        assert_eq!(outbox.after(5).map(|f| f.0), None);
        // A server that already had frame 3 after a restart: resend from 4.
        outbox.ack(3);
        assert_eq!(outbox.after(3).map(|f| f.0), Some(4));
        assert_eq!(outbox.last_seq(), 5);
    }

    #[test]
    fn a_resumed_session_numbers_new_frames_after_the_old_ones() {
        let mut outbox = Outbox::new();
        outbox.push(&[1, 2]);
        outbox.push(&[3]);
        outbox.renumber(40);
        assert_eq!(outbox.after(40).map(|f| f.0), Some(41));
        outbox.push(&[4]);
        assert_eq!(outbox.last_seq(), 43);
        assert_eq!(outbox.acked, 40);
    }

    #[test]
    fn backoff_doubles_up_to_four_seconds() {
        let waits: Vec<u64> = (1..=7).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, vec![250, 500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn protocol_error_bodies_are_read() {
        assert_eq!(
            error_message(r#"{"error":{"code":"not_found","message":"no such session"}}"#)
                .as_deref(),
            Some("not_found: no such session")
        );
        assert_eq!(error_message("plain"), None);
    }
}
