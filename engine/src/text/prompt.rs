//! Recognizer biasing: whisper's initial prompt. Whisper continues the prompt's style, so the
//! dictation prompt is itself a dictation as the recognizer should write it down: spoken
//! commands as plain words ("kolon", "komma", "punkt"), numbers as words, every heading of the
//! template and the terms clinicians most often say. The ambient prompt is a short written
//! note instead, since nobody dictates punctuation in a consultation.

use skriva_vocab::{Template, TermKind, Vocabulary};

/// Upper bound on the prompt's length in characters. Whisper keeps at most 224 prompt
/// tokens and drops the start of a longer prompt; a dictation prompt (words only) measures
/// about 3.2 characters per token with the Whisper tokenizer (600 characters: 189 tokens).
pub const PROMPT_MAX_CHARS: usize = 600;
/// The ambient prompt's bound: written text with digits, units and punctuation takes more
/// tokens, about 2.4 characters each (600 characters: 248 tokens, over the limit).
const AMBIENT_PROMPT_MAX_CHARS: usize = 480;

/// Builds whisper's initial prompt for dictating a note of `template` (at most
/// [`PROMPT_MAX_CHARS`] characters): the headings, then drug, diagnosis and abbreviation
/// terms, all in the words a dictating clinician says.
///
/// ```
/// let vocab = skriva_vocab::Vocabulary::builtin()?;
/// let template = vocab.template("primarvard-lakarbesok")?;
/// let prompt = skriva_engine::text::initial_prompt(template, &vocab);
/// assert!(prompt.starts_with("Läkarbesök på vårdcentral."));
/// assert!(prompt.contains("Åtgärd komma"));
/// assert!(prompt.chars().count() <= skriva_engine::text::PROMPT_MAX_CHARS);
/// # Ok::<(), skriva_engine::Error>(())
/// ```
pub fn initial_prompt(template: &Template, vocab: &Vocabulary) -> String {
    let head = format!(
        "{}. Rubriker kolon {} punkt ",
        template.title,
        template.headings.join(" komma ")
    );
    with_terms(
        head,
        template,
        vocab,
        [
            "Läkemedel kolon ",
            "Bedömning kolon ",
            "Undersökningsresultat kolon ",
        ],
        " komma ",
        " punkt ",
        PROMPT_MAX_CHARS,
    )
}

/// Builds whisper's initial prompt for an ambient recording (a consultation, no dictated
/// commands): a short written note in the template's style, with digits and punctuation.
///
/// ```
/// let vocab = skriva_vocab::Vocabulary::builtin()?;
/// let template = vocab.template("primarvard-lakarbesok")?;
/// let prompt = skriva_engine::text::ambient_prompt(template, &vocab);
/// assert!(prompt.contains("BT 135/85"));
/// assert!(prompt.chars().count() <= skriva_engine::text::PROMPT_MAX_CHARS);
/// # Ok::<(), skriva_engine::Error>(())
/// ```
pub fn ambient_prompt(template: &Template, vocab: &Vocabulary) -> String {
    let head = format!(
        "{}. Rubriker: {}. Status: AT gott, BT 135/85, puls 72, temp 37,8. ",
        template.title,
        template
            .headings
            .iter()
            .take(10)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    with_terms(
        head,
        template,
        vocab,
        ["Läkemedel: ", "Bedömning: ", "Lab: "],
        ", ",
        ". ",
        AMBIENT_PROMPT_MAX_CHARS,
    )
}

/// `head` followed by the template's top drugs, diagnoses and abbreviations under `labels`,
/// filled in turns while the prompt fits: two drugs and two diagnoses for each abbreviation
/// (misheard drug and diagnosis names cost the most; abbreviations are short and robust).
fn with_terms(
    head: String,
    template: &Template,
    vocab: &Vocabulary,
    labels: [&str; 3],
    separator: &str,
    end: &str,
    max_chars: usize,
) -> String {
    let mut lists: [Vec<&str>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for term in vocab.top_terms(template, 80) {
        let slot = match term.kind {
            TermKind::Drug => 0,
            TermKind::Diagnosis => 1,
            TermKind::Abbreviation => 2,
            _ => continue,
        };
        lists[slot].push(&term.form);
    }
    let render = |parts: &[Vec<&str>; 3]| -> String {
        let mut text = head.clone();
        for (label, part) in labels.iter().zip(parts) {
            if !part.is_empty() {
                text.push_str(label);
                text.push_str(&part.join(separator));
                text.push_str(end);
            }
        }
        text.trim_end().to_owned()
    };
    let mut parts: [Vec<&str>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut next = [0usize; 3];
    loop {
        let mut added = false;
        for k in [0, 1, 0, 1, 2] {
            while let Some(term) = lists[k].get(next[k]) {
                next[k] += 1;
                parts[k].push(term);
                if render(&parts).chars().count() <= max_chars {
                    added = true;
                    break;
                }
                parts[k].pop();
            }
        }
        if !added {
            break;
        }
    }
    let text = render(&parts);
    if text.chars().count() > max_chars {
        text.chars().take(max_chars).collect()
    } else {
        text
    }
}
