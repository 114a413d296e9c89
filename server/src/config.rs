//! The server's configuration: where it listens and keeps its data, which model it loads, the
//! limits it enforces and how long it keeps audio. Every field has a sensible default, so the CLI
//! only sets what the operator overrides.

use std::net::SocketAddr;
use std::path::PathBuf;

use skriva_engine::recognize::Device;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:8714`).
    pub addr: SocketAddr,
    /// Directory holding the SQLite database and the sessions' audio.
    pub data_dir: PathBuf,
    /// Base URL clients reach the server at, used to build `ws_url`s (default: from `addr`).
    pub public_url: Option<String>,
    pub model: ModelConfig,
    pub limits: Limits,
    pub retention: Retention,
    pub streaming: StreamingConfig,
    /// Vocabulary data directory (a clinic's `templates.toml`, imported code lists, the index);
    /// `None` uses the shipped vocabulary alone.
    pub vocab_dir: Option<PathBuf>,
    /// Template of sessions and uploads that name none (or name `standard`).
    pub default_template: String,
}

impl ServerConfig {
    /// Defaults with data kept in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8714)),
            data_dir: data_dir.into(),
            public_url: None,
            model: ModelConfig::default(),
            limits: Limits::default(),
            retention: Retention::default(),
            streaming: StreamingConfig::default(),
            vocab_dir: None,
            default_template: crate::notes::DEFAULT_TEMPLATE.to_string(),
        }
    }

    /// `$SKRIVA_HOME/server`.
    pub fn default_data_dir() -> PathBuf {
        skriva_engine::model::skriva_home().join("server")
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("skriva.sqlite3")
    }

    /// The directory of the sessions' audio files.
    pub fn audio_dir(&self) -> PathBuf {
        self.data_dir.join("audio")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new(Self::default_data_dir())
    }
}

/// Which model to load. `None` paths mean the verified defaults of the model store
/// (`skriva model fetch`).
#[derive(Debug, Clone, Default)]
pub struct ModelConfig {
    pub model: Option<PathBuf>,
    pub vad_model: Option<PathBuf>,
    pub device: Device,
    /// Decoder threads per decode; 0 = all cores.
    pub threads: usize,
}

/// Limits enforced on every request and stream.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest binary audio frame (header included), in bytes.
    pub max_frame_bytes: usize,
    /// Longest audio a session may accumulate, in seconds.
    pub max_session_s: f64,
    /// Largest file accepted by the upload endpoints, in bytes.
    pub max_upload_bytes: usize,
    /// WebSocket streams one user may have open at once.
    pub max_streams_per_user: usize,
    /// Decodes running at once across all streams and uploads. Each uses `threads` cores, so
    /// with `threads = 0` (all cores) more than one only adds contention.
    pub max_concurrent_decodes: usize,
    /// Largest page `GET /api/drafts` returns.
    pub max_page_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 256 * 1024,
            max_session_s: 2.0 * 3600.0,
            max_upload_bytes: 200 * 1024 * 1024,
            max_streams_per_user: 4,
            max_concurrent_decodes: 1,
            max_page_size: 200,
        }
    }
}

/// How long patient audio is kept.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    /// Keep a session's audio after its draft is signed (default: delete it at signing).
    pub keep_audio_after_sign: bool,
}

/// Tunables of live recognition.
#[derive(Debug, Clone)]
pub struct StreamingConfig {
    /// Silence after speech that ends an utterance and makes it final.
    pub end_silence_ms: u32,
    /// How much new audio triggers the next decode (endpoint check and partial).
    pub redecode_every_ms: u32,
    /// Longest utterance kept open before it is cut and made final, in seconds.
    pub max_buffer_s: f32,
    /// Re-decode the open utterance for `partial`/`stable` events (LocalAgreement-2). Each
    /// costs a decode; on slow CPUs turn it off and rely on finals.
    pub partials: bool,
    /// Undecoded audio beyond which the client is told to slow down, in seconds.
    pub backpressure_after_s: f32,
    /// Decoding options (language, prompt, beam).
    pub decode: skriva_engine::recognize::DecodeOptions,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        // The engine's live-stream defaults are the one source of these numbers.
        let live = skriva_engine::stream::StreamConfig::default();
        Self {
            end_silence_ms: live.end_silence_ms,
            redecode_every_ms: live.redecode_every_ms,
            max_buffer_s: live.max_buffer_s,
            partials: true,
            backpressure_after_s: 10.0,
            decode: live.decode,
        }
    }
}
