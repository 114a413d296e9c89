//! A thin binary over [`skriva_server::serve`] for the crash-recovery test (it is SIGKILLed
//! mid-dictation) until the CLI's `skriva serve` is wired. Usage:
//! `skriva-server [--addr HOST:PORT] [--data-dir DIR] [--threads N] [--no-partials]`; logs go to
//! stderr (`RUST_LOG`).

use std::process::ExitCode;

use skriva_server::ServerConfig;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = ServerConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--no-partials" {
            config.streaming.partials = false;
            continue;
        }
        let value = args.next();
        match (arg.as_str(), value) {
            ("--addr", Some(v)) => match v.parse() {
                Ok(addr) => config.addr = addr,
                Err(e) => return usage(&format!("--addr {v}: {e}")),
            },
            ("--data-dir", Some(v)) => config.data_dir = v.into(),
            ("--threads", Some(v)) => match v.parse() {
                Ok(n) => config.model.threads = n,
                Err(e) => return usage(&format!("--threads {v}: {e}")),
            },
            (other, _) => return usage(&format!("unexpected argument `{other}`")),
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(skriva_server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    tracing::error!("{problem}; usage: skriva-server [--addr HOST:PORT] [--data-dir DIR] [--threads N] [--no-partials]");
    ExitCode::from(2)
}
