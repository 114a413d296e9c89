//! The vocabulary's data model and its source files: headings, templates, abbreviations,
//! units, diagnoses and drugs, parsed from the TOML shipped in `vocab/data/` and from a
//! clinic's own files.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A journal heading (sökord) with the ways a clinician says it and the cues that place an
/// unlabelled sentence under it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heading {
    /// Canonical heading as written in the note, e.g. "Psykiskt status".
    pub name: String,
    /// Spoken forms (lowercase), e.g. "psykstatus".
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Whether the bare heading word may open a section at the start of a sentence.
    #[serde(default)]
    pub bare: bool,
    /// Aliases besides the name that may also open a section bare ("psykstatus").
    #[serde(default)]
    pub bare_aliases: Vec<String>,
    /// Headings to use instead, in order, when a template lacks this one.
    #[serde(default)]
    pub fallback: Vec<String>,
    /// Words or phrases signalling that a sentence belongs here ("ord*" = prefix).
    #[serde(default)]
    pub cues: Vec<String>,
    /// Like `cues`, weighing three times as much.
    #[serde(default)]
    pub strong_cues: Vec<String>,
    /// Whether a sentence without cues stays here when the previous one was here.
    #[serde(default = "yes")]
    pub sticky: bool,
    /// How the recognizer writes the heading when it mishears it ("och järd" for Åtgärd),
    /// lowercase; taken only right before a dictated colon.
    #[serde(default)]
    pub heard: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Heading {
    /// Whether `alias`, said alone at the start of a sentence with no colon after it, opens
    /// this heading's section: only for `bare` headings, and only their name or a listed
    /// bare alias (a plain alias like "kontroll" is too often an ordinary sentence start).
    pub fn opens_bare(&self, alias: &str) -> bool {
        let alias = alias.to_lowercase();
        self.bare
            && (alias == self.name.to_lowercase()
                || self.bare_aliases.iter().any(|a| a.to_lowercase() == alias))
    }
}

/// Which headings a note of one kind of visit has, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Identifier, e.g. `primarvard-lakarbesok`.
    pub id: String,
    /// Swedish title, e.g. "Läkarbesök på vårdcentral".
    pub title: String,
    /// Care area, selecting the most relevant terms.
    #[serde(default)]
    pub area: Area,
    /// Canonical heading names, in note order.
    pub headings: Vec<String>,
}

impl Template {
    /// Position of a heading in this template (case-insensitive), if it has it.
    pub fn position(&self, heading: &str) -> Option<usize> {
        self.headings
            .iter()
            .position(|h| h.to_lowercase() == heading.to_lowercase())
    }
}

/// Care area of a template or a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    /// Primary care (primärvård).
    Primarvard,
    /// Psychiatry (psykiatri).
    Psykiatri,
    /// Both.
    #[default]
    Bada,
}

impl Area {
    /// Whether a term of this area is relevant in a template of area `other`.
    pub fn fits(self, other: Area) -> bool {
        self == Area::Bada || other == Area::Bada || self == other
    }
}

/// A journal abbreviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Abbreviation {
    /// As written in a note; its case is normative ("Hb", "CRP", "ua").
    pub short: String,
    /// What it stands for.
    pub expansion: String,
    /// Spelled-out or letter-name spoken forms ("se er pe").
    #[serde(default)]
    pub spoken: Vec<String>,
    /// A measurement label followed by a value.
    #[serde(default)]
    pub value: bool,
}

/// What a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    /// Drug doses (mg, mikrogram).
    Dose,
    /// Laboratory values (mmol/l).
    Lab,
    /// Vital signs (mmHg, slag/min).
    Vital,
    /// Body size (kg, cm).
    Size,
    /// Time.
    Time,
    /// Rating-scale scores.
    Score,
    /// Anything else (%).
    Other,
}

/// A unit as written after a number, and how it is said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Written form ("mg", "%", "mikrogram").
    pub written: String,
    /// Spoken forms (lowercase, possibly several words).
    pub spoken: Vec<String>,
    /// What it measures.
    pub kind: UnitKind,
}

/// A diagnosis with its ICD-10-SE code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// ICD-10-SE code, e.g. "J03.9", "F90.0B".
    pub code: String,
    /// Swedish title.
    pub title: String,
    /// Spoken or written forms (lowercase).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Care area.
    #[serde(default)]
    pub area: Area,
}

/// A drug substance with its ATC code and brand names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drug {
    /// Substance (Swedish INN, lowercase), e.g. "sertralin".
    pub substance: String,
    /// ATC code, e.g. "N06AB06".
    pub atc: String,
    /// Brand names as written, e.g. "Zoloft".
    #[serde(default)]
    pub brands: Vec<String>,
    /// Care area.
    #[serde(default)]
    pub area: Area,
}

/// A word of clinical prose (a symptom, finding, body part, measurement or care action) as
/// written in a note, for correcting the recognizer's spellings of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicalWord {
    /// The word as written, lowercase ("beläggningar").
    pub word: String,
    /// Its group in `clinical_words.toml` ("findings", "anatomy" …).
    pub group: String,
}

/// File shape of `clinical_words.toml`: named groups, each a list of words.
#[derive(Debug, Deserialize)]
struct ClinicalWordFile {
    #[serde(flatten)]
    groups: std::collections::BTreeMap<String, ClinicalWordGroup>,
}

#[derive(Debug, Deserialize)]
struct ClinicalWordGroup {
    words: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct HeadingFile {
    heading: Vec<Heading>,
}

#[derive(Debug, Deserialize)]
struct TemplateFile {
    template: Vec<Template>,
}

#[derive(Debug, Deserialize)]
struct AbbreviationFile {
    abbreviation: Vec<Abbreviation>,
}

#[derive(Debug, Deserialize)]
struct UnitFile {
    unit: Vec<Unit>,
    #[serde(default)]
    labels: Vec<String>,
}

/// File shape of `diagnoses.toml` and of stored ICD-10-SE imports.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct DiagnosisFile {
    #[serde(default)]
    pub(crate) diagnosis: Vec<Diagnosis>,
}

/// File shape of `drugs.toml` and of stored NPL imports.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct DrugFile {
    #[serde(default)]
    pub(crate) drug: Vec<Drug>,
}

/// One named source text (a file's contents) and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct SourceText {
    pub(crate) origin: String,
    pub(crate) text: String,
}

/// The shipped sources, compiled into the crate so text-only use needs no files.
pub(crate) fn shipped_sources() -> [SourceText; 7] {
    let source = |origin: &str, text: &str| SourceText {
        origin: format!("vocab/data/{origin}"),
        text: text.to_owned(),
    };
    [
        source("headings.toml", include_str!("../data/headings.toml")),
        source("templates.toml", include_str!("../data/templates.toml")),
        source(
            "abbreviations.toml",
            include_str!("../data/abbreviations.toml"),
        ),
        source("units.toml", include_str!("../data/units.toml")),
        source("diagnoses.toml", include_str!("../data/diagnoses.toml")),
        source("drugs.toml", include_str!("../data/drugs.toml")),
        source(
            "clinical_words.toml",
            include_str!("../data/clinical_words.toml"),
        ),
    ]
}

fn parse<T: serde::de::DeserializeOwned>(source: &SourceText) -> Result<T> {
    toml::from_str(&source.text).map_err(|e| Error::Parse {
        origin: source.origin.clone(),
        message: e.to_string(),
    })
}

/// All vocabulary data, before indexing.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Journal headings.
    pub headings: Vec<Heading>,
    /// Note templates.
    pub templates: Vec<Template>,
    /// Abbreviations.
    pub abbreviations: Vec<Abbreviation>,
    /// Units.
    pub units: Vec<Unit>,
    /// Measurement words after which a number is written in digits ("puls", "vikt").
    pub labels: Vec<String>,
    /// Diagnoses (curated first, then imported).
    pub diagnoses: Vec<Diagnosis>,
    /// Drugs (curated first, then imported).
    pub drugs: Vec<Drug>,
    /// Words of clinical prose, for spelling correction.
    pub clinical_words: Vec<ClinicalWord>,
}

impl Sources {
    /// Parses the shipped sources.
    pub(crate) fn shipped() -> Result<Self> {
        let [headings, templates, abbreviations, units, diagnoses, drugs, clinical_words] =
            shipped_sources();
        let unit_file = parse::<UnitFile>(&units)?;
        Ok(Sources {
            headings: parse::<HeadingFile>(&headings)?.heading,
            templates: parse::<TemplateFile>(&templates)?.template,
            abbreviations: parse::<AbbreviationFile>(&abbreviations)?.abbreviation,
            units: unit_file.unit,
            labels: unit_file.labels,
            diagnoses: parse::<DiagnosisFile>(&diagnoses)?.diagnosis,
            drugs: parse::<DrugFile>(&drugs)?.drug,
            clinical_words: parse::<ClinicalWordFile>(&clinical_words)?
                .groups
                .into_iter()
                .flat_map(|(group, words)| {
                    words.words.into_iter().map(move |word| ClinicalWord {
                        word,
                        group: group.clone(),
                    })
                })
                .collect(),
        })
    }

    /// Adds or replaces templates from a clinic's TOML text (same shape as the shipped
    /// `templates.toml`); a template with a known id replaces the shipped one.
    pub(crate) fn merge_templates(&mut self, source: &SourceText) -> Result<()> {
        for template in parse::<TemplateFile>(source)?.template {
            match self.templates.iter_mut().find(|t| t.id == template.id) {
                Some(existing) => *existing = template,
                None => self.templates.push(template),
            }
        }
        Ok(())
    }

    /// Adds imported diagnoses: a code already curated keeps its aliases and takes the
    /// official title; new codes are appended.
    pub(crate) fn merge_diagnoses(&mut self, source: &SourceText) -> Result<()> {
        self.add_diagnoses(parse::<DiagnosisFile>(source)?.diagnosis);
        Ok(())
    }

    pub(crate) fn add_diagnoses(&mut self, imported: Vec<Diagnosis>) {
        let mut known: std::collections::HashMap<String, usize> = self
            .diagnoses
            .iter()
            .enumerate()
            .map(|(i, d)| (d.code.clone(), i))
            .collect();
        for diagnosis in imported {
            match known.get(&diagnosis.code) {
                Some(&i) => self.diagnoses[i].title = diagnosis.title,
                None => {
                    known.insert(diagnosis.code.clone(), self.diagnoses.len());
                    self.diagnoses.push(diagnosis);
                }
            }
        }
    }

    /// Adds imported drugs: brand names new to a known ATC code join it, other entries
    /// are appended.
    pub(crate) fn merge_drugs(&mut self, source: &SourceText) -> Result<()> {
        self.add_drugs(parse::<DrugFile>(source)?.drug);
        Ok(())
    }

    pub(crate) fn add_drugs(&mut self, imported: Vec<Drug>) {
        for drug in imported {
            let existing = self.drugs.iter_mut().find(|d| {
                d.atc == drug.atc && (d.substance == drug.substance || drug.substance.is_empty())
            });
            match existing {
                Some(known) => {
                    for brand in drug.brands {
                        if !known.brands.iter().any(|b| b.eq_ignore_ascii_case(&brand)) {
                            known.brands.push(brand);
                        }
                    }
                }
                None => self.drugs.push(drug),
            }
        }
    }
}
