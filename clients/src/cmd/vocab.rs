//! `skriva vocab import`: add a region's official code lists (Socialstyrelsen's ICD-10-SE or
//! KSH97-P text file, Läkemedelsverket's NPL export) to the vocabulary in the data dir.
//! `skriva vocab lookup`: the terms a spoken or misspelled form finds, as the corrector sees them.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use skriva_vocab::import;

#[derive(Debug, Subcommand)]
pub enum VocabCommand {
    /// Import official files; the index is rebuilt on next use.
    Import {
        /// ICD-10-SE or KSH97-P text file (expected columns: see the README, "Vocabulary").
        #[arg(long)]
        icd10se: Option<PathBuf>,
        /// NPL product export (tab-separated).
        #[arg(long)]
        npl: Option<PathBuf>,
    },
    /// Look up a spoken or misspelled form: the nearest terms, one JSON object per line.
    Lookup {
        /// The form, e.g. "Atarrax" or "belegningar".
        form: String,
        /// How many terms to show.
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
}

pub fn run(command: VocabCommand) -> anyhow::Result<ExitCode> {
    let dir = skriva_engine::model::skriva_home().join("vocab");
    let mut out = std::io::stdout().lock();
    match command {
        VocabCommand::Import { icd10se, npl } => {
            if icd10se.is_none() && npl.is_none() {
                anyhow::bail!("nothing to import: pass --icd10se FILE and/or --npl FILE");
            }
            if let Some(path) = icd10se {
                let diagnoses = import::import_icd10se(&path)?;
                let stored = import::store_imported_diagnoses(&dir, "icd10se", &diagnoses)?;
                writeln!(
                    out,
                    "imported {} diagnoses into {}",
                    diagnoses.len(),
                    stored.display()
                )?;
            }
            if let Some(path) = npl {
                let drugs = import::import_npl(&path)?;
                let stored = import::store_imported_drugs(&dir, "npl", &drugs)?;
                writeln!(
                    out,
                    "imported {} drugs into {}",
                    drugs.len(),
                    stored.display()
                )?;
            }
            // Open once so the index is rebuilt now rather than on the first dictation.
            super::structure::open_vocabulary()?;
        }
        VocabCommand::Lookup { form, limit } => {
            let vocabulary = super::structure::open_vocabulary()?;
            for found in vocabulary.lookup(&form, limit)? {
                let line = serde_json::json!({
                    "form": found.term.form,
                    "kind": found.term.kind,
                    "title": found.term.title,
                    "code": found.term.code,
                    "score": found.score,
                    "method": found.method,
                });
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
