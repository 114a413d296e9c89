//! Splitting raw recognized text into word items with their character offsets, separating the
//! recognizer's own punctuation from the words it is attached to.

use super::SpokenWord;

/// Spoken punctuation marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Period,
    Comma,
    Colon,
    Semicolon,
    Question,
    Exclamation,
    Slash,
    Hyphen,
    Dash,
    OpenParen,
    CloseParen,
    Quote,
}

impl Mark {
    pub(crate) fn from_char(c: char) -> Option<Mark> {
        Some(match c {
            '.' => Mark::Period,
            ',' => Mark::Comma,
            ':' => Mark::Colon,
            ';' => Mark::Semicolon,
            '?' => Mark::Question,
            '!' => Mark::Exclamation,
            '/' => Mark::Slash,
            '-' => Mark::Hyphen,
            '–' | '—' => Mark::Dash,
            '(' => Mark::OpenParen,
            ')' => Mark::CloseParen,
            '"' | '”' | '“' | '«' | '»' => Mark::Quote,
            _ => return None,
        })
    }

    pub(crate) fn ends_sentence(self) -> bool {
        matches!(self, Mark::Period | Mark::Question | Mark::Exclamation)
    }
}

/// Spoken commands other than punctuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    LineBreak,
    Paragraph,
    DeleteSentence,
    NextHeading,
    Heading(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A recognized word, untouched so far.
    Word,
    /// Text produced by formatting (a number, a unit, a code, an abbreviation).
    Formatted,
    /// Punctuation the clinician said.
    Spoken(Mark),
    /// Punctuation the recognizer added on its own.
    Recognizer(Mark),
    /// A dictation command.
    Command(Command),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) kind: Kind,
    pub(crate) text: String,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) p: Option<f32>,
    /// Index into the corrections, when term correction replaced this word.
    pub(crate) correction: Option<usize>,
}

impl Item {
    pub(crate) fn new(kind: Kind, text: impl Into<String>, start: usize, end: usize) -> Item {
        Item {
            kind,
            text: text.into(),
            start,
            end,
            p: None,
            correction: None,
        }
    }

    pub(crate) fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }

    /// The word lowercased, for comparisons.
    pub(crate) fn lower(&self) -> String {
        self.text.to_lowercase()
    }

    /// A new item covering `items` (which must be non-empty and in order).
    pub(crate) fn spanning(kind: Kind, text: impl Into<String>, items: &[Item]) -> Item {
        let start = items.first().map_or(0, |i| i.start);
        let end = items.last().map_or(start, |i| i.end);
        let p = items
            .iter()
            .filter_map(|i| i.p)
            .fold(None, |acc: Option<f32>, p| {
                Some(acc.map_or(p, |a| a.min(p)))
            });
        Item {
            kind,
            text: text.into(),
            start,
            end,
            p,
            correction: None,
        }
    }
}

/// Characters that, at the edge of a word, are the recognizer's punctuation.
fn is_edge_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ':' | ';' | '?' | '!' | '(' | ')' | '"' | '”' | '“' | '«' | '»' | '–' | '—'
    )
}

/// Joins recognizer words into one text, with each character's word probability.
pub(crate) fn join_words(words: &[SpokenWord]) -> (String, Vec<f32>) {
    let mut text = String::new();
    let mut probabilities = Vec::new();
    for word in words {
        let piece = word.text.as_str();
        let glued = piece.starts_with(char::is_whitespace)
            || piece.chars().all(|c| is_edge_punct(c) || c == '-');
        if !glued && !text.is_empty() {
            text.push(' ');
            probabilities.push(1.0);
        }
        for c in piece.chars() {
            text.push(c);
            probabilities.push(word.p);
        }
    }
    (text, probabilities)
}

/// Splits text into words and the recognizer's punctuation. `probabilities` has one entry per
/// character of `text`, or is empty when unknown.
pub(crate) fn tokenize(text: &str, probabilities: &[f32]) -> Vec<Item> {
    let chars: Vec<char> = text.chars().collect();
    let probability = |start: usize, end: usize| -> Option<f32> {
        probabilities
            .get(start..end)
            .and_then(|ps| ps.iter().copied().reduce(f32::min))
    };
    let mut items = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let end = i;
        let mut word_start = start;
        let mut word_end = end;
        while word_start < word_end && is_edge_punct(chars[word_start]) {
            word_start += 1;
        }
        // A trailing full stop after digits ("38.5.") or letters is punctuation; an inner one
        // ("J03.0", "38.5") is part of the word.
        while word_end > word_start && is_edge_punct(chars[word_end - 1]) {
            word_end -= 1;
        }
        for (k, &c) in chars.iter().enumerate().take(word_start).skip(start) {
            if let Some(mark) = Mark::from_char(c) {
                items.push(Item::new(Kind::Recognizer(mark), c.to_string(), k, k + 1));
            }
        }
        if word_start < word_end {
            let word: String = chars[word_start..word_end].iter().collect();
            for (text, offset) in split_glued_unit(&word) {
                let s = word_start + offset;
                let e = s + text.chars().count();
                let mut item = Item::new(Kind::Word, text, s, e);
                item.p = probability(s, e);
                items.push(item);
            }
        }
        for (k, &c) in chars.iter().enumerate().take(end).skip(word_end) {
            if let Some(mark) = Mark::from_char(c) {
                items.push(Item::new(Kind::Recognizer(mark), c.to_string(), k, k + 1));
            }
        }
    }
    items
}

/// Tens as said in a compound number, with the form the recognizer clips them to.
const TENS_STEMS: [(&str, &str); 8] = [
    ("tjugo", "tjug"),
    ("trettio", "tretti"),
    ("fyrtio", "fyrti"),
    ("femtio", "femti"),
    ("sextio", "sexti"),
    ("sjuttio", "sjutti"),
    ("åttio", "åtti"),
    ("nittio", "nitti"),
];
/// Units 1–9 as the last part of a compound number.
const UNIT_WORDS: [&str; 9] = [
    "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio",
];

/// Number words the recognizer misspelled by ear, respelled so that number formatting reads
/// them: a tens word followed by something that sounds like a unit ("trettioota" →
/// "trettioåtta", "nittiofeira" → "nittiofyra", "sjuttiotta" → "sjuttioåtta"), and the
/// English "hundred" for "hundra". Only a word that starts with a tens word is touched, and
/// only when the rest is one or two letters away from exactly one unit word.
///
/// A tens word said alone is respelled when it is one letter away from exactly one tens word
/// ("fyrtiot"), or two letters away when a unit word follows, which a compound number said
/// in two words has ("sjuttej åtta" → "sjuttio åtta"); either way it starts as the tens word
/// does for more letters than it differs in.
pub(crate) fn repair_number_words(mut items: Vec<Item>) -> Vec<Item> {
    for i in 0..items.len() {
        if !items[i].is_word() {
            continue;
        }
        let lower = items[i].text.to_lowercase();
        if lower == "hundred" {
            items[i].text = "hundra".into();
            continue;
        }
        if super::numbers::parse_cardinal(&lower).is_some() {
            continue;
        }
        let unit_follows = items
            .get(i + 1)
            .is_some_and(|next| next.is_word() && UNIT_WORDS.contains(&next.lower().as_str()));
        if let Some(repaired) =
            repaired_compound(&lower).or_else(|| repaired_tens(&lower, unit_follows))
        {
            tracing::debug!(original = %items[i].text, %repaired, "number word respelled");
            items[i].text = repaired;
        }
    }
    items
}

/// Shortest word read as a misspelled tens word: shorter ones are near too many words.
const MISSPELLED_TENS_MIN_LETTERS: usize = 6;

/// The tens word `lower` is a misspelling of, if it is unambiguously one (see
/// [`repair_number_words`]).
fn repaired_tens(lower: &str, unit_follows: bool) -> Option<String> {
    let chars: Vec<char> = lower.chars().collect();
    if chars.len() < MISSPELLED_TENS_MIN_LETTERS || !chars.iter().all(|c| c.is_alphabetic()) {
        return None;
    }
    let allowed = if unit_follows { 2 } else { 1 };
    let mut close = TENS_STEMS.iter().map(|(tens, _)| *tens).filter(|tens| {
        let tens_chars: Vec<char> = tens.chars().collect();
        let distance = skriva_vocab::edit_distance(&chars, &tens_chars);
        // The start is what the recognizer hears best: "sektion åtta" is no "sextio åtta".
        let same_start = chars
            .iter()
            .zip(&tens_chars)
            .take_while(|(a, b)| a == b)
            .count();
        distance <= allowed && same_start > distance
    });
    match (close.next(), close.next()) {
        (Some(tens), None) => Some(tens.to_owned()),
        _ => None,
    }
}

fn repaired_compound(lower: &str) -> Option<String> {
    for (tens, clipped) in TENS_STEMS {
        for stem in [tens, clipped] {
            let Some(rest) = lower.strip_prefix(stem) else {
                continue;
            };
            let rest_chars: Vec<char> = rest.chars().collect();
            if rest_chars.len() < 2 || rest_chars.len() > 5 {
                continue;
            }
            let key = skriva_vocab::phonetic_key(rest);
            let close: Vec<&str> = UNIT_WORDS
                .iter()
                .copied()
                .filter(|unit| {
                    let unit_chars: Vec<char> = unit.chars().collect();
                    let distance = skriva_vocab::edit_distance(&rest_chars, &unit_chars);
                    skriva_vocab::phonetic_key(unit) == key
                        || (distance <= 1 && rest_chars.len() >= 3)
                        || (distance <= 2 && rest_chars.len() >= 4 && unit_chars.len() >= 4)
                })
                .collect();
            if let [unit] = close.as_slice() {
                return Some(format!("{tens}{unit}"));
            }
        }
    }
    None
}

/// Fewest digits of a value glued to a label in capitals ("PF300"): a shorter number is
/// part of a name ("PHQ9", "GAD7").
const GLUED_VALUE_MIN_DIGITS: usize = 2;

/// "75mg" → "75", "mg"; "96%" → "96", "%"; "PF300" → "PF", "300". Other words are returned
/// whole.
fn split_glued_unit(word: &str) -> Vec<(String, usize)> {
    let capitals = word.chars().take_while(|c| c.is_uppercase()).count();
    let rest: String = word.chars().skip(capitals).collect();
    let value = rest.chars().filter(char::is_ascii_digit).count() >= GLUED_VALUE_MIN_DIGITS
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.');
    if capitals >= 2 && value {
        let label: String = word.chars().take(capitals).collect();
        return vec![(label, 0), (rest, capitals)];
    }
    let digits: usize = word
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .count();
    let total = word.chars().count();
    if digits > 0 && digits < total {
        let (number, unit): (String, String) = (
            word.chars().take(digits).collect(),
            word.chars().skip(digits).collect(),
        );
        let glued_unit = matches!(
            unit.to_lowercase().as_str(),
            "mg" | "g" | "ml" | "kg" | "%" | "mmhg" | "cm" | "mm"
        );
        if glued_unit && number.chars().any(|c| c.is_ascii_digit()) {
            return vec![(number, 0), (unit, digits)];
        }
    }
    vec![(word.to_owned(), 0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizer_punctuation_is_separated() {
        let items = tokenize("Punkt. Kolon, J03.0 och 38.5. (ja)", &[]);
        let kinds: Vec<(String, bool)> = items
            .iter()
            .map(|i| (i.text.clone(), i.kind == Kind::Word))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("Punkt".into(), true),
                (".".into(), false),
                ("Kolon".into(), true),
                (",".into(), false),
                ("J03.0".into(), true),
                ("och".into(), true),
                ("38.5".into(), true),
                (".".into(), false),
                ("(".into(), false),
                ("ja".into(), true),
                (")".into(), false),
            ]
        );
        assert_eq!((items[4].start, items[4].end), (14, 19));
    }

    #[test]
    fn words_join_with_probabilities() {
        let word = |t: &str, p: f32| SpokenWord {
            text: t.into(),
            start: 0.0,
            end: 0.0,
            p,
        };
        let (text, ps) = join_words(&[word(" Tar", 0.9), word(" Atarrax", 0.3), word(".", 0.8)]);
        assert_eq!(text, " Tar Atarrax.");
        let items = tokenize(&text, &ps);
        assert_eq!(items[1].p, Some(0.3));
        assert_eq!(tokenize("75mg", &[])[1].text, "mg");
        let texts =
            |t: &str| -> Vec<String> { tokenize(t, &[]).into_iter().map(|i| i.text).collect() };
        assert_eq!(
            texts("PF300 och CRP4,5"),
            ["PF", "300", "och", "CRP", "4,5"]
        );
        assert_eq!(texts("PHQ9 HbA1c J03.0"), ["PHQ9", "HbA1c", "J03.0"]);
    }
}
