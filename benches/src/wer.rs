//! Word and character error rates: Levenshtein alignment of a hypothesis against a reference,
//! both passed through the Swedish [`normalize`](crate::normalize::normalize) first, with the
//! substitution/deletion/insertion counts kept so that corpus totals can be summed exactly.

use serde::{Deserialize, Serialize};

use crate::normalize::normalize;

/// Edit counts of one alignment (or a sum of several). The rate is
/// `(substitutions + deletions + insertions) / reference_len`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditCounts {
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    /// Reference length in units (words or characters).
    pub reference_len: usize,
}

impl EditCounts {
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// Error rate; an empty reference scores 0 when the hypothesis is empty too, else 1 per
    /// inserted unit (so it is never hidden as 0).
    pub fn rate(&self) -> f64 {
        if self.reference_len == 0 {
            self.errors() as f64
        } else {
            self.errors() as f64 / self.reference_len as f64
        }
    }
}

impl std::ops::Add for EditCounts {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            substitutions: self.substitutions + o.substitutions,
            deletions: self.deletions + o.deletions,
            insertions: self.insertions + o.insertions,
            reference_len: self.reference_len + o.reference_len,
        }
    }
}

impl std::iter::Sum for EditCounts {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| a + b)
    }
}

/// Minimum-edit alignment of `hypothesis` against `reference` (unit costs), with the edits
/// broken down by kind. Among equally cheap alignments, substitutions are preferred.
pub fn align<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> EditCounts {
    // One row of the DP table: (cost, substitutions, deletions, insertions) per cell.
    #[derive(Clone, Copy, Default)]
    struct Cell {
        cost: usize,
        s: usize,
        d: usize,
        i: usize,
    }
    let mut prev: Vec<Cell> = (0..=hypothesis.len())
        .map(|j| Cell {
            cost: j,
            i: j,
            ..Cell::default()
        })
        .collect();
    let mut row = vec![Cell::default(); hypothesis.len() + 1];
    for (ri, r) in reference.iter().enumerate() {
        row[0] = Cell {
            cost: ri + 1,
            d: ri + 1,
            ..Cell::default()
        };
        for (hj, h) in hypothesis.iter().enumerate() {
            let diag = prev[hj];
            let sub = if r == h {
                diag
            } else {
                Cell {
                    cost: diag.cost + 1,
                    s: diag.s + 1,
                    ..diag
                }
            };
            let up = prev[hj + 1];
            let del = Cell {
                cost: up.cost + 1,
                d: up.d + 1,
                ..up
            };
            let left = row[hj];
            let ins = Cell {
                cost: left.cost + 1,
                i: left.i + 1,
                ..left
            };
            let mut best = sub;
            for c in [del, ins] {
                if c.cost < best.cost {
                    best = c;
                }
            }
            row[hj + 1] = best;
        }
        std::mem::swap(&mut prev, &mut row);
    }
    let last = prev[hypothesis.len()];
    EditCounts {
        substitutions: last.s,
        deletions: last.d,
        insertions: last.i,
        reference_len: reference.len(),
    }
}

/// Word-level edits between normalized texts.
pub fn word_edits(reference: &str, hypothesis: &str) -> EditCounts {
    let (r, h) = (normalize(reference), normalize(hypothesis));
    let rw: Vec<&str> = r.split_whitespace().collect();
    let hw: Vec<&str> = h.split_whitespace().collect();
    align(&rw, &hw)
}

/// Character-level edits between normalized texts; the single spaces between words count as
/// characters (so a split or joined compound costs one edit).
pub fn char_edits(reference: &str, hypothesis: &str) -> EditCounts {
    let rc: Vec<char> = normalize(reference).chars().collect();
    let hc: Vec<char> = normalize(hypothesis).chars().collect();
    align(&rc, &hc)
}

/// Word error rate of one pair of texts.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    word_edits(reference, hypothesis).rate()
}

/// Character error rate of one pair of texts.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    char_edits(reference, hypothesis).rate()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(s: usize, d: usize, i: usize, n: usize) -> EditCounts {
        EditCounts {
            substitutions: s,
            deletions: d,
            insertions: i,
            reference_len: n,
        }
    }

    #[test]
    fn alignment_counts_each_kind() {
        let r = ["a", "b", "c", "d"];
        assert_eq!(align(&r, &r), counts(0, 0, 0, 4));
        assert_eq!(align(&r, &["a", "x", "c", "d"]), counts(1, 0, 0, 4));
        assert_eq!(align(&r, &["a", "c", "d"]), counts(0, 1, 0, 4));
        assert_eq!(align(&r, &["a", "b", "y", "c", "d"]), counts(0, 0, 1, 4));
        assert_eq!(align(&r, &[]), counts(0, 4, 0, 4));
        let empty: [&str; 0] = [];
        assert_eq!(align(&empty, &["a", "b"]), counts(0, 0, 2, 0));
        // kitten → sitting: 2 substitutions and 1 insertion.
        let k: Vec<char> = "kitten".chars().collect();
        let s: Vec<char> = "sitting".chars().collect();
        assert_eq!(align(&k, &s), counts(2, 0, 1, 6));
    }

    #[test]
    fn wer_and_cer_of_sentences() {
        let reference = "Patienten har haft feber i tre dagar.";
        assert_eq!(wer(reference, "patienten har haft feber i tre dagar"), 0.0);
        // One substituted word out of seven.
        let w = word_edits(reference, "Patienten har haft fever i tre dagar.");
        assert_eq!(w, counts(1, 0, 0, 7));
        assert!((w.rate() - 1.0 / 7.0).abs() < 1e-12);
        // Same sentence at character level: one character out of 36 (30 letters, 6 spaces).
        let c = char_edits(reference, "Patienten har haft fever i tre dagar.");
        assert_eq!(c, counts(1, 0, 0, 36));
        // A split compound is two word errors but one character error.
        assert_eq!(
            word_edits("långtidssockret", "långtids sockret"),
            counts(1, 0, 1, 1)
        );
        assert_eq!(
            char_edits("långtidssockret", "långtids sockret").errors(),
            1
        );
        // Numbers written as digits match numbers said as words.
        assert_eq!(
            wer(
                "Blodtrycket är hundrafyrtio över nittio",
                "Blodtrycket är 140/90."
            ),
            0.0
        );
        // WER can exceed 1 with insertions.
        assert!(wer("ja", "nej nej nej") > 1.0);
        assert_eq!(wer("", ""), 0.0);
    }

    #[test]
    fn totals_sum_counts_not_rates() {
        let a = word_edits("ett två tre fyra", "ett två tre fem");
        let b = word_edits("hej", "hej");
        let total: EditCounts = [a, b].into_iter().sum();
        assert_eq!(total, counts(1, 0, 0, 5));
        assert!((total.rate() - 0.2).abs() < 1e-12);
    }
}
