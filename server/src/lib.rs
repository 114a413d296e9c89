//! Skriva's service: sessions, WebSocket streaming, drafts and their lifecycle, storage, auth and
//! the audit log. It sits on top of `skriva-engine` and `skriva-vocab` and is the only crate that
//! speaks HTTP or SQL. The CLI's `skriva serve` calls [`serve`]; tests call [`serve_with_listener`].

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod fhir;
pub mod metrics;
pub mod notes;
pub mod store;
pub mod stream;
pub mod templates;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use skriva_engine::model::ModelStore;
use skriva_engine::recognize::{Recognizer, RecognizerConfig};
use tokio::sync::Semaphore;

pub use audit::{verify_audit_chain, VerifyReport};
pub use auth::{create_user, Role, User};
pub use config::{Limits, ModelConfig, Retention, ServerConfig, StreamingConfig};
pub use error::{Error, Result};
pub use store::Store;

/// Everything the handlers share: configuration, database, model and live sessions.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ServerConfig,
    store: Arc<Store>,
    notes: notes::Notes,
    recognizer: OnceLock<Arc<Recognizer>>,
    model_error: Mutex<Option<String>>,
    decode_permits: Arc<Semaphore>,
    sessions: stream::Registry,
    streams_per_user: Mutex<HashMap<i64, usize>>,
}

impl AppState {
    /// Opens the data directory and database; the model is loaded separately
    /// ([`AppState::load_model`] or [`AppState::set_recognizer`]).
    pub fn open(config: ServerConfig) -> Result<Self> {
        for dir in [
            config.data_dir.clone(),
            config.audio_dir(),
            config.data_dir.join("tmp"),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let store = Arc::new(Store::open(&config.database_path())?);
        let notes = notes::Notes::open(config.vocab_dir.as_deref(), &config.default_template)?;
        let permits = config.limits.max_concurrent_decodes.max(1);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                notes,
                recognizer: OnceLock::new(),
                model_error: Mutex::new(None),
                decode_permits: Arc::new(Semaphore::new(permits)),
                sessions: stream::Registry::default(),
                streams_per_user: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The vocabulary and templates drafts are structured with.
    pub fn notes(&self) -> &notes::Notes {
        &self.inner.notes
    }

    /// Installs an already loaded model (tests share one across servers).
    pub fn set_recognizer(&self, recognizer: Arc<Recognizer>) {
        let _ = self.inner.recognizer.set(recognizer);
    }

    /// Loads the configured model (blocking; seconds). `/readyz` turns ready when it is done.
    pub fn load_model(&self) -> Result<()> {
        match load_recognizer(&self.inner.config.model) {
            Ok(recognizer) => {
                self.set_recognizer(Arc::new(recognizer));
                Ok(())
            }
            Err(e) => {
                if let Ok(mut slot) = self.inner.model_error.lock() {
                    *slot = Some(e.to_string());
                }
                Err(e)
            }
        }
    }

    /// The model, or 503 while it loads.
    pub fn recognizer(&self) -> Result<Arc<Recognizer>> {
        if let Some(r) = self.inner.recognizer.get() {
            return Ok(r.clone());
        }
        let why = self
            .inner
            .model_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .map_or_else(
                || "the model is still loading".to_string(),
                |e| format!("the model failed to load: {e}"),
            );
        Err(Error::NotReady(why))
    }

    /// Runs a database call on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// The fair (first come, first served) limit on concurrent decodes.
    pub(crate) fn decode_permits(&self) -> &Arc<Semaphore> {
        &self.inner.decode_permits
    }

    pub(crate) fn sessions(&self) -> &stream::Registry {
        &self.inner.sessions
    }

    /// Counts a stream against its user's limit; `None` when the limit is reached.
    pub(crate) fn open_stream_slot(&self, user_id: i64) -> Option<StreamSlot> {
        let mut open = self.inner.streams_per_user.lock().ok()?;
        let n = open.entry(user_id).or_default();
        if *n >= self.inner.config.limits.max_streams_per_user {
            return None;
        }
        *n += 1;
        metrics::global().stream_opened();
        Some(StreamSlot {
            state: self.clone(),
            user_id,
        })
    }
}

/// One open stream counted against its user; released on drop.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    state: AppState,
    user_id: i64,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.state.inner.streams_per_user.lock() {
            if let Some(n) = open.get_mut(&self.user_id) {
                *n = n.saturating_sub(1);
            }
        }
        metrics::global().stream_closed();
    }
}

/// Loads the recognizer `config` names, defaulting to the verified models of the model store.
pub fn load_recognizer(config: &ModelConfig) -> Result<Recognizer> {
    let models = ModelStore::default_location();
    let model = match &config.model {
        Some(path) => path.clone(),
        None => models.verified_default_model()?,
    };
    let vad_model = match &config.vad_model {
        Some(path) => Some(path.clone()),
        None => Some(models.verified_vad_model()?),
    };
    Ok(Recognizer::load(&RecognizerConfig {
        model,
        vad_model,
        device: config.device,
        threads: config.threads,
    })?)
}

/// The HTTP router with every endpoint (see `docs/protocol.md`).
pub fn router(state: AppState) -> axum::Router {
    api::routes(&state)
        .merge(stream::routes())
        .merge(templates::routes())
        .with_state(state)
}

/// Serves `state` on an already bound listener until the listener fails. Tests bind
/// `127.0.0.1:0` and pass the listener here.
pub async fn serve_with_listener(listener: tokio::net::TcpListener, state: AppState) -> Result<()> {
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the listener's address", e))?;
    tracing::info!(%addr, data_dir = %state.config().data_dir.display(), "skriva server listening");
    axum::serve(listener, router(state))
        .await
        .map_err(|e| Error::io("serving HTTP", e))
}

/// Opens the data directory, binds `config.addr`, loads the model in the background (`/readyz`
/// reports when it is ready) and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: ServerConfig) -> Result<()> {
    serve_with_routes(config, axum::Router::new()).await
}

/// [`serve`], with `extra` routes (the CLI's embedded review page) next to the API's.
pub async fn serve_with_routes(config: ServerConfig, extra: axum::Router) -> Result<()> {
    let state = AppState::open(config)?;
    let listener = tokio::net::TcpListener::bind(state.config().addr)
        .await
        .map_err(|e| Error::io(format!("binding {}", state.config().addr), e))?;
    let loader = state.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = loader.load_model() {
            tracing::error!(error = %e, "model failed to load; /readyz stays unready");
        }
    });
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("reading the listener's address", e))?;
    tracing::info!(%addr, data_dir = %state.config().data_dir.display(), "skriva server listening");
    axum::serve(listener, router(state).merge(extra))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| Error::io("serving HTTP", e))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
