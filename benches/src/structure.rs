//! Journal-structuring accuracy: section accuracy, clinical-term recall and precision,
//! formatting exactness and WER of the structured note against the written note, at text level
//! (the evaluation set's spoken scripts) and at audio level (dictation clips through the
//! recognizer with the template's prompt), each with and without term correction, beside plain
//! Whisper's own text on the same clips as the baseline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use skriva_engine::journal::eval::{self, Ratio};
use skriva_engine::journal::{self, Mode, Note, Section};
use skriva_engine::recognize::{DecodeOptions, Recognizer, RecognizerConfig, Segment};
use skriva_engine::text::{FormatOptions, SpokenWord};
use skriva_vocab::{TermKind, Vocabulary};

use crate::corpus::Corpus;
use crate::wer::{word_edits, EditCounts};

/// Template of audio clips whose domain is primary care.
pub const PRIMARY_CARE_TEMPLATE: &str = "primarvard-lakarbesok";
/// Template of audio clips whose domain is psychiatry.
pub const PSYCHIATRY_TEMPLATE: &str = "psykiatri-nybesok";

/// Where a case's input came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The spoken script, as a perfect recognizer would write it.
    Text,
    /// The recognizer's output on the audio.
    Audio,
    /// Plain Whisper's output on the audio, scored as it comes: the baseline the engine's
    /// segmentation, prompt, formatting, correction and structuring are measured against.
    Plain,
}

/// One note to structure and its reference.
#[derive(Debug, Clone)]
pub struct BenchCase {
    pub id: String,
    pub level: Level,
    pub mode: Mode,
    pub template: String,
    /// The input: spoken script (text level) or recognized words (audio level).
    pub input: Input,
    pub expected: Note,
}

/// What structuring reads.
#[derive(Debug, Clone)]
pub enum Input {
    Script(String),
    Words(Vec<SpokenWord>),
}

impl Input {
    fn text(&self) -> String {
        match self {
            Input::Script(s) => s.clone(),
            Input::Words(words) => skriva_engine::text::words_text(words),
        }
    }
}

/// Scores of one case in one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct CaseScore {
    pub id: String,
    pub level: Level,
    pub correction: bool,
    pub section_accuracy: Ratio,
    pub term_recall: Ratio,
    pub term_precision: Ratio,
    pub format_exactness: Ratio,
    pub words: EditCounts,
    pub corrections: usize,
    pub missed_terms: Vec<String>,
    pub missed_formats: Vec<String>,
    pub input: String,
    pub note: String,
    pub reference: String,
}

/// Totals of one level and configuration (micro-averaged over cases).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub level: Level,
    pub correction: bool,
    pub cases: usize,
    pub section_accuracy: Ratio,
    pub term_recall: Ratio,
    pub term_precision: Ratio,
    pub format_exactness: Ratio,
    pub wer: f64,
    pub corrections: usize,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct StructureReport {
    pub corpora: Vec<PathBuf>,
    pub model: Option<PathBuf>,
    pub prompt: bool,
    pub rows: Vec<Row>,
    pub cases: Vec<CaseScore>,
}

/// The text-level cases of an evaluation set directory (`corpora/sv-structure/cases`).
pub fn text_cases(dir: &Path) -> Result<Vec<BenchCase>> {
    let cases = eval::load_eval_set(dir)
        .with_context(|| format!("cannot load the evaluation set in {}", dir.display()))?;
    Ok(cases
        .into_iter()
        .map(|case| BenchCase {
            expected: case.expected(),
            id: case.id,
            level: Level::Text,
            mode: case.mode,
            template: case.template,
            input: Input::Script(case.spoken),
        })
        .collect())
}

/// Parses a manifest's `note` column: heading and text lines alternating, `\n` written as the
/// two characters backslash and n.
pub fn parse_written_note(note: &str) -> Result<Note> {
    let lines: Vec<&str> = note
        .split("\\n")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() % 2 != 0 {
        bail!("a written note needs heading and text lines in pairs: {note}");
    }
    Ok(Note {
        sections: lines
            .chunks(2)
            .map(|pair| Section {
                heading: pair[0].to_string(),
                text: pair[1].to_string(),
                spans: Vec::new(),
            })
            .collect(),
        ..Note::default()
    })
}

/// How the audio level recognizes its clips.
#[derive(Debug, Clone)]
pub struct AudioSettings {
    /// Prime the recognizer with the template's initial prompt.
    pub prompt: bool,
    /// The decoding options besides the prompt (beam, chunking, context).
    pub decode: DecodeOptions,
    /// Only the first N clips.
    pub limit: Option<usize>,
    /// A folder keeping each clip's recognized words, keyed by clip, model and decoding
    /// options, so a change to the text stages is measured without recognizing again.
    pub words_cache: Option<PathBuf>,
    /// Also recognize each clip as plain Whisper does ([`plain_decode_options`], no VAD) for
    /// a [`Level::Plain`] case beside the audio one.
    pub plain: Option<RecognizerConfig>,
}

/// Decoding as plain Whisper does it (whisper.cpp's command-line defaults): beam 5 with
/// temperature fallback in steps of 0.2, whisper's 30 s windows over the whole clip, each
/// window conditioned on the text before it, no prompt. The clip's language is given.
pub fn plain_decode_options() -> DecodeOptions {
    DecodeOptions {
        beam_size: 5,
        temperature_increment: 0.2,
        chunk_s: 0.0,
        initial_prompt: None,
        use_context: true,
        ..DecodeOptions::default()
    }
}

/// The dictation clips of a manifest (rows with a `note`), transcribed once each with the
/// template's initial prompt (or none).
pub fn audio_cases(
    manifest: &Path,
    config: &RecognizerConfig,
    vocab: &Vocabulary,
    settings: &AudioSettings,
) -> Result<Vec<BenchCase>> {
    let corpus = Corpus::load(manifest)?;
    let mut clips: Vec<_> = corpus
        .clips
        .into_iter()
        .filter(|c| c.meta.get("note").is_some_and(|n| !n.is_empty()))
        .collect();
    if let Some(n) = settings.limit {
        clips.truncate(n);
    }
    if clips.is_empty() {
        bail!("{}: no clips with a written `note`", manifest.display());
    }
    let mut recognizer = CachedRecognizer::new(config, settings.words_cache.as_deref());
    let mut plain = settings
        .plain
        .as_ref()
        .map(|config| CachedRecognizer::new(config, settings.words_cache.as_deref()));
    let mut cases = Vec::with_capacity(clips.len());
    for (n, clip) in clips.iter().enumerate() {
        let template = match clip.meta.get("domain").map(String::as_str) {
            Some("psychiatry") => PSYCHIATRY_TEMPLATE,
            _ => PRIMARY_CARE_TEMPLATE,
        };
        let prompt_text = skriva_engine::text::initial_prompt(vocab.template(template)?, vocab);
        let options = DecodeOptions {
            initial_prompt: settings.prompt.then_some(prompt_text),
            ..settings.decode.clone()
        };
        let progress = format!("{}/{}", n + 1, clips.len());
        let words = recognizer.words(&clip.id, &clip.audio, &options, &progress)?;
        let note = clip
            .meta
            .get("note")
            .map(String::as_str)
            .unwrap_or_default();
        cases.push(BenchCase {
            id: clip.id.clone(),
            level: Level::Audio,
            mode: Mode::Dictation,
            template: template.to_string(),
            input: Input::Words(words),
            expected: parse_written_note(note)
                .with_context(|| format!("{}: note column", clip.id))?,
        });
        if let Some(plain) = plain.as_mut() {
            let words = plain.words(
                &format!("{}.plain", clip.id),
                &clip.audio,
                &plain_decode_options(),
                &progress,
            )?;
            cases.push(BenchCase {
                level: Level::Plain,
                input: Input::Words(words),
                ..cases[cases.len() - 1].clone()
            });
        }
    }
    Ok(cases)
}

/// A recognizer, loaded at its first use, whose words are kept in a cache folder.
struct CachedRecognizer<'a> {
    config: &'a RecognizerConfig,
    cache: Option<&'a Path>,
    loaded: Option<Recognizer>,
}

impl<'a> CachedRecognizer<'a> {
    fn new(config: &'a RecognizerConfig, cache: Option<&'a Path>) -> Self {
        Self {
            config,
            cache,
            loaded: None,
        }
    }

    /// The words recognized in `audio` (kept under `key` in the cache).
    fn words(
        &mut self,
        key: &str,
        audio: &Path,
        options: &DecodeOptions,
        progress: &str,
    ) -> Result<Vec<SpokenWord>> {
        let cached = self
            .cache
            .map(|dir| dir.join(cache_name(key, &self.config.model, options)));
        if let Some(path) = cached.as_ref().filter(|p| p.is_file()) {
            return serde_json::from_slice(&std::fs::read(path)?)
                .with_context(|| format!("cannot read {}", path.display()));
        }
        let recognizer = match &mut self.loaded {
            Some(recognizer) => recognizer,
            None => self.loaded.insert(
                Recognizer::load(self.config)
                    .with_context(|| format!("cannot load {}", self.config.model.display()))?,
            ),
        };
        let transcript = recognizer
            .transcribe_file(audio, options, None)
            .with_context(|| format!("cannot transcribe {}", audio.display()))?;
        tracing::info!(clip = key, "{progress}: {}", transcript.text);
        let words = spoken_words(&transcript.segments);
        if let Some(path) = &cached {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, serde_json::to_vec(&words)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(words)
    }
}

/// The cache file of a clip's words: the clip, the model and every decoding option that
/// changes what is recognized, hashed.
fn cache_name(clip: &str, model: &Path, options: &DecodeOptions) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    model.hash(&mut hasher);
    format!("{options:?}").hash(&mut hasher);
    format!("{clip}.{:016x}.json", hasher.finish())
}

fn spoken_words(segments: &[Segment]) -> Vec<SpokenWord> {
    segments
        .iter()
        .flat_map(|s| &s.words)
        .map(|w| SpokenWord {
            text: w.word.clone(),
            start: w.start,
            end: w.end,
            p: w.p,
        })
        .collect()
}

/// Words of a text as the scores compare them (lowercase, edge punctuation off, hyphens split).
fn fact_words(text: &str) -> Vec<String> {
    eval::score_words(text)
        .iter()
        .flat_map(|w| w.split(['-', ':']).map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The formatted facts of a written note: every word with a digit (numbers, codes, "24-årig",
/// "150/94"), together with the unit after it ("10 mg", "96 %") and a dosing "x N" ("1 x 3").
pub fn formatted_facts(note: &Note, vocab: &Vocabulary) -> Vec<String> {
    let units: Vec<String> = vocab
        .units()
        .iter()
        .map(|u| u.written.to_lowercase())
        .collect();
    let mut facts = Vec::new();
    for section in &note.sections {
        let words = eval::score_words(&section.text);
        let mut i = 0;
        while i < words.len() {
            if !words[i].chars().any(|c| c.is_ascii_digit()) {
                i += 1;
                continue;
            }
            let mut fact = vec![words[i].clone()];
            i += 1;
            if words.get(i).is_some_and(|w| units.contains(w)) {
                fact.push(words[i].clone());
                i += 1;
            }
            let counted = fact.len() == 1;
            facts.push(fact.join(" "));
            // A dosing "1 x 3" is one fact.
            let times = words
                .get(i + 1)
                .filter(|w| w.chars().all(|c| c.is_ascii_digit()));
            if let (true, Some("x"), Some(times)) =
                (counted, words.get(i).map(String::as_str), times)
            {
                let count = facts.pop().unwrap_or_default();
                facts.push(format!("{count} x {times}"));
                i += 2;
            }
        }
    }
    facts
}

/// Clinical terms of a note: its drug, diagnosis and abbreviation mentions.
pub fn clinical_terms(note: &Note, vocab: &Vocabulary) -> Vec<String> {
    note.sections
        .iter()
        .flat_map(|s| vocab.find_terms(&s.text))
        .filter(|m| {
            matches!(
                m.term.kind,
                TermKind::Drug | TermKind::Diagnosis | TermKind::Abbreviation
            )
        })
        .map(|m| m.text)
        .collect()
}

/// Share of `facts` found in `got` as whole word sequences, and the ones missed.
fn found(facts: &[String], got: &Note) -> (Ratio, Vec<String>) {
    let text = format!(
        " {} ",
        got.sections
            .iter()
            .flat_map(|s| fact_words(&s.text))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut ratio = Ratio::default();
    let mut missed = Vec::new();
    for fact in facts {
        ratio.total += 1;
        if text.contains(&format!(" {} ", fact_words(fact).join(" "))) {
            ratio.hits += 1;
        } else {
            missed.push(fact.clone());
        }
    }
    (ratio, missed)
}

/// Structures a case with or without term correction and scores it.
pub fn score_case(case: &BenchCase, correction: bool, vocab: &Vocabulary) -> Result<CaseScore> {
    let template = vocab.template(&case.template)?;
    let options = FormatOptions {
        correct_terms: correction,
        ..journal::format_options(case.mode)
    };
    let note = match &case.input {
        // Plain Whisper's text as it comes, in one untitled section.
        Input::Words(words) if case.level == Level::Plain => Note {
            sections: vec![Section {
                heading: String::new(),
                text: skriva_engine::text::words_text(words),
                spans: Vec::new(),
            }],
            ..Note::default()
        },
        Input::Script(script) => {
            journal::structure_with(script, case.mode, template, vocab, options)?
        }
        Input::Words(words) => {
            journal::structure_words_with(words, case.mode, template, vocab, options)?
        }
    };
    let (term_recall, missed_terms) = found(&clinical_terms(&case.expected, vocab), &note);
    let (format_exactness, missed_formats) = found(&formatted_facts(&case.expected, vocab), &note);
    let reference = case.expected.to_text();
    let written = note.to_text();
    Ok(CaseScore {
        id: case.id.clone(),
        level: case.level,
        correction,
        section_accuracy: eval::section_accuracy(&case.expected, &note),
        term_recall,
        term_precision: eval::term_precision(&case.expected, &note, vocab),
        format_exactness,
        words: word_edits(&reference, &written),
        corrections: note.corrections.len(),
        missed_terms,
        missed_formats,
        input: case.input.text(),
        note: written,
        reference,
    })
}

/// Scores every case in both configurations and sums them per level.
pub fn run(cases: &[BenchCase], vocab: &Vocabulary) -> Result<(Vec<Row>, Vec<CaseScore>)> {
    let mut rows = Vec::new();
    let mut scores = Vec::new();
    for level in [Level::Text, Level::Audio, Level::Plain] {
        let of_level: Vec<&BenchCase> = cases.iter().filter(|c| c.level == level).collect();
        if of_level.is_empty() {
            continue;
        }
        // Plain Whisper's text is not formatted or corrected.
        let corrections: &[bool] = match level {
            Level::Plain => &[false],
            _ => &[false, true],
        };
        for &correction in corrections {
            let mut row = Row {
                level,
                correction,
                cases: of_level.len(),
                section_accuracy: Ratio::default(),
                term_recall: Ratio::default(),
                term_precision: Ratio::default(),
                format_exactness: Ratio::default(),
                wer: 0.0,
                corrections: 0,
            };
            let mut edits = 0;
            let mut reference_len = 0;
            for case in &of_level {
                let score = score_case(case, correction, vocab)?;
                row.section_accuracy.add(score.section_accuracy);
                row.term_recall.add(score.term_recall);
                row.term_precision.add(score.term_precision);
                row.format_exactness.add(score.format_exactness);
                row.corrections += score.corrections;
                edits += score.words.errors();
                reference_len += score.words.reference_len;
                scores.push(score);
            }
            row.wer = if reference_len == 0 {
                0.0
            } else {
                edits as f64 / reference_len as f64
            };
            rows.push(row);
        }
    }
    Ok((rows, scores))
}

fn percent(ratio: Ratio) -> String {
    // Nothing to count (a plain transcript that names no term has no precision).
    if ratio.total == 0 {
        return "– (0/0)".to_string();
    }
    format!(
        "{:.1} % ({}/{})",
        ratio.value() * 100.0,
        ratio.hits,
        ratio.total
    )
}

impl StructureReport {
    /// The summary table, and with `per_case` one row per case and configuration.
    pub fn markdown(&self, per_case: bool) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "| level | term correction | cases | section accuracy | term recall | term precision | formatting exact | WER vs written note | corrections made |"
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for row in &self.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} % | {} |",
                match row.level {
                    Level::Text => "text (spoken script)",
                    Level::Audio if self.prompt => "audio (recognizer, template prompt)",
                    Level::Audio => "audio (recognizer, no prompt)",
                    Level::Plain =>
                        "audio, plain Whisper (no VAD, prompt, formatting or structuring)",
                },
                if row.correction { "on" } else { "off" },
                row.cases,
                // Plain text has no headings to place words under.
                match row.level {
                    Level::Plain => "–".to_string(),
                    _ => percent(row.section_accuracy),
                },
                percent(row.term_recall),
                percent(row.term_precision),
                percent(row.format_exactness),
                row.wer * 100.0,
                row.corrections
            );
        }
        if per_case {
            let _ = writeln!(md);
            let _ = writeln!(
                md,
                "| case | level | correction | section | terms | formatting | WER | missed terms | missed formatting |"
            );
            let _ = writeln!(md, "|---|---|---|---:|---:|---:|---:|---|---|");
            for c in &self.cases {
                let _ = writeln!(
                    md,
                    "| {} | {:?} | {} | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {} | {} |",
                    c.id,
                    c.level,
                    if c.correction { "on" } else { "off" },
                    c.section_accuracy.value() * 100.0,
                    c.term_recall.value() * 100.0,
                    c.format_exactness.value() * 100.0,
                    c.words.rate() * 100.0,
                    c.missed_terms.join(", "),
                    c.missed_formats.join(", ")
                );
            }
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_notes_and_their_facts() {
        let vocab = Vocabulary::builtin().expect("vocabulary");
        let note = parse_written_note(
            "Status\\nBlodtryck 150/94, puls 78, saturation 96 %.\\nÅtgärd\\nEnalapril 10 mg 1 x 1, GAD-7 16 poäng.",
        )
        .expect("note");
        assert_eq!(note.sections.len(), 2);
        assert_eq!(note.sections[1].heading, "Åtgärd");
        assert_eq!(
            formatted_facts(&note, &vocab),
            vec![
                "150/94",
                "78",
                "96 %",
                "10 mg",
                "1 x 1",
                "gad-7",
                "16 poäng"
            ]
        );
        assert!(parse_written_note("Status\\nAT gott.\\nBedömning").is_err());
        assert_eq!(clinical_terms(&note, &vocab), vec!["Enalapril", "GAD-7"]);
    }

    #[test]
    fn plain_text_is_scored_as_it_comes() {
        let vocab = Vocabulary::builtin().expect("vocabulary");
        let said = "rubrik status blodtryck hundrafemtio över nittiofyra punkt rubrik bedömning hypertoni punkt";
        let words: Vec<SpokenWord> = said
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| SpokenWord {
                text: format!(" {w}"),
                start: i as f64,
                end: i as f64 + 0.5,
                p: 0.9,
            })
            .collect();
        let case = |level| BenchCase {
            id: "pc".into(),
            level,
            mode: Mode::Dictation,
            template: PRIMARY_CARE_TEMPLATE.into(),
            input: Input::Words(words.clone()),
            expected: parse_written_note("Status\\nBlodtryck 150/94.\\nBedömning\\nHypertoni.")
                .expect("note"),
        };
        let plain = score_case(&case(Level::Plain), false, &vocab).expect("plain");
        assert_eq!(plain.note.trim(), said);
        assert_eq!(plain.section_accuracy.hits, 0);
        assert_eq!(plain.format_exactness.hits, 0, "{:?}", plain.missed_formats);
        // The same words through the engine become the written note.
        let structured = score_case(&case(Level::Audio), false, &vocab).expect("audio");
        assert_eq!(structured.words.errors(), 0, "{}", structured.note);
        // "rubrik" and "punkt", twice each, are words in plain text.
        assert!(plain.words.errors() >= 4, "{:?}", plain.words);
    }
}
