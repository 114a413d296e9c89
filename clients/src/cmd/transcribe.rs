//! `skriva transcribe FILE...`: decode, gate, recognize, print. One bad file does not stop the
//! others; each failure is one line on stderr naming the file, and the exit code is non-zero.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use skriva_engine::recognize::{DecodeOptions, Transcript};

use super::ModelArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Srt,
    Vtt,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Audio files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format. With several files, `json` prints one JSON document per line.
    #[arg(long, short, value_enum, default_value = "text")]
    format: Format,
    /// Spoken language (ISO 639-1), or `auto`.
    #[arg(long, default_value = "sv")]
    language: String,
    /// Beam width (1 = greedy decoding) [default: 1; 5 with --structure].
    #[arg(long)]
    beam_size: Option<usize>,
    /// Decode speech in pieces of at most this many seconds, cut at pauses (0: whisper's
    /// 30 s windows over all speech) [default: 0; 25 with --structure].
    #[arg(long)]
    chunk_s: Option<f64>,
    /// Initial prompt that primes the recognizer's vocabulary and style.
    #[arg(long)]
    prompt: Option<String>,
    /// Also structure the transcript into a journal note (formatting, term correction,
    /// sections); the prompt then defaults to the template's vocabulary.
    #[arg(long)]
    structure: bool,
    #[command(flatten)]
    structure_args: super::structure::StructureArgs,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let recognizer = args.model.load()?;
    let vocab = if args.structure {
        Some(super::structure::open_vocabulary()?)
    } else {
        None
    };
    let prompt = match (&args.prompt, &vocab) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(vocab)) => {
            let template = vocab.template(&args.structure_args.template)?;
            Some(skriva_engine::text::initial_prompt(template, vocab))
        }
        (None, None) => None,
    };
    // A note is worth a slower, more careful decode than a plain transcript.
    let base = if args.structure {
        DecodeOptions::for_notes()
    } else {
        DecodeOptions::default()
    };
    if args.chunk_s.is_some_and(|s| !s.is_finite() || s < 0.0) {
        anyhow::bail!("--chunk-s must be a number of seconds, 0 or more");
    }
    let options = DecodeOptions {
        language: args.language.clone(),
        initial_prompt: prompt,
        beam_size: args.beam_size.unwrap_or(base.beam_size).max(1),
        chunk_s: args.chunk_s.unwrap_or(base.chunk_s),
        ..base
    };
    let show_progress = std::io::stderr().is_terminal();
    let mut failures = 0usize;
    let several = args.files.len() > 1;
    for file in &args.files {
        let bar = show_progress.then(|| progress_bar(file));
        let progress = bar.clone().map(|bar| {
            Box::new(move |p: i32| bar.set_position(p.clamp(0, 100) as u64))
                as Box<dyn FnMut(i32) + Send>
        });
        let result = recognizer.transcribe_file(file, &options, progress);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match result {
            Ok(transcript) => match &vocab {
                Some(vocab) => {
                    let note = super::structure::structure_segments(
                        &transcript.segments,
                        &args.structure_args,
                        vocab,
                    )?;
                    print_structured(&transcript, &note, file, args.format, several)?;
                }
                None => print_transcript(&transcript, file, args.format, several)?,
            },
            Err(e) => {
                failures += 1;
                let _ = writeln!(std::io::stderr(), "skriva: {}", one_line(&e, file));
            }
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The error as one line that names the file (decode errors already start with the path).
fn one_line(e: &skriva_engine::Error, file: &std::path::Path) -> String {
    let msg = e.to_string().replace('\n', " ");
    let name = file.display().to_string();
    if msg.starts_with(&name) {
        msg
    } else {
        format!("{name}: {msg}")
    }
}

fn progress_bar(file: &std::path::Path) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(100);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos:>3}%")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(file.display().to_string());
    bar
}

fn print_transcript(
    t: &Transcript,
    file: &std::path::Path,
    format: Format,
    several: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string(t)?)?,
        Format::Text => {
            if several {
                writeln!(out, "== {} ==", file.display())?;
            }
            writeln!(out, "{}", t.text)?;
        }
        Format::Srt => write!(out, "{}", t.to_srt())?,
        Format::Vtt => write!(out, "{}", t.to_vtt())?,
    }
    Ok(())
}

/// With `--structure`: JSON gets the note beside the transcript; text prints the note.
fn print_structured(
    t: &Transcript,
    note: &skriva_engine::journal::Note,
    file: &std::path::Path,
    format: Format,
    several: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let mut doc = serde_json::to_value(t)?;
            doc["note"] = serde_json::to_value(note)?;
            writeln!(out, "{}", serde_json::to_string(&doc)?)?;
        }
        _ => {
            if several {
                writeln!(out, "== {} ==", file.display())?;
            }
            writeln!(out, "{}", note.to_text())?;
        }
    }
    Ok(())
}
