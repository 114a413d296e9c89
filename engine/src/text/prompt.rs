//! Recognizer biasing: whisper's initial prompt, written as a short Swedish journal note in
//! the template's style so that Whisper imitates its headings, abbreviations and digits, and
//! sees the spellings of the terms clinicians most often say.

use skriva_vocab::{Template, TermKind, Vocabulary};

/// Upper bound on the prompt's length in characters. Whisper keeps at most 224 prompt
/// tokens; Swedish medical text runs about 2.5–3.5 characters per token, so 600 characters
/// stays within the limit with margin.
pub const PROMPT_MAX_CHARS: usize = 600;

/// Builds whisper's initial prompt for `template` (at most [`PROMPT_MAX_CHARS`] characters).
///
/// ```
/// let vocab = skriva_vocab::Vocabulary::builtin()?;
/// let template = vocab.template("primarvard-lakarbesok")?;
/// let prompt = skriva_engine::text::initial_prompt(template, &vocab);
/// assert!(prompt.starts_with("Läkarbesök på vårdcentral."));
/// assert!(prompt.chars().count() <= skriva_engine::text::PROMPT_MAX_CHARS);
/// # Ok::<(), skriva_engine::Error>(())
/// ```
pub fn initial_prompt(template: &Template, vocab: &Vocabulary) -> String {
    let mut prompt = format!("{}. ", template.title);
    // The headings, then a status line in note style (abbreviations, digits, decimal comma).
    let shown: Vec<&str> = template
        .headings
        .iter()
        .take(10)
        .map(String::as_str)
        .collect();
    prompt.push_str(&format!("Rubriker: {}. ", shown.join(", ")));
    prompt.push_str("Status: AT gott, BT 135/85, puls 72, temp 37,8. ");
    let terms = vocab.top_terms(template, 80);
    let mut drugs: Vec<&str> = Vec::new();
    let mut diagnoses: Vec<&str> = Vec::new();
    let mut abbreviations: Vec<&str> = Vec::new();
    for term in terms {
        match term.kind {
            TermKind::Drug => drugs.push(&term.form),
            TermKind::Diagnosis => diagnoses.push(&term.form),
            TermKind::Abbreviation => abbreviations.push(&term.form),
            _ => {}
        }
    }
    // Fill the remaining room round-robin so each kind is represented.
    let mut lists = [
        ("Läkemedel: ", drugs.into_iter()),
        ("Bedömning: ", diagnoses.into_iter()),
        ("Lab: ", abbreviations.into_iter()),
    ];
    let mut parts: [Vec<&str>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let render =
        |parts: &[Vec<&str>; 3], lists: &[(&str, std::vec::IntoIter<&str>); 3]| -> String {
            let mut text = prompt.clone();
            for (k, (label, _)) in lists.iter().enumerate() {
                if !parts[k].is_empty() {
                    text.push_str(label);
                    text.push_str(&parts[k].join(", "));
                    text.push_str(". ");
                }
            }
            text.trim_end().to_owned()
        };
    loop {
        let mut added = false;
        for k in 0..lists.len() {
            if let Some(term) = lists[k].1.next() {
                parts[k].push(term);
                if render(&parts, &lists).chars().count() > PROMPT_MAX_CHARS {
                    parts[k].pop();
                } else {
                    added = true;
                }
            }
        }
        if !added && lists.iter().all(|(_, l)| l.len() == 0) {
            break;
        }
        if !added && render(&parts, &lists).chars().count() >= PROMPT_MAX_CHARS - 10 {
            break;
        }
    }
    let text = render(&parts, &lists);
    if text.chars().count() > PROMPT_MAX_CHARS {
        text.chars().take(PROMPT_MAX_CHARS).collect()
    } else {
        text
    }
}
