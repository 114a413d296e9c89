//! Whisper models: where they live ([`store`]), how the default one is provisioned
//! ([`fetch`]), and the conversions from the formats the weights ship in (CTranslate2, safetensors)
//! to ggml, the format whisper.cpp loads.

pub mod fetch;
pub mod store;

pub use fetch::{fetch_default, FetchReport};
pub use store::{skriva_home, ModelStore, DEFAULT_MODEL_FILE, VAD_MODEL_FILE};

pub mod silero;
pub use silero::{convert_silero_safetensors, SileroReport};

pub mod convert;
pub mod ct2;
pub mod ggml;
pub mod mel;
pub mod tokens;
pub use convert::{convert_ct2_dir, ConversionReport, GgmlType};
