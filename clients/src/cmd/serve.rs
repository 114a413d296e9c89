//! `skriva serve`, `skriva user add` and `skriva audit verify`: thin wrappers over
//! `skriva-server`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use skriva_server::{create_user, verify_audit_chain, ServerConfig, Store};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8714")]
    addr: SocketAddr,
    /// Data directory (SQLite database, session audio). Default: $SKRIVA_HOME/server.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Base URL clients reach the server at (for `ws_url`s behind a proxy).
    #[arg(long)]
    public_url: Option<String>,
    /// Keep a session's audio after its draft is signed (default: delete it, audited).
    #[arg(long)]
    keep_audio_after_sign: bool,
    /// Do not send `partial` events (each costs a decode; saves CPU on small machines).
    #[arg(long)]
    no_partials: bool,
    #[command(flatten)]
    model: super::ModelArgs,
}

#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// Data directory of the server. Default: $SKRIVA_HOME/server.
    #[arg(long)]
    data: Option<PathBuf>,
}

impl DataArgs {
    fn config(&self) -> ServerConfig {
        match &self.data {
            Some(dir) => ServerConfig::new(dir),
            None => ServerConfig::default(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print its bearer token (shown once; only its hash is stored).
    Add {
        /// Display name.
        name: String,
        /// clinician, secretary or admin.
        #[arg(long)]
        role: String,
        /// HSA id, e.g. SE2321000016-ABC1.
        #[arg(long)]
        hsa_id: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exits non-zero if a row was altered.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = match &args.data {
        Some(dir) => ServerConfig::new(dir),
        None => ServerConfig::default(),
    };
    config.addr = args.addr;
    config.public_url = args.public_url;
    config.retention.keep_audio_after_sign = args.keep_audio_after_sign;
    config.streaming.partials = !args.no_partials;
    config.model.model = args.model.model.clone();
    config.model.vad_model = args.model.vad_model.clone();
    config.model.device = args.model.device;
    config.model.threads = args.model.threads;
    // The same vocabulary `skriva structure` uses: clinic templates and imported code lists.
    config.vocab_dir = Some(skriva_engine::model::skriva_home().join("vocab"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(skriva_server::serve_with_routes(
        config,
        crate::web::routes(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub fn user(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            name,
            role,
            hsa_id,
            data,
        } => {
            let config = data.config();
            std::fs::create_dir_all(&config.data_dir)?;
            let store = Store::open(&config.database_path())?;
            let (user, token) = create_user(&store, &name, role.parse()?, &hsa_id)?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "created {} ({:?}, {})",
                user.name, user.role, user.hsa_id
            )?;
            writeln!(out, "token (shown once): {token}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { data } => {
            let store = Store::open(&data.config().database_path())?;
            let report = verify_audit_chain(&store)?;
            let mut out = std::io::stdout().lock();
            if report.is_intact() {
                writeln!(out, "audit log intact: {} rows", report.rows)?;
                Ok(ExitCode::SUCCESS)
            } else {
                writeln!(out, "audit log BROKEN: {:?}", report.first_broken)?;
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
