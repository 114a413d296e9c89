//! Recognition with whisper.cpp (through whisper-rs): 16 kHz PCM in, [`Segment`]s with word
//! timestamps and confidences out. One [`Recognizer`] holds one loaded model and serves any
//! number of transcriptions, each with its own decoding state. Speech is gated by a Silero VAD
//! and the output passes the [`guard`]s, so silence and noise produce no text.

pub mod guard;
mod transcript;
pub mod vad;

pub use transcript::{join_words, Segment, Timings, Transcript, Word};
pub use vad::{PackedSpeech, SpeechRegion, Vad, VadSettings};

use std::path::{Path, PathBuf};
use std::time::Instant;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use crate::audio::Pcm16k;
use crate::{Error, Result};

/// Where whisper.cpp runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The GPU when the binary was built with a GPU backend, else the CPU.
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl std::str::FromStr for Device {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            other => Err(Error::Invalid(format!(
                "device `{other}`: expected auto, cpu or gpu"
            ))),
        }
    }
}

/// True when this build has a GPU backend compiled in.
pub const fn gpu_compiled() -> bool {
    cfg!(feature = "cuda")
}

/// How to load a model.
#[derive(Debug, Clone)]
pub struct RecognizerConfig {
    /// A whisper.cpp ggml model file.
    pub model: PathBuf,
    /// A ggml Silero VAD model; without one the whole clip is decoded.
    pub vad_model: Option<PathBuf>,
    pub device: Device,
    /// Decoder threads; 0 means all available cores.
    pub threads: usize,
}

/// Per-transcription decoding options.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// ISO 639-1 code, or "auto" to detect.
    pub language: String,
    /// Text that primes the decoder (vocabulary, style). At most whisper's 224 prompt tokens.
    pub initial_prompt: Option<String>,
    /// 1 = greedy; >1 = beam search of that width.
    pub beam_size: usize,
    /// Temperature step for fallback decoding; fallback stops at 1.0, so the number of retries
    /// per window is bounded by `1.0 / temperature_increment`. Zero decodes once, greedily.
    pub temperature_increment: f32,
    /// Segments whose no-speech probability exceeds this, decoded with low confidence, are dropped.
    pub no_speech_threshold: f32,
    /// Condition each window on the text of the previous one.
    pub use_context: bool,
    /// Run the encoder over the audio's length (plus a margin) instead of whisper's full 30 s
    /// window. Several times faster on short inputs (live re-decodes), slightly less accurate.
    pub fit_encoder_to_audio: bool,
    /// Longest stretch of speech (seconds) decoded as one piece when a VAD splits the clip:
    /// consecutive speech regions are grouped up to this length and each group is decoded on
    /// its own, primed by the initial prompt. Zero decodes all speech as one stream.
    pub chunk_s: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            language: "sv".into(),
            initial_prompt: None,
            beam_size: 1,
            temperature_increment: 0.4,
            no_speech_threshold: 0.6,
            use_context: true,
            fit_encoder_to_audio: false,
            chunk_s: 0.0,
        }
    }
}

impl DecodeOptions {
    /// Options for a whole recording that becomes a journal note (`skriva transcribe
    /// --structure`, an uploaded recording): beam search of width [`NOTE_BEAM_SIZE`], and
    /// speech decoded in pieces of at most [`NOTE_CHUNK_S`] seconds cut at pauses, so that a
    /// long dictation is not decoded across whisper's fixed 30 s windows, which cut words in
    /// two and let one garbled window derail the next. No temperature fallback: on a piece the
    /// beam found hard, sampling at higher temperatures mostly returned freer guesses than the
    /// beam's own, and the piece length and token cap already bound a decoder loop.
    pub fn for_notes() -> Self {
        Self {
            beam_size: NOTE_BEAM_SIZE,
            chunk_s: NOTE_CHUNK_S,
            temperature_increment: 0.0,
            ..Self::default()
        }
    }
}

/// How much of the text before a piece primes its decoding, in characters (about 25 tokens),
/// besides the initial prompt: enough to continue a sentence, short enough that the prompt
/// stays within whisper's 224 tokens.
const PIECE_CONTEXT_CHARS: usize = 80;

/// The prompt of one piece of a chunked decode: `initial` followed by the last words of the
/// segments decoded before it (at most [`PIECE_CONTEXT_CHARS`]), or `None` when both are empty.
fn piece_prompt(initial: Option<&str>, before: Option<&[Segment]>) -> Option<String> {
    let mut tail: Vec<&str> = Vec::new();
    let mut chars = 0;
    let words = before
        .unwrap_or_default()
        .iter()
        .rev()
        .flat_map(|s| s.text.split_whitespace().rev());
    for word in words {
        chars += word.chars().count() + 1;
        if chars > PIECE_CONTEXT_CHARS {
            break;
        }
        tail.push(word);
    }
    tail.reverse();
    let prompt = [initial.unwrap_or("").trim(), &tail.join(" ")]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    (!prompt.is_empty()).then_some(prompt)
}

/// Temperature step of the second decode of a piece whose first decode looped (see
/// [`LoopRetry`]): whisper's own fallback schedule, which samples again once the beam's
/// text repeats itself.
const LOOP_RETRY_TEMPERATURE_INCREMENT: f32 = 0.2;

/// The rule for a decode whose text looped, shared by file transcription (each piece) and the
/// live stream (each utterance's last decode): a loop loses the rest of the audio, so it is
/// decoded once more the way whisper's own fallback would, primed by the base prompt alone
/// (a loop often starts by copying the text before it in the prompt), and the retry is kept
/// when it loops less or, looping as much, says more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoopRetry {
    /// Loops the recognizer's guards cut out of the first decode.
    pub loops: usize,
    /// Words the first decode kept.
    pub words: usize,
}

impl LoopRetry {
    /// The options for the retry of a decode with `options` that looped, or `None` when it
    /// did not loop or already fell back on temperatures itself.
    pub(crate) fn options(
        &self,
        options: &DecodeOptions,
        base_prompt: Option<String>,
    ) -> Option<DecodeOptions> {
        (self.loops > 0 && options.temperature_increment == 0.0).then(|| DecodeOptions {
            initial_prompt: base_prompt,
            temperature_increment: LOOP_RETRY_TEMPERATURE_INCREMENT,
            ..options.clone()
        })
    }

    /// Whether the retry, which looped `loops` times and kept `words`, replaces the first
    /// decode.
    pub(crate) fn retry_is_better(&self, loops: usize, words: usize) -> bool {
        loops < self.loops || (loops == self.loops && words > self.words)
    }
}

/// Characters a loop inside one word must have run on for (see
/// [`guard::cut_character_loop`]) before its piece is decoded again: six tokens or so.
const LONG_WORD_LOOP_CHARS: usize = 24;

/// Beam width for recordings that become notes (see [`DecodeOptions::for_notes`]).
pub const NOTE_BEAM_SIZE: usize = 5;
/// Longest piece of speech decoded at once for a note, in seconds (see
/// [`DecodeOptions::for_notes`]); below whisper's 30 s window.
pub const NOTE_CHUNK_S: f64 = 25.0;

/// One stream's whisper.cpp decoding state (its compute buffers and sampling generator), made
/// by [`Recognizer::new_state`]. A live stream keeps one for its whole life instead of
/// allocating a state per decode; the model weights stay shared in the [`Recognizer`].
pub struct DecoderState {
    state: WhisperState,
}

impl std::fmt::Debug for DecoderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecoderState").finish_non_exhaustive()
    }
}

/// A loaded Whisper model (and optional VAD) that transcribes 16 kHz mono PCM.
pub struct Recognizer {
    ctx: WhisperContext,
    vad: Option<Vad>,
    model_name: String,
    threads: usize,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer")
            .field("model", &self.model_name)
            .field("vad", &self.vad.is_some())
            .field("threads", &self.threads)
            .finish()
    }
}

/// Prompt tokens whisper keeps: half its 448-token text context.
pub const PROMPT_MAX_TOKENS: usize = 224;

/// Number of cores this process may use.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Recognizer {
    /// Loads a whisper.cpp ggml model (and the VAD model, if given).
    pub fn load(config: &RecognizerConfig) -> Result<Self> {
        whisper_rs::install_logging_hooks();
        let path = &config.model;
        let model_err = |reason: String| Error::Model {
            path: path.clone(),
            reason,
        };
        if !path.is_file() {
            return Err(model_err(
                "not found (run `skriva model fetch`, or pass --model PATH)".into(),
            ));
        }
        check_ggml_magic(path)?;
        let path_str = path
            .to_str()
            .ok_or_else(|| model_err("path is not UTF-8".into()))?;
        let mut params = WhisperContextParameters::default();
        let use_gpu = match config.device {
            Device::Cpu => false,
            Device::Auto => gpu_compiled(),
            Device::Gpu if gpu_compiled() => true,
            Device::Gpu => {
                return Err(Error::Invalid(
                    "--device gpu: this build has no GPU support (build with --features cuda)"
                        .into(),
                ))
            }
        };
        params.use_gpu(use_gpu);
        let started = Instant::now();
        let ctx = WhisperContext::new_with_params(path_str, params)
            .map_err(|e| model_err(format!("whisper.cpp could not load it ({e})")))?;
        let threads = if config.threads == 0 {
            available_threads()
        } else {
            config.threads
        };
        let vad = match &config.vad_model {
            Some(p) => Some(Vad::load(p, VadSettings::default())?),
            None => None,
        };
        let model_name = path.file_name().map_or_else(
            || path_str.to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        tracing::info!(model = %model_name, use_gpu, threads, vad = vad.is_some(),
            load_s = started.elapsed().as_secs_f64(), "model loaded");
        Ok(Self {
            ctx,
            vad,
            model_name,
            threads,
        })
    }

    /// The model's file name, as reported in transcripts.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The whisper.cpp context, for callers that keep their own decoding state.
    pub fn context(&self) -> &WhisperContext {
        &self.ctx
    }

    /// Whisper tokens in `text`, as an initial prompt would take them (whisper keeps only the
    /// last [`PROMPT_MAX_TOKENS`] of a prompt).
    pub fn token_count(&self, text: &str) -> Result<usize> {
        // Byte-level BPE: never more tokens than bytes, so the buffer always suffices (a
        // short one makes whisper.cpp return a negative count).
        Ok(self.ctx.tokenize(text, text.len() + 1)?.len())
    }

    /// The speech detector, if one was loaded.
    pub fn vad(&self) -> Option<&Vad> {
        self.vad.as_ref()
    }

    /// Transcribes a whole clip. `progress` receives 0–100 as decoding advances.
    pub fn transcribe(
        &self,
        pcm: &Pcm16k,
        options: &DecodeOptions,
        progress: Option<Box<dyn FnMut(i32) + Send>>,
    ) -> Result<Vec<Segment>> {
        let packed = match &self.vad {
            Some(vad) => {
                let regions = vad.speech_regions(&pcm.samples)?;
                tracing::debug!(regions = regions.len(), "speech regions");
                if options.chunk_s > 0.0 {
                    return self.decode_chunks(&pcm.samples, &regions, options, progress);
                }
                PackedSpeech::pack(&pcm.samples, &regions)
            }
            None => PackedSpeech::whole(&pcm.samples),
        };
        if packed.is_empty() {
            return Ok(Vec::new());
        }
        self.decode_packed(&packed, options, progress)
    }

    /// Decodes groups of consecutive speech regions, each up to `options.chunk_s` long, one
    /// after the other in one state.
    fn decode_chunks(
        &self,
        samples: &[f32],
        regions: &[SpeechRegion],
        options: &DecodeOptions,
        mut progress: Option<Box<dyn FnMut(i32) + Send>>,
    ) -> Result<Vec<Segment>> {
        let chunks = vad::group_regions(regions, options.chunk_s);
        let total: f64 = regions.iter().map(|r| r.end - r.start).sum();
        let mut done = 0.0;
        let mut state = self.new_state()?;
        let mut segments = Vec::new();
        for chunk in &chunks {
            let packed = PackedSpeech::pack(samples, chunk);
            if packed.is_empty() {
                continue;
            }
            tracing::debug!(
                start = chunk[0].start,
                end = chunk[chunk.len() - 1].end,
                regions = chunk.len(),
                "decoding a chunk"
            );
            // whisper.cpp rolls earlier text into the prompt and drops the prompt's start to
            // make room, so from the second piece on the template's headings would be lost;
            // each piece gets the whole initial prompt and only the last words before it.
            let piece_options = DecodeOptions {
                initial_prompt: piece_prompt(
                    options.initial_prompt.as_deref(),
                    options.use_context.then_some(segments.as_slice()),
                ),
                use_context: false,
                ..options.clone()
            };
            let (mut piece, loops) =
                self.decode_counting_loops(&mut state, &packed, &piece_options, None)?;
            let words =
                |segments: &[Segment]| -> usize { segments.iter().map(|s| s.words.len()).sum() };
            let first = LoopRetry {
                loops,
                words: words(&piece),
            };
            // A decoder loop lost the rest of the piece; the retry goes without the text before
            // it, which the loop often started by copying.
            if let Some(retry_options) =
                first.options(&piece_options, options.initial_prompt.clone())
            {
                let (retry, retry_loops) =
                    self.decode_counting_loops(&mut state, &packed, &retry_options, None)?;
                tracing::debug!(
                    loops,
                    retry_loops,
                    words = first.words,
                    retry_words = words(&retry),
                    "decoded a looping piece again"
                );
                if first.retry_is_better(retry_loops, words(&retry)) {
                    piece = retry;
                }
            }
            segments.extend(piece);
            done += chunk.iter().map(|r| r.end - r.start).sum::<f64>();
            if let Some(cb) = progress.as_mut() {
                cb((100.0 * done / total.max(1e-9)).round() as i32);
            }
        }
        Ok(segments)
    }

    /// A decoding state of this model for a caller that decodes many times (a live stream).
    pub fn new_state(&self) -> Result<DecoderState> {
        Ok(DecoderState {
            state: self.ctx.create_state()?,
        })
    }

    /// Decodes already-gated audio and maps times back to the original clip.
    pub fn decode_packed(
        &self,
        packed: &PackedSpeech,
        options: &DecodeOptions,
        progress: Option<Box<dyn FnMut(i32) + Send>>,
    ) -> Result<Vec<Segment>> {
        let mut state = self.new_state()?;
        self.decode_packed_with(&mut state, packed, options, progress)
    }

    /// [`decode_packed`](Self::decode_packed) in a caller-owned state. With `use_context` off,
    /// nothing of an earlier decode in the same state leaks into this one.
    pub fn decode_packed_with(
        &self,
        decoder: &mut DecoderState,
        packed: &PackedSpeech,
        options: &DecodeOptions,
        progress: Option<Box<dyn FnMut(i32) + Send>>,
    ) -> Result<Vec<Segment>> {
        Ok(self
            .decode_counting_loops(decoder, packed, options, progress)?
            .0)
    }

    /// [`decode_packed_with`](Self::decode_packed_with), also counting the decoder loops its
    /// guards cut out (a segment collapsed to its first repetitions, or one that repeated the
    /// segment before it).
    pub(crate) fn decode_counting_loops(
        &self,
        decoder: &mut DecoderState,
        packed: &PackedSpeech,
        options: &DecodeOptions,
        progress: Option<Box<dyn FnMut(i32) + Send>>,
    ) -> Result<(Vec<Segment>, usize)> {
        let mut loops = 0;
        let state = &mut decoder.state;
        let strategy = if options.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: options.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 2 }
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(self.threads as i32);
        let language = options.language.as_str();
        if language == "auto" {
            params.set_language(None);
        } else {
            params.set_language(Some(language));
        }
        params.set_translate(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_token_timestamps(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_no_context(!options.use_context);
        params.set_temperature(0.0);
        params.set_temperature_inc(if options.temperature_increment > 0.0 {
            options.temperature_increment.clamp(0.1, 1.0)
        } else {
            0.0
        });
        params.set_entropy_thold(2.4);
        params.set_logprob_thold(-1.0);
        params.set_no_speech_thold(options.no_speech_threshold);
        if let Some(prompt) = options.initial_prompt.as_deref().filter(|p| !p.is_empty()) {
            params.set_initial_prompt(prompt);
        }
        if let Some(mut cb) = progress {
            params.set_progress_callback_safe(move |p: i32| cb(p));
        }
        // A decoder loop runs until whisper's 224-token limit; no speech needs more than about
        // eight tokens a second, so the cap bounds what a loop costs without cutting speech.
        params.set_max_tokens(max_tokens_for(packed.samples.len()));
        if options.fit_encoder_to_audio {
            if let Some(audio_ctx) = fitted_audio_ctx(packed.samples.len()) {
                params.set_audio_ctx(audio_ctx);
            }
        }
        state.full(params, &packed.samples)?;
        let eot = self.ctx.token_eot();
        let mut segments = Vec::new();
        let mut previous_words: Vec<String> = Vec::new();
        for seg in state.as_iter() {
            let no_speech = seg.no_speech_probability();
            // With an encoder fitted to short audio, whisper still closes an unterminated
            // segment at the end of its 30 s window and spreads the token times over it;
            // squeeze them back onto the audio that was decoded.
            let (seg_t0, seg_t1) = (seg.start_timestamp() as f64, seg.end_timestamp() as f64);
            let audio_cs = packed.samples.len() as f64 / 160.0;
            let squeeze = if seg_t1 > audio_cs + 10.0 && seg_t0 < audio_cs {
                (audio_cs - seg_t0) / (seg_t1 - seg_t0)
            } else {
                1.0
            };
            let fit_time = |t: i64| (seg_t0 + (t as f64 - seg_t0).max(0.0) * squeeze) / 100.0;
            let mut words: Vec<Word> = Vec::new();
            let mut current: Option<(Vec<u8>, f64, f64, Vec<f32>)> = None;
            let mut all_p = Vec::new();
            for i in 0..seg.n_tokens() {
                let Some(token) = seg.get_token(i) else {
                    continue;
                };
                let data = token.token_data();
                if data.id >= eot {
                    continue;
                }
                let bytes = token.to_bytes().unwrap_or_default();
                // Packed times; a word is mapped back as a whole in `push_word`.
                let (t0, t1) = (fit_time(data.t0), fit_time(data.t1));
                all_p.push(data.p);
                let starts_word = bytes.first() == Some(&b' ') || current.is_none();
                if starts_word {
                    if let Some(w) = current.take() {
                        push_word(&mut words, packed, w);
                    }
                    current = Some((bytes.to_vec(), t0, t1, vec![data.p]));
                } else if let Some((text, _, end, ps)) = current.as_mut() {
                    text.extend_from_slice(bytes);
                    *end = t1.max(*end);
                    ps.push(data.p);
                }
            }
            if let Some(w) = current.take() {
                push_word(&mut words, packed, w);
            }
            let (span_start, span_end) = packed.span_to_original(
                fit_time(seg.start_timestamp()),
                fit_time(seg.end_timestamp()),
            );
            spread_collapsed_times(&mut words, span_start, span_end);
            let mean_p = if all_p.is_empty() {
                0.0
            } else {
                all_p.iter().sum::<f32>() / all_p.len() as f32
            };
            let text = seg
                .to_str_lossy()
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            tracing::trace!(
                t0 = seg.start_timestamp(),
                t1 = seg.end_timestamp(),
                no_speech,
                %text,
                words = ?words.iter().map(|w| (w.word.as_str(), w.start, w.end)).collect::<Vec<_>>(),
                "decoded segment"
            );
            if text.is_empty() || words.is_empty() {
                continue;
            }
            if guard::is_credit_hallucination(&text) {
                tracing::debug!(%text, "dropping subtitle-credit hallucination");
                continue;
            }
            if guard::is_probably_not_speech(no_speech, mean_p, options.no_speech_threshold) {
                tracing::debug!(%text, no_speech, mean_p, "dropping non-speech segment");
                continue;
            }
            for word in &mut words {
                if let Some(cut) = guard::cut_character_loop(&word.word) {
                    tracing::debug!(word = %word.word, "cutting a loop inside a word");
                    // A long loop ran on in place of the speech after it; a short one
                    // ("300-300-300-300-300") only doubled a piece of what was said.
                    if word.word.chars().count() >= cut.chars().count() + LONG_WORD_LOOP_CHARS {
                        loops += 1;
                    }
                    word.word = cut;
                }
            }
            let texts: Vec<String> = words.iter().map(|w| w.word.clone()).collect();
            if guard::repeats_previous(&previous_words, &texts) {
                tracing::debug!(%text, "dropping a segment that repeats the one before");
                loops += 1;
                continue;
            }
            let keep = guard::collapse_repetitions(&texts, 3);
            let words = if keep.len() < words.len() {
                tracing::debug!(%text, "collapsing a repetition loop");
                loops += 1;
                keep.into_iter().map(|i| words[i].clone()).collect()
            } else {
                words
            };
            let text = words
                .iter()
                .map(|w| w.word.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let (start, end) = packed.span_to_original(
                seg.start_timestamp() as f64 / 100.0,
                seg.end_timestamp() as f64 / 100.0,
            );
            previous_words = words.iter().map(|w| w.word.clone()).collect();
            segments.push(Segment {
                start: words.first().map_or(start, |w| w.start.min(start)),
                end: end.max(words.last().map_or(end, |w| w.end)),
                text,
                words,
            });
        }
        Ok((segments, loops))
    }

    /// Transcribes a file end to end into a [`Transcript`].
    pub fn transcribe_file(
        &self,
        path: &Path,
        options: &DecodeOptions,
        progress: Option<Box<dyn FnMut(i32) + Send>>,
    ) -> Result<Transcript> {
        let started = Instant::now();
        let (pcm, _info) = crate::audio::load_file(path)?;
        let decode_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let segments = self.transcribe(&pcm, options, progress)?;
        let transcribe_s = started.elapsed().as_secs_f64();
        Ok(Transcript {
            text: Transcript::join_text(&segments),
            language: options.language.clone(),
            duration_s: pcm.duration_s(),
            segments,
            model: self.model_name.clone(),
            timings: Timings {
                decode_s,
                transcribe_s,
            },
        })
    }
}

/// The most tokens one segment of `samples` of 16 kHz audio may take: ten a second (fast
/// Swedish speech with digits is about six) and a floor for short words with punctuation.
fn max_tokens_for(samples: usize) -> i32 {
    const PER_SECOND: usize = 10;
    const FLOOR: usize = 24;
    i32::try_from(samples / 16_000 * PER_SECOND + FLOOR).unwrap_or(i32::MAX)
}

/// Encoder positions (20 ms each, 1500 in whisper's 30 s window) covering `samples` of 16 kHz
/// audio and a margin, so the last word is not cut; `None` when that is the whole window.
fn fitted_audio_ctx(samples: usize) -> Option<i32> {
    const FULL: usize = 1500;
    const MARGIN: usize = 64;
    let needed = samples.div_ceil(320) + MARGIN;
    (needed < FULL).then_some(needed as i32)
}

/// Whisper's token times sometimes collapse (every word of a segment within a fraction of a
/// second while the segment spans several), as they do with an encoder fitted to short audio.
/// Such words are laid out again over the segment in proportion to their length: rough, but
/// ordered and within the audio, which is what the live commit and trim logic needs.
fn spread_collapsed_times(words: &mut [Word], start: f64, end: f64) {
    const COLLAPSED_SHARE: f64 = 0.3;
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return;
    };
    let span = end - start;
    if words.len() < 2 || span <= 0.0 || last.end - first.start >= COLLAPSED_SHARE * span {
        return;
    }
    let weight = |w: &Word| w.word.chars().count() as f64 + 1.0;
    let total: f64 = words.iter().map(weight).sum();
    let mut t = start;
    for word in words.iter_mut() {
        let share = span * weight(word) / total;
        word.start = t;
        word.end = t + share;
        t += share;
    }
}

fn push_word(
    words: &mut Vec<Word>,
    packed: &PackedSpeech,
    (bytes, start, end, ps): (Vec<u8>, f64, f64, Vec<f32>),
) {
    let (start, end) = packed.span_to_original(start, end);
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if text.is_empty() {
        return;
    }
    let p = ps.iter().sum::<f32>() / ps.len().max(1) as f32;
    words.push(Word {
        word: text,
        start,
        end: end.max(start),
        p,
    });
}

/// Refuses files that are not ggml models before whisper.cpp sees them (it aborts on some).
fn check_ggml_magic(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| Error::Model {
            path: path.to_path_buf(),
            reason: format!("cannot read: {e}"),
        })?;
    if u32::from_le_bytes(magic) != 0x6767_6d6c {
        return Err(Error::Model {
            path: path.to_path_buf(),
            reason: "not a whisper.cpp ggml model (bad magic)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_is_retried_once_with_the_base_prompt_and_fallback_temperatures() {
        let options = DecodeOptions {
            initial_prompt: Some("Bas. Tidigare text".into()),
            temperature_increment: 0.0,
            ..DecodeOptions::default()
        };
        let clean = LoopRetry { loops: 0, words: 9 };
        assert!(clean.options(&options, Some("Bas.".into())).is_none());
        let looped = LoopRetry { loops: 1, words: 3 };
        let retry = looped
            .options(&options, Some("Bas.".into()))
            .expect("a loop is retried");
        assert_eq!(retry.initial_prompt.as_deref(), Some("Bas."));
        assert!(retry.temperature_increment > 0.0);
        // A decode that fell back on temperatures itself is not decoded a third time.
        assert!(looped.options(&retry, Some("Bas.".into())).is_none());
    }

    #[test]
    fn the_retry_is_kept_when_it_loops_less_or_says_more() {
        let first = LoopRetry { loops: 2, words: 5 };
        assert!(first.retry_is_better(1, 2));
        assert!(first.retry_is_better(2, 6));
        assert!(!first.retry_is_better(2, 5));
        assert!(!first.retry_is_better(3, 40));
    }

    fn segment(text: &str) -> Segment {
        Segment {
            start: 0.0,
            end: 1.0,
            text: text.into(),
            words: Vec::new(),
        }
    }

    #[test]
    fn a_piece_keeps_the_whole_prompt_and_the_last_words_before_it() {
        let before = [
            segment("rubrik aktuellt sextiosjuårig man med känd hypertoni"),
            segment(" sedan tjugotjugo som kommer på årskontroll punkt mår bra punkt inga bröstsmärtor eller andfåddhet punkt"),
        ];
        let prompt = piece_prompt(Some("rubrik Status punkt"), Some(&before)).expect("a prompt");
        assert!(prompt.starts_with("rubrik Status punkt "), "{prompt}");
        assert!(
            prompt.ends_with(" inga bröstsmärtor eller andfåddhet punkt"),
            "{prompt}"
        );
        let tail = &prompt["rubrik Status punkt ".len()..];
        assert!(tail.chars().count() <= PIECE_CONTEXT_CHARS, "{tail}");
        assert!(
            !tail.contains("sextiosjuårig"),
            "only the last words: {tail}"
        );
        // Without context only the prompt; with neither, no prompt at all.
        assert_eq!(
            piece_prompt(Some("rubrik Status punkt"), None).as_deref(),
            Some("rubrik Status punkt")
        );
        assert_eq!(
            piece_prompt(None, Some(&[segment("mår bra punkt")])).as_deref(),
            Some("mår bra punkt")
        );
        assert_eq!(piece_prompt(None, Some(&[])), None);
        assert_eq!(piece_prompt(Some(" "), None), None);
    }

    fn word(w: &str, t: f64) -> Word {
        Word {
            word: w.into(),
            start: t,
            end: t,
            p: 0.9,
        }
    }

    #[test]
    fn collapsed_word_times_are_spread_over_the_segment() {
        let mut words = vec![
            word("Patienten", 0.0),
            word("har", 0.06),
            word("feber", 0.06),
        ];
        spread_collapsed_times(&mut words, 0.0, 4.0);
        assert!((words[0].end - 2.0).abs() < 1e-9, "{words:?}");
        assert!((words[2].end - 4.0).abs() < 1e-9, "{words:?}");
        // Plausible times are left alone.
        let mut fine = vec![word("ett", 0.0), word("två", 1.5)];
        fine[1].end = 2.0;
        spread_collapsed_times(&mut fine, 0.0, 2.5);
        assert_eq!(fine[1].start, 1.5);
    }

    #[test]
    fn token_budget_grows_with_the_audio() {
        assert_eq!(max_tokens_for(0), 24);
        assert_eq!(max_tokens_for(16_000 * 10), 124);
    }
}
