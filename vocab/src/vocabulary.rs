//! [`Vocabulary`]: the loaded vocabulary with its look-ups — exact, stemmed, phonetic and
//! fuzzy term search, heading resolution, abbreviations and units, and the terms most
//! relevant to a note template.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tantivy::tokenizer::TokenStream;

use crate::error::{Error, Result};
use crate::index::{stemming_analyzer, TermIndex};
use crate::model::{
    shipped_sources, Abbreviation, Area, Diagnosis, Drug, Heading, SourceText, Sources, Template,
    Unit, UnitKind,
};
use crate::phonetic::{
    loose_phonetic_key, loosen_key, lowercase_chars, phonetic_key, similarity, similarity_of_chars,
};

/// Bumped whenever the index layout changes, so stored indexes are rebuilt.
const INDEX_FORMAT: &str = "skriva-vocab-index-1";
/// Weight of the similarity of two forms' [`loose_phonetic_key`]s against that of their
/// spellings, in [`Vocabulary::lookup`].
const LOOSE_SOUND_WEIGHT: f32 = 0.95;
/// Shortest spoken unit [`Vocabulary::unit_by_sound`] matches: short ones ("gram", "grader")
/// sound like too many words.
const UNIT_BY_SOUND_MIN_LETTERS: usize = 8;
/// Most words in one term form that [`Vocabulary::find_terms`] tries to match.
const MAX_PHRASE_WORDS: usize = 6;

/// What a term is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TermKind {
    /// A journal heading alias.
    Heading,
    /// A diagnosis name (ICD-10-SE code in `code`).
    Diagnosis,
    /// A drug substance or brand (ATC code in `code`).
    Drug,
    /// A journal abbreviation.
    Abbreviation,
    /// A unit.
    Unit,
    /// A word of clinical prose ("beläggningar", "paravertebralt"); its group in `title`.
    #[serde(rename = "clinical_word")]
    ClinicalWord,
}

/// One written form of a vocabulary entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// What it is.
    pub kind: TermKind,
    /// The form as written in a note ("Kåvepenin", "hypertoni", "CRP").
    pub form: String,
    /// ICD-10-SE code of a diagnosis, ATC code of a drug.
    pub code: Option<String>,
    /// Heading name, diagnosis title, drug substance, abbreviation expansion or written unit.
    pub title: String,
    /// Care area.
    pub area: Area,
    /// Position of its entry in its list (lower = more common).
    pub rank: usize,
    /// Whether this is its entry's main form (one diagnosis alias, a substance and its
    /// first brand).
    pub primary: bool,
}

/// How a look-up matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMethod {
    /// Same form, ignoring case.
    Exact,
    /// Same phonetic key.
    Phonetic,
    /// Close in spelling.
    Fuzzy,
}

/// A term found for a spoken form.
#[derive(Debug, Clone, PartialEq)]
pub struct TermMatch<'v> {
    /// The term.
    pub term: &'v Term,
    /// Confidence in `0.0..=1.0`.
    pub score: f32,
    /// How it matched.
    pub method: MatchMethod,
}

/// A term mentioned in a text, with its position in characters.
#[derive(Debug, Clone, PartialEq)]
pub struct TermMention<'v> {
    /// The term.
    pub term: &'v Term,
    /// The text as written there.
    pub text: String,
    /// Start, in characters from the start of the text.
    pub start_char: usize,
    /// End (exclusive), in characters.
    pub end_char: usize,
}

/// A heading alias found at the start of a word sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadingMatch<'v> {
    /// The heading.
    pub heading: &'v Heading,
    /// How many words the alias took.
    pub words: usize,
    /// Whether the words matched an alias exactly (not by sound or spelling).
    pub exact: bool,
    /// The alias matched (normalized).
    pub alias: String,
}

/// The clinical vocabulary and its index.
#[derive(Debug)]
pub struct Vocabulary {
    sources: Sources,
    terms: Vec<Term>,
    /// What [`Vocabulary::lookup`] compares of each term, by the term's index.
    term_sounds: Vec<TermSound>,
    by_form: HashMap<String, Vec<usize>>,
    by_stems: HashMap<String, Vec<usize>>,
    heading_by_alias: HashMap<String, usize>,
    /// Every alias of [`Vocabulary::heading_by_alias`] with its sounds worked out, in alias
    /// order: the fuzzy heading matches compare each recognized word with all of them.
    heading_sounds: Vec<AliasSound>,
    heading_by_heard: HashMap<String, usize>,
    abbreviation_by_spoken: HashMap<String, usize>,
    units_by_spoken: Vec<(Vec<String>, usize)>,
    index: TermIndex,
}

/// A term's form as [`Vocabulary::lookup`] compares it: lowercase, its characters, its
/// phonetic key and the loose key's characters, computed once.
#[derive(Debug)]
struct TermSound {
    lower: String,
    chars: Vec<char>,
    key: String,
    loose: Vec<char>,
}

impl TermSound {
    fn new(form: &str) -> Self {
        let lower = form.to_lowercase();
        let key = phonetic_key(&lower);
        TermSound {
            chars: lowercase_chars(&lower),
            loose: lowercase_chars(&loosen_key(&key)),
            lower,
            key,
        }
    }
}

/// A heading alias and what the fuzzy heading matches compare of it, computed once.
#[derive(Debug)]
struct AliasSound {
    alias: String,
    heading: usize,
    /// The alias's characters and [`phonetic_key`] (for [`Vocabulary::match_heading`]).
    chars: Vec<char>,
    key: String,
    /// The alias written as one word, with its soft "g" as said, and the phonetic keys of
    /// that and of the alias as one word as spelled (for
    /// [`Vocabulary::match_heading_by_sound`]).
    joined: Vec<char>,
    joined_key: Vec<char>,
    written_key: Vec<char>,
}

impl AliasSound {
    fn new(alias: &str, heading: usize) -> Self {
        let written = alias.split(' ').collect::<String>();
        let joined = soft_g(&written);
        AliasSound {
            alias: alias.to_owned(),
            heading,
            chars: lowercase_chars(alias),
            key: phonetic_key(alias),
            joined_key: lowercase_chars(&phonetic_key(&joined)),
            written_key: lowercase_chars(&phonetic_key(&written)),
            joined: lowercase_chars(&joined),
        }
    }
}

/// A lowercase word without the dose's "ett" the recognizer glued onto it ("millgrammet" →
/// "millgramm"), or `None` when it does not end in one.
pub fn without_glued_one(word: &str) -> Option<&str> {
    word.strip_suffix("ett").or_else(|| word.strip_suffix("et"))
}

/// Lowercases, trims surrounding punctuation and collapses whitespace.
pub fn normalize(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes a "g" that is said as "j" (after a consonant, before a front vowel: "åtgärd",
/// "älgen") as "j", so a heading compares with what the recognizer heard ("åtjärd").
fn soft_g(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let is_vowel = |c: char| "aeiouyåäö".contains(c);
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let after_consonant = i > 0 && !is_vowel(chars[i - 1]);
            let before_front = chars
                .get(i + 1)
                .is_some_and(|n| matches!(n, 'e' | 'i' | 'y' | 'ä' | 'ö'));
            if c == 'g' && after_consonant && before_front {
                'j'
            } else {
                c
            }
        })
        .collect()
}

/// Splits a text into its alphanumeric runs with character offsets.
fn alnum_runs(text: &str) -> Vec<(usize, usize, String)> {
    let mut runs = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut count = 0;
    for (i, c) in text.chars().enumerate() {
        if c.is_alphanumeric() {
            if current.is_empty() {
                start = i;
            }
            current.push(c);
        } else if !current.is_empty() {
            runs.push((start, i, std::mem::take(&mut current)));
        }
        count = i + 1;
    }
    if !current.is_empty() {
        runs.push((start, count, current));
    }
    runs
}

/// Swedish stem of one word (lowercased).
pub fn stem(word: &str) -> String {
    let mut analyzer = stemming_analyzer();
    let mut stream = analyzer.token_stream(word);
    let mut out = String::new();
    while let Some(token) = stream.next() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&token.text);
    }
    out
}

/// The word without a definite -n or -t ending, for words long enough to have one.
fn definite_stripped(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    let trimmed = lower
        .strip_suffix('n')
        .or_else(|| lower.strip_suffix('t'))?;
    (trimmed.chars().count() >= 5).then(|| trimmed.to_owned())
}

/// Swedish stems of many words (lowercased), with one analyzer for all.
pub fn stem_all<S: AsRef<str>>(words: &[S]) -> Vec<String> {
    let mut analyzer = stemming_analyzer();
    words
        .iter()
        .map(|w| {
            let mut stream = analyzer.token_stream(w.as_ref());
            let mut out = String::new();
            while let Some(token) = stream.next() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&token.text);
            }
            out
        })
        .collect()
}

fn stem_key(words: &[String], analyzer: &mut tantivy::tokenizer::TextAnalyzer) -> String {
    let mut key = String::new();
    for word in words {
        let mut stream = analyzer.token_stream(word);
        while let Some(token) = stream.next() {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push_str(&token.text);
        }
    }
    key
}

fn hash_sources(sources: &[SourceText]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(INDEX_FORMAT.as_bytes());
    for source in sources {
        hasher.update(source.origin.as_bytes());
        hasher.update([0]);
        hasher.update(source.text.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_source(path: &Path) -> Result<SourceText> {
    Ok(SourceText {
        origin: path.display().to_string(),
        text: std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?,
    })
}

/// Where, inside a vocabulary data directory, imported term files are kept.
pub fn imported_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("imported")
}

impl Vocabulary {
    /// The shipped vocabulary with an in-memory index; needs no files.
    pub fn builtin() -> Result<Self> {
        Self::from_sources(Sources::shipped()?, None)
    }

    /// Same as [`Vocabulary::builtin`].
    pub fn in_memory() -> Result<Self> {
        Self::builtin()
    }

    /// Opens the vocabulary kept in `data_dir`: the shipped sources, plus
    /// `data_dir/templates.toml` (a clinic's templates, overriding shipped ones with the same
    /// id) and the imported files in `data_dir/imported/` (`*.diagnoses.toml`,
    /// `*.drugs.toml`). The index lives in `data_dir/index/` and is rebuilt when any of these
    /// sources change.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self> {
        let data_dir = data_dir.as_ref();
        std::fs::create_dir_all(data_dir).map_err(|e| Error::io(data_dir, e))?;
        let mut sources = Sources::shipped()?;
        let mut texts: Vec<SourceText> = shipped_sources().into_iter().collect();
        let clinic_templates = data_dir.join("templates.toml");
        if clinic_templates.is_file() {
            let source = read_source(&clinic_templates)?;
            sources.merge_templates(&source)?;
            texts.push(source);
        }
        let imported = imported_dir(data_dir);
        if imported.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&imported)
                .map_err(|e| Error::io(&imported, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .collect();
            files.sort();
            for path in files {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                if name.ends_with(".diagnoses.toml") {
                    let source = read_source(&path)?;
                    sources.merge_diagnoses(&source)?;
                    texts.push(source);
                } else if name.ends_with(".drugs.toml") {
                    let source = read_source(&path)?;
                    sources.merge_drugs(&source)?;
                    texts.push(source);
                }
            }
        }
        let hash = hash_sources(&texts);
        Self::from_sources(sources, Some((data_dir.join("index"), hash)))
    }

    /// Builds a vocabulary from parsed sources; with `index_dir`, the index is kept there
    /// under the given sources hash.
    fn from_sources(mut sources: Sources, index_dir: Option<(PathBuf, String)>) -> Result<Self> {
        complete_headings(&mut sources);
        let terms = build_terms(&sources);
        let mut analyzer = stemming_analyzer();
        let mut by_form: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_stems: HashMap<String, Vec<usize>> = HashMap::new();
        for (id, term) in terms.iter().enumerate() {
            by_form
                .entry(term.form.to_lowercase())
                .or_default()
                .push(id);
            if matches!(
                term.kind,
                TermKind::Diagnosis | TermKind::Drug | TermKind::Abbreviation
            ) {
                let words: Vec<String> = alnum_runs(&term.form).into_iter().map(|r| r.2).collect();
                if words.len() <= MAX_PHRASE_WORDS {
                    let key = stem_key(&words, &mut analyzer);
                    if !key.is_empty() {
                        by_stems.entry(key).or_default().push(id);
                    }
                }
            }
        }
        let mut heading_by_alias = HashMap::new();
        let mut heading_by_heard = HashMap::new();
        for (i, heading) in sources.headings.iter().enumerate() {
            heading_by_alias.insert(normalize(&heading.name), i);
            for alias in &heading.aliases {
                heading_by_alias.entry(normalize(alias)).or_insert(i);
            }
            for heard in &heading.heard {
                heading_by_heard.entry(normalize(heard)).or_insert(i);
            }
        }
        let mut heading_sounds: Vec<AliasSound> = heading_by_alias
            .iter()
            .map(|(alias, &i)| AliasSound::new(alias, i))
            .collect();
        heading_sounds.sort_by(|a, b| a.alias.cmp(&b.alias));
        let mut abbreviation_by_spoken = HashMap::new();
        for (i, abbreviation) in sources.abbreviations.iter().enumerate() {
            abbreviation_by_spoken.insert(normalize(&abbreviation.short), i);
            for spoken in &abbreviation.spoken {
                abbreviation_by_spoken.entry(normalize(spoken)).or_insert(i);
            }
        }
        let mut units_by_spoken: Vec<(Vec<String>, usize)> = Vec::new();
        for (i, unit) in sources.units.iter().enumerate() {
            for spoken in &unit.spoken {
                let words: Vec<String> = spoken.split_whitespace().map(str::to_lowercase).collect();
                if !words.is_empty() {
                    units_by_spoken.push((words, i));
                }
            }
        }
        units_by_spoken.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        let forms = terms
            .iter()
            .enumerate()
            .map(|(id, t)| (id, t.form.as_str()));
        let index = match index_dir {
            Some((dir, hash)) => TermIndex::in_dir(&dir, &hash, forms)?,
            None => TermIndex::in_memory(forms)?,
        };
        tracing::debug!(
            terms = terms.len(),
            indexed = index.len(),
            "vocabulary loaded"
        );
        let term_sounds = terms.iter().map(|t| TermSound::new(&t.form)).collect();
        Ok(Vocabulary {
            sources,
            terms,
            term_sounds,
            by_form,
            by_stems,
            heading_by_alias,
            heading_sounds,
            heading_by_heard,
            abbreviation_by_spoken,
            units_by_spoken,
            index,
        })
    }

    /// Adds or replaces templates from a clinic's TOML file (same shape as the shipped
    /// `vocab/data/templates.toml`).
    pub fn load_templates(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let source = read_source(path.as_ref())?;
        self.sources.merge_templates(&source)?;
        complete_headings(&mut self.sources);
        Ok(())
    }

    /// All vocabulary data.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// All term forms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Journal headings.
    pub fn headings(&self) -> &[Heading] {
        &self.sources.headings
    }

    /// The heading with this canonical name (case-insensitive).
    pub fn heading(&self, name: &str) -> Option<&Heading> {
        let name = name.to_lowercase();
        self.sources
            .headings
            .iter()
            .find(|h| h.name.to_lowercase() == name)
    }

    /// Note templates.
    pub fn templates(&self) -> &[Template] {
        &self.sources.templates
    }

    /// The template with this id.
    pub fn template(&self, id: &str) -> Result<&Template> {
        self.sources
            .templates
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Error::UnknownTemplate(id.to_owned()))
    }

    /// Abbreviations.
    pub fn abbreviations(&self) -> &[Abbreviation] {
        &self.sources.abbreviations
    }

    /// Units.
    pub fn units(&self) -> &[Unit] {
        &self.sources.units
    }

    /// Diagnoses.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.sources.diagnoses
    }

    /// Drugs.
    pub fn drugs(&self) -> &[Drug] {
        &self.sources.drugs
    }

    /// The diagnosis with this ICD-10-SE code (case-insensitive, dot optional).
    pub fn diagnosis_by_code(&self, code: &str) -> Option<&Diagnosis> {
        let wanted: String = code
            .chars()
            .filter(|c| *c != '.')
            .collect::<String>()
            .to_uppercase();
        self.sources.diagnoses.iter().find(|d| {
            d.code
                .chars()
                .filter(|c| *c != '.')
                .collect::<String>()
                .to_uppercase()
                == wanted
        })
    }

    /// The canonical heading a spoken alias names ("psykstatus" → "Psykiskt status"),
    /// tolerating small mishearings ("bedömming").
    pub fn resolve_heading(&self, spoken: &str) -> Option<&Heading> {
        let words: Vec<&str> = spoken.split_whitespace().collect();
        self.match_heading(&words)
            .filter(|m| m.words == words.len())
            .map(|m| m.heading)
    }

    /// The longest heading alias at the start of `words` (1–4 words). Exact matches win;
    /// otherwise a single word of at least six letters may match by sound or be one edit away.
    pub fn match_heading(&self, words: &[&str]) -> Option<HeadingMatch<'_>> {
        for n in (1..=words.len().min(4)).rev() {
            let key = normalize(&words[..n].join(" "));
            if key.split(' ').count() != n {
                continue;
            }
            if let Some(&i) = self.heading_by_alias.get(&key) {
                return Some(HeadingMatch {
                    heading: &self.sources.headings[i],
                    words: n,
                    exact: true,
                    alias: key,
                });
            }
        }
        let first = normalize(words.first()?);
        if first.chars().count() < 6 {
            return None;
        }
        let key = phonetic_key(&first);
        let first_chars = lowercase_chars(&first);
        let mut best: Option<(f32, usize, &str)> = None;
        for sound in &self.heading_sounds {
            if sound.alias.contains(' ') {
                continue;
            }
            let score = if sound.key == key {
                0.95
            } else {
                similarity_of_chars(&sound.chars, &first_chars)
            };
            let one_edit = 1.0 - 1.0 / sound.chars.len().max(first_chars.len()) as f32;
            if score >= one_edit.min(0.95) - 1e-4 && best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, sound.heading, &sound.alias));
            }
        }
        best.map(|(_, i, alias)| HeadingMatch {
            heading: &self.sources.headings[i],
            words: 1,
            exact: false,
            alias: alias.to_owned(),
        })
    }

    /// The heading that `words` (all of them, 1–4) are a listed mishearing of ("och järd" →
    /// Åtgärd): for words the clinician followed with "kolon".
    pub fn match_heard_heading(&self, words: &[&str]) -> Option<HeadingMatch<'_>> {
        if words.is_empty() || words.len() > 4 {
            return None;
        }
        let key = normalize(&words.join(" "));
        let &i = self.heading_by_heard.get(&key)?;
        Some(HeadingMatch {
            heading: &self.sources.headings[i],
            words: words.len(),
            exact: false,
            alias: key,
        })
    }

    /// A heading that one to four recognized words sound like, for words the clinician
    /// followed with "kolon" (strong evidence that a heading was said): "Kompaktorsak" →
    /// Kontaktorsak, "Contactar sak" → Kontaktorsak, "Lycktuelt" → Aktuellt. The words are
    /// joined and compared, by spelling and by [`phonetic_key`], with each single-word alias
    /// and name; the best score must reach `min_score`. Exact matches are left to
    /// [`Vocabulary::match_heading`].
    pub fn match_heading_by_sound(
        &self,
        words: &[&str],
        min_score: f32,
    ) -> Option<HeadingMatch<'_>> {
        let mut best: Option<(f32, usize, usize, &str)> = None;
        for n in 1..=words.len().min(4) {
            let joined: String = words[..n]
                .iter()
                .flat_map(|w| w.chars().filter(|c| c.is_alphabetic()))
                .flat_map(char::to_lowercase)
                .collect();
            if joined.chars().count() < 5 {
                continue;
            }
            // Swedish says "och" as "å", so the recognizer writes a heading's first "å"
            // sound as "och" ("Åtgärd" → "Och järd"), or "åt" as "at".
            let joined = match (joined.strip_prefix("och"), joined.strip_prefix("at")) {
                (Some(rest), _) => format!("å{rest}"),
                (None, Some(rest)) => format!("åt{rest}"),
                _ => joined,
            };
            let key = lowercase_chars(&phonetic_key(&joined));
            let joined = lowercase_chars(&joined);
            for sound in &self.heading_sounds {
                let (a, b) = (sound.joined.len() as f32, joined.len() as f32);
                if !(0.7..=1.43).contains(&(a / b)) {
                    continue;
                }
                let (i, alias) = (sound.heading, sound.alias.as_str());
                // The recognizer writes a soft "g" as said ("järd") or as spelled ("gärd").
                let score = similarity_of_chars(&sound.joined, &joined)
                    .max(similarity_of_chars(&sound.joined_key, &key))
                    .max(similarity_of_chars(&sound.written_key, &key));
                // Fewer words for the same score: a heading is usually one word.
                let better = best.is_none_or(|(s, _, words, _)| {
                    score > s + 1e-4 || ((score - s).abs() <= 1e-4 && n < words)
                });
                if score >= min_score && better {
                    best = Some((score, i, n, alias));
                }
            }
        }
        best.map(|(_, i, n, alias)| HeadingMatch {
            heading: &self.sources.headings[i],
            words: n,
            exact: false,
            alias: alias.to_owned(),
        })
    }

    /// The abbreviation a spoken or written form stands for ("se er pe", "crp" → CRP).
    pub fn abbreviation(&self, spoken: &str) -> Option<&Abbreviation> {
        self.abbreviation_by_spoken
            .get(&normalize(spoken))
            .map(|&i| &self.sources.abbreviations[i])
    }

    /// The longest spoken unit at the start of `words` (lowercase comparison) and how many
    /// words it took.
    pub fn unit_at(&self, words: &[&str]) -> Option<(&Unit, usize)> {
        for (spoken, i) in &self.units_by_spoken {
            if spoken.len() <= words.len()
                && spoken.iter().zip(words).all(|(s, w)| *s == normalize(w))
            {
                return Some((&self.sources.units[*i], spoken.len()));
            }
        }
        None
    }

    /// The unit a misheard word after a number sounds like ("miljgräm" → mg): a unit said in
    /// one long word (at least [`UNIT_BY_SOUND_MIN_LETTERS`] letters) whose
    /// [`loose_phonetic_key`] starts alike and is at most a quarter different, and no other
    /// unit as close. A dose's unit may carry the "ett" of its dosing glued on
    /// ("millgrammet").
    pub fn unit_by_sound(&self, word: &str) -> Option<&Unit> {
        let heard = normalize(word);
        if heard.chars().count() < 6 || !heard.chars().all(char::is_alphabetic) {
            return None;
        }
        self.unit_sounding_like(&heard).or_else(|| {
            self.unit_sounding_like(without_glued_one(&heard)?)
                .filter(|unit| unit.kind == UnitKind::Dose)
        })
    }

    fn unit_sounding_like(&self, heard: &str) -> Option<&Unit> {
        let key = loose_phonetic_key(heard);
        let mut best: Option<(f32, usize)> = None;
        let mut tied = false;
        for &(ref spoken, i) in &self.units_by_spoken {
            let [spoken] = spoken.as_slice() else {
                continue;
            };
            if spoken.chars().count() < UNIT_BY_SOUND_MIN_LETTERS {
                continue;
            }
            let spoken_key = loose_phonetic_key(spoken);
            // A mishearing keeps the first sound ("kilometer" is not "millimeter").
            if spoken_key.chars().next() != key.chars().next() {
                continue;
            }
            let score = similarity(&spoken_key, &key);
            if score < 0.75 {
                continue;
            }
            match best {
                Some((s, j)) if (score - s).abs() < 1e-6 => tied |= j != i,
                Some((s, _)) if score < s => {}
                _ => {
                    best = Some((score, i));
                    tied = false;
                }
            }
        }
        best.filter(|_| !tied).map(|(_, i)| &self.sources.units[i])
    }

    /// Whether a number after `word` is written in digits: a measurement word ("puls",
    /// "vikt") or a measurement abbreviation ("Hb", "CRP").
    pub fn is_measurement_label(&self, word: &str) -> bool {
        let word = normalize(word);
        self.sources.labels.contains(&word)
            || self
                .abbreviation(&word)
                .is_some_and(|a| a.value && a.short.to_lowercase() == word)
    }

    /// Terms whose form equals `spoken`, ignoring case.
    pub fn lookup_exact(&self, spoken: &str) -> Vec<TermMatch<'_>> {
        self.by_form
            .get(&spoken.trim().to_lowercase())
            .into_iter()
            .flatten()
            .map(|&id| TermMatch {
                term: &self.terms[id],
                score: 1.0,
                method: MatchMethod::Exact,
            })
            .collect()
    }

    /// Terms that sound like `spoken` (same Swedish phonetic key).
    pub fn lookup_phonetic(&self, spoken: &str) -> Result<Vec<TermMatch<'_>>> {
        let key = phonetic_key(spoken);
        Ok(self
            .lookup(spoken, usize::MAX)?
            .into_iter()
            .filter(|m| phonetic_key(&m.term.form) == key)
            .collect())
    }

    /// Terms close to `spoken` by sound or spelling, best first, at most `limit`. Scores:
    /// 1.0 exact, about 0.9–0.95 same sound, otherwise the spelling similarity.
    pub fn lookup(&self, spoken: &str, limit: usize) -> Result<Vec<TermMatch<'_>>> {
        let query = normalize(spoken);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let key = phonetic_key(&query);
        let loose_key = lowercase_chars(&loosen_key(&key));
        let query_chars = lowercase_chars(&query);
        let mut best: BTreeMap<usize, (f32, MatchMethod)> = BTreeMap::new();
        for id in self.index.candidates(&query)? {
            let Some(form) = self.term_sounds.get(id) else {
                continue;
            };
            let (score, method) = if form.lower == query {
                (1.0, MatchMethod::Exact)
            } else {
                let spelled = similarity_of_chars(&form.chars, &query_chars);
                if form.key == key {
                    (0.9_f32.max(spelled).min(0.99), MatchMethod::Phonetic)
                } else {
                    // Near in sound counts a little less than near in spelling, and never
                    // more than the same sound.
                    let heard = (similarity_of_chars(&form.loose, &loose_key) * LOOSE_SOUND_WEIGHT)
                        .min(0.9);
                    if heard > spelled {
                        (heard, MatchMethod::Phonetic)
                    } else {
                        (spelled, MatchMethod::Fuzzy)
                    }
                }
            };
            let entry = best.entry(id).or_insert((score, method));
            if score > entry.0 {
                *entry = (score, method);
            }
        }
        for &id in self.by_form.get(&query).into_iter().flatten() {
            best.insert(id, (1.0, MatchMethod::Exact));
        }
        let mut matches: Vec<TermMatch<'_>> = best
            .into_iter()
            .map(|(id, (score, method))| TermMatch {
                term: &self.terms[id],
                score,
                method,
            })
            .collect();
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.term.rank.cmp(&b.term.rank))
        });
        matches.truncate(limit);
        Ok(matches)
    }

    /// Same as [`Vocabulary::lookup`]; named for the fuzzy search it performs.
    pub fn lookup_fuzzy(&self, spoken: &str, limit: usize) -> Result<Vec<TermMatch<'_>>> {
        self.lookup(spoken, limit)
    }

    /// Diagnoses, drugs and abbreviations mentioned in `text`, matched on Swedish stems
    /// (so inflections match: "depressionen", "hypertonin"), longest first, left to right.
    /// Abbreviations written with capitals only match where the text has a capital
    /// ("AT", not the word "at").
    pub fn find_terms(&self, text: &str) -> Vec<TermMention<'_>> {
        let runs = alnum_runs(text);
        let mut analyzer = stemming_analyzer();
        let stems: Vec<String> = runs
            .iter()
            .map(|(_, _, w)| stem_key(std::slice::from_ref(w), &mut analyzer))
            .collect();
        let chars: Vec<char> = text.chars().collect();
        let mut mentions = Vec::new();
        let mut i = 0;
        'outer: while i < runs.len() {
            for n in (1..=MAX_PHRASE_WORDS.min(runs.len() - i)).rev() {
                // A phrase must not run across a sentence or clause break.
                let crosses_break = (i..i + n - 1).any(|k| {
                    chars[runs[k].1..runs[k + 1].0]
                        .iter()
                        .any(|c| matches!(c, '.' | ',' | ';' | ':' | '?' | '!' | '\n' | '(' | ')'))
                });
                if crosses_break {
                    continue;
                }
                let key = stems[i..i + n].join(" ");
                let ids = match self.by_stems.get(&key) {
                    Some(ids) => ids,
                    // The stemmer leaves the definite -n/-t of loan words ("hypertonin",
                    // "astman"); try once without it.
                    None => match definite_stripped(&runs[i + n - 1].2) {
                        Some(bare) => {
                            let mut words = stems[i..i + n - 1].to_vec();
                            words.push(stem_key(&[bare], &mut analyzer));
                            match self.by_stems.get(&words.join(" ")) {
                                Some(ids) => ids,
                                None => continue,
                            }
                        }
                        None => continue,
                    },
                };
                let (start, end) = (runs[i].0, runs[i + n - 1].1);
                let written: String = chars[start..end].iter().collect();
                let fitting = ids.iter().map(|&id| &self.terms[id]).find(|term| {
                    // A stem shared with a shorter word is not the term: "dem" (them) and
                    // "demens" stem alike, but an inflected term is never shorter than it.
                    let written_letters = written.chars().filter(|c| c.is_alphanumeric()).count();
                    let form_letters = term.form.chars().filter(|c| c.is_alphanumeric()).count();
                    if written_letters + 1 < form_letters {
                        return false;
                    }
                    term.kind != TermKind::Abbreviation
                        || if term.form.chars().any(char::is_uppercase) {
                            written.chars().any(char::is_uppercase)
                        } else {
                            written == term.form
                        }
                });
                if let Some(term) = fitting {
                    if term.kind != TermKind::Abbreviation && written.chars().count() < 3 {
                        continue;
                    }
                    mentions.push(TermMention {
                        term,
                        text: written,
                        start_char: start,
                        end_char: end,
                    });
                    i += n;
                    continue 'outer;
                }
            }
            i += 1;
        }
        mentions
    }

    /// The terms most worth priming the recognizer with for `template`: diagnoses, drugs
    /// and abbreviations of its care area, most common first, interleaved by kind.
    pub fn top_terms(&self, template: &Template, n: usize) -> Vec<&Term> {
        let mut by_kind: BTreeMap<TermKind, Vec<&Term>> = BTreeMap::new();
        for term in &self.terms {
            if term.primary
                && term.area.fits(template.area)
                && matches!(
                    term.kind,
                    TermKind::Diagnosis | TermKind::Drug | TermKind::Abbreviation
                )
            {
                by_kind.entry(term.kind).or_default().push(term);
            }
        }
        // Most common first; in a psychiatry note the field's own terms (psychiatric ICD-10
        // chapter F, psycholeptic and psychoanaleptic drugs N05/N06) before shared ones like
        // paracetamol.
        let psychiatric = |t: &Term| {
            t.area == Area::Psykiatri
                || t.code.as_deref().is_some_and(|c| {
                    (t.kind == TermKind::Diagnosis && c.starts_with('F'))
                        || c.starts_with("N05")
                        || c.starts_with("N06")
                })
        };
        for list in by_kind.values_mut() {
            list.sort_by_key(|t| (template.area == Area::Psykiatri && !psychiatric(t), t.rank));
        }
        let mut lists: Vec<std::vec::IntoIter<&Term>> =
            by_kind.into_values().map(Vec::into_iter).collect();
        let mut out = Vec::new();
        while out.len() < n {
            let before = out.len();
            for list in &mut lists {
                if let Some(term) = list.next() {
                    if out.len() < n {
                        out.push(term);
                    }
                }
            }
            if out.len() == before {
                break;
            }
        }
        out
    }
}

/// Templates may name headings the shipped list lacks (a clinic's own); those get a plain
/// entry so that "rubrik <name>" resolves to them.
fn complete_headings(sources: &mut Sources) {
    let mut missing = Vec::new();
    for template in &sources.templates {
        for name in &template.headings {
            let known = sources.headings.iter().any(|h| h.name == *name)
                || missing.iter().any(|h: &Heading| h.name == *name);
            if !known {
                tracing::info!(template = %template.id, heading = %name, "template adds a heading");
                missing.push(Heading {
                    name: name.clone(),
                    aliases: vec![name.to_lowercase()],
                    bare: false,
                    bare_aliases: Vec::new(),
                    fallback: Vec::new(),
                    cues: Vec::new(),
                    strong_cues: Vec::new(),
                    sticky: true,
                    heard: Vec::new(),
                });
            }
        }
    }
    sources.headings.extend(missing);
}

fn build_terms(sources: &Sources) -> Vec<Term> {
    let mut terms = Vec::new();
    for (rank, heading) in sources.headings.iter().enumerate() {
        for alias in std::iter::once(&heading.name.to_lowercase()).chain(&heading.aliases) {
            terms.push(Term {
                kind: TermKind::Heading,
                form: alias.clone(),
                code: None,
                title: heading.name.clone(),
                area: Area::Bada,
                rank,
                primary: false,
            });
        }
    }
    for (rank, diagnosis) in sources.diagnoses.iter().enumerate() {
        let mut forms: Vec<String> = diagnosis.aliases.clone();
        if forms.is_empty() {
            forms.push(diagnosis.title.to_lowercase());
        }
        for (i, form) in forms.into_iter().enumerate() {
            terms.push(Term {
                kind: TermKind::Diagnosis,
                form,
                code: Some(diagnosis.code.clone()),
                title: diagnosis.title.clone(),
                area: diagnosis.area,
                rank,
                primary: i == 0,
            });
        }
    }
    for (rank, drug) in sources.drugs.iter().enumerate() {
        let substance_is_name = !drug.substance.is_empty() && !drug.substance.contains(' ');
        if !drug.substance.is_empty() {
            terms.push(Term {
                kind: TermKind::Drug,
                form: drug.substance.clone(),
                code: Some(drug.atc.clone()),
                title: drug.substance.clone(),
                area: drug.area,
                rank,
                primary: substance_is_name,
            });
        }
        for (i, brand) in drug.brands.iter().enumerate() {
            terms.push(Term {
                kind: TermKind::Drug,
                form: brand.clone(),
                code: Some(drug.atc.clone()),
                title: drug.substance.clone(),
                area: drug.area,
                rank,
                primary: i == 0,
            });
        }
    }
    for (rank, abbreviation) in sources.abbreviations.iter().enumerate() {
        terms.push(Term {
            kind: TermKind::Abbreviation,
            form: abbreviation.short.clone(),
            code: None,
            title: abbreviation.expansion.clone(),
            area: Area::Bada,
            rank,
            primary: true,
        });
    }
    for (rank, word) in sources.clinical_words.iter().enumerate() {
        terms.push(Term {
            kind: TermKind::ClinicalWord,
            form: word.word.clone(),
            code: None,
            title: word.group.clone(),
            area: Area::Bada,
            rank,
            primary: false,
        });
    }
    for (rank, unit) in sources.units.iter().enumerate() {
        terms.push(Term {
            kind: TermKind::Unit,
            form: unit.written.clone(),
            code: None,
            title: unit.written.clone(),
            area: Area::Bada,
            rank,
            primary: false,
        });
    }
    terms
}
