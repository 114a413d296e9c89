//! The LocalAgreement-2 policy of whisper_streaming: a word is committed once two consecutive
//! hypotheses of the same live buffer agree on it (and on everything before it). Words are
//! compared normalized: lowercase, letters and digits only.

use crate::recognize::Word;
use crate::text::numbers_as_digits;

/// Committed words are not looked for after this many seconds of the new hypothesis.
const OVERLAP_WINDOW_S: f64 = 1.0;
/// Longest run of committed words a re-decode may repeat at its start.
const MAX_OVERLAP_WORDS: usize = 5;
/// Whisper's word times wobble by about a token; a word starting this much before the last
/// committed end may still be new.
const TIME_SLACK_S: f64 = 0.1;

/// Character edits always allowed when aligning a re-decode to the committed words.
const MIN_ALLOWED_EDITS: usize = 2;

/// A word as compared between hypotheses.
pub(crate) fn normalize_word(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn same_words(a: &[Word], b: &[Word]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| normalize_word(&x.word) == normalize_word(&y.word))
}

/// The words as hypotheses are compared: normalized, with each number as the digits of its
/// value on its first word and nothing on the words that continue it.
fn compared_words(words: &[Word]) -> Vec<String> {
    let normalized: Vec<String> = words.iter().map(|w| normalize_word(&w.word)).collect();
    numbers_as_digits(&normalized)
}

/// Number of leading words of `a` on which `a` and `b` agree. Numbers agree by value, so a
/// number one decode writes "150" and the next "hundra femtio" does not hold back everything
/// after it (its words count whole, as `a` spells them).
pub(crate) fn agreed_prefix_len(a: &[Word], b: &[Word]) -> usize {
    let (fa, fb) = (compared_words(a), compared_words(b));
    // A number's first word carries its value and the words continuing it are empty.
    let span = |folded: &[String], i: usize| {
        1 + folded[i + 1..].iter().take_while(|w| w.is_empty()).count()
    };
    let (mut i, mut j) = (0, 0);
    loop {
        while i < fa.len() && j < fb.len() && fa[i] == fb[j] {
            i += span(&fa, i);
            j += span(&fb, j);
        }
        if i >= fa.len() || j >= fb.len() || !disputed_word_between_agreement(a, b, &fa, &fb, i, j)
        {
            break;
        }
        i += 1;
        j += 1;
    }
    i.min(a.len())
}

/// Words that must agree after a word two hypotheses spell differently before that word is
/// taken as agreed too.
const AGREED_AFTER_DISPUTED_WORDS: usize = 3;
/// How far apart the two spellings of one disputed word may start, in seconds.
const DISPUTED_WORD_SLACK_S: f64 = 0.3;

/// Whether `a[i]` and `b[j]` are one word heard two ways ("halsveda" / "halsvedar") with the
/// next [`AGREED_AFTER_DISPUTED_WORDS`] words agreeing after it. Whisper keeps respelling a
/// word it hears poorly, and with a strict prefix rule everything after it waits for the end
/// of the utterance (measured: 19 words of one dictated sentence stable only after 10 s). The
/// newer spelling is the one committed.
fn disputed_word_between_agreement(
    a: &[Word],
    b: &[Word],
    fa: &[String],
    fb: &[String],
    i: usize,
    j: usize,
) -> bool {
    let plain = |folded: &[String], k: usize| {
        !folded[k].is_empty() && !folded[k].chars().all(|c| c.is_ascii_digit())
    };
    if !plain(fa, i) || !plain(fb, j) || (a[i].start - b[j].start).abs() > DISPUTED_WORD_SLACK_S {
        return false;
    }
    let n = AGREED_AFTER_DISPUTED_WORDS;
    i + n < fa.len() && j + n < fb.len() && fa[i + 1..=i + n] == fb[j + 1..=j + n]
}

/// The part of a hypothesis of the live buffer that is not yet committed.
///
/// `in_buffer` are the committed words whose audio is still in the buffer, `committed` all
/// committed words of the utterance. The hypothesis is aligned to `in_buffer` by characters,
/// so a re-decode that joins or splits words ("Blod" committed, now "Blodtrycket") or respells
/// one still lines up; an exact match that ends inside a word keeps the rest of that word as
/// a new word. Without committed audio in the buffer (after a trim), or when the alignment is
/// poor, words that started before the last committed end are dropped by time and a leftover
/// repetition of the committed tail is removed by text.
pub(crate) fn uncommitted(
    hypothesis: &[Word],
    in_buffer: &[Word],
    committed: &[Word],
) -> Vec<Word> {
    if !in_buffer.is_empty() {
        if let Some(rest) = after_aligned_prefix(hypothesis, in_buffer) {
            return rest;
        }
    }
    let Some(last) = committed.last() else {
        return hypothesis.to_vec();
    };
    // A re-decode that no longer lines up from its start (a trimmed buffer, a respelled or
    // dropped first word) usually still says the last committed words again: cut after them.
    if let Some(rest) = after_repeated_tail(
        hypothesis,
        committed,
        in_buffer,
        in_buffer.len() + MAX_OVERLAP_WORDS,
    ) {
        return rest;
    }
    let by_time = hypothesis
        .iter()
        .position(|w| w.start > last.end - TIME_SLACK_S)
        .unwrap_or(hypothesis.len());
    // Word times of a short decode can be far off; the committed words still in the buffer
    // cannot cover many more words than they are.
    let first_new = if in_buffer.is_empty() {
        by_time
    } else {
        by_time.min(in_buffer.len() + MAX_OVERLAP_WORDS)
    };
    let rest = &hypothesis[first_new..];
    let Some(first) = rest.first() else {
        return Vec::new();
    };
    if (first.start - last.end).abs() >= OVERLAP_WINDOW_S {
        return rest.to_vec();
    }
    let longest = MAX_OVERLAP_WORDS.min(rest.len()).min(committed.len());
    for n in (1..=longest).rev() {
        if same_words(&committed[committed.len() - n..], &rest[..n]) {
            return rest[n..].to_vec();
        }
    }
    rest.to_vec()
}

/// Normalized characters of the committed tail looked for again in a re-decode: enough that a
/// match is not chance, few enough that a respelling of older words does not hide it.
const REPEATED_TAIL_MIN_CHARS: usize = 10;
const REPEATED_TAIL_MAX_WORDS: usize = 4;

/// Finds the last committed words (at least [`REPEATED_TAIL_MIN_CHARS`] letters) anywhere in
/// the first `within_words` words of the hypothesis, allowing a quarter of their characters to
/// differ, and returns what follows the best match; `None` when they are not there. Of equally
/// good matches the one nearest where the committed words still in the buffer end wins: a
/// re-decode repeats its phrases ("Blodtryck … kontrollpunkt Status kolon Blodtryck …"), and
/// cutting after the first of them would commit the text between the two a second time.
fn after_repeated_tail(
    hypothesis: &[Word],
    committed: &[Word],
    in_buffer: &[Word],
    within_words: usize,
) -> Option<Vec<Word>> {
    let mut tail_words = 0;
    let mut tail_chars = 0;
    for word in committed.iter().rev().take(REPEATED_TAIL_MAX_WORDS) {
        tail_words += 1;
        tail_chars += normalize_word(&word.word).chars().count();
        if tail_chars >= REPEATED_TAIL_MIN_CHARS {
            break;
        }
    }
    if tail_chars < REPEATED_TAIL_MIN_CHARS {
        return None;
    }
    let (target, _) = joined_chars(&committed[committed.len() - tail_words..]);
    let searched = &hypothesis[..within_words.min(hypothesis.len())];
    let (chars, word_starts) = joined_chars(searched);
    // Edit distance of the target to the best substring of `chars` ending at j (free start).
    let row = edit_distances(&target, &chars, vec![0; chars.len() + 1]);
    // The hypothesis starts where the buffer does, so the committed words still in it come
    // first and the tail is expected where they end (or right at the start after a trim).
    let expected_end = joined_chars(in_buffer).0.len().max(target.len());
    // Best match, ending at a word boundary where the distance is equal.
    let (end, distance) = row
        .iter()
        .enumerate()
        .min_by_key(|&(j, &d)| {
            (
                d,
                word_starts.binary_search(&j).is_err(),
                j.abs_diff(expected_end),
            )
        })
        .map(|(j, &d)| (j, d))?;
    if distance > target.len() / 4 {
        return None;
    }
    // The word the match ends in: drop it when the match covers most of it.
    let k = word_starts[..searched.len()]
        .iter()
        .rposition(|&start| start < end)?;
    let word_len = word_starts[k + 1] - word_starts[k];
    let covered = end - word_starts[k];
    let mut from = if covered * 2 >= word_len { k + 1 } else { k };
    // The rest of a number the match ended in is part of it.
    while from > k && from < searched.len() && word_starts[from + 1] == word_starts[from] {
        from += 1;
    }
    Some(hypothesis[from..].to_vec())
}

/// Aligns the normalized characters of `committed` with the shortest-distance prefix of the
/// hypothesis' characters; returns the hypothesis after that prefix, or `None` when more than
/// a quarter of the committed characters would have to change (the decode went elsewhere).
fn after_aligned_prefix(hypothesis: &[Word], committed: &[Word]) -> Option<Vec<Word>> {
    let (target, _) = joined_chars(committed);
    // word_starts[k] = index in `chars` where hypothesis word k begins; one extra at the end.
    let (chars, word_starts) = joined_chars(hypothesis);

    let (cut, distance) = best_prefix_end(&target, &chars, &word_starts);
    // A quarter of the characters may differ, and always two: a committed first word is
    // often respelled whole by the next decode ("Låd" → "Blod").
    if distance > (target.len() / 4).max(MIN_ALLOWED_EDITS) {
        return None;
    }
    // The word the cut falls in (the last word that starts at or before it).
    let k = word_starts[..hypothesis.len()]
        .iter()
        .rposition(|&start| start <= cut)
        .unwrap_or(0);
    if k >= hypothesis.len() {
        return Some(Vec::new());
    }
    let offset = cut - word_starts[k];
    let word_len = word_starts[k + 1] - word_starts[k];
    if offset == 0 {
        return Some(hypothesis[k..].to_vec());
    }
    if offset >= word_len {
        return Some(hypothesis[k + 1..].to_vec());
    }
    let spelled_as_compared = normalize_word(&hypothesis[k].word).chars().count() == word_len;
    if distance == 0 && spelled_as_compared {
        // Committed text ends inside this word: keep what follows as a word of its own.
        let mut rest = vec![rest_of_word(&hypothesis[k], offset, committed)];
        rest.extend_from_slice(&hypothesis[k + 1..]);
        return Some(rest);
    }
    // An inexact alignment inside a word: snap to the nearer word edge.
    let from = if offset * 2 >= word_len { k + 1 } else { k };
    Some(hypothesis[from..].to_vec())
}

/// Edit distances between `target` and `text[..j]` for every `j`, starting from `first_row`
/// (the distances of the empty target): `0..=n` aligns from the start of `text`, all zeros
/// lets the match start anywhere.
fn edit_distances(target: &[char], text: &[char], first_row: Vec<usize>) -> Vec<usize> {
    let mut row = first_row;
    for (i, &t) in target.iter().enumerate() {
        let mut next = vec![i + 1; text.len() + 1];
        for (j, &c) in text.iter().enumerate() {
            next[j + 1] = (row[j] + usize::from(t != c))
                .min(row[j + 1] + 1)
                .min(next[j] + 1);
        }
        row = next;
    }
    row
}

/// The normalized characters of `words` joined, and where each word starts in them (one
/// extra entry at the end). Numbers are compared by value: whisper writes the same speech as
/// "150" in one decode and "hundra femtio" in the next (the words after the first of a
/// number then have no characters of their own).
fn joined_chars(words: &[Word]) -> (Vec<char>, Vec<usize>) {
    let mut chars = Vec::new();
    let mut word_starts = Vec::with_capacity(words.len() + 1);
    for word in compared_words(words) {
        word_starts.push(chars.len());
        chars.extend(word.chars());
    }
    word_starts.push(chars.len());
    (chars, word_starts)
}

/// End index in `text` of the prefix closest (in edit distance) to `target`, and the distance.
/// Ties go to word boundaries (sorted `boundaries`), then to the end nearest the target's length.
fn best_prefix_end(target: &[char], text: &[char], boundaries: &[usize]) -> (usize, usize) {
    let row = edit_distances(target, text, (0..=text.len()).collect());
    row.iter()
        .enumerate()
        .min_by_key(|&(j, &d)| {
            let inside_word = boundaries.binary_search(&j).is_err();
            (d, inside_word, j.abs_diff(target.len()))
        })
        .map_or((0, target.len()), |(j, &d)| (j, d))
}

/// `word` without its first `skip` letters/digits, timed from where the committed words end.
fn rest_of_word(word: &Word, skip: usize, committed: &[Word]) -> Word {
    let mut seen = 0;
    let split = word
        .word
        .char_indices()
        .find(|&(_, c)| {
            if seen == skip && c.is_alphanumeric() {
                return true;
            }
            if c.is_alphanumeric() {
                seen += c.to_lowercase().count();
            }
            false
        })
        .map_or(word.word.len(), |(i, _)| i);
    let start = committed
        .last()
        .map_or(word.start, |last| last.end.clamp(word.start, word.end));
    Word {
        word: word.word[split..].to_string(),
        start,
        end: word.end,
        p: word.p,
    }
}

pub(crate) use crate::recognize::join_words;

#[cfg(test)]
mod tests {
    use super::*;

    /// Words one per 0.5 s starting at `t0`.
    fn words(text: &str, t0: f64) -> Vec<Word> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| Word {
                word: w.into(),
                start: t0 + 0.5 * i as f64,
                end: t0 + 0.5 * i as f64 + 0.4,
                p: 0.9,
            })
            .collect()
    }

    #[test]
    fn normalization_ignores_case_and_punctuation() {
        assert_eq!(normalize_word("Dagar."), "dagar");
        assert_eq!(normalize_word("140/90,"), "14090");
        assert_eq!(normalize_word("Åtta!"), "åtta");
        let a = words("Patienten har feber,", 0.0);
        let b = words("patienten har feber och", 0.0);
        assert_eq!(agreed_prefix_len(&a, &b), 3);
    }

    #[test]
    fn committed_prefix_is_cut_by_text() {
        let committed = words("patienten har", 0.0);
        let hyp = words("Patienten har haft feber", 0.0);
        let rest = uncommitted(&hyp, &committed, &committed);
        assert_eq!(join_words(&rest), "haft feber");
    }

    #[test]
    fn drifted_hypothesis_is_cut_by_time_then_overlap() {
        let committed = words("patienten har haft", 0.0);
        // The re-decode merged the first words differently but kept the times.
        let mut hyp = words("patienterna har haft feber i", 0.0);
        hyp.remove(0);
        let rest = uncommitted(&hyp, &committed, &committed);
        assert_eq!(join_words(&rest), "feber i");
        // After a trim the buffer starts at the last committed end; the cut word is repeated.
        let hyp = words("haft feber i", 1.4);
        let rest = uncommitted(&hyp, &[], &committed);
        assert_eq!(join_words(&rest), "feber i");
    }

    #[test]
    fn joined_and_respelled_words_still_align() {
        // "Blod" was committed; the re-decode hears "Blodtrycket".
        let committed = words("Blod", 0.0);
        let hyp = words("Blodtrycket, är hundra", 0.0);
        let rest = uncommitted(&hyp, &committed, &committed);
        assert_eq!(join_words(&rest), "trycket, är hundra");
        assert!((rest[0].start - 0.4).abs() < 1e-9);
        // Committed "Blod trycket" against a re-decode that joined them.
        let committed = words("Blod trycket", 0.0);
        let hyp = words("Blodtrycket är", 0.0);
        assert_eq!(join_words(&uncommitted(&hyp, &committed, &committed)), "är");
        // A respelled word inside the committed text.
        let committed = words("patienten har haft halsund", 0.0);
        let hyp = words("Patienten har haft halvt och feber", 0.0);
        let rest = uncommitted(&hyp, &committed, &committed);
        assert_eq!(join_words(&rest), "och feber");
    }

    #[test]
    fn a_respelled_first_word_with_bad_times_keeps_what_follows() {
        // "Låd" was committed from a poor early decode whose times put its end at 3 s; the
        // next decode hears "Blod" and everything after it must survive.
        let mut committed = words("Låd", 0.0);
        committed[0].end = 3.0;
        let hyp = words("Blod tröcka tär 100 fittio över 90 i dag. Vi hör", 0.0);
        let rest = uncommitted(&hyp, &committed, &committed);
        assert_eq!(
            join_words(&rest),
            "tröcka tär 100 fittio över 90 i dag. Vi hör"
        );
        // Beyond any alignment, times cannot drop more than a few words past the committed.
        let hyp = words("Helt annat som sägs här nu och sedan mer text", 0.0);
        let rest = uncommitted(&hyp, &committed, &committed);
        assert!(
            rest.len() >= hyp.len() - 1 - MAX_OVERLAP_WORDS,
            "{}",
            join_words(&rest)
        );
    }

    #[test]
    fn a_respelled_repeat_of_the_committed_tail_is_not_committed_again() {
        // The re-decode after a trim hears the committed tail again, respelled and joined to
        // the next word, with times that put it after the committed end.
        let committed = words("Status kolon blådetrik hundra femtio överanitio", 0.0);
        let hyp = words(
            "blådetrik hundra femtio överanitiofira, puls sjuttioåtta",
            3.0,
        );
        let rest = uncommitted(&hyp, &[], &committed);
        assert_eq!(join_words(&rest), "puls sjuttioåtta");
        // The same when the committed words are still in the buffer but the start of the
        // re-decode went elsewhere.
        let hyp = words(
            "Stahtus: blådetrik hundra femtio överanitio fyra, puls sjuttioåtta",
            0.0,
        );
        let rest = uncommitted(&hyp, &committed[2..], &committed);
        assert_eq!(join_words(&rest), "fyra, puls sjuttioåtta");
        // New speech that does not repeat the tail is all kept.
        let hyp = words("puls sjuttioåtta punkt", 3.0);
        assert_eq!(
            join_words(&uncommitted(&hyp, &[], &committed)),
            "puls sjuttioåtta punkt"
        );
    }

    #[test]
    fn a_re_decode_saying_a_phrase_twice_is_cut_after_the_committed_one() {
        // Committed from earlier decodes that heard the start differently (and skipped a
        // word); the re-decode says "Bloodtrick(s)" twice and writes the number in words.
        let committed = words(
            "Kontaktorsak olla blådetriks Status kolan Bloodtrick 150",
            0.0,
        );
        let hyp = words(
            "Kontaktorsak kolon Bloodtricks kontralpunkt Status kolon Bloodtrick hundra femtio \
             över nittio",
            0.0,
        );
        let rest = uncommitted(&hyp, &committed, &committed);
        assert_eq!(join_words(&rest), "över nittio");
    }

    #[test]
    fn a_number_respelled_in_words_is_not_committed_again() {
        let committed = words("Status kolon blodtryck 150", 0.0);
        let hyp = words("Status kolon blodtryck hundra femtio över nittio", 0.0);
        let rest = uncommitted(&hyp, &committed, &committed);
        assert_eq!(join_words(&rest), "över nittio");
        // After a trim, the repeated tail ends in the number.
        let committed = words("Patienten har blodtryck hundra femtio", 0.0);
        let hyp = words("blodtryck 150 över nittio", 2.0);
        let rest = uncommitted(&hyp, &[], &committed);
        assert_eq!(join_words(&rest), "över nittio");
        let committed = words("Patienten har blodtryck 150", 0.0);
        let hyp = words("blodtryck hundra femtio över nittio", 2.0);
        let rest = uncommitted(&hyp, &[], &committed);
        assert_eq!(join_words(&rest), "över nittio");
    }

    #[test]
    fn numbers_agree_by_value() {
        let a = words("blodtryck hundra femtio över nittio", 0.0);
        let b = words("blodtryck 150 över 90 i dag", 0.0);
        assert_eq!(agreed_prefix_len(&a, &b), 5);
        assert_eq!(agreed_prefix_len(&b, &a), 4);
        // A number still growing at the buffer's end is not agreed on yet.
        let a = words("blodtryck hundra femtio", 0.0);
        let b = words("blodtryck hundra", 0.0);
        assert_eq!(agreed_prefix_len(&a, &b), 1);
        let a = words("har haft feber", 0.0);
        let b = words("har haft hosta", 0.0);
        assert_eq!(agreed_prefix_len(&a, &b), 2);
    }

    #[test]
    fn one_word_heard_two_ways_does_not_hold_back_what_agrees_after_it() {
        let a = words("Hon hals veda vid vattenkastning sedan vi går", 0.0);
        let b = words("Hon hals vedar vid vattenkastning sedan Big ol", 0.0);
        assert_eq!(agreed_prefix_len(&a, &b), 6);
        // Two words after it are not enough, and neither is a word heard at another time.
        let b = words("Hon hals vedar vid vattenkastning i går", 0.0);
        assert_eq!(agreed_prefix_len(&a, &b), 2);
        let mut b = words("Hon hals vedar vid vattenkastning sedan Big ol", 0.0);
        b[2].start += 0.5;
        assert_eq!(agreed_prefix_len(&a, &b), 2);
    }

    #[test]
    fn nothing_committed_keeps_everything() {
        let hyp = words("hej hej", 0.0);
        assert_eq!(uncommitted(&hyp, &[], &[]).len(), 2);
    }
}
