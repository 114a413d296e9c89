//! Hallucination guards applied to recognizer output: subtitle credits that Whisper invents on
//! silence, segments it thinks are not speech, and repetition loops. Each guard removes only
//! what the recognizer produced without evidence; it never adds words.

/// Phrases Whisper is known to produce from subtitle training data when it hears no speech.
/// Matched against a whole segment after normalization; none is plausible clinical dictation.
const CREDIT_PHRASES: &[&str] = &[
    "tack för att du tittade",
    "tack för att ni tittade",
    "tack för att du lyssnade",
    "tack för att ni lyssnade",
    "tack för att du har tittat",
    "prenumerera på kanalen",
    "glöm inte att prenumerera",
    "thank you for watching",
    "thanks for watching",
];

/// Fragments that only ever come from subtitle credits.
const CREDIT_FRAGMENTS: &[&str] = &["textning.nu", "amara.org", "undertexter", "textat av"];

fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '.')
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches('.')
        .to_string()
}

/// True when a segment's text is a known subtitle-credit hallucination.
pub fn is_credit_hallucination(text: &str) -> bool {
    let norm = normalize(text);
    if norm.is_empty() {
        return false;
    }
    CREDIT_PHRASES.iter().any(|p| norm == *p) || CREDIT_FRAGMENTS.iter().any(|f| norm.contains(f))
}

/// True when the recognizer itself rated the segment as non-speech and decoded it with low
/// confidence: the combination whisper uses to skip a window.
pub fn is_probably_not_speech(
    no_speech_p: f32,
    mean_token_p: f32,
    no_speech_threshold: f32,
) -> bool {
    no_speech_p > no_speech_threshold && mean_token_p < 0.5
}

/// Phrases at least this long that come twice in a row are a decoder loop, not speech: a
/// clinician does not dictate the same four words twice running, but whisper, conditioned on
/// a prompt, does.
const LOOP_PHRASE_WORDS: usize = 4;
/// The longest phrase looked for (a sentence of a dictation).
const MAX_PHRASE_WORDS: usize = 16;

/// Removes decoder loops, keeping the first occurrence: a 1–3-word phrase repeated more than
/// `max_repeats` times in a row, or a longer phrase (up to 16 words) repeated at all. Returns
/// the indices (into `words`) to keep.
pub fn collapse_repetitions(words: &[String], max_repeats: usize) -> Vec<usize> {
    let norm: Vec<String> = words.iter().map(|w| normalize(w)).collect();
    let mut keep = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < norm.len() {
        let mut skipped = false;
        // Shortest first, so "och sedan och sedan …" is taken as the 2-word loop it is.
        for n in 1..=MAX_PHRASE_WORDS {
            let allowed = if n >= LOOP_PHRASE_WORDS {
                1
            } else {
                max_repeats
            };
            if i + n * (allowed + 1) > norm.len() {
                continue;
            }
            let phrase = &norm[i..i + n];
            let mut reps = 1;
            while i + (reps + 1) * n <= norm.len()
                && norm[i + reps * n..i + (reps + 1) * n] == *phrase
            {
                reps += 1;
            }
            if reps > allowed {
                keep.extend(i..i + n);
                i += reps * n;
                // A loop that ran into the token limit ends in a piece of the phrase.
                let rest = &norm[i..];
                if !rest.is_empty() && rest.len() < n && phrase.starts_with(rest) {
                    i = norm.len();
                }
                skipped = true;
                break;
            }
        }
        if !skipped {
            keep.push(i);
            i += 1;
        }
    }
    keep
}

/// Longest repeating unit [`cut_character_loop`] looks for: a syllable or two, as in
/// "kontaktorsakorsakorsak…", where the decoder looped on two tokens of one word.
const MAX_LOOP_UNIT_CHARS: usize = 8;

/// Cuts a token loop inside one word ("8,6,7,7,7,8,8,8,8,8,…"): a unit of up to
/// [`MAX_LOOP_UNIT_CHARS`] characters that repeats more than four times in a row is kept four
/// times. `None` when the word has none.
pub fn cut_character_loop(word: &str) -> Option<String> {
    const KEEP: usize = 4;
    let chars: Vec<char> = word.chars().collect();
    for start in 0..chars.len() {
        for unit in 1..=MAX_LOOP_UNIT_CHARS {
            let end_of_first = start + unit;
            if end_of_first > chars.len() {
                break;
            }
            let mut reps = 1;
            while start + (reps + 1) * unit <= chars.len()
                && chars[start + reps * unit..start + (reps + 1) * unit]
                    == chars[start..end_of_first]
            {
                reps += 1;
            }
            if reps > KEEP {
                return Some(chars[..start + KEEP * unit].iter().collect());
            }
        }
    }
    None
}

/// Fewest letters of a phrase [`collapse_near_repeats`] takes for a repeat: real speech
/// repeats short phrases ("mår bra, mår bra"), a decoder on a short window a whole clause.
const NEAR_REPEAT_MIN_LETTERS: usize = 12;
/// Longest phrase, in words, [`collapse_near_repeats`] looks at.
const NEAR_REPEAT_MAX_WORDS: usize = 12;

/// Drops a phrase said again right after itself with small differences, keeping the first
/// ("Kontaktorsa kolla blådetriks kontralpunkt kontraktorsa: blådetriks kontralpunkt"), which
/// is how whisper loops on a short live window: the phrase has at least
/// [`NEAR_REPEAT_MIN_LETTERS`] letters, the repeat is about as many words long, starts with
/// the same letter and differs in at most a quarter of its letters. Returns the indices (into
/// `words`) to keep.
pub fn collapse_near_repeats(words: &[String]) -> Vec<usize> {
    let letters: Vec<Vec<char>> = words
        .iter()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        })
        .collect();
    let joined = |span: &[Vec<char>]| -> Vec<char> { span.iter().flatten().copied().collect() };
    // Length in words of a near repeat of `phrase` (of `n` words) starting at word `at`.
    let repeat_at = |phrase: &[char], n: usize, at: usize| -> Option<usize> {
        [n, n - 1, n + 1].into_iter().find(|&m| {
            letters.get(at..at + m).is_some_and(|repeat| {
                repeat[0].first() == phrase.first()
                    && skriva_vocab::edit_distance(phrase, &joined(repeat)) * 4 <= phrase.len()
            })
        })
    };
    let mut keep = Vec::with_capacity(words.len());
    let mut i = 0;
    'words: while i < words.len() {
        // Shortest first, so a loop of one phrase is taken as that phrase, not as pairs of it.
        for n in 2..=NEAR_REPEAT_MAX_WORDS {
            if i + 2 * n - 1 > words.len() {
                break;
            }
            let phrase = joined(&letters[i..i + n]);
            if phrase.len() < NEAR_REPEAT_MIN_LETTERS {
                continue;
            }
            if let Some(m) = repeat_at(&phrase, n, i + n) {
                keep.extend(i..i + n);
                i += n + m;
                while let Some(m) = repeat_at(&phrase, n, i) {
                    i += m;
                }
                continue 'words;
            }
        }
        keep.push(i);
        i += 1;
    }
    keep
}

/// Whether a segment only repeats the one before it (whisper re-decoding the end of a short
/// window), so it carries nothing new.
pub fn repeats_previous(previous: &[String], segment: &[String]) -> bool {
    segment.len() >= LOOP_PHRASE_WORDS
        && previous.len() >= segment.len()
        && previous[previous.len() - segment.len()..]
            .iter()
            .zip(segment)
            .all(|(a, b)| normalize(a) == normalize(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn credits_are_recognized() {
        assert!(is_credit_hallucination(" Tack för att du tittade!"));
        assert!(is_credit_hallucination("Svensktextning.nu"));
        assert!(!is_credit_hallucination("Tack, patienten tittade upp."));
        assert!(!is_credit_hallucination(""));
    }

    #[test]
    fn loops_collapse_but_ordinary_repeats_stay() {
        let w = words("och sedan och sedan och sedan och sedan och sedan slut");
        let kept: Vec<_> = collapse_repetitions(&w, 3)
            .into_iter()
            .map(|i| w[i].clone())
            .collect();
        assert_eq!(kept, words("och sedan slut"));
        let w = words("nej nej det gör inte ont");
        assert_eq!(collapse_repetitions(&w, 3).len(), w.len());
    }

    #[test]
    fn a_repeated_sentence_is_a_loop() {
        let w = words(
            "Blodtryck 150 över 90. Vi höjer enalapril till tio milligram dagligen. Vi höjer \
             enalapril till tio milligram dagligen. Vi höjer enalapril",
        );
        let kept: Vec<_> = collapse_repetitions(&w, 3)
            .into_iter()
            .map(|i| w[i].clone())
            .collect();
        assert_eq!(
            kept,
            words("Blodtryck 150 över 90. Vi höjer enalapril till tio milligram dagligen.")
        );
        // Short repeats in real speech stay.
        let w = words("till till och sedan och sedan klart");
        assert_eq!(collapse_repetitions(&w, 3).len(), w.len());
    }

    #[test]
    fn a_loop_inside_a_word_is_cut() {
        assert_eq!(
            cut_character_loop("8,6,7,7,7,8,8,8,8,8,8,8,8,8,8,8,8").as_deref(),
            Some("8,6,7,7,7,8,8,8,8")
        );
        assert_eq!(cut_character_loop("hmmmmmmmmm").as_deref(), Some("hmmmm"));
        assert_eq!(cut_character_loop("blodtryckskontroll"), None);
        assert_eq!(cut_character_loop("1,1,1"), None);
        let looped = format!("kontakt{}", "orsak".repeat(40));
        assert_eq!(
            cut_character_loop(&looped).as_deref(),
            Some("kontaktorsakorsakorsakorsak")
        );
    }

    #[test]
    fn a_segment_that_repeats_the_previous_ones_end_is_found() {
        let previous = words("Status: Blodtryck 150/90. Vi höjer enalapril till tio mg.");
        assert!(repeats_previous(
            &previous,
            &words("vi höjer enalapril till tio mg")
        ));
        assert!(!repeats_previous(&previous, &words("tio mg")));
        assert!(!repeats_previous(
            &previous,
            &words("Vi sänker enalapril till fem mg.")
        ));
    }

    #[test]
    fn a_phrase_said_twice_with_small_differences_is_a_loop() {
        let w = words(
            "Kontaktorsa kolla blådetriks komtravelpunktet kontraktorsa: blådetriks \
             komtravelpunktet Status",
        );
        let kept: Vec<_> = collapse_near_repeats(&w)
            .into_iter()
            .map(|i| w[i].clone())
            .collect();
        assert_eq!(
            kept,
            words("Kontaktorsa kolla blådetriks komtravelpunktet Status")
        );
        // Short repeats and ordinary sentences stay.
        for text in [
            "mår bra, mår bra nu",
            "blodtryck 150 över 90 puls 72 regelbunden",
            "höger öra rodnat vänster öra rodnat",
        ] {
            let w = words(text);
            assert_eq!(collapse_near_repeats(&w).len(), w.len(), "{text}");
        }
    }

    #[test]
    fn no_speech_rule() {
        assert!(is_probably_not_speech(0.9, 0.2, 0.6));
        assert!(!is_probably_not_speech(0.9, 0.8, 0.6));
        assert!(!is_probably_not_speech(0.1, 0.2, 0.6));
    }
}
