//! CTranslate2 Whisper → ggml conversion: maps CTranslate2's variable names and fused attention
//! projections onto the tensors whisper.cpp's loader expects, and writes the ggml file atomically.
//! Entry point: [`convert_ct2_dir`].

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use super::ct2::{Ct2Model, Ct2Variable};
use super::ggml::{GgmlWriter, Hparams, TensorType, GGML_QNT_VERSION, GGML_QNT_VERSION_FACTOR};
use super::{mel, tokens};
use crate::{Error, Result};

/// Storage type of the large matrices in the converted model. (f32 is not offered: whisper.cpp
/// 1.8 aborts in the encoder's convolution with an all-f32 model.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// Half precision, lossless from CTranslate2's float16 weights.
    F16,
    /// ggml's 8-bit blocks (32 values share an f16 scale); about half the size of f16.
    Q8_0,
}

impl GgmlType {
    /// The `ftype` hyperparameter whisper.cpp decodes (`ggml_ftype`, plus
    /// `GGML_QNT_VERSION * 1000` for quantized files, as whisper.cpp's quantizer writes it).
    pub fn ftype(self) -> i32 {
        match self {
            Self::F16 => 1,
            Self::Q8_0 => 7 + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR,
        }
    }

    fn matrix_type(self) -> TensorType {
        match self {
            Self::F16 => TensorType::F16,
            Self::Q8_0 => TensorType::Q8_0,
        }
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
        })
    }
}

impl FromStr for GgmlType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(Self::F16),
            "q8_0" => Ok(Self::Q8_0),
            _ => Err(Error::Invalid(format!(
                "unknown ggml model type {s:?} (expected f16 or q8_0)"
            ))),
        }
    }
}

/// What [`convert_ct2_dir`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionReport {
    /// Tensors written (245 for Whisper base).
    pub tensors: usize,
    pub ftype: GgmlType,
    /// Size of the output file.
    pub bytes: u64,
    /// Tokens written to the vocabulary section (the byte-level BPE tokens; whisper.cpp adds the
    /// special tokens itself).
    pub n_tokens: usize,
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
}

/// Converts the CTranslate2 Whisper model in `ct2_dir` (`model.bin` and `vocabulary.txt` or
/// `vocabulary.json`) to a whisper.cpp ggml file at `out`, with the large matrices in `ty`.
///
/// The file is written to a temporary file beside `out`, synced and renamed into place, so `out`
/// is either the complete new model or untouched.
pub fn convert_ct2_dir(ct2_dir: &Path, out: &Path, ty: GgmlType) -> Result<ConversionReport> {
    let model = Ct2Model::read(&ct2_dir.join("model.bin"))?;
    if model.spec != "WhisperSpec" {
        return Err(Error::Ct2Format(format!(
            "{}: spec is {:?}, not a Whisper model",
            ct2_dir.display(),
            model.spec
        )));
    }
    let vocab = read_vocabulary(ct2_dir)?;
    let plan = Plan::new(&model, vocab, ty)?;
    let report = write_atomically(out, |w, path| plan.write(w, path))?;
    tracing::info!(
        src = %ct2_dir.display(),
        out = %out.display(),
        ftype = %ty,
        tensors = report.0,
        bytes = report.1,
        "converted CTranslate2 Whisper model to ggml"
    );
    Ok(plan.report(report.0, report.1))
}

/// Reads CTranslate2's vocabulary: `vocabulary.txt` (one token a line, older converters) or
/// `vocabulary.json` (a JSON array, newer ones).
fn read_vocabulary(dir: &Path) -> Result<Vec<String>> {
    let txt = dir.join("vocabulary.txt");
    let json = dir.join("vocabulary.json");
    if txt.is_file() {
        let text = fs::read_to_string(&txt).map_err(|e| Error::io(&txt, e))?;
        let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        if text.ends_with('\n') {
            lines.pop();
        }
        Ok(lines)
    } else if json.is_file() {
        let text = fs::read_to_string(&json).map_err(|e| Error::io(&json, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Ct2Format(format!("{}: {e}", json.display())))
    } else {
        Err(Error::Ct2Format(format!(
            "{}: no vocabulary.txt or vocabulary.json",
            dir.display()
        )))
    }
}

/// Writes `out` through a temporary file in the same directory; returns what `body` returns
/// (tensor count) and the final size.
fn write_atomically(
    out: &Path,
    body: impl FnOnce(&mut BufWriter<&File>, &Path) -> Result<usize>,
) -> Result<(usize, u64)> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let file_name = out
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("{}: not a file path", out.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name.to_string_lossy()))
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let tmp_path = tmp.path().to_owned();
    let (tensors, bytes) = {
        let file = tmp.as_file();
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let tensors = body(&mut w, &tmp_path)?;
        w.flush().map_err(|e| Error::io(&tmp_path, e))?;
        drop(w);
        file.sync_all().map_err(|e| Error::io(&tmp_path, e))?;
        let bytes = file.metadata().map_err(|e| Error::io(&tmp_path, e))?.len();
        (tensors, bytes)
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(&tmp_path, e))?;
    }
    tmp.persist(out).map_err(|e| Error::io(out, e.error))?;
    #[cfg(unix)]
    {
        // Make the rename itself durable.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok((tensors, bytes))
}

/// Storage type class of an output tensor; whisper.cpp's loader fixes it per tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Biases, norms, positional embeddings: always f32.
    F32,
    /// Convolution kernels: always f16.
    Conv,
    /// 2-D weight matrices (token embedding included): the model type.
    Matrix,
}

/// Where an output tensor's values come from.
#[derive(Debug)]
enum Source<'a> {
    /// A whole CTranslate2 variable (possibly reshaped).
    Var(&'a Ct2Variable),
    /// Rows `start..end` of a CTranslate2 variable (a part of a fused projection).
    Rows(&'a Ct2Variable, usize, usize),
    /// Whisper's sinusoidal encoder positions, for a model that does not store them.
    Sinusoids { length: usize, channels: usize },
}

#[derive(Debug)]
struct Planned<'a> {
    name: String,
    /// Row-major shape.
    shape: Vec<usize>,
    kind: Kind,
    source: Source<'a>,
}

impl Planned<'_> {
    fn values(&self) -> Result<Vec<f32>> {
        match self.source {
            Source::Var(v) => Ok(v.to_f32()),
            Source::Rows(v, start, end) => v.rows_to_f32(start, end),
            Source::Sinusoids { length, channels } => Ok(sinusoids(length, channels)),
        }
    }
}

/// Whisper's encoder positional embedding: `[sin(t·ω_k) | cos(t·ω_k)]` with geometrically spaced
/// ω_k from 1 to 1/10000, `length` rows × `channels` columns.
fn sinusoids(length: usize, channels: usize) -> Vec<f32> {
    let half = channels / 2;
    let inc = 10_000f64.ln() / (half.max(2) - 1) as f64;
    let mut out = Vec::with_capacity(length * channels);
    for t in 0..length {
        let scaled = (0..half).map(|k| t as f64 * (-inc * k as f64).exp());
        let scaled: Vec<f64> = scaled.collect();
        out.extend(scaled.iter().map(|x| x.sin() as f32));
        out.extend(scaled.iter().map(|x| x.cos() as f32));
    }
    out
}

/// Collects output tensors, checking each CTranslate2 variable's shape and type on the way.
#[derive(Debug)]
struct Builder<'a> {
    model: &'a Ct2Model,
    used: BTreeSet<&'a str>,
    tensors: Vec<Planned<'a>>,
}

impl<'a> Builder<'a> {
    fn var(&mut self, name: &str, shape: &[usize]) -> Result<&'a Ct2Variable> {
        let v = self.model.get(name)?;
        if v.shape != shape {
            return Err(Error::Ct2Format(format!(
                "{name} has shape {:?}, expected {shape:?}",
                v.shape
            )));
        }
        if !v.is_float() {
            return Err(Error::Convert(format!(
                "{name} is {:?}: only float16/bfloat16/float32 CTranslate2 models can be \
                 converted, not int8/int16-quantized ones",
                v.dtype
            )));
        }
        self.used.insert(v.name.as_str());
        Ok(v)
    }

    fn push(&mut self, name: String, shape: Vec<usize>, kind: Kind, source: Source<'a>) {
        self.tensors.push(Planned {
            name,
            shape,
            kind,
            source,
        });
    }

    /// A whole variable under a new name, reshaped to `out_shape` (same element count).
    fn whole(
        &mut self,
        dst: String,
        src: &str,
        shape: &[usize],
        out_shape: &[usize],
        kind: Kind,
    ) -> Result<()> {
        let v = self.var(src, shape)?;
        self.push(dst, out_shape.to_vec(), kind, Source::Var(v));
        Ok(())
    }

    /// `src/{gamma,beta}` → `dst.{weight,bias}`.
    fn layer_norm(&mut self, src: &str, dst: &str, s: usize) -> Result<()> {
        self.whole(
            format!("{dst}.weight"),
            &format!("{src}/gamma"),
            &[s],
            &[s],
            Kind::F32,
        )?;
        self.whole(
            format!("{dst}.bias"),
            &format!("{src}/beta"),
            &[s],
            &[s],
            Kind::F32,
        )
    }

    /// `src/{weight,bias}` (`n_out × n_in`) → `dst.{weight,bias}`.
    fn linear(&mut self, src: &str, dst: &str, n_out: usize, n_in: usize) -> Result<()> {
        let shape = [n_out, n_in];
        self.whole(
            format!("{dst}.weight"),
            &format!("{src}/weight"),
            &shape,
            &shape,
            Kind::Matrix,
        )?;
        self.whole(
            format!("{dst}.bias"),
            &format!("{src}/bias"),
            &[n_out],
            &[n_out],
            Kind::F32,
        )
    }

    /// A fused projection `src` (`parts.len()·s × s`) split row-wise into `dst.{part}`. Whisper's
    /// key projections have no bias: CTranslate2 stores zeros there, which are checked and
    /// dropped.
    fn fused(&mut self, src: &str, dst: &str, parts: &[&str], s: usize) -> Result<()> {
        let n = parts.len() * s;
        let w = self.var(&format!("{src}/weight"), &[n, s])?;
        let b = self.var(&format!("{src}/bias"), &[n])?;
        for (k, part) in parts.iter().enumerate() {
            let (start, end) = (k * s, (k + 1) * s);
            self.push(
                format!("{dst}.{part}.weight"),
                vec![s, s],
                Kind::Matrix,
                Source::Rows(w, start, end),
            );
            if *part == "key" {
                ensure_zero(b, start, end)?;
            } else {
                self.push(
                    format!("{dst}.{part}.bias"),
                    vec![s],
                    Kind::F32,
                    Source::Rows(b, start, end),
                );
            }
        }
        Ok(())
    }

    /// Self-attention (`attn`/`attn_ln`) and feed-forward (`mlp`/`mlp_ln`) of one block.
    fn attention_and_mlp(&mut self, src: &str, dst: &str, s: usize) -> Result<()> {
        let sa = format!("{src}/self_attention");
        self.fused(
            &format!("{sa}/linear_0"),
            &format!("{dst}.attn"),
            &["query", "key", "value"],
            s,
        )?;
        self.linear(&format!("{sa}/linear_1"), &format!("{dst}.attn.out"), s, s)?;
        self.layer_norm(&format!("{sa}/layer_norm"), &format!("{dst}.attn_ln"), s)?;
        self.layer_norm(
            &format!("{src}/ffn/layer_norm"),
            &format!("{dst}.mlp_ln"),
            s,
        )?;
        self.linear(
            &format!("{src}/ffn/linear_0"),
            &format!("{dst}.mlp.0"),
            4 * s,
            s,
        )?;
        self.linear(
            &format!("{src}/ffn/linear_1"),
            &format!("{dst}.mlp.2"),
            s,
            4 * s,
        )
    }
}

/// Fails unless rows `start..end` of bias `b` are all zero (a key bias whisper.cpp has no slot for).
fn ensure_zero(b: &Ct2Variable, start: usize, end: usize) -> Result<()> {
    let max = b
        .rows_to_f32(start, end)?
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()));
    if max != 0.0 {
        return Err(Error::Convert(format!(
            "{}: the key bias (elements {start}..{end}) is not zero (max |b| = {max}); Whisper \
             has no key bias and whisper.cpp has no place for one",
            b.name
        )));
    }
    Ok(())
}

/// Number of `{side}/layer_N/` blocks; they must be numbered 0..N without gaps.
fn count_layers(model: &Ct2Model, side: &str) -> Result<usize> {
    let prefix = format!("{side}/layer_");
    let ids: BTreeSet<usize> = model
        .variables
        .keys()
        .filter_map(|name| {
            let rest = name.strip_prefix(&prefix)?;
            let (id, _) = rest.split_once('/')?;
            id.parse().ok()
        })
        .collect();
    let n = ids.len();
    if n == 0 || ids.iter().copied().ne(0..n) {
        return Err(Error::Ct2Format(format!(
            "{side} layers are {ids:?}, expected 0..N with N > 0"
        )));
    }
    Ok(n)
}

/// Attention heads from CTranslate2's `{side}/num_heads`; Whisper uses 64-wide heads, which is
/// the fallback for converters that did not store the count.
fn count_heads(model: &Ct2Model, side: &str, state: usize) -> Result<usize> {
    let name = format!("{side}/num_heads");
    match model.variables.get(&name) {
        Some(v) => usize::try_from(v.scalar_int()?)
            .ok()
            .filter(|&h| h > 0 && state % h == 0)
            .ok_or_else(|| Error::Ct2Format(format!("{name} does not divide the width {state}"))),
        None => {
            tracing::warn!("{name} missing; assuming 64-wide heads");
            Ok((state / 64).max(1))
        }
    }
}

/// First dimension(s) of a variable, with a clear error for the wrong rank.
fn dims<const N: usize>(v: &Ct2Variable) -> Result<[usize; N]> {
    <[usize; N]>::try_from(v.shape.as_slice()).map_err(|_| {
        Error::Ct2Format(format!(
            "{} has shape {:?}, expected rank {N}",
            v.name, v.shape
        ))
    })
}

fn to_i32(v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::Ct2Format(format!("dimension {v} too large")))
}

/// Everything to be written, derived and checked before the output file is created.
#[derive(Debug)]
struct Plan<'a> {
    hparams: Hparams,
    ty: GgmlType,
    tokens: Vec<Vec<u8>>,
    tensors: Vec<Planned<'a>>,
}

impl<'a> Plan<'a> {
    fn new(model: &'a Ct2Model, vocab: Vec<String>, ty: GgmlType) -> Result<Self> {
        let [n_vocab, n_text_state] = dims(model.get("decoder/embeddings/weight")?)?;
        let [n_audio_state, n_mels, kernel] = dims(model.get("encoder/conv1/weight")?)?;
        let [n_text_ctx, _] = dims(model.get("decoder/position_encodings/encodings")?)?;
        let enc_pe = model.variables.get("encoder/position_encodings/encodings");
        let n_audio_ctx = match enc_pe {
            Some(v) => dims::<2>(v)?[0],
            None => 1500,
        };
        if n_audio_state != n_text_state || kernel != 3 {
            return Err(Error::Convert(format!(
                "unsupported Whisper variant: encoder width {n_audio_state}, decoder width \
                 {n_text_state}, conv kernel {kernel}"
            )));
        }
        let s = n_audio_state;
        let n_audio_layer = count_layers(model, "encoder")?;
        let n_text_layer = count_layers(model, "decoder")?;
        let n_audio_head = count_heads(model, "encoder", s)?;
        let n_text_head = count_heads(model, "decoder", s)?;

        if vocab.len() != n_vocab {
            return Err(Error::Ct2Format(format!(
                "vocabulary has {} tokens but the embedding has {n_vocab} rows",
                vocab.len()
            )));
        }
        let n_tokens = vocab
            .iter()
            .position(|t| t == "<|endoftext|>")
            .ok_or_else(|| Error::Ct2Format("vocabulary has no <|endoftext|> token".into()))?;
        let tokens = vocab[..n_tokens]
            .iter()
            .map(|t| tokens::token_to_bytes(t))
            .collect::<Result<Vec<_>>>()?;

        let hparams = Hparams {
            n_vocab: to_i32(n_vocab)?,
            n_audio_ctx: to_i32(n_audio_ctx)?,
            n_audio_state: to_i32(s)?,
            n_audio_head: to_i32(n_audio_head)?,
            n_audio_layer: to_i32(n_audio_layer)?,
            n_text_ctx: to_i32(n_text_ctx)?,
            n_text_state: to_i32(s)?,
            n_text_head: to_i32(n_text_head)?,
            n_text_layer: to_i32(n_text_layer)?,
            n_mels: to_i32(n_mels)?,
            ftype: ty.ftype(),
        };

        let mut b = Builder {
            model,
            used: BTreeSet::new(),
            tensors: Vec::new(),
        };
        // Encoder.
        match enc_pe {
            Some(_) => b.whole(
                "encoder.positional_embedding".into(),
                "encoder/position_encodings/encodings",
                &[n_audio_ctx, s],
                &[n_audio_ctx, s],
                Kind::F32,
            )?,
            None => b.push(
                "encoder.positional_embedding".into(),
                vec![n_audio_ctx, s],
                Kind::F32,
                Source::Sinusoids {
                    length: n_audio_ctx,
                    channels: s,
                },
            ),
        }
        for (conv, n_in) in [("conv1", n_mels), ("conv2", s)] {
            let shape = [s, n_in, 3];
            b.whole(
                format!("encoder.{conv}.weight"),
                &format!("encoder/{conv}/weight"),
                &shape,
                &shape,
                Kind::Conv,
            )?;
            b.whole(
                format!("encoder.{conv}.bias"),
                &format!("encoder/{conv}/bias"),
                &[s],
                &[s, 1],
                Kind::F32,
            )?;
        }
        b.layer_norm("encoder/layer_norm", "encoder.ln_post", s)?;
        for i in 0..n_audio_layer {
            b.attention_and_mlp(
                &format!("encoder/layer_{i}"),
                &format!("encoder.blocks.{i}"),
                s,
            )?;
        }
        // Decoder.
        let pe_shape = [n_text_ctx, s];
        b.whole(
            "decoder.positional_embedding".into(),
            "decoder/position_encodings/encodings",
            &pe_shape,
            &pe_shape,
            Kind::F32,
        )?;
        let emb_shape = [n_vocab, s];
        b.whole(
            "decoder.token_embedding.weight".into(),
            "decoder/embeddings/weight",
            &emb_shape,
            &emb_shape,
            Kind::Matrix,
        )?;
        b.layer_norm("decoder/layer_norm", "decoder.ln", s)?;
        for i in 0..n_text_layer {
            let (src, dst) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
            b.attention_and_mlp(&src, &dst, s)?;
            let ca = format!("{src}/attention");
            b.linear(
                &format!("{ca}/linear_0"),
                &format!("{dst}.cross_attn.query"),
                s,
                s,
            )?;
            b.fused(
                &format!("{ca}/linear_1"),
                &format!("{dst}.cross_attn"),
                &["key", "value"],
                s,
            )?;
            b.linear(
                &format!("{ca}/linear_2"),
                &format!("{dst}.cross_attn.out"),
                s,
                s,
            )?;
            b.layer_norm(
                &format!("{ca}/layer_norm"),
                &format!("{dst}.cross_attn_ln"),
                s,
            )?;
        }

        // Every float tensor must have found a place; anything left over means a model this
        // mapping does not understand (and silently dropping weights would give garbage).
        if let Some(v) = model
            .variables
            .values()
            .find(|v| v.is_float() && !v.shape.is_empty() && !b.used.contains(v.name.as_str()))
        {
            return Err(Error::Convert(format!(
                "unexpected variable {} {:?}: not part of the Whisper architecture whisper.cpp \
                 loads",
                v.name, v.shape
            )));
        }

        Ok(Self {
            hparams,
            ty,
            tokens,
            tensors: b.tensors,
        })
    }

    fn write(&self, w: impl Write, path: &Path) -> Result<usize> {
        let mut g = GgmlWriter::new(w, path, &self.hparams)?;
        let n_mels = self.hparams.n_mels as usize;
        // Whisper's STFT: 16 kHz, 400-sample window → 201 frequency bins.
        g.mel_filters(n_mels, 201, &mel::mel_filters(16_000, 400, n_mels))?;
        g.vocab(&self.tokens)?;
        for t in &self.tensors {
            let ty = match t.kind {
                Kind::F32 => TensorType::F32,
                Kind::Conv => TensorType::F16,
                Kind::Matrix => self.ty.matrix_type(),
            };
            g.tensor(&t.name, &t.shape, ty, &t.values()?)?;
        }
        let n = g.tensor_count();
        g.finish()?;
        Ok(n)
    }

    fn report(&self, tensors: usize, bytes: u64) -> ConversionReport {
        let h = &self.hparams;
        ConversionReport {
            tensors,
            ftype: self.ty,
            bytes,
            n_tokens: self.tokens.len(),
            n_vocab: h.n_vocab,
            n_audio_ctx: h.n_audio_ctx,
            n_audio_state: h.n_audio_state,
            n_audio_head: h.n_audio_head,
            n_audio_layer: h.n_audio_layer,
            n_text_ctx: h.n_text_ctx,
            n_text_state: h.n_text_state,
            n_text_head: h.n_text_head,
            n_text_layer: h.n_text_layer,
            n_mels: h.n_mels,
        }
    }
}
