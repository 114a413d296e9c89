//! CTranslate2 Whisper → ggml conversion: maps CTranslate2's variable names and fused attention
//! projections onto the tensors whisper.cpp's loader expects, and writes the ggml file atomically.
//! Entry point: [`convert_ct2_dir`].

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use super::ct2::{Ct2DType, Ct2Model, Ct2Variable};
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

    /// The stored bytes, when the source is f16 already (copied verbatim into f16 tensors).
    fn f16_bytes(&self) -> Option<&[u8]> {
        match self.source {
            Source::Var(v) if v.dtype == Ct2DType::F16 => Some(&v.data),
            Source::Rows(v, start, end) if v.dtype == Ct2DType::F16 => {
                let row = v.data.len() / v.shape.first().copied()?.max(1);
                v.data.get(start * row..end * row)
            }
            _ => None,
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
            match t.f16_bytes() {
                Some(raw) if ty == TensorType::F16 => g.tensor_bytes(&t.name, &t.shape, ty, raw)?,
                _ => g.tensor(&t.name, &t.shape, ty, &t.values()?)?,
            }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::ct2::{f16_var, write_model_bin};
    use crate::model::ggml::{inspect, read_tensor, GgmlSummary};

    /// Widths of the synthetic model: small, but 2-D rows stay multiples of 32 for q8_0.
    const S: usize = 32;
    const N_MELS: usize = 4;
    const AUDIO_CTX: usize = 6;
    const TEXT_CTX: usize = 5;
    const ENC_LAYERS: usize = 2;
    const DEC_LAYERS: usize = 1;

    /// Deterministic values in (-1, 1), different for every variable name.
    fn values(name: &str, n: usize) -> Vec<f32> {
        let mut s = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn vocab() -> Vec<String> {
        let mut v: Vec<String> = (0..=255u8).map(|b| tokens::bytes_to_token(&[b])).collect();
        v.push("Ġpatient".into());
        v.push("Ã¤r".into());
        for special in ["<|endoftext|>", "<|startoftranscript|>", "<|sv|>"] {
            v.push(special.into());
        }
        v
    }

    /// The variables of a tiny Whisper model in CTranslate2's layout (f16, zero key biases).
    fn ct2_vars() -> Vec<Ct2Variable> {
        let mut vars = Vec::new();
        let mut add = |name: &str, shape: &[usize]| {
            let n = shape.iter().product();
            let mut v = values(name, n);
            // CTranslate2 fuses q/k/v (and cross k/v) and fills the missing key bias with zeros.
            if name.ends_with("self_attention/linear_0/bias") {
                v[S..2 * S].fill(0.0);
            }
            if name.ends_with("/attention/linear_1/bias") {
                v[..S].fill(0.0);
            }
            vars.push(f16_var(name, shape, &v));
        };
        let n_vocab = vocab().len();
        let ln = |add: &mut dyn FnMut(&str, &[usize]), p: &str| {
            add(&format!("{p}/gamma"), &[S]);
            add(&format!("{p}/beta"), &[S]);
        };
        let lin = |add: &mut dyn FnMut(&str, &[usize]), p: &str, o: usize, i: usize| {
            add(&format!("{p}/weight"), &[o, i]);
            add(&format!("{p}/bias"), &[o]);
        };
        add("encoder/conv1/weight", &[S, N_MELS, 3]);
        add("encoder/conv1/bias", &[S]);
        add("encoder/conv2/weight", &[S, S, 3]);
        add("encoder/conv2/bias", &[S]);
        add("encoder/position_encodings/encodings", &[AUDIO_CTX, S]);
        ln(&mut add, "encoder/layer_norm");
        for side in ["encoder", "decoder"] {
            let n = if side == "encoder" {
                ENC_LAYERS
            } else {
                DEC_LAYERS
            };
            for i in 0..n {
                let p = format!("{side}/layer_{i}");
                lin(&mut add, &format!("{p}/self_attention/linear_0"), 3 * S, S);
                lin(&mut add, &format!("{p}/self_attention/linear_1"), S, S);
                ln(&mut add, &format!("{p}/self_attention/layer_norm"));
                lin(&mut add, &format!("{p}/ffn/linear_0"), 4 * S, S);
                lin(&mut add, &format!("{p}/ffn/linear_1"), S, 4 * S);
                ln(&mut add, &format!("{p}/ffn/layer_norm"));
                if side == "decoder" {
                    lin(&mut add, &format!("{p}/attention/linear_0"), S, S);
                    lin(&mut add, &format!("{p}/attention/linear_1"), 2 * S, S);
                    lin(&mut add, &format!("{p}/attention/linear_2"), S, S);
                    ln(&mut add, &format!("{p}/attention/layer_norm"));
                }
            }
        }
        add("decoder/embeddings/weight", &[n_vocab, S]);
        add("decoder/position_encodings/encodings", &[TEXT_CTX, S]);
        ln(&mut add, "decoder/layer_norm");
        for (name, heads) in [("encoder/num_heads", 2i16), ("decoder/num_heads", 2)] {
            vars.push(Ct2Variable {
                name: name.into(),
                shape: vec![],
                dtype: Ct2DType::I16,
                data: heads.to_le_bytes().to_vec(),
            });
        }
        vars.push(Ct2Variable {
            name: "decoder/scale_embeddings".into(),
            shape: vec![],
            dtype: Ct2DType::I8,
            data: vec![0],
        });
        vars
    }

    fn write_ct2_dir(dir: &Path, vars: &[Ct2Variable], vocab: &[String]) {
        let bin = write_model_bin(
            "WhisperSpec",
            3,
            vars,
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        );
        fs::write(dir.join("model.bin"), bin).expect("model.bin");
        fs::write(dir.join("vocabulary.txt"), vocab.join("\n") + "\n").expect("vocabulary");
    }

    fn tiny_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        write_ct2_dir(dir.path(), &ct2_vars(), &vocab());
        dir
    }

    /// Converted tensors by name: (ggml dims, type, values).
    type Tensors = BTreeMap<String, (Vec<usize>, TensorType, Vec<f32>)>;

    fn load(path: &Path) -> (GgmlSummary, Tensors) {
        let s = inspect(path).expect("inspect");
        let t = s
            .tensors
            .iter()
            .map(|t| {
                let v = read_tensor(path, t).expect("tensor");
                (t.name.clone(), (t.ne.clone(), t.ty, v))
            })
            .collect();
        (s, t)
    }

    fn src(name: &str, n: usize) -> Vec<f32> {
        // The f16 values CTranslate2 stored.
        values(name, n)
            .into_iter()
            .map(|x| half::f16::from_f32(x).to_f32())
            .collect()
    }

    #[test]
    fn tiny_model_round_trips_f16() {
        let dir = tiny_dir();
        let out = dir.path().join("out").join("ggml-tiny.bin");
        let report = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect("converts");
        let expected_tensors = 7 + 15 * ENC_LAYERS + 4 + 24 * DEC_LAYERS;
        assert_eq!(report.tensors, expected_tensors);
        assert_eq!(report.bytes, fs::metadata(&out).expect("out").len());
        assert_eq!(report.n_tokens, 258);
        assert_eq!(
            (report.n_vocab, report.n_audio_layer, report.n_text_layer),
            (261, 2, 1)
        );

        let (s, t) = load(&out);
        let h = s.hparams;
        assert_eq!(
            [
                h.n_vocab,
                h.n_audio_ctx,
                h.n_audio_state,
                h.n_audio_head,
                h.n_audio_layer
            ],
            [261, AUDIO_CTX as i32, S as i32, 2, ENC_LAYERS as i32]
        );
        assert_eq!(
            [
                h.n_text_ctx,
                h.n_text_state,
                h.n_text_head,
                h.n_text_layer,
                h.n_mels,
                h.ftype
            ],
            [
                TEXT_CTX as i32,
                S as i32,
                2,
                DEC_LAYERS as i32,
                N_MELS as i32,
                1
            ]
        );
        assert_eq!((s.n_mel, s.n_fft), (N_MELS, 201));
        assert_eq!(s.mel_filters, mel::mel_filters(16_000, 400, N_MELS));
        assert_eq!(s.vocab.len(), 258);
        assert_eq!(s.vocab[32], b" ");
        assert_eq!(s.vocab[10], b"\n");
        assert_eq!(s.vocab[256], b" patient");
        assert_eq!(s.vocab[257], "är".as_bytes());
        assert_eq!(s.tensors.len(), expected_tensors);

        // Names are exactly whisper.cpp's set (encoder key has no bias).
        let names: BTreeSet<&str> = t.keys().map(String::as_str).collect();
        for n in [
            "encoder.positional_embedding",
            "encoder.conv1.weight",
            "encoder.conv2.bias",
            "encoder.ln_post.weight",
            "encoder.blocks.1.attn.query.bias",
            "encoder.blocks.1.attn.key.weight",
            "encoder.blocks.1.attn.value.bias",
            "encoder.blocks.1.attn.out.weight",
            "encoder.blocks.1.attn_ln.bias",
            "encoder.blocks.1.mlp_ln.weight",
            "encoder.blocks.1.mlp.0.weight",
            "encoder.blocks.1.mlp.2.bias",
            "decoder.positional_embedding",
            "decoder.token_embedding.weight",
            "decoder.ln.bias",
            "decoder.blocks.0.cross_attn.query.weight",
            "decoder.blocks.0.cross_attn.key.weight",
            "decoder.blocks.0.cross_attn.value.bias",
            "decoder.blocks.0.cross_attn.out.bias",
            "decoder.blocks.0.cross_attn_ln.weight",
        ] {
            assert!(names.contains(n), "missing {n}");
        }
        assert!(!names.iter().any(|n| n.contains("key.bias")));

        // Types and ggml (innermost-first) shapes as whisper.cpp's loader creates them.
        let shape_ty = |n: &str| (t[n].0.clone(), t[n].1);
        assert_eq!(
            shape_ty("encoder.conv1.weight"),
            (vec![3, N_MELS, S], TensorType::F16)
        );
        assert_eq!(
            shape_ty("encoder.conv1.bias"),
            (vec![1, S], TensorType::F32)
        );
        assert_eq!(
            shape_ty("encoder.positional_embedding"),
            (vec![S, AUDIO_CTX], TensorType::F32)
        );
        assert_eq!(
            shape_ty("decoder.positional_embedding"),
            (vec![S, TEXT_CTX], TensorType::F32)
        );
        assert_eq!(
            shape_ty("decoder.token_embedding.weight"),
            (vec![S, 261], TensorType::F16)
        );
        assert_eq!(
            shape_ty("encoder.blocks.0.mlp.0.weight"),
            (vec![S, 4 * S], TensorType::F16)
        );
        assert_eq!(
            shape_ty("encoder.blocks.0.mlp.2.weight"),
            (vec![4 * S, S], TensorType::F16)
        );
        assert_eq!(
            shape_ty("decoder.blocks.0.attn.key.weight"),
            (vec![S, S], TensorType::F16)
        );
        assert_eq!(shape_ty("decoder.ln.weight"), (vec![S], TensorType::F32));

        // Values: f16 → f16 and f16 → f32 are exact; fused projections split by rows.
        let v = |n: &str| t[n].2.clone();
        let qkv_w = src("encoder/layer_1/self_attention/linear_0/weight", 3 * S * S);
        let qkv_b = src("encoder/layer_1/self_attention/linear_0/bias", 3 * S);
        assert_eq!(v("encoder.blocks.1.attn.query.weight"), qkv_w[..S * S]);
        assert_eq!(
            v("encoder.blocks.1.attn.key.weight"),
            qkv_w[S * S..2 * S * S]
        );
        assert_eq!(v("encoder.blocks.1.attn.value.weight"), qkv_w[2 * S * S..]);
        assert_eq!(v("encoder.blocks.1.attn.query.bias"), qkv_b[..S]);
        assert_eq!(v("encoder.blocks.1.attn.value.bias"), qkv_b[2 * S..]);
        let kv_w = src("decoder/layer_0/attention/linear_1/weight", 2 * S * S);
        let kv_b = src("decoder/layer_0/attention/linear_1/bias", 2 * S);
        assert_eq!(v("decoder.blocks.0.cross_attn.key.weight"), kv_w[..S * S]);
        assert_eq!(v("decoder.blocks.0.cross_attn.value.weight"), kv_w[S * S..]);
        assert_eq!(v("decoder.blocks.0.cross_attn.value.bias"), kv_b[S..]);
        assert_eq!(
            v("decoder.blocks.0.cross_attn.out.weight"),
            src("decoder/layer_0/attention/linear_2/weight", S * S)
        );
        assert_eq!(
            v("decoder.blocks.0.cross_attn_ln.bias"),
            src("decoder/layer_0/attention/layer_norm/beta", S)
        );
        assert_eq!(
            v("encoder.blocks.0.mlp.2.weight"),
            src("encoder/layer_0/ffn/linear_1/weight", 4 * S * S)
        );
        assert_eq!(
            v("encoder.conv1.weight"),
            src("encoder/conv1/weight", S * N_MELS * 3)
        );
        assert_eq!(v("encoder.conv2.bias"), src("encoder/conv2/bias", S));
        assert_eq!(
            v("encoder.ln_post.weight"),
            src("encoder/layer_norm/gamma", S)
        );
        assert_eq!(
            v("decoder.token_embedding.weight"),
            src("decoder/embeddings/weight", 261 * S)
        );
        assert_eq!(
            v("encoder.positional_embedding"),
            src("encoder/position_encodings/encodings", AUDIO_CTX * S)
        );

        // The temporary file was renamed away; nothing else is left beside the output.
        let left: Vec<_> = fs::read_dir(out.parent().expect("dir"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("ggml-tiny.bin")]);
    }

    #[test]
    fn tiny_model_round_trips_q8_0() {
        let dir = tiny_dir();
        let out = dir.path().join("ggml-tiny-q8_0.bin");
        let report = convert_ct2_dir(dir.path(), &out, GgmlType::Q8_0).expect("converts");
        assert_eq!(report.ftype, GgmlType::Q8_0);
        let (s, t) = load(&out);
        assert_eq!(s.hparams.ftype, 2007);
        assert_eq!(t["encoder.blocks.0.attn.query.weight"].1, TensorType::Q8_0);
        assert_eq!(t["decoder.token_embedding.weight"].1, TensorType::Q8_0);
        assert_eq!(t["encoder.conv2.weight"].1, TensorType::F16);
        assert_eq!(t["encoder.conv2.bias"].1, TensorType::F32);
        assert_eq!(t["decoder.blocks.0.mlp_ln.bias"].1, TensorType::F32);
        let want = src("decoder/layer_0/self_attention/linear_0/weight", 3 * S * S);
        let got = &t["decoder.blocks.0.attn.value.weight"].2;
        let max_err = got
            .iter()
            .zip(&want[2 * S * S..])
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        // Values are in (-1, 1): a q8_0 step is at most 1/127.
        assert!(max_err > 0.0 && max_err <= 1.0 / 200.0, "max err {max_err}");
    }

    #[test]
    fn tiny_model_loads_in_whisper_cpp() {
        let dir = tiny_dir();
        for ty in [GgmlType::F16, GgmlType::Q8_0] {
            let out = dir.path().join(format!("ggml-tiny-{ty}.bin"));
            convert_ct2_dir(dir.path(), &out, ty).expect("converts");
            let params = whisper_rs::WhisperContextParameters::default();
            whisper_rs::WhisperContext::new_with_params(&out, params)
                .unwrap_or_else(|e| panic!("whisper.cpp rejects the {ty} file: {e}"));
        }
    }

    #[test]
    fn nonzero_key_bias_is_refused_and_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut vars = ct2_vars();
        let name = "encoder/layer_1/self_attention/linear_0/bias";
        let bias = vars.iter_mut().find(|v| v.name == name).expect("bias");
        let mut values = bias.to_f32();
        values[S + 3] = 0.25;
        *bias = f16_var(name, &[3 * S], &values);
        write_ct2_dir(dir.path(), &vars, &vocab());
        let out = dir.path().join("ggml.bin");
        fs::write(&out, b"previous model").expect("old file");
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("key bias");
        assert!(matches!(err, Error::Convert(_)), "{err}");
        assert!(
            err.to_string().contains("key bias") && err.to_string().contains(name),
            "{err}"
        );
        // The previous file is untouched and no temporary file is left behind.
        assert_eq!(fs::read(&out).expect("old file"), b"previous model");
        let n = fs::read_dir(dir.path()).expect("ls").count();
        assert_eq!(n, 3, "model.bin, vocabulary.txt, ggml.bin");

        // Cross-attention key bias likewise.
        let mut vars = ct2_vars();
        let name = "decoder/layer_0/attention/linear_1/bias";
        let bias = vars.iter_mut().find(|v| v.name == name).expect("bias");
        *bias = f16_var(name, &[2 * S], &[0.5; 2 * S]);
        write_ct2_dir(dir.path(), &vars, &vocab());
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("cross key bias");
        assert!(err.to_string().contains(name), "{err}");
    }

    #[test]
    fn malformed_model_directories_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("ggml.bin");
        // No model.bin.
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("empty dir");
        assert!(matches!(err, Error::Io { .. }), "{err}");

        // Vocabulary size must match the embedding.
        let mut v = vocab();
        v.pop();
        write_ct2_dir(dir.path(), &ct2_vars(), &v);
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("vocab");
        assert!(
            err.to_string().contains("vocabulary has 260 tokens"),
            "{err}"
        );

        // Missing tensor.
        let vars: Vec<_> = ct2_vars()
            .into_iter()
            .filter(|v| v.name != "decoder/layer_0/ffn/linear_1/bias")
            .collect();
        write_ct2_dir(dir.path(), &vars, &vocab());
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("missing");
        assert!(err
            .to_string()
            .contains("missing variable decoder/layer_0/ffn/linear_1/bias"));

        // An extra weight the mapping does not know.
        let mut vars = ct2_vars();
        vars.push(f16_var("decoder/layer_0/extra/weight", &[2], &[1.0, 2.0]));
        write_ct2_dir(dir.path(), &vars, &vocab());
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("extra");
        assert!(
            err.to_string()
                .contains("unexpected variable decoder/layer_0/extra"),
            "{err}"
        );

        // Not Whisper.
        let bin = write_model_bin("TransformerSpec", 1, &ct2_vars(), &[]);
        fs::write(dir.path().join("model.bin"), bin).expect("model.bin");
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("spec");
        assert!(err.to_string().contains("not a Whisper model"), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn vocabulary_json_is_accepted() {
        let dir = tiny_dir();
        fs::remove_file(dir.path().join("vocabulary.txt")).expect("rm");
        let json = serde_json::to_string(&vocab()).expect("json");
        fs::write(dir.path().join("vocabulary.json"), json).expect("write");
        let out = dir.path().join("ggml.bin");
        let report = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect("converts");
        assert_eq!(report.n_tokens, 258);
        fs::remove_file(dir.path().join("vocabulary.json")).expect("rm");
        let err = convert_ct2_dir(dir.path(), &out, GgmlType::F16).expect_err("no vocabulary");
        assert!(err.to_string().contains("no vocabulary.txt"), "{err}");
    }

    #[test]
    fn layer_counting_ignores_layer_norm() {
        let bin = write_model_bin("WhisperSpec", 3, &ct2_vars(), &[]);
        let m = Ct2Model::parse(bin.as_slice(), bin.len() as u64).expect("parses");
        assert!(m.variables.contains_key("encoder/layer_norm/gamma"));
        assert_eq!(count_layers(&m, "encoder").expect("layers"), ENC_LAYERS);
        assert_eq!(count_layers(&m, "decoder").expect("layers"), DEC_LAYERS);
        let gap: Vec<_> = ct2_vars()
            .into_iter()
            .filter(|v| !v.name.starts_with("encoder/layer_0/"))
            .collect();
        let bin = write_model_bin("WhisperSpec", 3, &gap, &[]);
        let m = Ct2Model::parse(bin.as_slice(), bin.len() as u64).expect("parses");
        assert!(count_layers(&m, "encoder").is_err());
    }

    #[test]
    fn sinusoids_match_whisper() {
        let pe = sinusoids(3, 8);
        // t = 0: sin = 0, cos = 1.
        assert_eq!(&pe[..8], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        // t = 1, k = 0: frequency 1; k = 3: frequency 1/10000.
        assert!((pe[8] - 1f32.sin()).abs() < 1e-7);
        assert!((pe[8 + 3] - 1e-4f32.sin()).abs() < 1e-7);
        assert!((pe[8 + 4] - 1f32.cos()).abs() < 1e-7);
    }

    #[test]
    fn ggml_type_parses_and_prints() {
        assert_eq!("f16".parse::<GgmlType>().expect("f16"), GgmlType::F16);
        assert_eq!("Q8_0".parse::<GgmlType>().expect("q8_0"), GgmlType::Q8_0);
        assert!(matches!("f32".parse::<GgmlType>(), Err(Error::Invalid(_))));
        assert_eq!(GgmlType::Q8_0.to_string(), "q8_0");
        assert_eq!(GgmlType::F16.to_string(), "f16");
        assert_eq!(GgmlType::F16.ftype(), 1);
        assert_eq!(GgmlType::Q8_0.ftype() % GGML_QNT_VERSION_FACTOR, 7);
    }
}
