//! Live audio input: raw frames of any supported rate, channel count and sample encoding,
//! converted and resampled to 16 kHz mono as they arrive. Nothing is held beyond the
//! resampler's one-chunk buffer, so a chunk that is rejected leaves no trace.

use crate::audio::StreamResampler;
use crate::{Error, Result};

/// How raw bytes given to [`super::LiveStream::push_bytes`] encode samples. Samples of all
/// channels are interleaved frame by frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SampleEncoding {
    /// Signed 16-bit little-endian integers.
    #[default]
    PcmS16le,
    /// 32-bit little-endian IEEE floats in [-1, 1].
    PcmF32le,
}

impl SampleEncoding {
    /// Bytes per sample of one channel.
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            SampleEncoding::PcmS16le => 2,
            SampleEncoding::PcmF32le => 4,
        }
    }
}

/// Converts and resamples incoming frames to 16 kHz mono.
#[derive(Debug)]
pub(crate) struct AudioInput {
    resampler: StreamResampler,
    channels: usize,
    encoding: SampleEncoding,
    /// Reused conversion buffer, so steady-state pushes do not allocate for it.
    converted: Vec<f32>,
}

impl AudioInput {
    pub(crate) fn new(sample_rate: u32, channels: usize, encoding: SampleEncoding) -> Result<Self> {
        Ok(Self {
            resampler: StreamResampler::new(sample_rate, channels)?,
            channels,
            encoding,
            converted: Vec::new(),
        })
    }

    /// Bytes in one frame (one sample of every channel).
    pub(crate) fn frame_bytes(&self) -> usize {
        self.encoding.bytes_per_sample() * self.channels
    }

    /// Decodes whole frames of raw bytes and appends the 16 kHz mono result to `out`. A chunk
    /// that is not a whole number of frames is refused before anything is consumed.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8], out: &mut Vec<f32>) -> Result<()> {
        let frame = self.frame_bytes();
        if bytes.len() % frame != 0 {
            return Err(Error::Invalid(format!(
                "audio chunk of {} bytes is not a whole number of {frame}-byte frames \
                 ({} channel(s) of {:?}); the chunk was refused, earlier audio is kept",
                bytes.len(),
                self.channels,
                self.encoding
            )));
        }
        self.converted.clear();
        match self.encoding {
            SampleEncoding::PcmS16le => self.converted.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0),
            ),
            SampleEncoding::PcmF32le => self.converted.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| finite_or_silence(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            ),
        }
        self.resampler.push(&self.converted, out)
    }

    /// Appends interleaved float frames (already in [-1, 1]); same whole-frame rule as bytes.
    pub(crate) fn push_f32(&mut self, samples: &[f32], out: &mut Vec<f32>) -> Result<()> {
        if samples.len() % self.channels != 0 {
            return Err(Error::Invalid(format!(
                "{} samples is not a whole number of {}-channel frames; the chunk was refused, \
                 earlier audio is kept",
                samples.len(),
                self.channels
            )));
        }
        if samples.iter().all(|s| s.is_finite()) {
            return self.resampler.push(samples, out);
        }
        self.converted.clear();
        self.converted
            .extend(samples.iter().copied().map(finite_or_silence));
        self.resampler.push(&self.converted, out)
    }

    /// Flushes the resampler at the end of the stream.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        self.resampler.finish(out)
    }
}

/// NaN or infinite samples (a broken client) would poison every later computation.
fn finite_or_silence(sample: f32) -> f32 {
    if sample.is_finite() {
        sample
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s16le_stereo_converts_and_downmixes() {
        let mut input = AudioInput::new(16_000, 2, SampleEncoding::PcmS16le).expect("input");
        let mut out = Vec::new();
        let bytes: Vec<u8> = [16_384i16, 0, -32_768, -32_768]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        input.push_bytes(&bytes, &mut out).expect("push");
        assert_eq!(out, vec![0.25, -1.0]);
    }

    #[test]
    fn partial_frames_are_refused_without_consuming() {
        let mut input = AudioInput::new(16_000, 2, SampleEncoding::PcmS16le).expect("input");
        let mut out = Vec::new();
        let err = input.push_bytes(&[0u8; 333], &mut out).expect_err("odd");
        assert!(err.to_string().contains("333 bytes"), "{err}");
        assert!(out.is_empty());
        input
            .push_bytes(&[0u8; 332], &mut out)
            .expect("whole frames");
        assert_eq!(out.len(), 83);
        assert!(input.push_f32(&[0.0; 3], &mut out).is_err());
    }

    #[test]
    fn f32le_non_finite_becomes_silence() {
        let mut input = AudioInput::new(16_000, 1, SampleEncoding::PcmF32le).expect("input");
        let mut out = Vec::new();
        let bytes: Vec<u8> = [0.5f32, f32::NAN, f32::INFINITY]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        input.push_bytes(&bytes, &mut out).expect("push");
        assert_eq!(out, vec![0.5, 0.0, 0.0]);
        input
            .push_f32(&[f32::NEG_INFINITY, -0.5], &mut out)
            .expect("push");
        assert_eq!(out[3..], [0.0, -0.5]);
    }

    #[test]
    fn unsupported_layouts_are_refused() {
        assert!(AudioInput::new(16_000, 3, SampleEncoding::PcmS16le).is_err());
        assert!(AudioInput::new(4_000, 1, SampleEncoding::PcmS16le).is_err());
        assert!(AudioInput::new(200_000, 1, SampleEncoding::PcmF32le).is_err());
    }
}
