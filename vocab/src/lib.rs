//! Skriva's clinical vocabulary: journal headings, diagnoses, drugs, abbreviations and units, and
//! the index that the engine queries for recognition biasing, term correction and section cues.
//!
//! This crate knows nothing of audio or of the recognizer. The curated sources live in
//! `vocab/data/*.toml` (each with its source and licence in its header) and are compiled in;
//! a clinic adds templates and imported official code lists in a data directory.
//!
//! ```
//! use skriva_vocab::{TermKind, Vocabulary};
//!
//! let vocab = Vocabulary::builtin()?;
//! // Spoken heading aliases resolve to canonical headings.
//! assert_eq!(vocab.resolve_heading("psykstatus").map(|h| h.name.as_str()), Some("Psykiskt status"));
//! // A misheard drug name finds the drug by sound.
//! let best = &vocab.lookup("Atarrax", 3)?[0];
//! assert_eq!((best.term.form.as_str(), best.term.code.as_deref()), ("Atarax", Some("N05BB01")));
//! // Diagnoses are found in running text, inflected forms included.
//! let found = vocab.find_terms("Bedömning: hypertonin är välbehandlad.");
//! assert_eq!(found[0].term.kind, TermKind::Diagnosis);
//! assert_eq!(found[0].term.code.as_deref(), Some("I10.9"));
//! // Templates list the headings of a kind of visit.
//! let template = vocab.template("psykiatri-aterbesok")?;
//! assert!(template.headings.iter().any(|h| h == "Suicidriskbedömning"));
//! # Ok::<(), skriva_vocab::Error>(())
//! ```

pub mod error;
pub mod import;
mod index;
pub mod model;
pub mod phonetic;
pub mod vocabulary;

pub use error::{Error, Result};
pub use import::{import_icd10se, import_npl, store_imported_diagnoses, store_imported_drugs};
pub use model::{
    Abbreviation, Area, ClinicalWord, Diagnosis, Drug, Heading, Sources, Template, Unit, UnitKind,
};
pub use phonetic::{edit_distance, loose_phonetic_key, phonetic_key, similarity};
pub use vocabulary::{
    normalize, stem, stem_all, without_glued_one, HeadingMatch, MatchMethod, Term, TermKind,
    TermMatch, TermMention, Vocabulary,
};
