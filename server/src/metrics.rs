//! Prometheus metrics in the text exposition format, hand-written over atomics: open streams,
//! audio seconds, decode time and real-time factor, latency histograms and errors by code.
//! One process-wide registry ([`global`]); `GET /metrics` renders it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// A histogram with fixed upper bounds (seconds).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    total: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, seconds: f64) {
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micros
            .fetch_add((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let total = self.total.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {total}");
    }
}

const LATENCY_BOUNDS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    open_streams: AtomicI64,
    streams_total: AtomicU64,
    audio_micros: AtomicU64,
    decode_micros: AtomicU64,
    finals_total: AtomicU64,
    uploads_total: AtomicU64,
    /// Time one streaming decode step took.
    pub decode_step_seconds: Histogram,
    /// From the end of an utterance's audio arriving to its `final` being committed.
    pub final_latency_seconds: Histogram,
    /// Whole-file transcription time of uploads.
    pub upload_seconds: Histogram,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics {
        open_streams: AtomicI64::new(0),
        streams_total: AtomicU64::new(0),
        audio_micros: AtomicU64::new(0),
        decode_micros: AtomicU64::new(0),
        finals_total: AtomicU64::new(0),
        uploads_total: AtomicU64::new(0),
        decode_step_seconds: Histogram::new(LATENCY_BOUNDS),
        final_latency_seconds: Histogram::new(LATENCY_BOUNDS),
        upload_seconds: Histogram::new(LATENCY_BOUNDS),
        errors: Mutex::new(BTreeMap::new()),
    })
}

impl Metrics {
    pub fn stream_opened(&self) {
        self.open_streams.fetch_add(1, Ordering::Relaxed);
        self.streams_total.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_closed(&self) {
        self.open_streams.fetch_sub(1, Ordering::Relaxed);
    }

    /// Audio seconds recognized (streamed or uploaded) and the decode time they took.
    pub fn add_decoded(&self, audio_s: f64, decode_s: f64) {
        self.audio_micros
            .fetch_add((audio_s.max(0.0) * 1e6) as u64, Ordering::Relaxed);
        self.decode_micros
            .fetch_add((decode_s.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn final_committed(&self) {
        self.finals_total.fetch_add(1, Ordering::Relaxed);
    }

    pub fn upload_transcribed(&self, seconds: f64) {
        self.uploads_total.fetch_add(1, Ordering::Relaxed);
        self.upload_seconds.observe(seconds);
    }

    /// Counts an error answered with `code`.
    pub fn count_error(&self, code: &'static str) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(code).or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, model_ready: bool) -> String {
        let mut out = String::new();
        let audio_s = self.audio_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let decode_s = self.decode_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let rtf = if audio_s > 0.0 {
            decode_s / audio_s
        } else {
            0.0
        };
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "skriva_model_ready",
            "1 when the model is loaded.",
            "gauge",
            u8::from(model_ready).to_string(),
        );
        gauge(
            &mut out,
            "skriva_open_streams",
            "WebSocket streams open now.",
            "gauge",
            self.open_streams.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "skriva_streams_total",
            "WebSocket streams opened.",
            "counter",
            self.streams_total.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "skriva_audio_seconds_total",
            "Seconds of audio recognized.",
            "counter",
            audio_s.to_string(),
        );
        gauge(
            &mut out,
            "skriva_decode_seconds_total",
            "Seconds spent decoding.",
            "counter",
            decode_s.to_string(),
        );
        gauge(
            &mut out,
            "skriva_real_time_factor",
            "Decode time over audio time, since start.",
            "gauge",
            rtf.to_string(),
        );
        gauge(
            &mut out,
            "skriva_finals_total",
            "Final segments committed.",
            "counter",
            self.finals_total.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "skriva_uploads_total",
            "Files transcribed.",
            "counter",
            self.uploads_total.load(Ordering::Relaxed).to_string(),
        );
        self.decode_step_seconds.render(
            &mut out,
            "skriva_decode_step_seconds",
            "Duration of one streaming decode step.",
        );
        self.final_latency_seconds.render(
            &mut out,
            "skriva_final_latency_seconds",
            "From an utterance's audio arriving to its final being committed.",
        );
        self.upload_seconds.render(
            &mut out,
            "skriva_upload_transcribe_seconds",
            "Whole-file transcription time.",
        );
        let _ = writeln!(out, "# HELP skriva_errors_total Errors answered, by code.\n# TYPE skriva_errors_total counter");
        if let Ok(errors) = self.errors.lock() {
            for (code, n) in errors.iter() {
                let _ = writeln!(out, "skriva_errors_total{{code=\"{code}\"}} {n}");
            }
        }
        out
    }
}
