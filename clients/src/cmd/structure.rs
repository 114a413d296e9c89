//! `skriva structure`: a raw transcript (spoken punctuation, commands and number words
//! included) in, a structured journal note out. The same code runs in `transcribe --structure`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use skriva_engine::journal::{self, Mode, Note};
use skriva_engine::recognize::Segment;
use skriva_engine::text::SpokenWord;
use skriva_vocab::Vocabulary;

/// The template used when none is named.
pub const DEFAULT_TEMPLATE: &str = "primarvard-lakarbesok";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Dictation,
    Ambient,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Dictation => Mode::Dictation,
            ModeArg::Ambient => Mode::Ambient,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoteFormat {
    Json,
    Text,
}

/// Options shared by `structure` and `transcribe --structure`.
#[derive(Debug, Clone, clap::Args)]
pub struct StructureArgs {
    /// dictation (spoken headings and commands) or ambient (a recorded consultation).
    #[arg(long, value_enum, default_value = "dictation")]
    pub mode: ModeArg,
    /// Note template (see vocab/data/templates.toml, or a clinic's templates.toml in the data dir).
    #[arg(long, default_value = DEFAULT_TEMPLATE)]
    pub template: String,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Transcript file, or `-` (default) for standard input.
    #[arg(default_value = "-")]
    input: String,
    #[arg(long, value_enum, default_value = "json")]
    format: NoteFormat,
    #[command(flatten)]
    structure: StructureArgs,
}

/// The vocabulary under Skriva's data dir (clinic templates and imported terms included).
pub fn open_vocabulary() -> anyhow::Result<Vocabulary> {
    let dir = skriva_engine::model::skriva_home().join("vocab");
    Vocabulary::open(&dir).with_context(|| format!("opening the vocabulary in {}", dir.display()))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut raw = String::new();
    if args.input == "-" {
        std::io::stdin().read_to_string(&mut raw)?;
    } else {
        let path = PathBuf::from(&args.input);
        raw = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
    }
    let vocab = open_vocabulary()?;
    let template = vocab.template(&args.structure.template)?;
    let note = journal::structure(&raw, args.structure.mode.into(), template, &vocab)?;
    print_note(&note, args.format)?;
    Ok(ExitCode::SUCCESS)
}

/// Structures recognized segments, keeping word confidences for term correction.
pub fn structure_segments(
    segments: &[Segment],
    args: &StructureArgs,
    vocab: &Vocabulary,
) -> anyhow::Result<Note> {
    let words: Vec<SpokenWord> = segments
        .iter()
        .flat_map(|s| &s.words)
        .map(|w| SpokenWord {
            text: w.word.clone(),
            start: w.start,
            end: w.end,
            p: w.p,
        })
        .collect();
    let template = vocab.template(&args.template)?;
    Ok(journal::structure_words(
        &words,
        args.mode.into(),
        template,
        vocab,
    )?)
}

pub fn print_note(note: &Note, format: NoteFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        NoteFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(note)?)?,
        NoteFormat::Text => writeln!(out, "{}", note.to_text())?,
    }
    Ok(())
}
