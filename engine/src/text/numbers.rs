//! Swedish number words to digits where the note style wants digits: measurements and doses,
//! blood pressure, decimals with a decimal comma, ages, times of day ("klockan halv nio" →
//! "kl. 08.30"), dates ("tjugoförsta november" → "21 november", "den tredje i tolfte" → "3/12"),
//! years, ICD codes spelled out, personnummer. Small counts in running prose stay words
//! (Språkrådet: 1–12 in words), except before a unit of time or "gånger", as notes write them.
//! Also the spoken forms of abbreviations ("se er pe" → "CRP"), which must be joined first.

use skriva_vocab::{normalize, without_glued_one, Unit, UnitKind, Vocabulary};

use super::tokens::{Item, Kind};

/// Words after which a count is written in digits: units of time and "gånger".
const DURATION_WORDS: [&str; 24] = [
    "sekunder",
    "minuter",
    "timmar",
    "dygn",
    "dagar",
    "nätter",
    "veckor",
    "månader",
    "år",
    "gånger",
    "timme",
    "dag",
    "vecka",
    "månad",
    "minut",
    "sekund",
    "natt",
    "minuterna",
    "timmarna",
    "dygnen",
    "dagarna",
    "nätterna",
    "veckorna",
    "månaderna",
];

/// Verbs between a measurement's name and its value ("ferritinet var sju", "CRP är fem").
const LINKING_VERBS: [&str; 5] = ["var", "är", "blev", "låg", "ligger"];

/// Words between a measurement and its value that compare ("CRP var under fem").
const COMPARISONS: [&str; 11] = [
    "under", "över", "kring", "runt", "cirka", "ca", "ungefär", "omkring", "drygt", "knappt",
    "från",
];

/// Words a measurement's name may have between it and the verb before its value ("CRP från
/// fingret är åtta").
const LABEL_WORDS_BEFORE_VERB: usize = 2;

/// Verbs after which digits said one by one are a phone number ("ring ett ett två").
const CALL_VERBS: [&str; 6] = ["ring", "ringa", "ringer", "ringde", "ringt", "slå"];

/// Fewest digits read as a phone number after [`CALL_VERBS`] ("112", "1177").
const PHONE_MIN_DIGITS: usize = 3;

/// Words that join two numbers of one measure ("fem och åtta år", "tre till fyra gånger").
const NUMBER_JOINERS: [&str; 3] = ["och", "eller", "till"];

const UNITS: [(&str, u64); 11] = [
    ("noll", 0),
    ("ett", 1),
    ("en", 1),
    ("två", 2),
    ("tre", 3),
    ("fyra", 4),
    ("fem", 5),
    ("sex", 6),
    ("sju", 7),
    ("åtta", 8),
    ("nio", 9),
];
const TEENS: [(&str, u64); 11] = [
    ("tio", 10),
    ("elva", 11),
    ("tolv", 12),
    ("tretton", 13),
    ("fjorton", 14),
    ("femton", 15),
    ("sexton", 16),
    ("sjutton", 17),
    ("aderton", 18),
    ("arton", 18),
    ("nitton", 19),
];
/// Tens with the colloquial spellings a recognizer writes ("femti", "tjugu"), and the
/// "tt" it writes single ("tretio").
const TENS: [(&str, u64); 20] = [
    ("tjugo", 20),
    ("tjugu", 20),
    ("tjuge", 20),
    ("trettio", 30),
    ("tretti", 30),
    ("tretio", 30),
    ("fyrtio", 40),
    ("fyrti", 40),
    ("femtio", 50),
    ("femti", 50),
    ("sextio", 60),
    ("sexti", 60),
    ("sjuttio", 70),
    ("sjutti", 70),
    ("sjutio", 70),
    ("åttio", 80),
    ("åtti", 80),
    ("nittio", 90),
    ("nitti", 90),
    ("nitio", 90),
];
/// How the recognizer writes "åtta" after a tens word ("tretio otta" → 38, "tjugo åta" →
/// 28); alone, "otta" is a word (dawn) and "åta" a verb.
const EIGHT_AFTER_TENS: [&str; 2] = ["otta", "åta"];
const ORDINALS: [(&str, u64); 20] = [
    ("första", 1),
    ("förste", 1),
    ("andra", 2),
    ("tredje", 3),
    ("fjärde", 4),
    ("femte", 5),
    ("sjätte", 6),
    ("sjunde", 7),
    ("åttonde", 8),
    ("nionde", 9),
    ("tionde", 10),
    ("elfte", 11),
    ("tolfte", 12),
    ("trettonde", 13),
    ("fjortonde", 14),
    ("femtonde", 15),
    ("sextonde", 16),
    ("sjuttonde", 17),
    ("artonde", 18),
    ("nittonde", 19),
];
const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];
/// How a time of day is written. Språkrådet: a point between hours and minutes, hours with two
/// digits in the 24-hour style ("kl. 08.30"). The hour is written as it was said: "klockan
/// tre" is "kl. 03.00", never guessed to be 15.00.
struct TimeStyle {
    /// Written before a time that was said after "klockan".
    prefix: &'static str,
    /// Between hours and minutes.
    separator: char,
    /// "08.30" rather than "8.30".
    pad_hours: bool,
}
const TIME_STYLE: TimeStyle = TimeStyle {
    prefix: "kl.",
    separator: '.',
    pad_hours: true,
};
/// Words that announce a time of day.
const CLOCK_WORDS: [&str; 2] = ["klockan", "kl"];
/// Between day and month in a date said with ordinals only ("den tredje i tolfte" → "3/12").
const DAY_MONTH_SEPARATOR: char = '/';

/// Words that end an age compound: "tjugofyraårig" → "24-årig".
const AGE_SUFFIXES: [&str; 6] = ["åringen", "åriga", "åring", "årig", "årigt", "åriges"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    Unit(u64),
    Teen(u64),
    Tens(u64),
    Hundred,
    Thousand,
}

/// Splits a number word into atoms ("tvåhundrafemtio" → två, hundra, femtio).
fn atoms(word: &str) -> Option<Vec<Atom>> {
    if word.is_empty() {
        return Some(Vec::new());
    }
    let mut options: Vec<(&str, Atom)> = Vec::new();
    options.extend(UNITS.iter().map(|&(w, v)| (w, Atom::Unit(v))));
    options.extend(TEENS.iter().map(|&(w, v)| (w, Atom::Teen(v))));
    options.extend(TENS.iter().map(|&(w, v)| (w, Atom::Tens(v))));
    options.push(("hundra", Atom::Hundred));
    options.push(("tusen", Atom::Thousand));
    options.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    for (prefix, atom) in options {
        if let Some(rest) = word.strip_prefix(prefix) {
            if let Some(mut tail) = atoms(rest) {
                tail.insert(0, atom);
                return Some(tail);
            }
        }
    }
    None
}

fn below_hundred(atoms: &[Atom]) -> Option<u64> {
    match atoms {
        [Atom::Unit(v)] | [Atom::Teen(v)] | [Atom::Tens(v)] => Some(*v),
        [Atom::Tens(t), Atom::Unit(u)] if *u > 0 => Some(t + u),
        _ => None,
    }
}

fn below_thousand(atoms: &[Atom]) -> Option<u64> {
    match atoms.iter().position(|a| *a == Atom::Hundred) {
        Some(at) => {
            let left = if at == 0 {
                1
            } else {
                below_hundred(&atoms[..at])?
            };
            let right = if at + 1 == atoms.len() {
                0
            } else {
                below_hundred(&atoms[at + 1..])?
            };
            (left > 0).then_some(left * 100 + right)
        }
        None => below_hundred(atoms),
    }
}

fn evaluate(atoms: &[Atom]) -> Option<u64> {
    if atoms.contains(&Atom::Unit(0)) {
        return (atoms.len() == 1).then_some(0);
    }
    match atoms.iter().position(|a| *a == Atom::Thousand) {
        Some(at) => {
            let left = if at == 0 {
                1
            } else {
                below_thousand(&atoms[..at])?
            };
            let right = if at + 1 == atoms.len() {
                0
            } else {
                below_thousand(&atoms[at + 1..])?
            };
            Some(left * 1000 + right)
        }
        None => below_thousand(atoms),
    }
}

/// The value of a Swedish cardinal number word, compounds included ("tvåhundrafemtio" → 250,
/// "etthundra" → 100, "nittonhundraåttiofem" → 1985). Digits are accepted too.
pub fn parse_cardinal(word: &str) -> Option<u64> {
    let word = word.to_lowercase();
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
        return word.parse().ok();
    }
    evaluate(&atoms(&word)?)
}

/// A year said as two two-digit numbers in one word ("tjugotjugofem" → 2025,
/// "nittonåttiofem" → 1985).
fn parse_year_compound(word: &str) -> Option<u64> {
    let atoms = atoms(&word.to_lowercase())?;
    for split in 1..atoms.len() {
        let century = below_hundred(&atoms[..split])?;
        if !(century == 19 || century == 20) {
            continue;
        }
        if let Some(year) = below_hundred(&atoms[split..]) {
            return Some(century * 100 + year);
        }
    }
    None
}

/// The value of a Swedish ordinal ("tolfte" → 12, "tjugoförsta" → 21, "trettionde" → 30).
pub fn parse_ordinal(word: &str) -> Option<u64> {
    let word = word.to_lowercase();
    if let Some(&(_, v)) = ORDINALS.iter().find(|(w, _)| *w == word) {
        return Some(v);
    }
    for &(tens, t) in &TENS {
        if let Some(rest) = word.strip_prefix(tens) {
            if rest == "nde" || rest == "onde" {
                return Some(t);
            }
            if let Some(&(_, v)) = ORDINALS.iter().find(|(w, _)| *w == rest) {
                if v < 10 {
                    return Some(t + v);
                }
            }
        }
    }
    None
}

/// A number at the start of a run of words: value, whether it is a decimal text already
/// (recognizer digits "38,5"), and how many words it took.
#[derive(Debug, Clone)]
struct Number {
    text: String,
    value: Option<u64>,
    words: usize,
    /// Written as digits by the recognizer already.
    digits: bool,
}

fn decimal_digits(text: &str) -> Option<String> {
    let (whole, fraction) = text.split_once(['.', ','])?;
    let ok = !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && (1..=3).contains(&fraction.len())
        && fraction.chars().all(|c| c.is_ascii_digit());
    ok.then(|| format!("{whole},{fraction}"))
}

/// Whether a number word said after `value` continues it ("hundra femtio", "tusen två",
/// "tjugo fyra") rather than starting a new number ("fyra fem").
fn adds_to(value: u64, next: u64) -> bool {
    let after_hundreds = value >= 100 && value % 100 == 0 && (1..100).contains(&next);
    let after_thousands = value >= 1000 && value % 1000 == 0 && (1..1000).contains(&next);
    let after_tens = (20..100).contains(&value) && value % 10 == 0 && (1..10).contains(&next);
    after_hundreds || after_thousands || after_tens
}

/// Number words written as the digits of their value, for comparing two spellings of the same
/// speech ("hundra femtio" against "150"): a run of words that continue one number becomes
/// its digits on the first word and nothing on the rest; other words are kept.
pub(crate) fn numbers_as_digits(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut run: Option<(usize, u64)> = None;
    for word in words {
        let value = parse_cardinal(word);
        match (run, value) {
            (Some((first, total)), Some(next)) if adds_to(total, next) => {
                out[first] = (total + next).to_string();
                out.push(String::new());
                run = Some((first, total + next));
            }
            (_, Some(v)) => {
                run = Some((out.len(), v));
                out.push(v.to_string());
            }
            (_, None) => {
                run = None;
                out.push(word.clone());
            }
        }
    }
    out
}

/// Reads a cardinal from consecutive words ("två hundra femtio", "tjugo fyra", "hundrafemtio").
fn read_number(items: &[Item]) -> Option<Number> {
    let first = items.first().filter(|i| i.is_word())?;
    if let Some(text) = decimal_digits(&first.text) {
        return Some(Number {
            text,
            value: None,
            words: 1,
            digits: true,
        });
    }
    let mut value = parse_cardinal(&first.text)?;
    let digits = first.text.chars().all(|c| c.is_ascii_digit());
    let mut words = 1;
    let eight_after_tens =
        |lower: &str, value: u64| EIGHT_AFTER_TENS.contains(&lower) && adds_to(value, 8);
    if digits && value % 10 == 0 && (20..=90).contains(&value) {
        // Tens the recognizer wrote in digits, then the rest of the number as a word ("20
        // åtta" for "tjugoåtta"); "en"/"ett" after them stay the article they may be.
        if let Some(next) = items.get(1).filter(|i| i.is_word()) {
            let lower = next.lower();
            let unit = parse_cardinal(&lower)
                .filter(|v| (2..10).contains(v) && !lower.chars().any(|c| c.is_ascii_digit()))
                .or(eight_after_tens(&lower, value).then_some(8));
            if let Some(unit) = unit {
                value += unit;
                words = 2;
            }
        }
    }
    if !digits {
        while let Some(next) = items.get(words).filter(|i| i.is_word()) {
            let lower = next.lower();
            let eight_after_tens = eight_after_tens(&lower, value);
            let Some(next_value) = parse_cardinal(&lower)
                .filter(|_| !lower.chars().all(|c| c.is_ascii_digit()))
                .or(eight_after_tens.then_some(8))
            else {
                break;
            };
            let combined = if lower == "hundra" && (1..100).contains(&value) {
                value * 100
            } else if lower == "tusen" && (1..1000).contains(&value) {
                value * 1000
            } else if adds_to(value, next_value) {
                value + next_value
            } else {
                break;
            };
            value = combined;
            words += 1;
        }
    }
    Some(Number {
        text: grouped(value),
        value: Some(value),
        words,
        digits,
    })
}

/// A number said in words as note style writes it: digits, and from 10 000 on groups of three
/// parted by a space ("40 000"), as Swedish writes large numbers.
fn grouped(value: u64) -> String {
    let digits = value.to_string();
    if value < 10_000 {
        return digits;
    }
    let mut out = String::with_capacity(digits.len() + 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn word_at(items: &[Item], i: usize) -> Option<String> {
    items.get(i).filter(|it| it.is_word()).map(Item::lower)
}

/// Joins spoken abbreviation forms ("se er pe" → "CRP", "madrs s" → "MADRS-S") and writes
/// abbreviations in their normative case ("crp" → "CRP"). Ambiguous short forms ("sat",
/// "satt") only count before a number.
pub(crate) fn abbreviations(items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut i = 0;
    'outer: while i < items.len() {
        if items[i].is_word() {
            let run = items[i..]
                .iter()
                .take(5)
                .take_while(|it| it.is_word())
                .count();
            for n in (2..=run).rev() {
                let spoken: Vec<String> = items[i..i + n].iter().map(Item::lower).collect();
                if let Some(abbreviation) = vocab.abbreviation(&spoken.join(" ")) {
                    if abbreviation
                        .spoken
                        .iter()
                        .any(|s| normalize(s) == spoken.join(" "))
                    {
                        out.push(Item::spanning(
                            Kind::Formatted,
                            abbreviation.short.clone(),
                            &items[i..i + n],
                        ));
                        i += n;
                        continue 'outer;
                    }
                }
            }
            let word = &items[i];
            // A spoken form with its number joined by a hyphen ("PHQ-nio" for "phq nio").
            let hyphenated = hyphenated_spoken_form(&word.lower(), vocab);
            if let Some(abbreviation) = hyphenated.or_else(|| vocab.abbreviation(&word.text)) {
                let lower = word.lower();
                let is_short = lower == abbreviation.short.to_lowercase();
                let number_follows = items.get(i + 1).is_some_and(|next| {
                    next.is_word()
                        && (parse_cardinal(&next.text).is_some()
                            || decimal_digits(&next.text).is_some())
                });
                // A measurement label is a word too where it spells one ("sat"); one of
                // three capitals or more ("TSH", "CRP") spells none.
                let spells_no_word = abbreviation.short.chars().count() >= 3
                    && abbreviation
                        .short
                        .chars()
                        .all(|c| c.is_uppercase() || c.is_ascii_digit());
                let unambiguous = is_short && (!abbreviation.value || spells_no_word);
                // A spoken form with a hyphen or digits ("bsl-tjugotre", "b-tolv") is the
                // abbreviation however it is used: no Swedish word is written so.
                let spelled_form = hyphenated.is_some()
                    || (!is_short
                        && (lower.contains('-') || lower.chars().any(|c| c.is_ascii_digit()))
                        && abbreviation.spoken.iter().any(|s| normalize(s) == lower));
                if (unambiguous || number_follows || spelled_form)
                    && word.text != abbreviation.short
                {
                    let mut item = word.clone();
                    item.kind = Kind::Formatted;
                    item.text = abbreviation.short.clone();
                    out.push(item);
                    i += 1;
                    continue;
                }
            }
        }
        out.push(items[i].clone());
        i += 1;
    }
    out
}

/// The abbreviation a word spells when it is a spoken form's letters and number word joined
/// by a hyphen ("phq-nio" for the spoken form "phq nio").
fn hyphenated_spoken_form<'v>(
    lower: &str,
    vocab: &'v Vocabulary,
) -> Option<&'v skriva_vocab::Abbreviation> {
    let (letters, number) = lower.rsplit_once('-')?;
    if letters.is_empty()
        || parse_cardinal(number).is_none()
        || number.chars().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    let spoken = format!("{letters} {number}");
    vocab
        .abbreviation(&spoken)
        .filter(|a| a.spoken.iter().any(|s| normalize(s) == spoken))
}

/// The top of the pain and symptom scales said as "N av tio".
const SCORE_SCALE: u64 = 10;
/// Most doses a day in "ett gånger tre".
const MAX_DOSES_PER_DAY: u64 = 24;

/// How the recognizer writes "ett" after "gånger" in a dose ("milligrammet gånger rätt").
const HEARD_ONE_AFTER_TIMES: [&str; 3] = ["rätt", "rett", "rött"];

/// "gånger ett" as one word, the way the recognizer glues it after a dose ("25 mg gångeret").
const GLUED_TIMES_ONE: [&str; 4] = ["gångret", "gångeret", "gångert", "gångerett"];

/// "gånger tre" at the start of `items`, the second half of a dosing: the written count and
/// the words it took. After a dose's unit (`after_dose`) "rätt" is the "ett" it sounds like,
/// "gång" the "gånger" ("100 mg gång rätt"), and "gångeret" both in one word.
fn times_a_day(items: &[Item], after_dose: bool) -> Option<(String, usize)> {
    let first = word_at(items, 0)?;
    if after_dose && GLUED_TIMES_ONE.contains(&first.as_str()) {
        return Some(("1".into(), 1));
    }
    if first != "gånger" && !(after_dose && first == "gång") {
        return None;
    }
    let heard_one = word_at(items, 1).is_some_and(|w| HEARD_ONE_AFTER_TIMES.contains(&w.as_str()));
    if after_dose && heard_one {
        return Some(("1".into(), 2));
    }
    let right = read_number(&items[1..])?;
    right
        .value
        .is_some_and(|v| v <= MAX_DOSES_PER_DAY)
        .then(|| (right.text, 1 + right.words))
}

/// A dose's unit with its "ett" glued on and the rest of the dosing after it, where the
/// recognizer lost the amount into the drug's name ("Ena Periltro miligrammet gånger rätt"
/// for "Enalapril tio milligram ett gånger ett"): the unit and the dosing are written
/// ("mg 1 x 1"), the lost amount is not guessed. `(text, words used)`.
fn dose_without_its_amount(items: &[Item], vocab: &Vocabulary) -> Option<(String, usize)> {
    let word = word_at(items, 0)?;
    // Only a unit word that ends in the dosing's "ett".
    without_glued_one(&word)?;
    let unit = vocab
        .unit_by_sound(&word)
        .filter(|unit| unit.kind == UnitKind::Dose)?;
    let (times, words) = times_a_day(&items[1..], true)?;
    Some((format!("{} 1 x {times}", unit.written), 1 + words))
}

/// A unit misheard after a number, by sound; the number's last vowel may have run into it
/// ("femtio milligram" heard as "50 omillgrannet"), though only a dose's unit is taken so.
fn dose_unit_by_sound<'v>(word: &str, vocab: &'v Vocabulary) -> Option<&'v Unit> {
    vocab.unit_by_sound(word).or_else(|| {
        let mut letters = word.chars();
        let first = letters.next()?;
        "aeiouyåäö"
            .contains(first.to_ascii_lowercase())
            .then(|| vocab.unit_by_sound(letters.as_str()))
            .flatten()
            .filter(|unit| unit.kind == UnitKind::Dose)
    })
}

/// Digits said one by one, or in pairs, after a verb of calling: a phone number ("ring ett
/// ett två" → "ring 112", "ring elva sjuttiosju" → "ring 1177"). `(text, words used)`.
fn phone_number(out: &[Item], items: &[Item]) -> Option<(String, usize)> {
    let after_call_verb = out
        .last()
        .filter(|it| it.is_word())
        .is_some_and(|it| CALL_VERBS.contains(&it.lower().as_str()));
    let mut digits = String::new();
    let mut used = 0;
    while let Some(number) = read_number(&items[used..]).filter(|n| n.words == 1) {
        match number.value {
            Some(v) if v < 100 => digits.push_str(&v.to_string()),
            _ => break,
        }
        used += 1;
    }
    // The emergency and health-care numbers are phone numbers wherever they are said
    // ("ring hit eller ett ett två").
    let known = KNOWN_PHONE_NUMBERS.contains(&digits.as_str());
    (used >= 2 && digits.len() >= PHONE_MIN_DIGITS && (after_call_verb || known))
        .then_some((digits, used))
}

/// Sweden's emergency number, the health-care advice line and the police's non-emergency line.
const KNOWN_PHONE_NUMBERS: [&str; 3] = ["112", "1177", "11414"];

/// Spinal levels ("L fem" → "L5", "C sex" → "C6"): a segment's letter and its highest number.
const SPINAL_SEGMENTS: [(&str, &str, u64); 5] = [
    ("c", "C", 8),
    ("th", "Th", 12),
    ("t", "T", 12),
    ("l", "L", 5),
    ("s", "S", 5),
];

/// A spinal level said as its letter and a number word, `(text, words used)`.
fn spinal_level(items: &[Item]) -> Option<(String, usize)> {
    let letter = items.first().filter(|it| it.is_word())?.lower();
    let (_, written, highest) = SPINAL_SEGMENTS.iter().find(|(l, _, _)| *l == letter)?;
    let number = read_number(&items[1..]).filter(|n| n.words == 1 && !n.digits)?;
    let value = number.value.filter(|v| (1..=*highest).contains(v))?;
    Some((format!("{written}{value}"), 2))
}

/// A disease's type said in words and joined to it, after "typ" ("typ två-diabetes" →
/// "typ 2-diabetes").
fn type_of_disease(out: &[Item], lower: &str) -> Option<String> {
    let after_typ = out.last().is_some_and(|it| it.lower() == "typ");
    let (number, disease) = lower.split_once('-')?;
    let value = parse_cardinal(number).filter(|v| (1..=9).contains(v))?;
    (after_typ && !disease.is_empty() && disease.chars().all(char::is_alphabetic))
        .then(|| format!("{value}-{disease}"))
}

/// Longest word read as a misheard "över" in a blood pressure.
const HEARD_OVER_MAX_LETTERS: usize = 6;
/// Words before a number that make it a blood pressure, as far back as they are looked for.
const PRESSURE_LABEL_REACH: usize = 2;

/// Whether one of the last words written names a blood pressure ("blodtryck", "BT", and
/// the recognizer's "blodtricks").
fn after_pressure_label(out: &[Item]) -> bool {
    out.iter().rev().take(PRESSURE_LABEL_REACH).any(|it| {
        let lower = it.lower();
        lower.starts_with("blodtr") || lower == "bt" || lower.starts_with("tryck")
    })
}

/// Writes numbers in note style (see the module docs).
pub(crate) fn numbers(items: Vec<Item>, vocab: &Vocabulary) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut i = 0;
    while i < items.len() {
        let item = &items[i];
        if !item.is_word() {
            out.push(item.clone());
            i += 1;
            continue;
        }
        let lower = item.lower();
        if matches!(lower.as_str(), "personnummer" | "personnumret" | "pnr") {
            out.push(item.clone());
            if let Some((text, used)) = personnummer(&items[i + 1..]) {
                out.push(Item::spanning(
                    Kind::Formatted,
                    text,
                    &items[i + 1..i + 1 + used],
                ));
                i += 1 + used;
            } else {
                i += 1;
            }
            continue;
        }
        let after_keyword = out.last().is_some_and(|prev: &Item| {
            matches!(
                prev.lower().as_str(),
                "diagnos" | "diagnosen" | "kod" | "diagnoskod" | "icd" | "icd-kod"
            )
        });
        if let Some((code, used)) = icd_code(&items[i..], after_keyword) {
            out.push(Item::spanning(Kind::Formatted, code, &items[i..i + used]));
            i += used;
            continue;
        }
        if let Some((age, glued_at)) = age_after_number(&items[i..]) {
            match glued_at {
                None => out.push(Item::spanning(Kind::Formatted, age, &items[i..i + 2])),
                Some(at) => {
                    let (suffix, person) = super::commands::split_item(items[i + 1].clone(), at);
                    out.push(Item::spanning(
                        Kind::Formatted,
                        age,
                        &[items[i].clone(), suffix],
                    ));
                    out.push(person);
                }
            }
            i += 2;
            continue;
        }
        // One word written anew: an age, or a disease's type ("typ två-diabetes").
        let rewritten = indefinite_age(&items[i..])
            .or_else(|| age_compound(&lower))
            .or_else(|| type_of_disease(&out, &lower));
        if let Some(text) = rewritten {
            let mut formatted = item.clone();
            formatted.kind = Kind::Formatted;
            formatted.text = text;
            out.push(formatted);
            i += 1;
            continue;
        }
        if CLOCK_WORDS.contains(&lower.as_str()) {
            if let Some((hours, minutes, used)) = time_of_day(&items[i + 1..]) {
                out.push(Item::spanning(
                    Kind::Formatted,
                    written_time(hours, minutes),
                    &items[i..i + 1 + used],
                ));
                i += 1 + used;
                continue;
            }
        }
        if let Some((text, used)) = date(&items[i..]) {
            out.push(Item::spanning(Kind::Formatted, text, &items[i..i + used]));
            i += used;
            continue;
        }
        if let Some((text, used)) = spinal_level(&items[i..]) {
            out.push(Item::spanning(Kind::Formatted, text, &items[i..i + used]));
            i += used;
            continue;
        }
        if let Some((text, used)) = phone_number(&out, &items[i..]) {
            out.push(Item::spanning(Kind::Formatted, text, &items[i..i + used]));
            i += used;
            continue;
        }
        let Some(number) = read_number(&items[i..]) else {
            if let Some((text, used)) = dose_without_its_amount(&items[i..], vocab) {
                out.push(Item::spanning(Kind::Formatted, text, &items[i..i + used]));
                i += used;
                continue;
            }
            if let Some(year) = parse_year_compound(&lower) {
                out.push(Item::spanning(
                    Kind::Formatted,
                    year.to_string(),
                    &items[i..=i],
                ));
            } else {
                out.push(item.clone());
            }
            i += 1;
            continue;
        };
        let mut text = number.text.clone();
        let mut used = number.words;
        let mut pattern = number.digits;
        // A half before a unit: "en och en halv liter" → "1,5 liter".
        if let Some(whole) = number.value {
            let half = ["och", "en", "halv"]
                .iter()
                .enumerate()
                .all(|(k, w)| word_at(&items, i + used + k).as_deref() == Some(*w));
            let after: Vec<&str> = items[(i + used + 3).min(items.len())..]
                .iter()
                .take(4)
                .take_while(|it| it.is_word())
                .map(|it| it.text.as_str())
                .collect();
            if half && vocab.unit_at(&after).is_some() {
                text = format!("{whole},5");
                used += 3;
                pattern = true;
            }
        }
        // Decimal: "trettioåtta komma fem".
        if word_at(&items, i + used).as_deref() == Some("komma")
            && number.value.is_some()
            && !number.digits
        {
            let mut fraction = String::new();
            let mut k = i + used + 1;
            while let Some(w) = word_at(&items, k) {
                match parse_cardinal(&w) {
                    Some(v)
                        if !w.chars().all(|c| c.is_ascii_digit())
                            && (fraction.is_empty() || v < 10)
                            && fraction.len() < 3 =>
                    {
                        fraction.push_str(&v.to_string());
                        k += 1;
                        if v >= 10 {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            if !fraction.is_empty() {
                text = format!("{text},{fraction}");
                used = k - i;
                pattern = true;
            }
        }
        // Blood pressure "hundrafemtio över nittiofyra" and spoken fractions "tvåhundra
        // snedstreck sex".
        if let Some(joiner) = word_at(&items, i + used) {
            // "över" as the recognizer hears it after a blood pressure label ("blodtricks
            // hundrafemtio övena nittiofyra").
            let heard_over = joiner.starts_with("öv")
                && joiner.chars().count() <= HEARD_OVER_MAX_LETTERS
                && after_pressure_label(&out);
            if joiner == "över" || joiner == "snedstreck" || heard_over {
                if let Some(right) = read_number(&items[i + used + 1..]) {
                    let plausible_pressure = matches!((number.value, right.value), (Some(l), Some(r)) if (50..=300).contains(&l) && (20..l).contains(&r));
                    if joiner == "snedstreck" || plausible_pressure {
                        text = format!("{text}/{}", right.text);
                        used += 1 + right.words;
                        pattern = true;
                    }
                }
            }
        }
        // A score on a scale of ten ("smärtan är tre av tio" → "3 av 10"), a measurement.
        if word_at(&items, i + used).as_deref() == Some("av") {
            if let Some(scale) = read_number(&items[i + used + 1..]) {
                if scale.value == Some(SCORE_SCALE)
                    && number.value.is_some_and(|v| v <= SCORE_SCALE)
                {
                    text = format!("{text} av {}", scale.text);
                    used += 1 + scale.words;
                    pattern = true;
                }
            }
        }
        // Dosing "ett gånger tre".
        if number.value.is_some_and(|v| v <= MAX_DOSES_PER_DAY) {
            if let Some((times, words)) = times_a_day(&items[i + used..], false) {
                text = format!("{text} x {times}");
                used += words;
                pattern = true;
            }
        }
        // Unit: "sjuttiofem milligram", "nittiosex procent".
        let rest: Vec<&str> = items[i + used..]
            .iter()
            .take(4)
            .take_while(|it| it.is_word())
            .map(|it| it.text.as_str())
            .collect();
        // A unit misheard ("tio miljgräm"), by sound, when it is clearly one.
        let unit = vocab.unit_at(&rest).or_else(|| {
            rest.first()
                .and_then(|word| dose_unit_by_sound(word, vocab))
                .map(|unit| (unit, 1))
                .or_else(|| {
                    // A unit's name whisper wrote in two pieces ("mille gram").
                    let [first, second, ..] = rest[..] else {
                        return None;
                    };
                    let piece = vocab.unit_at(&[first]).is_none();
                    let joined = format!("{first}{second}");
                    piece
                        .then(|| vocab.unit_by_sound(&joined))
                        .flatten()
                        .map(|unit| (unit, 2))
                })
        });
        // "poäng" as the recognizer hears it ("tjugoåtta på en punkt", "tolv på en jämfört
        // med sjutton"), where the clause ends after it: "tre på en gång" stays.
        let heard_points = unit.is_none()
            && matches!(rest[..], [på, en, ..] if på.eq_ignore_ascii_case("på") && en.eq_ignore_ascii_case("en"))
            && rest.get(2).is_none_or(|w| {
                super::commands::ends_clause(w) || w.eq_ignore_ascii_case("jämfört")
            });
        if heard_points {
            text = format!("{text} poäng");
            used += 2;
            pattern = true;
        }
        // "en liter" is the article before a measure written as a word, as in "en vecka";
        // a score is counted ("1 poäng").
        let article_before_word_unit = unit.is_some_and(|(unit, _)| {
            unit.kind == UnitKind::Other && unit.written.chars().all(char::is_alphabetic)
        }) && matches!(lower.as_str(), "en" | "ett");
        let unit = unit.filter(|_| !article_before_word_unit);
        if let Some((unit, unit_words)) = unit {
            text = format!("{text} {}", unit.written);
            used += unit_words;
            pattern = true;
            // The dose's "ett" glued to its unit ("femtio milligrammet gånger ett" for
            // "femtio milligram ett gånger ett").
            let glued_one = rest
                .get(unit_words - 1)
                .is_some_and(|w| without_glued_one(&w.to_lowercase()).is_some());
            if let Some((times, words)) = times_a_day(&items[i + used..], true) {
                if glued_one {
                    text = format!("{text} 1 x {times}");
                    used += words;
                } else if unit.kind == UnitKind::Dose {
                    // The dose's count was not heard ("500 mg gånger två"): the dosing is
                    // written as said, the count is not guessed.
                    text = format!("{text} x {times}");
                    used += words;
                }
            }
        }
        // The value of a measurement, after a linking verb or a comparison or both ("CRP
        // var under fem").
        let before_value = out
            .iter()
            .rev()
            .take(2)
            .take_while(|it| {
                let lower = it.lower();
                LINKING_VERBS.contains(&lower.as_str()) || COMPARISONS.contains(&lower.as_str())
            })
            .count();
        // "en gång" is a count of times, never a value ("fyller i SHAI en gång till").
        let lone_one = number.words == 1 && matches!(lower.as_str(), "en" | "ett");
        let next_word = word_at(&items, i + used);
        let one_time = next_word.as_deref() == Some("gång");
        // "en"/"ett" before a noun is its article there too ("vikt under en månad"), but
        // right after the label it is the value ("typ ett").
        let article = lone_one && (one_time || (before_value > 0 && next_word.is_some()));
        // After a verb the label may have words of its own ("CRP från fingret är under åtta").
        let label_reach = if before_value > 0 {
            LABEL_WORDS_BEFORE_VERB + 1
        } else {
            1
        };
        let after_label = !article
            && out[..out.len() - before_value]
                .iter()
                .rev()
                .take(label_reach)
                // The label itself may already be written as an abbreviation ("CRP").
                .take_while(|it| it.is_word() || vocab.is_measurement_label(&it.text))
                .any(|it| vocab.is_measurement_label(&it.text));
        let large = number.value.is_some_and(|v| v >= 13);
        // Durations and counts of times are facts a note writes in digits ("sedan 3 dagar",
        // "om 4 veckor"); "en"/"ett" stays the article it is ("sedan en vecka").
        let two_or_more = number.value.is_some_and(|v| v >= 2);
        let duration_at =
            |k: usize| word_at(&items, k).is_some_and(|w| DURATION_WORDS.contains(&w.as_str()));
        let duration = two_or_more && duration_at(i + used);
        // The first of two numbers of one duration or age takes digits with the second ("5
        // och 8 år").
        // ... and of two said as a range with a comma between them ("tio, elva timmar").
        let joiner = items.get(i + used).is_some_and(|it| {
            it.text == "," || (it.is_word() && NUMBER_JOINERS.contains(&it.lower().as_str()))
        });
        let joined_to_duration = two_or_more
            && joiner
            && read_number(&items[i + used + 1..]).is_some_and(|second| {
                second.value.is_some_and(|v| v >= 2) && duration_at(i + used + 1 + second.words)
            });
        // The end of a range whose start was written in digits ("från 52 till 12").
        let range_end = out.len() >= 2
            && out[out.len() - 1].is_word()
            && out[out.len() - 1].lower() == "till"
            && out[out.len() - 2].kind == Kind::Formatted
            && out[out.len() - 2]
                .text
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit());
        if pattern || large || after_label || duration || joined_to_duration || range_end {
            out.push(Item::spanning(Kind::Formatted, text, &items[i..i + used]));
            i += used;
        } else {
            out.extend(items[i..i + number.words].iter().cloned());
            i += number.words;
        }
    }
    out
}

/// An hour said as a word or digits, 0–24.
fn spoken_hour(word: &str) -> Option<u32> {
    parse_cardinal(word)
        .filter(|h| *h <= 24)
        .and_then(|h| u32::try_from(h).ok())
}

/// The hour before `hour` on the clock face ("halv nio" is 8.30, "halv ett" 12.30).
fn hour_before(hour: u32) -> Option<u32> {
    match hour {
        0 => None,
        1 => Some(12),
        h => Some(h - 1),
    }
}

/// A time of day said after "klockan", at the start of `items`: `(hours, minutes, words
/// used)`: "halv nio", "kvart över tre", "kvart i tre", "fem över åtta", "tio i halv nio",
/// "åtta trettio", "åtta noll fem", a bare "åtta" and the recognizer's "8.30"/"8:30". Without
/// "klockan" a spoken time stays as said: "läggning halv nio" is in the evening, and digits
/// would make it 08.30.
fn time_of_day(items: &[Item]) -> Option<(u32, u32, usize)> {
    let word = |k: usize| word_at(items, k);
    let first = word(0)?;
    if first == "halv" {
        let hour = hour_before(spoken_hour(&word(1)?)?)?;
        return Some((hour, 30, 2));
    }
    if first == "kvart" {
        let hour = spoken_hour(&word(2)?)?;
        return match word(1)?.as_str() {
            "över" => Some((hour, 15, 3)),
            "i" => Some((hour_before(hour)?, 45, 3)),
            _ => None,
        };
    }
    if let Some((h, m)) = first.split_once(['.', ':']) {
        let (hours, minutes) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        let ok = m.len() == 2 && hours <= 24 && minutes < 60;
        return ok.then_some((hours, minutes, 1));
    }
    // "fem över åtta", "tio i nio", "fem i halv nio", "fem över halv nio".
    let relative = || -> Option<(u32, u32, usize)> {
        let minutes = u32::try_from(parse_cardinal(&first)?)
            .ok()
            .filter(|m| (1..30).contains(m))?;
        let after = match word(1)?.as_str() {
            "över" => true,
            "i" => false,
            _ => return None,
        };
        if word(2).as_deref() == Some("halv") {
            let half = hour_before(spoken_hour(&word(3)?)?)?;
            let minutes = if after { 30 + minutes } else { 30 - minutes };
            return Some((half, minutes, 4));
        }
        let hour = spoken_hour(&word(2)?)?;
        if after {
            Some((hour, minutes, 3))
        } else {
            Some((hour_before(hour)?, 60 - minutes, 3))
        }
    };
    if let Some(time) = relative() {
        return Some(time);
    }
    let hour = spoken_hour(&first)?;
    // Digital: "åtta trettio", "fjorton femton", "åtta noll fem", "åtta och trettio".
    match word(1).as_deref() {
        Some("och") => {
            if let Some(m) = word(2)
                .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
                .and_then(|w| parse_cardinal(&w))
                .filter(|m| (10..60).contains(m))
            {
                return Some((hour, u32::try_from(m).ok()?, 3));
            }
        }
        Some("noll") => {
            if let Some(m) = word(2).and_then(|w| parse_cardinal(&w)).filter(|m| *m < 10) {
                return Some((hour, u32::try_from(m).ok()?, 3));
            }
        }
        Some(next) if !next.chars().all(|c| c.is_ascii_digit()) => {
            if let Some(m) = parse_cardinal(next).filter(|m| (10..60).contains(m)) {
                return Some((hour, u32::try_from(m).ok()?, 2));
            }
        }
        _ => {}
    }
    Some((hour, 0, 1))
}

/// A time of day in note style ([`TIME_STYLE`]).
fn written_time(hours: u32, minutes: u32) -> String {
    let style = &TIME_STYLE;
    let hours = if style.pad_hours {
        format!("{hours:02}")
    } else {
        hours.to_string()
    };
    format!("{} {hours}{}{minutes:02}", style.prefix, style.separator)
}

/// The day of a date: an ordinal ("tjugoförsta") or a cardinal ("tjugoett"), 1–31.
fn spoken_day(word: &str) -> Option<u64> {
    // "en"/"ett" before a month is an article ("en mars månad"), not the first.
    let cardinal = || {
        let counted = !(matches!(word, "en" | "ett") || word.chars().all(|c| c.is_ascii_digit()));
        parse_cardinal(word).filter(|_| counted)
    };
    parse_ordinal(word)
        .or_else(cardinal)
        .filter(|d| (1..=31).contains(d))
}

/// A date at the start of `items`: "tjugoförsta november" → "21 november", "den tredje i
/// tolfte" → "3/12" (the "den" stays). Returns the written date and the words used.
fn date(items: &[Item]) -> Option<(String, usize)> {
    let day_word = word_at(items, 0)?;
    let day = spoken_day(&day_word)?;
    let next = word_at(items, 1)?;
    if MONTHS.contains(&next.as_str()) {
        return Some((format!("{day} {next}"), 2));
    }
    // Ordinals on both sides, so that "tre i fem" (three out of five) stays words.
    if next == "i" && parse_ordinal(&day_word).is_some() {
        let month = parse_ordinal(&word_at(items, 2)?).filter(|m| (1..=12).contains(m))?;
        return Some((format!("{day}{DAY_MONTH_SEPARATOR}{month}"), 3));
    }
    None
}

fn age_compound(word: &str) -> Option<String> {
    for suffix in AGE_SUFFIXES {
        if let Some(number) = word.strip_suffix(suffix) {
            let number = number.trim_end_matches('-');
            if let Some(value) = parse_cardinal(number) {
                return Some(format!("{value}-{suffix}"));
            }
        }
    }
    None
}

/// The words for a person that take the indefinite "-årig" ("23-årig kvinna").
const INDEFINITE_PERSONS: [&str; 6] = ["kvinna", "man", "flicka", "pojke", "tjej", "kille"];

/// "23-årige kvinna" → "23-årig": the recognizer's "-årige" (which goes with "den", "den
/// 23-årige mannen") before a person said without an article is the note's "-årig".
fn indefinite_age(items: &[Item]) -> Option<String> {
    let lower = items.first()?.lower();
    let number = lower.strip_suffix("årige")?.trim_end_matches('-');
    let value = parse_cardinal(number)?;
    let next = items.get(1).filter(|it| it.is_word())?.lower();
    ((1..=MAX_AGE).contains(&value) && INDEFINITE_PERSONS.contains(&next.as_str()))
        .then(|| format!("{value}-årig"))
}

/// How the recognizer writes "-årig" after an age it wrote as digits ("28 Arigman",
/// "33 orikvina"), besides the suffixes themselves ([`AGE_SUFFIXES`]).
const AGE_WORDS_HEARD: [&str; 5] = ["arig", "orig", "årik", "arik", "orik"];
/// Misheard suffixes that have lost their vowel ("rikvina"), taken glued to the next word
/// only, since "rik" alone is a word.
const AGE_WORDS_CLIPPED: [&str; 2] = ["rig", "rik"];
/// Starts of the word for the person that the recognizer glues to an age ("rikvina",
/// "Arigman").
const PERSON_STARTS: [&str; 5] = ["kv", "vin", "man", "flick", "pojk"];
/// Oldest age read from "N årig".
const MAX_AGE: u64 = 120;

/// "57 årig" → ("57-årig", None); "28 Arigman" → ("28-årig", Some(4)): an age written as
/// digits or one number word, then "-årig" in the next word, on its own, misheard
/// ([`AGE_WORDS_HEARD`]) or glued to the word for the person. The second value is where that
/// glued word starts; it is kept as a word of its own. Both words are used.
fn age_after_number(items: &[Item]) -> Option<(String, Option<usize>)> {
    let value = parse_cardinal(&items.first()?.lower())?;
    if !(1..=MAX_AGE).contains(&value) {
        return None;
    }
    let next = items.get(1).filter(|it| it.is_word())?.lower();
    if AGE_SUFFIXES.contains(&next.as_str()) {
        return Some((format!("{value}-{next}"), None));
    }
    // A compound age split after its tens ("tretio tvårig" for "trettiotvåårig").
    if value % 10 == 0 && (20..=90).contains(&value) {
        let unit_age = UNITS.iter().filter(|(_, v)| *v > 0).find_map(|&(unit, v)| {
            let rest = next.strip_prefix(unit)?;
            if AGE_SUFFIXES.contains(&rest) {
                return Some((v, rest));
            }
            // "två" + "årig" runs its two å together ("tvårig").
            ["rig", "arig"].contains(&rest).then_some((v, "årig"))
        });
        if let Some((unit_value, suffix)) = unit_age {
            return Some((format!("{}-{suffix}", value + unit_value), None));
        }
    }
    if AGE_WORDS_HEARD.contains(&next.as_str()) {
        return Some((format!("{value}-årig"), None));
    }
    // A short misheard "-årig" with another first sound ("28 dagrig man"), taken only
    // before the word for the person.
    let person_follows = items
        .get(2)
        .filter(|it| it.is_word())
        .is_some_and(|it| PERSON_STARTS.iter().any(|p| it.lower().starts_with(p)));
    let letters = next.chars().count();
    if person_follows
        && (4..=6).contains(&letters)
        && next.ends_with("rig")
        && next.chars().all(char::is_alphabetic)
    {
        return Some((format!("{value}-årig"), None));
    }
    // Glued only to the word for the person: "2 original" is not "2-årig inal".
    let glued = |heard: &&str| {
        let rest = next.strip_prefix(heard)?;
        let fits = rest.chars().count() >= 3
            && rest.chars().all(char::is_alphabetic)
            && PERSON_STARTS.iter().any(|p| rest.starts_with(p));
        // "rikvinna": the heard "k" is also the start of "kvinna".
        let shared_k = heard.ends_with('k') && rest.starts_with("vin");
        fits.then(|| heard.chars().count() - usize::from(shared_k))
    };
    ["årig"]
        .iter()
        .chain(&AGE_WORDS_HEARD)
        .chain(&AGE_WORDS_CLIPPED)
        .find_map(glued)
        .map(|at| (format!("{value}-årig"), Some(at)))
}

/// "nitton åttiofem noll tre tolv ett två tre fyra" → "19850312-1234".
fn personnummer(items: &[Item]) -> Option<(String, usize)> {
    let mut digits = String::new();
    let mut separator_at: Option<usize> = None;
    let mut used = 0;
    for item in items {
        let lower = item.lower();
        if item.is_word() {
            if matches!(lower.as_str(), "streck" | "bindestreck" | "minus") || lower == "-" {
                separator_at = Some(digits.len());
            } else if let Some(value) = parse_cardinal(&lower) {
                digits.push_str(&value.to_string());
            } else if lower.chars().all(|c| c.is_ascii_digit() || c == '-') {
                for c in lower.chars() {
                    if c == '-' {
                        separator_at = Some(digits.len());
                    } else {
                        digits.push(c);
                    }
                }
            } else {
                break;
            }
        } else if item.kind == Kind::Recognizer(super::tokens::Mark::Hyphen) {
            separator_at = Some(digits.len());
        } else {
            break;
        }
        used += 1;
    }
    if !(10..=12).contains(&digits.len()) {
        return None;
    }
    let split = separator_at
        .filter(|&s| s > 0 && s < digits.len())
        .unwrap_or(digits.len() - 4);
    Some((format!("{}-{}", &digits[..split], &digits[split..]), used))
}

/// "J noll tre punkt noll" → "J03.0", "F nittio punkt noll B" → "F90.0B". Without a spoken
/// "punkt" only after a word like "diagnos", and never for a lone lowercase "i" (the
/// preposition) or "e".
fn icd_code(items: &[Item], after_keyword: bool) -> Option<(String, usize)> {
    let letter_item = items.first()?;
    let letter: Vec<char> = letter_item.text.chars().collect();
    let [c] = letter[..] else {
        return None;
    };
    if !c.is_alphabetic() || !c.is_ascii() || matches!(c, 'i' | 'e' | 'a' | 'o') {
        return None;
    }
    let letter = c.to_ascii_uppercase();
    let mut k = 1;
    let mut category = String::new();
    while category.len() < 2 {
        let Some(word) = word_at(items, k) else { break };
        if word.len() == 2 && word.chars().all(|c| c.is_ascii_digit()) && category.is_empty() {
            category = word;
        } else {
            let value = parse_cardinal(&word)?;
            if category.is_empty() && (10..100).contains(&value) {
                category = value.to_string();
            } else if value < 10 {
                category.push_str(&value.to_string());
            } else {
                return None;
            }
        }
        k += 1;
    }
    if category.len() != 2 {
        return None;
    }
    let mut code = format!("{letter}{category}");
    if word_at(items, k).as_deref() == Some("punkt") {
        let mut sub = String::new();
        let mut j = k + 1;
        while sub.len() < 2 {
            match word_at(items, j).and_then(|w| parse_cardinal(&w).filter(|v| *v < 10)) {
                Some(v) => {
                    sub.push_str(&v.to_string());
                    j += 1;
                }
                None => break,
            }
        }
        if sub.is_empty() {
            return (after_keyword).then_some((code, k));
        }
        code = format!("{code}.{sub}");
        k = j;
        if let Some(suffix) = items.get(k).filter(|it| {
            it.is_word() && it.text.len() == 1 && it.text.chars().all(|c| c.is_ascii_uppercase())
        }) {
            code.push_str(&suffix.text);
            k += 1;
        }
        return Some((code, k));
    }
    after_keyword.then_some((code, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_words_fold_into_digits_for_comparison() {
        let words: Vec<String> = ["blodtryck", "hundra", "femtio", "över", "90", "fyra", "fem"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(
            numbers_as_digits(&words),
            ["blodtryck", "150", "", "över", "94", "", "5"]
        );
    }

    #[test]
    fn cardinals() {
        for (word, value) in [
            ("tjugofyra", 24),
            ("tvåhundrafemtio", 250),
            ("etthundra", 100),
            ("hundra", 100),
            ("tusen", 1000),
            ("tusenfemhundra", 1500),
            ("nittonhundraåttiofem", 1985),
            ("tvåtusentjugofem", 2025),
            ("noll", 0),
            ("sextiosju", 67),
            ("femti", 50),
            ("arton", 18),
            ("trettioåtta", 38),
        ] {
            assert_eq!(parse_cardinal(word), Some(value), "{word}");
        }
        for word in ["femtiden", "tjugotjugo", "sexa", "nollfem", "en-"] {
            assert_eq!(parse_cardinal(word), None, "{word}");
        }
        assert_eq!(parse_year_compound("tjugotjugofem"), Some(2025));
        assert_eq!(parse_year_compound("tjugoarton"), Some(2018));
        assert_eq!(parse_ordinal("tolfte"), Some(12));
        assert_eq!(parse_ordinal("tjugoförsta"), Some(21));
        assert_eq!(parse_ordinal("trettionde"), Some(30));
        assert_eq!(age_compound("tjugofyraårig").as_deref(), Some("24-årig"));
    }
}
