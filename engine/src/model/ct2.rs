//! Reader for CTranslate2's `model.bin` (binary version 6): a spec name and revision followed by
//! named, typed, row-major variables and a list of aliases. Used to convert the default Whisper
//! model, which ships in CTranslate2 format, to ggml.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::{Error, Result};

/// The only `model.bin` layout this reader understands (CTranslate2 3.x and 4.x write it).
pub const SUPPORTED_BINARY_VERSION: u32 = 6;

/// Element type of a CTranslate2 variable (the ids are CTranslate2's `DataType` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl Ct2DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::BF16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One named tensor of a CTranslate2 model, with its raw little-endian data.
#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Variable {
    pub name: String,
    /// Row-major shape (outermost first); empty for a scalar.
    pub shape: Vec<usize>,
    pub dtype: Ct2DType,
    pub data: Vec<u8>,
}

impl Ct2Variable {
    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The values as f32: exact for f32, f16, bf16 and small integers.
    pub fn to_f32(&self) -> Vec<f32> {
        decode(self.dtype, &self.data)
    }

    /// Rows `start..end` (along the first dimension) as f32.
    pub fn rows_to_f32(&self, start: usize, end: usize) -> Result<Vec<f32>> {
        let rows = self.shape.first().copied().unwrap_or(1);
        if start > end || end > rows {
            return Err(Error::Convert(format!(
                "{}: rows {start}..{end} out of range for shape {:?}",
                self.name, self.shape
            )));
        }
        let row_bytes = self.data.len() / rows.max(1);
        Ok(decode(
            self.dtype,
            &self.data[start * row_bytes..end * row_bytes],
        ))
    }

    /// Whether the values are floating point (the only kind the converter takes for weights).
    pub fn is_float(&self) -> bool {
        matches!(self.dtype, Ct2DType::F32 | Ct2DType::F16 | Ct2DType::BF16)
    }

    /// The value of an integer scalar (such as `encoder/num_heads`).
    pub fn scalar_int(&self) -> Result<i64> {
        if self.numel() != 1 {
            return Err(Error::Ct2Format(format!(
                "{} has shape {:?}, expected a scalar",
                self.name, self.shape
            )));
        }
        let d = &self.data;
        Ok(match self.dtype {
            Ct2DType::I8 => i64::from(d[0] as i8),
            Ct2DType::I16 => i64::from(i16::from_le_bytes([d[0], d[1]])),
            Ct2DType::I32 => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
            other => {
                return Err(Error::Ct2Format(format!(
                    "{} is {other:?}, expected an integer scalar",
                    self.name
                )))
            }
        })
    }
}

/// Little-endian `data` of type `dtype` as f32.
fn decode(dtype: Ct2DType, d: &[u8]) -> Vec<f32> {
    match dtype {
        Ct2DType::F32 => d
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Ct2DType::F16 => d
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Ct2DType::BF16 => d
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Ct2DType::I8 => d.iter().map(|&b| f32::from(b as i8)).collect(),
        Ct2DType::I16 => d
            .chunks_exact(2)
            .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Ct2DType::I32 => d
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
    }
}

/// A parsed `model.bin`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Model {
    pub binary_version: u32,
    /// Model spec name, e.g. `WhisperSpec`.
    pub spec: String,
    pub revision: u32,
    /// Variables by name, in name order.
    pub variables: BTreeMap<String, Ct2Variable>,
    /// `(alias, target)` pairs: names that refer to another variable's data.
    pub aliases: Vec<(String, String)>,
}

impl Ct2Model {
    /// Reads and parses `path` (a CTranslate2 `model.bin`).
    pub fn read(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        Self::parse(BufReader::new(file), len).map_err(|e| match e {
            Error::Ct2Format(msg) => Error::Ct2Format(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Parses a `model.bin` of `len` bytes from `r`.
    pub fn parse(r: impl Read, len: u64) -> Result<Self> {
        let mut p = Parser { r, pos: 0, len };
        let binary_version = p.u32("binary version")?;
        if binary_version != SUPPORTED_BINARY_VERSION {
            return Err(Error::Ct2Format(format!(
                "unsupported binary version {binary_version} (expected \
                 {SUPPORTED_BINARY_VERSION}); not a CTranslate2 3.x/4.x model.bin?"
            )));
        }
        let spec = p.string("spec name")?;
        let revision = p.u32("spec revision")?;
        let n_vars = p.u32("variable count")?;
        let mut variables = BTreeMap::new();
        for i in 0..n_vars {
            let var = p.variable(i)?;
            if variables.contains_key(&var.name) {
                return Err(Error::Ct2Format(format!("duplicate variable {}", var.name)));
            }
            variables.insert(var.name.clone(), var);
        }
        let n_aliases = p.u32("alias count")?;
        let mut aliases = Vec::new();
        for _ in 0..n_aliases {
            let alias = p.string("alias name")?;
            let target = p.string("alias target")?;
            aliases.push((alias, target));
        }
        if p.pos != len {
            return Err(Error::Ct2Format(format!(
                "{} trailing bytes after the aliases",
                len - p.pos
            )));
        }
        Ok(Self {
            binary_version,
            spec,
            revision,
            variables,
            aliases,
        })
    }

    /// The variable `name`, or a [`Error::Ct2Format`] naming it.
    pub fn get(&self, name: &str) -> Result<&Ct2Variable> {
        self.variables
            .get(name)
            .ok_or_else(|| Error::Ct2Format(format!("missing variable {name}")))
    }
}

struct Parser<R> {
    r: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Parser<R> {
    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        if n > self.len.saturating_sub(self.pos) {
            return Err(Error::Ct2Format(format!(
                "truncated: {what} needs {n} bytes at offset {} but the file has {}",
                self.pos, self.len
            )));
        }
        let mut buf = vec![0; usize::try_from(n).map_err(|_| Error::Ct2Format("too big".into()))?];
        self.r
            .read_exact(&mut buf)
            .map_err(|e| Error::Ct2Format(format!("reading {what} at offset {}: {e}", self.pos)))?;
        self.pos += n;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let b = self.bytes(N as u64, what)?;
        let mut a = [0; N];
        a.copy_from_slice(&b);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A u16 length (including the NUL) followed by a NUL-terminated UTF-8 string.
    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u16(what)?;
        let mut b = self.bytes(u64::from(n), what)?;
        if b.pop() != Some(0) {
            return Err(Error::Ct2Format(format!(
                "{what} at offset {} is not NUL-terminated",
                self.pos - u64::from(n)
            )));
        }
        String::from_utf8(b).map_err(|_| Error::Ct2Format(format!("{what} is not UTF-8")))
    }

    fn variable(&mut self, index: u32) -> Result<Ct2Variable> {
        let name = self.string(&format!("name of variable {index}"))?;
        let rank = self.u8(&format!("rank of {name}"))?;
        let mut shape = Vec::with_capacity(usize::from(rank));
        for _ in 0..rank {
            shape.push(self.u32(&format!("shape of {name}"))? as usize);
        }
        let dtype_id = self.u8(&format!("dtype of {name}"))?;
        let dtype = Ct2DType::from_id(dtype_id)
            .ok_or_else(|| Error::Ct2Format(format!("{name} has unknown dtype id {dtype_id}")))?;
        let n_bytes = self.u32(&format!("byte count of {name}"))?;
        let expected = shape
            .iter()
            .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Error::Ct2Format(format!("{name}: shape {shape:?} overflows")))?;
        if expected as u64 != u64::from(n_bytes) {
            return Err(Error::Ct2Format(format!(
                "{name}: {n_bytes} bytes for shape {shape:?} of {dtype:?} (expected {expected})"
            )));
        }
        let data = self.bytes(u64::from(n_bytes), &format!("data of {name}"))?;
        Ok(Ct2Variable {
            name,
            shape,
            dtype,
            data,
        })
    }
}

/// Serializes variables in `model.bin` layout; the inverse of [`Ct2Model::parse`], for tests.
#[cfg(test)]
pub(crate) fn write_model_bin(
    spec: &str,
    revision: u32,
    vars: &[Ct2Variable],
    aliases: &[(&str, &str)],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&SUPPORTED_BINARY_VERSION.to_le_bytes());
    string(&mut out, spec);
    out.extend_from_slice(&revision.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for v in vars {
        string(&mut out, &v.name);
        out.push(v.shape.len() as u8);
        for &d in &v.shape {
            out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        let id = match v.dtype {
            Ct2DType::F32 => 0u8,
            Ct2DType::I8 => 1,
            Ct2DType::I16 => 2,
            Ct2DType::I32 => 3,
            Ct2DType::F16 => 4,
            Ct2DType::BF16 => 5,
        };
        out.push(id);
        out.extend_from_slice(&(v.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&v.data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        string(&mut out, a);
        string(&mut out, t);
    }
    out
}

/// An f16 variable with the given shape and values, for tests.
#[cfg(test)]
pub(crate) fn f16_var(name: &str, shape: &[usize], values: &[f32]) -> Ct2Variable {
    assert_eq!(shape.iter().product::<usize>(), values.len(), "{name}");
    Ct2Variable {
        name: name.to_owned(),
        shape: shape.to_vec(),
        dtype: Ct2DType::F16,
        data: values
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let heads = Ct2Variable {
            name: "encoder/num_heads".into(),
            shape: vec![],
            dtype: Ct2DType::I16,
            data: 8i16.to_le_bytes().to_vec(),
        };
        let w = f16_var(
            "decoder/embeddings/weight",
            &[2, 3],
            &[1.0, -2.0, 0.5, 0.0, 3.0, -0.25],
        );
        let b = Ct2Variable {
            name: "x/bias".into(),
            shape: vec![2],
            dtype: Ct2DType::F32,
            data: [1.5f32, -7.0]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        };
        write_model_bin(
            "WhisperSpec",
            3,
            &[heads, w, b],
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        )
    }

    fn parse(bytes: &[u8]) -> Result<Ct2Model> {
        Ct2Model::parse(bytes, bytes.len() as u64)
    }

    #[test]
    fn parses_header_variables_and_aliases() {
        let m = parse(&sample()).expect("parses");
        assert_eq!(m.binary_version, 6);
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.revision, 3);
        assert_eq!(m.variables.len(), 3);
        assert_eq!(
            m.get("encoder/num_heads")
                .expect("present")
                .scalar_int()
                .expect("int"),
            8
        );
        let w = m.get("decoder/embeddings/weight").expect("present");
        assert_eq!(w.shape, vec![2, 3]);
        assert_eq!(w.dtype, Ct2DType::F16);
        assert_eq!(w.to_f32(), vec![1.0, -2.0, 0.5, 0.0, 3.0, -0.25]);
        assert_eq!(m.get("x/bias").expect("present").to_f32(), vec![1.5, -7.0]);
        assert_eq!(w.rows_to_f32(1, 2).expect("row 1"), vec![0.0, 3.0, -0.25]);
        assert!(w.rows_to_f32(1, 3).is_err());
        assert!(w.is_float());
        assert_eq!(
            m.aliases,
            vec![(
                "decoder/projection/weight".to_owned(),
                "decoder/embeddings/weight".to_owned()
            )]
        );
        assert!(m.get("nope").is_err());
        assert!(w.scalar_int().is_err());
    }

    #[test]
    fn rejects_bad_version() {
        let mut bytes = sample();
        bytes[..4].copy_from_slice(&0x6767_6d6cu32.to_le_bytes());
        let err = parse(&bytes).expect_err("ggml magic is not a CT2 version");
        assert!(matches!(err, Error::Ct2Format(_)));
        assert!(
            err.to_string().contains("unsupported binary version"),
            "{err}"
        );
        bytes[..4].copy_from_slice(&5u32.to_le_bytes());
        assert!(parse(&bytes).is_err());
    }

    #[test]
    fn rejects_truncation_everywhere() {
        let bytes = sample();
        for cut in [0, 3, 10, 30, bytes.len() / 2, bytes.len() - 1] {
            let err = parse(&bytes[..cut]).expect_err("truncated");
            assert!(matches!(err, Error::Ct2Format(_)), "cut {cut}: {err}");
            assert!(err.to_string().contains("truncated"), "cut {cut}: {err}");
        }
        // A file claiming more length than the reader delivers is an I/O-level truncation.
        let err =
            Ct2Model::parse(&bytes[..bytes.len() - 1], bytes.len() as u64).expect_err("short read");
        assert!(matches!(err, Error::Ct2Format(_)), "{err}");
    }

    #[test]
    fn rejects_trailing_garbage_and_bad_sizes() {
        let mut bytes = sample();
        bytes.push(0);
        assert!(parse(&bytes)
            .expect_err("trailing")
            .to_string()
            .contains("trailing"));

        let bad = Ct2Variable {
            name: "v".into(),
            shape: vec![3],
            dtype: Ct2DType::F16,
            data: vec![0; 4],
        };
        let bytes = write_model_bin("WhisperSpec", 3, &[bad], &[]);
        let err = parse(&bytes).expect_err("byte count mismatch");
        assert!(err.to_string().contains("expected 6"), "{err}");
    }

    #[test]
    fn reads_from_disk_with_path_in_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("model.bin");
        std::fs::write(&path, &sample()[..20]).expect("write");
        let err = Ct2Model::read(&path).expect_err("truncated");
        assert!(err.to_string().contains("model.bin"), "{err}");
        let err = Ct2Model::read(&dir.path().join("missing.bin")).expect_err("missing");
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
