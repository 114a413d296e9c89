//! A Swedish-aware phonetic key: spellings that sound alike get the same key, so a word the
//! recognizer spelled by ear ("Atarrax", "kålon", "Sertralinn") finds the vocabulary term.
//! The rules follow Swedish orthography: the sj-sound, the tj-sound, soft g/k, loan spellings.

/// Code for the sj-sound (sj, stj, skj, sch, sk before a front vowel, -tion).
const SJ: char = 'X';
/// Code for the tj-sound (tj, kj, k before a front vowel).
const TJ: char = 'C';

fn is_front_vowel(c: Option<char>) -> bool {
    matches!(c, Some('e' | 'i' | 'y' | 'ä' | 'ö'))
}

/// Folds accents and letters outside the Swedish alphabet to their Swedish equivalents and
/// drops everything that is not a letter or digit.
fn fold(text: &str) -> Vec<char> {
    text.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'á' | 'à' | 'â' => Some('a'),
            'ü' | 'ú' => Some('y'),
            'æ' => Some('ä'),
            'ø' => Some('ö'),
            'í' | 'ì' | 'ï' => Some('i'),
            'ó' | 'ò' | 'ô' => Some('o'),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The phonetic key of a word or phrase.
///
/// ```
/// use skriva_vocab::phonetic_key;
/// assert_eq!(phonetic_key("Atarrax"), phonetic_key("Atarax"));
/// assert_eq!(phonetic_key("kålon"), phonetic_key("kolon"));
/// assert_eq!(phonetic_key("schema"), phonetic_key("sjema"));
/// assert_ne!(phonetic_key("sertralin"), phonetic_key("citalopram"));
/// ```
pub fn phonetic_key(text: &str) -> String {
    let chars = fold(text);
    let at = |i: usize| chars.get(i).copied();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = at(i + 1);
        let next2 = at(i + 2);
        let word_start = i == 0;
        let (code, used): (Option<char>, usize) = match c {
            's' if next == Some('c') && next2 == Some('h') => (Some(SJ), 3),
            's' if next == Some('k') && next2 == Some('j') => (Some(SJ), 3),
            's' if next == Some('t') && next2 == Some('j') => (Some(SJ), 3),
            's' if next == Some('j') => (Some(SJ), 2),
            's' if next == Some('k') && is_front_vowel(next2) => (Some(SJ), 2),
            'c' if next == Some('h') => (Some(SJ), 2),
            't' if next == Some('i') && next2 == Some('o') && !word_start => (Some(SJ), 2),
            't' if next == Some('j') => (Some(TJ), 2),
            'k' if next == Some('j') => (Some(TJ), 2),
            'k' if word_start && is_front_vowel(next) => (Some(TJ), 1),
            'g' if word_start && is_front_vowel(next) => (Some('j'), 1),
            'g' | 'h' | 'd' | 'l' if word_start && next == Some('j') => (Some('j'), 2),
            'p' if word_start && next == Some('s') => (None, 1),
            'p' if next == Some('h') => (Some('f'), 2),
            't' if next == Some('h') => (Some('t'), 2),
            'd' if next == Some('t') => (Some('t'), 2),
            'c' if next == Some('k') => (Some('k'), 2),
            'q' if next == Some('u') => {
                out.push('k');
                (Some('v'), 2)
            }
            'q' => (Some('k'), 1),
            'c' if is_front_vowel(next) || next == Some('y') => (Some('s'), 1),
            'c' => (Some('k'), 1),
            'x' => {
                out.push('k');
                (Some('s'), 1)
            }
            'z' => (Some('s'), 1),
            'w' => (Some('v'), 1),
            'h' if !word_start => (None, 1),
            'å' => (Some('o'), 1),
            'ä' => (Some('e'), 1),
            other => (Some(other), 1),
        };
        if let Some(code) = code {
            if out.last() != Some(&code) {
                out.push(code);
            }
        }
        i += used;
    }
    out.into_iter().collect()
}

/// [`phonetic_key`] with the vowels the recognizer confuses folded together (y and i, u and
/// o), so "Blodtrick" and "blodtryck" or "Zoicidrisk" and "suicidrisk" sound the same.
///
/// ```
/// use skriva_vocab::loose_phonetic_key;
/// assert_eq!(loose_phonetic_key("Bloodtrick"), loose_phonetic_key("blodtryck"));
/// assert_eq!(loose_phonetic_key("Zoicidrisk"), loose_phonetic_key("suicidrisk"));
/// assert_ne!(loose_phonetic_key("tonsill"), loose_phonetic_key("tonsillit"));
/// ```
pub fn loose_phonetic_key(text: &str) -> String {
    loosen_key(&phonetic_key(text))
}

/// A [`phonetic_key`] already computed, made a [`loose_phonetic_key`].
pub(crate) fn loosen_key(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        let c = match c {
            'y' => 'i',
            'u' => 'o',
            c => c,
        };
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// Similarity in `0.0..=1.0` of two strings by edit distance over characters
/// (1.0 = equal). Case-insensitive.
pub fn similarity(a: &str, b: &str) -> f32 {
    similarity_of_chars(&lowercase_chars(a), &lowercase_chars(b))
}

/// A string's characters lowercased, as [`similarity`] compares them.
pub(crate) fn lowercase_chars(text: &str) -> Vec<char> {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// [`similarity`] of strings already made [`lowercase_chars`], for callers that compare one
/// string with many.
pub(crate) fn similarity_of_chars(a: &[char], b: &[char]) -> f32 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - edit_distance(a, b) as f32 / longest as f32
}

/// Levenshtein distance between two character sequences.
pub fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sj_sound_spellings_share_a_code() {
        let key = phonetic_key("sjuk");
        for spelling in ["stjuk", "skjuk", "schuk"] {
            assert_eq!(phonetic_key(spelling), key, "{spelling}");
        }
        assert_eq!(phonetic_key("station"), phonetic_key("staschon"));
        assert_eq!(phonetic_key("skinn"), phonetic_key("sjin"));
    }

    #[test]
    fn loan_spellings_and_doubles_fold() {
        assert_eq!(phonetic_key("Phenergan"), phonetic_key("fenergan"));
        assert_eq!(phonetic_key("Thyroxin"), phonetic_key("tyroxin"));
        assert_eq!(phonetic_key("Zyrtec"), phonetic_key("syrtek"));
        assert_eq!(phonetic_key("Quetiapin"), phonetic_key("kvetiapin"));
        assert_eq!(phonetic_key("Sertralinn"), phonetic_key("sertralin"));
        assert_eq!(phonetic_key("Kåvepenin"), phonetic_key("kovepenin"));
        assert_eq!(phonetic_key("psykos"), phonetic_key("sykos"));
        assert_eq!(phonetic_key("kela"), phonetic_key("tjela"));
    }

    #[test]
    fn similarity_bounds() {
        assert!((similarity("abc", "abc") - 1.0).abs() < f32::EPSILON);
        assert!(similarity("sertralin", "sertralinn") > 0.85);
        assert!(similarity("katt", "sertralin") < 0.3);
        assert_eq!(edit_distance(&['a'], &[]), 1);
    }
}
