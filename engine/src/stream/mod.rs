//! Live dictation: audio frames in as they are spoken, text out as it settles. Frames are
//! resampled to 16 kHz on arrival; Silero VAD splits the stream into utterances; each live
//! utterance is re-decoded as it grows and words are committed under LocalAgreement-2.
//!
//! One [`LiveStream`] per connection, each with its own decoding state over one shared model; a
//! [`DecodeScheduler`] shares the cores between them. Pushing audio is cheap;
//! [`LiveStream::decode_step`] is the expensive part and belongs on a blocking thread. Committed
//! ([`StreamEvent::Stable`]) words are never retracted, and every utterance ends in a
//! [`StreamEvent::Final`] whose words start with exactly those.
//!
//! Everything a stream reports depends only on its audio, never on when steps ran: each step
//! looks at the audio up to a fixed position (the next re-decode point, or the point where a
//! pause becomes long enough to end the utterance), and a stream that falls behind works
//! through the positions it missed one by one. So a stream that was paused, resumed or rebuilt
//! from its audio after a crash reports exactly what an uninterrupted one does.

mod agreement;
mod endpoint;
mod input;
mod scheduler;

pub use input::SampleEncoding;
pub use scheduler::{DecodePermit, DecodeScheduler, SchedulerStats};

use std::sync::Arc;

use crate::audio::SAMPLE_RATE;
use crate::recognize::{
    guard, DecodeOptions, DecoderState, LoopRetry, PackedSpeech, Recognizer, Segment, Word,
};
use crate::{Error, Result};

use agreement::{agreed_prefix_len, join_words, uncommitted};
use endpoint::SpeechMap;
use input::AudioInput;

/// Audio before detected speech that is kept while nobody speaks: Silero needs a little
/// context, and a region's padded start reaches back into it.
const IDLE_KEEP_S: f64 = 1.0;
/// Whisper invents text for very short inputs; interim decodes wait for this much utterance.
const MIN_INTERIM_DECODE_S: f64 = 1.0;
/// A closing utterance shorter than this is not decoded (nothing but padding is left).
const MIN_FINAL_DECODE_S: f64 = 0.1;
/// Past this fraction of `max_buffer_s` the buffer is cut after the last committed sentence:
/// each re-decode costs in proportion to the buffer, and committed text goes on as context.
const SENTENCE_TRIM_FRACTION: f32 = 0.33;
/// Spoken commands that end a sentence or a heading in a dictation, as whisper writes them
/// (often joined to the word before: "kontrollpunkt").
const SPOKEN_SENTENCE_ENDS: &[&str] = &["punkt", "kolon", "frågetecken", "utropstecken"];
/// Committed text handed to whisper as context, at most. Every re-decode pays for its prompt
/// (whisper base on 2 cores: a 2 s decode takes 0.20 s without one, 0.35 s with a 200-character
/// prompt, 0.43 s with 400), and the end of the last sentence is what continues this one.
/// Measured against 200 (skriva-bench latency, one stream, same machine): stable p50 2.53 →
/// 2.34–2.42 s, p95 4.05 → 3.68–3.92 s, live WER 0.476 → 0.463.
const PROMPT_CONTEXT_CHARS: usize = 80;

/// How a live stream's audio arrives and how it is segmented and decoded.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Input sample rate, 8 000–192 000 Hz.
    pub sample_rate: u32,
    /// Interleaved input channels, 1 or 2 (downmixed to mono).
    pub channels: usize,
    /// Encoding of [`LiveStream::push_bytes`] input.
    pub encoding: SampleEncoding,
    /// A pause this long ends an utterance (at least the VAD's minimum silence, 300 ms).
    pub end_silence_ms: u32,
    /// A live utterance is re-decoded after this much new audio.
    pub redecode_every_ms: u32,
    /// Cap on the audio re-decoded at once; older committed audio is dropped beyond it.
    pub max_buffer_s: f32,
    /// Re-decode the live utterance as it grows (partial and stable text). Off, each utterance
    /// is decoded once, when it ends: a `Final` with no `Stable`/`Partial` before it, at a
    /// fraction of the CPU.
    pub interim_decodes: bool,
    /// Language, beam and guard settings; `initial_prompt` is the base prompt to which the
    /// stream appends its committed text. The default fits the encoder to the audio.
    pub decode: DecodeOptions,
    /// The base prompt is cut (at a word) to this many characters in live decodes. Every
    /// re-decode pays for its prompt again, and a long one also pulls whisper off the audio.
    pub prompt_max_chars: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            sample_rate: SAMPLE_RATE,
            channels: 1,
            encoding: SampleEncoding::PcmS16le,
            end_silence_ms: 600,
            redecode_every_ms: 700,
            max_buffer_s: 18.0,
            interim_decodes: true,
            // Live re-decodes see at most `max_buffer_s`: an encoder fitted to that is several
            // times faster than whisper's full 30 s window, which is what keeps a stream live
            // on a small CPU (measured: decode step p50 0.8 s against 6.0 s, same machine).
            // No temperature fallback: a live decode is repeated a moment later anyway, and
            // each fallback round costs a whole decode (measured: 13.7 s against 6.9 s for one
            // 7 s utterance with the dictation prompt), which is what makes a stream fall behind.
            decode: DecodeOptions {
                fit_encoder_to_audio: true,
                temperature_increment: 0.0,
                ..DecodeOptions::default()
            },
            // A dictation prompt starts with the title and the template's headings, the part
            // that matters live. Measured on a 30 s dictation, one stream on 2 cores: the full
            // 600-character prompt gave stable-text latency p50 9.9 s and WER 0.62, its first
            // 200 characters 3.3 s and 0.49, no prompt 2.6 s and 0.60.
            prompt_max_chars: 200,
        }
    }
}

impl StreamConfig {
    fn validate(&self) -> Result<()> {
        if !(100..=10_000).contains(&self.end_silence_ms) {
            return Err(Error::Invalid(format!(
                "end_silence_ms {}: expected 100–10000",
                self.end_silence_ms
            )));
        }
        if !(100..=10_000).contains(&self.redecode_every_ms) {
            return Err(Error::Invalid(format!(
                "redecode_every_ms {}: expected 100–10000",
                self.redecode_every_ms
            )));
        }
        // Whisper sees 30 s at a time; the buffer must fit with room for a re-decode's worth.
        if !(4.0..=25.0).contains(&self.max_buffer_s) {
            return Err(Error::Invalid(format!(
                "max_buffer_s {}: expected 4–25",
                self.max_buffer_s
            )));
        }
        Ok(())
    }
}

/// What a live stream reports. Times are seconds from the start of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The volatile tail of the current utterance after its stable words; replaces the
    /// previous `Partial` (empty text clears it). A `Final` ends it.
    Partial { text: String, start: f64, end: f64 },
    /// Newly committed words; never retracted.
    Stable { words: Vec<Word>, text: String },
    /// A closed utterance: all its words in order, starting with exactly the stable words
    /// already emitted for it.
    Final(Segment),
    /// The stream has this much audio that no decode has looked at yet.
    Backpressure { behind_s: f64 },
}

/// The utterance being spoken.
#[derive(Debug)]
struct Utterance {
    /// Where its audio starts (padded speech start).
    start: f64,
    /// Words committed so far, in order.
    committed: Vec<Word>,
    /// Index of the first committed word whose audio is still in the buffer.
    first_in_buffer: usize,
    /// The latest hypothesis after the committed words: what the next one must agree with.
    pending: Vec<Word>,
}

impl Utterance {
    fn new(start: f64) -> Self {
        Self {
            start,
            committed: Vec::new(),
            first_in_buffer: 0,
            pending: Vec::new(),
        }
    }
}

/// One live dictation stream.
#[derive(Debug)]
pub struct LiveStream {
    recognizer: Arc<Recognizer>,
    /// This stream's own decoding state; the model is shared.
    decoder: DecoderState,
    config: StreamConfig,
    input: AudioInput,
    /// 16 kHz mono audio that steps have looked at and not yet dropped: the live utterance,
    /// or a short idle lookback. It ends at `stepped_at`.
    buffer: Vec<f32>,
    /// Received audio after `stepped_at`, waiting for the step whose position covers it.
    incoming: Vec<f32>,
    /// Stream sample index of `buffer[0]`.
    buffer_start: u64,
    /// 16 kHz samples received.
    received: u64,
    /// Stream position the last step looked up to.
    stepped_at: u64,
    /// Position at which a pause seen growing will be long enough to end the utterance.
    end_due_at: Option<u64>,
    utterance: Option<Utterance>,
    /// Committed text whose audio has left the buffer: whisper's context for what follows.
    context: String,
    last_partial: String,
    finished: bool,
}

/// `text` cut to at most `max_chars` characters, at the last space within them.
fn cut_at_word(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((limit, next)) if next.is_whitespace() => text[..limit].trim_end(),
        Some((limit, _)) => text[..limit]
            .rfind(' ')
            .map_or("", |space| text[..space].trim_end()),
    }
}

fn seconds(samples: u64) -> f64 {
    samples as f64 / f64::from(SAMPLE_RATE)
}

fn samples_at(seconds: f64) -> u64 {
    (seconds.max(0.0) * f64::from(SAMPLE_RATE)).round() as u64
}

impl LiveStream {
    /// A stream decoding with `recognizer`, which must have a VAD model loaded.
    pub fn new(recognizer: Arc<Recognizer>, config: StreamConfig) -> Result<Self> {
        config.validate()?;
        if recognizer.vad().is_none() {
            return Err(Error::Invalid(
                "live streaming needs a VAD model to find utterances (load the recognizer \
                 with a Silero VAD; run `skriva model fetch`)"
                    .into(),
            ));
        }
        let input = AudioInput::new(config.sample_rate, config.channels, config.encoding)?;
        let decoder = recognizer.new_state()?;
        Ok(Self {
            recognizer,
            decoder,
            config,
            input,
            buffer: Vec::new(),
            incoming: Vec::new(),
            buffer_start: 0,
            received: 0,
            stepped_at: 0,
            end_due_at: None,
            utterance: None,
            context: String::new(),
            last_partial: String::new(),
            finished: false,
        })
    }

    /// Accepts raw frames in the configured encoding. A chunk that is not a whole number of
    /// frames is refused with an error and nothing of it is kept; earlier audio is unaffected.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.check_open()?;
        let before = self.incoming.len();
        self.input.push_bytes(bytes, &mut self.incoming)?;
        self.received += (self.incoming.len() - before) as u64;
        Ok(())
    }

    /// Accepts interleaved float frames at the configured rate and channel count.
    pub fn push_f32(&mut self, samples: &[f32]) -> Result<()> {
        self.check_open()?;
        let before = self.incoming.len();
        self.input.push_f32(samples, &mut self.incoming)?;
        self.received += (self.incoming.len() - before) as u64;
        Ok(())
    }

    /// True when a [`decode_step`](Self::decode_step) would do work: the audio reached the
    /// next re-decode point, or the point where a pause ends the utterance.
    pub fn needs_decode(&self) -> bool {
        !self.finished && self.received >= self.next_step_at()
    }

    /// Looks at the audio up to the next step position: finds utterance boundaries, re-decodes
    /// the live utterance and commits what two hypotheses agree on. A stream that is behind
    /// needs one call per position it missed (see [`needs_decode`](Self::needs_decode)).
    pub fn decode_step(&mut self) -> Result<Vec<StreamEvent>> {
        if !self.needs_decode() {
            return Ok(Vec::new());
        }
        self.reveal(self.next_step_at());
        self.step(false)
    }

    /// Ends the stream: flushes the resampler, works through the step positions still due and
    /// closes the open utterance. Later pushes fail.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>> {
        if self.finished {
            return Ok(Vec::new());
        }
        let before = self.incoming.len();
        self.input.finish(&mut self.incoming)?;
        self.received += (self.incoming.len() - before) as u64;
        let mut events = Vec::new();
        while self.needs_decode() {
            events.extend(self.decode_step()?);
        }
        self.finished = true;
        self.reveal(self.received);
        events.extend(self.step(true)?);
        Ok(events)
    }

    /// Seconds of 16 kHz audio received so far.
    pub fn audio_seconds(&self) -> f64 {
        seconds(self.received)
    }

    /// Seconds of audio received since the last decode step looked.
    pub fn undecoded_seconds(&self) -> f64 {
        seconds(self.received - self.stepped_at)
    }

    /// Where the next step looks up to: the next re-decode point, or earlier where a pause
    /// seen growing becomes long enough to end the utterance.
    fn next_step_at(&self) -> u64 {
        let every = u64::from(self.config.redecode_every_ms) * u64::from(SAMPLE_RATE) / 1000;
        let regular = self.stepped_at + every;
        match self.end_due_at {
            Some(due) => regular.min(due.max(self.stepped_at + 1)),
            None => regular,
        }
    }

    /// Moves received audio up to stream position `to` into the buffer the steps look at.
    fn reveal(&mut self, to: u64) {
        let n = to
            .saturating_sub(self.stepped_at)
            .min(self.incoming.len() as u64) as usize;
        self.buffer.extend(self.incoming.drain(..n));
        self.stepped_at += n as u64;
    }

    fn check_open(&self) -> Result<()> {
        if self.finished {
            return Err(Error::Invalid(
                "live stream already finished; start a new one".into(),
            ));
        }
        Ok(())
    }

    fn buffer_start_s(&self) -> f64 {
        seconds(self.buffer_start)
    }

    fn buffer_end_s(&self) -> f64 {
        seconds(self.buffer_start + self.buffer.len() as u64)
    }

    fn step(&mut self, at_end: bool) -> Result<Vec<StreamEvent>> {
        self.end_due_at = None;
        let vad = self
            .recognizer
            .vad()
            .ok_or_else(|| Error::Invalid("live streaming needs a VAD model".into()))?;
        let speech = SpeechMap::detect(vad, &self.buffer, self.buffer_start_s())?;
        let end_silence = f64::from(self.config.end_silence_ms) / 1000.0;
        let mut events = Vec::new();
        loop {
            let Some(start) = self.utterance.as_ref().map(|u| u.start) else {
                match speech.speech_from(self.buffer_start_s()) {
                    Some(start) => {
                        tracing::debug!(start, "utterance starts");
                        self.drop_audio_before(start);
                        self.utterance = Some(Utterance::new(start));
                        continue;
                    }
                    None => {
                        self.drop_idle_audio();
                        break;
                    }
                }
            };
            // Audio before the buffer was trimmed away after committed words; pauses are
            // measured in what is left.
            let live_from = start.max(self.buffer_start_s());
            if let Some(pause) = speech.pause_after(live_from, end_silence) {
                events.extend(self.close_utterance(pause.speech_end)?);
                match pause.resume {
                    Some(next) => {
                        tracing::debug!(start = next, "utterance starts");
                        self.drop_audio_before(next);
                        self.utterance = Some(Utterance::new(next));
                        continue;
                    }
                    None => {
                        self.drop_idle_audio();
                        break;
                    }
                }
            }
            if at_end {
                events.extend(self.close_utterance(self.buffer_end_s())?);
                break;
            }
            events.extend(self.advance_utterance()?);
            let trailing = speech.trailing_silence();
            if trailing > 0.0 {
                self.end_due_at = Some(self.stepped_at + samples_at(end_silence - trailing));
            }
            break;
        }
        Ok(events)
    }

    /// Re-decodes the live utterance and commits what this and the previous hypothesis agree on.
    fn advance_utterance(&mut self) -> Result<Vec<StreamEvent>> {
        let mut events = Vec::new();
        let (from, to) = (self.buffer_start_s(), self.buffer_end_s());
        let Some(start) = self.utterance.as_ref().map(|u| u.start) else {
            return Ok(events);
        };
        if !self.config.interim_decodes || to - start < MIN_INTERIM_DECODE_S {
            if to - from > f64::from(self.config.max_buffer_s) {
                tracing::debug!(from, to, "utterance reached the buffer cap; closing");
                events.extend(self.close_utterance(to)?);
                self.utterance = Some(Utterance::new(to));
            }
            return Ok(events);
        }
        if to - from > f64::from(self.config.max_buffer_s) && !self.trim_committed(true) {
            // Nothing committed to cut at for a whole buffer: close what we have rather than
            // let the decode grow past whisper's window. The speech goes on in a new utterance.
            tracing::debug!(
                from,
                to,
                "utterance reached the buffer cap uncommitted; closing"
            );
            events.extend(self.close_utterance(to)?);
            self.utterance = Some(Utterance::new(to));
            return Ok(events);
        }
        let (from, to) = (self.buffer_start_s(), self.buffer_end_s());
        let hypothesis = self.decode_range(from, to)?;
        let Some(utterance) = self.utterance.as_mut() else {
            return Ok(events);
        };
        let tail = uncommitted(
            &hypothesis,
            &utterance.committed[utterance.first_in_buffer..],
            &utterance.committed,
        );
        tracing::trace!(
            from,
            to,
            hypothesis = %join_words(&hypothesis),
            in_buffer = %join_words(&utterance.committed[utterance.first_in_buffer..]),
            tail = %join_words(&tail),
            pending = %join_words(&utterance.pending),
            "re-decoded"
        );
        let agreed = agreed_prefix_len(&tail, &utterance.pending);
        let newly = tail[..agreed].to_vec();
        utterance.pending = tail[agreed..].to_vec();
        utterance.committed.extend(newly.iter().cloned());
        let partial = join_words(&utterance.pending);
        let partial_span = (
            utterance.pending.first().map_or(to, |w| w.start),
            utterance.pending.last().map_or(to, |w| w.end),
        );
        if !newly.is_empty() {
            tracing::debug!(words = newly.len(), text = %join_words(&newly), "committed");
            events.push(StreamEvent::Stable {
                text: join_words(&newly),
                words: newly,
            });
        }
        if partial != self.last_partial {
            events.push(StreamEvent::Partial {
                text: partial.clone(),
                start: partial_span.0,
                end: partial_span.1,
            });
            self.last_partial = partial;
        }
        self.trim_committed(false);
        Ok(events)
    }

    /// Closes the utterance at `end`: decodes it once more, commits the rest of its words
    /// after those already stable, and reports it whole.
    fn close_utterance(&mut self, end: f64) -> Result<Vec<StreamEvent>> {
        let mut events = Vec::new();
        let Some(mut utterance) = self.utterance.take() else {
            return Ok(events);
        };
        let from = self.buffer_start_s();
        let to = end.min(self.buffer_end_s());
        let hypothesis = if to - from >= MIN_FINAL_DECODE_S {
            self.final_decode(from, to)?
        } else {
            Vec::new()
        };
        let tail = uncommitted(
            &hypothesis,
            &utterance.committed[utterance.first_in_buffer..],
            &utterance.committed,
        );
        if !tail.is_empty() {
            events.push(StreamEvent::Stable {
                text: join_words(&tail),
                words: tail.clone(),
            });
        }
        utterance.committed.extend(tail);
        self.last_partial.clear();
        self.drop_audio_before(to);
        let words = utterance.committed;
        tracing::debug!(
            start = utterance.start,
            end = to,
            words = words.len(),
            "utterance ends"
        );
        if let (Some(first), Some(last)) = (words.first(), words.last()) {
            self.push_context(&words[utterance.first_in_buffer..]);
            events.push(StreamEvent::Final(Segment {
                start: first.start,
                end: last.end,
                text: join_words(&words),
                words,
            }));
        }
        Ok(events)
    }

    /// Cuts the buffer after committed words so re-decoding stays bounded: after the last
    /// committed sentence end once the buffer passes [`SENTENCE_TRIM_FRACTION`] of the cap, or
    /// (with `anywhere`) after the last committed word. Returns whether it cut.
    fn trim_committed(&mut self, anywhere: bool) -> bool {
        let buffered = (self.buffer_end_s() - self.buffer_start_s()) as f32;
        if !anywhere && buffered <= self.config.max_buffer_s * SENTENCE_TRIM_FRACTION {
            return false;
        }
        let Some(utterance) = self.utterance.as_ref() else {
            return false;
        };
        let in_buffer = &utterance.committed[utterance.first_in_buffer..];
        let ends_sentence = |w: &Word| {
            let word = agreement::normalize_word(&w.word);
            w.word.ends_with(['.', '?', '!', ':'])
                || SPOKEN_SENTENCE_ENDS.iter().any(|end| word.ends_with(end))
        };
        let cut = in_buffer
            .iter()
            .rposition(ends_sentence)
            .or_else(|| anywhere.then(|| in_buffer.len().checked_sub(1)).flatten());
        let Some(cut) = cut else {
            return false;
        };
        let cut_index = utterance.first_in_buffer + cut;
        let cut_at = utterance.committed[cut_index].end;
        if cut_at <= self.buffer_start_s() {
            return false;
        }
        let leaving = utterance.committed[utterance.first_in_buffer..=cut_index].to_vec();
        self.push_context(&leaving);
        if let Some(utterance) = self.utterance.as_mut() {
            utterance.first_in_buffer = cut_index + 1;
        }
        tracing::debug!(cut_at, "buffer trimmed after committed words");
        self.drop_audio_before(cut_at);
        true
    }

    /// Decodes buffer audio between two stream times; word times come back in stream time.
    fn decode_range(&mut self, from: f64, to: f64) -> Result<Vec<Word>> {
        let mut options = self.config.decode.clone();
        options.initial_prompt = self.prompt();
        Ok(self.decode_range_with(from, to, &options)?.0)
    }

    /// The last decode of an utterance. Its words are final: an interim decode that loops is
    /// decoded again a moment later, this one never is, and a loop here loses the rest of the
    /// utterance for good, so a looping final decode is retried ([`LoopRetry`]).
    fn final_decode(&mut self, from: f64, to: f64) -> Result<Vec<Word>> {
        let mut options = self.config.decode.clone();
        options.initial_prompt = self.prompt();
        let (words, loops) = self.decode_range_with(from, to, &options)?;
        let first = LoopRetry {
            loops,
            words: words.len(),
        };
        let Some(retry_options) = first.options(&options, self.base_prompt().map(str::to_owned))
        else {
            return Ok(words);
        };
        let (retry, retry_loops) = self.decode_range_with(from, to, &retry_options)?;
        tracing::debug!(
            loops,
            retry_loops,
            text = %join_words(&words),
            retry = %join_words(&retry),
            "decoded a looping final again"
        );
        Ok(if first.retry_is_better(retry_loops, retry.len()) {
            retry
        } else {
            words
        })
    }

    /// Decodes buffer audio between two stream times with `options` (its context is the
    /// prompt: the state adds nothing): the words without decoder loops, in stream time, and
    /// how many loops the recognizer's guards and [`without_loops`] cut out.
    fn decode_range_with(
        &mut self,
        from: f64,
        to: f64,
        options: &DecodeOptions,
    ) -> Result<(Vec<Word>, usize)> {
        let a = samples_at(from - self.buffer_start_s()).min(self.buffer.len() as u64) as usize;
        let b = samples_at(to - self.buffer_start_s()).min(self.buffer.len() as u64) as usize;
        if b <= a {
            return Ok((Vec::new(), 0));
        }
        let options = DecodeOptions {
            // The state must not add the previous hypothesis of this same audio.
            use_context: false,
            ..options.clone()
        };
        let packed = PackedSpeech::whole(&self.buffer[a..b]);
        let offset = seconds(self.buffer_start + a as u64);
        let started = std::time::Instant::now();
        let (segments, mut loops) =
            self.recognizer
                .decode_counting_loops(&mut self.decoder, &packed, &options, None)?;
        tracing::debug!(
            audio_s = seconds((b - a) as u64),
            prompt_chars = options
                .initial_prompt
                .as_deref()
                .map_or(0, |p| p.chars().count()),
            took_s = started.elapsed().as_secs_f64(),
            "live decode"
        );
        let words: Vec<Word> = segments
            .into_iter()
            .flat_map(|s| s.words)
            .map(|w| Word {
                start: w.start + offset,
                end: w.end + offset,
                ..w
            })
            .collect();
        let found = words.len();
        let kept = without_loops(words);
        if kept.len() < found {
            loops += 1;
        }
        Ok((kept, loops))
    }

    /// The base prompt followed by the tail of committed text no longer in the buffer. Text
    /// whose audio is still buffered stays out: whisper would take it as already said.
    fn prompt(&self) -> Option<String> {
        let base = self.base_prompt();
        match (base, self.context.is_empty()) {
            (None, true) => None,
            (None, false) => Some(self.context.clone()),
            (Some(base), true) => Some(base.to_string()),
            (Some(base), false) => Some(format!("{base} {}", self.context)),
        }
    }

    /// The configured prompt, cut to [`StreamConfig::prompt_max_chars`].
    fn base_prompt(&self) -> Option<&str> {
        self.config
            .decode
            .initial_prompt
            .as_deref()
            .map(str::trim)
            .map(|p| cut_at_word(p, self.config.prompt_max_chars))
            .filter(|p| !p.is_empty())
    }

    fn push_context(&mut self, words: &[Word]) {
        for word in words {
            if !self.context.is_empty() {
                self.context.push(' ');
            }
            self.context.push_str(&word.word);
        }
        let excess = self
            .context
            .chars()
            .count()
            .saturating_sub(PROMPT_CONTEXT_CHARS);
        if excess > 0 {
            // Cut at a word boundary so whisper never sees half a word.
            let cut = self
                .context
                .char_indices()
                .nth(excess)
                .map_or(self.context.len(), |(i, _)| i);
            let cut = self.context[cut..]
                .find(' ')
                .map_or(self.context.len(), |space| cut + space + 1);
            self.context.drain(..cut);
        }
    }

    fn drop_audio_before(&mut self, t: f64) {
        let n = samples_at(t)
            .saturating_sub(self.buffer_start)
            .min(self.buffer.len() as u64);
        self.buffer.drain(..n as usize);
        self.buffer_start += n;
    }

    fn drop_idle_audio(&mut self) {
        let keep_from = self.buffer_end_s() - IDLE_KEEP_S;
        self.drop_audio_before(keep_from);
    }
}

/// A live hypothesis without the loops whisper makes on a short window, looked for across its
/// segments (file transcription looks within each): a phrase repeated over and over, or a
/// clause said twice with small differences. Committing either would put it in the note.
fn without_loops(words: Vec<Word>) -> Vec<Word> {
    // Each guard names the words to keep, by index into the words it was given.
    let kept_by = |words: &[Word], guard: &dyn Fn(&[String]) -> Vec<usize>| -> Vec<Word> {
        let texts: Vec<String> = words.iter().map(|w| w.word.clone()).collect();
        guard(&texts)
            .into_iter()
            .map(|i| words[i].clone())
            .collect()
    };
    let kept = kept_by(&words, &|texts| guard::collapse_repetitions(texts, 3));
    let kept = kept_by(&kept, &guard::collapse_near_repeats);
    if kept.len() < words.len() {
        tracing::debug!(text = %join_words(&words), kept = kept.len(), "dropping a decoder loop");
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_stream_and_scheduler_cross_threads() {
        fn assert_send<T: Send>() {}
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send::<LiveStream>();
        assert_send_sync::<DecodeScheduler>();
        assert_send::<DecodePermit>();
    }

    #[test]
    fn loops_are_dropped_from_a_live_hypothesis() {
        let hypothesis = |text: &str| -> Vec<Word> {
            text.split_whitespace()
                .enumerate()
                .map(|(i, w)| Word {
                    word: w.to_owned(),
                    start: i as f64 * 0.3,
                    end: i as f64 * 0.3 + 0.25,
                    p: 0.5,
                })
                .collect()
        };
        let text = |words: &[Word]| join_words(words);
        // A three-word phrase four times, as whisper gave it on 2.8 s of audio.
        let looped = hypothesis(
            "Kontaktorsak kolan Blådetrikskon kontaktorsak kolan Blådetrikskon kontaktorsak \
             kolan Blådetrikskon kontaktorsak kolan Blådet",
        );
        assert_eq!(
            text(&without_loops(looped)),
            "Kontaktorsak kolan Blådetrikskon"
        );
        let twice = hypothesis(
            "Kontaktorsa kolla blådetriks komtravelpunktet kontraktorsa: blådetriks \
             komtravelpunktet",
        );
        let kept = without_loops(twice);
        assert_eq!(text(&kept), "Kontaktorsa kolla blådetriks komtravelpunktet");
        assert!(
            (kept[3].start - 0.9).abs() < 1e-9,
            "the first occurrence keeps its times"
        );
        let plain = hypothesis("Status kolon blodtryck 150 över 90 punkt");
        assert_eq!(without_loops(plain.clone()), plain);
    }

    #[test]
    fn the_live_prompt_is_cut_at_a_word() {
        assert_eq!(
            cut_at_word("Rubriker kolon Status", 100),
            "Rubriker kolon Status"
        );
        assert_eq!(cut_at_word("Rubriker kolon Status", 16), "Rubriker kolon");
        assert_eq!(cut_at_word("Rubriker kolon Status", 14), "Rubriker kolon");
        assert_eq!(cut_at_word("Åtgärdåtgärd", 3), "");
        assert_eq!(cut_at_word("Åtgärd Åtgärd", 9), "Åtgärd");
    }

    #[test]
    fn config_is_validated() {
        let ok = StreamConfig::default();
        assert!(ok.validate().is_ok());
        for bad in [
            StreamConfig {
                end_silence_ms: 0,
                ..StreamConfig::default()
            },
            StreamConfig {
                redecode_every_ms: 50,
                ..StreamConfig::default()
            },
            StreamConfig {
                max_buffer_s: 40.0,
                ..StreamConfig::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
