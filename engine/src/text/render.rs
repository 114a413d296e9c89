//! Assembling formatted items into written sentences: spacing around punctuation, sentence
//! capitals, the recognizer's own punctuation dropped where the clinician dictated theirs,
//! and "stryk det" applied.

use skriva_vocab::{TermKind, Vocabulary};

use super::tokens::{Command, Item, Kind, Mark};
use super::{Break, Mark as Highlight, Piece, Sentence};

#[derive(Default)]
struct Builder {
    text: String,
    start: Option<usize>,
    end: usize,
    marks: Vec<Highlight>,
    /// No space before the next word (after "(" or a joining mark).
    glue_next: bool,
    open_quote: bool,
}

impl Builder {
    fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    fn touch(&mut self, item: &Item) {
        if self.start.is_none() {
            self.start = Some(item.start);
        }
        self.end = self.end.max(item.end);
    }

    fn push_word(&mut self, word: &str, item: &Item) {
        if !self.text.is_empty() && !self.glue_next {
            self.text.push(' ');
        }
        self.glue_next = false;
        let start = self.text.chars().count();
        self.text.push_str(word);
        if let Some(correction) = item.correction {
            self.marks.push(Highlight {
                start_char: start,
                end_char: start + word.chars().count(),
                correction,
            });
        }
        self.touch(item);
    }

    fn push_mark(&mut self, mark: Mark, item: &Item) {
        match mark {
            Mark::OpenParen => {
                if !self.text.is_empty() {
                    self.text.push(' ');
                }
                self.text.push('(');
                self.glue_next = true;
            }
            Mark::Quote => {
                if self.open_quote {
                    self.text.push('"');
                } else {
                    if !self.text.is_empty() {
                        self.text.push(' ');
                    }
                    self.text.push('"');
                    self.glue_next = true;
                }
                self.open_quote = !self.open_quote;
            }
            Mark::Slash | Mark::Hyphen => {
                self.text.push(if mark == Mark::Slash { '/' } else { '-' });
                self.glue_next = true;
            }
            Mark::Dash => {
                self.text.push_str(" –");
            }
            other => {
                let c = match other {
                    Mark::Period => '.',
                    Mark::Comma => ',',
                    Mark::Colon => ':',
                    Mark::Semicolon => ';',
                    Mark::Question => '?',
                    Mark::Exclamation => '!',
                    _ => ')',
                };
                // Never two marks of the same kind, and no comma right before a full stop.
                let last = self.text.chars().last();
                if last == Some(c) {
                    return;
                }
                if matches!(c, '.' | '?' | '!' | ':') && matches!(last, Some(',' | ';')) {
                    self.text.pop();
                }
                self.text.push(c);
            }
        }
        self.touch(item);
    }

    fn finish(&mut self) -> Option<Sentence> {
        let builder = std::mem::take(self);
        if builder.is_empty() {
            return None;
        }
        let mut text = builder.text.trim_end().to_owned();
        while text.ends_with([',', ';']) {
            text.pop();
        }
        let text = capitalize_first(&text);
        Some(Sentence {
            text,
            source_start: builder.start.unwrap_or(0),
            source_end: builder.end,
            marks: builder.marks,
        })
    }
}

fn capitalize_first(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done = false;
    for c in text.chars() {
        if !done && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            done = true;
        } else {
            if !done && c.is_ascii_digit() {
                done = true;
            }
            out.push(c);
        }
    }
    out
}

/// Whether the recognizer's own mark at `i` sits next to something the clinician dictated
/// (punctuation or a command), in which case it is the recognizer echoing that and dropped.
fn echoes_dictation(items: &[Item], i: usize) -> bool {
    let dictated = |it: &Item| matches!(it.kind, Kind::Spoken(_) | Kind::Command(_));
    let before = items[..i]
        .iter()
        .rev()
        .find(|it| !matches!(it.kind, Kind::Recognizer(_)));
    let after = items[i + 1..]
        .iter()
        .find(|it| !matches!(it.kind, Kind::Recognizer(_)));
    before.is_some_and(dictated) || after.is_some_and(dictated)
}

/// A word the recognizer capitalized only because it thought a sentence began there.
pub(crate) fn recognizer_capital(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.clone().any(char::is_lowercase)
        && chars.all(|c| !c.is_uppercase())
}

fn keeps_capital(word: &str, vocab: &Vocabulary) -> bool {
    vocab.lookup_exact(word).iter().any(|m| {
        matches!(m.term.kind, TermKind::Drug | TermKind::Abbreviation)
            && m.term.form.chars().next().is_some_and(char::is_uppercase)
    })
}

pub(crate) fn render(items: &[Item], vocab: &Vocabulary) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut sentence = Builder::default();
    // Whether the recognizer, or a dictated command, would have started a sentence before
    // the next word: its capital then means nothing.
    let mut recognizer_sentence_start = true;
    let flush = |sentence: &mut Builder, pieces: &mut Vec<Piece>| {
        if let Some(done) = sentence.finish() {
            pieces.push(Piece::Sentence(done));
        }
    };
    for (i, item) in items.iter().enumerate() {
        match &item.kind {
            Kind::Word | Kind::Formatted => {
                let mut word = item.text.clone();
                if item.kind == Kind::Word
                    && !sentence.is_empty()
                    && recognizer_sentence_start
                    && recognizer_capital(&word)
                    && !keeps_capital(&word, vocab)
                {
                    word = word.to_lowercase();
                }
                sentence.push_word(&word, item);
                recognizer_sentence_start = false;
            }
            Kind::Spoken(mark) => {
                if sentence.is_empty() && !matches!(mark, Mark::OpenParen | Mark::Quote) {
                    continue;
                }
                sentence.push_mark(*mark, item);
                if mark.ends_sentence() {
                    flush(&mut sentence, &mut pieces);
                }
                recognizer_sentence_start = matches!(
                    mark,
                    Mark::Period | Mark::Question | Mark::Exclamation | Mark::Colon
                );
            }
            Kind::Recognizer(mark) => {
                if echoes_dictation(items, i) || sentence.is_empty() {
                    recognizer_sentence_start |= mark.ends_sentence();
                    continue;
                }
                sentence.push_mark(*mark, item);
                if mark.ends_sentence() {
                    flush(&mut sentence, &mut pieces);
                }
            }
            Kind::Command(command) => {
                recognizer_sentence_start = true;
                match command {
                    Command::DeleteSentence => {
                        if sentence.is_empty() {
                            // Remove the last sentence of the current section, if any.
                            if let Some(at) = pieces.iter().rposition(|p| {
                                matches!(
                                    p,
                                    Piece::Sentence(_) | Piece::Heading(_) | Piece::NextHeading
                                )
                            }) {
                                if matches!(pieces[at], Piece::Sentence(_)) {
                                    pieces.remove(at);
                                }
                            }
                        } else {
                            sentence = Builder::default();
                        }
                    }
                    Command::LineBreak => {
                        flush(&mut sentence, &mut pieces);
                        pieces.push(Piece::Break(Break::Line));
                    }
                    Command::Paragraph => {
                        flush(&mut sentence, &mut pieces);
                        pieces.push(Piece::Break(Break::Paragraph));
                    }
                    Command::NextHeading => {
                        flush(&mut sentence, &mut pieces);
                        pieces.push(Piece::NextHeading);
                    }
                    Command::Heading(name) => {
                        flush(&mut sentence, &mut pieces);
                        pieces.push(Piece::Heading(name.clone()));
                    }
                }
            }
        }
    }
    flush(&mut sentence, &mut pieces);
    pieces
}
