//! Term correction: a recognized word that is not Swedish the recognizer knew, but sounds
//! like a drug or diagnosis in the vocabulary ("Atarrax" → "Atarax"), is replaced and the
//! replacement recorded. Conservative by design: only near matches of what was recognized,
//! never frequent Swedish words, stricter when the recognizer was confident.

use std::collections::HashSet;
use std::sync::OnceLock;

use skriva_vocab::{phonetic_key, TermKind, Vocabulary};

use super::tokens::{Item, Kind};
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

pub(crate) fn correct(
    mut items: Vec<Item>,
    vocab: &Vocabulary,
) -> Result<(Vec<Item>, Vec<Correction>)> {
    let mut corrections = Vec::new();
    for i in 0..items.len() {
        let item = &items[i];
        if !item.is_word()
            || item.text.chars().count() < MIN_LETTERS
            || !item.text.chars().all(char::is_alphabetic)
        {
            continue;
        }
        let lower = item.lower();
        if common_words().contains(&lower) || vocab.resolve_heading(&lower).is_some() {
            continue;
        }
        let exact = vocab.lookup_exact(&lower);
        if let Some(known) = exact.iter().find(|m| m.term.kind == TermKind::Drug) {
            // Already a term: only its brand capital is restored.
            if known
                .term
                .form
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
                && item.text != known.term.form
            {
                items[i].text = known.term.form.clone();
            }
            continue;
        }
        if !exact.is_empty() {
            continue;
        }
        let matches = vocab.lookup(&lower, 5)?;
        let mut candidates = matches.iter().filter(|m| {
            matches!(m.term.kind, TermKind::Drug | TermKind::Diagnosis)
                && !m.term.form.contains(' ')
        });
        let Some(best) = candidates.next() else {
            continue;
        };
        let runner_up = candidates.next().map_or(0.0, |m| m.score);
        let form = &best.term.form;
        let (word_len, form_len) = (lower.chars().count() as f32, form.chars().count() as f32);
        if !(0.75..=1.34).contains(&(word_len / form_len)) {
            continue;
        }
        // A mishearing keeps the first sound.
        if phonetic_key(&lower).chars().next() != phonetic_key(form).chars().next() {
            continue;
        }
        let mut threshold = BASE_THRESHOLD;
        if best.term.kind == TermKind::Drug && in_drug_context(&items, i) {
            threshold -= 0.06;
        }
        if best.term.kind == TermKind::Diagnosis && best.score - runner_up >= CLEAR_LEAD {
            // One diagnosis stands out, so the mishearing is not ambiguous between terms.
            // Not for drugs: short brand names sit near everyday words.
            threshold -= 0.05;
        }
        match item.p {
            Some(p) if p < 0.5 => threshold -= 0.05,
            Some(p) if p >= 0.9 => threshold += 0.06,
            _ => {}
        }
        if best.score < threshold {
            continue;
        }
        let replacement = with_case_of(&item.text, form);
        tracing::debug!(original = %item.text, %replacement, score = best.score, "term correction");
        corrections.push(Correction {
            original: item.text.clone(),
            replacement: replacement.clone(),
            start_char: item.start,
            end_char: item.end,
            source: if best.term.kind == TermKind::Drug {
                CorrectionSource::Drug
            } else {
                CorrectionSource::Diagnosis
            },
            score: best.score,
        });
        items[i].text = replacement;
        items[i].correction = Some(corrections.len() - 1);
    }
    Ok((items, corrections))
}
