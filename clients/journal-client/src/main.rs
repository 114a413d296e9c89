//! `skriva-journal-client`: an example of how a journal system picks up signed notes from a Skriva
//! server. It polls `GET /api/drafts?status=signed&since=…` with its bearer token, writes each new
//! signed note exactly once into an outbox folder as FHIR JSON (`<id>.fhir.json`, from
//! `?format=fhir`) and plain text (`<id>.txt`), remembers its position there across restarts, and
//! retries with backoff while the server is unreachable or failing.

mod outbox;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::outbox::Outbox;
use crate::server::{CallError, SignedNote, Skriva};

/// Delivers signed Skriva notes into an outbox folder, each once, as FHIR JSON and plain text.
#[derive(Debug, Parser)]
#[command(name = "skriva-journal-client", version)]
struct Args {
    /// Base URL of the Skriva server.
    #[arg(long, env = "SKRIVA_SERVER", default_value = "http://127.0.0.1:8714")]
    server: String,
    /// Bearer token of the user the client reads as (`skriva user add`).
    #[arg(long, env = "SKRIVA_TOKEN", hide_env_values = true)]
    token: String,
    /// Folder the notes are written into; it also holds the client's position.
    #[arg(long)]
    outbox: PathBuf,
    /// Seconds between polls.
    #[arg(long, default_value_t = 30.0)]
    interval: f64,
    /// Deliver what is new, then exit.
    #[arg(long)]
    once: bool,
    /// Longest wait between retries while the server is unavailable, in seconds.
    #[arg(long, default_value_t = 60.0)]
    max_backoff: f64,
    /// With `--once`: give up after this many failed attempts in a row (0: never).
    #[arg(long, default_value_t = 10)]
    attempts: u32,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        value.is_finite() && value > 0.0,
        "--{name} {value}: expected a positive number of seconds"
    );
    Ok(Duration::from_secs_f64(value))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let interval = seconds("interval", args.interval)?;
    let max_backoff = seconds("max-backoff", args.max_backoff)?;
    let skriva = Skriva::new(&args.server, &args.token)?;
    let mut outbox = Outbox::open(&args.outbox)?;
    tracing::info!(server = %args.server, outbox = %args.outbox.display(), since = ?outbox.position().since, "journal client started");
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut backoff = Backoff::new(max_backoff);
    loop {
        let wait = match poll(&skriva, &mut outbox).await {
            Ok(delivered) => {
                backoff.reset();
                if delivered > 0 {
                    tracing::info!(delivered, "signed notes delivered");
                } else {
                    tracing::debug!("no new signed notes");
                }
                if args.once {
                    return Ok(());
                }
                interval
            }
            Err(PollError::Server(CallError::Unavailable(why))) => {
                let failures = backoff.failures + 1;
                if args.once && args.attempts > 0 && failures >= args.attempts {
                    anyhow::bail!("the server stayed unavailable for {failures} attempts: {why}");
                }
                let delay = backoff.next_delay();
                tracing::warn!(%why, retry_in_s = delay.as_secs_f64(), "server unavailable; retrying");
                delay
            }
            Err(PollError::Server(e)) => return Err(e.into()),
            Err(PollError::Local(e)) => return Err(e),
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => {
                tracing::info!("stopping");
                return Ok(());
            }
        }
    }
}

#[derive(Debug)]
enum PollError {
    Server(CallError),
    Local(anyhow::Error),
}

impl From<CallError> for PollError {
    fn from(e: CallError) -> Self {
        PollError::Server(e)
    }
}

impl From<anyhow::Error> for PollError {
    fn from(e: anyhow::Error) -> Self {
        PollError::Local(e)
    }
}

/// One poll: lists what was signed since the position, and delivers each new note, oldest first,
/// saving the position after each. Returns how many notes were delivered.
async fn poll(skriva: &Skriva, outbox: &mut Outbox) -> Result<usize, PollError> {
    let listed = skriva
        .signed_since(outbox.position().since.as_deref())
        .await?;
    let new = outbox::undelivered(outbox.position(), listed);
    let mut delivered = 0;
    for note in new {
        if outbox.has(&note.id)? {
            // Written just before a crash that came before the position was saved.
            outbox.remember(&note)?;
            continue;
        }
        deliver(skriva, outbox, &note).await?;
        delivered += 1;
    }
    Ok(delivered)
}

async fn deliver(skriva: &Skriva, outbox: &mut Outbox, note: &SignedNote) -> Result<(), PollError> {
    let fhir = skriva.export(&note.id, "fhir").await?;
    check_document(&note.id, &fhir)?;
    let text = skriva.export(&note.id, "text").await?;
    outbox.deliver(note, &fhir, &text)?;
    tracing::info!(draft = %note.id, updated_at = %note.updated_at, "delivered");
    Ok(())
}

/// The export must be a FHIR document for this note before it goes into the outbox.
fn check_document(id: &str, body: &[u8]) -> Result<(), CallError> {
    let bundle: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| CallError::Protocol(format!("the FHIR export of `{id}` is not JSON: {e}")))?;
    let composition = &bundle["entry"][0]["resource"];
    if bundle["resourceType"] != "Bundle"
        || bundle["type"] != "document"
        || composition["resourceType"] != "Composition"
        || composition["identifier"]["value"] != id
    {
        return Err(CallError::Protocol(format!(
            "the FHIR export of `{id}` is not a document Bundle of that note"
        )));
    }
    Ok(())
}

/// Exponential backoff from half a second up to a cap.
#[derive(Debug)]
struct Backoff {
    failures: u32,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self { failures: 0, max }
    }

    fn reset(&mut self) {
        self.failures = 0;
    }

    fn next_delay(&mut self) -> Duration {
        let delay = Duration::from_millis(500)
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.max);
        self.failures += 1;
        delay
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(3));
        let delays: Vec<u128> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![500, 1000, 2000, 3000, 3000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(500));
    }
}
