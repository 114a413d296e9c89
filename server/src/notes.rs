//! The seam where recognized segments become a journal note. A session's (or upload's) mode and
//! template drive `skriva_engine::journal`; the template also primes the recognizer with its
//! headings and terms. Edits replace sections and keep what still holds of the machine's note.

use std::path::Path;
use std::sync::Arc;

use skriva_engine::journal::{self, Mode, SpanKind};
use skriva_engine::recognize::{DecodeOptions, Segment, Transcript};
use skriva_engine::text::SpokenWord;
use skriva_vocab::Vocabulary;

pub use skriva_engine::journal::{Note, Section};

use crate::store::SessionMode;
use crate::{Error, Result};

/// The template a request gets when it names none.
pub const DEFAULT_TEMPLATE: &str = "primarvard-lakarbesok";
/// Protocol v1's name for "the server's default template"; still accepted.
pub const DEFAULT_TEMPLATE_ALIAS: &str = "standard";

impl From<SessionMode> for Mode {
    fn from(mode: SessionMode) -> Self {
        match mode {
            SessionMode::Dictation => Mode::Dictation,
            SessionMode::Ambient => Mode::Ambient,
        }
    }
}

/// The vocabulary and the default template: everything structuring and prompting need.
#[derive(Clone)]
pub struct Notes {
    vocab: Arc<Vocabulary>,
    default_template: String,
}

impl std::fmt::Debug for Notes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notes")
            .field("templates", &self.vocab.templates().len())
            .field("default_template", &self.default_template)
            .finish()
    }
}

impl Notes {
    /// The vocabulary kept in `vocab_dir` (clinic templates and imported code lists included),
    /// or the shipped one when `None`. `default_template` must name one of its templates.
    pub fn open(vocab_dir: Option<&Path>, default_template: &str) -> Result<Self> {
        let vocab = match vocab_dir {
            Some(dir) => Vocabulary::open(dir),
            None => Vocabulary::builtin(),
        }
        .map_err(|e| Error::Internal(format!("loading the vocabulary: {e}")))?;
        if vocab.template(default_template).is_err() {
            return Err(Error::Internal(format!(
                "the default template `{default_template}` is not in the vocabulary"
            )));
        }
        Ok(Self {
            vocab: Arc::new(vocab),
            default_template: default_template.to_string(),
        })
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    /// The template id a request's `template` field stands for: the default when absent or
    /// `standard`; an unknown id is a 400 naming the known ones.
    pub fn resolve_template(&self, requested: Option<&str>) -> Result<String> {
        let requested = requested.map(str::trim).filter(|t| !t.is_empty());
        let id = match requested {
            None | Some(DEFAULT_TEMPLATE_ALIAS) => return Ok(self.default_template.clone()),
            Some(id) => id,
        };
        if self.vocab.template(id).is_ok() {
            return Ok(id.to_string());
        }
        let known: Vec<&str> = self
            .vocab
            .templates()
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        Err(Error::BadRequest(format!(
            "unknown template `{id}`; known templates: {}",
            known.join(", ")
        )))
    }

    /// The template stored with a session or draft, falling back to the default for a name
    /// the vocabulary no longer has (a clinic template removed since).
    fn template(&self, id: &str) -> &skriva_vocab::Template {
        match self.vocab.template(id) {
            Ok(template) => template,
            Err(_) => {
                if id != DEFAULT_TEMPLATE_ALIAS {
                    tracing::warn!(
                        template = id,
                        "unknown template; structuring with the default"
                    );
                }
                self.vocab
                    .template(&self.default_template)
                    .unwrap_or_else(|_| &self.vocab.templates()[0])
            }
        }
    }

    /// `base` with whisper's initial prompt built from `template` for `mode` (a dictation, or
    /// a written note for an ambient recording, where nobody speaks commands), unless `base`
    /// (the server's configuration or the request) already sets one.
    pub fn decode_options(
        &self,
        base: &DecodeOptions,
        mode: SessionMode,
        template: &str,
    ) -> DecodeOptions {
        let mut options = base.clone();
        if options.initial_prompt.is_none() {
            let template = self.template(template);
            options.initial_prompt = Some(match mode {
                SessionMode::Dictation => {
                    skriva_engine::text::initial_prompt(template, &self.vocab)
                }
                SessionMode::Ambient => skriva_engine::text::ambient_prompt(template, &self.vocab),
            });
        }
        options
    }

    /// Builds a draft's note from all its segments: formatting (commands, numbers, term
    /// correction with the words' confidences), then sections by `mode` and `template`.
    /// Structuring never loses a transcript: should it fail, the note is the raw text as one
    /// unheaded section.
    pub fn structure(&self, segments: &[Segment], mode: SessionMode, template: &str) -> Note {
        let words: Vec<SpokenWord> = segments
            .iter()
            .flat_map(|s| &s.words)
            .map(|w| SpokenWord {
                text: w.word.clone(),
                start: w.start,
                end: w.end,
                p: w.p,
            })
            .collect();
        if words.iter().all(|w| w.text.trim().is_empty()) {
            return Note::default();
        }
        match journal::structure_words(&words, mode.into(), self.template(template), &self.vocab) {
            Ok(note) => note,
            Err(e) => {
                tracing::warn!(error = %e, "structuring failed; keeping the plain transcript");
                Note {
                    sections: vec![Section {
                        heading: String::new(),
                        text: Transcript::join_text(segments),
                        spans: Vec::new(),
                    }],
                    ..Note::default()
                }
            }
        }
    }
}

/// The note after an edit that replaces its sections: metadata and the record of term
/// corrections stay; a suggested code stays while its evidence is still in a section with its
/// heading (its position re-found there); highlights are what the client sent.
pub fn edited_note(previous: &Note, sections: Vec<Section>) -> Note {
    let mut note = Note {
        metadata: previous.metadata.clone(),
        sections,
        corrections: previous.corrections.clone(),
        suggested_codes: Vec::new(),
    };
    for section in &mut note.sections {
        section.spans.retain(|s| s.kind == SpanKind::Correction);
    }
    for suggestion in &previous.suggested_codes {
        let Some(s) = note
            .sections
            .iter()
            .position(|s| s.heading == suggestion.heading)
        else {
            continue;
        };
        let text = &note.sections[s].text;
        let Some(byte_start) = text.find(&suggestion.evidence) else {
            continue;
        };
        let start_char = text[..byte_start].chars().count();
        let end_char = start_char + suggestion.evidence.chars().count();
        let index = note.suggested_codes.len();
        note.sections[s].spans.push(journal::Span {
            start_char,
            end_char,
            kind: SpanKind::Code,
            index,
        });
        let mut kept = suggestion.clone();
        kept.start_char = start_char;
        kept.end_char = end_char;
        note.suggested_codes.push(kept);
    }
    note
}
