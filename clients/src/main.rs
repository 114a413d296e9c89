//! `skriva`: the command line over Skriva's library crates. Each subcommand is a thin layer
//! that parses arguments, calls the engine (or server), and prints results.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod web;

/// Swedish clinical speech to journal text, on your own hardware.
#[derive(Debug, Parser)]
#[command(name = "skriva", version, about)]
struct Cli {
    /// Log verbosity (error, warn, info, debug, trace); also SKRIVA_LOG.
    #[arg(long, global = true, env = "SKRIVA_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Transcribe audio files (wav, flac, mp3, ogg/vorbis, m4a/aac).
    Transcribe(cmd::transcribe::Args),
    /// Structure a raw transcript into a journal note.
    Structure(cmd::structure::Args),
    /// Provision and convert models.
    #[command(subcommand)]
    Model(cmd::model::ModelCommand),
    /// Dictate live to a Skriva server (microphone, or a file with --file).
    Dictate(cmd::dictate::Args),
    /// Run the dictation service (REST + WebSocket) on this machine.
    Serve(cmd::serve::ServeArgs),
    /// Manage the service's users.
    #[command(subcommand)]
    User(cmd::serve::UserCommand),
    /// Check the service's audit log.
    #[command(subcommand)]
    Audit(cmd::serve::AuditCommand),
    /// Manage the clinical vocabulary.
    #[command(subcommand)]
    Vocab(cmd::vocab::VocabCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(format!("{},whisper_rs=error", cli.log))
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::Transcribe(args) => cmd::transcribe::run(args),
        Command::Structure(args) => cmd::structure::run(args),
        Command::Model(command) => cmd::model::run(command),
        Command::Vocab(command) => cmd::vocab::run(command),
        Command::Dictate(args) => cmd::dictate::run(args),
        Command::Serve(args) => cmd::serve::serve(args),
        Command::User(command) => cmd::serve::user(command),
        Command::Audit(command) => cmd::serve::audit(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error and its causes on one line.
fn eprintln_error(e: &anyhow::Error) {
    use std::io::Write;
    let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
    let _ = writeln!(std::io::stderr(), "skriva: {}", chain.join(": "));
}
