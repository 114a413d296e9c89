//! Utterance endpointing for live audio: Silero speech regions over the live buffer, read as
//! "where does speech start" and "where is the first pause long enough to end an utterance".
//! The Silero regions carry padding; the pause arithmetic here undoes it.

use crate::audio::SAMPLE_RATE;
use crate::recognize::{SpeechRegion, Vad, VadSettings};
use crate::Result;

/// Times closer than this are the same instant (VAD works in 32 ms windows, reports in 10 ms).
const EPS_S: f64 = 0.005;

/// A pause that ends an utterance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pause {
    /// Where the utterance's audio ends (the padded end of its last speech region).
    pub(crate) speech_end: f64,
    /// Where the next speech region starts, if it is already in the buffer.
    pub(crate) resume: Option<f64>,
}

/// Speech regions of the live buffer, in seconds from the stream start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpeechMap {
    regions: Vec<SpeechRegion>,
    /// End of the analysed audio.
    end: f64,
    /// Padding Silero added on each side of a region.
    pad: f64,
    /// Shortest pause Silero splits regions at.
    min_silence: f64,
}

impl SpeechMap {
    /// Runs the VAD over `samples`, which start `offset` seconds into the stream.
    pub(crate) fn detect(vad: &Vad, samples: &[f32], offset: f64) -> Result<Self> {
        let regions = vad
            .speech_regions(samples)?
            .into_iter()
            .map(|r| SpeechRegion {
                start: r.start + offset,
                end: r.end + offset,
            })
            .collect();
        let end = offset + samples.len() as f64 / f64::from(SAMPLE_RATE);
        Ok(Self::from_regions(regions, end, vad.settings()))
    }

    pub(crate) fn from_regions(regions: Vec<SpeechRegion>, end: f64, vad: &VadSettings) -> Self {
        Self {
            regions,
            end,
            pad: f64::from(vad.pad_ms.max(0)) / 1000.0,
            min_silence: f64::from(vad.min_silence_ms.max(0)) / 1000.0,
        }
    }

    /// Where speech resumes at or after `t`, if it does in the analysed audio.
    pub(crate) fn speech_from(&self, t: f64) -> Option<f64> {
        self.regions
            .iter()
            .find(|r| r.end > t + EPS_S)
            .map(|r| r.start.max(t))
    }

    /// The first pause of at least `min_pause` seconds after `from`, if the analysed audio
    /// already contains one. With no speech at all after `from`, the whole stretch is a pause.
    pub(crate) fn pause_after(&self, from: f64, min_pause: f64) -> Option<Pause> {
        let mut speech = self
            .regions
            .iter()
            .filter(|r| r.end > from + EPS_S)
            .peekable();
        if speech.peek().is_none() {
            return (self.end - from >= min_pause).then_some(Pause {
                speech_end: from,
                resume: None,
            });
        }
        while let Some(region) = speech.next() {
            match speech.peek() {
                Some(next) => {
                    if self.gap_silence(region, next) >= min_pause {
                        return Some(Pause {
                            speech_end: region.end,
                            resume: Some(next.start),
                        });
                    }
                }
                None => {
                    if self.trailing_silence_after(region) >= min_pause {
                        return Some(Pause {
                            speech_end: region.end,
                            resume: None,
                        });
                    }
                }
            }
        }
        None
    }

    /// Silence at the end of the analysed audio after the last speech, in seconds; 0 while
    /// speech goes on (Silero only ends a region after its minimum silence).
    pub(crate) fn trailing_silence(&self) -> f64 {
        self.regions
            .last()
            .map_or(0.0, |last| self.trailing_silence_after(last))
    }

    fn trailing_silence_after(&self, region: &SpeechRegion) -> f64 {
        if region.end >= self.end - EPS_S {
            0.0
        } else {
            // The region's end was padded forward by `pad`.
            self.end - region.end + self.pad
        }
    }

    /// Real silence between two regions. Both sides were padded when the gap allowed; regions
    /// that touch had their gap split between them, so only Silero's minimum is known.
    fn gap_silence(&self, region: &SpeechRegion, next: &SpeechRegion) -> f64 {
        let padded_gap = next.start - region.end;
        if padded_gap > EPS_S {
            padded_gap + 2.0 * self.pad
        } else {
            self.min_silence
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(regions: &[(f64, f64)], end: f64) -> SpeechMap {
        let regions = regions
            .iter()
            .map(|&(start, end)| SpeechRegion { start, end })
            .collect();
        SpeechMap::from_regions(regions, end, &VadSettings::default())
    }

    #[test]
    fn ongoing_speech_has_no_pause() {
        let m = map(&[(1.0, 4.0)], 4.0);
        assert_eq!(m.pause_after(1.0, 0.6), None);
        assert_eq!(m.trailing_silence(), 0.0);
        assert_eq!(m.speech_from(0.0), Some(1.0));
    }

    #[test]
    fn trailing_silence_undoes_padding() {
        // Speech really ended at 3.0; Silero padded it to 3.2.
        let m = map(&[(1.0, 3.2)], 3.5);
        assert!((m.trailing_silence() - 0.5).abs() < 1e-9);
        assert_eq!(m.pause_after(1.0, 0.6), None);
        let m = map(&[(1.0, 3.2)], 3.7);
        assert_eq!(
            m.pause_after(1.0, 0.6),
            Some(Pause {
                speech_end: 3.2,
                resume: None
            })
        );
    }

    #[test]
    fn gaps_between_regions() {
        // Padded gap 0.3 s = real pause 0.7 s: long enough to end an utterance at 0.6 s.
        let m = map(&[(0.0, 2.0), (2.3, 4.0)], 4.0);
        assert_eq!(
            m.pause_after(0.0, 0.6),
            Some(Pause {
                speech_end: 2.0,
                resume: Some(2.3)
            })
        );
        assert_eq!(m.pause_after(0.0, 0.8), None);
        // Touching regions: the pause was between Silero's minimum and twice the padding.
        let m = map(&[(0.0, 2.0), (2.0, 4.0)], 4.0);
        assert_eq!(m.pause_after(0.0, 0.6), None);
        // Regions that ended before `from` belong to an earlier utterance.
        let m = map(&[(0.0, 2.0), (2.3, 4.0)], 5.0);
        assert_eq!(m.pause_after(2.3, 0.6).map(|p| p.speech_end), Some(4.0));
        assert_eq!(m.speech_from(2.1), Some(2.3));
    }

    #[test]
    fn no_speech_after_from_is_one_pause() {
        let m = map(&[], 1.0);
        assert_eq!(m.speech_from(0.0), None);
        assert_eq!(
            m.pause_after(0.2, 0.6),
            Some(Pause {
                speech_end: 0.2,
                resume: None
            })
        );
        assert_eq!(m.pause_after(0.6, 0.6), None);
    }
}
