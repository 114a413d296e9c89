//! `skriva-bench`: Skriva's benchmarks as subcommands. `wer` measures WER/CER, real-time factor
//! and peak memory of Skriva and of faster-whisper (same weights, same clips, same run);
//! `structure` measures journal structuring at text and audio level, with and without term
//! correction.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use skriva_bench::corpus::Corpus;
use skriva_bench::host::{peak_rss_mb, process_cpu_s, Host, LoadProbe};
use skriva_bench::peer::{PeerClip, PeerEnv, PeerJob};
use skriva_bench::report::{ClipResult, Report, Settings, SystemResult};
use skriva_bench::skriva;
use skriva_engine::model::{skriva_home, ModelStore};
use skriva_engine::recognize::{available_threads, DecodeOptions};

mod latency;

#[derive(Debug, Parser)]
#[command(name = "skriva-bench", version, about = "Skriva's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Word/character error rate, speed and memory of Skriva and faster-whisper on a corpus.
    Wer(WerArgs),
    /// Live-dictation latency and concurrent real-time streams over the WebSocket protocol.
    Latency(latency::LatencyArgs),
    /// Journal structuring: section accuracy, term recall/precision, formatting exactness and
    /// WER against the written note, at text and audio level, with and without term correction.
    Structure(StructureArgs),
}

#[derive(Debug, clap::Args)]
struct StructureArgs {
    /// An evaluation-set directory of `*.toml` cases (text level, e.g.
    /// corpora/sv-structure/cases) or a corpus manifest whose rows have a written `note`
    /// (audio level, e.g. corpora/sv-clinical/manifest.tsv). Repeat for both.
    #[arg(long = "corpus", required = true)]
    corpora: Vec<PathBuf>,
    /// whisper.cpp ggml model [default: the verified default model in the model store].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Silero VAD ggml model [default: the verified VAD model in the model store].
    #[arg(long)]
    vad_model: Option<PathBuf>,
    /// CPU threads for recognition [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Recognize without the template's initial prompt.
    #[arg(long)]
    no_prompt: bool,
    /// Only the first N clips of an audio corpus.
    #[arg(long)]
    limit: Option<usize>,
    /// Decoder beam width for the audio level [default: as `skriva transcribe --structure`].
    #[arg(long)]
    beam_size: Option<usize>,
    /// Decode speech in pieces of at most this many seconds, 0 for whisper's 30 s windows
    /// over all speech [default: as `skriva transcribe --structure`].
    #[arg(long)]
    chunk_s: Option<f64>,
    /// Do not condition a piece on the text decoded before it.
    #[arg(long)]
    no_context: bool,
    /// Also score plain Whisper on each audio clip (no VAD, prompt, formatting or
    /// structuring; beam 5, temperature fallback, 30 s windows), as the baseline.
    #[arg(long)]
    plain: bool,
    /// Temperature step of whisper's fallback decoding, 0 for none [default: as `skriva
    /// transcribe --structure`].
    #[arg(long)]
    temperature_increment: Option<f32>,
    /// Keep each clip's recognized words in this folder and reuse them when the model and
    /// decoding options are the same (to measure changes to the text stages quickly).
    #[arg(long)]
    words_cache: Option<PathBuf>,
    /// Where `structure.json` and `structure.md` go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
    /// Add a per-case table to the Markdown output.
    #[arg(long)]
    per_case: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Peer {
    FasterWhisper,
    None,
}

#[derive(Debug, clap::Args)]
struct WerArgs {
    /// Corpus TSV: a Skriva manifest (`path`, `reference`) or a Common Voice TSV (`path`,
    /// `sentence`).
    #[arg(long)]
    corpus: PathBuf,
    /// whisper.cpp ggml model [default: the verified default model in the model store].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Silero VAD ggml model [default: the verified VAD model in the model store].
    #[arg(long)]
    vad_model: Option<PathBuf>,
    /// CTranslate2 folder of the same weights, for faster-whisper [default: the store's].
    #[arg(long)]
    ct2_dir: Option<PathBuf>,
    /// CPU threads for both systems [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Beam width for both systems (1 = greedy).
    #[arg(long, default_value_t = 1)]
    beam_size: usize,
    /// Spoken language.
    #[arg(long, default_value = "sv")]
    language: String,
    /// The peer measured beside Skriva.
    #[arg(long, value_enum, default_value = "faster-whisper")]
    peer: Peer,
    /// faster-whisper compute types, each run separately.
    #[arg(
        long = "compute-type",
        value_delimiter = ',',
        default_value = "int8,float32"
    )]
    compute_types: Vec<String>,
    /// Ask faster-whisper for word timestamps too (Skriva always computes token timestamps).
    #[arg(long)]
    peer_word_timestamps: bool,
    /// The peer's virtual environment [default: $SKRIVA_HOME/bench-venv].
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Python used to create the venv.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Where the JSON and Markdown results go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
    /// Only the first N clips.
    #[arg(long)]
    limit: Option<usize>,
    /// Add a per-clip table to the Markdown output.
    #[arg(long)]
    per_clip: bool,
    /// Skip the untimed warm-up transcription of the first clip.
    #[arg(long)]
    no_warmup: bool,
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,skriva_engine=warn,whisper_rs=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Wer(args) => wer(&args),
        Cmd::Latency(args) => latency::run(&args),
        Cmd::Structure(args) => structure(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn wer(args: &WerArgs) -> Result<()> {
    let mut corpus = Corpus::load(&args.corpus)?;
    if let Some(n) = args.limit {
        corpus.truncate(n.max(1));
    }
    corpus.check_audio()?;
    let store = ModelStore::default_location();
    let model = match &args.model {
        Some(p) => p.clone(),
        None => store.verified_default_model()?,
    };
    let vad_model = match &args.vad_model {
        Some(p) => p.clone(),
        None => store.verified_vad_model()?,
    };
    let ct2_dir = match args.peer {
        Peer::None => None,
        Peer::FasterWhisper => {
            let dir = args.ct2_dir.clone().unwrap_or_else(|| store.ct2_dir());
            if !dir.join("model.bin").is_file() {
                bail!(
                    "{} is not a CTranslate2 model folder (no model.bin); pass --ct2-dir, \
                     or --peer none",
                    dir.display()
                );
            }
            Some(absolute(&dir)?)
        }
    };
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => available_threads(),
    };
    let beam_size = args.beam_size.max(1);
    let options = DecodeOptions {
        language: args.language.clone(),
        beam_size,
        ..DecodeOptions::default()
    };
    let settings = Settings {
        model: model.clone(),
        vad_model: vad_model.clone(),
        ct2_dir: ct2_dir.clone(),
        language: args.language.clone(),
        beam_size,
        best_of: skriva::best_of(beam_size),
        temperatures: skriva::temperature_schedule(options.temperature_increment),
        threads,
        warmup: !args.no_warmup,
    };
    // Set up the peer before measuring anything, so a failing install fails fast.
    let peer_env = match args.peer {
        Peer::None => None,
        Peer::FasterWhisper => {
            let venv = args
                .venv
                .clone()
                .unwrap_or_else(|| skriva_home().join("bench-venv"));
            Some(PeerEnv::ensure(&venv, &args.python)?)
        }
    };

    let mut report = Report::new(args.corpus.clone(), Host::detect(), settings.clone());
    tracing::info!(
        clips = corpus.clips.len(),
        threads,
        beam_size,
        "running Skriva"
    );
    let config = skriva::recognizer_config(&model, &vad_model, threads);
    let (probe, cpu_before) = (LoadProbe::start(), process_cpu_s());
    let mut skriva_result = skriva::run(&config, &options, &corpus.clips, settings.warmup)?;
    skriva_result.peak_mb = peak_rss_mb();
    let own_cpu_s = cpu_before.zip(process_cpu_s()).map(|(a, b)| b - a);
    skriva_result.others_cores = probe.others_cores(own_cpu_s);
    report.push(skriva_result);

    // Sequentially after Skriva: the two never compete for the cores.
    if let (Some(env), Some(ct2_dir)) = (&peer_env, &ct2_dir) {
        let clips = corpus
            .clips
            .iter()
            .map(|c| {
                Ok(PeerClip {
                    id: c.id.clone(),
                    path: absolute(&c.audio)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for compute_type in &args.compute_types {
            tracing::info!(%compute_type, "running faster-whisper");
            let job = PeerJob {
                model_dir: ct2_dir.clone(),
                compute_type: compute_type.clone(),
                threads,
                language: args.language.clone(),
                beam_size,
                best_of: settings.best_of,
                temperatures: settings.temperatures.clone(),
                word_timestamps: args.peer_word_timestamps,
                warmup: settings.warmup,
                clips: clips.clone(),
            };
            let probe = LoadProbe::start();
            let out = env.run(&job)?;
            let others_cores = probe.others_cores(Some(out.process_cpu_s));
            let label = format!("faster-whisper {compute_type}");
            let skriva_clips = report.skriva().map(|s| s.clips.clone()).unwrap_or_default();
            let mut results = Vec::with_capacity(out.clips.len());
            for (n, (clip, r)) in corpus.clips.iter().zip(&out.clips).enumerate() {
                // Score against the same audio length on both sides (Skriva's decoder's).
                let duration_s = skriva_clips.get(n).map_or(r.duration_s, |c| c.duration_s);
                let result =
                    ClipResult::score(&clip.id, duration_s, &clip.reference, &r.text, r.seconds)
                        .with_cpu_s(Some(r.cpu_s));
                skriva::progress(&label, n + 1, out.clips.len(), &result);
                results.push(result);
            }
            let mut system = SystemResult::new(
                "faster-whisper",
                &out.compute_type,
                &out.faster_whisper_version,
                out.load_s,
                Some(out.peak_rss_mb),
                results,
            );
            system.others_cores = others_cores;
            report.push(system);
        }
    }

    let markdown = report.markdown(args.per_clip);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let json_path = args.out.join("wer.json");
    let md_path = args.out.join("wer.md");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(&md_path, &markdown)
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{markdown}")?;
    tracing::info!(json = %json_path.display(), markdown = %md_path.display(), "results written");
    Ok(())
}

fn structure(args: &StructureArgs) -> Result<()> {
    use skriva_bench::structure::{self as bench, StructureReport};
    let vocab = skriva_vocab::Vocabulary::builtin()?;
    let mut cases = Vec::new();
    let mut model_used = None;
    for corpus in &args.corpora {
        if corpus.is_dir() {
            cases.extend(bench::text_cases(corpus)?);
            continue;
        }
        let store = ModelStore::default_location();
        let model = match &args.model {
            Some(p) => p.clone(),
            None => store.verified_default_model()?,
        };
        let vad_model = match &args.vad_model {
            Some(p) => p.clone(),
            None => store.verified_vad_model()?,
        };
        let threads = match args.threads {
            Some(0) => bail!("--threads must be at least 1"),
            Some(n) => n,
            None => available_threads(),
        };
        let config = skriva::recognizer_config(&model, &vad_model, threads);
        let settings = bench::AudioSettings {
            prompt: !args.no_prompt,
            decode: {
                let notes = DecodeOptions::for_notes();
                DecodeOptions {
                    beam_size: args.beam_size.unwrap_or(notes.beam_size).max(1),
                    chunk_s: args.chunk_s.unwrap_or(notes.chunk_s).max(0.0),
                    use_context: !args.no_context,
                    temperature_increment: args
                        .temperature_increment
                        .unwrap_or(notes.temperature_increment)
                        .clamp(0.0, 1.0),
                    ..notes
                }
            },
            limit: args.limit,
            words_cache: args.words_cache.clone(),
            plain: args
                .plain
                .then(|| skriva_engine::recognize::RecognizerConfig {
                    vad_model: None,
                    ..config.clone()
                }),
        };
        cases.extend(bench::audio_cases(corpus, &config, &vocab, &settings)?);
        model_used = Some(model);
    }
    let (rows, scores) = bench::run(&cases, &vocab)?;
    let report = StructureReport {
        corpora: args.corpora.clone(),
        model: model_used,
        prompt: !args.no_prompt,
        rows,
        cases: scores,
    };
    let markdown = report.markdown(args.per_case);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let json_path = args.out.join("structure.json");
    let md_path = args.out.join("structure.md");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(&md_path, &markdown)
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    writeln!(std::io::stdout().lock(), "{markdown}")?;
    tracing::info!(json = %json_path.display(), markdown = %md_path.display(), "results written");
    Ok(())
}

/// `path` made absolute against the current directory (the peer runs elsewhere).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}
