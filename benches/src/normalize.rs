//! Swedish text normalization applied to both reference and hypothesis before WER/CER, so that
//! scores count recognition errors rather than differences in casing, punctuation or how numbers
//! are written. The rules are listed in `benches/README.md`; [`normalize`] is their definition.

/// Cardinal words 0–19.
const SMALL: [&str; 20] = [
    "noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv",
    "tretton", "fjorton", "femton", "sexton", "sjutton", "arton", "nitton",
];
/// Tens 20, 30, …, 90 (index = tens digit).
const TENS: [&str; 10] = [
    "", "", "tjugo", "trettio", "fyrtio", "femtio", "sextio", "sjuttio", "åttio", "nittio",
];
/// Ordinal words 1–19 (index 0 unused).
const SMALL_ORDINAL: [&str; 20] = [
    "",
    "första",
    "andra",
    "tredje",
    "fjärde",
    "femte",
    "sjätte",
    "sjunde",
    "åttonde",
    "nionde",
    "tionde",
    "elfte",
    "tolfte",
    "trettonde",
    "fjortonde",
    "femtonde",
    "sextonde",
    "sjuttonde",
    "artonde",
    "nittonde",
];
/// Unit abbreviations written out (matched as whole tokens after lowercasing).
const ABBREVIATIONS: [(&str, &str); 9] = [
    ("mg", "milligram"),
    ("µg", "mikrogram"),
    ("mcg", "mikrogram"),
    ("ml", "milliliter"),
    ("mmol", "millimol"),
    ("kg", "kilo"),
    ("cm", "centimeter"),
    ("mm", "millimeter"),
    ("mmhg", "millimeter kvicksilver"),
];
/// Digit runs longer than this are read digit by digit (ids, phone numbers).
const MAX_CARDINAL_DIGITS: usize = 12;

/// Normalizes Swedish text for scoring: lowercase; numbers (digit sequences) to Swedish words;
/// punctuation and symbols removed; unit abbreviations written out; whitespace collapsed.
///
/// Number rules, applied before punctuation is removed:
/// * an integer becomes one compound word: `62` → `sextiotvå`, `140` → `hundrafyrtio`,
///   `2500` → `tvåtusenfemhundra`; `1` → `ett`; millions and above are separate words
///   (`2 000 000` → `två miljoner`);
/// * a comma or point between digits is a decimal mark, read `komma`, and the decimals are read
///   as a number after any leading zeros: `38,5` → `trettioåtta komma fem`,
///   `0,05` → `noll komma noll fem`;
/// * `/` between digits is read `över` (blood pressure): `150/94` →
///   `hundrafemtio över nittiofyra`;
/// * `%` → `procent`, `°` → `grader`, `+` → `plus`;
/// * `N:e`/`N:a` is an ordinal: `3:e` → `tredje`, `21:a` → `tjugoförsta`;
/// * groups of three digits separated by a single space are one number (`1 500` → `tusenfemhundra`);
/// * a digit run with a leading zero, or longer than 12 digits, is read digit by digit;
/// * the words `etthundra…`/`ettusen…` lose the leading `ett` so they match `hundra…`/`tusen…`.
pub fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase();
    let spoken = numbers_to_words(&lowered);
    let mut cleaned = String::with_capacity(spoken.len());
    for c in spoken.chars() {
        if c.is_alphabetic() || c.is_numeric() {
            cleaned.push(c);
        } else {
            cleaned.push(' ');
        }
    }
    let mut words: Vec<String> = Vec::new();
    for token in cleaned.split_whitespace() {
        match ABBREVIATIONS.iter().find(|(abbr, _)| *abbr == token) {
            Some((_, full)) => words.extend(full.split(' ').map(str::to_string)),
            None => words.push(canonical_number_word(token)),
        }
    }
    words.join(" ")
}

/// `etthundrafem` → `hundrafem`, `ettusen` → `tusen`: the spoken forms with and without "ett".
fn canonical_number_word(token: &str) -> String {
    if let Some(rest) = token.strip_prefix("etthundra") {
        return format!("hundra{rest}");
    }
    if let Some(rest) = token.strip_prefix("ettusen") {
        return format!("tusen{rest}");
    }
    token.to_string()
}

/// Rewrites digit sequences (with their decimal marks, slashes, `%` and ordinal suffixes) as
/// Swedish words, leaving all other characters in place.
fn numbers_to_words(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !c.is_ascii_digit() {
            match c {
                '%' => out.push_str(" procent "),
                '°' => out.push_str(" grader "),
                '+' => out.push_str(" plus "),
                '/' if prev_is_digit(&chars, i) && next_is_digit(&chars, i) => {
                    out.push_str(" över ")
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        // Integer part, joining "1 500"-style thousands groups.
        let (mut digits, mut j) = digit_run(&chars, i);
        if digits.len() <= 3 && !digits.starts_with('0') {
            while is_thousands_group(&chars, j) {
                digits.extend(&chars[j + 1..j + 4]);
                j += 4;
            }
        }
        out.push(' ');
        // Ordinal suffix `:e` / `:a`, not followed by a letter.
        if chars.get(j) == Some(&':')
            && matches!(chars.get(j + 1), Some('e' | 'a'))
            && !chars.get(j + 2).is_some_and(|c| c.is_alphabetic())
        {
            out.push_str(&ordinal_words(&digits));
            out.push(' ');
            i = j + 2;
            continue;
        }
        out.push_str(&integer_words(&digits));
        // Decimal part.
        if matches!(chars.get(j), Some(',' | '.')) && next_is_digit(&chars, j) {
            let (decimals, k) = digit_run(&chars, j + 1);
            out.push_str(" komma ");
            out.push_str(&decimal_words(&decimals));
            j = k;
        }
        out.push(' ');
        i = j;
    }
    out
}

/// A single space at `j` followed by exactly three digits (and then no further digit).
fn is_thousands_group(chars: &[char], j: usize) -> bool {
    j + 4 <= chars.len()
        && chars[j] == ' '
        && chars[j + 1..j + 4].iter().all(char::is_ascii_digit)
        && !chars.get(j + 4).is_some_and(char::is_ascii_digit)
}

fn prev_is_digit(chars: &[char], i: usize) -> bool {
    i > 0 && chars[i - 1].is_ascii_digit()
}

fn next_is_digit(chars: &[char], i: usize) -> bool {
    chars.get(i + 1).is_some_and(char::is_ascii_digit)
}

/// The ASCII digits starting at `start`, and the index after them.
fn digit_run(chars: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while end < chars.len() && chars[end].is_ascii_digit() {
        end += 1;
    }
    (chars[start..end].iter().collect(), end)
}

/// Words for a run of digits read as an integer (or digit by digit; see [`normalize`]).
fn integer_words(digits: &str) -> String {
    if digits.len() > MAX_CARDINAL_DIGITS || (digits.len() > 1 && digits.starts_with('0')) {
        return digit_by_digit(digits);
    }
    match digits.parse::<u64>() {
        Ok(n) => cardinal(n),
        Err(_) => digit_by_digit(digits),
    }
}

/// Decimals: leading zeros one by one, then the rest as a number.
fn decimal_words(digits: &str) -> String {
    let zeros = digits.len() - digits.trim_start_matches('0').len();
    let rest = &digits[zeros..];
    let mut words: Vec<String> = vec!["noll".to_string(); zeros];
    if !rest.is_empty() {
        words.push(integer_words(rest));
    }
    words.join(" ")
}

fn digit_by_digit(digits: &str) -> String {
    digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| SMALL[d as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Swedish cardinal for `n`: one compound word below a million, e.g. `tvåtusenfemhundra`.
pub fn cardinal(n: u64) -> String {
    const MILLION: u64 = 1_000_000;
    const BILLION: u64 = 1_000_000_000;
    if n < MILLION {
        return below_million(n);
    }
    let mut parts = Vec::new();
    let (billions, rest) = (n / BILLION, n % BILLION);
    if billions > 0 {
        parts.push(scale_words(billions, "miljard", "miljarder"));
    }
    let (millions, rest) = (rest / MILLION, rest % MILLION);
    if millions > 0 {
        parts.push(scale_words(millions, "miljon", "miljoner"));
    }
    if rest > 0 {
        parts.push(below_million(rest));
    }
    parts.join(" ")
}

/// `en miljon`, `tre miljoner`, `tjugoen miljoner`.
fn scale_words(count: u64, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("en {singular}")
    } else {
        let words = below_million(count);
        // Counted nouns of common gender take "en": "tjugoen miljoner".
        let words = match words.strip_suffix("ett") {
            Some(stem) => format!("{stem}en"),
            None => words,
        };
        format!("{words} {plural}")
    }
}

fn below_million(n: u64) -> String {
    debug_assert!(n < 1_000_000);
    let (thousands, rest) = (n / 1000, n % 1000);
    let mut word = String::new();
    if thousands > 0 {
        if thousands > 1 {
            word.push_str(&below_thousand(thousands));
        }
        word.push_str("tusen");
        if rest == 0 {
            return reduce_triple_consonants(&word);
        }
    }
    if rest > 0 || word.is_empty() {
        word.push_str(&below_thousand(rest));
    }
    reduce_triple_consonants(&word)
}

fn below_thousand(n: u64) -> String {
    debug_assert!(n < 1000);
    let (hundreds, rest) = (n / 100, n % 100);
    let mut word = String::new();
    if hundreds > 0 {
        if hundreds > 1 {
            word.push_str(SMALL[hundreds as usize]);
        }
        word.push_str("hundra");
        if rest == 0 {
            return word;
        }
    }
    if rest < 20 {
        word.push_str(SMALL[rest as usize]);
    } else {
        word.push_str(TENS[(rest / 10) as usize]);
        if rest % 10 > 0 {
            word.push_str(SMALL[(rest % 10) as usize]);
        }
    }
    word
}

/// Swedish spelling joins three equal consonants in a compound to two: `ett` + `tusen` →
/// `ettusen` (in `tjugoettusen`).
fn reduce_triple_consonants(word: &str) -> String {
    word.replace("ttt", "tt")
}

/// Ordinal words for numbers below 1000 (`tredje`, `tjugoförsta`, `hundrade`); larger numbers
/// are read as the cardinal followed by `e`.
fn ordinal_words(digits: &str) -> String {
    let Ok(n) = digits.parse::<u64>() else {
        return integer_words(digits);
    };
    if n == 0 || n >= 1000 {
        return format!("{} e", integer_words(digits));
    }
    let (hundreds, rest) = (n / 100, n % 100);
    let prefix = if hundreds > 0 {
        below_thousand(hundreds * 100)
    } else {
        String::new()
    };
    if rest == 0 {
        return format!("{prefix}de");
    }
    let tail = if rest < 20 {
        SMALL_ORDINAL[rest as usize].to_string()
    } else if rest % 10 == 0 {
        format!("{}nde", TENS[(rest / 10) as usize])
    } else {
        format!(
            "{}{}",
            TENS[(rest / 10) as usize],
            SMALL_ORDINAL[(rest % 10) as usize]
        )
    };
    format!("{prefix}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardinals() {
        let cases = [
            (0, "noll"),
            (1, "ett"),
            (7, "sju"),
            (13, "tretton"),
            (20, "tjugo"),
            (21, "tjugoett"),
            (38, "trettioåtta"),
            (62, "sextiotvå"),
            (99, "nittionio"),
            (100, "hundra"),
            (101, "hundraett"),
            (140, "hundrafyrtio"),
            (250, "tvåhundrafemtio"),
            (1000, "tusen"),
            (1500, "tusenfemhundra"),
            (2024, "tvåtusentjugofyra"),
            (21_000, "tjugoettusen"),
            (100_000, "hundratusen"),
            (1_000_000, "en miljon"),
            (2_500_000, "två miljoner femhundratusen"),
            (21_000_000, "tjugoen miljoner"),
            (3_000_000_001, "tre miljarder ett"),
        ];
        for (n, words) in cases {
            assert_eq!(cardinal(n), words, "{n}");
        }
    }

    #[test]
    fn decimals_fractions_and_percent() {
        assert_eq!(normalize("38,5"), "trettioåtta komma fem");
        assert_eq!(normalize("Temp 38.5°"), "temp trettioåtta komma fem grader");
        assert_eq!(normalize("0,05"), "noll komma noll fem");
        assert_eq!(normalize("2,25 mg"), "två komma tjugofem milligram");
        assert_eq!(normalize("BT 150/94."), "bt hundrafemtio över nittiofyra");
        assert_eq!(normalize("Saturation 97%"), "saturation nittiosju procent");
        assert_eq!(normalize("97 %"), "nittiosju procent");
    }

    #[test]
    fn ordinals_groups_and_digit_strings() {
        assert_eq!(normalize("den 3:e maj"), "den tredje maj");
        assert_eq!(normalize("21:a"), "tjugoförsta");
        assert_eq!(normalize("20:e"), "tjugonde");
        assert_eq!(normalize("100:e"), "hundrade");
        assert_eq!(normalize("1 500 mg"), "tusenfemhundra milligram");
        assert_eq!(normalize("2 000 000"), "två miljoner");
        // Two numbers separated by a space that are not a thousands group stay apart.
        assert_eq!(normalize("2 15"), "två femton");
        assert_eq!(normalize("070"), "noll sju noll");
        assert_eq!(normalize("kl. 14:30"), "kl fjorton trettio");
        assert_eq!(normalize("typ 2-diabetes"), "typ två diabetes");
        assert_eq!(normalize("B12"), "b tolv");
    }

    #[test]
    fn case_punctuation_and_whitespace() {
        assert_eq!(
            normalize("  Patienten har haft FEBER, i tre dagar!  "),
            "patienten har haft feber i tre dagar"
        );
        assert_eq!(
            normalize("Hon säger: \"Det gör ont\" – (ibland)…"),
            "hon säger det gör ont ibland"
        );
        assert_eq!(
            normalize("Åsa, Östen, Ängel, idé, Müller"),
            "åsa östen ängel idé müller"
        );
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" ,.; "), "");
    }

    #[test]
    fn written_and_spoken_numbers_agree() {
        let pairs = [
            (
                "Blodtrycket är 140/90.",
                "Blodtrycket är hundrafyrtio över nittio.",
            ),
            ("Långtidssockret var 62", "långtidssockret var sextiotvå"),
            ("10 mg en gång dagligen", "tio milligram en gång dagligen"),
            ("etthundrafyrtio", "140"),
            ("ettusen", "1000"),
            ("Feber 38,5 grader", "feber trettioåtta komma fem grader"),
        ];
        for (a, b) in pairs {
            assert_eq!(normalize(a), normalize(b), "{a} vs {b}");
        }
    }
}
