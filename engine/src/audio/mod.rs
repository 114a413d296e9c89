//! Audio in: decoding files to PCM, downmixing to mono, and resampling to the 16 kHz the
//! recognizer wants. Everything downstream of this module sees only [`Pcm16k`].

mod decode;
mod resample;

pub use decode::{decode_file, DecodedAudio};
pub use resample::{resample_to_16k, StreamResampler};

use std::path::Path;

/// The sample rate every later stage works at.
pub const SAMPLE_RATE: u32 = 16_000;

/// Mono f32 PCM at [`SAMPLE_RATE`], samples in [-1, 1].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pcm16k {
    pub samples: Vec<f32>,
}

impl Pcm16k {
    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(SAMPLE_RATE)
    }
}

/// What [`load_file`] tells about the source besides the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub source_rate: u32,
    pub channels: usize,
    pub codec: String,
}

/// Decodes an audio file, downmixes it to mono and resamples it to 16 kHz.
pub fn load_file(path: &Path) -> crate::Result<(Pcm16k, SourceInfo)> {
    let decoded = decode_file(path)?;
    let info = SourceInfo {
        source_rate: decoded.sample_rate,
        channels: decoded.channels,
        codec: decoded.codec.clone(),
    };
    let samples = resample_to_16k(&decoded.mono, decoded.sample_rate)?;
    Ok((Pcm16k { samples }, info))
}

/// Averages interleaved frames of `channels` channels into one.
pub fn downmix_interleaved(interleaved: &[f32], channels: usize) -> Vec<f32> {
    match channels {
        0 => Vec::new(),
        1 => interleaved.to_vec(),
        n => {
            let scale = 1.0 / n as f32;
            interleaved
                .chunks_exact(n)
                .map(|frame| frame.iter().sum::<f32>() * scale)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        let stereo = [1.0, 0.0, 0.5, 0.5, -1.0, 1.0];
        assert_eq!(downmix_interleaved(&stereo, 2), vec![0.5, 0.5, 0.0]);
        assert_eq!(downmix_interleaved(&stereo, 1), stereo.to_vec());
    }
}
