//! Live dictation over WebSocket (`GET /api/sessions/{id}/stream`, protocol `skriva.v1`): the
//! connection loop that speaks the wire protocol, in front of the per-session actor that
//! persists audio, runs the recognizer and numbers events. Resume and crash recovery live there.

mod audio_log;
pub mod protocol;
mod session;
pub mod speech;

use std::path::Path as FsPath;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::sync::mpsc;

pub use audio_log::{audio_path, read_pcm};
pub use session::Registry;
use session::{Command, Outgoing};

use crate::audit::{self, Action, AuditEntry};
use crate::auth::{Caller, Role, User};
use crate::store::{AudioFormat, Draft, SessionRecord, Store};
use crate::{AppState, Error, Result, StreamSlot};
use protocol::{close, error_event, ClientMessage, FRAME_HEADER_BYTES, SUBPROTOCOL};

/// The WebSocket route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/sessions/{id}/stream", get(stream_handler))
}

async fn stream_handler(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    upgrade: std::result::Result<
        WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
) -> Result<Response> {
    let upgrade = upgrade
        .map_err(|e| Error::BadRequest(format!("this endpoint speaks WebSocket only: {e}")))?;
    let lookup = id.clone();
    let session = state
        .db(move |store| store.session(&lookup))
        .await?
        .ok_or_else(|| Error::NotFound(format!("no session `{id}`")))?;
    let user = caller.0;
    let allowed = user.role == Role::Admin
        || user.hsa_id == session.clinician_hsa
        || user.id == session.created_by;
    if !allowed {
        return Err(Error::Forbidden(
            "only the session's clinician may stream to it".into(),
        ));
    }
    let slot = state.open_stream_slot(user.id).ok_or_else(|| {
        Error::TooMany(format!(
            "at most {} streams may be open per user",
            state.config().limits.max_streams_per_user
        ))
    })?;
    let max_frame = state.config().limits.max_frame_bytes;
    {
        let (user, session) = (user.clone(), session.clone());
        state
            .db(move |store| {
                audit::record(
                    store,
                    &AuditEntry {
                        user: Some(&user),
                        patient_ref: &session.patient_ref,
                        draft_id: &session.draft_id,
                        action: Action::Create,
                        outcome: "ok",
                        detail: &format!("audio stream connected to session {}", session.id),
                    },
                );
                Ok(())
            })
            .await?;
    }
    Ok(upgrade
        .protocols([SUBPROTOCOL])
        // Headroom over the limit, so an oversized frame gets a clear close (1009) from us
        // rather than a dropped connection from the WebSocket layer.
        .max_message_size(max_frame.saturating_mul(2).max(64 * 1024))
        .max_frame_size(max_frame.saturating_mul(2).max(64 * 1024))
        .on_upgrade(move |socket| async move {
            let span = tracing::info_span!("stream", session = %session.id, user = %user.hsa_id);
            tracing::Instrument::instrument(connection(state, session, socket, slot), span).await;
        }))
}

/// The connection loop: client messages go to the session actor; its events come back here.
async fn connection(
    state: AppState,
    session: SessionRecord,
    mut socket: WebSocket,
    slot: StreamSlot,
) {
    let conn = state.sessions().next_conn_id();
    let max_frame = state.config().limits.max_frame_bytes;
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let mut actor: Option<(mpsc::Sender<Command>, AudioFormat)> = None;
    tracing::debug!(conn, "connection open");
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "connection error");
                        break;
                    }
                    None => break,
                };
                let step = match message {
                    Message::Text(text) => {
                        on_text(&state, &session, conn, text.as_str(), &mut actor, &out_tx).await
                    }
                    Message::Binary(frame) => on_frame(conn, frame, max_frame, &actor, &out_tx).await,
                    Message::Close(_) => Step::Stop,
                    Message::Ping(_) | Message::Pong(_) => Step::Continue,
                };
                if let Step::Stop = step {
                    // Deliver what is already queued (an error, then its close) before leaving.
                    while let Ok(outgoing) = out_rx.try_recv() {
                        if !deliver(&mut socket, outgoing).await {
                            break;
                        }
                    }
                    break;
                }
            }
            outgoing = out_rx.recv() => {
                let Some(outgoing) = outgoing else { break };
                if !deliver(&mut socket, outgoing).await {
                    break;
                }
            }
        }
    }
    if let Some((tx, _)) = actor {
        let _ = tx.send(Command::Detach { conn }).await;
    }
    tracing::debug!(conn, "connection closed");
    drop(slot);
}

enum Step {
    Continue,
    Stop,
}

/// Sends one outgoing item; false when the connection is done (closed or broken).
async fn deliver(socket: &mut WebSocket, outgoing: Outgoing) -> bool {
    match outgoing {
        Outgoing::Event(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Outgoing::Close { code, reason } => {
            tracing::debug!(code, %reason, "closing");
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: truncate_reason(&reason).into(),
                })))
                .await;
            false
        }
    }
}

/// Close reasons are limited to 123 bytes.
fn truncate_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}

fn refuse_before_start(out: &mpsc::UnboundedSender<Outgoing>, code: &str, message: &str) {
    let _ = out.send(Outgoing::Event(error_event(0, code, message).to_string()));
}

async fn on_text(
    state: &AppState,
    session: &SessionRecord,
    conn: u64,
    text: &str,
    actor: &mut Option<(mpsc::Sender<Command>, AudioFormat)>,
    out: &mpsc::UnboundedSender<Outgoing>,
) -> Step {
    let message = match protocol::parse_client_message(text) {
        Ok(message) => message,
        Err(e) => {
            match actor {
                Some((tx, _)) => {
                    let _ = tx
                        .send(Command::Refused {
                            conn,
                            code: e.code,
                            message: e.message,
                        })
                        .await;
                }
                None => refuse_before_start(out, e.code, &e.message),
            }
            return Step::Continue;
        }
    };
    match message {
        ClientMessage::Start {
            sample_rate,
            channels,
            encoding,
            resume_from_event,
        } => {
            if let Some((tx, _)) = actor {
                let _ = tx
                    .send(Command::Refused {
                        conn,
                        code: "already_started",
                        message: "`start` was already sent on this connection".into(),
                    })
                    .await;
                return Step::Continue;
            }
            let format = match protocol::audio_format(sample_rate, channels, &encoding) {
                Ok(format) => format,
                Err(e) => {
                    refuse_before_start(out, e.code, &e.message);
                    let _ = out.send(Outgoing::Close {
                        code: close::BAD_START,
                        reason: e.message,
                    });
                    return Step::Continue;
                }
            };
            let attach = |tx: mpsc::Sender<Command>| async move {
                let sent = tx
                    .send(Command::Attach {
                        conn,
                        format,
                        resume_from: resume_from_event.unwrap_or(0),
                        out: out.clone(),
                    })
                    .await;
                sent.map(|()| tx)
            };
            // One retry: the actor may have been leaving memory just as we looked it up.
            for _ in 0..2 {
                let tx = match state.sessions().handle(state, session) {
                    Ok(tx) => tx,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the session actor");
                        break;
                    }
                };
                if let Ok(tx) = attach(tx).await {
                    *actor = Some((tx, format));
                    return Step::Continue;
                }
            }
            refuse_before_start(out, "internal", "the session could not be opened; retry");
            let _ = out.send(Outgoing::Close {
                code: close::TRY_AGAIN,
                reason: "session unavailable; retry".into(),
            });
            Step::Continue
        }
        ClientMessage::Stop => {
            match actor {
                Some((tx, _)) => {
                    let _ = tx.send(Command::Stop { conn }).await;
                }
                None => refuse_before_start(out, "not_started", "send `start` before `stop`"),
            }
            Step::Continue
        }
    }
}

async fn on_frame(
    conn: u64,
    frame: axum::body::Bytes,
    max_frame: usize,
    actor: &Option<(mpsc::Sender<Command>, AudioFormat)>,
    out: &mpsc::UnboundedSender<Outgoing>,
) -> Step {
    if frame.len() > max_frame {
        let reason = format!(
            "frame of {} bytes exceeds the limit of {max_frame}",
            frame.len()
        );
        let _ = out.send(Outgoing::Event(
            error_event(0, "frame_too_large", &reason).to_string(),
        ));
        let _ = out.send(Outgoing::Close {
            code: close::TOO_BIG,
            reason,
        });
        return Step::Stop;
    }
    let Some((tx, format)) = actor else {
        refuse_before_start(out, "not_started", "send `start` before audio frames");
        return Step::Continue;
    };
    let command = match protocol::split_frame(&frame, *format) {
        Ok((seq, _)) => Command::Audio {
            conn,
            seq,
            pcm: frame.slice(FRAME_HEADER_BYTES..),
        },
        Err(e) => Command::Refused {
            conn,
            code: e.code,
            message: e.message,
        },
    };
    let _ = tx.send(command).await;
    Step::Continue
}

/// Deletes a session's audio (retention at signing), records it, and audits the deletion.
pub fn delete_session_audio(
    store: &Store,
    audio_dir: &FsPath,
    session_id: &str,
    draft: &Draft,
    user: Option<&User>,
) {
    let path = audio_path(audio_dir, session_id);
    let outcome = match std::fs::remove_file(&path) {
        Ok(()) => "ok",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "ok",
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "cannot delete session audio");
            "internal"
        }
    };
    if outcome == "ok" {
        if let Err(e) = store.mark_audio_deleted(session_id) {
            tracing::error!(error = %e, "cannot record the audio deletion");
        }
    }
    audit::record(
        store,
        &AuditEntry {
            user,
            patient_ref: &draft.patient_ref,
            draft_id: &draft.id,
            action: Action::Delete,
            outcome,
            detail: &format!("audio of session {session_id} (retention: deleted at signing)"),
        },
    );
}
