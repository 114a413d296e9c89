//! Where dictated audio comes from: the default microphone (cpal) or an audio file. Both yield
//! the same thing, 100 ms frames of 16 kHz mono s16le PCM at the pace the audio happens, so the
//! streaming loop does not care which one it is fed by.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use skriva_engine::audio::{resample_to_16k, StreamResampler, SAMPLE_RATE};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Samples in one frame: 100 ms at 16 kHz.
pub const FRAME_SAMPLES: usize = SAMPLE_RATE as usize / 10;
/// The length of one frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(100);

/// A source of audio frames for a dictation session.
pub trait AudioSource: Send {
    /// The next frame (at most [`FRAME_SAMPLES`] samples of 16 kHz mono PCM), waiting until the
    /// audio it holds has happened; `None` when the source has ended. Cancel-safe: a call
    /// dropped before it completes loses no audio.
    fn next_frame(&mut self) -> impl Future<Output = Result<Option<Vec<i16>>>> + Send;

    /// Whether the source produces audio on its own clock (a microphone, a file played in real
    /// time): then it must be drained even while the server cannot take audio, and frames pile
    /// up in memory instead. A source that is not live waits until the client asks.
    fn is_live(&self) -> bool;
}

/// An audio file, decoded and resampled to 16 kHz up front, released frame by frame.
#[derive(Debug)]
pub struct FileSource {
    samples: Vec<i16>,
    position: usize,
    realtime: bool,
    /// With real-time pacing: when the next frame may be released (the moment its last
    /// sample would have been spoken). The clock starts at the first frame asked for.
    next_due: Option<Instant>,
}

impl FileSource {
    /// Decodes `path` (any format the engine reads). `realtime` releases each frame only once
    /// its audio has played, as a microphone would.
    pub fn open(path: &Path, realtime: bool) -> Result<Self> {
        let decoded = skriva_engine::audio::decode_file(path)?;
        let mono = resample_to_16k(&decoded.mono, decoded.sample_rate)
            .with_context(|| format!("resampling {}", path.display()))?;
        if mono.is_empty() {
            bail!("{}: no audio", path.display());
        }
        Ok(Self::from_samples(
            mono.iter().map(|s| to_i16(*s)).collect(),
            realtime,
        ))
    }

    /// A source over samples already at 16 kHz mono.
    pub fn from_samples(samples: Vec<i16>, realtime: bool) -> Self {
        Self {
            samples,
            position: 0,
            realtime,
            next_due: None,
        }
    }

    /// Length of the audio in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(SAMPLE_RATE)
    }
}

impl AudioSource for FileSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<i16>>> {
        if self.position >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.position + FRAME_SAMPLES).min(self.samples.len());
        if self.realtime {
            let due = *self
                .next_due
                .get_or_insert_with(|| Instant::now() + FRAME_DURATION);
            // A short last frame is due when its own last sample has played.
            let short = FRAME_SAMPLES - (end - self.position);
            let due = due - Duration::from_secs_f64(short as f64 / f64::from(SAMPLE_RATE));
            tokio::time::sleep_until(due).await;
            self.next_due = Some(due + FRAME_DURATION);
        }
        let frame = self.samples[self.position..end].to_vec();
        self.position = end;
        Ok(Some(frame))
    }

    fn is_live(&self) -> bool {
        self.realtime
    }
}

/// The default input device, captured through cpal on a thread of its own (a cpal stream
/// must stay on the thread that made it on some platforms), resampled to 16 kHz mono.
#[derive(Debug)]
pub struct MicSource {
    chunks: mpsc::UnboundedReceiver<Result<Vec<f32>, String>>,
    resampler: StreamResampler,
    pending: Vec<f32>,
    stop: Arc<AtomicBool>,
    /// The device's name and format, for the user.
    pub description: String,
}

impl MicSource {
    /// Opens and starts the default input device. On a machine without a usable sound card
    /// this fails with one line that says so.
    pub fn open() -> Result<Self> {
        let (chunks_tx, chunks) = mpsc::unbounded_channel();
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_capture = stop.clone();
        std::thread::Builder::new()
            .name("microphone".into())
            .spawn(move || capture_thread(chunks_tx, opened_tx, stop_capture))
            .context("cannot start the capture thread")?;
        let opened = opened
            .recv()
            .map_err(|_| anyhow!("the capture thread ended before opening the microphone"))?;
        let (rate, channels, description) = match opened {
            Ok(ok) => ok,
            Err(reason) => bail!("{}", no_microphone_message(&reason)),
        };
        let resampler = StreamResampler::new(rate, channels.min(2))
            .with_context(|| format!("the microphone's format ({description})"))?;
        Ok(Self {
            chunks,
            resampler,
            pending: Vec::with_capacity(FRAME_SAMPLES * 2),
            stop,
            description,
        })
    }
}

impl Drop for MicSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl AudioSource for MicSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<i16>>> {
        while self.pending.len() < FRAME_SAMPLES {
            match self.chunks.recv().await {
                Some(Ok(interleaved)) => self.resampler.push(&interleaved, &mut self.pending)?,
                Some(Err(reason)) => bail!("microphone: {reason}"),
                None => {
                    self.resampler.finish(&mut self.pending)?;
                    if self.pending.is_empty() {
                        return Ok(None);
                    }
                    break;
                }
            }
        }
        let take = FRAME_SAMPLES.min(self.pending.len());
        let frame = self.pending.drain(..take).map(to_i16).collect();
        Ok(Some(frame))
    }

    fn is_live(&self) -> bool {
        true
    }
}

type Opened = Result<(u32, usize, String), String>;

/// Runs on its own thread: opens the default input, reports the outcome once on `opened`,
/// then forwards captured audio (interleaved f32, at most two channels) until `stop`.
fn capture_thread(
    chunks: mpsc::UnboundedSender<Result<Vec<f32>, String>>,
    opened: std::sync::mpsc::Sender<Opened>,
    stop: Arc<AtomicBool>,
) {
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

    // alsa-lib writes its diagnostics (a dozen lines when there is no card) to stderr; on this
    // thread they go to a buffer instead, logged at debug level. Our one line says what failed.
    #[cfg(target_os = "linux")]
    let alsa_messages = alsa::Output::local_error_handler().ok();
    let opened = {
        #[cfg(target_os = "linux")]
        let alsa_messages = alsa_messages.clone();
        move |result: Opened| {
            #[cfg(target_os = "linux")]
            if let Some(messages) = &alsa_messages {
                let text = messages.borrow().to_string();
                if !text.trim().is_empty() {
                    tracing::debug!(alsa = %text.trim(), "ALSA diagnostics");
                }
            }
            opened.send(result).is_ok()
        }
    };

    let host = cpal::default_host();
    let Some(device) = host.default_input_device() else {
        let _ = opened(Err("no default input device".into()));
        return;
    };
    let name = device
        .description()
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "default input".into());
    let config = match device.default_input_config() {
        Ok(config) => config,
        Err(e) => {
            let _ = opened(Err(format!("{name}: {e}")));
            return;
        }
    };
    let channels = usize::from(config.channels()).max(1);
    let rate = config.sample_rate();
    let format = config.sample_format();
    let stream_config: cpal::StreamConfig = config.into();
    let errors = chunks.clone();
    let on_error = move |e: cpal::Error| {
        let _ = errors.send(Err(e.to_string()));
    };
    let stream = match format {
        cpal::SampleFormat::F32 => device.build_input_stream(
            stream_config,
            move |data: &[f32], _: &cpal::InputCallbackInfo| {
                let _ = chunks.send(Ok(first_two_channels(data.iter().copied(), channels)));
            },
            on_error,
            None,
        ),
        cpal::SampleFormat::I16 => device.build_input_stream(
            stream_config,
            move |data: &[i16], _: &cpal::InputCallbackInfo| {
                let samples = data.iter().map(|s| f32::from(*s) / 32768.0);
                let _ = chunks.send(Ok(first_two_channels(samples, channels)));
            },
            on_error,
            None,
        ),
        cpal::SampleFormat::I32 => device.build_input_stream(
            stream_config,
            move |data: &[i32], _: &cpal::InputCallbackInfo| {
                let samples = data.iter().map(|s| *s as f32 / 2_147_483_648.0);
                let _ = chunks.send(Ok(first_two_channels(samples, channels)));
            },
            on_error,
            None,
        ),
        other => {
            let _ = opened(Err(format!("{name}: unsupported sample format {other}")));
            return;
        }
    };
    let stream = match stream.and_then(|s| s.play().map(|()| s)) {
        Ok(stream) => stream,
        Err(e) => {
            let _ = opened(Err(format!("{name}: {e}")));
            return;
        }
    };
    let description = format!("{name}, {rate} Hz, {channels} ch, {format}");
    if !opened(Ok((rate, channels.min(2), description))) {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stream);
}

/// Interleaved samples of `channels` channels, reduced to the first two (the server and the
/// resampler take one or two).
fn first_two_channels(samples: impl Iterator<Item = f32>, channels: usize) -> Vec<f32> {
    if channels <= 2 {
        return samples.collect();
    }
    samples
        .enumerate()
        .filter(|(i, _)| i % channels < 2)
        .map(|(_, s)| s)
        .collect()
}

/// The one line said when the microphone cannot be opened.
fn no_microphone_message(reason: &str) -> String {
    let cards = std::fs::read_to_string("/proc/asound/cards").ok();
    let no_card =
        cfg!(target_os = "linux") && cards.as_deref().is_none_or(|c| c.contains("no soundcards"));
    if no_card {
        format!(
            "no microphone: this machine has no sound card ({reason}); stream a file instead \
             with --file FILE --realtime"
        )
    } else {
        format!("no microphone: cannot open the default input device ({reason})")
    }
}

fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_realtime_file_is_never_released_before_it_has_played() {
        let mut source = FileSource::from_samples(vec![1; FRAME_SAMPLES * 2 + 800], true);
        assert!(source.is_live());
        let started = Instant::now();
        let mut released = Vec::new();
        while let Some(frame) = source.next_frame().await.unwrap_or(None) {
            released.push((frame.len(), started.elapsed()));
        }
        let played = [100, 200, 250].map(Duration::from_millis);
        assert_eq!(released.len(), 3);
        for ((len, at), played) in released.iter().zip(played) {
            assert!(*at >= played, "a frame of {len} samples released at {at:?}");
        }
        assert_eq!(released[2].0, 800);
    }

    #[tokio::test]
    async fn a_file_without_pacing_is_released_at_once_and_in_order() {
        let samples: Vec<i16> = (0..4000).map(|i| i as i16).collect();
        let mut source = FileSource::from_samples(samples.clone(), false);
        assert!(!source.is_live());
        let mut out = Vec::new();
        while let Some(frame) = source.next_frame().await.unwrap_or(None) {
            out.extend(frame);
        }
        assert_eq!(out, samples);
    }

    #[test]
    fn more_than_two_channels_keep_the_first_two() {
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            first_two_channels(data.iter().copied(), 3),
            vec![1.0, 2.0, 4.0, 5.0]
        );
        assert_eq!(first_two_channels(data.iter().copied(), 2), data.to_vec());
    }
}
