//! The legacy ggml Whisper file that whisper.cpp's `whisper_model_load` reads: magic, eleven i32
//! hyperparameters, the mel filterbank, the byte vocabulary and the tensors. This module writes
//! that layout (with ggml's reference q8_0 quantizer) and reads back its table of contents.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// `GGML_FILE_MAGIC` ("ggml" as a little-endian u32).
pub const GGML_FILE_MAGIC: u32 = 0x6767_6d6c;
/// `GGML_QNT_VERSION`: a quantized file stores `ftype + GGML_QNT_VERSION * 1000`.
pub const GGML_QNT_VERSION: i32 = 2;
/// `GGML_QNT_VERSION_FACTOR`.
pub const GGML_QNT_VERSION_FACTOR: i32 = 1000;
/// Elements per q8_0 block.
pub const QK8_0: usize = 32;
/// Bytes per q8_0 block: an f16 scale and 32 i8 values.
pub const Q8_0_BLOCK_BYTES: usize = 2 + QK8_0;

/// Storage type of one tensor in the file (ids are ggml's `ggml_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
    Q8_0,
}

impl TensorType {
    /// ggml's `ggml_type` id.
    pub fn id(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 8,
        }
    }

    /// The type for a `ggml_type` id, if this module knows it.
    pub fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            8 => Self::Q8_0,
            _ => return None,
        })
    }

    /// Bytes needed for `n` elements (`n` a multiple of 32 for q8_0).
    pub fn bytes_for(self, n: usize) -> usize {
        match self {
            Self::F32 => 4 * n,
            Self::F16 => 2 * n,
            Self::Q8_0 => n / QK8_0 * Q8_0_BLOCK_BYTES,
        }
    }
}

/// Whisper's hyperparameters in file order. `ftype` is as stored (quantization version included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
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
    pub ftype: i32,
}

impl Hparams {
    fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Self {
        Self {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }
}

/// Quantizes `x` to q8_0 exactly as ggml's `quantize_row_q8_0_ref`: per block of 32, the scale
/// `d = amax / 127` (stored as f16) and `round(x / d)` as i8 (computed as `x * (1 / d)`).
pub fn quantize_q8_0(x: &[f32]) -> Result<Vec<u8>> {
    if x.len() % QK8_0 != 0 {
        return Err(Error::Convert(format!(
            "q8_0 needs a multiple of {QK8_0} values per row, got {}",
            x.len()
        )));
    }
    let mut out = Vec::with_capacity(x.len() / QK8_0 * Q8_0_BLOCK_BYTES);
    for block in x.chunks_exact(QK8_0) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|&v| (v * id).round() as i8 as u8));
    }
    Ok(out)
}

/// Expands q8_0 blocks back to f32 (`d * q`), as ggml's `dequantize_row_q8_0`.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(Q8_0_BLOCK_BYTES)
        .flat_map(|b| {
            let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            b[2..].iter().map(move |&q| f32::from(q as i8) * d)
        })
        .collect()
}

/// Streams a ggml Whisper file section by section, in the order whisper.cpp reads it.
#[derive(Debug)]
pub struct GgmlWriter<W: Write> {
    w: W,
    /// Where `w` writes, for error messages.
    path: PathBuf,
    tensors: usize,
}

impl<W: Write> GgmlWriter<W> {
    /// Writes the magic and hyperparameters to `w`, which writes to `path` (named in errors).
    pub fn new(w: W, path: impl Into<PathBuf>, hparams: &Hparams) -> Result<Self> {
        let mut this = Self {
            w,
            path: path.into(),
            tensors: 0,
        };
        this.bytes(&GGML_FILE_MAGIC.to_le_bytes())?;
        for v in hparams.to_array() {
            this.bytes(&v.to_le_bytes())?;
        }
        Ok(this)
    }

    /// Writes the mel filterbank: `n_mel`, `n_fft` (bins), then `n_mel × n_fft` f32, row-major.
    pub fn mel_filters(&mut self, n_mel: usize, n_fft: usize, data: &[f32]) -> Result<()> {
        if data.len() != n_mel * n_fft {
            return Err(Error::Convert(format!(
                "mel filterbank has {} values, expected {n_mel} × {n_fft}",
                data.len()
            )));
        }
        self.i32(n_mel)?;
        self.i32(n_fft)?;
        for v in data {
            self.bytes(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Writes the vocabulary: a count, then each token as an i32 length and its raw bytes.
    pub fn vocab<T: AsRef<[u8]>>(&mut self, tokens: &[T]) -> Result<()> {
        self.i32(tokens.len())?;
        for t in tokens {
            let t = t.as_ref();
            self.i32(t.len())?;
            self.bytes(t)?;
        }
        Ok(())
    }

    /// Writes one tensor. `shape` is row-major (outermost first) like PyTorch and CTranslate2;
    /// the file stores ggml's order (innermost first). `data` is row-major, converted to `ty`.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        ty: TensorType,
        data: &[f32],
    ) -> Result<()> {
        let numel: usize = shape.iter().product();
        if numel != data.len() {
            return Err(Error::Convert(format!(
                "tensor {name}: shape {shape:?} does not fit {} values",
                data.len()
            )));
        }
        let bytes: Vec<u8> = match ty {
            TensorType::F32 => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            TensorType::F16 => data
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
            TensorType::Q8_0 => {
                self.check_shape(name, shape, ty)?;
                quantize_q8_0(data)?
            }
        };
        self.tensor_bytes(name, shape, ty, &bytes)
    }

    /// Writes one tensor whose data is already encoded as `ty` (little-endian, row-major), e.g.
    /// f16 weights copied verbatim.
    pub fn tensor_bytes(
        &mut self,
        name: &str,
        shape: &[usize],
        ty: TensorType,
        data: &[u8],
    ) -> Result<()> {
        self.check_shape(name, shape, ty)?;
        let expected = ty.bytes_for(shape.iter().product());
        if data.len() != expected {
            return Err(Error::Convert(format!(
                "tensor {name}: {} bytes for shape {shape:?} of {ty:?} (expected {expected})",
                data.len()
            )));
        }
        self.i32(shape.len())?;
        self.i32(name.len())?;
        self.bytes(&ty.id().to_le_bytes())?;
        for &d in shape.iter().rev() {
            self.i32(d)?;
        }
        self.bytes(name.as_bytes())?;
        self.bytes(data)?;
        self.tensors += 1;
        Ok(())
    }

    fn check_shape(&self, name: &str, shape: &[usize], ty: TensorType) -> Result<()> {
        let Some(&row) = shape.last() else {
            return Err(Error::Convert(format!("tensor {name} has no dimensions")));
        };
        if shape.len() > 4 {
            return Err(Error::Convert(format!(
                "tensor {name}: shape {shape:?} has > 4 dims"
            )));
        }
        if ty == TensorType::Q8_0 && row % QK8_0 != 0 {
            return Err(Error::Convert(format!(
                "tensor {name}: rows of {row} values cannot be q8_0-quantized"
            )));
        }
        Ok(())
    }

    /// Number of tensors written so far.
    pub fn tensor_count(&self) -> usize {
        self.tensors
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W> {
        self.w.flush().map_err(|e| Error::io(&self.path, e))?;
        Ok(self.w)
    }

    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.w.write_all(b).map_err(|e| Error::io(&self.path, e))
    }

    fn i32(&mut self, v: usize) -> Result<()> {
        let v = i32::try_from(v)
            .map_err(|_| Error::Convert(format!("{v} does not fit the file's i32 field")))?;
        self.bytes(&v.to_le_bytes())
    }
}

/// One tensor's entry in a ggml Whisper file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order (innermost first), as stored.
    pub ne: Vec<usize>,
    pub ty: TensorType,
    /// Byte offset of the data in the file.
    pub offset: u64,
    pub n_bytes: u64,
}

/// The table of contents of a ggml Whisper file.
#[derive(Debug, Clone, PartialEq)]
pub struct GgmlSummary {
    pub hparams: Hparams,
    pub n_mel: usize,
    pub n_fft: usize,
    pub mel_filters: Vec<f32>,
    /// Tokens as stored (raw bytes).
    pub vocab: Vec<Vec<u8>>,
    pub tensors: Vec<TensorInfo>,
}

/// Reads the header, filterbank and vocabulary of a ggml Whisper file and lists its tensors
/// (skipping their data). Fails with [`Error::Model`] if the file is not laid out as whisper.cpp
/// expects.
pub fn inspect(path: &Path) -> Result<GgmlSummary> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut r = Cursor {
        r: BufReader::new(file),
        path,
        pos: 0,
        len,
    };

    let magic = r.u32s::<1>("magic")?[0];
    if magic != GGML_FILE_MAGIC {
        return Err(r.bad(format!("bad magic {magic:#010x}, not a ggml file")));
    }
    let hparams = Hparams::from_array(r.i32s::<11>("hyperparameters")?);

    let [n_mel, n_fft] = r.i32s::<2>("mel filter size")?;
    let (n_mel, n_fft) = (r.count(n_mel, "n_mel")?, r.count(n_fft, "n_fft")?);
    let mel_filters = r
        .bytes(4 * (n_mel as u64) * (n_fft as u64), "mel filters")?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();

    let [n_tokens] = r.i32s::<1>("vocabulary size")?;
    let n_tokens = r.count(n_tokens, "vocabulary size")?;
    let mut vocab = Vec::with_capacity(n_tokens.min(1 << 20));
    for _ in 0..n_tokens {
        let [l] = r.i32s::<1>("token length")?;
        let l = r.count(l, "token length")?;
        vocab.push(r.bytes(l as u64, "token")?);
    }

    let mut tensors = Vec::new();
    while r.pos < r.len {
        let [n_dims, name_len, ty] = r.i32s::<3>("tensor header")?;
        let n_dims = r.count(n_dims, "n_dims")?;
        let name_len = r.count(name_len, "name length")?;
        if !(1..=4).contains(&n_dims) {
            return Err(r.bad(format!(
                "tensor with {n_dims} dimensions at offset {}",
                r.pos
            )));
        }
        let ty = TensorType::from_id(ty)
            .ok_or_else(|| r.bad(format!("unknown tensor type {ty} at offset {}", r.pos)))?;
        let mut ne = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            let [d] = r.i32s::<1>("tensor dimensions")?;
            ne.push(r.count(d, "dimension")?);
        }
        let name = String::from_utf8(r.bytes(name_len as u64, "tensor name")?)
            .map_err(|_| r.bad("tensor name is not UTF-8".into()))?;
        let n_bytes = ty.bytes_for(ne.iter().product()) as u64;
        if n_bytes > r.len - r.pos {
            return Err(r.bad(format!("tensor {name} is truncated")));
        }
        let offset = r.pos;
        r.skip(n_bytes)?;
        tensors.push(TensorInfo {
            name,
            ne,
            ty,
            offset,
            n_bytes,
        });
    }
    Ok(GgmlSummary {
        hparams,
        n_mel,
        n_fft,
        mel_filters,
        vocab,
        tensors,
    })
}

/// Bounds-checked sequential reads for [`inspect`].
struct Cursor<'p> {
    r: BufReader<File>,
    path: &'p Path,
    pos: u64,
    len: u64,
}

impl Cursor<'_> {
    fn bad(&self, reason: String) -> Error {
        Error::Model {
            path: self.path.to_owned(),
            reason,
        }
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        if n > self.len - self.pos {
            return Err(self.bad(format!("truncated in {what} at offset {}", self.pos)));
        }
        let mut buf = vec![0; n as usize];
        self.r
            .read_exact(&mut buf)
            .map_err(|e| Error::io(self.path, e))?;
        self.pos += n;
        Ok(buf)
    }

    fn skip(&mut self, n: u64) -> Result<()> {
        self.r
            .seek_relative(n as i64)
            .map_err(|e| Error::io(self.path, e))?;
        self.pos += n;
        Ok(())
    }

    fn i32s<const N: usize>(&mut self, what: &str) -> Result<[i32; N]> {
        let b = self.bytes(4 * N as u64, what)?;
        let mut out = [0; N];
        for (o, c) in out.iter_mut().zip(b.chunks_exact(4)) {
            *o = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(out)
    }

    fn u32s<const N: usize>(&mut self, what: &str) -> Result<[u32; N]> {
        Ok(self.i32s::<N>(what)?.map(|v| v as u32))
    }

    fn count(&self, v: i32, what: &str) -> Result<usize> {
        usize::try_from(v).map_err(|_| self.bad(format!("negative {what} {v}")))
    }
}

/// Reads one tensor's values as f32 (dequantizing q8_0), using its entry from [`inspect`].
pub fn read_tensor(path: &Path, info: &TensorInfo) -> Result<Vec<f32>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(info.offset))
        .map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0; info.n_bytes as usize];
    file.read_exact(&mut buf).map_err(|e| Error::io(path, e))?;
    Ok(match info.ty {
        TensorType::F32 => buf
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        TensorType::F16 => buf
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        TensorType::Q8_0 => dequantize_q8_0(&buf),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn q8_0_round_trip_error_is_bounded() {
        let mut x = noise(32 * 64, 7);
        // Blocks with very different magnitudes, and an all-zero block.
        for (i, v) in x.iter_mut().enumerate() {
            *v *= [1e-3, 1.0, 50.0, 0.0][(i / 32) % 4];
        }
        let q = quantize_q8_0(&x).expect("multiple of 32");
        assert_eq!(q.len(), 64 * Q8_0_BLOCK_BYTES);
        let y = dequantize_q8_0(&q);
        assert_eq!(y.len(), x.len());
        for ((bx, by), bq) in x
            .chunks(32)
            .zip(y.chunks(32))
            .zip(q.chunks(Q8_0_BLOCK_BYTES))
        {
            let amax = bx.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let d16 = half::f16::from_le_bytes([bq[0], bq[1]]).to_f32();
            // Rounding to the grid costs at most half a step; the f16 scale is off by |d - d16|
            // for each of up to 127 steps. (For normal f16 scales that totals < amax / 220; tiny
            // blocks have subnormal f16 scales and a coarser relative error.)
            let bound = 0.5 * d + 127.0 * (d - d16).abs() + 1e-6 * amax;
            for (a, b) in bx.iter().zip(by) {
                assert!((a - b).abs() <= bound, "{a} vs {b}, amax {amax}");
                if amax >= 0.5 {
                    assert!((a - b).abs() <= amax / 220.0, "{a} vs {b}, amax {amax}");
                }
            }
            if amax == 0.0 {
                assert!(by.iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn q8_0_matches_ggml_reference_layout() {
        // amax 127 gives d = 1 exactly: the quants are the rounded values themselves.
        let mut x: Vec<f32> = (0..32).map(|i| i as f32 - 16.0).collect();
        x[0] = -127.0;
        x[1] = 2.5; // rounds half away from zero, like roundf
        x[2] = -2.5;
        let q = quantize_q8_0(&x).expect("one block");
        assert_eq!(&q[..2], &half::f16::from_f32(1.0).to_le_bytes());
        assert_eq!(q[2] as i8, -127);
        assert_eq!(q[3] as i8, 3);
        assert_eq!(q[4] as i8, -3);
        assert_eq!(q[5] as i8, -13);
        assert!(quantize_q8_0(&[0.0; 31]).is_err());
    }

    #[test]
    fn writer_layout_reads_back() {
        let hp = Hparams {
            n_vocab: 3,
            n_audio_ctx: 4,
            n_audio_state: 32,
            n_audio_head: 2,
            n_audio_layer: 1,
            n_text_ctx: 4,
            n_text_state: 32,
            n_text_head: 2,
            n_text_layer: 1,
            n_mels: 2,
            ftype: 2007,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.bin");
        let file = File::create(&path).expect("create");
        let mut w = GgmlWriter::new(std::io::BufWriter::new(file), &path, &hp).expect("header");
        w.mel_filters(2, 3, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
            .expect("mel");
        w.vocab(&[b"a".to_vec(), vec![], b" the".to_vec()])
            .expect("vocab");
        let m: Vec<f32> = noise(2 * 64, 3);
        w.tensor("m", &[2, 64], TensorType::Q8_0, &m).expect("q8");
        w.tensor("h", &[3, 1], TensorType::F16, &[0.5, -1.0, 2.0])
            .expect("f16");
        w.tensor("f", &[2], TensorType::F32, &[0.1, 0.2])
            .expect("f32");
        let raw: Vec<u8> = [1.5f32, -3.0]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        w.tensor_bytes("r", &[2], TensorType::F16, &raw)
            .expect("raw f16");
        assert!(w.tensor_bytes("bad", &[3], TensorType::F16, &raw).is_err());
        assert!(w.tensor("bad", &[2, 3], TensorType::F32, &[0.0]).is_err());
        assert!(w
            .tensor("bad", &[2, 3], TensorType::Q8_0, &[0.0; 6])
            .is_err());
        assert_eq!(w.tensor_count(), 4);
        w.finish().expect("flush");

        let s = inspect(&path).expect("reads");
        assert_eq!(s.hparams, hp);
        assert_eq!((s.n_mel, s.n_fft), (2, 3));
        assert_eq!(s.mel_filters, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.vocab, vec![b"a".to_vec(), vec![], b" the".to_vec()]);
        let names: Vec<&str> = s.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["m", "h", "f", "r"]);
        assert_eq!(
            read_tensor(&path, &s.tensors[3]).expect("r"),
            vec![1.5, -3.0]
        );
        assert_eq!(s.tensors[0].ne, vec![64, 2]);
        assert_eq!(s.tensors[0].ty, TensorType::Q8_0);
        assert_eq!(s.tensors[0].n_bytes, 4 * 34);
        assert_eq!(s.tensors[1].ne, vec![1, 3]);
        assert_eq!(
            read_tensor(&path, &s.tensors[1]).expect("h"),
            vec![0.5, -1.0, 2.0]
        );
        assert_eq!(
            read_tensor(&path, &s.tensors[2]).expect("f"),
            vec![0.1, 0.2]
        );
        let back = read_tensor(&path, &s.tensors[0]).expect("m");
        assert!(back.iter().zip(&m).all(|(a, b)| (a - b).abs() < 0.01));

        // Not a ggml file / truncated file.
        std::fs::write(&path, [0u8; 60]).expect("write");
        assert!(inspect(&path)
            .expect_err("magic")
            .to_string()
            .contains("bad magic"));
        std::fs::write(&path, GGML_FILE_MAGIC.to_le_bytes()).expect("write");
        assert!(inspect(&path)
            .expect_err("short")
            .to_string()
            .contains("truncated"));
    }
}
