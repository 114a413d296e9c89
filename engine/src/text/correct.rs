//! Term correction: a recognized word that is not Swedish the recognizer knew, but sounds
//! like a drug, diagnosis or word of clinical prose in the vocabulary ("Atarrax" → "Atarax",
//! "belegningar" → "beläggningar"), is replaced and the replacement recorded. Conservative by
//! design: only near matches of what was recognized, never frequent Swedish words, stricter
//! when the recognizer was confident.

use std::collections::HashSet;
use std::sync::OnceLock;

use skriva_vocab::{phonetic_key, TermKind, Vocabulary};

use super::tokens::{Command, Item, Kind};
use super::{Correction, CorrectionSource};
use crate::error::Result;

/// Frequent Swedish words that are never corrected.
fn common_words() -> &'static HashSet<String> {
    static WORDS: OnceLock<HashSet<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("common_words.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    })
}

/// Words near a drug name that make a dose context plausible.
const DRUG_CONTEXT: [&str; 22] = [
    "tar",
    "tagit",
    "insätter",
    "insätts",
    "sätter",
    "höjer",
    "höjs",
    "sänker",
    "sänks",
    "byter",
    "behandlas",
    "behandling",
    "recept",
    "ordineras",
    "ordinerar",
    "tablett",
    "tabletter",
    "mot",
    "med",
    "fortsatt",
    "fortsätter",
    "står",
];

/// Least score for a replacement without context.
const BASE_THRESHOLD: f32 = 0.86;
/// Extra score a word of clinical prose needs over a drug or diagnosis.
const CLINICAL_WORD_MARGIN: f32 = 0.02;
/// A best match this far ahead of the next candidate is unambiguous.
const CLEAR_LEAD: f32 = 0.15;
/// Shortest word considered.
const MIN_LETTERS: usize = 5;

fn in_drug_context(items: &[Item], i: usize) -> bool {
    let lo = i.saturating_sub(4);
    let hi = (i + 5).min(items.len());
    items[lo..hi].iter().enumerate().any(|(k, it)| {
        lo + k != i
            && ((it.kind == Kind::Formatted
                && it
                    .text
                    .split_whitespace()
                    .any(|w| matches!(w, "mg" | "g" | "mikrogram" | "ml" | "E")))
                || (it.is_word() && DRUG_CONTEXT.contains(&it.lower().as_str())))
    })
}

fn with_case_of(original: &str, replacement: &str) -> String {
    let original_capital = original.chars().next().is_some_and(char::is_uppercase);
    let replacement_lower = replacement.chars().next().is_some_and(char::is_lowercase);
    if original_capital && replacement_lower {
        let mut chars = replacement.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    } else {
        replacement.to_owned()
    }
}

/// Longest run of recognized words joined and compared as one term: whisper splits an
/// unknown drug name into pieces ("preder ni solont").
const MAX_JOINED_WORDS: usize = 3;
/// Joined words and compound splits only for terms at least this long: short ones would
/// match chance pieces of speech.
const MIN_JOINED_TERM_LETTERS: usize = 8;
/// Longest everyday word taken as the first piece of a split drug name ([`near_term`]).
const EVERYDAY_START_MAX_LETTERS: usize = 4;
/// [`MIN_JOINED_TERM_LETTERS`] for a drug name next to a dose.
const MIN_JOINED_DOSED_DRUG_LETTERS: usize = 6;
/// Fewest letters of a diagnosis whose first piece whisper wrote as an everyday word.
const LONG_SPLIT_MIN_LETTERS: usize = 12;
/// Least score for such a diagnosis: the pieces must sound all but exactly like it.
const LONG_SPLIT_MIN_SCORE: f32 = 0.9;
/// A drug name this long is unlikely to sit near an everyday word, so a clear lead counts
/// for it as it does for a diagnosis.
const LONG_DRUG_LETTERS: usize = 8;

/// A recognized word's letters for comparison: lowercase, without the hyphens whisper puts
/// into names it does not know ("AT-rax"). `None` for words with other characters.
fn comparable(item: &Item) -> Option<String> {
    if !item.is_word() || !item.text.chars().all(|c| c.is_alphabetic() || c == '-') {
        return None;
    }
    let letters = lowercase_letters(&item.text);
    (!letters.is_empty()).then_some(letters)
}

/// The letters of `text`, lowercased: what look-ups and joins compare.
fn lowercase_letters(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `word` is a heading's name or alias as written. A word only one letter off one
/// ("allerier") is prose the recognizer misspelled: a spoken heading was taken as a command
/// before correction runs.
fn spoken_heading(vocab: &Vocabulary, word: &str) -> bool {
    vocab.match_heading(&[word]).is_some_and(|m| m.exact)
}

/// A vocabulary term that `items[i..i + n]` (joined) sound like, with its score, when it
/// clears the threshold for its kind, context and the recognizer's confidence.
fn near_term<'v>(
    items: &[Item],
    i: usize,
    n: usize,
    vocab: &'v Vocabulary,
) -> Result<Option<(&'v skriva_vocab::Term, f32)>> {
    // Fewer than `n` words left: nothing to join.
    let Some(pieces) = items.get(i..i + n) else {
        return Ok(None);
    };
    let mut joined = String::new();
    for item in pieces {
        let Some(letters) = comparable(item) else {
            return Ok(None);
        };
        joined.push_str(&letters);
    }
    let first = items[i].lower();
    // Whisper splits a drug name it does not know at a short everyday word that sounds like
    // its start ("när proxen", "men formig"); such a start is a piece of the name only in a
    // dose context and only for a drug.
    let everyday_start = common_words().contains(&first);
    let drug_split_at_everyday_word = everyday_start
        && n == 2
        && first.chars().count() <= EVERYDAY_START_MAX_LETTERS
        && in_drug_context(items, i + 1);
    // A long diagnosis whisper wrote as words, the first an everyday one ("för max flimmer"):
    // taken only when the words sound all but exactly like it (see below).
    let long_split_at_everyday_word = everyday_start
        && n > 1
        && first.chars().count() <= EVERYDAY_START_MAX_LETTERS
        && joined.chars().count() >= LONG_SPLIT_MIN_LETTERS;
    if joined.chars().count() < MIN_LETTERS
        || (everyday_start && !drug_split_at_everyday_word && !long_split_at_everyday_word)
        || spoken_heading(vocab, &first)
    {
        return Ok(None);
    }
    // The pieces spell a drug name exactly next to a dose or a verb of taking ("har tagit
    // i pren"): however short the name, that is what was said.
    let drug_context = in_drug_context(items, i);
    let spelled_dosed_drug = n > 1
        && drug_context
        && vocab
            .lookup_exact(&joined)
            .iter()
            .any(|m| m.term.kind == TermKind::Drug);
    if n > 1 && joined.chars().count() < MIN_JOINED_TERM_LETTERS && !spelled_dosed_drug {
        return Ok(None);
    }
    // A later piece that is itself a word the recognizer knew, or a term, was said as a word:
    // "och regelbunden" is not "oregelbunden". Short ones are often pieces of the name
    // ("preder ni solont", "levak sin", though "sin" is also an abbreviation).
    // A later piece that is a diagnosis of the same code is the end of its longer name
    // ("för max flimmer", förmaksflimmer).
    let mut later_terms = Vec::new();
    for it in &items[i + 1..i + n] {
        let lower = it.lower();
        if lower.chars().count() < MIN_LETTERS {
            continue;
        }
        if common_words().contains(&lower) {
            return Ok(None);
        }
        later_terms.extend(vocab.lookup_exact(&lower));
    }
    let matches = vocab.lookup(&joined, 5)?;
    let mut candidates = matches.iter().filter(|m| {
        matches!(
            m.term.kind,
            TermKind::Drug | TermKind::Diagnosis | TermKind::ClinicalWord
        ) && (n > 1 || !m.term.form.contains(' '))
    });
    let Some(best) = candidates.next() else {
        return Ok(None);
    };
    let same_diagnosis = |m: &skriva_vocab::TermMatch<'_>| {
        m.term.kind == TermKind::Diagnosis
            && best.term.kind == TermKind::Diagnosis
            && m.term.code.is_some()
            && m.term.code == best.term.code
    };
    if !later_terms.iter().all(same_diagnosis) {
        return Ok(None);
    }
    if drug_split_at_everyday_word && best.term.kind != TermKind::Drug {
        return Ok(None);
    }
    if long_split_at_everyday_word
        && !drug_split_at_everyday_word
        && (best.term.kind != TermKind::Diagnosis || best.score < LONG_SPLIT_MIN_SCORE)
    {
        return Ok(None);
    }
    let runner_up = candidates.next().map_or(0.0, |m| m.score);
    let form: String = best
        .term
        .form
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (word_len, form_len) = (joined.chars().count() as f32, form.chars().count() as f32);
    if !(0.75..=1.34).contains(&(word_len / form_len)) {
        return Ok(None);
    }
    // What follows a dosing says how long or when ("1 x 1 i en vecka"), not which drug: the
    // drug was named before its dose.
    let after_dosing =
        i > 0 && items[i - 1].kind == Kind::Formatted && items[i - 1].text.contains(" x ");
    if best.term.kind == TermKind::Drug && after_dosing {
        return Ok(None);
    }
    let dosed_drug = best.term.kind == TermKind::Drug && drug_context;
    // A dose beside it makes a shorter drug name likely enough ("levak sin" → Levaxin).
    let min_term_letters = if dosed_drug {
        MIN_JOINED_DOSED_DRUG_LETTERS
    } else {
        MIN_JOINED_TERM_LETTERS
    };
    if n > 1 && (form_len as usize) < min_term_letters && !spelled_dosed_drug {
        return Ok(None);
    }
    // The word in another form ("otillräcklig" of "otillräckligt", "yrseln" of "yrsel") is
    // what the recognizer got right. A drug name only takes the definite ending, as speech
    // gives it ("vi höjer sertralinet", "furosemiden"); other letters after one are a
    // misspelling ("Sertralinn").
    let form_lower = form.to_lowercase();
    // A term of several words inflects word by word ("den sociala fobin" of "social fobi").
    let form_words: Vec<String> = best
        .term
        .form
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let heard_words: Vec<String> = pieces.iter().filter_map(comparable).collect();
    let inflected_phrase = form_words.len() > 1
        && heard_words.len() == form_words.len()
        && heard_words
            .iter()
            .zip(&form_words)
            .all(|(heard, word)| heard == word || same_stem(heard, word));
    let inflected = match best.term.kind {
        TermKind::Drug => definite_form_of(&joined, &form_lower),
        // A word built on the whole term is a word of its own ("pollenallergiker" of
        // "pollenallergi", "astmatiker"), not a misspelling of it.
        _ => {
            same_stem(&joined, &form_lower)
                || inflected_phrase
                || joined
                    .strip_prefix(form_lower.as_str())
                    .is_some_and(|rest| rest.chars().count() <= DERIVATION_LETTERS)
        }
    };
    if inflected {
        return Ok(None);
    }
    // The first word already is the term as said ("atorvastatinet i 4 veckor"): the words
    // after it are words of their own, not pieces of the name.
    if n > 1 {
        let first_letters = comparable(&items[i]).unwrap_or_default();
        let first_is_term =
            first_letters == form_lower || definite_form_of(&first_letters, &form_lower);
        if first_is_term {
            return Ok(None);
        }
    }
    // A mishearing keeps the first sound.
    if phonetic_key(&joined).chars().next() != phonetic_key(&form).chars().next() {
        return Ok(None);
    }
    let mut threshold = BASE_THRESHOLD;
    if best.term.kind == TermKind::ClinicalWord {
        // Words of clinical prose sit among everyday words a letter away ("simning",
        // "svimning"), which the list of common words cannot all hold.
        threshold += CLINICAL_WORD_MARGIN;
    }
    if dosed_drug {
        threshold -= 0.06;
    }
    let long_drug = best.term.kind == TermKind::Drug && form_len as usize >= LONG_DRUG_LETTERS;
    if (best.term.kind == TermKind::Diagnosis || long_drug) && best.score - runner_up >= CLEAR_LEAD
    {
        // One term stands out, so the mishearing is not ambiguous between terms. Not for
        // short drug names: they sit near everyday words.
        threshold -= 0.05;
    }
    let p = items[i..i + n]
        .iter()
        .filter_map(|it| it.p)
        .fold(None, |acc: Option<f32>, p| {
            Some(acc.map_or(p, |a| a.min(p)))
        });
    match p {
        Some(p) if p < 0.5 => threshold -= 0.05,
        Some(p) if p >= 0.9 => threshold += 0.06,
        _ => {}
    }
    Ok((best.score >= threshold).then_some((best.term, best.score)))
}

/// Most letters a derived word adds to a whole term ("-iker", "-isk").
const DERIVATION_LETTERS: usize = 4;

/// Letters at the end in which two forms of one word may differ ("yrsel", "yrseln";
/// "laterala", "lateralt"; "svullnat", "svullnad").
const INFLECTION_LETTERS: usize = 2;

/// Whether two words differ only in their last [`INFLECTION_LETTERS`] letters, so are forms
/// of the same word. A repeated last letter ("remis", "remiss") is a misspelling instead.
fn same_stem(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (rest_a, rest_b) = (&a[common..], &b[common..]);
    if rest_a.len() > INFLECTION_LETTERS || rest_b.len() > INFLECTION_LETTERS || common < 4 {
        return false;
    }
    let doubled = |rest: &[char]| rest.len() == 1 && common > 0 && rest[0] == a[common - 1];
    !(rest_a.is_empty() && doubled(rest_b) || rest_b.is_empty() && doubled(rest_a))
}

/// Whether `word` is the drug name `name` with a definite ending: "-en"/"-et" after a
/// consonant ("furosemiden", "sertralinet"), "-n"/"-t" after a vowel ("Emlan").
fn definite_form_of(word: &str, name: &str) -> bool {
    let Some(ending) = word.strip_prefix(name) else {
        return false;
    };
    let after_vowel = name.chars().last().is_some_and(|c| "aeiouyåäö".contains(c));
    match ending {
        "en" | "et" => !after_vowel,
        "n" | "t" => after_vowel,
        _ => false,
    }
}

/// Words said right before a diagnosis that whisper joins to it ("kändastma").
const DIAGNOSIS_QUALIFIERS: [&str; 10] = [
    "känd",
    "kända",
    "misstänkt",
    "lätt",
    "svår",
    "akut",
    "kronisk",
    "tidigare",
    "måttlig",
    "ingen",
];

/// A word whisper joined from an everyday word and a term ("kändastma"): the two, when the
/// end is exactly a drug or diagnosis and the start a frequent word. Over two words
/// (`pieces`), the term may also run into the second ("medförmaks flimer"), and is then a
/// long diagnosis that the letters after the everyday word sound all but exactly like.
fn split_compound(
    pieces: &[Item],
    vocab: &Vocabulary,
) -> Result<Option<(String, CorrectionSource, f32)>> {
    let Some(first) = pieces.first() else {
        return Ok(None);
    };
    let mut letters = String::new();
    for piece in pieces {
        match comparable(piece) {
            Some(l) if !piece.text.contains('-') => letters.push_str(&l),
            _ => return Ok(None),
        }
    }
    let first_letters = comparable(first).map_or(0, |l| l.chars().count());
    let chars: Vec<char> = letters.chars().collect();
    let heads = 2..first_letters.min(chars.len().saturating_sub(MIN_LETTERS - 1));
    for k in heads {
        let head: String = chars[..k].iter().collect();
        let tail: String = chars[k..].iter().collect();
        if !common_words().contains(&head) && !DIAGNOSIS_QUALIFIERS.contains(&head.as_str()) {
            continue;
        }
        let found = if pieces.len() == 1 {
            vocab
                .lookup_exact(&tail)
                .into_iter()
                .find(|m| matches!(m.term.kind, TermKind::Drug | TermKind::Diagnosis))
                .map(|m| (m.term, 1.0))
        } else if tail.chars().count() >= LONG_SPLIT_MIN_LETTERS {
            vocab
                .lookup(&tail, 1)?
                .into_iter()
                .find(|m| {
                    m.term.kind == TermKind::Diagnosis
                        && m.score >= LONG_SPLIT_MIN_SCORE
                        && phonetic_key(&tail).chars().next()
                            == phonetic_key(&m.term.form).chars().next()
                })
                .map(|m| (m.term, m.score))
        } else {
            None
        };
        let Some((term, score)) = found else {
            continue;
        };
        let head_text: String = first.text.chars().take(k).collect();
        let text = format!("{head_text} {}", term.form);
        return Ok(Some((text, source_of(term), score)));
    }
    Ok(None)
}

/// Term correction of `items`; `corrections` holds those made before (by [`misheard_codes`]),
/// which items already refer to.
pub(crate) fn correct(
    items: Vec<Item>,
    vocab: &Vocabulary,
    mut corrections: Vec<Correction>,
) -> Result<(Vec<Item>, Vec<Correction>)> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut i = 0;
    while i < items.len() {
        let item = &items[i];
        // Abbreviations heard as other words, recognized by where they stand or by spelling.
        let heard_abbreviation = general_condition_heard(&out, &items, i)
            .map(|n| (n, "AT".to_owned()))
            .or_else(|| capitals_one_off(item, vocab).map(|a| (1, a.short.clone())));
        if let Some((n, text)) = heard_abbreviation {
            record(
                &mut out,
                &mut corrections,
                &items[i..i + n],
                text,
                CorrectionSource::Abbreviation,
                1.0,
                Kind::Formatted,
            );
            i += n;
            continue;
        }
        if let Some((term, score)) = sounded_out_term(&items, i, vocab)? {
            let text = with_case_of(&item.text, &term.form);
            let source = source_of(term);
            record(
                &mut out,
                &mut corrections,
                &items[i..=i],
                text,
                source,
                score,
                Kind::Word,
            );
            i += 1;
            continue;
        }
        let Some(lower) = comparable(item) else {
            out.push(item.clone());
            i += 1;
            continue;
        };
        if let Some(abbreviation) = near_abbreviation(&items, i, &lower, vocab) {
            let (spoken, text) = (&items[i..=i], abbreviation.short.clone());
            let source = CorrectionSource::Abbreviation;
            record(
                &mut out,
                &mut corrections,
                spoken,
                text,
                source,
                1.0,
                Kind::Formatted,
            );
            i += 1;
            continue;
        }
        let joined = (2..=MAX_JOINED_WORDS)
            .rev()
            .find_map(|n| exactly_joined(&items, i, n, vocab));
        let (n, term, score) = match joined {
            Some((n, term)) => (n, term, 1.0),
            None => {
                let nearest = if common_words().contains(&lower) || spoken_heading(vocab, &lower) {
                    // Only as the start of a drug name split there ("När proxen") or
                    // of a long diagnosis ("För max flimmer").
                    let mut found = None;
                    for n in 2..=MAX_JOINED_WORDS {
                        if let Some((term, score)) = near_term(&items, i, n, vocab)? {
                            if found.is_none_or(|(_, _, best)| score > best) {
                                found = Some((n, term, score));
                            }
                        }
                    }
                    match found {
                        Some((n, term, score)) => Nearest::Found(n, term, score),
                        None => Nearest::Kept(item.clone()),
                    }
                } else {
                    best_near_term(&items, i, &lower, vocab)?
                };
                match nearest {
                    Nearest::Found(n, term, score) => (n, term, score),
                    Nearest::Kept(kept) => {
                        out.push(kept);
                        i += 1;
                        continue;
                    }
                    Nearest::Compound(n, text, source, score) => {
                        let spoken = &items[i..i + n];
                        record(
                            &mut out,
                            &mut corrections,
                            spoken,
                            text,
                            source,
                            score,
                            Kind::Word,
                        );
                        i += n;
                        continue;
                    }
                }
            }
        };
        let source = source_of(term);
        // A word of prose is written as the vocabulary has it: whisper capitalizes words it
        // does not know ("Låg akut Zoicidrisk"), and sentence starts are capitalized later.
        let text = if term.kind == TermKind::ClinicalWord {
            term.form.clone()
        } else {
            with_case_of(&item.text, &term.form)
        };
        let spoken = &items[i..i + n];
        let original = spoken
            .iter()
            .map(|it| it.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if original.to_lowercase() == text.to_lowercase() {
            // Already the term, said in its words ("essentiell hypertoni").
            out.extend_from_slice(spoken);
        } else {
            record(
                &mut out,
                &mut corrections,
                spoken,
                text,
                source,
                score,
                Kind::Word,
            );
        }
        i += n;
    }
    diagnoses_named_by_their_code(&mut out, &mut corrections, vocab);
    Ok((out, corrections))
}

/// Fewest letters and digits of an abbreviation [`capitals_one_off`] matches: shorter ones
/// are one off from too many.
const CAPITALS_MIN_CHARS: usize = 4;

/// The abbreviation of letters and digits that a word of capitals and digits spells but for
/// one character ("HB1C" for HbA1c): the recognizer heard the letter names and dropped one.
/// Only when exactly one abbreviation is that near and the word is not one itself.
fn capitals_one_off<'v>(
    item: &Item,
    vocab: &'v Vocabulary,
) -> Option<&'v skriva_vocab::Abbreviation> {
    let text = item.text.as_str();
    let capitals = text.chars().filter(char::is_ascii_uppercase).count();
    if !item.is_word()
        || capitals < 2
        || !text.chars().any(|c| c.is_ascii_digit())
        || !text.chars().all(|c| c.is_ascii_alphanumeric())
        || vocab.abbreviation(text).is_some()
    {
        return None;
    }
    let heard: Vec<char> = text.to_ascii_uppercase().chars().collect();
    only_abbreviation(vocab, &|abbreviation| {
        let short: Vec<char> = abbreviation
            .short
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        short.len() >= CAPITALS_MIN_CHARS
            && short.iter().any(char::is_ascii_digit)
            && skriva_vocab::edit_distance(&heard, &short) == 1
    })
}

/// The one abbreviation that `fits`, or `None` when none or several do: a mishearing near two
/// abbreviations says neither.
fn only_abbreviation<'v>(
    vocab: &'v Vocabulary,
    fits: &dyn Fn(&skriva_vocab::Abbreviation) -> bool,
) -> Option<&'v skriva_vocab::Abbreviation> {
    let mut found = vocab.abbreviations().iter().filter(|a| fits(a));
    match (found.next(), found.next()) {
        (Some(abbreviation), None) => Some(abbreviation),
        _ => None,
    }
}

/// Words that follow "AT" (allmäntillstånd) as a status opens: "AT gott", "AT påverkat".
const GENERAL_CONDITION_GRADES: [&str; 5] =
    ["gott", "påverkat", "opåverkat", "lätt", "allmänpåverkat"];
/// Most letters of the words heard for the letter names "a te".
const GENERAL_CONDITION_MAX_LETTERS: usize = 8;

/// The number of words at `i` that are "AT" misheard ("att det påverkat", "at jag gott",
/// "atiga gott"): right after the Status heading, one or two words starting with "at", short
/// enough to be the two letter names, followed by a grade of the general condition. A
/// status opens with the general condition so often that nothing else there sounds so.
fn general_condition_heard(out: &[Item], items: &[Item], i: usize) -> Option<usize> {
    let after_status = out.last().is_some_and(
        |it| matches!(&it.kind, Kind::Command(Command::Heading(name)) if name == "Status"),
    );
    if !after_status {
        return None;
    }
    (1..=2).find(|&n| {
        let Some(words) = items.get(i..i + n) else {
            return false;
        };
        let letters: String = words
            .iter()
            .map(|w| w.is_word().then(|| w.lower()))
            .collect::<Option<Vec<_>>>()
            .map(|l| l.concat())
            .unwrap_or_default();
        let grade_follows = items.get(i + n).is_some_and(|next| {
            next.is_word() && GENERAL_CONDITION_GRADES.contains(&next.lower().as_str())
        });
        letters.starts_with("at")
            && letters != "at"
            && letters.chars().count() <= GENERAL_CONDITION_MAX_LETTERS
            && grade_follows
    })
}

/// Words before a code looked at for the diagnosis it names.
const CODE_EVIDENCE_REACH: usize = 5;
/// Least score for a diagnosis that a code after it names: the code is the evidence that
/// the word is that diagnosis, so a far rougher match than elsewhere will do.
const CODE_EVIDENCE_MIN_SCORE: f32 = 0.4;

/// A diagnosis said before its ICD-10 code in the same sentence, misheard ("Lundba
/// diagnoskod M54.5"): the word before the code that sounds most like one of the code's own
/// names, keeping its first sound, becomes that name. Nothing changes when a name of the
/// diagnosis is already there, and only unknown words are candidates.
fn diagnoses_named_by_their_code(
    out: &mut [Item],
    corrections: &mut Vec<Correction>,
    vocab: &Vocabulary,
) {
    for j in 0..out.len() {
        if out[j].kind != Kind::Formatted {
            continue;
        }
        let Some(diagnosis) = vocab.diagnosis_by_code(&out[j].text) else {
            continue;
        };
        let start = (0..j)
            .rev()
            .take(CODE_EVIDENCE_REACH)
            .take_while(|&k| match out[k].kind {
                Kind::Spoken(mark) | Kind::Recognizer(mark) => !mark.ends_sentence(),
                Kind::Command(_) => false,
                _ => true,
            })
            .last()
            .unwrap_or(j);
        let named = out[start..j].iter().any(|it| {
            let lower = it.lower();
            diagnosis.aliases.contains(&lower)
        });
        if named {
            continue;
        }
        let mut best: Option<(usize, &str, f32)> = None;
        for (k, item) in out.iter().enumerate().take(j).skip(start) {
            let Some(lower) = comparable(item) else {
                continue;
            };
            if item.correction.is_some()
                || lower.chars().count() < MIN_LETTERS
                || common_words().contains(&lower)
                || !vocab.lookup_exact(&lower).is_empty()
            {
                continue;
            }
            let heard = phonetic_key(&lower);
            for alias in diagnosis.aliases.iter().filter(|a| !a.contains(' ')) {
                let key = phonetic_key(alias);
                let score = skriva_vocab::similarity(&heard, &key);
                let same_start = heard.chars().next() == key.chars().next();
                if same_start
                    && score >= CODE_EVIDENCE_MIN_SCORE
                    && best.is_none_or(|(_, _, b)| score > b)
                {
                    best = Some((k, alias, score));
                }
            }
        }
        if let Some((k, alias, score)) = best {
            let replacement = with_case_of(&out[k].text, alias);
            let source = CorrectionSource::Diagnosis;
            out[k] = corrected(
                corrections,
                &out[k..=k],
                replacement,
                source,
                score,
                Kind::Word,
            );
        }
    }
}

/// What the look-up found for the word at a position.
enum Nearest<'v> {
    /// `n` words that sound like `term`, with the score.
    Found(usize, &'v skriva_vocab::Term, f32),
    /// The word stays (perhaps with a drug's brand capital restored).
    Kept(Item),
    /// An everyday word and a term whisper joined ("kändastma"), split again.
    Compound(usize, String, CorrectionSource, f32),
}

/// The word at `i` (`lower` is its letters) as a term, or the longest run of words from it
/// that sounds like one; a single word first when it is as good, since most mishearings
/// stay one word.
fn best_near_term<'v>(
    items: &[Item],
    i: usize,
    lower: &str,
    vocab: &'v Vocabulary,
) -> Result<Nearest<'v>> {
    let item = &items[i];
    let exact = vocab.lookup_exact(lower);
    if !exact.is_empty() && !item.text.contains('-') {
        let mut kept = item.clone();
        if let Some(known) = exact.iter().find(|m| m.term.kind == TermKind::Drug) {
            // Already a term: only its brand capital is restored.
            let brand = known
                .term
                .form
                .chars()
                .next()
                .is_some_and(char::is_uppercase);
            if brand && item.text != known.term.form {
                kept.text = known.term.form.clone();
            }
        }
        return Ok(Nearest::Kept(kept));
    }
    let mut found: Option<(usize, &skriva_vocab::Term, f32)> = None;
    for n in 1..=MAX_JOINED_WORDS.min(items.len() - i) {
        if let Some((term, score)) = near_term(items, i, n, vocab)? {
            if found.is_none_or(|(_, _, best)| score > best + 0.02) {
                found = Some((n, term, score));
            }
        }
    }
    Ok(match found {
        Some((n, term, score)) => Nearest::Found(n, term, score),
        None => {
            // Two words only when one is not a compound already: each look-up queries the index.
            let compound = match split_compound(&items[i..=i], vocab)? {
                Some(found) => Some((1, found)),
                None => split_compound(items.get(i..i + 2).unwrap_or_default(), vocab)?
                    .map(|found| (2, found)),
            };
            match compound {
                Some((n, (text, source, score))) => Nearest::Compound(n, text, source, score),
                None => Nearest::Kept(item.clone()),
            }
        }
    })
}

/// Words that never start a compound whisper split: joining them makes another word ("och
/// regelbunden" is not "ochregelbunden", and "i dag" stays two words).
const NEVER_JOINED: [&str; 24] = [
    "och", "i", "på", "av", "en", "ett", "att", "som", "med", "för", "till", "om", "men", "vid",
    "har", "är", "ej", "inte", "ingen", "inga", "den", "det", "de", "så",
];

/// `n` words from `i` that, written together, are exactly a vocabulary term: a compound
/// whisper wrote in pieces ("åter besök" → "återbesök", "blod trycks kontroll" →
/// "blodtryckskontroll"). Nothing is guessed: the joined letters must be the term's.
fn exactly_joined<'v>(
    items: &[Item],
    i: usize,
    n: usize,
    vocab: &'v Vocabulary,
) -> Option<(usize, &'v skriva_vocab::Term)> {
    let pieces = items.get(i..i + n)?;
    let mut joined = String::new();
    for (k, piece) in pieces.iter().enumerate() {
        let letters = comparable(piece)?;
        if piece.text.contains('-') || (k == 0 && NEVER_JOINED.contains(&letters.as_str())) {
            return None;
        }
        joined.push_str(&letters);
    }
    if joined.chars().count() < MIN_LETTERS + 3 {
        return None;
    }
    vocab
        .lookup_exact(&joined)
        .into_iter()
        .map(|m| m.term)
        .find(|term| {
            matches!(
                term.kind,
                TermKind::Drug | TermKind::Diagnosis | TermKind::ClinicalWord
            ) && lowercase_letters(&term.form) == joined
        })
        .map(|term| (n, term))
}

/// Replaces `spoken` by one item of `kind`, `replacement`, recorded as a correction for the
/// review page.
fn record(
    out: &mut Vec<Item>,
    corrections: &mut Vec<Correction>,
    spoken: &[Item],
    replacement: String,
    source: CorrectionSource,
    score: f32,
    kind: Kind,
) {
    out.push(corrected(
        corrections,
        spoken,
        replacement,
        source,
        score,
        kind,
    ));
}

/// The item of `kind` that replaces `spoken` by `replacement`, its correction recorded.
fn corrected(
    corrections: &mut Vec<Correction>,
    spoken: &[Item],
    replacement: String,
    source: CorrectionSource,
    score: f32,
    kind: Kind,
) -> Item {
    let original = spoken
        .iter()
        .map(|it| it.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    tracing::debug!(%original, %replacement, score, "term correction");
    let mut item = Item::spanning(kind, replacement.clone(), spoken);
    corrections.push(Correction {
        original,
        replacement,
        start_char: item.start,
        end_char: item.end,
        source,
        score,
    });
    item.correction = Some(corrections.len() - 1);
    item
}

/// Words said right before an ICD-10 code, with the recognizer's hearings of "diagnoskod"
/// ("rena skåd", "god innan skåd").
const CODE_KEYWORDS: [&str; 9] = [
    "diagnos",
    "diagnosen",
    "kod",
    "diagnoskod",
    "icd",
    "icd-kod",
    "skåd",
    "kåd",
    "god",
];

/// The Swedish names of the letters that open ICD-10 codes, as the recognizer writes them
/// when a code is spelled ("J noll tre" heard as "i 0,3"). A name two letters share ("i" for
/// I and J, "en" for M and N) lists both; the vocabulary's codes decide between them.
const LETTER_NAMES: [(&str, &str); 38] = [
    ("a", "A"),
    ("be", "B"),
    ("se", "C"),
    ("ce", "C"),
    ("de", "D"),
    ("e", "E"),
    ("ä", "E"),
    ("eff", "F"),
    ("ef", "F"),
    ("äff", "F"),
    ("efter", "F"),
    ("ge", "G"),
    ("hå", "H"),
    ("ho", "H"),
    ("i", "IJ"),
    ("ji", "J"),
    ("jii", "J"),
    ("gi", "J"),
    ("kå", "K"),
    ("ko", "K"),
    ("ell", "L"),
    ("el", "L"),
    ("äll", "L"),
    ("em", "M"),
    ("emm", "M"),
    ("äm", "M"),
    ("en", "MN"),
    ("enn", "N"),
    ("än", "N"),
    ("o", "O"),
    ("pe", "P"),
    ("ärr", "R"),
    ("err", "R"),
    ("ess", "S"),
    ("te", "T"),
    ("u", "U"),
    ("ve", "V"),
    ("säta", "Z"),
];

/// Most number words or digit groups read as one code's digits ("noll tre punkt noll").
const CODE_NUMBER_PIECES: usize = 4;

/// The digits of a spelled ICD-10 code from `items` (after its letter): the category's two
/// and one or two after the dot, however the recognizer wrote them ("0,3 punkten 0", "54.5",
/// "femtiofyra punkt fem"), with how many items they took.
fn code_digits(items: &[Item]) -> Option<(String, usize)> {
    let mut digits = String::new();
    let mut used = 0;
    let mut pieces = 0;
    while let Some(item) = items.get(used).filter(|it| it.is_word()) {
        let lower = item.lower();
        let written = lower.chars().any(|c| c.is_ascii_digit())
            && lower
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.');
        if written {
            digits.extend(lower.chars().filter(char::is_ascii_digit));
        } else if matches!(lower.as_str(), "punkt" | "punkten") && digits.len() == 2 {
            // The dot, when digits follow it.
            if code_digits_follow(items.get(used + 1)) {
                used += 1;
                continue;
            }
            break;
        } else {
            match super::numbers::parse_cardinal(&lower) {
                Some(v) if v < 10 => digits.push_str(&v.to_string()),
                Some(v) if v < 100 && digits.is_empty() => digits.push_str(&v.to_string()),
                _ => break,
            }
        }
        used += 1;
        pieces += 1;
        if pieces > CODE_NUMBER_PIECES || digits.len() > 4 {
            return None;
        }
    }
    (3..=4).contains(&digits.len()).then_some((digits, used))
}

fn code_digits_follow(item: Option<&Item>) -> bool {
    item.is_some_and(|it| {
        let lower = it.lower();
        lower.chars().all(|c| c.is_ascii_digit())
            || super::numbers::parse_cardinal(&lower).is_some_and(|v| v < 10)
    })
}

/// ICD-10 codes spelled after a code keyword whose letter the recognizer wrote as its name
/// ("rena skåd i 0,3 punkten 0" → "rena skåd J03.0"). The code must be one the vocabulary
/// has, and exactly one of the letters the name may stand for must make such a code: the
/// digits were heard, the letter is what the vocabulary allows. Each is recorded as a
/// correction; other items pass through.
pub(crate) fn misheard_codes(items: Vec<Item>, vocab: &Vocabulary) -> (Vec<Item>, Vec<Correction>) {
    let mut corrections = Vec::new();
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut i = 0;
    while i < items.len() {
        let after_keyword = out
            .last()
            .is_some_and(|prev| prev.is_word() && CODE_KEYWORDS.contains(&prev.lower().as_str()));
        let letters = items[i]
            .is_word()
            .then(|| items[i].lower())
            .and_then(|name| {
                LETTER_NAMES
                    .iter()
                    .find(|(heard, _)| *heard == name)
                    .map(|(_, letters)| *letters)
            });
        let found = letters.filter(|_| after_keyword).and_then(|letters| {
            let (digits, used) = code_digits(&items[i + 1..])?;
            let mut codes = letters
                .chars()
                .map(|letter| format!("{letter}{}.{}", &digits[..2], &digits[2..]))
                .filter(|code| vocab.diagnosis_by_code(code).is_some());
            match (codes.next(), codes.next()) {
                (Some(code), None) => Some((code, 1 + used)),
                _ => None,
            }
        });
        match found {
            Some((code, used)) => {
                let spoken = &items[i..i + used];
                let (source, score) = (CorrectionSource::Diagnosis, 1.0);
                record(
                    &mut out,
                    &mut corrections,
                    spoken,
                    code,
                    source,
                    score,
                    Kind::Formatted,
                );
                i += used;
            }
            None => {
                out.push(items[i].clone());
                i += 1;
            }
        }
    }
    (out, corrections)
}

/// Shortest word compared with an abbreviation: shorter ones are near too many words.
const ABBREVIATION_MIN_LETTERS: usize = 4;
/// Fewest consonants in a spelled abbreviation matched by its consonants alone.
const SPELLED_MIN_CONSONANTS: usize = 3;
/// The same for a measurement abbreviation right before its value ("hobby 128" for "hå be",
/// Hb): the number makes two enough.
const SPELLED_VALUE_MIN_CONSONANTS: usize = 2;

/// A consonant unvoiced: the recognizer hears a letter name's voiced consonant as unvoiced and
/// the other way round ("serbe" for "se är pe", CRP), so letter names are compared so.
fn unvoiced(c: char) -> char {
    match c {
        'b' => 'p',
        'd' => 't',
        'g' => 'k',
        'v' => 'f',
        other => other,
    }
}

/// The consonants of a phonetic key, repeats folded: what survives of letter names the
/// recognizer ran into one word ("kå be te" heard as "kobiet" both give "kbt").
fn consonants(text: &str) -> String {
    let mut out = String::new();
    for c in phonetic_key(text).chars() {
        if !"aeiouyåäö".contains(c) && !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// An abbreviation's letter names run together ("kå be te" → "kåbete"), for spoken forms
/// made of letter names only.
fn spelled(spoken: &str) -> Option<String> {
    let parts: Vec<&str> = spoken.split_whitespace().collect();
    (parts.len() >= 2 && parts.iter().all(|p| p.chars().count() <= 3)).then(|| parts.concat())
}

/// The abbreviation the word at `i` (`lower` its letters) is a mishearing of: one letter
/// off a measurement abbreviation that a number follows ("ASRAS minskat", "tempo 33,5";
/// not "puls", which is a word of its own), or an abbreviation spoken as letter names whose
/// consonants the word has exactly ("kobiet" for "kå be te", KBT). Frequent words, terms,
/// headings and measurement words are never changed, and the abbreviation must be the only
/// one that fits.
fn near_abbreviation<'v>(
    items: &[Item],
    i: usize,
    lower: &str,
    vocab: &'v Vocabulary,
) -> Option<&'v skriva_vocab::Abbreviation> {
    let heard: Vec<char> = lower.chars().collect();
    if heard.len() < ABBREVIATION_MIN_LETTERS
        || items[i].text.contains('-')
        || common_words().contains(lower)
        || !vocab.lookup_exact(lower).is_empty()
        || vocab.resolve_heading(lower).is_some()
        || vocab.is_measurement_label(lower)
        || vocab.abbreviation(lower).is_some()
        || vocab.unit_at(&[lower]).is_some()
    {
        return None;
    }
    let number_follows = items.get(i + 1).is_some_and(|next| {
        next.text.starts_with(|c: char| c.is_ascii_digit())
            || (next.is_word() && super::numbers::parse_cardinal(&next.lower()).is_some())
    });
    let unvoiced_consonants = |text: &str| -> String {
        let mut out = String::new();
        for c in consonants(text).chars().map(unvoiced) {
            if !out.ends_with(c) {
                out.push(c);
            }
        }
        out
    };
    let heard_consonants = unvoiced_consonants(lower);
    let one_letter_off = |abbreviation: &skriva_vocab::Abbreviation| {
        abbreviation.value
            && number_follows
            && std::iter::once(abbreviation.short.as_str())
                .chain(abbreviation.spoken.iter().map(String::as_str))
                .filter(|form| !form.contains(' '))
                .any(|form| {
                    let form: Vec<char> = lowercase_letters(form).chars().collect();
                    form.len() >= ABBREVIATION_MIN_LETTERS
                        && skriva_vocab::edit_distance(&heard, &form) <= 1
                })
    };
    let letter_names = |abbreviation: &skriva_vocab::Abbreviation| {
        (!abbreviation.value || number_follows)
            && abbreviation
                .spoken
                .iter()
                .filter_map(|s| spelled(s))
                .any(|names| {
                    // The first letter name is heard first ("serbe" for "se är pe"): a word
                    // that opens with another sound is something else ("abse" is not IPSS).
                    let first = |text: &str| text.chars().next().map(unvoiced);
                    if first(lower) != first(&names) {
                        return false;
                    }
                    let wanted = unvoiced_consonants(&names);
                    let fewest = if abbreviation.value && number_follows {
                        SPELLED_VALUE_MIN_CONSONANTS
                    } else {
                        SPELLED_MIN_CONSONANTS
                    };
                    wanted.chars().count() >= fewest
                        && wanted == heard_consonants
                        && heard.len() <= names.chars().count() + 1
                })
    };
    // The closer evidence first: a spoken form one letter off ("bety" for "bete", BT) before
    // letter names that share consonants with several abbreviations.
    only_abbreviation(vocab, &one_letter_off).or_else(|| only_abbreviation(vocab, &letter_names))
}

fn source_of(term: &skriva_vocab::Term) -> CorrectionSource {
    match term.kind {
        TermKind::Drug => CorrectionSource::Drug,
        TermKind::ClinicalWord => CorrectionSource::ClinicalWord,
        _ => CorrectionSource::Diagnosis,
    }
}

/// Swedish letter names and number words: how the syllables sound that the recognizer wrote
/// as capitals and digits ("KVP-9" for "kå-ve-pe-nin", Kåvepenin).
const LETTER_SOUNDS: [(char, &str); 26] = [
    ('A', "a"),
    ('B', "be"),
    ('C', "se"),
    ('D', "de"),
    ('E', "e"),
    ('F', "eff"),
    ('G', "ge"),
    ('H', "hå"),
    ('I', "i"),
    ('J', "ji"),
    ('K', "kå"),
    ('L', "ell"),
    ('M', "em"),
    ('N', "en"),
    ('O', "o"),
    ('P', "pe"),
    ('Q', "ku"),
    ('R', "är"),
    ('S', "ess"),
    ('T', "te"),
    ('U', "u"),
    ('V', "ve"),
    ('W', "dubbelve"),
    ('X', "eks"),
    ('Y', "y"),
    ('Z', "säta"),
];
const DIGIT_SOUNDS: [&str; 10] = [
    "noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio",
];

/// A word that opens with two or more capitals, read aloud: capitals as their letter names,
/// digits as number words, hyphens dropped ("KVPning" → "kåvepening"). `None` for other
/// words.
fn sounded_out(text: &str) -> Option<String> {
    let capitals = text.chars().take_while(char::is_ascii_uppercase).count();
    if capitals < 2 {
        return None;
    }
    let mut out = String::new();
    for c in text.chars() {
        if let Some((_, name)) = LETTER_SOUNDS.iter().find(|(letter, _)| *letter == c) {
            out.push_str(name);
        } else if let Some(digit) = c.to_digit(10) {
            out.push_str(DIGIT_SOUNDS[digit as usize]);
        } else if c.is_alphabetic() {
            out.extend(c.to_lowercase());
        } else if c != '-' {
            return None;
        }
    }
    Some(out)
}

/// Words near a corrected word that decide its context (see [`in_drug_context`]).
const CONTEXT_REACH: usize = 4;

/// The drug or diagnosis a word of capitals sounds like when read aloud ([`sounded_out`]),
/// judged as any other mishearing is ([`near_term`]). Abbreviations the vocabulary knows
/// are what they are.
fn sounded_out_term<'v>(
    items: &[Item],
    i: usize,
    vocab: &'v Vocabulary,
) -> Result<Option<(&'v skriva_vocab::Term, f32)>> {
    let item = &items[i];
    if !item.is_word() || vocab.abbreviation(&item.text).is_some() {
        return Ok(None);
    }
    let Some(sounded) = sounded_out(&item.text) else {
        return Ok(None);
    };
    let lo = i.saturating_sub(CONTEXT_REACH);
    let mut probe = items[lo..(i + CONTEXT_REACH + 1).min(items.len())].to_vec();
    probe[i - lo].text = sounded;
    let found = near_term(&probe, i - lo, 1, vocab)?;
    Ok(found.filter(|(term, _)| matches!(term.kind, TermKind::Drug | TermKind::Diagnosis)))
}
