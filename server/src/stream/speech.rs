//! Live recognition behind the [`SpeechStream`] trait: raw PCM in, partial, stable and final
//! text out. [`UtteranceStream`] implements it over the engine's whole-clip `Recognizer`: audio is
//! cut into utterances at pauses found by the VAD and each utterance is decoded once, when final.
//! When `skriva_engine::stream::LiveStream` lands, it becomes a second implementation here.

use std::sync::Arc;

use skriva_engine::audio::{Pcm16k, StreamResampler, SAMPLE_RATE};
use skriva_engine::recognize::{DecodeOptions, Recognizer, Segment, SpeechRegion, Word};

use crate::store::{AudioFormat, Encoding};
use crate::Result;

/// What a live stream reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeechEvent {
    /// The current guess for the open utterance; may change.
    Partial { text: String, start: f64, end: f64 },
    /// Words of the open utterance that two successive decodes agreed on; they are unlikely to
    /// change, but only `Final` is committed.
    Stable { words: Vec<Word>, text: String },
    /// A finished utterance; never revised.
    Final(Segment),
    /// The decoder is this far behind the audio.
    Backpressure { behind_s: f32 },
}

/// A recognizer fed incrementally. `decode_step` and `finish` are expensive (run them on the
/// blocking pool); everything else is cheap.
pub trait SpeechStream: Send + std::fmt::Debug {
    /// Appends raw PCM in the stream's format.
    fn push_bytes(&mut self, bytes: &[u8]) -> Result<()>;
    /// True when enough new audio arrived for `decode_step` to do work.
    fn needs_decode(&self) -> bool;
    /// Decodes what arrived since the last step.
    fn decode_step(&mut self) -> Result<Vec<SpeechEvent>>;
    /// Ends the stream, making everything left final.
    fn finish(&mut self) -> Result<Vec<SpeechEvent>>;
    /// Seconds of audio received.
    fn audio_seconds(&self) -> f64;
    /// Seconds of audio received but not yet examined by a decode step.
    fn backlog_seconds(&self) -> f64;
}

/// Tunables of [`UtteranceStream`].
#[derive(Debug, Clone)]
pub struct UtteranceParams {
    pub format: AudioFormat,
    pub end_silence_ms: u32,
    pub redecode_every_ms: u32,
    pub max_buffer_s: f32,
    /// Decode the open utterance for partials (see [`crate::StreamingConfig::partials`]).
    pub partials: bool,
    pub decode: DecodeOptions,
}

/// Leading audio kept when silence is dropped, so a word starting there is not clipped.
const KEEP_BEFORE_SPEECH_S: f64 = 0.5;
/// Trailing silence kept at the end of a final utterance.
const TAIL_PAD_S: f64 = 0.2;
/// Shortest open utterance worth a partial decode.
const MIN_PARTIAL_S: f64 = 1.0;

/// Utterance-at-a-time streaming over the engine's batch recognizer.
///
/// Final text depends only on the audio, never on when decode steps ran: endpoints are checked at
/// fixed audio positions (every `redecode_every_ms`), each check sees exactly the audio up to its
/// position, and an utterance is decoded exactly once. So a stream that was interrupted, resumed
/// or rebuilt from disk after a crash yields the same finals as one that ran straight through.
#[derive(Debug)]
pub struct UtteranceStream {
    recognizer: Arc<Recognizer>,
    params: UtteranceParams,
    resampler: StreamResampler,
    /// Bytes of an incomplete sample frame carried to the next push.
    leftover: Vec<u8>,
    /// 16 kHz mono audio from absolute sample `base` on.
    samples: Vec<f32>,
    base: usize,
    /// Audio before this absolute sample is final (or was silence).
    committed: usize,
    /// Absolute sample position of the next endpoint check.
    next_check: usize,
    /// Whether the last check saw speech in the open utterance.
    open_has_speech: bool,
    /// Words of the open utterance already reported as stable, and the previous partial's words.
    stable_words: usize,
    previous_partial: Vec<String>,
    finished: bool,
}

impl UtteranceStream {
    pub fn new(recognizer: Arc<Recognizer>, params: UtteranceParams) -> Result<Self> {
        let resampler = StreamResampler::new(params.format.sample_rate, params.format.channels)?;
        let step = step_samples(&params);
        Ok(Self {
            recognizer,
            params,
            resampler,
            leftover: Vec::new(),
            samples: Vec::new(),
            base: 0,
            committed: 0,
            next_check: step,
            open_has_speech: false,
            stable_words: 0,
            previous_partial: Vec::new(),
            finished: false,
        })
    }

    fn total(&self) -> usize {
        self.base + self.samples.len()
    }

    fn slice(&self, from: usize, to: usize) -> &[f32] {
        let from = from.saturating_sub(self.base).min(self.samples.len());
        let to = to.saturating_sub(self.base).clamp(from, self.samples.len());
        &self.samples[from..to]
    }

    fn speech_regions(&self, window: &[f32]) -> Result<Vec<SpeechRegion>> {
        match self.recognizer.vad() {
            Some(vad) => Ok(vad.speech_regions(window)?),
            // Without a VAD everything is speech and utterances end only at `max_buffer_s`.
            None => Ok(vec![SpeechRegion {
                start: 0.0,
                end: window.len() as f64 / f64::from(SAMPLE_RATE),
            }]),
        }
    }

    /// Checks for an utterance end in the audio up to `pos`; returns finals when one ended.
    fn check_endpoint(&mut self, pos: usize, events: &mut Vec<SpeechEvent>) -> Result<()> {
        let window = self.slice(self.committed, pos);
        let window_s = window.len() as f64 / f64::from(SAMPLE_RATE);
        if window_s < KEEP_BEFORE_SPEECH_S {
            return Ok(());
        }
        let regions = self.speech_regions(window)?;
        let end_silence_s = f64::from(self.params.end_silence_ms) / 1000.0;
        let Some(last) = regions.last().copied() else {
            // Only silence: drop it, keeping a little in case speech starts right at `pos`.
            self.open_has_speech = false;
            self.advance(pos.saturating_sub(seconds_to_samples(KEEP_BEFORE_SPEECH_S)));
            return Ok(());
        };
        self.open_has_speech = true;
        let silence_after = window_s - last.end;
        let cut_s = if silence_after >= end_silence_s {
            Some(last.end + TAIL_PAD_S.min(silence_after / 2.0))
        } else if window_s >= f64::from(self.params.max_buffer_s) {
            // Too long without a long pause: cut in the last short pause, or hard at `pos`.
            Some(match regions.len() {
                n if n >= 2 => (regions[n - 2].end + regions[n - 1].start) / 2.0,
                _ => window_s,
            })
        } else {
            None
        };
        if let Some(cut_s) = cut_s {
            let cut = (self.committed + seconds_to_samples(cut_s)).min(pos);
            self.finalize(cut, events)?;
        }
        Ok(())
    }

    /// Decodes `[committed, cut)` once, emits its segments as finals and moves past it.
    fn finalize(&mut self, cut: usize, events: &mut Vec<SpeechEvent>) -> Result<()> {
        let offset = self.committed as f64 / f64::from(SAMPLE_RATE);
        let pcm = Pcm16k {
            samples: self.slice(self.committed, cut).to_vec(),
        };
        if !pcm.samples.is_empty() {
            let segments = self
                .recognizer
                .transcribe(&pcm, &self.params.decode, None)?;
            events.extend(
                segments
                    .into_iter()
                    .map(|s| SpeechEvent::Final(shift_segment(s, offset))),
            );
        }
        self.open_has_speech = false;
        self.advance(cut);
        Ok(())
    }

    fn advance(&mut self, to: usize) {
        if to <= self.committed {
            return;
        }
        self.committed = to;
        let drop = to.saturating_sub(self.base).min(self.samples.len());
        self.samples.drain(..drop);
        self.base += drop;
        self.stable_words = 0;
        self.previous_partial.clear();
    }

    /// Decodes the open utterance for a partial, and reports words two partials agree on.
    fn partial(&mut self, events: &mut Vec<SpeechEvent>) -> Result<()> {
        let pcm = Pcm16k {
            samples: self.slice(self.committed, self.total()).to_vec(),
        };
        if !self.open_has_speech || pcm.duration_s() < MIN_PARTIAL_S {
            return Ok(());
        }
        let offset = self.committed as f64 / f64::from(SAMPLE_RATE);
        let segments = self
            .recognizer
            .transcribe(&pcm, &self.params.decode, None)?;
        let words: Vec<Word> = segments
            .iter()
            .flat_map(|s| s.words.iter().cloned())
            .map(|w| Word {
                start: w.start + offset,
                end: w.end + offset,
                ..w
            })
            .collect();
        let Some((first, last)) = words.first().zip(words.last()) else {
            return Ok(());
        };
        events.push(SpeechEvent::Partial {
            text: join_words(&words),
            start: first.start,
            end: last.end,
        });
        let texts: Vec<String> = words.iter().map(|w| w.word.clone()).collect();
        let agreed = texts
            .iter()
            .zip(&self.previous_partial)
            .take_while(|(a, b)| a == b)
            .count();
        if agreed > self.stable_words {
            let newly = words[self.stable_words..agreed].to_vec();
            events.push(SpeechEvent::Stable {
                text: join_words(&newly),
                words: newly,
            });
            self.stable_words = agreed;
        }
        self.previous_partial = texts;
        Ok(())
    }

    /// Runs the endpoint checks due; returns how many ran.
    fn run_checks(&mut self, events: &mut Vec<SpeechEvent>) -> Result<usize> {
        let step = step_samples(&self.params);
        let mut checks = 0;
        while self.next_check <= self.total() {
            let pos = self.next_check;
            self.next_check += step;
            self.check_endpoint(pos, events)?;
            checks += 1;
        }
        Ok(checks)
    }
}

impl SpeechStream for UtteranceStream {
    fn push_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let width = self.params.format.encoding.bytes_per_sample();
        self.leftover.extend_from_slice(bytes);
        let usable = self.leftover.len() - self.leftover.len() % width;
        let interleaved: Vec<f32> = self.leftover[..usable]
            .chunks_exact(width)
            .map(|b| decode_sample(self.params.format.encoding, b))
            .collect();
        self.leftover.drain(..usable);
        // The resampler downmixes whole frames; an odd sample count would misalign channels,
        // which frame validation upstream rules out.
        let mut out = Vec::with_capacity(interleaved.len());
        self.resampler.push(&interleaved, &mut out)?;
        self.samples.extend_from_slice(&out);
        Ok(())
    }

    fn needs_decode(&self) -> bool {
        !self.finished && self.next_check <= self.total()
    }

    fn decode_step(&mut self) -> Result<Vec<SpeechEvent>> {
        let mut events = Vec::new();
        let checks = self.run_checks(&mut events)?;
        // A partial costs a whole decode: skip it when this step already decoded a final or
        // is catching up on a backlog; the next step's audio would supersede it anyway.
        let caught_up = checks <= 2 && !events.iter().any(|e| matches!(e, SpeechEvent::Final(_)));
        if self.params.partials && caught_up {
            self.partial(&mut events)?;
        }
        Ok(events)
    }

    fn finish(&mut self) -> Result<Vec<SpeechEvent>> {
        let mut events = Vec::new();
        if self.finished {
            return Ok(events);
        }
        let mut tail = Vec::new();
        self.resampler.finish(&mut tail)?;
        self.samples.extend_from_slice(&tail);
        self.run_checks(&mut events)?;
        let rest = self.slice(self.committed, self.total());
        if !self.speech_regions(rest)?.is_empty() {
            self.finalize(self.total(), &mut events)?;
        }
        self.finished = true;
        Ok(events)
    }

    fn audio_seconds(&self) -> f64 {
        self.total() as f64 / f64::from(SAMPLE_RATE)
    }

    fn backlog_seconds(&self) -> f64 {
        let examined = self.next_check.saturating_sub(step_samples(&self.params));
        self.total().saturating_sub(examined) as f64 / f64::from(SAMPLE_RATE)
    }
}

fn step_samples(params: &UtteranceParams) -> usize {
    (params.redecode_every_ms.max(100) as usize) * SAMPLE_RATE as usize / 1000
}

fn seconds_to_samples(s: f64) -> usize {
    (s.max(0.0) * f64::from(SAMPLE_RATE)).round() as usize
}

fn decode_sample(encoding: Encoding, bytes: &[u8]) -> f32 {
    match encoding {
        Encoding::PcmS16le => f32::from(i16::from_le_bytes([bytes[0], bytes[1]])) / 32768.0,
        Encoding::PcmF32le => {
            let v = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            if v.is_finite() {
                v.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        }
    }
}

fn shift_segment(segment: Segment, offset: f64) -> Segment {
    Segment {
        start: segment.start + offset,
        end: segment.end + offset,
        words: segment
            .words
            .into_iter()
            .map(|w| Word {
                start: w.start + offset,
                end: w.end + offset,
                ..w
            })
            .collect(),
        ..segment
    }
}

fn join_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.word.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_decode_and_clamp() {
        assert_eq!(
            decode_sample(Encoding::PcmS16le, &i16::MIN.to_le_bytes()),
            -1.0
        );
        assert_eq!(decode_sample(Encoding::PcmS16le, &0i16.to_le_bytes()), 0.0);
        assert_eq!(
            decode_sample(Encoding::PcmF32le, &f32::NAN.to_le_bytes()),
            0.0
        );
        assert_eq!(
            decode_sample(Encoding::PcmF32le, &2.0f32.to_le_bytes()),
            1.0
        );
    }

    #[test]
    fn segments_shift_with_their_words() {
        let s = Segment {
            start: 1.0,
            end: 2.0,
            text: "hej".into(),
            words: vec![Word {
                word: "hej".into(),
                start: 1.0,
                end: 2.0,
                p: 0.9,
            }],
        };
        let shifted = shift_segment(s, 10.0);
        assert_eq!((shifted.start, shifted.end), (11.0, 12.0));
        assert_eq!(shifted.words[0].start, 11.0);
    }
}
