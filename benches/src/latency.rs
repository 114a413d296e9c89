//! `latency`: live-dictation latency over the real WebSocket protocol. Starts a Skriva server
//! in this process on 127.0.0.1 (real model, real SQLite in a temporary directory), streams
//! corpus audio at real-time pace as 100 ms frames and measures, for every word of every
//! `stable` event, the time from the moment its audio was sent to the moment the event
//! arrived (and the same for each `final`, from its end). Then it adds concurrent real-time
//! streams, one session each, until p95 latency passes the limit, once with `partial`/`stable`
//! re-decoding on and once without it (finals only), side by side.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use skriva_bench::corpus::Corpus;
use skriva_bench::host::{process_cpu_s, Host, LoadProbe};
use skriva_bench::wer::word_edits;
use skriva_engine::recognize::Recognizer;
use skriva_server::{AppState, Role, ServerConfig};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// 100 ms of 16 kHz audio per frame.
const FRAME_SAMPLES: usize = 1600;
const FRAME_S: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Config {
    /// Re-decode the open utterance for `partial` and `stable` events (the default server).
    Partials,
    /// `--no-partials`: each utterance is decoded once, when it ends.
    NoPartials,
}

#[derive(Debug, clap::Args)]
pub struct LatencyArgs {
    /// Corpus TSV (a Skriva manifest); its clips are joined into each stream's dictation.
    #[arg(long, default_value = "corpora/sv-clinical/manifest.tsv")]
    corpus: PathBuf,
    /// Seconds of audio each stream dictates (clips joined with pauses, rotated per stream).
    #[arg(long, default_value_t = 40.0)]
    audio_per_stream: f64,
    /// Silence between two clips, in seconds (longer than the end-of-utterance silence).
    #[arg(long, default_value_t = 1.5)]
    pause_s: f64,
    /// Most concurrent streams tried.
    #[arg(long, default_value_t = 6)]
    max_streams: usize,
    /// Stop adding streams once p95 latency passes this many seconds.
    #[arg(long, default_value_t = 2.0)]
    limit_s: f64,
    /// Server configurations measured, one after the other.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "partials,no-partials"
    )]
    configs: Vec<Config>,
    /// Decoder threads per decode [default: all cores].
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Where latency.json and latency.md go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
}

/// Nearest-rank percentiles of a set of latencies, in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

impl Percentiles {
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let n = sorted.len();
            (n > 0).then(|| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        Self {
            count: sorted.len(),
            p50: rank(0.50),
            p95: rank(0.95),
            max: sorted.last().copied(),
        }
    }
}

/// What one stream measured.
#[derive(Debug, Clone, Serialize)]
pub struct StreamResult {
    pub session: String,
    pub audio_s: f64,
    pub stable_latency_s: Vec<f64>,
    pub final_latency_s: Vec<f64>,
    pub partials: usize,
    pub backpressure_events: usize,
    pub max_behind_s: f64,
    /// From the last frame sent to `closed`: how far the recognizer trailed at the end.
    pub drain_s: f64,
    pub reference: String,
    pub hypothesis: String,
    pub wer: f64,
}

/// One concurrency level of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub streams: usize,
    pub stable: Percentiles,
    #[serde(rename = "final")]
    pub final_: Percentiles,
    pub backpressure_events: usize,
    pub max_behind_s: f64,
    pub max_drain_s: f64,
    pub wer: f64,
    pub audio_s: f64,
    pub wall_s: f64,
    /// CPU of this process (server and clients) per second of wall time, in cores.
    pub cores_used: Option<f64>,
    /// CPU of other processes during the level, in cores.
    pub others_cores: Option<f64>,
    pub per_stream: Vec<StreamResult>,
}

impl Level {
    /// The latency the stopping rule looks at: stable text where there is any, else finals.
    pub fn p95_s(&self) -> Option<f64> {
        self.stable.p95.or(self.final_.p95)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigResult {
    pub config: Config,
    pub levels: Vec<Level>,
    /// Most streams whose p95 latency stayed within the limit.
    pub sustained_streams: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    pub host: Host,
    pub corpus: PathBuf,
    pub audio_per_stream_s: f64,
    pub limit_s: f64,
    pub threads: usize,
    pub end_silence_ms: u32,
    pub redecode_every_ms: u32,
    pub configs: Vec<ConfigResult>,
}

/// One stream's dictation: clips joined with pauses.
#[derive(Debug, Clone)]
struct Dictation {
    samples: Vec<i16>,
    reference: String,
}

pub fn run(args: &LatencyArgs) -> Result<()> {
    if args.max_streams == 0 {
        bail!("--max-streams must be at least 1");
    }
    let corpus = Corpus::load(&args.corpus)?;
    corpus.check_audio()?;
    let clips = corpus
        .clips
        .iter()
        .map(|clip| {
            let (pcm, _) = skriva_engine::audio::load_file(&clip.audio)?;
            let samples: Vec<i16> = pcm
                .samples
                .iter()
                .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
                .collect();
            Ok((samples, clip.reference.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let model_config = skriva_server::ModelConfig {
        threads: args.threads,
        ..skriva_server::ModelConfig::default()
    };
    tracing::info!("loading the model");
    let recognizer = Arc::new(skriva_server::load_recognizer(&model_config)?);
    let defaults = skriva_server::StreamingConfig::default();
    let mut report = LatencyReport {
        host: Host::detect(),
        corpus: args.corpus.clone(),
        audio_per_stream_s: args.audio_per_stream,
        limit_s: args.limit_s,
        threads: args.threads,
        end_silence_ms: defaults.end_silence_ms,
        redecode_every_ms: defaults.redecode_every_ms,
        configs: Vec::new(),
    };
    for &config in &args.configs {
        let result = runtime.block_on(measure_config(args, config, &clips, recognizer.clone()))?;
        report.configs.push(result);
    }
    let markdown = markdown(&report);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let json_path = args.out.join("latency.json");
    let md_path = args.out.join("latency.md");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(&md_path, &markdown)
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{markdown}")?;
    tracing::info!(json = %json_path.display(), markdown = %md_path.display(), "results written");
    Ok(())
}

/// The dictation of stream `index`: clips from a rotating start until `seconds` are filled.
fn dictation(clips: &[(Vec<i16>, String)], index: usize, seconds: f64, pause_s: f64) -> Dictation {
    let pause = vec![0i16; (pause_s * 16_000.0) as usize];
    let mut samples = vec![0i16; 8_000];
    let mut references = Vec::new();
    let mut n = index * 3;
    while (samples.len() as f64) < seconds * 16_000.0 {
        let (clip, reference) = &clips[n % clips.len()];
        samples.extend_from_slice(clip);
        samples.extend_from_slice(&pause);
        references.push(reference.clone());
        n += 1;
    }
    Dictation {
        samples,
        reference: references.join(" "),
    }
}

async fn measure_config(
    args: &LatencyArgs,
    config: Config,
    clips: &[(Vec<i16>, String)],
    recognizer: Arc<Recognizer>,
) -> Result<ConfigResult> {
    let dir = tempfile::tempdir()?;
    let mut server_config = ServerConfig::new(dir.path().join("data"));
    server_config.model.threads = args.threads;
    server_config.streaming.partials = config == Config::Partials;
    server_config.limits.max_streams_per_user = args.max_streams + 1;
    let state = AppState::open(server_config)?;
    state.set_recognizer(recognizer);
    let (_, token) =
        skriva_server::create_user(state.store(), "Bench", Role::Clinician, "SE2321000016-BNCH")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(skriva_server::serve_with_listener(listener, state.clone()));
    let http = reqwest::Client::new();

    // Untimed warm-up: the first decodes of a process are slower.
    tracing::info!(?config, "warm-up stream");
    let warm = dictation(clips, 0, 5.0, args.pause_s);
    stream_one(&http, &base, &token, Arc::new(warm), Duration::ZERO).await?;

    let mut levels = Vec::new();
    for streams in 1..=args.max_streams {
        tracing::info!(?config, streams, "measuring");
        let probe = LoadProbe::start();
        let cpu_before = process_cpu_s();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..streams {
            let audio = Arc::new(dictation(clips, i, args.audio_per_stream, args.pause_s));
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            // Staggered starts: real clinicians do not start in lockstep.
            let delay = Duration::from_millis(300 * i as u64);
            tasks.push(tokio::spawn(async move {
                stream_one(&http, &base, &token, audio, delay).await
            }));
        }
        let mut per_stream = Vec::new();
        for task in tasks {
            per_stream.push(task.await.map_err(|e| anyhow!("stream task: {e}"))??);
        }
        let wall_s = started.elapsed().as_secs_f64();
        let own_cpu = cpu_before.zip(process_cpu_s()).map(|(a, b)| b - a);
        let level = level(
            streams,
            per_stream,
            wall_s,
            own_cpu,
            probe.others_cores(own_cpu),
        );
        tracing::info!(
            streams,
            stable_p95 = ?level.stable.p95,
            final_p95 = ?level.final_.p95,
            backpressure = level.backpressure_events,
            "level done"
        );
        let over = level.p95_s().is_none_or(|p| p > args.limit_s);
        levels.push(level);
        if over {
            break;
        }
    }
    server.abort();
    let sustained_streams = levels
        .iter()
        .take_while(|l| l.p95_s().is_some_and(|p| p <= args.limit_s))
        .map(|l| l.streams)
        .last()
        .unwrap_or(0);
    Ok(ConfigResult {
        config,
        levels,
        sustained_streams,
    })
}

fn level(
    streams: usize,
    per_stream: Vec<StreamResult>,
    wall_s: f64,
    own_cpu_s: Option<f64>,
    others_cores: Option<f64>,
) -> Level {
    let stable: Vec<f64> = per_stream
        .iter()
        .flat_map(|s| s.stable_latency_s.iter().copied())
        .collect();
    let finals: Vec<f64> = per_stream
        .iter()
        .flat_map(|s| s.final_latency_s.iter().copied())
        .collect();
    let reference = per_stream
        .iter()
        .map(|s| s.reference.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let hypothesis = per_stream
        .iter()
        .map(|s| s.hypothesis.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Level {
        streams,
        stable: Percentiles::of(&stable),
        final_: Percentiles::of(&finals),
        backpressure_events: per_stream.iter().map(|s| s.backpressure_events).sum(),
        max_behind_s: per_stream
            .iter()
            .map(|s| s.max_behind_s)
            .fold(0.0, f64::max),
        max_drain_s: per_stream.iter().map(|s| s.drain_s).fold(0.0, f64::max),
        wer: word_edits(&reference, &hypothesis).rate(),
        audio_s: per_stream.iter().map(|s| s.audio_s).sum(),
        wall_s,
        cores_used: own_cpu_s.map(|c| c / wall_s),
        others_cores,
        per_stream,
    }
}

/// Creates a session and streams `audio` into it at real-time pace; measures what comes back.
async fn stream_one(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    audio: Arc<Dictation>,
    delay: Duration,
) -> Result<StreamResult> {
    tokio::time::sleep(delay).await;
    let response = http
        .post(format!("{base}/api/sessions"))
        .bearer_auth(token)
        .json(&json!({"mode": "dictation", "patient_ref": "P-BENCH"}))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("creating a session: HTTP {}", response.status());
    }
    let session: Value = response.json().await?;
    let id = session["id"]
        .as_str()
        .context("session answer without id")?
        .to_string();
    let url = format!(
        "{}/api/sessions/{id}/stream",
        base.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "skriva.v1".parse()?);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    let (mut sink, mut events) = socket.split();
    let start =
        json!({"type": "start", "sample_rate": 16_000, "channels": 1, "encoding": "pcm_s16le"});
    sink.send(Message::text(start.to_string())).await?;
    loop {
        match events.next().await {
            Some(Ok(Message::Text(text))) => {
                let event: Value = serde_json::from_str(text.as_str())?;
                match event["type"].as_str() {
                    Some("ready") => break,
                    Some("error") => bail!("refused: {event}"),
                    _ => {}
                }
            }
            Some(Ok(_)) => {}
            other => bail!("connection ended before ready: {other:?}"),
        }
    }

    let frames: Vec<Vec<u8>> = audio
        .samples
        .chunks(FRAME_SAMPLES)
        .enumerate()
        .map(|(i, chunk)| {
            let mut frame = (i as u64 + 1).to_le_bytes().to_vec();
            for s in chunk {
                frame.extend_from_slice(&s.to_le_bytes());
            }
            frame
        })
        .collect();
    let frame_count = frames.len();
    let sender = async move {
        let t0 = Instant::now();
        let mut sent_at = Vec::with_capacity(frames.len());
        for (k, frame) in frames.into_iter().enumerate() {
            // Frame k+1 exists once its last sample has been spoken.
            tokio::time::sleep_until(t0 + Duration::from_secs_f64((k + 1) as f64 * FRAME_S)).await;
            sink.send(Message::binary(frame)).await?;
            sent_at.push(Instant::now());
        }
        sink.send(Message::text(r#"{"type":"stop"}"#)).await?;
        Ok::<_, anyhow::Error>((sent_at, sink))
    };
    let receiver = async move {
        let mut received = Vec::new();
        while let Some(message) = events.next().await {
            match message? {
                Message::Text(text) => {
                    let event: Value = serde_json::from_str(text.as_str())?;
                    let closed = event["type"] == "closed";
                    received.push((Instant::now(), event));
                    if closed {
                        break;
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        Ok::<_, anyhow::Error>(received)
    };
    let (sent, received) = tokio::join!(sender, receiver);
    let (sent_at, mut sink) = sent?;
    let received = received?;
    let _ = sink.close().await;
    Ok(measure(&id, &audio, frame_count, &sent_at, &received))
}

/// When the audio at `t` seconds had been sent, as seen by an event that arrived at `arrival`:
/// the frame holding `t`, or the newest frame sent before the event if the recognizer placed
/// the word past the audio it had.
fn sent_time(sent_at: &[Instant], t: f64, arrival: Instant) -> Option<Instant> {
    let frame = ((t / FRAME_S).ceil() as usize).clamp(1, sent_at.len().max(1)) - 1;
    let at = *sent_at.get(frame)?;
    if at <= arrival {
        return Some(at);
    }
    let before = sent_at.partition_point(|s| *s <= arrival);
    before.checked_sub(1).and_then(|i| sent_at.get(i)).copied()
}

fn measure(
    session: &str,
    audio: &Dictation,
    frame_count: usize,
    sent_at: &[Instant],
    received: &[(Instant, Value)],
) -> StreamResult {
    let mut result = StreamResult {
        session: session.to_string(),
        audio_s: audio.samples.len() as f64 / 16_000.0,
        stable_latency_s: Vec::new(),
        final_latency_s: Vec::new(),
        partials: 0,
        backpressure_events: 0,
        max_behind_s: 0.0,
        drain_s: 0.0,
        reference: audio.reference.clone(),
        hypothesis: String::new(),
        wer: 0.0,
    };
    let latency = |t: f64, arrival: Instant| {
        sent_time(sent_at, t, arrival).map(|s| arrival.duration_since(s).as_secs_f64())
    };
    let mut finals = Vec::new();
    for (arrival, event) in received {
        match event["type"].as_str().unwrap_or_default() {
            "stable" => {
                for word in event["words"].as_array().into_iter().flatten() {
                    if let Some(l) = word["end"].as_f64().and_then(|t| latency(t, *arrival)) {
                        result.stable_latency_s.push(l);
                    }
                }
            }
            "final" => {
                if let Some(l) = event["end"].as_f64().and_then(|t| latency(t, *arrival)) {
                    result.final_latency_s.push(l);
                }
                finals.push(
                    event["text"]
                        .as_str()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                );
            }
            "partial" => result.partials += 1,
            "backpressure" => {
                result.backpressure_events += 1;
                let behind = event["behind_s"].as_f64().unwrap_or(0.0);
                result.max_behind_s = result.max_behind_s.max(behind);
            }
            "closed" => {
                if let Some(last) = sent_at.get(frame_count.saturating_sub(1)) {
                    result.drain_s = arrival.duration_since(*last).as_secs_f64();
                }
            }
            _ => {}
        }
    }
    result.hypothesis = finals.join(" ");
    result.wer = word_edits(&result.reference, &result.hypothesis).rate();
    result
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"))
}

fn markdown(report: &LatencyReport) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Live dictation latency\n");
    let _ = writeln!(
        md,
        "Host: {} ({} logical CPUs). Decoder threads: {}. Each stream: {:.0} s of corpus audio \
         at real-time pace in 100 ms frames; end of utterance after {} ms of silence; \
         re-decode every {} ms. Latency = event arrival − the moment the audio up to the \
         word's end (stable) or the utterance's end (final) was sent. Stop rule: p95 above \
         {:.1} s.\n",
        report.host.cpu.as_deref().unwrap_or("unknown CPU"),
        report.host.logical_cpus,
        if report.threads == 0 {
            "all cores".to_string()
        } else {
            report.threads.to_string()
        },
        report.audio_per_stream_s,
        report.end_silence_ms,
        report.redecode_every_ms,
        report.limit_s,
    );
    for config in &report.configs {
        let name = match config.config {
            Config::Partials => "partials and stable text (default)",
            Config::NoPartials => "finals only (`--no-partials`)",
        };
        let _ = writeln!(
            md,
            "## {name}\n\nSustained within {:.1} s (p95): **{} stream(s)**.\n",
            report.limit_s, config.sustained_streams
        );
        let _ = writeln!(
            md,
            "| streams | stable p50 s | stable p95 s | stable max s | stable words | final p50 s | final p95 s | final max s | finals | backpressure | max drain s | WER | cores used | others' cores |"
        );
        let _ = writeln!(
            md,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for l in &config.levels {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.3} | {} | {} |",
                l.streams,
                seconds(l.stable.p50),
                seconds(l.stable.p95),
                seconds(l.stable.max),
                l.stable.count,
                seconds(l.final_.p50),
                seconds(l.final_.p95),
                seconds(l.final_.max),
                l.final_.count,
                l.backpressure_events,
                l.max_drain_s,
                l.wer,
                seconds(l.cores_used),
                seconds(l.others_cores),
            );
        }
        let _ = writeln!(md);
    }
    if report.configs.len() > 1 {
        let _ = writeln!(md, "## Final-text p95 latency side by side\n");
        let mut header = "| streams |".to_string();
        let mut rule = "|---:|".to_string();
        for c in &report.configs {
            let _ = write!(header, " {:?} final p95 s |", c.config);
            rule.push_str("---:|");
        }
        let _ = writeln!(md, "{header}\n{rule}");
        let most = report
            .configs
            .iter()
            .map(|c| c.levels.len())
            .max()
            .unwrap_or(0);
        for i in 0..most {
            let mut row = format!("| {} |", i + 1);
            for c in &report.configs {
                let cell = c
                    .levels
                    .get(i)
                    .map_or("–".to_string(), |l| seconds(l.final_.p95));
                let _ = write!(row, " {cell} |");
            }
            let _ = writeln!(md, "{row}");
        }
        let _ = writeln!(md);
    }
    let busy = report
        .configs
        .iter()
        .flat_map(|c| &c.levels)
        .filter_map(|l| l.others_cores)
        .fold(0.0, f64::max);
    if busy > skriva_bench::report::BUSY_CORES {
        let _ = writeln!(
            md,
            "**Warning:** other processes used up to {busy:.2} cores during the run; latencies \
             are inflated.\n"
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let p = Percentiles::of(&values);
        assert_eq!(
            (p.count, p.p50, p.p95, p.max),
            (20, Some(10.0), Some(19.0), Some(20.0))
        );
        let empty = Percentiles::of(&[]);
        assert_eq!((empty.count, empty.p50), (0, None));
    }

    #[test]
    fn a_word_is_timed_from_the_frame_that_held_its_end() {
        let t0 = Instant::now();
        let sent: Vec<Instant> = (1..=10)
            .map(|k| t0 + Duration::from_millis(100 * k))
            .collect();
        let arrival = t0 + Duration::from_millis(1000);
        // 0.25 s lies in frame 3, sent at 300 ms.
        assert_eq!(sent_time(&sent, 0.25, arrival), Some(sent[2]));
        // A word placed past the audio sent so far counts from the newest frame.
        let early = t0 + Duration::from_millis(450);
        assert_eq!(sent_time(&sent, 0.9, early), Some(sent[3]));
    }
}
