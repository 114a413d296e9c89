//! Silero VAD for whisper.cpp: reads the `silero-vad` package's `silero_vad_16k.safetensors` and
//! writes the ggml file `whisper_vad_init_from_file_with_params` loads (magic, hparams, 15 tensors).
//! The safetensors reader is self-contained (u64 header length, JSON header, raw little-endian data).

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Version recorded in the ggml header when the safetensors metadata names none: the `silero-vad`
/// wheel the weights were taken from. whisper.cpp only logs it.
pub const DEFAULT_SILERO_VERSION: (i32, i32, i32) = (6, 2, 3);

/// `"ggml"` as whisper.cpp reads it: a little-endian `u32` (`GGML_FILE_MAGIC`).
const GGML_FILE_MAGIC: u32 = 0x6767_6d6c;
/// Model type string in the ggml header.
const MODEL_TYPE: &str = "silero-16k";
/// Samples per VAD window at 16 kHz and the context size; whisper.cpp reads both from the header.
const N_WINDOW: i32 = 512;
const N_CONTEXT: i32 = 64;
/// Encoder convolutions as `(in_channels, out_channels, kernel_size)`.
const ENCODER: [(i32, i32, i32); 4] = [(129, 128, 3), (128, 64, 3), (64, 64, 3), (64, 128, 3)];
const LSTM_INPUT: i32 = 128;
const LSTM_HIDDEN: i32 = 128;
const FINAL_CONV_IN: i32 = 128;
const FINAL_CONV_OUT: i32 = 1;
/// Largest safetensors JSON header accepted (the real one is about 1.2 KB).
const MAX_HEADER_LEN: u64 = 16 << 20;

/// What [`convert_silero_safetensors`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SileroReport {
    /// The ggml file written.
    pub out: PathBuf,
    /// Number of tensors written (15 for Silero v5/v6).
    pub tensors: usize,
    /// Total number of weights written.
    pub parameters: usize,
    /// Size of the ggml file in bytes.
    pub bytes: u64,
    /// SHA-256 of the ggml file, lowercase hex.
    pub sha256: String,
    /// Version recorded in the ggml header.
    pub version: (i32, i32, i32),
    /// Tensors present in the safetensors file that the VAD does not use (e.g. an 8 kHz branch).
    pub ignored: Vec<String>,
}

/// Element types this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    BF16,
}

impl Dtype {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "F32" => Some(Dtype::F32),
            "F16" => Some(Dtype::F16),
            "BF16" => Some(Dtype::BF16),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
        }
    }
}

/// One tensor's entry in a safetensors header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Byte range within the data section (after the header).
    pub data: std::ops::Range<usize>,
}

/// A safetensors file held in memory, header validated.
#[derive(Debug)]
pub struct SafeTensors {
    tensors: BTreeMap<String, TensorInfo>,
    metadata: BTreeMap<String, String>,
    bytes: Vec<u8>,
    data_start: usize,
}

impl SafeTensors {
    /// Reads and validates `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(bytes).map_err(|reason| {
            Error::Convert(format!(
                "{}: not a valid safetensors file: {reason}",
                path.display()
            ))
        })
    }

    /// Parses a whole safetensors file. Every tensor's byte range must lie inside the data section,
    /// match `dtype × shape`, and not overlap another tensor.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::parse(bytes)
            .map_err(|reason| Error::Convert(format!("not a valid safetensors file: {reason}")))
    }

    fn parse(bytes: Vec<u8>) -> std::result::Result<Self, String> {
        let prefix: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                format!(
                    "file is {} bytes, shorter than the 8-byte header length",
                    bytes.len()
                )
            })?;
        let header_len = u64::from_le_bytes(prefix);
        let available = (bytes.len() - 8) as u64;
        if header_len > available {
            return Err(format!(
                "header length {header_len} exceeds the {available} bytes after it (truncated file?)"
            ));
        }
        if header_len > MAX_HEADER_LEN {
            return Err(format!("header length {header_len} is implausibly large"));
        }
        // Both fit in usize: header_len ≤ bytes.len().
        let data_start = 8 + header_len as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..data_start])
            .map_err(|e| format!("header is not valid JSON: {e}"))?;
        let serde_json::Value::Object(entries) = header else {
            return Err("header is not a JSON object".into());
        };
        let data_len = bytes.len() - data_start;

        let mut tensors = BTreeMap::new();
        let mut metadata = BTreeMap::new();
        for (name, entry) in entries {
            if name == "__metadata__" {
                let serde_json::Value::Object(meta) = entry else {
                    return Err("__metadata__ is not a JSON object".into());
                };
                for (k, v) in meta {
                    let serde_json::Value::String(v) = v else {
                        return Err(format!("__metadata__.{k} is not a string"));
                    };
                    metadata.insert(k, v);
                }
                continue;
            }
            let info = parse_entry(&name, &entry, data_len)?;
            tensors.insert(name, info);
        }

        let mut ranges: Vec<(&str, &std::ops::Range<usize>)> =
            tensors.iter().map(|(n, t)| (n.as_str(), &t.data)).collect();
        ranges.sort_by_key(|(_, r)| (r.start, r.end));
        for pair in ranges.windows(2) {
            let [(a, ra), (b, rb)] = pair else { continue };
            if rb.start < ra.end {
                return Err(format!("tensors {a} and {b} overlap in the data section"));
            }
        }

        Ok(SafeTensors {
            tensors,
            metadata,
            bytes,
            data_start,
        })
    }

    /// Tensor names and header entries, sorted by name.
    pub fn tensors(&self) -> &BTreeMap<String, TensorInfo> {
        &self.tensors
    }

    /// The optional `__metadata__` string map.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Raw little-endian bytes of tensor `name`.
    pub fn raw(&self, name: &str) -> Option<&[u8]> {
        let info = self.tensors.get(name)?;
        self.bytes
            .get(self.data_start + info.data.start..self.data_start + info.data.end)
    }

    /// Tensor `name` widened to `f32`, row-major as stored.
    pub fn to_f32(&self, name: &str) -> Option<Vec<f32>> {
        let info = self.tensors.get(name)?;
        let raw = self.raw(name)?;
        let values = match info.dtype {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        };
        Some(values)
    }
}

fn parse_entry(
    name: &str,
    entry: &serde_json::Value,
    data_len: usize,
) -> std::result::Result<TensorInfo, String> {
    let dtype = entry
        .get("dtype")
        .and_then(|d| d.as_str())
        .ok_or_else(|| format!("tensor {name}: missing or non-string dtype"))?;
    let dtype = Dtype::parse(dtype).ok_or_else(|| {
        format!("tensor {name}: unsupported dtype {dtype} (expected F32, F16 or BF16)")
    })?;
    let shape = entry
        .get("shape")
        .and_then(|s| s.as_array())
        .ok_or_else(|| format!("tensor {name}: missing shape"))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| format!("tensor {name}: shape is not a list of non-negative integers"))?;
    let offsets = entry
        .get("data_offsets")
        .and_then(|o| o.as_array())
        .and_then(|o| match o.as_slice() {
            [a, b] => Some((a.as_u64()?, b.as_u64()?)),
            _ => None,
        })
        .ok_or_else(|| format!("tensor {name}: data_offsets is not a pair of integers"))?;
    let (begin, end) = (
        usize::try_from(offsets.0).map_err(|_| format!("tensor {name}: offset too large"))?,
        usize::try_from(offsets.1).map_err(|_| format!("tensor {name}: offset too large"))?,
    );
    if begin > end || end > data_len {
        return Err(format!(
            "tensor {name}: data_offsets [{begin}, {end}] outside the {data_len}-byte data section (truncated file?)"
        ));
    }
    let expected = shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("tensor {name}: shape {shape:?} overflows"))?;
    if end - begin != expected {
        return Err(format!(
            "tensor {name}: {} bytes in data_offsets but shape {shape:?} × {dtype:?} needs {expected}",
            end - begin
        ));
    }
    Ok(TensorInfo {
        dtype,
        shape,
        data: begin..end,
    })
}

/// ggml element types used by the VAD loader (`ggml_type` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GgmlType {
    F32 = 0,
    F16 = 1,
}

/// One tensor of the whisper.cpp VAD model and where it comes from.
struct Mapping {
    /// Names accepted in the safetensors file: the `silero-vad` wheel's name, then the TorchScript
    /// state-dict name (which is also the ggml name).
    src: [&'static str; 2],
    /// Shape in the safetensors file (PyTorch order, outermost first).
    src_shape: &'static [usize],
    /// `ne` as whisper.cpp creates the tensor (innermost first). The data is row-major in both, so
    /// only the shape order flips; size-1 dimensions are dropped or added to match the loader.
    ne: &'static [usize],
    ty: GgmlType,
}

impl Mapping {
    fn ggml_name(&self) -> &'static str {
        self.src[1]
    }
}

/// The tensors `whisper_vad_init_with_params` creates, in its order, with its shapes and types.
const MAPPINGS: [Mapping; 15] = [
    Mapping {
        src: ["stft_conv.weight", "_model.stft.forward_basis_buffer"],
        src_shape: &[258, 1, 256],
        ne: &[256, 1, 258],
        ty: GgmlType::F16,
    },
    Mapping {
        src: ["conv1.weight", "_model.encoder.0.reparam_conv.weight"],
        src_shape: &[128, 129, 3],
        ne: &[3, 129, 128],
        ty: GgmlType::F16,
    },
    Mapping {
        src: ["conv1.bias", "_model.encoder.0.reparam_conv.bias"],
        src_shape: &[128],
        ne: &[128],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["conv2.weight", "_model.encoder.1.reparam_conv.weight"],
        src_shape: &[64, 128, 3],
        ne: &[3, 128, 64],
        ty: GgmlType::F16,
    },
    Mapping {
        src: ["conv2.bias", "_model.encoder.1.reparam_conv.bias"],
        src_shape: &[64],
        ne: &[64],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["conv3.weight", "_model.encoder.2.reparam_conv.weight"],
        src_shape: &[64, 64, 3],
        ne: &[3, 64, 64],
        ty: GgmlType::F16,
    },
    Mapping {
        src: ["conv3.bias", "_model.encoder.2.reparam_conv.bias"],
        src_shape: &[64],
        ne: &[64],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["conv4.weight", "_model.encoder.3.reparam_conv.weight"],
        src_shape: &[128, 64, 3],
        ne: &[3, 64, 128],
        ty: GgmlType::F16,
    },
    Mapping {
        src: ["conv4.bias", "_model.encoder.3.reparam_conv.bias"],
        src_shape: &[128],
        ne: &[128],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["lstm_cell.weight_ih", "_model.decoder.rnn.weight_ih"],
        src_shape: &[512, 128],
        ne: &[128, 512],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["lstm_cell.bias_ih", "_model.decoder.rnn.bias_ih"],
        src_shape: &[512],
        ne: &[512],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["lstm_cell.weight_hh", "_model.decoder.rnn.weight_hh"],
        src_shape: &[512, 128],
        ne: &[128, 512],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["lstm_cell.bias_hh", "_model.decoder.rnn.bias_hh"],
        src_shape: &[512],
        ne: &[512],
        ty: GgmlType::F32,
    },
    Mapping {
        src: ["final_conv.weight", "_model.decoder.decoder.2.weight"],
        src_shape: &[1, 128, 1],
        ne: &[128, 1],
        ty: GgmlType::F16,
    },
    Mapping {
        src: ["final_conv.bias", "_model.decoder.decoder.2.bias"],
        src_shape: &[1],
        ne: &[1],
        ty: GgmlType::F32,
    },
];

/// A tensor ready to be written: ggml name, `ne`, type and values.
struct GgmlTensor {
    name: &'static str,
    ne: &'static [usize],
    ty: GgmlType,
    values: Vec<f32>,
}

/// Picks, checks and orders the VAD tensors; returns them and the names left unused.
fn map_tensors(st: &SafeTensors) -> std::result::Result<(Vec<GgmlTensor>, Vec<String>), String> {
    let mut used = Vec::with_capacity(MAPPINGS.len());
    let mut out = Vec::with_capacity(MAPPINGS.len());
    for m in &MAPPINGS {
        let present: Vec<&str> = m
            .src
            .iter()
            .copied()
            .filter(|n| st.tensors().contains_key(*n))
            .collect();
        let src = match present.as_slice() {
            [one] => *one,
            [] => {
                return Err(format!(
                    "Silero VAD tensor {} (or {}) missing from the safetensors file",
                    m.src[0], m.src[1]
                ))
            }
            _ => {
                return Err(format!(
                    "Silero VAD tensor present twice, as {} and {}",
                    m.src[0], m.src[1]
                ))
            }
        };
        let info = &st.tensors()[src];
        if info.shape != m.src_shape {
            return Err(format!(
                "Silero VAD tensor {src} has shape {:?}, whisper.cpp's VAD needs {:?}",
                info.shape, m.src_shape
            ));
        }
        let values = st
            .to_f32(src)
            .ok_or_else(|| format!("Silero VAD tensor {src}: data unreadable"))?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "Silero VAD tensor {src}: non-finite value {} at index {i}",
                values[i]
            ));
        }
        if m.ty == GgmlType::F16 {
            if let Some(v) = values
                .iter()
                .find(|v| !half::f16::from_f32(**v).is_finite())
            {
                return Err(format!(
                    "Silero VAD tensor {src}: value {v} does not fit in f16"
                ));
            }
        }
        used.push(src);
        out.push(GgmlTensor {
            name: m.ggml_name(),
            ne: m.ne,
            ty: m.ty,
            values,
        });
    }
    let ignored = st
        .tensors()
        .keys()
        .filter(|k| !used.contains(&k.as_str()))
        .cloned()
        .collect();
    Ok((out, ignored))
}

/// Parses `"major.minor.patch"`.
fn parse_version(s: &str) -> Option<(i32, i32, i32)> {
    let mut parts = s.trim().split('.').map(|p| p.parse::<i32>().ok());
    let v = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(v)
}

fn put_i32(buf: &mut Vec<u8>, v: i32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn to_i32(v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::Convert(format!("dimension {v} does not fit in i32")))
}

/// Serialises the whole ggml VAD file into memory (about 0.9 MB).
fn encode_ggml(tensors: &[GgmlTensor], version: (i32, i32, i32)) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(&GGML_FILE_MAGIC.to_le_bytes());
    put_i32(&mut buf, to_i32(MODEL_TYPE.len())?);
    buf.extend_from_slice(MODEL_TYPE.as_bytes());
    put_i32(&mut buf, version.0);
    put_i32(&mut buf, version.1);
    put_i32(&mut buf, version.2);
    put_i32(&mut buf, N_WINDOW);
    put_i32(&mut buf, N_CONTEXT);
    put_i32(&mut buf, to_i32(ENCODER.len())?);
    for (cin, cout, k) in ENCODER {
        put_i32(&mut buf, cin);
        put_i32(&mut buf, cout);
        put_i32(&mut buf, k);
    }
    put_i32(&mut buf, LSTM_INPUT);
    put_i32(&mut buf, LSTM_HIDDEN);
    put_i32(&mut buf, FINAL_CONV_IN);
    put_i32(&mut buf, FINAL_CONV_OUT);

    for t in tensors {
        let n: usize = t.ne.iter().product();
        if n != t.values.len() {
            return Err(Error::Convert(format!(
                "tensor {}: {} values for ne {:?}",
                t.name,
                t.values.len(),
                t.ne
            )));
        }
        put_i32(&mut buf, to_i32(t.ne.len())?);
        put_i32(&mut buf, to_i32(t.name.len())?);
        put_i32(&mut buf, t.ty as i32);
        for &d in t.ne {
            put_i32(&mut buf, to_i32(d)?);
        }
        buf.extend_from_slice(t.name.as_bytes());
        match t.ty {
            GgmlType::F32 => t
                .values
                .iter()
                .for_each(|v| buf.extend_from_slice(&v.to_le_bytes())),
            GgmlType::F16 => t
                .values
                .iter()
                .for_each(|v| buf.extend_from_slice(&half::f16::from_f32(*v).to_le_bytes())),
        }
    }
    Ok(buf)
}

/// Writes `bytes` to `out` atomically: temp file in the same directory, fsync, rename, fsync dir.
fn write_atomic(out: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".silero-vad-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        w.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
        w.flush().map_err(|e| Error::io(tmp.path(), e))?;
    }
    // tempfile creates 0600; a model file is meant to be readable like any other.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(out).map_err(|e| Error::io(out, e.error))?;
    // Make the rename durable; not all platforms can open a directory, so failure is not fatal.
    if let Ok(d) = fs::File::open(&dir) {
        if let Err(e) = d.sync_all() {
            tracing::debug!(dir = %dir.display(), error = %e, "fsync of directory failed");
        }
    }
    Ok(())
}

/// Converts the Silero VAD weights in `src` (`silero_vad_16k.safetensors` from the `silero-vad`
/// wheel, or a safetensors dump of the TorchScript state dict with `_model.*` names) into the ggml
/// file whisper.cpp's VAD loads, written atomically to `out`.
///
/// Convolution and STFT weights become f16, biases and LSTM weights stay f32, exactly as
/// `whisper_vad_init_with_params` expects; shapes are checked against its hard-wired architecture.
pub fn convert_silero_safetensors(src: &Path, out: &Path) -> Result<SileroReport> {
    let st = SafeTensors::open(src)?;
    let (tensors, ignored) =
        map_tensors(&st).map_err(|e| Error::Convert(format!("{}: {e}", src.display())))?;
    for name in &ignored {
        tracing::warn!(tensor = %name, src = %src.display(), "ignoring tensor the Silero VAD does not use");
    }
    let version = st
        .metadata()
        .get("version")
        .and_then(|v| parse_version(v))
        .unwrap_or(DEFAULT_SILERO_VERSION);
    let bytes = encode_ggml(&tensors, version)?;
    write_atomic(out, &bytes)?;
    let report = SileroReport {
        out: out.to_path_buf(),
        tensors: tensors.len(),
        parameters: tensors.iter().map(|t| t.values.len()).sum(),
        bytes: bytes.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&bytes)),
        version,
        ignored,
    };
    tracing::info!(
        src = %src.display(),
        out = %out.display(),
        bytes = report.bytes,
        sha256 = %report.sha256,
        "converted Silero VAD to ggml"
    );
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Builds a safetensors file from `(name, dtype, shape, raw bytes)`.
    fn build(entries: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, dtype, shape, raw) in entries {
            let begin = data.len();
            data.extend_from_slice(raw);
            header.insert(
                (*name).to_string(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [begin, data.len()]}),
            );
        }
        let header = serde_json::to_vec(&serde_json::Value::Object(header)).unwrap();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&header);
        out.extend_from_slice(&data);
        out
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// A synthetic Silero file with the real shapes; element `i` of the tensor with index `t` holds
    /// `t + i / 2^20` so that every value says where it came from.
    fn synthetic(
        skip: Option<&str>,
        tweak: impl Fn(&str, &mut Vec<usize>, &mut Vec<f32>),
    ) -> Vec<u8> {
        let entries: Vec<(&str, &str, Vec<usize>, Vec<u8>)> = MAPPINGS
            .iter()
            .enumerate()
            .filter(|(_, m)| Some(m.src[0]) != skip)
            .map(|(t, m)| {
                let mut shape = m.src_shape.to_vec();
                let n: usize = shape.iter().product();
                let mut vals: Vec<f32> = (0..n)
                    .map(|i| t as f32 + i as f32 / (1 << 20) as f32)
                    .collect();
                tweak(m.src[0], &mut shape, &mut vals);
                (m.src[0], "F32", shape, f32_bytes(&vals))
            })
            .collect();
        build(&entries)
    }

    fn write_tmp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    /// Minimal reader for the ggml VAD file, mirroring `whisper_vad_init_with_params`.
    struct Reader<'a>(&'a [u8]);
    impl Reader<'_> {
        fn i32(&mut self) -> i32 {
            let (h, t) = self.0.split_at(4);
            self.0 = t;
            i32::from_le_bytes(h.try_into().unwrap())
        }
        fn bytes(&mut self, n: usize) -> &[u8] {
            let (h, t) = self.0.split_at(n);
            self.0 = t;
            h
        }
    }

    struct Read {
        name: String,
        ne: Vec<usize>,
        ty: i32,
        values: Vec<f32>,
    }

    fn read_ggml(bytes: &[u8]) -> (Vec<i32>, Vec<Read>) {
        let mut r = Reader(bytes);
        assert_eq!(r.i32() as u32, GGML_FILE_MAGIC);
        let len = r.i32() as usize;
        assert_eq!(r.bytes(len), MODEL_TYPE.as_bytes());
        let mut hparams: Vec<i32> = (0..6).map(|_| r.i32()).collect();
        let n_layers = hparams[5] as usize;
        hparams.extend((0..n_layers * 3 + 4).map(|_| r.i32()));
        let mut tensors = Vec::new();
        while !r.0.is_empty() {
            let n_dims = r.i32() as usize;
            let name_len = r.i32() as usize;
            let ty = r.i32();
            let ne: Vec<usize> = (0..n_dims).map(|_| r.i32() as usize).collect();
            let name = String::from_utf8(r.bytes(name_len).to_vec()).unwrap();
            let n: usize = ne.iter().product();
            let values = match ty {
                0 => r
                    .bytes(n * 4)
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                1 => r
                    .bytes(n * 2)
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes(c.try_into().unwrap()).to_f32())
                    .collect(),
                _ => panic!("unexpected ggml type {ty}"),
            };
            tensors.push(Read {
                name,
                ne,
                ty,
                values,
            });
        }
        (hparams, tensors)
    }

    #[test]
    fn parses_header_and_data() {
        let bytes = build(&[
            (
                "b",
                "F16",
                vec![2],
                [half::f16::from_f32(1.5), half::f16::from_f32(-2.0)]
                    .iter()
                    .flat_map(|h| h.to_le_bytes())
                    .collect(),
            ),
            ("a", "F32", vec![2, 1], f32_bytes(&[0.25, 3.0])),
        ]);
        let st = SafeTensors::from_bytes(bytes).unwrap();
        assert_eq!(st.tensors().len(), 2);
        assert_eq!(st.tensors()["a"].shape, vec![2, 1]);
        assert_eq!(st.tensors()["a"].dtype, Dtype::F32);
        assert_eq!(st.tensors()["b"].data, 0..4);
        assert_eq!(st.to_f32("a").unwrap(), vec![0.25, 3.0]);
        assert_eq!(st.to_f32("b").unwrap(), vec![1.5, -2.0]);
        assert!(st.to_f32("c").is_none());
    }

    #[test]
    fn reads_metadata_and_version() {
        let header = br#"{"__metadata__":{"version":"5.1.2"},"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&7.0f32.to_le_bytes());
        let st = SafeTensors::from_bytes(bytes).unwrap();
        assert_eq!(st.metadata()["version"], "5.1.2");
        assert_eq!(st.to_f32("x").unwrap(), vec![7.0]);
        assert_eq!(parse_version("5.1.2"), Some((5, 1, 2)));
        assert_eq!(parse_version("5.1"), None);
        assert_eq!(parse_version("5.1.2.3"), None);
    }

    #[test]
    fn rejects_truncated_and_corrupt_input() {
        let good = build(&[("a", "F32", vec![4], f32_bytes(&[1.0, 2.0, 3.0, 4.0]))]);
        let err = |bytes: Vec<u8>| SafeTensors::parse(bytes).unwrap_err();
        assert!(matches!(
            SafeTensors::from_bytes(vec![1]),
            Err(Error::Convert(m)) if m.starts_with("not a valid safetensors file: file is 1 bytes")
        ));

        assert!(err(vec![1, 2, 3]).contains("shorter than the 8-byte header length"));
        assert!(err(good[..20].to_vec()).contains("exceeds"));
        assert!(err(good[..good.len() - 1].to_vec()).contains("outside the 15-byte data section"));

        let mut bad_json = good.clone();
        bad_json[8] = b'[';
        assert!(err(bad_json).contains("not valid JSON"));

        let raw = |header: &str, data: usize| {
            let mut b = (header.len() as u64).to_le_bytes().to_vec();
            b.extend_from_slice(header.as_bytes());
            b.extend(std::iter::repeat_n(0u8, data));
            b
        };
        assert!(err(raw("[1,2]", 0)).contains("not a JSON object"));
        assert!(err(raw(
            r#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#,
            8
        ))
        .contains("unsupported dtype I64"));
        assert!(err(raw(
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            8
        ))
        .contains("needs 12"));
        assert!(err(raw(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            8
        ))
        .contains("outside"));
        assert!(err(raw(
            r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            4
        ))
        .contains("non-negative"));
        assert!(err(raw(r#"{"a":{"dtype":"F32","shape":[1]}}"#, 4)).contains("data_offsets"));
        assert!(err(raw(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            8
        ))
        .contains("overlap"));
        assert!(err(raw(r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#, 4))
            .contains("overflows"));
    }

    #[test]
    fn open_reports_path_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_tmp(&dir, "x.safetensors", b"garbage!garbage");
        let e = SafeTensors::open(&p).unwrap_err().to_string();
        assert!(
            e.contains("x.safetensors") && e.contains("not a valid safetensors file"),
            "{e}"
        );
        let missing = dir.path().join("nope.safetensors");
        assert!(matches!(SafeTensors::open(&missing), Err(Error::Io { .. })));
    }

    #[test]
    fn converts_synthetic_model_with_whisper_cpp_layout() {
        let dir = tempfile::tempdir().unwrap();
        let src = write_tmp(&dir, "s.safetensors", &synthetic(None, |_, _, _| {}));
        let out = dir.path().join("sub/ggml-silero-vad.bin");
        let report = convert_silero_safetensors(&src, &out).unwrap();
        assert_eq!(report.tensors, 15);
        assert_eq!(report.version, DEFAULT_SILERO_VERSION);
        assert!(report.ignored.is_empty());
        let bytes = fs::read(&out).unwrap();
        assert_eq!(report.bytes, bytes.len() as u64);
        assert_eq!(report.sha256, format!("{:x}", Sha256::digest(&bytes)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        // Only the output and no temp file remain.
        let names: Vec<_> = fs::read_dir(out.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("ggml-silero-vad.bin")]);

        let (hparams, tensors) = read_ggml(&bytes);
        assert_eq!(
            hparams,
            vec![
                6, 2, 3, 512, 64, 4, 129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3, 128, 128, 128,
                1
            ]
        );
        let expect: [(&str, &[usize], i32); 15] = [
            ("_model.stft.forward_basis_buffer", &[256, 1, 258], 1),
            ("_model.encoder.0.reparam_conv.weight", &[3, 129, 128], 1),
            ("_model.encoder.0.reparam_conv.bias", &[128], 0),
            ("_model.encoder.1.reparam_conv.weight", &[3, 128, 64], 1),
            ("_model.encoder.1.reparam_conv.bias", &[64], 0),
            ("_model.encoder.2.reparam_conv.weight", &[3, 64, 64], 1),
            ("_model.encoder.2.reparam_conv.bias", &[64], 0),
            ("_model.encoder.3.reparam_conv.weight", &[3, 64, 128], 1),
            ("_model.encoder.3.reparam_conv.bias", &[128], 0),
            ("_model.decoder.rnn.weight_ih", &[128, 512], 0),
            ("_model.decoder.rnn.bias_ih", &[512], 0),
            ("_model.decoder.rnn.weight_hh", &[128, 512], 0),
            ("_model.decoder.rnn.bias_hh", &[512], 0),
            ("_model.decoder.decoder.2.weight", &[128, 1], 1),
            ("_model.decoder.decoder.2.bias", &[1], 0),
        ];
        assert_eq!(tensors.len(), expect.len());
        for (t, (idx, (name, ne, ty))) in tensors.iter().zip(expect.iter().enumerate()) {
            assert_eq!((t.name.as_str(), t.ne.as_slice(), t.ty), (*name, *ne, *ty));
            // Row-major order is kept: element i of source tensor `idx` is `idx + i/2^20`.
            let n = t.values.len();
            for i in [0, 1.min(n - 1), n / 2, n - 1] {
                let want = idx as f32 + i as f32 / (1 << 20) as f32;
                let tol = if *ty == 1 {
                    want.abs() * 1e-3 + 1e-6
                } else {
                    0.0
                };
                assert!(
                    (t.values[i] - want).abs() <= tol,
                    "{name}[{i}] = {} != {want}",
                    t.values[i]
                );
            }
        }
        // LSTM weight_ih: PyTorch [512, 128] element (row 3, col 5) is ggml ne0=5, ne1=3.
        let ih = &tensors[9];
        assert_eq!(
            ih.values[3 * 128 + 5],
            9.0 + (3 * 128 + 5) as f32 / (1 << 20) as f32
        );
    }

    #[test]
    fn accepts_torchscript_names_and_reports_extras() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries: Vec<(&str, &str, Vec<usize>, Vec<u8>)> = MAPPINGS
            .iter()
            .map(|m| {
                let n: usize = m.src_shape.iter().product();
                (
                    m.src[1],
                    "F32",
                    m.src_shape.to_vec(),
                    f32_bytes(&vec![0.5; n]),
                )
            })
            .collect();
        entries.push((
            "_model_8k.decoder.decoder.2.bias",
            "F32",
            vec![1],
            f32_bytes(&[0.0]),
        ));
        let src = write_tmp(&dir, "jit.safetensors", &build(&entries));
        let report = convert_silero_safetensors(&src, &dir.path().join("o.bin")).unwrap();
        assert_eq!(
            report.ignored,
            vec!["_model_8k.decoder.decoder.2.bias".to_string()]
        );
    }

    #[test]
    fn rejects_wrong_shape_missing_tensor_and_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.bin");
        let convert = |name: &str, bytes: Vec<u8>| {
            let src = write_tmp(&dir, name, &bytes);
            convert_silero_safetensors(&src, &out)
                .unwrap_err()
                .to_string()
        };

        let e = convert(
            "shape.safetensors",
            synthetic(None, |n, shape, vals| {
                if n == "conv2.weight" {
                    *shape = vec![64, 3, 128];
                    vals.truncate(64 * 3 * 128);
                }
            }),
        );
        assert!(
            e.contains("conv2.weight has shape [64, 3, 128]") && e.contains("[64, 128, 3]"),
            "{e}"
        );

        let e = convert(
            "missing.safetensors",
            synthetic(Some("lstm_cell.bias_hh"), |_, _, _| {}),
        );
        assert!(
            e.contains("lstm_cell.bias_hh") && e.contains("missing"),
            "{e}"
        );

        let e = convert(
            "nan.safetensors",
            synthetic(None, |n, _, vals| {
                if n == "conv3.bias" {
                    vals[7] = f32::NAN;
                }
            }),
        );
        assert!(
            e.contains("conv3.bias") && e.contains("non-finite") && e.contains("index 7"),
            "{e}"
        );

        let e = convert(
            "big.safetensors",
            synthetic(None, |n, _, vals| {
                if n == "conv1.weight" {
                    vals[0] = 1e6;
                }
            }),
        );
        assert!(e.contains("does not fit in f16"), "{e}");

        let e = convert(
            "trunc.safetensors",
            synthetic(None, |_, _, _| {})[..1000].to_vec(),
        );
        assert!(e.contains("not a valid safetensors file"), "{e}");
        assert!(
            !out.exists(),
            "a failed conversion must not leave an output file"
        );
    }

    #[test]
    fn failed_conversion_keeps_previous_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = write_tmp(&dir, "o.bin", b"previous");
        let src = write_tmp(&dir, "bad.safetensors", b"\x02\0\0\0\0\0\0\0{}");
        // Valid but empty header: every tensor is missing.
        assert!(convert_silero_safetensors(&src, &out).is_err());
        assert_eq!(fs::read(&out).unwrap(), b"previous");
    }
}
