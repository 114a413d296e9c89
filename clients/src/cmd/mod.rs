//! One module per subcommand.

pub mod dictate;
pub mod model;
pub mod serve;
pub mod structure;
pub mod transcribe;
pub mod vocab;

use std::path::PathBuf;

use anyhow::Context;
use skriva_engine::model::ModelStore;
use skriva_engine::recognize::{Device, Recognizer, RecognizerConfig};

/// Model selection shared by every command that recognizes speech.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// A whisper.cpp ggml model (e.g. KBLab's kb-whisper). Default: the provisioned Whisper base.
    #[arg(long, env = "SKRIVA_MODEL")]
    pub model: Option<PathBuf>,
    /// A ggml Silero VAD model. Default: the provisioned one.
    #[arg(long, env = "SKRIVA_VAD_MODEL")]
    pub vad_model: Option<PathBuf>,
    /// Decode everything, without voice-activity gating.
    #[arg(long)]
    pub no_vad: bool,
    /// auto (GPU when built with one), cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub device: Device,
    /// Decoder threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl ModelArgs {
    /// Loads the recognizer, refusing a default model that is missing or corrupt.
    pub fn load(&self) -> anyhow::Result<Recognizer> {
        let store = ModelStore::default_location();
        let model = match &self.model {
            Some(path) => path.clone(),
            None => store.verified_default_model()?,
        };
        let vad_model = if self.no_vad {
            None
        } else if let Some(path) = &self.vad_model {
            Some(path.clone())
        } else {
            match store.verified_vad_model() {
                Ok(path) => Some(path),
                Err(e) => {
                    tracing::warn!("{e}; decoding without voice-activity gating");
                    None
                }
            }
        };
        Recognizer::load(&RecognizerConfig {
            model: model.clone(),
            vad_model,
            device: self.device,
            threads: self.threads,
        })
        .with_context(|| format!("loading {}", model.display()))
    }
}
