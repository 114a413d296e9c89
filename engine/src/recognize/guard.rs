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

/// Removes runs where the same 1–8-word phrase repeats more than `max_repeats` times in a row,
/// keeping the first occurrence. Returns the indices (into `words`) to keep.
pub fn collapse_repetitions(words: &[String], max_repeats: usize) -> Vec<usize> {
    let norm: Vec<String> = words.iter().map(|w| normalize(w)).collect();
    let mut keep = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < norm.len() {
        let mut skipped = false;
        for n in 1..=8usize {
            if i + n * (max_repeats + 1) > norm.len() {
                break;
            }
            let phrase = &norm[i..i + n];
            let mut reps = 1;
            while i + (reps + 1) * n <= norm.len()
                && norm[i + reps * n..i + (reps + 1) * n] == *phrase
            {
                reps += 1;
            }
            if reps > max_repeats {
                keep.extend(i..i + n);
                i += reps * n;
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
    fn no_speech_rule() {
        assert!(is_probably_not_speech(0.9, 0.2, 0.6));
        assert!(!is_probably_not_speech(0.9, 0.8, 0.6));
        assert!(!is_probably_not_speech(0.1, 0.2, 0.6));
    }
}
