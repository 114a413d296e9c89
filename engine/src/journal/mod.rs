//! Structuring formatted text into journal sections following a note template.
//!
//! Dictation: sections follow the headings the clinician said; text before the first heading
//! that names the patient becomes metadata. Without spoken headings, and for ambient
//! recordings, each sentence is placed by its content ([`classify`]). Nothing is invented:
//! every word in a section was said; suggested ICD-10-SE codes are kept apart from the note.

mod classify;
pub mod eval;

use serde::{Deserialize, Serialize};
use skriva_vocab::{Template, TermKind, Vocabulary};

use crate::error::Result;
use crate::text::{self, Break, Correction, FormatOptions, Piece, Sentence, SpokenWord};

/// How the recording was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The clinician dictates, possibly with spoken headings, punctuation and commands.
    Dictation,
    /// The system listened to the consultation (two speakers, no labels).
    Ambient,
}

/// Who and what the note is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoteMetadata {
    /// Patient name, as dictated before the first heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_name: Option<String>,
    /// Personnummer, `YYYYMMDD-NNNN` or `YYMMDD-NNNN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personnummer: Option<String>,
    /// Template id the note follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// How it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// What a highlighted span in a section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// A corrected word; `index` into [`Note::corrections`].
    Correction,
    /// Evidence for a suggested code; `index` into [`Note::suggested_codes`].
    Code,
}

/// A highlighted range of a section's text, for the review page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Start in the section text, in characters.
    pub start_char: usize,
    /// End (exclusive), in characters.
    pub end_char: usize,
    /// What it is.
    pub kind: SpanKind,
    /// Index into the list `kind` names.
    pub index: usize,
}

/// One section of a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Canonical heading.
    pub heading: String,
    /// Written text; dictated line breaks are `\n`, paragraph breaks `\n\n`.
    pub text: String,
    /// Highlights in `text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// An ICD-10-SE code for a diagnosis that was said, offered for review, never written into
/// the note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestedCode {
    /// ICD-10-SE code.
    pub code: String,
    /// Its title.
    pub title: String,
    /// The words in the note it rests on.
    pub evidence: String,
    /// The section holding the evidence.
    pub heading: String,
    /// Start of the evidence in that section's text, in characters.
    pub start_char: usize,
    /// End (exclusive), in characters.
    pub end_char: usize,
}

/// A structured journal note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Patient and recording details.
    #[serde(default)]
    pub metadata: NoteMetadata,
    /// Sections in template order.
    #[serde(default)]
    pub sections: Vec<Section>,
    /// Term corrections made (offsets into the input transcript).
    #[serde(default)]
    pub corrections: Vec<Correction>,
    /// Codes suggested for diagnoses that were said.
    #[serde(default)]
    pub suggested_codes: Vec<SuggestedCode>,
}

impl Note {
    /// The written note: headings each on their own line, followed by the section text,
    /// sections separated by a blank line; the patient first when known.
    pub fn to_text(&self) -> String {
        let mut blocks = Vec::new();
        let patient: Vec<&str> = [&self.metadata.patient_name, &self.metadata.personnummer]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .collect();
        if !patient.is_empty() {
            blocks.push(format!("Patient: {}", patient.join(", ")));
        }
        for section in &self.sections {
            // An unheaded section (a note edited as plain text) is just its text.
            if section.heading.is_empty() {
                blocks.push(section.text.clone());
            } else {
                blocks.push(format!("{}\n{}", section.heading, section.text));
            }
        }
        blocks.join("\n\n")
    }

    /// The section with this heading (case-insensitive).
    pub fn section(&self, heading: &str) -> Option<&Section> {
        let heading = heading.to_lowercase();
        self.sections
            .iter()
            .find(|s| s.heading.to_lowercase() == heading)
    }
}

/// Structures a raw transcript into a note following `template`.
///
/// ```
/// use skriva_engine::journal::{structure, Mode};
/// let vocab = skriva_vocab::Vocabulary::builtin()?;
/// let template = vocab.template("primarvard-lakarbesok")?;
/// let note = structure(
///     "rubrik status blodtryck hundrafemtio över nittiofyra punkt rubrik bedömning hypertoni punkt",
///     Mode::Dictation, template, &vocab)?;
/// assert_eq!(note.to_text(), "Status\nBlodtryck 150/94.\n\nBedömning\nHypertoni.");
/// assert_eq!(note.suggested_codes[0].code, "I10.9");
/// # Ok::<(), skriva_engine::Error>(())
/// ```
pub fn structure(raw: &str, mode: Mode, template: &Template, vocab: &Vocabulary) -> Result<Note> {
    structure_with(raw, mode, template, vocab, format_options(mode))
}

/// [`structure`] with explicit formatting options (e.g. without term correction, to measure
/// what it contributes).
pub fn structure_with(
    raw: &str,
    mode: Mode,
    template: &Template,
    vocab: &Vocabulary,
    options: FormatOptions,
) -> Result<Note> {
    let formatted = text::format(raw, vocab, options)?;
    Ok(assemble(formatted, mode, template, vocab))
}

/// Structures recognized words (with probabilities) into a note; correction offsets refer to
/// [`text::words_text`] of the same words.
pub fn structure_words(
    words: &[SpokenWord],
    mode: Mode,
    template: &Template,
    vocab: &Vocabulary,
) -> Result<Note> {
    structure_words_with(words, mode, template, vocab, format_options(mode))
}

/// [`structure_words`] with explicit formatting options.
pub fn structure_words_with(
    words: &[SpokenWord],
    mode: Mode,
    template: &Template,
    vocab: &Vocabulary,
    options: FormatOptions,
) -> Result<Note> {
    let formatted = text::format_words(words, vocab, options)?;
    Ok(assemble(formatted, mode, template, vocab))
}

/// The formatting options structuring uses for `mode`: spoken headings and commands only in
/// dictation, term correction always.
pub fn format_options(mode: Mode) -> FormatOptions {
    FormatOptions {
        headings: mode == Mode::Dictation,
        commands: mode == Mode::Dictation,
        correct_terms: true,
    }
}

/// A sentence placed under a heading.
struct Placed {
    heading: String,
    /// Template position (fractional for headings outside the template: after the one
    /// before them).
    order: f32,
    sentence: Sentence,
    break_before: Option<Break>,
}

/// Looks for the patient's name and personnummer in a sentence said before the first
/// heading. Returns `None` when the sentence does not name the patient.
fn patient_line(sentence: &str) -> Option<NoteMetadata> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let clean = |w: &str| {
        w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '-'))
            .to_owned()
    };
    let personnummer = words.iter().map(|w| clean(w)).find(|w| {
        let digits: String = w.chars().filter(char::is_ascii_digit).collect();
        (digits.len() == 10 || digits.len() == 12)
            && w.chars().all(|c| c.is_ascii_digit() || c == '-')
    });
    let first = words
        .first()
        .map(|w| clean(w).to_lowercase())
        .unwrap_or_default();
    // The recognizer may glue the name to "Patient" ("Patientanalink").
    let glued_name = first
        .strip_prefix("patient")
        .filter(|rest| rest.chars().count() >= 3 && !rest.starts_with("en"));
    let introduces =
        matches!(first.as_str(), "patient" | "patienten" | "namn" | "pat") || glued_name.is_some();
    let lower: Vec<String> = words.iter().map(|w| clean(w).to_lowercase()).collect();
    // "personnummer", or the two words the recognizer makes of it ("person numera").
    let names_number_at = |i: usize| {
        matches!(
            lower[i].as_str(),
            "personnummer" | "personnumret" | "personnumer" | "pnr" | "född"
        ) || (lower[i].starts_with("pers")
            && lower.get(i + 1).is_some_and(|next| next.starts_with("num")))
    };
    let says_number = (0..lower.len()).any(names_number_at);
    // Without a number, a short line names the patient only when what follows "Patient" is
    // written as a name: "Patienten är välkommen åter" and "Patient mår bättre" are prose.
    let written_as_name = first != "patienten"
        && words.iter().skip(1).take(4).all(|w| {
            let w = clean(w);
            w.is_empty() || w.chars().next().is_some_and(char::is_uppercase)
        });
    let short_introduction = words.len() <= 5 && (glued_name.is_some() || written_as_name);
    // A garbled number is left out, but the sentence still names the patient.
    if personnummer.is_none() && !(introduces && (short_introduction || says_number)) {
        return None;
    }
    let mut name_words = Vec::new();
    if let Some(rest) = glued_name {
        name_words.push(capitalized(rest));
    }
    let start = usize::from(introduces);
    for (i, word) in words.iter().enumerate().skip(start) {
        let word = clean(word);
        if word.is_empty() || names_number_at(i) || word.chars().any(|c| c.is_ascii_digit()) {
            break;
        }
        name_words.push(capitalized(&word));
        if name_words.len() == 4 {
            break;
        }
    }
    Some(NoteMetadata {
        patient_name: (!name_words.is_empty()).then(|| name_words.join(" ")),
        personnummer,
        ..NoteMetadata::default()
    })
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| {
            c.to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

fn assemble(
    formatted: text::Formatted,
    mode: Mode,
    template: &Template,
    vocab: &Vocabulary,
) -> Note {
    let classifier = classify::Classifier::new(template, vocab);
    let mut metadata = NoteMetadata {
        template: Some(template.id.clone()),
        mode: Some(mode),
        ..NoteMetadata::default()
    };
    let mut placed: Vec<Placed> = Vec::new();
    let mut current: Option<(String, f32)> = None;
    let mut pending_break: Option<Break> = None;
    let mut previous_class: Option<usize> = None;
    // Whether the sentence placed last was the answer to a question.
    let mut after_answer = false;
    let mut any_heading_yet = false;
    // In ambient mode a question waits for the sentence after it, its answer, so that the
    // two are placed together.
    let mut open_question: Option<(Sentence, Option<Break>)> = None;
    let mut units: Vec<Unit> = Vec::new();
    // Places a sentence (or a question and its answer) by content, after the previous one.
    let mut place_by_content =
        |placed: &mut Vec<Placed>,
         (first, first_break): (Sentence, Option<Break>),
         answer: Option<(Sentence, Option<Break>)>| {
            let placement = classifier.place(
                &first.text,
                answer.as_ref().map(|(a, _)| a.text.as_str()),
                after_answer,
                previous_class,
            );
            let i = placement.heading;
            units.push(Unit {
                start: placed.len(),
                len: 1 + usize::from(answer.is_some()),
                placement,
            });
            previous_class = Some(i);
            after_answer = answer.is_some();
            for (sentence, break_before) in std::iter::once((first, first_break)).chain(answer) {
                placed.push(Placed {
                    heading: template.headings[i].clone(),
                    order: i as f32,
                    sentence,
                    break_before,
                });
            }
        };
    for piece in formatted.pieces {
        match piece {
            Piece::Heading(name) => {
                if let Some(question) = open_question.take() {
                    place_by_content(&mut placed, question, None);
                }
                any_heading_yet = true;
                let order = match template.position(&name) {
                    Some(i) => i as f32,
                    None => current.as_ref().map_or(-0.5, |(_, o)| o.floor() + 0.5),
                };
                current = Some((name, order));
                pending_break = None;
            }
            Piece::NextHeading => {
                if let Some(question) = open_question.take() {
                    place_by_content(&mut placed, question, None);
                }
                any_heading_yet = true;
                let next = match &current {
                    Some((_, order)) => (order.floor() as usize) + 1,
                    None => 0,
                };
                if let Some(name) = template.headings.get(next) {
                    current = Some((name.clone(), next as f32));
                }
                pending_break = None;
            }
            Piece::Break(kind) => pending_break = Some(kind),
            Piece::Sentence(sentence) => {
                if mode == Mode::Dictation && !any_heading_yet {
                    if let Some(found) = patient_line(&sentence.text) {
                        metadata.patient_name = metadata.patient_name.or(found.patient_name);
                        metadata.personnummer = metadata.personnummer.or(found.personnummer);
                        continue;
                    }
                }
                let break_before = pending_break.take();
                let Some((name, order)) = &current else {
                    if mode == Mode::Ambient && classifier.is_filler(&sentence.text) {
                        continue;
                    }
                    let is_question = mode == Mode::Ambient && sentence.text.ends_with('?');
                    let said = (sentence, break_before);
                    match open_question.take() {
                        Some(question) if !is_question => {
                            place_by_content(&mut placed, question, Some(said));
                        }
                        question => {
                            if let Some(question) = question {
                                place_by_content(&mut placed, question, None);
                            }
                            if is_question {
                                open_question = Some(said);
                            } else {
                                place_by_content(&mut placed, said, None);
                            }
                        }
                    }
                    continue;
                };
                placed.push(Placed {
                    heading: name.clone(),
                    order: *order,
                    sentence,
                    break_before,
                });
            }
        }
    }
    if let Some(question) = open_question.take() {
        place_by_content(&mut placed, question, None);
    }
    place_as_sequence(&mut placed, &units, &classifier, template);
    let sections = build_sections(placed);
    let mut note = Note {
        metadata,
        sections,
        corrections: formatted.corrections,
        suggested_codes: Vec::new(),
    };
    suggest_codes(&mut note, vocab);
    note
}

/// One placement by content: the sentence (or question and answer) at `start..start + len`
/// of the placed sentences, and how it was placed on its own.
struct Unit {
    start: usize,
    len: usize,
    placement: classify::Placement,
}

/// Revises the placements by content as one sequence ([`classify::Classifier::sequence`]):
/// placing sentence by sentence cannot see the sentences after one, nor that the
/// consultation has already moved on past a heading.
fn place_as_sequence(
    placed: &mut [Placed],
    units: &[Unit],
    classifier: &classify::Classifier<'_>,
    template: &Template,
) {
    let placements: Vec<&classify::Placement> = units.iter().map(|u| &u.placement).collect();
    let path = classifier.sequence(&placements);
    for (unit, &heading) in units.iter().zip(&path) {
        if unit.placement.heading == heading {
            continue;
        }
        let Some(name) = template.headings.get(heading) else {
            continue;
        };
        for item in placed.iter_mut().skip(unit.start).take(unit.len) {
            item.heading = name.clone();
            item.order = heading as f32;
        }
    }
}

fn build_sections(mut placed: Vec<Placed>) -> Vec<Section> {
    // Stable: sentences keep their spoken order within a heading.
    placed.sort_by(|a, b| a.order.total_cmp(&b.order));
    let mut sections: Vec<Section> = Vec::new();
    for item in placed {
        let section = match sections.iter_mut().position(|s| s.heading == item.heading) {
            Some(i) => &mut sections[i],
            None => {
                sections.push(Section {
                    heading: item.heading.clone(),
                    text: String::new(),
                    spans: Vec::new(),
                });
                let last = sections.len() - 1;
                &mut sections[last]
            }
        };
        if !section.text.is_empty() {
            section.text.push_str(match item.break_before {
                Some(Break::Line) => "\n",
                Some(Break::Paragraph) => "\n\n",
                None => " ",
            });
        }
        let offset = section.text.chars().count();
        section.text.push_str(&item.sentence.text);
        for mark in &item.sentence.marks {
            section.spans.push(Span {
                start_char: offset + mark.start_char,
                end_char: offset + mark.end_char,
                kind: SpanKind::Correction,
                index: mark.correction,
            });
        }
    }
    sections
}

/// Words that, shortly before a diagnosis, say the patient does not have it.
const NEGATIONS: [&str; 9] = [
    "ingen",
    "inga",
    "inget",
    "inte",
    "ej",
    "utan",
    "förnekar",
    "negativ",
    "aldrig",
];
/// Sections whose diagnoses are someone else's.
const NOT_THE_PATIENTS: [&str; 1] = ["Hereditet"];

fn negated(text: &str, start_char: usize) -> bool {
    let before: String = text.chars().take(start_char).collect();
    let clause = before
        .rsplit(['.', '?', '!', ':', ';', '\n'])
        .next()
        .unwrap_or_default();
    clause.split_whitespace().rev().take(5).any(|w| {
        NEGATIONS.contains(
            &w.trim_matches(|c: char| !c.is_alphabetic())
                .to_lowercase()
                .as_str(),
        )
    })
}

/// ICD-10-SE codes said in the text ("F32.1"), with their character ranges.
fn spoken_codes(text: &str) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if boundary
            && chars[i].is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            && chars.get(i + 2).is_some_and(char::is_ascii_digit)
        {
            let mut end = i + 3;
            if chars.get(end) == Some(&'.') && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 2;
                while chars
                    .get(end)
                    .is_some_and(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                {
                    end += 1;
                }
            }
            if chars.get(end).is_none_or(|c| !c.is_alphanumeric()) {
                found.push((chars[i..end].iter().collect(), i, end));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    found
}

fn suggest_codes(note: &mut Note, vocab: &Vocabulary) {
    let mut suggestions: Vec<(usize, SuggestedCode)> = Vec::new();
    for (s, section) in note.sections.iter().enumerate() {
        if NOT_THE_PATIENTS.contains(&section.heading.as_str()) {
            continue;
        }
        for mention in vocab.find_terms(&section.text) {
            if mention.term.kind != TermKind::Diagnosis
                || negated(&section.text, mention.start_char)
            {
                continue;
            }
            let Some(code) = mention.term.code.clone() else {
                continue;
            };
            suggestions.push((
                s,
                SuggestedCode {
                    code,
                    title: mention.term.title.clone(),
                    evidence: mention.text,
                    heading: section.heading.clone(),
                    start_char: mention.start_char,
                    end_char: mention.end_char,
                },
            ));
        }
        for (code, start, end) in spoken_codes(&section.text) {
            let title = vocab
                .diagnosis_by_code(&code)
                .map(|d| d.title.clone())
                .unwrap_or_default();
            suggestions.push((
                s,
                SuggestedCode {
                    evidence: code.clone(),
                    code,
                    title,
                    heading: section.heading.clone(),
                    start_char: start,
                    end_char: end,
                },
            ));
        }
    }
    // One suggestion per code; an unspecified ".9" code gives way to a specific one of the
    // same category.
    let mut kept: Vec<(usize, SuggestedCode)> = Vec::new();
    for (s, suggestion) in suggestions {
        if kept.iter().any(|(_, k)| k.code == suggestion.code) {
            continue;
        }
        kept.push((s, suggestion));
    }
    let category = |code: &str| code.split(['.', '-']).next().unwrap_or_default().to_owned();
    let specific: Vec<String> = kept
        .iter()
        .filter(|(_, k)| !k.code.ends_with(".9"))
        .map(|(_, k)| category(&k.code))
        .collect();
    kept.retain(|(_, k)| !(k.code.ends_with(".9") && specific.contains(&category(&k.code))));
    for (index, (s, suggestion)) in kept.iter().enumerate() {
        note.sections[*s].spans.push(Span {
            start_char: suggestion.start_char,
            end_char: suggestion.end_char,
            kind: SpanKind::Code,
            index,
        });
    }
    note.suggested_codes = kept.into_iter().map(|(_, k)| k).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_text_are_found() {
        let found: Vec<String> = spoken_codes("Diagnos F32.1 och F90.0B, ej J03")
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(found, vec!["F32.1", "F90.0B", "J03"]);
    }

    #[test]
    fn patient_line_needs_a_personnummer_or_a_short_introduction() {
        let line = patient_line("Patient Anna Lindqvist personnummer 19850312-1234.");
        assert_eq!(
            line.map(|m| (m.patient_name, m.personnummer)),
            Some((Some("Anna Lindqvist".into()), Some("19850312-1234".into())))
        );
        assert!(patient_line("Patienten söker för halsont sedan tre dagar.").is_none());
        // A number the recognizer garbled is left out; "Persson" is a name, "person
        // numera" the word.
        let line = patient_line("Patient Eva Persson person numera 90, 90, 11, 04.");
        assert_eq!(
            line.map(|m| (m.patient_name, m.personnummer)),
            Some((Some("Eva Persson".into()), None))
        );
        let line = patient_line("Patientanalink visst person numera 1985031212234.");
        assert_eq!(
            line.and_then(|m| m.patient_name),
            Some("Analink Visst".into())
        );
        assert!(patient_line("Patienten söker för personalens skull, nummer två.").is_none());
        assert!(patient_line("Patienten är välkommen åter.").is_none());
        assert!(patient_line("Patient mår bättre.").is_none());
        let line = patient_line("Patient Erik Sandberg.");
        assert_eq!(
            line.and_then(|m| m.patient_name),
            Some("Erik Sandberg".into())
        );
    }
}
