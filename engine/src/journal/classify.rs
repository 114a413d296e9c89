//! Placing a sentence under a template heading by its content, for dictation without spoken
//! headings and for ambient recordings: weighted cue words per heading (from the vocabulary's
//! `headings.toml`), vocabulary mentions (drugs, diagnoses), and the previous sentence's heading.

use skriva_vocab::{Heading, Template, TermKind, Vocabulary};

/// Endings a Swedish word takes on a cue word ("yrsel" → "yrseln", "temperatur" →
/// "temperaturen"), so plain cues match their inflections.
const INFLECTIONS: [&str; 16] = [
    "", "n", "en", "et", "t", "er", "ar", "or", "na", "erna", "arna", "orna", "s", "e", "a", "ade",
];
/// Weight of a strong cue relative to a plain one.
const STRONG: f32 = 3.0;
/// Bonus for staying under the previous sentence's heading.
const CONTINUITY: f32 = 0.75;
/// Verbs that, with a drug named, mean the patient already takes it.
const CURRENT_USE: [&str; 6] = ["tar", "står", "använder", "medicinerar", "äter", "stått"];
/// Conversation filler, dropped in ambient mode when a short sentence has no clinical cue.
const FILLER: [&str; 12] = [
    "hej",
    "hejsan",
    "välkommen",
    "tack",
    "sätt dig",
    "kom in",
    "hej då",
    "vad kan jag hjälpa",
    "vad gäller det",
    "varsågod",
    "ha det bra",
    "vi hörs",
];

#[derive(Debug, Clone)]
enum CueWord {
    /// The word or its inflections, or a compound ending in it.
    Word(String),
    /// Any word starting with (or, for four letters or more, containing) this.
    Prefix(String),
    /// Any one word.
    Any,
}

#[derive(Debug, Clone)]
struct Cue {
    words: Vec<CueWord>,
    weight: f32,
}

fn parse_cue(text: &str, weight: f32) -> Cue {
    let words = text
        .split_whitespace()
        .map(|w| {
            let w = w.to_lowercase();
            if w == "*" {
                CueWord::Any
            } else if let Some(prefix) = w.strip_suffix('*') {
                CueWord::Prefix(prefix.to_owned())
            } else {
                CueWord::Word(w)
            }
        })
        .collect();
    Cue { words, weight }
}

fn word_matches(cue: &CueWord, word: &str) -> bool {
    match cue {
        CueWord::Any => true,
        CueWord::Prefix(prefix) => {
            word.starts_with(prefix.as_str())
                || (prefix.chars().count() >= 4 && word.contains(prefix.as_str()))
        }
        CueWord::Word(cue) => INFLECTIONS.iter().any(|ending| {
            word.strip_suffix(ending).is_some_and(|stem| {
                stem == cue || (cue.chars().count() >= 5 && stem.ends_with(cue.as_str()))
            })
        }),
    }
}

/// Lowercase words of a sentence, punctuation trimmed ("150/94", "gad-7" kept whole).
pub(crate) fn words_of(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '%'))
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[derive(Debug)]
pub(crate) struct Classifier<'a> {
    template: &'a Template,
    vocab: &'a Vocabulary,
    /// Per vocabulary heading: the template heading its cues count for, and the cues.
    cues: Vec<(usize, Vec<Cue>)>,
    sticky: Vec<bool>,
}

/// The template heading that stands in for `heading`: itself, or the first of its fallbacks
/// (followed one level further) that the template has.
pub(crate) fn in_template(heading: &str, template: &Template, vocab: &Vocabulary) -> Option<usize> {
    if let Some(i) = template.position(heading) {
        return Some(i);
    }
    let entry: &Heading = vocab.heading(heading)?;
    for fallback in &entry.fallback {
        if let Some(i) = template.position(fallback) {
            return Some(i);
        }
    }
    for fallback in &entry.fallback {
        if let Some(second) = vocab.heading(fallback) {
            for further in &second.fallback {
                if let Some(i) = template.position(further) {
                    return Some(i);
                }
            }
        }
    }
    None
}

impl<'a> Classifier<'a> {
    pub(crate) fn new(template: &'a Template, vocab: &'a Vocabulary) -> Self {
        let mut cues = Vec::new();
        for heading in vocab.headings() {
            let Some(target) = in_template(&heading.name, template, vocab) else {
                continue;
            };
            let list: Vec<Cue> = heading
                .cues
                .iter()
                .map(|c| parse_cue(c, 1.0))
                .chain(heading.strong_cues.iter().map(|c| parse_cue(c, STRONG)))
                .collect();
            cues.push((target, list));
        }
        let sticky = template
            .headings
            .iter()
            .map(|h| vocab.heading(h).is_none_or(|entry| entry.sticky))
            .collect();
        Classifier {
            template,
            vocab,
            cues,
            sticky,
        }
    }

    fn position_of(&self, name: &str) -> Option<usize> {
        in_template(name, self.template, self.vocab)
    }

    /// Cue score of each template heading for `text`, the sentence after one placed under
    /// `previous`.
    pub(crate) fn scores(&self, text: &str, previous: Option<usize>) -> Vec<f32> {
        let words = words_of(text);
        let mut scores = vec![0.0_f32; self.template.headings.len()];
        for (target, cues) in &self.cues {
            for cue in cues {
                let n = cue.words.len();
                if n == 0 || n > words.len() {
                    continue;
                }
                for start in 0..=words.len() - n {
                    if cue
                        .words
                        .iter()
                        .zip(&words[start..start + n])
                        .all(|(c, w)| word_matches(c, w))
                    {
                        scores[*target] += cue.weight;
                    }
                }
            }
        }
        // A sentence that opens by introducing the patient ("25-årig kvinna med …") opens the
        // note: the reason for the visit or the history, whatever else it mentions ("på
        // återbesök"); the other cues choose between the two. Once the reason has been given
        // (the sentence before), the introduction starts the history.
        let introduction = words.first().is_some_and(|w| {
            w.split_once("-årig")
                .is_some_and(|(age, _)| !age.is_empty() && age.chars().all(|c| c.is_ascii_digit()))
        });
        if introduction {
            let opening = self
                .position_of("Kontaktorsak")
                .filter(|&k| previous != Some(k));
            for i in opening.into_iter().chain([self.default_heading()]) {
                scores[i] += STRONG;
            }
        }
        let mentions = self.vocab.find_terms(text);
        let current_use = words.iter().any(|w| CURRENT_USE.contains(&w.as_str()));
        for mention in &mentions {
            match mention.term.kind {
                TermKind::Drug => {
                    for (name, bonus) in [
                        ("Läkemedel", if current_use { 4.0 } else { 1.0 }),
                        ("Åtgärd", 1.0),
                    ] {
                        if let Some(i) = self.position_of(name) {
                            scores[i] += bonus;
                        }
                    }
                }
                TermKind::Diagnosis => {
                    if let Some(i) = self.position_of("Bedömning") {
                        scores[i] += 1.0;
                    }
                }
                _ => {}
            }
        }
        scores
    }

    /// Whether `text` is conversational filler (greeting, thanks) with no clinical content.
    pub(crate) fn is_filler(&self, text: &str) -> bool {
        let words = words_of(text);
        if words.len() > 8 {
            return false;
        }
        let joined = format!(" {} ", words.join(" "));
        let has_filler = FILLER.iter().any(|f| joined.contains(&format!(" {f} ")));
        has_filler && self.scores(text, None).iter().all(|s| *s < 1.0)
    }

    /// The best template heading for `text`, given the previous sentence's heading.
    pub(crate) fn classify(&self, text: &str, previous: Option<usize>) -> usize {
        let mut scores = self.scores(text, previous);
        if let Some(p) = previous {
            if self.sticky.get(p).copied().unwrap_or(true) {
                scores[p] += CONTINUITY;
            }
        }
        let best = scores
            .iter()
            .enumerate()
            .fold(None, |best: Option<(usize, f32)>, (i, &s)| match best {
                Some((_, b)) if b >= s => best,
                _ => Some((i, s)),
            });
        match best {
            Some((i, s)) if s > 0.0 => i,
            _ => previous.unwrap_or_else(|| self.default_heading()),
        }
    }

    /// Where content goes when nothing else says: the history heading.
    pub(crate) fn default_heading(&self) -> usize {
        ["Aktuellt", "Anamnes"]
            .iter()
            .find_map(|h| self.template.position(h))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_words_match_inflections_and_compounds() {
        assert!(word_matches(&CueWord::Word("yrsel".into()), "yrseln"));
        assert!(word_matches(&CueWord::Word("ömhet".into()), "dunkömhet"));
        assert!(!word_matches(&CueWord::Word("ont".into()), "kontakt"));
        assert!(word_matches(
            &CueWord::Prefix("smärt".into()),
            "flanksmärtor"
        ));
        assert!(!word_matches(&CueWord::Prefix("tar".into()), "startar"));
    }

    #[test]
    fn a_patient_introduced_by_age_opens_the_history() {
        let vocab = Vocabulary::builtin().expect("vocabulary");
        let template = vocab.template("psykiatri-aterbesok").expect("template");
        let classifier = Classifier::new(template, &vocab);
        let aktuellt = template.position("Aktuellt").expect("Aktuellt");
        let heard = "25-årig vina med generaliserat ångestsyndrom på åter besök.";
        assert_eq!(classifier.classify(heard, None), aktuellt);
        let planering = template.position("Planering").expect("Planering");
        assert_eq!(
            classifier.classify("Åter besök om 3 månader.", None),
            planering
        );
        // With a reason for the visit in the template, the other cues choose.
        let template = vocab.template("primarvard-lakarbesok").expect("template");
        let classifier = Classifier::new(template, &vocab);
        let kontaktorsak = template.position("Kontaktorsak").expect("Kontaktorsak");
        let heard = "32-årig kvinna som söker för sveda sedan 2 dagar.";
        assert_eq!(classifier.classify(heard, None), kontaktorsak);
        // After the reason for the visit, the introduction opens the history.
        let aktuellt = template.position("Aktuellt").expect("Aktuellt");
        let heard = "61-årig kvinna som cyklade omkull i går kväll.";
        assert_eq!(classifier.classify(heard, Some(kontaktorsak)), aktuellt);
    }
}
