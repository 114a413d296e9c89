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

/// Encodes mono 16-bit PCM as a WAV file (for exporting audio, and for tests that need files).
pub fn encode_wav(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&sample_rate.to_le_bytes());
    bytes.extend_from_slice(&(sample_rate * 2).to_le_bytes()); // byte rate
    bytes.extend_from_slice(&2u16.to_le_bytes()); // block align
    bytes.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_wav_decodes_back() {
        let samples: Vec<i16> = (0..16_000)
            .map(|i| ((i % 200) * 100 - 10_000) as i16)
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.wav");
        std::fs::write(&path, encode_wav(&samples, 16_000)).expect("write");
        let decoded = decode_file(&path).expect("decode");
        assert_eq!(decoded.sample_rate, 16_000);
        assert_eq!(decoded.channels, 1);
        assert_eq!(decoded.mono.len(), samples.len());
        let back = (decoded.mono[123] * 32768.0).round() as i16;
        assert_eq!(back, samples[123]);
    }

    #[test]
    fn downmix_averages_channels() {
        let stereo = [1.0, 0.0, 0.5, 0.5, -1.0, 1.0];
        assert_eq!(downmix_interleaved(&stereo, 2), vec![0.5, 0.5, 0.0]);
        assert_eq!(downmix_interleaved(&stereo, 1), stereo.to_vec());
    }
}
