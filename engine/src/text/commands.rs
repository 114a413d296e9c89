//! Spoken punctuation and dictation commands ("punkt", "ny rad", "stryk det", "rubrik status",
//! a bare heading word opening a sentence), told apart from the same words used as words
//! ("ska komma tillbaka", "på en punkt") and tolerant of the recognizer's mishearings
//! ("kålon", "punktrubrik").

use skriva_vocab::{phonetic_key, similarity, Heading, HeadingMatch, Vocabulary};

use super::render::recognizer_capital;
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

/// Words before "komma" that make it the verb ("ska komma tillbaka", "vila och komma i fas":
/// nobody dictates a comma right after a conjunction).
const KOMMA_VERB_BEFORE: [&str; 24] = [
    "ska", "skall", "kan", "får", "bör", "vill", "att", "måste", "behöver", "skulle", "kunde",
    "brukar", "kommer", "ville", "fick", "inte", "ej", "kunna", "hinna", "lär", "borde", "tänker",
    "och", "eller",
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

/// Whether a "komma" is the verb, not the dictated comma, given the word before it, the one
/// before that and the word after. After a negation the word before decides: "kan inte komma"
/// is the verb, but "röker inte komma dricker" and "haltar inte komma rör sig" are a finding
/// and a comma.
fn komma_is_the_verb(before: &str, two_before: Option<&str>, next: Option<&str>) -> bool {
    if next.is_some_and(|n| KOMMA_VERB_AFTER.contains(&n)) {
        return true;
    }
    if matches!(before, "inte" | "ej") {
        return two_before
            .is_some_and(|w| !matches!(w, "inte" | "ej") && KOMMA_VERB_BEFORE.contains(&w));
    }
    KOMMA_VERB_BEFORE.contains(&before)
}

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
/// Prepositions that make "en punkt" a noun phrase ("ömmar på en punkt", "i en punkt har
/// hon ont").
const PREPOSITIONS: [&str; 10] = [
    "i", "på", "över", "vid", "under", "med", "från", "till", "mot", "ur",
];
/// Words that carry the noun phrase "en punkt" on ("en punkt som ömmar", "en punkt över
/// tibia").
const AFTER_NOUN_PUNKT: [&str; 14] = [
    "som",
    "där",
    "över",
    "på",
    "i",
    "vid",
    "under",
    "med",
    "mellan",
    "ovanför",
    "nedanför",
    "bakom",
    "framför",
    "strax",
];
/// Words that, right after a bare heading word, show it is a sentence's subject
/// ("Bedömningen är ...", "Status visar ...").
const VERBS: [&str; 36] = [
    "är",
    "var",
    "har",
    "hade",
    "blir",
    "blev",
    "visar",
    "visade",
    "talar",
    "kan",
    "ska",
    "bör",
    "får",
    "bedöms",
    "ser",
    "verkar",
    "känns",
    "tyder",
    "sker",
    "görs",
    "gjordes",
    "tas",
    "ges",
    "skall",
    "behövs",
    "behövdes",
    "krävs",
    "planeras",
    "påbörjas",
    "avslutas",
    "förlängs",
    "utfärdas",
    "fortsätter",
    "gäller",
    "bedömdes",
    "sattes",
];

/// Words before "kom" that make it the verb ("hon kom in", "besvären kom gradvis").
const KOM_SUBJECTS: [&str; 20] = [
    "jag",
    "du",
    "han",
    "hon",
    "vi",
    "ni",
    "de",
    "det",
    "den",
    "man",
    "som",
    "patienten",
    "pat",
    "när",
    "då",
    "sedan",
    "inte",
    "aldrig",
    "hit",
    "först",
];
/// Words after "kom" that make it the verb ("kom in", "kom tillbaka", "kom plötsligt").
const KOM_VERB_AFTER: [&str; 24] = [
    "in",
    "hit",
    "hem",
    "ut",
    "upp",
    "fram",
    "till",
    "tillbaka",
    "igång",
    "ihåg",
    "överens",
    "med",
    "på",
    "efter",
    "från",
    "för",
    "igen",
    "senare",
    "plötsligt",
    "gradvis",
    "successivt",
    "akut",
    "hastigt",
    "iväg",
];

/// Whether a recognized "kom" is a clipped "komma" (the recognizer often hears the dictated
/// comma so: "tidigare frisk kom ingen feber"): not after a subject, not before a particle
/// or adverb that goes with the verb or before a subject ("då kom hon"), and not at the
/// start of a sentence.
fn kom_is_comma(before: &str, next: Option<&str>) -> bool {
    !before.is_empty()
        && !KOM_SUBJECTS.contains(&before)
        && next.is_some_and(|n| !KOM_VERB_AFTER.contains(&n) && !KOM_SUBJECTS.contains(&n))
}

/// A command word, allowing the recognizer's spellings by sound ("kålon", "kulam", "konna")
/// and, for long words, one wrong letter ("rebrik", "frågetäcken").
fn command_word(text: &str) -> Option<Word> {
    /// Least [`similarity`] of a long command word's misspelling.
    const MIN_SIMILARITY: f32 = 0.83;
    let lower = text.to_lowercase();
    if let Some(&(_, word)) = COMMAND_WORDS.iter().find(|(w, _)| *w == lower) {
        return Some(word);
    }
    let key = phonetic_key(&lower);
    let letters = lower.chars().count();
    for (&(spelled, word), spelled_key) in COMMAND_WORDS.iter().zip(command_word_keys()) {
        if spelled.len() >= 5 && *spelled_key == key {
            return Some(word);
        }
        let spelled_letters = spelled.chars().count();
        // Words whose lengths differ by more than the similarity allows need no comparing:
        // the edit distance is at least the difference.
        let longest = spelled_letters.max(letters) as f32;
        let at_most = 1.0 - spelled_letters.abs_diff(letters) as f32 / longest;
        if spelled_letters >= 6
            && at_most >= MIN_SIMILARITY
            && similarity(spelled, &lower) >= MIN_SIMILARITY
        {
            return Some(word);
        }
    }
    misheard_short_command(&lower)
}

/// The [`phonetic_key`] of each of [`COMMAND_WORDS`], in its order, worked out once.
fn command_word_keys() -> &'static [String] {
    static KEYS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        COMMAND_WORDS
            .iter()
            .map(|(spelled, _)| phonetic_key(spelled))
            .collect()
    })
}

/// Whether `text` is a command that ends a clause: punkt, komma, semikolon, frågetecken,
/// utropstecken, as said or misheard.
pub(crate) fn ends_clause(text: &str) -> bool {
    matches!(
        command_word(text),
        Some(Word::Punkt | Word::Komma | Word::Semikolon | Word::Fragetecken | Word::Utropstecken)
    )
}

/// Consonants of a word with doubled letters collapsed, the nasals m/n and g/c/k folded together:
/// the part of "kolon", "punkt" and "komma" that survives the recognizer's mishearings
/// ("kulam", "kolam", "konna", "pungt"), which mostly swap vowels and nasals.
fn consonant_skeleton(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        let c = match c {
            'n' => 'm',
            'g' | 'c' => 'k',
            c if is_vowel(c) => continue,
            c => c,
        };
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// "kolon", "komma" and "punkt" as the recognizer misspells them: same consonants (nasals
/// folded), a back vowel first ("kulam", "kolam", "konna", "pungt"), four to six letters.
/// Frequent words with the same consonants ("kunna", "kom", "kul", "kulan") are excluded by
/// the vowel and length rules or listed.
fn misheard_short_command(lower: &str) -> Option<Word> {
    const NOT_COMMANDS: [&str; 9] = [
        "kunna", "kulan", "kalla", "kommun", "kanon", "kolla", "kulle", "kolumn", "konen",
    ];
    let letters = lower.chars().count();
    if !(4..=6).contains(&letters)
        || !lower.chars().all(char::is_alphabetic)
        || NOT_COMMANDS.contains(&lower)
    {
        return None;
    }
    let first_vowel = lower.chars().find(|&c| is_vowel(c))?;
    let skeleton = consonant_skeleton(lower);
    let first = lower.chars().next()?;
    match skeleton.as_str() {
        "klm" if first == 'k' && matches!(first_vowel, 'o' | 'u' | 'å') => Some(Word::Kolon),
        "km" if first == 'k' && matches!(first_vowel, 'o' | 'å') => Some(Word::Komma),
        "pmkt" if first == 'p' && first_vowel == 'u' => Some(Word::Punkt),
        _ => None,
    }
}

/// Whether `lower` is "stryk" as the recognizer wrote it ("strick", "stryck"), said before
/// what it deletes ("det", "senaste meningen"): only there, since "stryka" and "strikt" are
/// words.
fn misheard_stryk(lower: &str, next: Option<&str>) -> bool {
    (5..=7).contains(&lower.chars().count())
        && lower.chars().all(char::is_alphabetic)
        && consonant_skeleton(lower) == "strk"
        && matches!(
            next,
            Some("det" | "detta" | "senaste" | "sista" | "föregående" | "förra")
        )
}

/// Real compound words ending in a command word, never split ("tidpunkt", "förekomma").
const COMPOUNDS_ENDING_IN_COMMAND: [&str; 24] = [
    "tidpunkt",
    "tidpunkten",
    "utgångspunkt",
    "synpunkt",
    "synpunkter",
    "startpunkt",
    "mittpunkt",
    "slutpunkt",
    "brytpunkt",
    "höjdpunkt",
    "triggerpunkt",
    "tyngdpunkt",
    "ståndpunkt",
    "kontaktpunkt",
    "smärtpunkt",
    "nollpunkt",
    "förekomma",
    "bekomma",
    "undkomma",
    "tillkomma",
    "överkomma",
    "omkomma",
    "uppkomma",
    "framkomma",
];

/// Splits command words the recognizer ran together ("punktrubrik", "punktrebrik",
/// "kolonny") into their parts, and a word with a punctuation command glued to its end
/// ("hypertonipunkt", "Statuskulam", "milligrampunkt").
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
                    split = Some(at);
                    break;
                }
            }
        }
        if split.is_none() && item.is_word() && chars.len() >= 7 {
            split = glued_trailing_command(&item.text);
        }
        if split.is_none() && item.is_word() {
            split = punkt_between_words(&item.lower());
        }
        match split {
            Some(at) => {
                let (first, second) = split_item(item, at);
                out.push(first);
                out.push(second);
            }
            None => out.push(item),
        }
    }
    out
}

/// Letters on each side of a "punkt" inside a word for it to be the full stop between two
/// words ("barnpunktarbetar").
const WORD_AROUND_PUNKT_MIN_LETTERS: usize = 3;

/// "barnpunktarbetar" → 4: where a "punkt" said between two words starts, when the recognizer
/// wrote the three as one. Not where the word goes on as an inflection or a compound's
/// binding "s" ("tidpunkten", "synpunkterna", "mittpunktsvärde"), is a word that starts with
/// "punkt" ("lumbalpunktion") or a compound that ends in one ("utgångspunkt"). The "punkt"
/// and the word after it are parted by [`split_glued_commands`].
fn punkt_between_words(lower: &str) -> Option<usize> {
    let chars: Vec<char> = lower.chars().collect();
    if !chars.iter().all(|c| c.is_alphabetic()) {
        return None;
    }
    let punkt: Vec<char> = "punkt".chars().collect();
    let last_start = chars
        .len()
        .checked_sub(punkt.len() + WORD_AROUND_PUNKT_MIN_LETTERS)?;
    (WORD_AROUND_PUNKT_MIN_LETTERS..=last_start).find(|&at| {
        if chars[at..at + punkt.len()] != punkt[..] {
            return false;
        }
        let from_punkt: String = chars[at..].iter().collect();
        let to_punkt: String = chars[..at + punkt.len()].iter().collect();
        let after = &chars[at + punkt.len()..];
        !matches!(after.first(), Some('e' | 's'))
            && !COMPOUNDS_ENDING_IN_COMMAND.contains(&to_punkt.as_str())
            && !WORDS_STARTING_WITH_PUNKT
                .iter()
                .any(|word| from_punkt.starts_with(word))
    })
}

/// `item` cut into two words at character `at` of its text.
pub(crate) fn split_item(item: Item, at: usize) -> (Item, Item) {
    let chars: Vec<char> = item.text.chars().collect();
    let mut first = item.clone();
    first.text = chars[..at].iter().collect();
    first.end = item.start + at;
    let mut second = item;
    second.text = chars[at..].iter().collect();
    second.start += at;
    (first, second)
}

/// Words that begin with "punkt" and are words of their own ("punktion", "punktering").
const WORDS_STARTING_WITH_PUNKT: [&str; 8] = [
    "punkter",
    "punktion",
    "punktlig",
    "punktvis",
    "punktskrift",
    "punktform",
    "punktinsats",
    "punktmarkering",
];

/// How the recognizer writes "rubrik" besides the spellings [`command_word`] accepts: an
/// ending vowel or "s" from the word after it ("rubrike", "rebrika", "rubriks"), and the "t"
/// of a "punkt" before it ("trebrik"). Taken as "rubrik" only before a heading.
const RUBRIK_HEARD: [&str; 17] = [
    "rubrike", "rubriker", "rubriks", "rubrika", "rubrikes", "rebrika", "rebrike", "rebriks",
    "rabrik", "rabriks", "rabrika", "rabrike", "trebrik", "trebbrik", "trybrik", "trabrik",
    "rubri",
];

fn sounds_like_rubrik(lower: &str) -> bool {
    let heard =
        |word: &str| command_word(word) == Some(Word::Rubrik) || RUBRIK_HEARD.contains(&word);
    // Any vowels around the consonants of "rubrik", after the "t" of a "punkt" said just
    // before, voiced or not ("trorbrik", "dribrik", "röbrik"), or with its first syllable
    // lost or heard as a word of its own ("tre brik", "Trollabrik").
    let letters = lower.chars().count();
    let skeleton = (4..=10).contains(&letters)
        && lower.chars().all(char::is_alphabetic)
        && matches!(
            consonant_skeleton(lower).as_str(),
            "rbrk" | "trbrk" | "drbrk" | "rbrks" | "trbrks" | "drbrks" | "brk" | "brks" | "trlbrk"
        );
    heard(lower) || skeleton
}

/// Dictation commands and headings the recognizer glued onto the next word: "punktingar"
/// (punkt, ingar), "Rubrikeaktuellt" (rubrik, aktuellt), "punktrabriksstatus" (punkt,
/// rubrik, status), and after "rubrik" a heading glued to its first word of text
/// ("kontaktorsakremis", "statusvaken", "planerinprotanning"). A misheard "rubrik" standing
/// alone ("Rebrika aktuellt") becomes "rubrik" when a heading follows; a "rubrik" with a
/// heading's first letters glued to it gives them back to the next word ("rubrikot
/// Gärdbyter"); and a heading said alone at a sentence start loses the short word glued to it
/// ("Åtgärdråd"). Each cut needs the command or heading on its side, so ordinary words are
/// left whole.
pub(crate) fn split_glued_commands(items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let mut queue: std::collections::VecDeque<Item> = items.into();
    let mut out: Vec<Item> = Vec::with_capacity(queue.len());
    // Words left (after a "rubrik") that may still carry the heading glued to their text.
    let mut heading_words_left = 0usize;
    while let Some(mut item) = queue.pop_front() {
        if !item.is_word() {
            if !matches!(item.kind, Kind::Recognizer(_)) {
                heading_words_left = 0;
            }
            out.push(item);
            continue;
        }
        let lower = item.lower();
        let letters = lower.chars().count();
        let following: Vec<String> = queue
            .iter()
            .filter(|it| !matches!(it.kind, Kind::Recognizer(_)))
            .take(3)
            .take_while(|it| it.is_word())
            .map(Item::lower)
            .collect();
        // "punkt" clipped to "punk" before a "rubrik": the sentence ends there.
        if lower == "punk"
            && following
                .first()
                .is_some_and(|next| sounds_like_rubrik(next))
        {
            item.text = "punkt".into();
            out.push(item);
            continue;
        }
        if let Some(at) = glued_leading_punkt(&lower) {
            let (punkt, rest) = split_item(item, at);
            out.push(punkt);
            queue.push_front(rest);
            heading_words_left = 0;
            continue;
        }
        if let Some((at, len)) = punkt_inside_before_heading(&lower, &following, vocab) {
            let (left, rest) = split_item(item, at);
            let (punkt, right) = split_item(rest, len);
            out.extend([left, punkt]);
            queue.push_front(right);
            heading_words_left = 0;
            continue;
        }
        if let Some(at) = glued_rubrik(&lower, &following, vocab) {
            let (mut rubrik, rest) = split_item(item, at);
            rubrik.text = "rubrik".into();
            out.push(rubrik);
            queue.push_front(rest);
            heading_words_left = 2;
            continue;
        }
        if sounds_like_rubrik(&lower) {
            let names_heading = heading_follows(&following, vocab)
                || following
                    .first()
                    .is_some_and(|next| glued_heading(next, vocab).is_some());
            if command_word(&lower) == Some(Word::Rubrik) || names_heading {
                item.text = "rubrik".into();
                out.push(item);
                heading_words_left = 2;
                continue;
            }
        }
        let sentence_start = out.last().is_none_or(|prev| {
            matches!(prev.kind, Kind::Recognizer(Mark::Period))
                || (prev.is_word() && command_word(&prev.text) == Some(Word::Punkt))
        });
        if sentence_start {
            if let Some(at) = bare_heading_glued(&lower, vocab) {
                let (heading, rest) = split_item(item, at);
                out.push(heading);
                queue.push_front(rest);
                heading_words_left = 0;
                continue;
            }
        }
        let next_is_word = queue.front().is_some_and(Item::is_word);
        if let Some(at) =
            rubrik_with_heading_start(&lower, &following, vocab).filter(|_| next_is_word)
        {
            // "rubrikot Gärdbyter": "rubrik", then the heading's start joined to the rest of it.
            let (mut rubrik, start) = split_item(item, at);
            rubrik.text = "rubrik".into();
            out.push(rubrik);
            if let Some(next) = queue.pop_front() {
                let text = format!("{}{}", start.text, next.text);
                queue.push_front(Item::spanning(Kind::Word, text, &[start, next]));
            }
            heading_words_left = 2;
            continue;
        }
        if heading_words_left > 0 && letters >= 8 {
            if let Some(at) = glued_heading(&lower, vocab) {
                let (heading, rest) = split_item(item, at);
                out.push(heading);
                out.push(rest);
                heading_words_left = 0;
                continue;
            }
        }
        heading_words_left = heading_words_left.saturating_sub(1);
        out.push(item);
    }
    out
}

/// "punktingar" → 5: a word that is "punkt" glued to at least three more letters, unless
/// it is a word of its own ("punktion", "punktlig").
fn glued_leading_punkt(lower: &str) -> Option<usize> {
    let rest = lower.strip_prefix("punkt")?;
    (rest.chars().count() >= 3
        && rest.chars().all(char::is_alphabetic)
        && !WORDS_STARTING_WITH_PUNKT
            .iter()
            .any(|word| lower.starts_with(word)))
    .then_some(5)
}

/// "centorkriterierpunktåtgärd" → (15, 5): a "punkt" inside a word, between at least three
/// letters and a heading (or a spelling of "rubrik" and a heading): where it starts and how
/// long it is. Compounds with "punkt" ("tidpunkten", "synpunkter") go on with no heading.
fn punkt_inside_before_heading(
    lower: &str,
    following: &[String],
    vocab: &Vocabulary,
) -> Option<(usize, usize)> {
    let chars: Vec<char> = lower.chars().collect();
    if chars.len() < 9 || !chars.iter().all(|c| c.is_alphabetic()) {
        return None;
    }
    let punkt: Vec<char> = "punkt".chars().collect();
    (1..=chars.len() - 8).find_map(|at| {
        if chars[at..at + 5] != punkt[..] {
            return None;
        }
        let right: String = chars[at + 5..].iter().collect();
        // One or two letters before are the end of the word before ("tjugo" heard "20 o");
        // only a "rubrik" and its heading after make that a cut.
        let heading = (at >= 3
            && (vocab.match_heading(&[&right]).is_some()
                || vocab
                    .match_heading_by_sound(&[&right], RUBRIK_HEADING_SCORE)
                    .is_some()))
            || glued_rubrik(&right, following, vocab).is_some()
            || (sounds_like_rubrik(&right) && heading_follows(following, vocab));
        heading.then_some((at, 5))
    })
}

/// "rubrikeaktuellt" → 7: a word that starts with a spelling of "rubrik" and goes on with a
/// heading (exactly, by sound, or itself glued to the next word), the end of the "rubrik".
fn glued_rubrik(lower: &str, following: &[String], vocab: &Vocabulary) -> Option<usize> {
    let chars: Vec<char> = lower.chars().collect();
    if chars.len() < 8 || !chars.iter().all(|c| c.is_alphabetic()) {
        return None;
    }
    (4..=10.min(chars.len() - 3)).rev().find(|&at| {
        let prefix: String = chars[..at].iter().collect();
        if !sounds_like_rubrik(&prefix) {
            return false;
        }
        let rest: String = chars[at..].iter().collect();
        let mut words = vec![rest.clone()];
        words.extend(following.iter().cloned());
        heading_follows(&words, vocab) || glued_heading(&rest, vocab).is_some()
    })
}

/// Letters of a short word glued to a heading said alone at a sentence start
/// ([`bare_heading_glued`]).
const GLUED_TO_BARE_HEADING: std::ops::RangeInclusive<usize> = 3..=4;

/// "Åtgärdråd" at a sentence start → 6: a heading that opens a section when said alone, its
/// name exactly, with a short word glued to it. Not a compound's binding "s"
/// ("Åtgärdsplan") or an inflection ("Bedömningen").
fn bare_heading_glued(lower: &str, vocab: &Vocabulary) -> Option<usize> {
    vocab.headings().iter().find_map(|heading| {
        let name = heading.name.to_lowercase();
        let rest = lower.strip_prefix(&name)?;
        let fits = heading.opens_bare(&name)
            && name.chars().count() >= 6
            && GLUED_TO_BARE_HEADING.contains(&rest.chars().count())
            && rest.chars().all(char::is_alphabetic)
            && !rest.starts_with('s')
            && !HEADING_ENDINGS
                .iter()
                .any(|ending| rest.starts_with(ending));
        fits.then(|| name.chars().count())
    })
}

/// Most letters of a heading's start glued to "rubrik" ("rubrikot", "trebrikan").
const RUBRIK_HEADING_START_MAX: usize = 3;

/// "rubrikot" before "Gärdbyter" → 6: a spelling of "rubrik" with the first letters of a
/// heading glued to it, the heading's rest opening the next word ("ot" + "gärd" for
/// "åtgärd", "an" + "amnesi" for "anamnes"): where "rubrik" ends.
fn rubrik_with_heading_start(
    lower: &str,
    following: &[String],
    vocab: &Vocabulary,
) -> Option<usize> {
    let chars: Vec<char> = lower.chars().collect();
    let next = following.first()?;
    if chars.len() < 7 || !chars.iter().all(|c| c.is_alphabetic()) {
        return None;
    }
    (chars.len() - RUBRIK_HEADING_START_MAX..chars.len()).find(|&at| {
        let prefix: String = chars[..at].iter().collect();
        let start: String = chars[at..].iter().collect();
        let joined = format!("{start}{next}");
        sounds_like_rubrik(&prefix)
            && (heading_follows(std::slice::from_ref(&joined), vocab)
                || glued_heading(&joined, vocab).is_some())
    })
}

/// Whether `words` open with a heading: as heard ([`heading_follows_as_heard`]), or once the
/// consonant the recognizer carried over from "rubrik" is taken off
/// ([`heading_after_carried_consonant`]).
fn heading_follows(words: &[String], vocab: &Vocabulary) -> bool {
    heading_follows_as_heard(words, vocab)
        || heading_after_carried_consonant(words, vocab).is_some()
}

/// Whether `words` open with a heading: an alias (exactly or one edit away), one or two
/// words that sound like one, or one that spells its start ([`heading_by_prefix`]).
fn heading_follows_as_heard(words: &[String], vocab: &Vocabulary) -> bool {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    if words.is_empty() {
        return false;
    }
    vocab.match_heading(&words).is_some()
        || vocab
            .match_heading_by_sound(&words[..words.len().min(2)], RUBRIK_HEADING_SCORE)
            .is_some()
        || heading_by_prefix(&words, vocab).is_some()
        || heading_by_suffix(&words, vocab).is_some()
        || (words.len() >= 2
            && heading_split_at(&words[0].to_lowercase(), &words[1].to_lowercase(), vocab)
                .is_some())
}

/// Consonants the recognizer carries from the end of "rubrik" onto a heading that starts with
/// a vowel: "rubrik åtgärd" heard "rubrik gott gärd", "Trubrikskott järd…".
const CARRIED_FROM_RUBRIK: [&str; 3] = ["sk", "g", "k"];

/// Where a heading is found after "rubrik" once a consonant carried over from it
/// ([`CARRIED_FROM_RUBRIK`]) is taken off the first of `words` (lowercase): how many letters
/// were carried, and where the second word is cut when the heading ends inside it ("gott",
/// "gärdynsätter" → 1, cut at 4: "ott" + "gärd" sound like Åtgärd, "ynsätter" is text).
/// Only headings that start with a vowel, and only by the same sound match as any heading
/// after "rubrik".
fn heading_after_carried_consonant(
    words: &[String],
    vocab: &Vocabulary,
) -> Option<(usize, Option<usize>)> {
    let first = words.first()?;
    let starts_with_vowel = |text: &str| text.chars().next().is_some_and(is_vowel);
    // How close the heard words sound to the heading they match, if they match one.
    let sounds_like = |heard: &[&str]| {
        vocab
            .match_heading_by_sound(heard, RUBRIK_HEADING_SCORE)
            .filter(|m| m.words == heard.len() && starts_with_vowel(&m.alias))
            .map(|m| {
                let alias: String = m.alias.split(' ').collect();
                similarity(&phonetic_key(&alias), &phonetic_key(&heard.concat()))
            })
    };
    let sounds = |heard: &[&str]| sounds_like(heard).is_some();
    CARRIED_FROM_RUBRIK.iter().find_map(|carried| {
        let rest = first.strip_prefix(carried)?;
        if rest.chars().count() < 2
            || !starts_with_vowel(rest)
            || !rest.chars().all(char::is_alphabetic)
        {
            return None;
        }
        let carried_letters = carried.chars().count();
        if sounds(&[rest]) {
            return Some((carried_letters, None));
        }
        let second = words.get(1)?;
        if sounds(&[rest, second]) {
            return Some((carried_letters, None));
        }
        let chars: Vec<char> = second.chars().collect();
        let cuts = SPLIT_PIECE_MIN_LETTERS..=chars.len().saturating_sub(SPLIT_PIECE_MIN_LETTERS);
        // The cut where the heading sounds closest ("gärd|ynsätter", not "gärdy|nsätter").
        cuts.filter_map(|at| {
            let start: String = chars[..at].iter().collect();
            sounds_like(&[rest, &start]).map(|score| (score, at))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, at)| (carried_letters, Some(at)))
    })
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'å' | 'ä' | 'ö')
}

/// Least sound similarity for a heading named after "rubrik".
const RUBRIK_HEADING_SCORE: f32 = 0.8;

/// Endings that inflect a heading word rather than start the text after it.
const HEADING_ENDINGS: [&str; 8] = ["en", "et", "er", "ar", "na", "erna", "arna", "es"];

/// "kontaktorsakremis" → 12, "planerinprotanning" → 8: where a heading (an exact alias, else
/// one edit away) glued to the start of a longer word ends, leaving at least three letters.
/// A word that is itself a heading ("bedömningen") is not cut.
fn glued_heading(lower: &str, vocab: &Vocabulary) -> Option<usize> {
    let chars: Vec<char> = lower.chars().collect();
    if chars.len() < 8 || vocab.match_heading(&[lower]).is_some() {
        return None;
    }
    let prefix = |at: usize| chars[..at].iter().collect::<String>();
    // "åtgärderna", "statusen": the heading inflected, not glued to text.
    let inflected = |at: usize| {
        let rest: String = chars[at..].iter().collect();
        HEADING_ENDINGS.contains(&rest.as_str())
    };
    let exact = |at: usize| vocab.match_heading(&[&prefix(at)]).is_some_and(|m| m.exact);
    if (5..chars.len()).any(|at| inflected(at) && exact(at)) {
        return None;
    }
    let cuts = || (5..=chars.len() - 3).rev();
    cuts()
        .find(|&at| exact(at))
        .or_else(|| cuts().find(|&at| vocab.match_heading(&[&prefix(at)]).is_some()))
}

/// "hypertonipunkt" → 9, "Status-kolan" → 7 (where the command starts):
/// a word of at least three letters with "punkt", "kolon" or "komma" (or a misheard form)
/// glued to its end, unless the whole is a real compound.
fn glued_trailing_command(word: &str) -> Option<usize> {
    let lower = word.to_lowercase();
    let is_punctuation_command = |part: &str| {
        matches!(
            command_word(part),
            Some(Word::Punkt | Word::Kolon | Word::Komma)
        )
    };
    if let Some((left, right)) = word.rsplit_once('-') {
        if left.chars().count() >= 3 && is_punctuation_command(right) {
            return Some(left.chars().count() + 1);
        }
    }
    if COMPOUNDS_ENDING_IN_COMMAND.contains(&lower.as_str())
        || lower.contains("ekonom")
        || SCHOOLS.iter().any(|school| lower.ends_with(school))
        || !word.chars().all(|c| c.is_alphabetic() || c == '-')
    {
        return None;
    }
    let chars: Vec<char> = word.chars().collect();
    for tail in [5usize, 6, 4] {
        if chars.len() < tail + 3 {
            continue;
        }
        let at = chars.len() - tail;
        let right: String = chars[at..].iter().collect();
        // After a particle, "-kommen"/"-komna" end a participle ("välkommen", "inkomna"),
        // not a glued "komma" ("lugnkomna" is "lugn komma").
        let left: String = chars[..at].iter().collect();
        let participle = matches!(right.as_str(), "kommen" | "komna")
            && PARTICIPLE_PARTICLES.contains(&left.to_lowercase().as_str());
        if is_punctuation_command(&right) && !participle {
            return Some(at);
        }
    }
    None
}

/// Particles that make "-kommen"/"-komna" a participle ("välkommen", "inkomna", "framkommen").
const PARTICIPLE_PARTICLES: [&str; 12] = [
    "väl", "in", "ny", "till", "om", "fram", "an", "upp", "be", "över", "bort", "från",
];

/// Words ending in "skolan" (the school), which sounds like a glued "kolon" ("Statuskolan").
const SCHOOLS: [&str; 6] = [
    "grundskolan",
    "högskolan",
    "förskolan",
    "gymnasieskolan",
    "särskolan",
    "yrkesskolan",
];

fn lower_at(items: &[Item], i: usize) -> Option<String> {
    items.get(i).filter(|it| it.is_word()).map(Item::lower)
}

/// The word `back` words before the previous one (0: the previous word), skipping the
/// recognizer's punctuation; `None` past a spoken mark or command.
fn word_before(out: &[Item], back: usize) -> Option<String> {
    out.iter()
        .rev()
        .filter(|it| !matches!(it.kind, Kind::Recognizer(_)))
        .take_while(|it| it.is_word() || it.kind == Kind::Formatted)
        .nth(back)
        .map(Item::lower)
}

/// Whether a "punkt" after "en" is the dictated full stop: "en punkt" is a noun phrase only
/// after a preposition or before words that carry it on ([`PREPOSITIONS`],
/// [`AFTER_NOUN_PUNKT`]); elsewhere "en" ended the sentence ("tar en punkt har tagit",
/// "barn dom en punkt senaste"). `before` is the word before "punkt", `before_en` the one
/// before that.
fn next_sentence_after_en_punkt(before: &str, before_en: Option<&str>, next: Option<&str>) -> bool {
    let Some(next) = next else {
        return false;
    };
    before == "en"
        && !before_en.is_some_and(|w| PREPOSITIONS.contains(&w))
        && !AFTER_NOUN_PUNKT.contains(&next)
}

/// Whether "i punkt" / "av punkt" stands without a number after it. Without an article the
/// noun "punkt" needs one ("i punkt 3"); otherwise the preposition ended the sentence, as in
/// "känd hypertoni punkt" heard as "känd hyperton i punkt".
fn bare_preposition_before_no_number(before: &str, next: Option<&str>) -> bool {
    matches!(before, "i" | "av")
        && !next.is_some_and(|w| {
            w.chars().next().is_some_and(|c| c.is_ascii_digit())
                || crate::text::numbers::parse_cardinal(w).is_some()
        })
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
pub(crate) fn commands(
    items: Vec<Item>,
    vocab: &Vocabulary,
    spoken_commands: bool,
    headings: bool,
) -> Vec<Item> {
    let items = if spoken_commands {
        punctuation(items)
    } else {
        items
    };
    let items = sentences_from_capitals(items, vocab);
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
        let previous = word_before(&out, 0);
        let spoken =
            |mark: Mark, used: &[Item]| Item::spanning(Kind::Spoken(mark), mark_text(mark), used);
        let command =
            |command: Command, used: &[Item]| Item::spanning(Kind::Command(command), "", used);
        // Two-word commands first.
        // "parentes" as the recognizer spells it ("Parantes").
        let next_is_parentes = next_word
            .as_deref()
            .is_some_and(|n| command_word(n) == Some(Word::Parentes));
        let pair = next_word.as_deref().map(|n| {
            (
                lower.as_str(),
                if next_is_parentes { "parentes" } else { n },
            )
        });
        let two_word = match pair {
            Some(("ny" | "nyrad", "rad")) => Some(command(Command::LineBreak, &items[i..=next])),
            Some(("nytt" | "ny", "stycke" | "paragraf")) => {
                Some(command(Command::Paragraph, &items[i..=next]))
            }
            // The verbs as the recognizer also hears them ("öppnade", "sträng").
            Some(("öppna" | "öppen" | "öppnar" | "öppnade" | "vänster" | "start", "parentes")) => {
                Some(spoken(Mark::OpenParen, &items[i..=next]))
            }
            Some(("stäng" | "stängd" | "stänger" | "sträng" | "höger" | "slut", "parentes")) => {
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
        let before = previous.as_deref().unwrap_or("");
        if lower == "kom" && kom_is_comma(before, next_word.as_deref()) {
            out.push(spoken(Mark::Comma, &items[i..=i]));
            i += 1;
            continue;
        }
        let Some(word) = command_word(&lower)
            .or_else(|| misheard_stryk(&lower, next_word.as_deref()).then_some(Word::Stryk))
        else {
            out.push(item.clone());
            i += 1;
            continue;
        };
        let made = match word {
            // "en punkt" is a noun, unless a heading ("X kolon"), nothing or the next
            // sentence follows.
            Word::Punkt
                if NOUN_BEFORE.contains(&before)
                    && !bare_preposition_before_no_number(before, next_word.as_deref())
                    && next_word.is_some()
                    && lower_at(&items, next_real(&items, next + 1)).as_deref()
                        != Some("kolon")
                    && !next_sentence_after_en_punkt(
                        before,
                        word_before(&out, 1).as_deref(),
                        next_word.as_deref(),
                    ) =>
            {
                None
            }
            Word::Punkt => Some(spoken(Mark::Period, &items[i..=i])),
            Word::Komma
                if komma_is_the_verb(
                    before,
                    word_before(&out, 1).as_deref(),
                    next_word.as_deref(),
                ) =>
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

/// Sentence ends the recognizer showed only by a capital, in a dictation said without
/// punctuation commands, which the dictation prompt then leaves unpunctuated ("… sedan en
/// vecka Yrseln är värst … Ingen hörselnedsättning …"): a full stop goes before each
/// capitalized word that follows at least two words of its sentence, unless a capitalized
/// word is next to it (a name: "Dix Hallpike") or it is a vocabulary term written with a
/// capital (a drug name). Dictation with its own sentence ends is left alone.
fn sentences_from_capitals(items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let words = items
        .iter()
        .filter(|it| matches!(it.kind, Kind::Word | Kind::Formatted))
        .count();
    let ends = items.iter().filter(|it| starts_sentence(&it.kind)).count();
    if words < 20 || ends * WORDS_PER_SENTENCE_END > words {
        return items;
    }
    let capitalized = |item: &Item| item.is_word() && recognizer_capital(&item.text);
    let mut out = Vec::with_capacity(items.len() + words / 8);
    let mut run = 0usize;
    for (i, item) in items.iter().enumerate() {
        if starts_sentence(&item.kind) {
            run = 0;
        }
        if item.is_word() {
            // Two capitals in a row are a name ("Dix Hallpike", "Anna Lind").
            let in_name =
                (i > 0 && capitalized(&items[i - 1])) || items.get(i + 1).is_some_and(capitalized);
            let named_term = vocab
                .lookup_exact(&item.text)
                .iter()
                .any(|m| m.term.form.chars().next().is_some_and(char::is_uppercase));
            if capitalized(item) && run >= 2 && !in_name && !named_term {
                out.push(Item::new(
                    Kind::Recognizer(Mark::Period),
                    ".",
                    item.start,
                    item.start,
                ));
                run = 0;
            }
        }
        if matches!(item.kind, Kind::Word | Kind::Formatted) {
            run += 1;
        }
        out.push(item.clone());
    }
    out
}

/// Fewer sentence ends than one per this many words: the clinician dictated no punctuation.
const WORDS_PER_SENTENCE_END: usize = 25;

fn starts_sentence(kind: &Kind) -> bool {
    match kind {
        Kind::Spoken(mark) | Kind::Recognizer(mark) => mark.ends_sentence(),
        Kind::Command(_) => true,
        _ => false,
    }
}

/// The words that may name a heading from `from` on: at most four, up to the first item
/// that is not a word.
fn heading_words(items: &[Item], from: usize) -> Vec<&str> {
    items[from..]
        .iter()
        .take(4)
        .take_while(|it| it.is_word())
        .map(|it| it.text.as_str())
        .collect()
}

/// Whether the next item is still at a sentence start after `kind`: the recognizer's own
/// punctuation right at a start changes nothing.
fn at_start_after(at_start: bool, kind: &Kind) -> bool {
    match kind {
        Kind::Recognizer(_) if at_start => true,
        kind => starts_sentence(kind),
    }
}

/// Finds "rubrik X" and bare heading words at the start of a sentence.
fn find_headings(items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let items = colons_misheard_after_headings(items, vocab);
    let items = heading_split_into_its_text(items, vocab);
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut at_start = true;
    let mut i = 0;
    while i < items.len() {
        let item = &items[i];
        if item.is_word() && item.lower() == "rubrik" {
            let from = next_real(&items, i + 1);
            let words = heading_words(&items, from);
            let found = vocab
                .match_heading(&words)
                .or_else(|| {
                    vocab.match_heading_by_sound(&words[..words.len().min(2)], RUBRIK_HEADING_SCORE)
                })
                .or_else(|| heading_by_prefix(&words, vocab))
                .or_else(|| heading_by_suffix(&words, vocab));
            if let Some(found) = found {
                out.push(heading_item(
                    &found.heading.name,
                    &items[i..from + found.words],
                ));
                i = swallow_heading_colon(&items, from + found.words);
                at_start = true;
                continue;
            }
            // A clinic's own heading: the words up to the clinician's colon or full stop, at
            // most four. Without one, the words are more likely a heading misheard.
            let custom: Vec<&Item> = items[from..].iter().take_while(|it| it.is_word()).collect();
            let delimited = items.get(from + custom.len()).is_none_or(|it| {
                matches!(
                    it.kind,
                    Kind::Spoken(Mark::Colon | Mark::Period)
                        | Kind::Command(Command::LineBreak | Command::Paragraph)
                )
            });
            // A heading of its own also needs words under it: without them its words are the
            // text after a misheard heading ("rubrik järdbyter Pulmicort punkt"), kept as text.
            let content_follows = items[from + custom.len()..]
                .iter()
                .find(|it| it.is_word())
                .is_some_and(|it| command_word(&it.text) != Some(Word::Rubrik));
            if !custom.is_empty() && custom.len() <= 4 && delimited && content_follows {
                // Unless the words end in a heading the recognizer garbled the start of
                // ("Så vi sitt riskbedömnning" for "suicidriskbedömning").
                let texts: Vec<&str> = custom.iter().map(|it| it.text.as_str()).collect();
                let ending = (1..=texts.len().min(2)).find_map(|n| {
                    let tail = &texts[texts.len() - n..];
                    vocab
                        .match_heading(tail)
                        .filter(|m| m.words == n)
                        .or_else(|| vocab.match_heading_by_sound(tail, RUBRIK_HEADING_SCORE))
                        .filter(|m| m.words == n)
                });
                let end = from + custom.len();
                if let Some(found) = ending {
                    out.push(heading_item(&found.heading.name, &items[i..end]));
                    i = swallow_heading_colon(&items, end);
                    at_start = true;
                    continue;
                }
                let name = capitalize(
                    &custom
                        .iter()
                        .map(|it| it.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                out.push(heading_item(&name, &items[i..end]));
                i = swallow_heading_colon(&items, end);
                at_start = true;
                continue;
            }
            i += 1;
            continue;
        }
        if at_start && item.is_word() {
            let words = heading_words(&items, i);
            if let Some((found, after)) = heading_before_colon(&items, i, vocab) {
                out.push(heading_item(&found.heading.name, &items[i..after]));
                i = swallow_heading_colon(&items, after);
                at_start = true;
                continue;
            }
            if let Some(found) = vocab.match_heading(&words) {
                let after = i + found.words;
                // The recognizer's own comma or full stop after a heading word ("Status,
                // kolon") says nothing; look past it.
                let next = items.get(next_real(&items, after));
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
                let opens_bare = said_exactly(&found, &item.lower())
                    && found.heading.opens_bare(&found.alias)
                    && !next_is_verb
                    && text_follows;
                if colon_follows || (ends_here && found.exact) || opens_bare {
                    out.push(heading_item(&found.heading.name, &items[i..after]));
                    i = swallow_heading_colon(&items, after);
                    at_start = true;
                    continue;
                }
            }
        }
        if !at_start && item.is_word() {
            if let Some((name, after)) = heading_with_colon_mid_sentence(&items, i, vocab) {
                out.push(heading_item(name, &items[i..after]));
                i = swallow_heading_colon(&items, after);
                at_start = true;
                continue;
            }
        }
        at_start = at_start_after(at_start, &item.kind);
        out.push(item.clone());
        i += 1;
    }
    out
}

/// Fewest letters of each piece [`heading_split_into_its_text`] cuts: the heading's two
/// pieces and the text glued to the second.
const SPLIT_PIECE_MIN_LETTERS: usize = 3;

/// After "rubrik", a one-word heading whisper wrote as two words with the first word of the
/// text glued to the second ("läke Medelingar" for "läkemedel inga"): the second word is cut
/// where the heading ends, so the heading is found and the glued text stays text. The first
/// word must be the heading's start and the second go on with exactly the rest of it.
fn heading_split_into_its_text(items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len() + 1);
    let mut items = items.into_iter().peekable();
    while let Some(item) = items.next() {
        let after_rubrik = out
            .last()
            .is_some_and(|it| it.is_word() && it.lower() == "rubrik");
        if !(after_rubrik && item.is_word()) {
            out.push(item);
            continue;
        }
        let mut item = item;
        let next = items.peek().filter(|next| next.is_word());
        let mut cut = next.and_then(|next| heading_split_at(&item.lower(), &next.lower(), vocab));
        let words: Vec<String> = std::iter::once(item.lower())
            .chain(next.map(Item::lower))
            .collect();
        if cut.is_none() && !heading_follows_as_heard(&words, vocab) {
            if let Some((carried, at)) = heading_after_carried_consonant(&words, vocab) {
                // The carried consonant belongs to "rubrik": the heading is what is left.
                item.text = item.text.chars().skip(carried).collect();
                item.start += carried;
                cut = at;
            }
        }
        out.push(item);
        if let Some(at) = cut {
            if let Some(next) = items.next() {
                let (heading_end, text) = split_item(next, at);
                out.push(heading_end);
                out.push(text);
            }
        }
    }
    out
}

/// Where `second` is cut when `first` and its start spell a one-word heading and more letters
/// follow (see [`heading_split_into_its_text`]), in characters of `second`.
fn heading_split_at(first: &str, second: &str, vocab: &Vocabulary) -> Option<usize> {
    let long_enough = |piece: &str| piece.chars().count() >= SPLIT_PIECE_MIN_LETTERS;
    if !long_enough(first) {
        return None;
    }
    vocab.headings().iter().find_map(|heading| {
        let name = heading.name.to_lowercase();
        std::iter::once(&name)
            .chain(&heading.aliases)
            .filter(|alias| !alias.contains(' '))
            .find_map(|alias| {
                let rest = alias.strip_prefix(first)?;
                let glued = second.strip_prefix(rest)?;
                (long_enough(rest) && long_enough(glued)).then(|| rest.chars().count())
            })
    })
}

/// Letters a heading's spoken start may lack (see [`heading_by_prefix`]); a quarter of
/// the alias where that is more.
const PREFIX_LETTERS_MISSING: usize = 2;

/// Fewest letters of a heading's end that name it ([`heading_by_suffix`]).
const SUFFIX_MIN_LETTERS: usize = 7;

/// After "rubrik": the one heading whose one-word alias the next word ends, at least
/// [`SUFFIX_MIN_LETTERS`] and half of it ("skrivning" for sjukskrivning, "riskbedömning"):
/// whisper runs the heading's first syllable into "rubrik" ("Trubrikskrivning").
fn heading_by_suffix<'v>(words: &[&str], vocab: &'v Vocabulary) -> Option<HeadingMatch<'v>> {
    let heard = words.first()?.to_lowercase();
    let heard_len = heard.chars().count();
    if heard_len < SUFFIX_MIN_LETTERS || !heard.chars().all(char::is_alphabetic) {
        return None;
    }
    let mut found = vocab.headings().iter().filter_map(|heading| {
        let name = heading.name.to_lowercase();
        std::iter::once(&name)
            .chain(&heading.aliases)
            .find(|alias| {
                !alias.contains(' ')
                    && alias.ends_with(&heard)
                    && 2 * heard_len >= alias.chars().count()
            })
            .map(|alias| (heading, alias.clone()))
    });
    match (found.next(), found.next()) {
        (Some((heading, alias)), None) => Some(HeadingMatch {
            heading,
            words: 1,
            exact: false,
            alias,
        }),
        _ => None,
    }
}

/// After "rubrik": a heading whose start the next word (or the next two, joined) spells
/// ("åtgärderna", "bedömninges", "planer inne" for planering, "kontaktor"), at least six
/// letters and all but [`PREFIX_LETTERS_MISSING`] letters (a quarter of a long alias) of a
/// one-word alias, and at most four letters past the alias. Whisper
/// splits and inflects heading words it is unsure of; right after "rubrik" a heading is what
/// was said.
fn heading_by_prefix<'v>(words: &[&str], vocab: &'v Vocabulary) -> Option<HeadingMatch<'v>> {
    // Words of letters only: a second word that is not ("6-villnad") is the note's text.
    let lower: Vec<String> = words
        .iter()
        .take(2)
        .map(|w| w.to_lowercase())
        .take_while(|w| w.chars().all(char::is_alphabetic))
        .collect();
    if lower.is_empty() {
        return None;
    }
    let spellings = (1..=lower.len()).map(|n| (n, lower[..n].concat()));
    let mut best: Option<(usize, usize, &'v Heading, String)> = None;
    let first_len = lower[0].chars().count();
    for (n, heard) in spellings {
        for heading in vocab.headings() {
            let name = heading.name.to_lowercase();
            for alias in std::iter::once(&name).chain(&heading.aliases) {
                if alias.contains(' ') {
                    continue;
                }
                let alias_len = alias.chars().count();
                let common = heard
                    .chars()
                    .zip(alias.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                let fits = common >= 6
                    && common + PREFIX_LETTERS_MISSING.max(alias_len / 4) >= alias_len
                    && heard.chars().count() <= alias_len.max(common) + 4
                    // A second word joins only when the alias goes on into it.
                    && (n == 1 || common > first_len);
                if fits && best.as_ref().is_none_or(|(c, _, _, _)| common > *c) {
                    best = Some((common, n, heading, alias.clone()));
                }
            }
        }
        if best.is_some() {
            break;
        }
    }
    best.map(|(_, words, heading, alias)| HeadingMatch {
        heading,
        words,
        exact: false,
        alias,
    })
}

/// Whether a heading match was said as the heading itself: exactly, or as one word with a
/// letter doubled ("Bedömnning"), not a word merely like it. `first` is the first matched
/// word, lowercase.
fn said_exactly(found: &skriva_vocab::HeadingMatch<'_>, first: &str) -> bool {
    found.exact || (found.words == 1 && doubled_letter_spelling(first, &found.alias))
}

/// Whether `word` is `alias` with one letter doubled ("bedömnning"), a spelling the
/// recognizer often gives a heading and no other word has.
fn doubled_letter_spelling(word: &str, alias: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.len() == alias.chars().count() + 1
        && (1..chars.len()).any(|i| {
            chars[i] == chars[i - 1]
                && chars[..i]
                    .iter()
                    .chain(&chars[i + 1..])
                    .copied()
                    .eq(alias.chars())
        })
}

/// A heading said exactly (or with a letter doubled) and followed by a colon, after words
/// that did not end their sentence ("… kontrollpnkt status kolon …", where the recognizer
/// garbled the "punkt"): the heading's name and the index just past its words. Also a listed
/// mishearing, or one word that sounds like a heading, before a dictated colon. "X kolon" is
/// how a dictating clinician opens a section; in running speech a heading word is not
/// followed by one.
fn heading_with_colon_mid_sentence<'v>(
    items: &[Item],
    i: usize,
    vocab: &'v Vocabulary,
) -> Option<(&'v str, usize)> {
    let words = heading_words(items, i);
    let dictated_colon_at = |after: usize| {
        items
            .get(next_real(items, after))
            .is_some_and(|it| it.kind == Kind::Spoken(Mark::Colon))
    };
    if let Some(found) = vocab
        .match_heading(&words)
        .filter(|m| said_exactly(m, &words[0].to_lowercase()))
    {
        let after = i + found.words;
        let written_colon = items
            .get(after)
            .is_some_and(|it| it.kind == Kind::Recognizer(Mark::Colon));
        return (written_colon || dictated_colon_at(after))
            .then_some((found.heading.name.as_str(), after));
    }
    // A listed mishearing ("… 0,3 järd kolon …"), only before a dictated colon.
    (1..=words.len())
        .rev()
        .find_map(|n| {
            let found = vocab.match_heard_heading(&words[..n])?;
            dictated_colon_at(i + n).then_some((found.heading.name.as_str(), i + n))
        })
        .or_else(|| {
            // One word that sounds like a heading, before a dictated colon ("… kontrakt kont
            // Statis kolon …"): only a heading is followed by "kolon" in a dictation.
            let found = vocab
                .match_heading_by_sound(&words[..words.len().min(1)], HEADING_BEFORE_COLON_SCORE)
                .filter(|m| m.words == 1)?;
            dictated_colon_at(i + 1).then_some((found.heading.name.as_str(), i + 1))
        })
}

/// "kolon" heard as a word the command rules keep ("kolla", "kikolla", "kola", "koholom"): a
/// k, then only an l (vowels, doubled letters, an h between vowels and a nasal ending aside).
/// Only taken for a colon right after a heading, where "Bedömning kolla" is the clinician's
/// "Bedömning kolon".
fn sounds_like_colon_after_heading(word: &str) -> bool {
    let lower = word.to_lowercase();
    let letters = lower.chars().count();
    (4..=7).contains(&letters)
        && lower.starts_with('k')
        && lower.chars().all(char::is_alphabetic)
        && matches!(
            consonant_skeleton(&lower).as_str(),
            "kl" | "klm" | "khl" | "khlm"
        )
}

/// Turns a word that sounds like "kolon" into the dictated colon when the one to four words
/// before it, at the start of a sentence, are a heading (exactly or by sound): "Kontaktorsa
/// kolla …" is "Kontaktorsak kolon …". The heading rules then see the colon they look for.
fn colons_misheard_after_headings(mut items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let mut at_start = true;
    for i in 0..items.len() {
        if at_start && items[i].is_word() {
            let mut words: Vec<&str> = Vec::new();
            let mut j = i;
            let mut colon_at = None;
            while let Some(item) = items.get(j) {
                match item.kind {
                    Kind::Recognizer(_) => {}
                    Kind::Word
                        if !words.is_empty() && sounds_like_colon_after_heading(&item.text) =>
                    {
                        colon_at = Some(j);
                        break;
                    }
                    Kind::Word if words.len() < 4 => words.push(item.text.as_str()),
                    _ => break,
                }
                j += 1;
            }
            let is_heading = |found: Option<skriva_vocab::HeadingMatch<'_>>| {
                found.is_some_and(|m| m.words == words.len())
            };
            if let Some(at) = colon_at {
                if is_heading(vocab.match_heading(&words))
                    || is_heading(vocab.match_heard_heading(&words))
                    || is_heading(vocab.match_heading_by_sound(&words, HEADING_BEFORE_COLON_SCORE))
                {
                    items[at].kind = Kind::Spoken(Mark::Colon);
                    items[at].text = mark_text(Mark::Colon).to_owned();
                }
            }
        }
        at_start = at_start_after(at_start, &items[i].kind);
    }
    items
}

/// Least similarity for a heading heard by sound right before "kolon".
const HEADING_BEFORE_COLON_SCORE: f32 = 0.7;

/// One to four words at `i`, possibly separated by the recognizer's punctuation, followed by
/// a dictated colon, that sound like a heading ("Kompaktorsak, kolon", "Contactar, sak
/// kolon"): the heading and the index just past its last word. Exact aliases are left to the
/// caller's exact match.
fn heading_before_colon<'v>(
    items: &[Item],
    i: usize,
    vocab: &'v Vocabulary,
) -> Option<(skriva_vocab::HeadingMatch<'v>, usize)> {
    let mut words: Vec<&str> = Vec::new();
    let mut last = i;
    let mut j = i;
    while let Some(item) = items.get(j) {
        match item.kind {
            Kind::Word if words.len() < 4 => {
                words.push(item.text.as_str());
                last = j;
            }
            Kind::Recognizer(_) => {}
            _ => break,
        }
        j += 1;
    }
    let colon = items.get(j)?;
    if words.is_empty() || colon.kind != Kind::Spoken(Mark::Colon) {
        return None;
    }
    if vocab.match_heading(&words).is_some_and(|m| m.exact) {
        return None;
    }
    if let Some(found) = vocab.match_heard_heading(&words) {
        return Some((found, last + 1));
    }
    let by_sound = |words: &[&str]| {
        vocab
            .match_heading_by_sound(words, HEADING_BEFORE_COLON_SCORE)
            .filter(|found| found.words == words.len())
    };
    if let Some(found) = by_sound(&words) {
        return Some((found, last + 1));
    }
    // An "h" the recognizer heard before a heading's first vowel ("Håttgärd" for Åtgärd).
    let first = words[0];
    let mut chars = first.chars();
    let (Some('h' | 'H'), Some(vowel)) = (chars.next(), chars.next()) else {
        return None;
    };
    if !"aeiouyåäöAEIOUYÅÄÖ".contains(vowel) {
        return None;
    }
    let mut without_h = words.clone();
    without_h[0] = &first[1..];
    by_sound(&without_h).map(|found| (found, last + 1))
}

/// The command that starts section `name`, spanning the words that said it.
fn heading_item(name: &str, spoken: &[Item]) -> Item {
    Item::spanning(Kind::Command(Command::Heading(name.to_owned())), "", spoken)
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
