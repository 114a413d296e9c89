//! Resampling to 16 kHz with rubato: a synchronous FFT resampler for whole files, and an
//! incremental one for streams that arrive in frames of any size.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::SAMPLE_RATE;
use crate::{Error, Result};

const CHUNK: usize = 1024;

fn resample_err(e: impl std::fmt::Display) -> Error {
    Error::Resample(e.to_string())
}

/// Resamples a whole mono clip from `rate` to 16 kHz. The output length is
/// `ceil(len * 16000 / rate)`, so durations are preserved.
pub fn resample_to_16k(mono: &[f32], rate: u32) -> Result<Vec<f32>> {
    if rate == SAMPLE_RATE {
        return Ok(mono.to_vec());
    }
    if rate == 0 {
        return Err(Error::Invalid("sample rate 0".into()));
    }
    if mono.is_empty() {
        return Ok(Vec::new());
    }
    let mut resampler = Fft::<f32>::new(
        rate as usize,
        SAMPLE_RATE as usize,
        CHUNK,
        1,
        FixedSync::Input,
    )
    .map_err(resample_err)?;
    let input = InterleavedSlice::new(mono, 1, mono.len()).map_err(resample_err)?;
    let out = resampler
        .process_all(&input, mono.len(), None)
        .map_err(resample_err)?;
    Ok(out.take_data())
}

/// Incremental resampler for live audio: push interleaved frames of any size, get 16 kHz mono
/// out. It buffers at most one chunk of input, so memory stays flat however long the stream.
#[derive(Debug)]
pub struct StreamResampler {
    channels: usize,
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    delay_to_trim: usize,
    /// Mono frames pushed, and 16 kHz frames emitted, so `finish` can emit exactly the
    /// resampled length of the input.
    frames_in: u64,
    frames_out: u64,
}

impl StreamResampler {
    /// A resampler from `rate` Hz with `channels` interleaved channels (1 or 2) to 16 kHz mono.
    pub fn new(rate: u32, channels: usize) -> Result<Self> {
        if !(1..=2).contains(&channels) {
            return Err(Error::Invalid(format!(
                "{channels} channels; 1 or 2 are supported"
            )));
        }
        if !(8_000..=192_000).contains(&rate) {
            return Err(Error::Invalid(format!(
                "sample rate {rate} Hz; 8000–192000 Hz are supported"
            )));
        }
        let inner = if rate == SAMPLE_RATE {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    rate as usize,
                    SAMPLE_RATE as usize,
                    CHUNK,
                    1,
                    FixedSync::Input,
                )
                .map_err(resample_err)?,
            )
        };
        let delay_to_trim = inner.as_ref().map_or(0, |r| r.output_delay());
        let scratch_len = inner.as_ref().map_or(0, |r| r.output_frames_max());
        Ok(Self {
            channels,
            inner,
            pending: Vec::with_capacity(CHUNK),
            scratch: vec![0.0; scratch_len],
            delay_to_trim,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Pushes interleaved samples; appends any 16 kHz output produced to `out`.
    pub fn push(&mut self, interleaved: &[f32], out: &mut Vec<f32>) -> Result<()> {
        let mono = super::downmix_interleaved(interleaved, self.channels);
        let Some(resampler) = self.inner.as_mut() else {
            out.extend_from_slice(&mono);
            return Ok(());
        };
        self.frames_in += mono.len() as u64;
        let mut rest = &mono[..];
        while !rest.is_empty() {
            let need = resampler.input_frames_next() - self.pending.len();
            let take = need.min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == resampler.input_frames_next() {
                let before = out.len();
                Self::run_chunk(
                    resampler,
                    &self.pending,
                    None,
                    &mut self.scratch,
                    &mut self.delay_to_trim,
                    out,
                )?;
                self.frames_out += (out.len() - before) as u64;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Flushes what is buffered (padding with silence) at the end of a stream.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let Some(resampler) = self.inner.as_mut() else {
            return Ok(());
        };
        let ratio = resampler.resample_ratio();
        let expected_total = (self.frames_in as f64 * ratio).ceil() as u64;
        // Feed silence until the resampler's internal delay has been flushed and every real
        // input sample is accounted for in the output; then drop what the padding produced.
        let chunk = resampler.input_frames_next();
        let mut partial = Some(self.pending.len());
        while self.frames_out < expected_total {
            self.pending.resize(chunk, 0.0);
            let before = out.len();
            Self::run_chunk(
                resampler,
                &self.pending,
                partial.take().or(Some(0)),
                &mut self.scratch,
                &mut self.delay_to_trim,
                out,
            )?;
            self.frames_out += (out.len() - before) as u64;
            self.pending.clear();
        }
        let excess = (self.frames_out - expected_total) as usize;
        out.truncate(out.len().saturating_sub(excess));
        self.frames_out = expected_total;
        self.pending.clear();
        Ok(())
    }

    fn run_chunk(
        resampler: &mut Fft<f32>,
        input: &[f32],
        partial_len: Option<usize>,
        scratch: &mut [f32],
        delay_to_trim: &mut usize,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let frames_in = input.len();
        let input = InterleavedSlice::new(input, 1, frames_in).map_err(resample_err)?;
        let scratch_len = scratch.len();
        let mut output =
            InterleavedSlice::new_mut(scratch, 1, scratch_len).map_err(resample_err)?;
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len,
            active_channels_mask: None,
        };
        let (_, produced) = resampler
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(resample_err)?;
        let skip = (*delay_to_trim).min(produced);
        *delay_to_trim -= skip;
        out.extend_from_slice(&scratch[skip..produced]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Frequency estimated from zero crossings, away from the edges.
    fn estimate_freq(samples: &[f32], rate: u32) -> f32 {
        let body = &samples[samples.len() / 10..samples.len() * 9 / 10];
        let crossings = body
            .windows(2)
            .filter(|w| w[0] <= 0.0 && w[1] > 0.0)
            .count();
        crossings as f32 * rate as f32 / body.len() as f32
    }

    #[test]
    fn file_resampling_preserves_duration_and_frequency() {
        for rate in [8_000, 22_050, 44_100, 48_000] {
            let input = tone(440.0, rate, 2.0);
            let out = resample_to_16k(&input, rate).expect("resample");
            let expected = (input.len() as f64 * 16_000.0 / f64::from(rate)).ceil() as usize;
            assert_eq!(out.len(), expected, "rate {rate}");
            let f = estimate_freq(&out, 16_000);
            assert!((f - 440.0).abs() < 3.0, "rate {rate}: {f} Hz");
        }
    }

    #[test]
    fn stream_resampling_matches_length_for_odd_frame_sizes() {
        let rate = 44_100;
        let input = tone(440.0, rate, 3.0);
        let mut stream = StreamResampler::new(rate, 1).expect("new");
        let mut out = Vec::new();
        for frame in input.chunks(333) {
            stream.push(frame, &mut out).expect("push");
        }
        stream.finish(&mut out).expect("finish");
        let expected = (input.len() as f64 * 16_000.0 / f64::from(rate)).ceil() as usize;
        assert_eq!(out.len(), expected);
        let f = estimate_freq(&out, 16_000);
        assert!((f - 440.0).abs() < 3.0, "{f} Hz");
    }

    #[test]
    fn stream_resampler_downmixes_stereo() {
        let mut stream = StreamResampler::new(16_000, 2).expect("new");
        let mut out = Vec::new();
        stream.push(&[1.0, 0.0, 0.0, 1.0], &mut out).expect("push");
        assert_eq!(out, vec![0.5, 0.5]);
    }

    #[test]
    fn stream_resampler_rejects_bad_settings() {
        assert!(StreamResampler::new(16_000, 3).is_err());
        assert!(StreamResampler::new(100, 1).is_err());
    }
}
