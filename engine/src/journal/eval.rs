//! Scoring structured notes against references, independent of recognition errors (WER):
//! section accuracy (share of reference words under the right heading), term recall and
//! precision, and "nothing invented". Also loads the evaluation set in
//! `corpora/sv-structure/` so tests and benches score the same way.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use skriva_vocab::{TermKind, Vocabulary};

use super::{structure, Mode, Note, NoteMetadata, Section};
use crate::error::{Error, Result};

/// A share: `hits` of `total`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    /// Items that scored.
    pub hits: usize,
    /// Items in all.
    pub total: usize,
}

impl Ratio {
    /// `hits / total`, or 1.0 when there is nothing to score.
    pub fn value(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.hits as f64 / self.total as f64
        }
    }

    /// Adds another ratio's counts (micro-averaging).
    pub fn add(&mut self, other: Ratio) {
        self.hits += other.hits;
        self.total += other.total;
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} % ({}/{})",
            self.value() * 100.0,
            self.hits,
            self.total
        )
    }
}

/// Words of a text for scoring: lowercase, punctuation at word edges removed ("38,5." →
/// "38,5"; "150/94" and "GAD-7" stay whole).
pub fn score_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '%'))
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn heading_key(heading: &str) -> String {
    heading.trim().to_lowercase()
}

/// Share of the reference note's words that `got` has under the same heading (as a bag of
/// words per heading, so wording differences elsewhere do not count twice).
pub fn section_accuracy(expected: &Note, got: &Note) -> Ratio {
    let mut available: HashMap<(String, String), usize> = HashMap::new();
    for section in &got.sections {
        for word in score_words(&section.text) {
            *available
                .entry((heading_key(&section.heading), word))
                .or_default() += 1;
        }
    }
    let mut ratio = Ratio::default();
    for section in &expected.sections {
        for word in score_words(&section.text) {
            ratio.total += 1;
            if let Some(count) = available.get_mut(&(heading_key(&section.heading), word)) {
                if *count > 0 {
                    *count -= 1;
                    ratio.hits += 1;
                }
            }
        }
    }
    ratio
}

fn note_words(note: &Note) -> String {
    let mut all = Vec::new();
    for section in &note.sections {
        all.extend(fact_words(&section.text));
    }
    format!(" {} ", all.join(" "))
}

/// Like [`score_words`], also split at hyphens and at the colon of an inflected
/// abbreviation, so "MADRS-formuläret" has the term "MADRS", "GAD-7" matches "GAD 7" and
/// "EKG:t" has "EKG".
fn fact_words(text: &str) -> Vec<String> {
    score_words(text)
        .iter()
        .flat_map(|w| w.split(['-', ':']).map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Share of `terms` (words or phrases, e.g. "Kåvepenin", "CRP 42", "1 x 3") found in the
/// note's sections, compared word by word ignoring case and edge punctuation.
pub fn term_recall(terms: &[String], got: &Note) -> Ratio {
    let text = note_words(got);
    let mut ratio = Ratio::default();
    for term in terms {
        ratio.total += 1;
        let wanted = format!(" {} ", fact_words(term).join(" "));
        if text.contains(&wanted) {
            ratio.hits += 1;
        }
    }
    ratio
}

/// The terms `term_recall` missed.
pub fn missed_terms(terms: &[String], got: &Note) -> Vec<String> {
    let text = note_words(got);
    terms
        .iter()
        .filter(|t| !text.contains(&format!(" {} ", fact_words(t).join(" "))))
        .cloned()
        .collect()
}

/// Share of the vocabulary terms (drugs, diagnoses, abbreviations) in `got` that the
/// reference note also has.
pub fn term_precision(expected: &Note, got: &Note, vocab: &Vocabulary) -> Ratio {
    let reference = note_words(expected);
    let mut ratio = Ratio::default();
    for section in &got.sections {
        for mention in vocab.find_terms(&section.text) {
            if matches!(
                mention.term.kind,
                TermKind::Drug | TermKind::Diagnosis | TermKind::Abbreviation
            ) {
                ratio.total += 1;
                if reference.contains(&format!(" {} ", fact_words(&mention.text).join(" "))) {
                    ratio.hits += 1;
                }
            }
        }
    }
    ratio
}

/// Facts in `got` that neither the input nor the reference has: numbers, codes and
/// vocabulary terms. Empty means nothing was invented.
pub fn invented(input: &str, expected: &Note, got: &Note, vocab: &Vocabulary) -> Vec<String> {
    let mut supported: std::collections::HashSet<String> = fact_words(input).into_iter().collect();
    supported.extend(fact_words(&note_words(expected)));
    for value in [
        &expected.metadata.patient_name,
        &expected.metadata.personnummer,
    ]
    .into_iter()
    .flatten()
    {
        supported.extend(fact_words(value));
    }
    let mut found = Vec::new();
    let mut check = |word: String| {
        if !supported.contains(&word) && !found.contains(&word) {
            found.push(word);
        }
    };
    for section in &got.sections {
        for word in fact_words(&section.text) {
            if word.chars().any(|c| c.is_ascii_digit()) {
                check(word);
            }
        }
        for mention in vocab.find_terms(&section.text) {
            if matches!(
                mention.term.kind,
                TermKind::Drug | TermKind::Diagnosis | TermKind::Abbreviation
            ) {
                for word in fact_words(&mention.text) {
                    check(word);
                }
            }
        }
    }
    for value in [&got.metadata.patient_name, &got.metadata.personnummer]
        .into_iter()
        .flatten()
    {
        for word in fact_words(value) {
            check(word);
        }
    }
    found
}

/// One case of the evaluation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalCase {
    /// Identifier (file name without extension).
    pub id: String,
    /// What the case exercises.
    #[serde(default)]
    pub description: String,
    /// Dictation or ambient.
    pub mode: Mode,
    /// Template id.
    pub template: String,
    /// The perfect transcript: what was said, spoken commands and numbers as words.
    pub spoken: String,
    /// Clinical terms the note must contain.
    #[serde(default)]
    pub terms: Vec<String>,
    /// ICD-10-SE codes a reviewer would expect suggested.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Expected metadata.
    #[serde(default)]
    pub metadata: NoteMetadata,
    /// Expected sections.
    #[serde(default)]
    pub sections: Vec<Section>,
}

impl EvalCase {
    /// The reference note.
    pub fn expected(&self) -> Note {
        Note {
            metadata: self.metadata.clone(),
            sections: self.sections.clone(),
            ..Note::default()
        }
    }
}

/// Loads every `*.toml` case in `dir` (sorted by file name).
pub fn load_eval_set(dir: impl AsRef<Path>) -> Result<Vec<EvalCase>> {
    let dir = dir.as_ref();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            toml::from_str(&text).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// Scores of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// Case id.
    pub id: String,
    /// Words under the right heading.
    pub section_accuracy: Ratio,
    /// Listed terms found.
    pub term_recall: Ratio,
    /// Vocabulary terms in the output that the reference has.
    pub term_precision: Ratio,
    /// Listed codes among the suggestions.
    pub code_recall: Ratio,
    /// Facts in the output found in neither input nor reference.
    pub invented: Vec<String>,
    /// Terms missed.
    pub missed_terms: Vec<String>,
    /// Whether metadata (name, personnummer) matched where the reference has it.
    pub metadata_ok: bool,
    /// The note produced.
    pub note: Note,
}

/// Aggregate scores over a set (micro-averaged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Per-case reports.
    pub cases: Vec<CaseReport>,
    /// Words under the right heading, all cases.
    pub section_accuracy: Ratio,
    /// Terms found, all cases.
    pub term_recall: Ratio,
    /// Term precision, all cases.
    pub term_precision: Ratio,
    /// Expected codes suggested, all cases.
    pub code_recall: Ratio,
    /// Cases with anything invented.
    pub cases_with_inventions: usize,
}

/// Structures one case's transcript and scores it.
pub fn evaluate_case(case: &EvalCase, vocab: &Vocabulary) -> Result<CaseReport> {
    let template = vocab.template(&case.template)?;
    let note = structure(&case.spoken, case.mode, template, vocab)?;
    let expected = case.expected();
    let suggested: Vec<&str> = note
        .suggested_codes
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    let code_recall = Ratio {
        hits: case
            .codes
            .iter()
            .filter(|c| suggested.contains(&c.as_str()))
            .count(),
        total: case.codes.len(),
    };
    let metadata_ok = [
        (&case.metadata.patient_name, &note.metadata.patient_name),
        (&case.metadata.personnummer, &note.metadata.personnummer),
    ]
    .iter()
    .all(|(want, got)| want.is_none() || want == got);
    Ok(CaseReport {
        id: case.id.clone(),
        section_accuracy: section_accuracy(&expected, &note),
        term_recall: term_recall(&case.terms, &note),
        term_precision: term_precision(&expected, &note, vocab),
        code_recall,
        invented: invented(&case.spoken, &expected, &note, vocab),
        missed_terms: missed_terms(&case.terms, &note),
        metadata_ok,
        note,
    })
}

/// Scores a whole set.
pub fn evaluate(cases: &[EvalCase], vocab: &Vocabulary) -> Result<Report> {
    let mut report = Report::default();
    for case in cases {
        let scored = evaluate_case(case, vocab)?;
        report.section_accuracy.add(scored.section_accuracy);
        report.term_recall.add(scored.term_recall);
        report.term_precision.add(scored.term_precision);
        report.code_recall.add(scored.code_recall);
        report.cases_with_inventions += usize::from(!scored.invented.is_empty());
        report.cases.push(scored);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(sections: &[(&str, &str)]) -> Note {
        Note {
            sections: sections
                .iter()
                .map(|(h, t)| Section {
                    heading: (*h).into(),
                    text: (*t).into(),
                    spans: Vec::new(),
                })
                .collect(),
            ..Note::default()
        }
    }

    #[test]
    fn section_accuracy_counts_words_under_the_right_heading() {
        let expected = note(&[
            ("Status", "AT gott. Temp 38,5."),
            ("Bedömning", "Tonsillit."),
        ]);
        let got = note(&[
            ("Status", "AT gott."),
            ("Aktuellt", "Temp 38,5."),
            ("Bedömning", "tonsillit"),
        ]);
        assert_eq!(
            section_accuracy(&expected, &got),
            Ratio { hits: 3, total: 5 }
        );
        assert_eq!(
            term_recall(&["temp 38,5".into(), "CRP".into()], &got),
            Ratio { hits: 1, total: 2 }
        );
        // An abbreviation inflected with a colon is the abbreviation.
        let got = note(&[("Status", "EKG:t var normalt.")]);
        assert_eq!(
            term_recall(&["EKG".into()], &got),
            Ratio { hits: 1, total: 1 }
        );
    }
}
