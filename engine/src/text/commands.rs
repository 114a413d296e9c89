//! Spoken punctuation and dictation commands ("punkt", "ny rad", "stryk det", "rubrik status",
//! a bare heading word opening a sentence), told apart from the same words used as words
//! ("ska komma tillbaka", "på en punkt") and tolerant of the recognizer's mishearings
//! ("kålon", "punktrubrik").

use skriva_vocab::{phonetic_key, similarity, Vocabulary};

use super::tokens::{Command, Item, Kind, Mark};

/// Single command words and what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Punkt,
    Komma,
    Kolon,
    Semikolon,
    Fragetecken,
    Utropstecken,
    Snedstreck,
    Bindestreck,
    Tankstreck,
    Citattecken,
    Parentes,
    Rubrik,
    Stryk,
}

const COMMAND_WORDS: [(&str, Word); 18] = [
    ("punkt", Word::Punkt),
    ("komma", Word::Komma),
    ("kolon", Word::Kolon),
    ("semikolon", Word::Semikolon),
    ("frågetecken", Word::Fragetecken),
    ("utropstecken", Word::Utropstecken),
    ("snedstreck", Word::Snedstreck),
    ("bindestreck", Word::Bindestreck),
    ("tankstreck", Word::Tankstreck),
    ("citattecken", Word::Citattecken),
    ("citat", Word::Citattecken),
    ("parentes", Word::Parentes),
    ("parentesen", Word::Parentes),
    ("rubrik", Word::Rubrik),
    ("rubriken", Word::Rubrik),
    ("stryk", Word::Stryk),
    ("colon", Word::Kolon),
    ("punkten", Word::Punkt),
];

/// Words before "komma" that make it the verb ("ska komma tillbaka").
const KOMMA_VERB_BEFORE: [&str; 22] = [
    "ska", "skall", "kan", "får", "bör", "vill", "att", "måste", "behöver", "skulle", "kunde",
    "brukar", "kommer", "ville", "fick", "inte", "ej", "kunna", "hinna", "lär", "borde", "tänker",
];
/// Words after "komma" that make it the verb ("komma tillbaka", "komma ihåg").
const KOMMA_VERB_AFTER: [&str; 14] = [
    "tillbaka",
    "åter",
    "ihåg",
    "överens",
    "igång",
    "fram",
    "hit",
    "hem",
    "iväg",
    "undan",
    "loss",
    "bort",
    "förbi",
    "tillrätta",
];
/// Words before "punkt" or "kolon" that make them nouns ("på en punkt", "i kolon").
const NOUN_BEFORE: [&str; 12] = [
    "en",
    "denna",
    "den",
    "varje",
    "någon",
    "vilken",
    "samma",
    "i",
    "av",
    "ascendens",
    "sigmoideum",
    "transversum",
];
/// Words that, right after a bare heading word, show it is a sentence's subject
/// ("Bedömningen är ...", "Status visar ...").
const VERBS: [&str; 24] = [
    "är", "var", "har", "hade", "blir", "blev", "visar", "visade", "talar", "kan", "ska", "bör",
    "får", "bedöms", "ser", "verkar", "känns", "tyder", "sker", "görs", "gjordes", "tas", "ges",
    "skall",
];

/// A command word, allowing the recognizer's spellings by sound ("kålon") and, for long words,
/// one wrong letter ("rebrik", "frågetäcken").
fn command_word(text: &str) -> Option<Word> {
    let lower = text.to_lowercase();
    if let Some(&(_, word)) = COMMAND_WORDS.iter().find(|(w, _)| *w == lower) {
        return Some(word);
    }
    let key = phonetic_key(&lower);
    for &(spelled, word) in &COMMAND_WORDS {
        if spelled.len() >= 5 && phonetic_key(spelled) == key {
            return Some(word);
        }
        if spelled.chars().count() >= 6 && similarity(spelled, &lower) >= 0.83 {
            return Some(word);
        }
    }
    None
}

/// Splits command words the recognizer ran together ("punktrubrik", "punktrebrik",
/// "kolonny") into their parts.
pub(crate) fn split_merged(items: Vec<Item>) -> Vec<Item> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let chars: Vec<char> = item.text.chars().collect();
        let mut split = None;
        if item.is_word() && chars.len() >= 9 && command_word(&item.text).is_none() {
            for at in 4..chars.len() - 3 {
                let left: String = chars[..at].iter().collect();
                let right: String = chars[at..].iter().collect();
                let left_ok = matches!(
                    command_word(&left),
                    Some(Word::Punkt | Word::Kolon | Word::Komma)
                );
                let right_ok = command_word(&right).is_some();
                if left_ok && right_ok {
                    split = Some((left, right, at));
                    break;
                }
            }
        }
        match split {
            Some((left, right, at)) => {
                let mut first = item.clone();
                first.text = left;
                first.end = item.start + at;
                let mut second = item;
                second.text = right;
                second.start += at;
                out.push(first);
                out.push(second);
            }
            None => out.push(item),
        }
    }
    out
}

fn lower_at(items: &[Item], i: usize) -> Option<String> {
    items.get(i).filter(|it| it.is_word()).map(Item::lower)
}

/// The previous word, skipping the recognizer's punctuation.
fn previous_word(out: &[Item]) -> Option<String> {
    out.iter()
        .rev()
        .find(|it| !matches!(it.kind, Kind::Recognizer(_)))
        .filter(|it| it.is_word() || it.kind == Kind::Formatted)
        .map(Item::lower)
}

/// Index of the next item that is not the recognizer's punctuation.
fn next_real(items: &[Item], from: usize) -> usize {
    let mut i = from;
    while items
        .get(i)
        .is_some_and(|it| matches!(it.kind, Kind::Recognizer(_)))
    {
        i += 1;
    }
    i
}

/// Turns command words into punctuation and commands, and finds spoken headings.
pub(crate) fn commands(items: Vec<Item>, vocab: &Vocabulary, headings: bool) -> Vec<Item> {
    let items = punctuation(items);
    if headings {
        find_headings(items, vocab)
    } else {
        items
    }
}

fn punctuation(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut open_quote = false;
    let mut i = 0;
    while i < items.len() {
        let item = &items[i];
        if !item.is_word() {
            out.push(item.clone());
            i += 1;
            continue;
        }
        let lower = item.lower();
        let next = next_real(&items, i + 1);
        let next_word = lower_at(&items, next);
        let previous = previous_word(&out);
        let spoken =
            |mark: Mark, used: &[Item]| Item::spanning(Kind::Spoken(mark), mark_text(mark), used);
        let command =
            |command: Command, used: &[Item]| Item::spanning(Kind::Command(command), "", used);
        // Two-word commands first.
        let pair = next_word.as_deref().map(|n| (lower.as_str(), n));
        let two_word = match pair {
            Some(("ny" | "nyrad", "rad")) => Some(command(Command::LineBreak, &items[i..=next])),
            Some(("nytt" | "ny", "stycke" | "paragraf")) => {
                Some(command(Command::Paragraph, &items[i..=next]))
            }
            Some(("öppna" | "öppen" | "vänster" | "start", "parentes")) => {
                Some(spoken(Mark::OpenParen, &items[i..=next]))
            }
            Some(("stäng" | "stängd" | "höger" | "slut", "parentes")) => {
                Some(spoken(Mark::CloseParen, &items[i..=next]))
            }
            Some(("parentes", "slut")) => Some(spoken(Mark::CloseParen, &items[i..=next])),
            Some(("citat", "slut")) => Some(spoken(Mark::Quote, &items[i..=next])),
            Some(("nästa", n)) if command_word(n) == Some(Word::Rubrik) => {
                Some(command(Command::NextHeading, &items[i..=next]))
            }
            _ => None,
        };
        if let Some(made) = two_word {
            out.push(made);
            i = next + 1;
            continue;
        }
        if lower == "nyrad" {
            out.push(command(Command::LineBreak, &items[i..=i]));
            i += 1;
            continue;
        }
        let Some(word) = command_word(&lower) else {
            out.push(item.clone());
            i += 1;
            continue;
        };
        let before = previous.as_deref().unwrap_or("");
        let made = match word {
            Word::Punkt if NOUN_BEFORE.contains(&before) => None,
            Word::Punkt => Some(spoken(Mark::Period, &items[i..=i])),
            Word::Komma
                if KOMMA_VERB_BEFORE.contains(&before)
                    || next_word
                        .as_deref()
                        .is_some_and(|n| KOMMA_VERB_AFTER.contains(&n)) =>
            {
                None
            }
            Word::Komma => Some(spoken(Mark::Comma, &items[i..=i])),
            Word::Kolon if NOUN_BEFORE.contains(&before) => None,
            Word::Kolon => Some(spoken(Mark::Colon, &items[i..=i])),
            Word::Semikolon => Some(spoken(Mark::Semicolon, &items[i..=i])),
            Word::Fragetecken => Some(spoken(Mark::Question, &items[i..=i])),
            Word::Utropstecken => Some(spoken(Mark::Exclamation, &items[i..=i])),
            Word::Snedstreck => Some(spoken(Mark::Slash, &items[i..=i])),
            Word::Bindestreck => Some(spoken(Mark::Hyphen, &items[i..=i])),
            Word::Tankstreck => Some(spoken(Mark::Dash, &items[i..=i])),
            Word::Citattecken => {
                open_quote = !open_quote;
                Some(spoken(Mark::Quote, &items[i..=i]))
            }
            Word::Parentes => None,
            Word::Rubrik => {
                // Resolved with the headings; keep the word marked.
                let mut kept = item.clone();
                kept.text = "rubrik".into();
                out.push(kept);
                i += 1;
                continue;
            }
            Word::Stryk => {
                let end = match next_word.as_deref() {
                    Some("det" | "detta" | "meningen") => Some(next),
                    Some("senaste" | "sista" | "föregående" | "förra") => {
                        let after = next_real(&items, next + 1);
                        let names_sentence =
                            lower_at(&items, after).is_some_and(|w| w.starts_with("mening"));
                        Some(if names_sentence { after } else { next })
                    }
                    None => Some(i),
                    Some(_) => None,
                };
                if let Some(end) = end {
                    out.push(command(Command::DeleteSentence, &items[i..=end]));
                    i = end + 1;
                    continue;
                }
                None
            }
        };
        match made {
            Some(made) => out.push(made),
            None => out.push(item.clone()),
        }
        i += 1;
    }
    out
}

fn mark_text(mark: Mark) -> &'static str {
    match mark {
        Mark::Period => ".",
        Mark::Comma => ",",
        Mark::Colon => ":",
        Mark::Semicolon => ";",
        Mark::Question => "?",
        Mark::Exclamation => "!",
        Mark::Slash => "/",
        Mark::Hyphen => "-",
        Mark::Dash => "–",
        Mark::OpenParen => "(",
        Mark::CloseParen => ")",
        Mark::Quote => "\"",
    }
}

fn starts_sentence(kind: &Kind) -> bool {
    match kind {
        Kind::Spoken(mark) | Kind::Recognizer(mark) => mark.ends_sentence(),
        Kind::Command(_) => true,
        _ => false,
    }
}

/// Finds "rubrik X" and bare heading words at the start of a sentence.
fn find_headings(items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut at_start = true;
    let mut i = 0;
    while i < items.len() {
        let item = &items[i];
        if item.is_word() && item.lower() == "rubrik" {
            let from = next_real(&items, i + 1);
            let words: Vec<&str> = items[from..]
                .iter()
                .take(4)
                .take_while(|it| it.is_word())
                .map(|it| it.text.as_str())
                .collect();
            if let Some(found) = vocab.match_heading(&words) {
                out.push(Item::spanning(
                    Kind::Command(Command::Heading(found.heading.name.clone())),
                    "",
                    &items[i..from + found.words],
                ));
                i = swallow_heading_colon(&items, from + found.words);
                at_start = true;
                continue;
            }
            // A clinic's own heading: the words up to the next punctuation, at most four.
            let custom: Vec<&Item> = items[from..].iter().take_while(|it| it.is_word()).collect();
            if !custom.is_empty() && custom.len() <= 4 {
                let name = capitalize(
                    &custom
                        .iter()
                        .map(|it| it.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                let end = from + custom.len();
                out.push(Item::spanning(
                    Kind::Command(Command::Heading(name)),
                    "",
                    &items[i..end],
                ));
                i = swallow_heading_colon(&items, end);
                at_start = true;
                continue;
            }
            i += 1;
            continue;
        }
        if at_start && item.is_word() {
            let words: Vec<&str> = items[i..]
                .iter()
                .take(4)
                .take_while(|it| it.is_word())
                .map(|it| it.text.as_str())
                .collect();
            if let Some(found) = vocab.match_heading(&words) {
                let after = i + found.words;
                let next = items.get(after);
                let colon_follows = next.is_some_and(|it| {
                    matches!(
                        it.kind,
                        Kind::Spoken(Mark::Colon) | Kind::Recognizer(Mark::Colon)
                    )
                });
                let ends_here = next.is_none_or(|it| {
                    matches!(
                        it.kind,
                        Kind::Spoken(Mark::Period)
                            | Kind::Command(Command::LineBreak | Command::Paragraph)
                    )
                });
                let next_is_verb =
                    next.is_some_and(|it| it.is_word() && VERBS.contains(&it.lower().as_str()));
                let text_follows =
                    next.is_some_and(|it| matches!(it.kind, Kind::Word | Kind::Formatted));
                let opens_bare = found.exact
                    && found.heading.opens_bare(&found.alias)
                    && !next_is_verb
                    && text_follows;
                if colon_follows || (ends_here && found.exact) || opens_bare {
                    out.push(Item::spanning(
                        Kind::Command(Command::Heading(found.heading.name.clone())),
                        "",
                        &items[i..after],
                    ));
                    i = swallow_heading_colon(&items, after);
                    at_start = true;
                    continue;
                }
            }
        }
        match &item.kind {
            Kind::Recognizer(_) if at_start => {}
            kind => at_start = starts_sentence(kind),
        }
        out.push(item.clone());
        i += 1;
    }
    out
}

/// Skips the colon or full stop said right after a heading, and the recognizer's punctuation
/// around it.
fn swallow_heading_colon(items: &[Item], mut i: usize) -> usize {
    let mut swallowed_spoken = false;
    while let Some(item) = items.get(i) {
        match item.kind {
            Kind::Recognizer(_) => i += 1,
            Kind::Spoken(Mark::Colon | Mark::Period) if !swallowed_spoken => {
                swallowed_spoken = true;
                i += 1;
            }
            _ => break,
        }
    }
    i
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words_tolerate_mishearing() {
        assert_eq!(command_word("kålon"), Some(Word::Kolon));
        assert_eq!(command_word("Punkt"), Some(Word::Punkt));
        assert_eq!(command_word("rebrik"), Some(Word::Rubrik));
        assert_eq!(command_word("frågetäcken"), Some(Word::Fragetecken));
        assert_eq!(command_word("kola"), None);
        assert_eq!(command_word("punk"), None);
    }
}
