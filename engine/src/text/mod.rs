//! From spoken to written text: dictation commands, punctuation, numbers, units and term correction.
//!
//! Input is the recognizer's raw Swedish text (or its words with confidences); output is a list
//! of [`Piece`]s — headings the clinician named, sentences in note style, line breaks — plus the
//! [`Correction`]s made. Data flows one way: this module knows nothing of the recognizer.

mod commands;
mod correct;
mod numbers;
mod prompt;
mod render;
mod tokens;

use serde::{Deserialize, Serialize};
use skriva_vocab::Vocabulary;

use crate::error::Result;

pub(crate) use numbers::numbers_as_digits;
pub use numbers::{parse_cardinal, parse_ordinal};
pub use prompt::{ambient_prompt, initial_prompt, PROMPT_MAX_CHARS};

/// One recognized word with its timing (seconds) and probability, as the recognizer gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpokenWord {
    /// The word as recognized (may carry the recognizer's punctuation and a leading space).
    pub text: String,
    /// Start time in seconds.
    pub start: f64,
    /// End time in seconds.
    pub end: f64,
    /// Recognizer probability in `0.0..=1.0`.
    pub p: f32,
}

/// Where a correction's replacement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorrectionSource {
    /// A drug name in the vocabulary.
    Drug,
    /// A diagnosis name in the vocabulary.
    Diagnosis,
    /// An abbreviation in the vocabulary.
    Abbreviation,
    /// A word of clinical prose in the vocabulary ("beläggningar").
    #[serde(rename = "clinical_word")]
    ClinicalWord,
}

/// A recognized word replaced by a vocabulary term it sounds like, for the review page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// The recognized text.
    pub original: String,
    /// What replaced it.
    pub replacement: String,
    /// Start of `original` in the input transcript, in characters.
    pub start_char: usize,
    /// End (exclusive) of `original` in the input transcript, in characters.
    pub end_char: usize,
    /// Which vocabulary list the replacement came from.
    pub source: CorrectionSource,
    /// Match score in `0.0..=1.0`.
    pub score: f32,
}

/// A line break or paragraph break the clinician dictated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Break {
    /// "ny rad".
    Line,
    /// "nytt stycke".
    Paragraph,
}

/// A highlighted range of a sentence's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Start in the sentence text, in characters.
    pub start_char: usize,
    /// End (exclusive), in characters.
    pub end_char: usize,
    /// Index into [`Formatted::corrections`].
    pub correction: usize,
}

/// One written sentence (or clause run up to a heading or break).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentence {
    /// Written text, capitalized, with its punctuation.
    pub text: String,
    /// Start of what it was written from in the input transcript, in characters.
    pub source_start: usize,
    /// End (exclusive) of what it was written from, in characters.
    pub source_end: usize,
    /// Corrected words in `text`.
    pub marks: Vec<Mark>,
}

/// A piece of formatted dictation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Piece {
    /// The clinician named a heading ("rubrik status", "Bedömning kolon"); canonical name.
    Heading(String),
    /// "nästa rubrik": the template's next heading.
    NextHeading,
    /// A dictated break.
    Break(Break),
    /// A sentence.
    Sentence(Sentence),
}

/// What formatting does besides the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatOptions {
    /// Recognize spoken headings ("rubrik X", a bare heading word opening a sentence). Off
    /// for ambient recordings, where nobody dictates headings.
    pub headings: bool,
    /// Read spoken punctuation and editing commands ("komma", "punkt", "ny rad", "stryk
    /// det"), also where the recognizer glued them to a word. Off for ambient recordings,
    /// where nobody dictates them and such words are just words ("komma i fas", "ekonom"); a
    /// decimal "komma" between numbers is read either way.
    pub commands: bool,
    /// Replace misrecognized words by vocabulary terms they sound like.
    pub correct_terms: bool,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            headings: true,
            commands: true,
            correct_terms: true,
        }
    }
}

/// Formatted dictation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Formatted {
    /// Headings, sentences and breaks in spoken order.
    pub pieces: Vec<Piece>,
    /// Replacements made by term correction.
    pub corrections: Vec<Correction>,
}

impl Formatted {
    /// Plain written text: headings on their own lines ending in a colon, sentences joined
    /// by spaces, dictated breaks kept.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Heading(name) => {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(name);
                    out.push('\n');
                }
                Piece::NextHeading => {}
                Piece::Break(Break::Line) => out.push('\n'),
                Piece::Break(Break::Paragraph) => out.push_str("\n\n"),
                Piece::Sentence(s) => {
                    if !(out.is_empty() || out.ends_with('\n')) {
                        out.push(' ');
                    }
                    out.push_str(&s.text);
                }
            }
        }
        out
    }
}

/// Formats raw recognized text.
///
/// ```
/// use skriva_engine::text::{format, FormatOptions};
/// let vocab = skriva_vocab::Vocabulary::builtin()?;
/// let out = format("status kolon temp trettioåtta komma fem punkt", &vocab, FormatOptions::default())?;
/// assert_eq!(out.text(), "Status\nTemp 38,5.");
/// # Ok::<(), skriva_engine::Error>(())
/// ```
pub fn format(raw: &str, vocab: &Vocabulary, options: FormatOptions) -> Result<Formatted> {
    let items = tokens::tokenize(raw, &[]);
    run(items, vocab, options)
}

/// Formats recognized words with their probabilities; low-probability words are corrected
/// more readily. Character offsets refer to [`words_text`] of the same words.
pub fn format_words(
    words: &[SpokenWord],
    vocab: &Vocabulary,
    options: FormatOptions,
) -> Result<Formatted> {
    let (text, probabilities) = tokens::join_words(words);
    let items = tokens::tokenize(&text, &probabilities);
    run(items, vocab, options)
}

/// The transcript text that [`format_words`] offsets refer to: the words joined.
pub fn words_text(words: &[SpokenWord]) -> String {
    tokens::join_words(words).0
}

fn run(items: Vec<tokens::Item>, vocab: &Vocabulary, options: FormatOptions) -> Result<Formatted> {
    let items = if options.commands {
        commands::split_glued_commands(commands::split_merged(items), vocab)
    } else {
        items
    };
    let items = tokens::repair_number_words(items);
    let (items, code_corrections) = if options.correct_terms {
        correct::misheard_codes(items, vocab)
    } else {
        (items, Vec::new())
    };
    let items = numbers::abbreviations(items, vocab);
    let items = numbers::numbers(items, vocab);
    let items = commands::commands(items, vocab, options.commands, options.headings);
    let (items, corrections) = if options.correct_terms {
        correct::correct(items, vocab, code_corrections)?
    } else {
        (items, code_corrections)
    };
    Ok(Formatted {
        pieces: render::render(&items, vocab),
        corrections,
    })
}
