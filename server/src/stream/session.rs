//! One live session as an actor: a task that owns the session's audio log, its speech stream
//! and its event numbering, and serves whichever connection is attached. Connections come and
//! go (drops, resumes, takeovers); the actor keeps decoding and committing finals meanwhile, and
//! a restarted server rebuilds it from the audio log and the events table.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{json, Value};
use skriva_engine::recognize::{join_words, Word};
use skriva_engine::stream::{LiveStream, StreamEvent};
use tokio::sync::mpsc;

use super::audio_log::{self, AudioLog};
use super::protocol::{close, error_event, event, SUBPROTOCOL};
use crate::store::{AudioFormat, SessionRecord, SessionStatus};
use crate::{metrics, AppState, Error, Result};

/// Event seqs reserved in the database at a time (see [`crate::Store::reserve_event_seqs`]).
const SEQ_BLOCK: u64 = 1024;
/// A session with no connection and nothing to decode leaves memory after this long; it is
/// rebuilt from disk when a client comes back.
const IDLE_EXIT: Duration = Duration::from_secs(15 * 60);
/// Least time between two `backpressure` events.
const BACKPRESSURE_EVERY: Duration = Duration::from_secs(1);

/// What the actor sends a connection.
#[derive(Debug)]
pub enum Outgoing {
    /// A JSON event to send as a text message.
    Event(String),
    /// Close the WebSocket with this code and reason.
    Close { code: u16, reason: String },
}

/// What a connection asks of the actor.
#[derive(Debug)]
pub enum Command {
    /// Attach after a valid `start`: replay events after `resume_from`, then `ready`.
    Attach {
        conn: u64,
        format: AudioFormat,
        resume_from: u64,
        out: mpsc::UnboundedSender<Outgoing>,
    },
    /// An audio frame (already split from its header).
    Audio {
        conn: u64,
        seq: u64,
        pcm: Bytes,
    },
    /// Report a refused client message as an `error` event in the session's sequence.
    Refused {
        conn: u64,
        code: &'static str,
        message: String,
    },
    Stop {
        conn: u64,
    },
    Detach {
        conn: u64,
    },
}

/// The live sessions of this process.
#[derive(Debug, Default)]
pub struct Registry {
    live: Mutex<HashMap<String, mpsc::Sender<Command>>>,
    next_conn: AtomicU64,
}

impl Registry {
    /// A fresh connection id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The actor of `session`, started (and rebuilt from disk) if it is not running.
    pub fn handle(
        &self,
        state: &AppState,
        session: &SessionRecord,
    ) -> Result<mpsc::Sender<Command>> {
        let mut live = self
            .live
            .lock()
            .map_err(|_| Error::Internal("session registry poisoned".into()))?;
        if let Some(tx) = live.get(&session.id).filter(|tx| !tx.is_closed()) {
            return Ok(tx.clone());
        }
        let (tx, rx) = mpsc::channel(64);
        live.insert(session.id.clone(), tx.clone());
        let actor = SessionActor::new(state.clone(), session.clone());
        tokio::spawn(actor.run(rx, tx.clone()));
        Ok(tx)
    }

    fn remove(&self, session_id: &str, tx: &mpsc::Sender<Command>) {
        if let Ok(mut live) = self.live.lock() {
            if live.get(session_id).is_some_and(|t| t.same_channel(tx)) {
                live.remove(session_id);
            }
        }
    }

    /// The highest durably accepted frame of a session (from its audio log).
    pub async fn last_frame_seq(&self, state: &AppState, session_id: &str) -> Result<u64> {
        let path = audio_log::audio_path(&state.config().audio_dir(), session_id);
        tokio::task::spawn_blocking(move || audio_log::scan(&path, false).map(|s| s.last_seq))
            .await
            .map_err(|e| Error::Internal(format!("scan task failed: {e}")))?
    }
}

/// A finished decode step: the stream back, its events, how long it took and how much audio
/// it had when it started.
type DecodeResult = (LiveStream, Result<Vec<StreamEvent>>, f64, f64);
type DecodeFuture =
    Pin<Box<dyn Future<Output = std::result::Result<DecodeResult, tokio::task::JoinError>> + Send>>;

/// Whether the actor goes on.
enum Flow {
    Continue,
    Exit,
}

struct SessionActor {
    state: AppState,
    session: SessionRecord,
    next_seq: u64,
    reserved: u64,
    audio: Option<Arc<Mutex<AudioLog>>>,
    last_frame_seq: u64,
    accepted_pcm_bytes: u64,
    /// `None` while a decode holds it (or before the first `start`).
    stream: Option<LiveStream>,
    media_ready: bool,
    /// Audio accepted while a decode held the stream.
    pending_pcm: Vec<u8>,
    /// Finals a rebuilt stream re-derives that were committed before the restart.
    skip_finals: usize,
    /// Stable words of the open utterance sent so far, redrawn for a reattaching client.
    open_words: Vec<Word>,
    attached: Option<(u64, mpsc::UnboundedSender<Outgoing>)>,
    stopping: Option<(u16, String)>,
    last_backpressure: Option<Instant>,
    /// The stream's undecoded audio when a decode step took it: while a step runs (which is
    /// nearly always, on a stream that is behind) only the stream knew how far behind it was.
    undecoded_when_taken_s: f64,
    /// When the audio up to each point (seconds) arrived, for the final-latency metric.
    arrivals: VecDeque<(f64, Instant)>,
    /// Audio seconds already counted in the real-time-factor metric.
    audio_accounted_s: f64,
}

impl SessionActor {
    fn new(state: AppState, session: SessionRecord) -> Self {
        Self {
            state,
            session,
            next_seq: 0,
            reserved: 0,
            audio: None,
            last_frame_seq: 0,
            accepted_pcm_bytes: 0,
            stream: None,
            media_ready: false,
            pending_pcm: Vec::new(),
            skip_finals: 0,
            open_words: Vec::new(),
            attached: None,
            stopping: None,
            last_backpressure: None,
            undecoded_when_taken_s: 0.0,
            arrivals: VecDeque::new(),
            audio_accounted_s: 0.0,
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>, me: mpsc::Sender<Command>) {
        let id = self.session.id.clone();
        let span = tracing::info_span!("session", id = %id);
        let _ = tracing::Instrument::instrument(self.serve(&mut rx), span).await;
        self.state.sessions().remove(&id, &me);
        drop(me);
        // Connections that raced with the exit are told to come back; a new actor serves them.
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            if let Command::Attach { out, .. } = cmd {
                let _ = out.send(Outgoing::Close {
                    code: close::TRY_AGAIN,
                    reason: "session restarting; reconnect and resume".into(),
                });
            }
        }
        if let Some((_, out)) = self.attached.take() {
            let _ = out.send(Outgoing::Close {
                code: close::INTERNAL,
                reason: "session ended on the server; reconnect and resume".into(),
            });
        }
    }

    async fn serve(&mut self, rx: &mut mpsc::Receiver<Command>) -> Result<()> {
        if let Err(e) = self.init_seqs().await {
            tracing::error!(error = %e, "cannot open the session");
            return Err(e);
        }
        let mut in_flight: Option<DecodeFuture> = None;
        loop {
            if in_flight.is_none() {
                in_flight = self.start_decode();
            }
            if self.stopping.is_some() && in_flight.is_none() {
                if let Err(e) = self.complete().await {
                    self.fail(&e);
                }
                return Ok(());
            }
            let idle = self.attached.is_none() && in_flight.is_none();
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { return Ok(()) };
                    if let Flow::Exit = self.handle(cmd).await {
                        return Ok(());
                    }
                }
                done = async {
                    match in_flight.as_mut() {
                        Some(fut) => fut.await,
                        None => std::future::pending().await,
                    }
                }, if in_flight.is_some() => {
                    in_flight = None;
                    if let Flow::Exit = self.decoded(done).await {
                        return Ok(());
                    }
                }
                () = tokio::time::sleep(IDLE_EXIT), if idle => {
                    tracing::info!("idle session leaves memory");
                    return Ok(());
                }
            }
        }
    }

    async fn init_seqs(&mut self) -> Result<()> {
        let id = self.session.id.clone();
        let (session, last) = self
            .state
            .db(move |store| {
                let session = store
                    .session(&id)?
                    .ok_or_else(|| Error::NotFound(format!("no session `{id}`")))?;
                let last = store.last_event_seq(&id)?;
                Ok((session, last))
            })
            .await?;
        self.session = session;
        // Seqs up to `reserved` may have reached a client before a crash: never reuse them.
        self.next_seq = self.session.event_seq_reserved.max(last) + 1;
        self.reserved = self.next_seq - 1;
        Ok(())
    }

    async fn take_seq(&mut self) -> Result<u64> {
        if self.next_seq > self.reserved {
            let upto = self.next_seq + SEQ_BLOCK - 1;
            let id = self.session.id.clone();
            self.state
                .db(move |store| store.reserve_event_seqs(&id, upto))
                .await?;
            self.reserved = upto;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        Ok(seq)
    }

    fn send(&self, outgoing: Outgoing) {
        if let Some((_, out)) = &self.attached {
            let _ = out.send(outgoing);
        }
    }

    /// Sends an event that is not persisted (partial, stable, ack, backpressure, error, ready).
    async fn emit_transient(&mut self, kind: &str, fields: Value) {
        if self.attached.is_none() {
            return;
        }
        match self.take_seq().await {
            Ok(seq) => self.send(Outgoing::Event(event(kind, seq, fields).to_string())),
            Err(e) => tracing::error!(error = %e, "cannot number an event"),
        }
    }

    async fn emit_error(&mut self, code: &str, message: &str) {
        self.emit_transient("error", json!({"code": code, "message": message}))
            .await;
    }

    /// Reports a failure that ends this actor; the client can reconnect and resume.
    fn fail(&mut self, e: &Error) {
        tracing::error!(error = %e, "session failed");
        metrics::global().count_error("stream_internal");
        self.send(Outgoing::Event(
            error_event(0, "internal", "the server failed; reconnect and resume").to_string(),
        ));
        self.send(Outgoing::Close {
            code: close::INTERNAL,
            reason: "server error; reconnect and resume".into(),
        });
        self.attached = None;
    }

    async fn handle(&mut self, cmd: Command) -> Flow {
        match cmd {
            Command::Attach {
                conn,
                format,
                resume_from,
                out,
            } => self.attach(conn, format, resume_from, out).await,
            Command::Audio { conn, seq, pcm } => {
                if self.is_attached(conn) {
                    return self.audio(seq, pcm).await;
                }
                Flow::Continue
            }
            Command::Refused {
                conn,
                code,
                message,
            } => {
                if self.is_attached(conn) {
                    self.emit_error(code, &message).await;
                }
                Flow::Continue
            }
            Command::Stop { conn } => {
                if self.is_attached(conn) && self.stopping.is_none() {
                    tracing::info!("stop requested");
                    self.stopping = Some((close::NORMAL, "stopped".into()));
                }
                Flow::Continue
            }
            Command::Detach { conn } => {
                if self.is_attached(conn) {
                    tracing::info!(conn, "connection detached");
                    self.attached = None;
                }
                Flow::Continue
            }
        }
    }

    fn is_attached(&self, conn: u64) -> bool {
        self.attached.as_ref().is_some_and(|(c, _)| *c == conn)
    }

    async fn attach(
        &mut self,
        conn: u64,
        format: AudioFormat,
        resume_from: u64,
        out: mpsc::UnboundedSender<Outgoing>,
    ) -> Flow {
        let refuse = |code: u16, error: &str, message: String| {
            let _ = out.send(Outgoing::Event(error_event(0, error, &message).to_string()));
            let _ = out.send(Outgoing::Close {
                code,
                reason: message,
            });
        };
        let open = self.session.status == SessionStatus::Open;
        if open {
            if let Some(existing) = self.session.format.filter(|f| *f != format) {
                refuse(
                    close::BAD_START,
                    "format_mismatch",
                    format!(
                        "this session streams {} Hz, {} channel(s), {}",
                        existing.sample_rate,
                        existing.channels,
                        existing.encoding.as_str()
                    ),
                );
                return Flow::Continue;
            }
            if let Err(e) = self.init_media(format).await {
                let (code, error) = match e {
                    Error::NotReady(_) => (close::TRY_AGAIN, "not_ready"),
                    _ => (close::INTERNAL, "internal"),
                };
                tracing::error!(error = %e, "cannot prepare the session's audio");
                refuse(code, error, e.public_message());
                return Flow::Continue;
            }
        }
        if let Some((old, old_out)) = self.attached.take() {
            tracing::info!(old, new = conn, "connection superseded");
            let _ = old_out.send(Outgoing::Close {
                code: close::SUPERSEDED,
                reason: "superseded by a newer connection".into(),
            });
        }
        let id = self.session.id.clone();
        let replay = match self
            .state
            .db(move |store| store.events_after(&id, resume_from))
            .await
        {
            Ok(events) => events,
            Err(e) => {
                refuse(close::INTERNAL, "internal", e.public_message());
                return Flow::Continue;
            }
        };
        tracing::info!(
            conn,
            resume_from,
            replayed = replay.len(),
            "connection attached"
        );
        for (_, payload) in &replay {
            let _ = out.send(Outgoing::Event(payload.clone()));
        }
        self.attached = Some((conn, out));
        let ready = json!({
            "protocol": SUBPROTOCOL,
            "session_id": self.session.id,
            "draft_id": self.session.draft_id,
            "status": self.session.status,
            "last_frame_seq": self.last_frame_seq,
            "format": self.session.format,
        });
        self.emit_transient("ready", ready).await;
        if !self.open_words.is_empty() {
            // The client dropped its view of the open utterance at `ready`; redraw it.
            let words = self.open_words.clone();
            self.emit_transient(
                "stable",
                json!({"text": join_words(&words), "words": words}),
            )
            .await;
        }
        if !open {
            self.send(Outgoing::Close {
                code: close::NORMAL,
                reason: "session finished".into(),
            });
            self.attached = None;
        }
        Flow::Continue
    }

    /// Opens the audio log and builds the speech stream, feeding it what the log already holds
    /// (a resumed or restarted session), once per actor.
    async fn init_media(&mut self, format: AudioFormat) -> Result<()> {
        if self.media_ready {
            return Ok(());
        }
        let recognizer = self.state.recognizer()?;
        if self.session.format.is_none() {
            let id = self.session.id.clone();
            self.state
                .db(move |store| store.set_session_format(&id, format))
                .await?;
            self.session.format = Some(format);
        }
        let streaming = self.state.config().streaming.clone();
        let decode = self.state.notes().decode_options(
            &streaming.decode,
            self.session.mode,
            &self.session.template,
        );
        let path = audio_log::audio_path(&self.state.config().audio_dir(), &self.session.id);
        let store = self.state.store().clone();
        let id = self.session.id.clone();
        let (log, stream, committed) = tokio::task::spawn_blocking(move || -> Result<_> {
            let (log, pcm) = AudioLog::open(path)?;
            let mut stream = super::speech::live_stream(recognizer, format, &streaming, decode)?;
            stream.push_bytes(&pcm)?;
            let committed = store.committed_finals(&id)?;
            Ok((log, stream, committed))
        })
        .await
        .map_err(|e| Error::Internal(format!("session setup task failed: {e}")))??;
        self.last_frame_seq = log.last_seq();
        self.accepted_pcm_bytes = log.pcm_bytes();
        if log.last_seq() > 0 {
            tracing::info!(
                frames = log.last_seq(),
                audio_s = stream.audio_seconds(),
                committed,
                "rebuilt the session from its audio log; re-decoding unfinished audio"
            );
        }
        self.skip_finals = committed;
        self.audio = Some(Arc::new(Mutex::new(log)));
        self.stream = Some(stream);
        self.media_ready = true;
        Ok(())
    }

    fn bytes_per_second(&self) -> f64 {
        self.session.format.map_or(1.0, |f| {
            f64::from(f.sample_rate) * (f.channels * f.encoding.bytes_per_sample()) as f64
        })
    }

    async fn audio(&mut self, seq: u64, pcm: Bytes) -> Flow {
        if self.stopping.is_some() {
            self.emit_error(
                "stopping",
                "the session is stopping; audio after `stop` is ignored",
            )
            .await;
            return Flow::Continue;
        }
        if seq <= self.last_frame_seq {
            // Already durable (a resend after a reconnect): acknowledge again, change nothing.
            let last = self.last_frame_seq;
            self.emit_transient("ack", json!({"frame_seq": last})).await;
            return Flow::Continue;
        }
        if seq != self.last_frame_seq + 1 {
            let expected = self.last_frame_seq + 1;
            self.emit_error(
                "frame_gap",
                &format!("frame {seq} arrived but {expected} is next; resend from {expected}"),
            )
            .await;
            return Flow::Continue;
        }
        let bytes_per_second = self.bytes_per_second();
        let total_s = (self.accepted_pcm_bytes + pcm.len() as u64) as f64 / bytes_per_second;
        let max_s = self.state.config().limits.max_session_s;
        if total_s > max_s {
            let message =
                format!("the session reached its limit of {max_s} s of audio and was stopped");
            self.emit_error("session_too_long", &message).await;
            self.stopping = Some((close::SESSION_TOO_LONG, message));
            return Flow::Continue;
        }
        let Some(log) = self.audio.clone() else {
            self.fail(&Error::Internal(
                "audio before the session was prepared".into(),
            ));
            return Flow::Exit;
        };
        let to_store = pcm.clone();
        let appended = tokio::task::spawn_blocking(move || {
            log.lock()
                .map_err(|_| Error::Internal("audio log poisoned".into()))?
                .append(seq, &to_store)
        })
        .await
        .map_err(|e| Error::Internal(format!("audio append task failed: {e}")))
        .and_then(|r| r);
        if let Err(e) = appended {
            self.fail(&e);
            return Flow::Exit;
        }
        self.last_frame_seq = seq;
        self.accepted_pcm_bytes += pcm.len() as u64;
        self.arrivals.push_back((
            self.accepted_pcm_bytes as f64 / bytes_per_second,
            Instant::now(),
        ));
        let pushed = match self.stream.as_mut() {
            Some(stream) => stream.push_bytes(&pcm).map_err(Error::from),
            None => {
                self.pending_pcm.extend_from_slice(&pcm);
                Ok(())
            }
        };
        if let Err(e) = pushed {
            self.fail(&e);
            return Flow::Exit;
        }
        self.emit_transient("ack", json!({"frame_seq": seq})).await;
        self.maybe_backpressure().await;
        Flow::Continue
    }

    async fn maybe_backpressure(&mut self) {
        let pending_s = self.pending_pcm.len() as f64 / self.bytes_per_second();
        let behind = self
            .stream
            .as_ref()
            .map_or(self.undecoded_when_taken_s, |s| s.undecoded_seconds())
            + pending_s;
        let threshold = f64::from(self.state.config().streaming.backpressure_after_s);
        let due = self
            .last_backpressure
            .is_none_or(|t| t.elapsed() >= BACKPRESSURE_EVERY);
        if behind > threshold && due {
            self.last_backpressure = Some(Instant::now());
            self.emit_transient("backpressure", json!({"behind_s": behind}))
                .await;
        }
    }

    /// Starts a decode step on the blocking pool when the stream has work, waiting its turn at
    /// the server-wide decode limit.
    fn start_decode(&mut self) -> Option<DecodeFuture> {
        if !self.stream.as_ref().is_some_and(|s| s.needs_decode()) {
            return None;
        }
        let mut stream = self.stream.take()?;
        self.undecoded_when_taken_s = stream.undecoded_seconds();
        let permits = self.state.decode_permits().clone();
        Some(Box::pin(async move {
            let permit = permits.acquire_owned().await.ok();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let before = stream.audio_seconds();
                let started = Instant::now();
                let result = stream.decode_step().map_err(Error::from);
                (stream, result, started.elapsed().as_secs_f64(), before)
            })
            .await
        }))
    }

    async fn decoded(
        &mut self,
        done: std::result::Result<DecodeResult, tokio::task::JoinError>,
    ) -> Flow {
        let (mut stream, result, elapsed, audio_s) = match done {
            Ok(done) => done,
            Err(e) => {
                self.fail(&Error::Internal(format!("decode task failed: {e}")));
                return Flow::Exit;
            }
        };
        metrics::global().decode_step_seconds.observe(elapsed);
        metrics::global().add_decoded(audio_s - self.audio_accounted_s, elapsed);
        self.audio_accounted_s = audio_s;
        if !self.pending_pcm.is_empty() {
            let pending = std::mem::take(&mut self.pending_pcm);
            if let Err(e) = stream.push_bytes(&pending) {
                self.fail(&e.into());
                return Flow::Exit;
            }
        }
        self.stream = Some(stream);
        match result {
            Ok(events) => self.speech_events(events).await,
            Err(e) => {
                self.fail(&e);
                Flow::Exit
            }
        }
    }

    async fn speech_events(&mut self, events: Vec<StreamEvent>) -> Flow {
        for ev in events {
            if self.skip_finals > 0 && !matches!(ev, StreamEvent::Final(_)) {
                // A rebuilt stream re-deriving utterances the client already has as finals.
                continue;
            }
            match ev {
                StreamEvent::Partial { text, start, end } => {
                    self.emit_transient(
                        "partial",
                        json!({"text": text, "start": start, "end": end}),
                    )
                    .await;
                }
                StreamEvent::Stable { words, text } => {
                    self.open_words.extend(words.iter().cloned());
                    self.emit_transient("stable", json!({"text": text, "words": words}))
                        .await;
                }
                StreamEvent::Backpressure { behind_s } => {
                    self.emit_transient("backpressure", json!({"behind_s": behind_s}))
                        .await;
                }
                StreamEvent::Final(segment) => {
                    self.open_words.clear();
                    if self.skip_finals > 0 {
                        self.skip_finals -= 1;
                        continue;
                    }
                    if let Err(e) = self.commit_final(segment).await {
                        self.fail(&e);
                        return Flow::Exit;
                    }
                }
            }
        }
        Flow::Continue
    }

    /// Commits a final segment to the draft and the events table, then tells the client.
    async fn commit_final(&mut self, segment: skriva_engine::recognize::Segment) -> Result<()> {
        let seq = self.take_seq().await?;
        let payload = event(
            "final",
            seq,
            json!({"text": segment.text, "start": segment.start, "end": segment.end, "words": segment.words}),
        )
        .to_string();
        let session = self.session.clone();
        let to_store = payload.clone();
        let end = segment.end;
        let notes = self.state.notes().clone();
        self.state
            .db(move |store| store.commit_final(&session, &segment, seq, &to_store, &notes))
            .await?;
        metrics::global().final_committed();
        while let Some((audio_s, at)) = self.arrivals.front().copied() {
            if audio_s >= end {
                metrics::global()
                    .final_latency_seconds
                    .observe(at.elapsed().as_secs_f64());
                break;
            }
            self.arrivals.pop_front();
        }
        self.send(Outgoing::Event(payload));
        Ok(())
    }

    /// After `stop`: finishes recognition, commits the last finals, and closes the session with
    /// `draft` and `closed`.
    async fn complete(&mut self) -> Result<()> {
        if let Some(mut stream) = self.stream.take() {
            let permit = self
                .state
                .decode_permits()
                .clone()
                .acquire_owned()
                .await
                .ok();
            let started = Instant::now();
            let (stream, events) = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let events = stream.finish();
                (stream, events)
            })
            .await
            .map_err(|e| Error::Internal(format!("finish task failed: {e}")))?;
            let audio_s = stream.audio_seconds();
            metrics::global().add_decoded(
                audio_s - self.audio_accounted_s,
                started.elapsed().as_secs_f64(),
            );
            self.audio_accounted_s = audio_s;
            if let Flow::Exit = self.speech_events(events?).await {
                return Ok(());
            }
        }
        let draft_seq = self.take_seq().await?;
        let closed_seq = self.take_seq().await?;
        let draft_id = self.session.draft_id.clone();
        let draft = self
            .state
            .db(move |store| store.draft(&draft_id))
            .await?
            .ok_or_else(|| Error::Internal("the session's draft is missing".into()))?;
        let draft_event = event(
            "draft",
            draft_seq,
            json!({"draft_id": draft.id, "version": draft.version, "text": draft.note.to_text(), "sections": draft.note.sections}),
        )
        .to_string();
        let closed_event = event("closed", closed_seq, json!({"draft_id": draft.id})).to_string();
        let id = self.session.id.clone();
        let events = vec![
            (draft_seq, draft_event.clone()),
            (closed_seq, closed_event.clone()),
        ];
        self.state
            .db(move |store| store.finish_session_with_events(&id, &events))
            .await?;
        self.session.status = SessionStatus::Finished;
        tracing::info!(draft = %draft.id, version = draft.version, "session finished");
        self.send(Outgoing::Event(draft_event));
        self.send(Outgoing::Event(closed_event));
        let (code, reason) = self
            .stopping
            .take()
            .unwrap_or((close::NORMAL, "stopped".into()));
        self.send(Outgoing::Close { code, reason });
        self.attached = None;
        Ok(())
    }
}
