//! Results of a `wer` run: per-clip scores and timings for each system, corpus totals, the
//! time ratio against Skriva, and their renderings as JSON and Markdown tables.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::host::Host;
use crate::wer::{char_edits, word_edits, EditCounts};

/// The label [`Report::skriva`] looks systems up by.
pub const SKRIVA: &str = "skriva";
/// Other processes using more CPU than this (in cores) during a run make its timings suspect.
pub const BUSY_CORES: f64 = 0.25;

/// One system's output for one clip, scored.
#[derive(Debug, Clone, Serialize)]
pub struct ClipResult {
    pub id: String,
    pub duration_s: f64,
    pub reference: String,
    pub hypothesis: String,
    /// Wall time: file decoding and transcription, model load excluded.
    pub seconds: f64,
    /// CPU time (all threads) spent on the clip, where measured.
    pub cpu_s: Option<f64>,
    pub rtf: f64,
    pub wer: f64,
    pub cer: f64,
    pub words: EditCounts,
    pub chars: EditCounts,
}

impl ClipResult {
    pub fn score(
        id: &str,
        duration_s: f64,
        reference: &str,
        hypothesis: &str,
        seconds: f64,
    ) -> Self {
        let words = word_edits(reference, hypothesis);
        let chars = char_edits(reference, hypothesis);
        Self {
            id: id.to_string(),
            duration_s,
            reference: reference.to_string(),
            hypothesis: hypothesis.to_string(),
            seconds,
            cpu_s: None,
            rtf: ratio(seconds, duration_s),
            wer: words.rate(),
            cer: chars.rate(),
            words,
            chars,
        }
    }

    /// The same result with the CPU time spent on it.
    pub fn with_cpu_s(self, cpu_s: Option<f64>) -> Self {
        Self { cpu_s, ..self }
    }
}

/// Corpus totals of one system. WER and CER are total edits over total reference length (not
/// a mean of per-clip rates); RTF is total time over total audio.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub clips: usize,
    pub audio_s: f64,
    pub total_s: f64,
    /// Summed per-clip CPU time, when every clip has one.
    pub cpu_s: Option<f64>,
    pub rtf: f64,
    pub wer: f64,
    pub cer: f64,
    pub words: EditCounts,
    pub chars: EditCounts,
    /// This system's total time over Skriva's (> 1: Skriva is faster).
    pub time_ratio_vs_skriva: Option<f64>,
}

/// One system (Skriva, or the peer with one compute type) over the whole corpus.
#[derive(Debug, Clone, Serialize)]
pub struct SystemResult {
    /// `skriva` or `faster-whisper`.
    pub system: String,
    /// Weight/compute type: `f16` (ggml), `int8`, `float32`, …
    pub compute: String,
    pub version: String,
    pub load_s: f64,
    /// Peak resident memory of the process that ran it, model load included.
    pub peak_mb: Option<f64>,
    /// CPU used by other processes during this system's run, in cores (see
    /// [`LoadProbe`](crate::host::LoadProbe)); above [`BUSY_CORES`] the timings are suspect.
    pub others_cores: Option<f64>,
    pub summary: Summary,
    pub clips: Vec<ClipResult>,
}

impl SystemResult {
    pub fn new(
        system: &str,
        compute: &str,
        version: &str,
        load_s: f64,
        peak_mb: Option<f64>,
        clips: Vec<ClipResult>,
    ) -> Self {
        let words: EditCounts = clips.iter().map(|c| c.words).sum();
        let chars: EditCounts = clips.iter().map(|c| c.chars).sum();
        let audio_s = clips.iter().map(|c| c.duration_s).sum();
        let total_s = clips.iter().map(|c| c.seconds).sum();
        let cpu_s = clips.iter().map(|c| c.cpu_s).sum();
        Self {
            system: system.to_string(),
            compute: compute.to_string(),
            version: version.to_string(),
            load_s,
            peak_mb,
            others_cores: None,
            summary: Summary {
                clips: clips.len(),
                audio_s,
                total_s,
                cpu_s,
                rtf: ratio(total_s, audio_s),
                wer: words.rate(),
                cer: chars.rate(),
                words,
                chars,
                time_ratio_vs_skriva: None,
            },
            clips,
        }
    }

    /// `skriva`, `faster-whisper int8`: the name used in per-clip columns.
    pub fn label(&self) -> String {
        if self.system == SKRIVA {
            self.system.clone()
        } else {
            format!("{} {}", self.system, self.compute)
        }
    }
}

/// The settings both sides ran with.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub model: PathBuf,
    pub vad_model: PathBuf,
    pub ct2_dir: Option<PathBuf>,
    pub language: String,
    pub beam_size: usize,
    pub best_of: usize,
    pub temperatures: Vec<f32>,
    pub threads: usize,
    pub warmup: bool,
}

/// A whole `wer` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub benchmark: &'static str,
    pub unix_time: u64,
    pub corpus: PathBuf,
    pub host: Host,
    pub settings: Settings,
    pub systems: Vec<SystemResult>,
}

impl Report {
    pub fn new(corpus: PathBuf, host: Host, settings: Settings) -> Self {
        Self {
            benchmark: "wer",
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            corpus,
            host,
            settings,
            systems: Vec::new(),
        }
    }

    /// Adds a system and updates every time ratio against Skriva.
    pub fn push(&mut self, system: SystemResult) {
        self.systems.push(system);
        let skriva_s = self.skriva().map(|s| s.summary.total_s);
        for s in &mut self.systems {
            s.summary.time_ratio_vs_skriva = skriva_s.map(|base| ratio(s.summary.total_s, base));
        }
    }

    pub fn skriva(&self) -> Option<&SystemResult> {
        self.systems.iter().find(|s| s.system == SKRIVA)
    }

    /// The summary table, one row per system.
    pub fn summary_markdown(&self) -> String {
        let mut md = String::new();
        let first = self.systems.first().map(|s| &s.summary);
        let _ = writeln!(
            md,
            "WER benchmark: {} clips, {:.1} s of audio, {}; {} threads, beam {}, language {}; CPU: {}\n",
            first.map_or(0, |s| s.clips),
            first.map_or(0.0, |s| s.audio_s),
            self.corpus.display(),
            self.settings.threads,
            self.settings.beam_size,
            self.settings.language,
            self.host.cpu.as_deref().unwrap_or("unknown"),
        );
        md.push_str(
            "| system | compute | WER | CER | RTF | total s | CPU s | time ratio vs Skriva | peak MB |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for s in &self.systems {
            let m = &s.summary;
            let _ = writeln!(
                md,
                "| {} {} | {} | {} | {} | {:.3} | {:.2} | {} | {} | {} |",
                s.system,
                s.version,
                s.compute,
                percent(m.wer),
                percent(m.cer),
                m.rtf,
                m.total_s,
                m.cpu_s
                    .map_or_else(|| "–".to_string(), |s| format!("{s:.2}")),
                m.time_ratio_vs_skriva
                    .map_or_else(|| "–".to_string(), |r| format!("{r:.2}")),
                s.peak_mb
                    .map_or_else(|| "–".to_string(), |mb| format!("{mb:.0}")),
            );
        }
        for s in &self.systems {
            if let Some(cores) = s.others_cores.filter(|c| *c > BUSY_CORES) {
                let _ = writeln!(
                    md,
                    "\nWarning: other processes used {cores:.1} of {} cores during the {} run; \
                     its times are inflated (compare CPU s, or rerun on an idle machine).",
                    self.host.logical_cpus,
                    s.label()
                );
            }
        }
        md
    }

    /// One row per clip: its length, then WER and seconds for every system side by side.
    pub fn per_clip_markdown(&self) -> String {
        let mut md = String::from("| clip | audio s |");
        let mut rule = String::from("|---|---:|");
        for s in &self.systems {
            let _ = write!(md, " WER {0} | s {0} |", s.label());
            rule.push_str("---:|---:|");
        }
        md.push('\n');
        md.push_str(&rule);
        md.push('\n');
        let Some(first) = self.systems.first() else {
            return md;
        };
        for (i, clip) in first.clips.iter().enumerate() {
            let _ = write!(md, "| {} | {:.1} |", clip.id, clip.duration_s);
            for s in &self.systems {
                match s.clips.get(i) {
                    Some(c) => {
                        let _ = write!(md, " {} | {:.2} |", percent(c.wer), c.seconds);
                    }
                    None => md.push_str(" – | – |"),
                }
            }
            md.push('\n');
        }
        md
    }

    /// The Markdown document written next to the JSON.
    pub fn markdown(&self, per_clip: bool) -> String {
        let mut md = self.summary_markdown();
        if per_clip {
            md.push('\n');
            md.push_str(&self.per_clip_markdown());
        }
        md
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            model: "m.bin".into(),
            vad_model: "vad.bin".into(),
            ct2_dir: None,
            language: "sv".into(),
            beam_size: 1,
            best_of: 2,
            temperatures: vec![0.0, 0.4, 0.8],
            threads: 2,
            warmup: true,
        }
    }

    fn system(name: &str, compute: &str, seconds: [f64; 2]) -> SystemResult {
        let clips = vec![
            ClipResult::score(
                "a.wav",
                4.0,
                "ett två tre fyra",
                "ett två tre fem",
                seconds[0],
            ),
            ClipResult::score("b.wav", 6.0, "hej", "hej", seconds[1]),
        ];
        SystemResult::new(name, compute, "1", 0.1, Some(100.0), clips)
    }

    #[test]
    fn totals_ratios_and_tables() {
        let host = Host {
            cpu: Some("Test CPU".into()),
            logical_cpus: 2,
            os: "linux".into(),
        };
        let mut r = Report::new("c.tsv".into(), host, settings());
        r.push(system(SKRIVA, "f16", [1.0, 1.0]));
        r.push(system("faster-whisper", "int8", [2.0, 3.0]));
        let s = &r.systems[0].summary;
        assert_eq!(s.clips, 2);
        assert!((s.wer - 0.2).abs() < 1e-12, "1 error in 5 words");
        assert!((s.rtf - 0.2).abs() < 1e-12, "2 s for 10 s of audio");
        assert_eq!(s.time_ratio_vs_skriva, Some(1.0));
        assert_eq!(r.systems[1].summary.time_ratio_vs_skriva, Some(2.5));

        let md = r.summary_markdown();
        assert!(md.contains("| skriva 1 | f16 | 20.0 % |"), "{md}");
        assert!(md.contains("| 5.00 | – | 2.50 | 100 |"), "{md}");
        assert!(!md.contains("Warning"));
        r.systems[1].others_cores = Some(1.5);
        assert!(r
            .summary_markdown()
            .contains("used 1.5 of 2 cores during the faster-whisper int8 run"));
        let per_clip = r.per_clip_markdown();
        assert!(per_clip.contains("WER skriva | s skriva | WER faster-whisper int8 |"));
        assert!(
            per_clip.contains("| a.wav | 4.0 | 25.0 % | 1.00 | 25.0 % | 2.00 |"),
            "{per_clip}"
        );
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["systems"][1]["clips"][0]["words"]["substitutions"], 1);
    }

    #[test]
    fn ratio_without_skriva_is_absent() {
        let host = Host {
            cpu: None,
            logical_cpus: 1,
            os: "linux".into(),
        };
        let mut r = Report::new("c.tsv".into(), host, settings());
        r.push(system("faster-whisper", "int8", [1.0, 1.0]));
        assert_eq!(r.systems[0].summary.time_ratio_vs_skriva, None);
        assert!(r.summary_markdown().contains("| – |"));
    }
}
