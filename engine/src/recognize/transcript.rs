//! The recognizer's output types — [`Transcript`], [`Segment`], [`Word`] — and their renderings
//! as plain text, JSON, SRT and WebVTT. These shapes are shared by every later stage.

use serde::{Deserialize, Serialize};

/// One recognized word with its time span (seconds from the start of the audio) and the
/// recognizer's confidence `p` (mean token probability, 0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub word: String,
    pub start: f64,
    pub end: f64,
    pub p: f32,
}

/// A stretch of speech the recognizer decoded as one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub words: Vec<Word>,
}

/// Wall-clock time spent in each stage, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub decode_s: f64,
    pub transcribe_s: f64,
}

/// A whole file's transcription: the JSON document `skriva transcribe --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    pub language: String,
    pub duration_s: f64,
    pub segments: Vec<Segment>,
    pub model: String,
    pub timings: Timings,
}

/// Words joined as text, one space between them.
pub fn join_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.word.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Transcript {
    /// Joins segment texts with single spaces.
    pub fn join_text(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// SubRip subtitles, one cue per segment.
    pub fn to_srt(&self) -> String {
        let mut out = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            out.push_str(&format!(
                "{}\n{} --> {}\n{}\n\n",
                i + 1,
                timestamp(seg.start, ','),
                timestamp(seg.end, ','),
                seg.text.trim()
            ));
        }
        out
    }

    /// WebVTT subtitles, one cue per segment.
    pub fn to_vtt(&self) -> String {
        let mut out = String::from("WEBVTT\n\n");
        for seg in &self.segments {
            out.push_str(&format!(
                "{} --> {}\n{}\n\n",
                timestamp(seg.start, '.'),
                timestamp(seg.end, '.'),
                seg.text.trim()
            ));
        }
        out
    }
}

/// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (VTT).
fn timestamp(seconds: f64, sep: char) -> String {
    let total_ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        Transcript {
            text: "Hej. Då.".into(),
            language: "sv".into(),
            duration_s: 4.0,
            segments: vec![
                Segment {
                    start: 0.0,
                    end: 1.5,
                    text: " Hej.".into(),
                    words: vec![],
                },
                Segment {
                    start: 61.25,
                    end: 3723.5,
                    text: "Då.".into(),
                    words: vec![],
                },
            ],
            model: "m".into(),
            timings: Timings::default(),
        }
    }

    #[test]
    fn srt_and_vtt_timestamps() {
        let t = sample();
        assert_eq!(
            t.to_srt(),
            "1\n00:00:00,000 --> 00:00:01,500\nHej.\n\n2\n00:01:01,250 --> 01:02:03,500\nDå.\n\n"
        );
        assert!(t
            .to_vtt()
            .starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHej.\n"));
    }

    #[test]
    fn json_schema_field_names() {
        let v = serde_json::to_value(sample()).expect("json");
        for key in [
            "text",
            "language",
            "duration_s",
            "segments",
            "model",
            "timings",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert!(v["timings"].get("decode_s").is_some());
        assert!(v["segments"][0].get("words").is_some());
    }
}
