//! Voice-activity gating with whisper.cpp's Silero VAD: finds the speech regions of a clip and
//! packs them into one shorter buffer for the recognizer, remembering how to map times in the
//! packed buffer back to the original audio. Silence and noise never reach the recognizer.

use std::path::Path;
use std::sync::Mutex;

use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

use crate::audio::SAMPLE_RATE;
use crate::{Error, Result};

/// Silence inserted between packed speech regions, so the recognizer hears a pause.
const GAP_S: f64 = 0.3;

/// Tunables for speech detection.
#[derive(Debug, Clone, PartialEq)]
pub struct VadSettings {
    /// Speech probability above which a frame counts as speech.
    pub threshold: f32,
    /// Shorter bursts are ignored (clicks, coughs).
    pub min_speech_ms: i32,
    /// Pauses shorter than this do not split a region.
    pub min_silence_ms: i32,
    /// Padding kept on each side of a region so word edges are not clipped.
    pub pad_ms: i32,
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            min_speech_ms: 250,
            min_silence_ms: 300,
            pad_ms: 200,
        }
    }
}

/// A speech region, in seconds of the original audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechRegion {
    pub start: f64,
    pub end: f64,
}

/// Speech detector holding a loaded Silero model.
#[derive(Debug)]
pub struct Vad {
    ctx: Mutex<WhisperVadContext>,
    settings: VadSettings,
}

impl Vad {
    /// Loads a ggml Silero VAD model.
    pub fn load(path: &Path, settings: VadSettings) -> Result<Self> {
        let path_str = path.to_str().ok_or_else(|| Error::Model {
            path: path.to_path_buf(),
            reason: "path is not UTF-8".into(),
        })?;
        if !path.is_file() {
            return Err(Error::Model {
                path: path.to_path_buf(),
                reason: "VAD model not found (run `skriva model fetch`)".into(),
            });
        }
        let mut params = WhisperVadContextParams::new();
        // The per-window network is tiny: with more than one thread ggml's workers spin at every
        // step and detection gets ~100x slower on a loaded machine.
        params.set_n_threads(1);
        params.set_use_gpu(false);
        let ctx = WhisperVadContext::new(path_str, params).map_err(|e| Error::Model {
            path: path.to_path_buf(),
            reason: format!("not a Silero VAD ggml model ({e})"),
        })?;
        Ok(Self {
            ctx: Mutex::new(ctx),
            settings,
        })
    }

    /// The settings regions are detected with (callers that reason about pause lengths need
    /// the padding and minimum silence).
    pub fn settings(&self) -> &VadSettings {
        &self.settings
    }

    /// Speech regions of a 16 kHz mono clip, in order.
    pub fn speech_regions(&self, samples: &[f32]) -> Result<Vec<SpeechRegion>> {
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = WhisperVadParams::new();
        params.set_threshold(self.settings.threshold);
        params.set_min_speech_duration(self.settings.min_speech_ms);
        params.set_min_silence_duration(self.settings.min_silence_ms);
        params.set_speech_pad(self.settings.pad_ms);
        let mut ctx = self
            .ctx
            .lock()
            .map_err(|_| Error::Whisper("VAD context poisoned by an earlier panic".into()))?;
        let segments = ctx
            .segments_from_samples(params, samples)
            .map_err(|e| Error::Whisper(format!("voice-activity detection failed: {e}")))?;
        let duration = samples.len() as f64 / f64::from(SAMPLE_RATE);
        let mut regions = Vec::new();
        for i in 0..segments.num_segments() {
            let (Some(t0), Some(t1)) = (
                segments.get_segment_start_timestamp(i),
                segments.get_segment_end_timestamp(i),
            ) else {
                continue;
            };
            // whisper.cpp reports centiseconds.
            let start = (f64::from(t0) / 100.0).clamp(0.0, duration);
            let end = (f64::from(t1) / 100.0).clamp(0.0, duration);
            if end > start {
                regions.push(SpeechRegion { start, end });
            }
        }
        Ok(regions)
    }
}

/// Consecutive `regions` grouped so that each group spans at most `max_s` seconds of speech
/// (pauses between regions not counted). A region longer than `max_s` is a group of its own.
pub fn group_regions(regions: &[SpeechRegion], max_s: f64) -> Vec<Vec<SpeechRegion>> {
    let mut groups: Vec<Vec<SpeechRegion>> = Vec::new();
    let mut length = 0.0;
    for region in regions {
        let len = region.end - region.start;
        match groups.last_mut() {
            Some(group) if length + len <= max_s => {
                group.push(*region);
                length += len;
            }
            _ => {
                groups.push(vec![*region]);
                length = len;
            }
        }
    }
    groups
}

/// Speech regions packed into one buffer, with the map back to original time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackedSpeech {
    pub samples: Vec<f32>,
    /// (packed start s, original start s, length s) for each region.
    spans: Vec<(f64, f64, f64)>,
}

impl PackedSpeech {
    /// Packs `regions` of `samples` with a short silence between them.
    pub fn pack(samples: &[f32], regions: &[SpeechRegion]) -> Self {
        let rate = f64::from(SAMPLE_RATE);
        let gap = vec![0.0f32; (GAP_S * rate) as usize];
        let mut packed = Self::default();
        for region in regions {
            let a = ((region.start * rate) as usize).min(samples.len());
            let b = ((region.end * rate) as usize).min(samples.len());
            if b <= a {
                continue;
            }
            if !packed.samples.is_empty() {
                packed.samples.extend_from_slice(&gap);
            }
            let packed_start = packed.samples.len() as f64 / rate;
            packed.samples.extend_from_slice(&samples[a..b]);
            packed
                .spans
                .push((packed_start, a as f64 / rate, (b - a) as f64 / rate));
        }
        packed
    }

    /// The whole clip as one region (used when no VAD model is configured).
    pub fn whole(samples: &[f32]) -> Self {
        let len = samples.len() as f64 / f64::from(SAMPLE_RATE);
        Self {
            samples: samples.to_vec(),
            spans: vec![(0.0, 0.0, len)],
        }
    }

    /// Maps a time in the packed buffer to the original audio. Times in a gap snap to the
    /// nearest region edge.
    pub fn to_original(&self, t: f64) -> f64 {
        let mut best = t;
        for &(packed_start, orig_start, len) in &self.spans {
            if t < packed_start {
                // In the gap before this region: snap to its start.
                return best.min(orig_start);
            }
            best = orig_start + (t - packed_start).min(len);
        }
        best
    }

    /// Maps a packed span to the original audio. A span cannot bridge two regions: the
    /// recognizer often starts the first token after a pause at the end of the previous one,
    /// so a span that crosses a gap is cut to the region where it ends.
    pub fn span_to_original(&self, t0: f64, t1: f64) -> (f64, f64) {
        let t1 = t1.max(t0);
        let region_start = self
            .spans
            .iter()
            .rev()
            .find(|&&(packed_start, _, _)| packed_start <= t1)
            .map_or(0.0, |&(packed_start, _, _)| packed_start);
        let t0 = if t0 < region_start { region_start } else { t0 };
        (self.to_original(t0), self.to_original(t1))
    }

    /// True when there is no speech at all.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech at 1–3 s and 20–22 s of a 30 s clip, packed.
    fn two_regions() -> PackedSpeech {
        let samples = vec![0.1f32; 16_000 * 30];
        let regions = [
            SpeechRegion {
                start: 1.0,
                end: 3.0,
            },
            SpeechRegion {
                start: 20.0,
                end: 22.0,
            },
        ];
        PackedSpeech::pack(&samples, &regions)
    }

    #[test]
    fn packing_maps_times_back() {
        let packed = two_regions();
        assert_eq!(
            packed.samples.len(),
            16_000 * 4 + (GAP_S * 16_000.0) as usize
        );
        assert!((packed.to_original(0.5) - 1.5).abs() < 1e-9);
        let second_start = 2.0 + GAP_S;
        assert!((packed.to_original(second_start + 1.0) - 21.0).abs() < 1e-9);
        // Inside the gap: snapped to the end of the first region.
        assert!((packed.to_original(2.1) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn spans_do_not_bridge_a_gap() {
        let packed = two_regions();
        // From the end of the first region to inside the second.
        let (a, b) = packed.span_to_original(1.9, 2.0 + GAP_S + 0.5);
        assert!(
            (a - 20.0).abs() < 1e-9 && (b - 20.5).abs() < 1e-9,
            "{a} {b}"
        );
        let (a, b) = packed.span_to_original(0.5, 1.0);
        assert!((a - 1.5).abs() < 1e-9 && (b - 2.0).abs() < 1e-9);
    }

    #[test]
    fn whole_is_identity() {
        let packed = PackedSpeech::whole(&[0.0; 32_000]);
        assert!((packed.to_original(1.25) - 1.25).abs() < 1e-9);
    }

    #[test]
    fn regions_are_grouped_up_to_the_chunk_length_in_order() {
        let region = |start: f64, end: f64| SpeechRegion { start, end };
        // 4 s, 5 s, 3 s, 12 s (longer than a chunk), 2 s of speech.
        let regions = [
            region(0.0, 4.0),
            region(4.5, 9.5),
            region(10.0, 13.0),
            region(20.0, 32.0),
            region(33.0, 35.0),
        ];
        let groups = group_regions(&regions, 10.0);
        let lengths: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(lengths, vec![2, 1, 1, 1]);
        // Nothing dropped, nothing reordered.
        let flat: Vec<SpeechRegion> = groups.into_iter().flatten().collect();
        assert_eq!(flat, regions.to_vec());
        assert!(group_regions(&[], 10.0).is_empty());
    }
}
