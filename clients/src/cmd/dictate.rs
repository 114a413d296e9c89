//! `skriva dictate`: live dictation against a Skriva server. Creates a session (or resumes
//! one), streams the microphone or a file over the session's WebSocket, shows the text live on
//! stderr and prints the draft's id and text on stdout when the server has closed the session.

mod source;
mod stream;
mod view;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::sync::Notify;

use source::{FileSource, MicSource};
use stream::{dictate, error_message, StreamOptions, StreamOutcome};
use view::LiveView;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One clinician dictating a note.
    Dictation,
    /// A recorded conversation (visit) to be structured afterwards.
    Ambient,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's base URL.
    #[arg(long, env = "SKRIVA_SERVER", default_value = "http://127.0.0.1:8714")]
    server: String,
    /// Bearer token (from `skriva user add`).
    #[arg(long, env = "SKRIVA_TOKEN", hide_env_values = true)]
    token: String,
    /// The patient the note is about (required for a new session).
    #[arg(long, required_unless_present = "session")]
    patient_ref: Option<String>,
    /// dictation or ambient.
    #[arg(long, value_enum, default_value = "dictation")]
    mode: Mode,
    /// Note template [server default: standard].
    #[arg(long)]
    template: Option<String>,
    /// HSA id of the signing clinician (an admin must name one; default: you).
    #[arg(long)]
    clinician: Option<String>,
    /// Stream this audio file instead of the microphone.
    #[arg(long)]
    file: Option<PathBuf>,
    /// With --file: send the audio at the pace it plays, as a microphone would.
    #[arg(long, requires = "file")]
    realtime: bool,
    /// Continue an existing session (its audio so far is kept; new audio follows it).
    #[arg(long, conflicts_with_all = ["patient_ref", "template", "clinician"])]
    session: Option<String>,
    /// Most unacknowledged frames (100 ms each) in flight when streaming a file faster than
    /// real time.
    #[arg(long, default_value_t = 50)]
    window: usize,
    /// Give up after the server has been unreachable this many seconds.
    #[arg(long, default_value_t = 120)]
    give_up_after: u64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: Args) -> Result<ExitCode> {
    let base = args.server.trim_end_matches('/').to_string();
    if base.starts_with("https://") {
        // Neither the HTTP nor the WebSocket client is built with TLS.
        bail!("--server {base}: this build speaks plain http:// only (no TLS)");
    }
    if !base.starts_with("http://") {
        bail!("--server must be an http:// URL, not `{base}`");
    }
    if args.window == 0 {
        bail!("--window must be at least 1");
    }
    // Open the audio before creating a session, so a missing microphone or an unreadable
    // file leaves nothing behind on the server.
    let source = match &args.file {
        Some(path) => Source::File(FileSource::open(path, args.realtime)?),
        None => Source::Mic(Box::new(MicSource::open()?)),
    };
    let http = reqwest::Client::new();
    let (session_id, ws_url) = match &args.session {
        Some(id) => (id.clone(), stream_url(&base, id)),
        None => create_session(&http, &base, &args).await?,
    };
    let mut view = LiveView::stderr();
    let what = match (&source, &args.file) {
        (Source::File(file), Some(path)) => format!(
            "streaming {} ({:.1} s{})",
            path.display(),
            file.duration_s(),
            if args.realtime { ", real time" } else { "" }
        ),
        (Source::Mic(mic), _) => format!("listening on {}; Ctrl-C to finish", mic.description),
        (Source::File(_), None) => "streaming".to_string(),
    };
    view.notice(&format!("session {session_id}: {what}"));

    let stop = Arc::new(Notify::new());
    let stop_on_interrupt = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop_on_interrupt.notify_one();
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let options = StreamOptions {
        ws_url,
        token: args.token.clone(),
        window: args.window,
        give_up_after: Duration::from_secs(args.give_up_after),
    };
    let outcome = match source {
        Source::File(file) => dictate(file, options, stop, &mut view).await,
        Source::Mic(mic) => dictate(*mic, options, stop, &mut view).await,
    }
    .with_context(|| format!("session {session_id}"))?;
    print_outcome(&outcome)?;
    Ok(ExitCode::SUCCESS)
}

enum Source {
    File(FileSource),
    Mic(Box<MicSource>),
}

/// `POST /api/sessions`; returns the session id and its stream URL.
async fn create_session(
    http: &reqwest::Client,
    base: &str,
    args: &Args,
) -> Result<(String, String)> {
    let mode = match args.mode {
        Mode::Dictation => "dictation",
        Mode::Ambient => "ambient",
    };
    let mut body = json!({"mode": mode, "patient_ref": args.patient_ref});
    if let Some(template) = &args.template {
        body["template"] = template.as_str().into();
    }
    if let Some(clinician) = &args.clinician {
        body["clinician"] = clinician.as_str().into();
    }
    let response = http
        .post(format!("{base}/api/sessions"))
        .bearer_auth(&args.token)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {base}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = error_message(&text).unwrap_or(text);
        bail!("the server refused the session: HTTP {status} {message}");
    }
    let session: Value =
        serde_json::from_str(&text).context("the server's session answer is not JSON")?;
    let Some(id) = session["id"].as_str() else {
        bail!("the server's session answer has no id: {text}");
    };
    // Prefer the URL the server names (it knows its public address), else derive one.
    let ws_url = session["ws_url"]
        .as_str()
        .filter(|u| u.starts_with("ws://") || u.starts_with("wss://"))
        .map_or_else(|| stream_url(base, id), str::to_string);
    Ok((id.to_string(), ws_url))
}

/// `ws(s)://host/api/sessions/{id}/stream` for an `http(s)://host` base URL.
fn stream_url(base: &str, session: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws_base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", base.trim_start_matches("http://"))
    };
    format!("{ws_base}/api/sessions/{session}/stream")
}

fn print_outcome(outcome: &StreamOutcome) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match outcome.draft_version {
        Some(version) => writeln!(out, "draft {} (version {version})", outcome.draft_id)?,
        None => writeln!(out, "draft {}", outcome.draft_id)?,
    }
    match outcome.draft_text.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => writeln!(out, "\n{text}")?,
        _ => {
            let mut err = std::io::stderr().lock();
            writeln!(err, "(no speech was recognized)")?;
        }
    }
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "{} final segments from {:.1} s of audio{}",
        outcome.finals,
        outcome.audio_s,
        match outcome.reconnects {
            0 => String::new(),
            n => format!("; reconnected {n} time(s)"),
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_follow_the_scheme() {
        assert_eq!(
            stream_url("http://127.0.0.1:8714", "ses_1"),
            "ws://127.0.0.1:8714/api/sessions/ses_1/stream"
        );
        assert_eq!(
            stream_url("https://skriva.example/", "ses_1"),
            "wss://skriva.example/api/sessions/ses_1/stream"
        );
    }
}
