//! A session's accepted audio on disk: an append-only file of `[u64 seq][u32 len][len bytes]`
//! records (little-endian), each fsynced before its frame is acknowledged. On reopening, a record
//! torn by a crash is cut off; everything before it was acknowledged and is whole.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

const HEADER_BYTES: usize = 12;

/// The open audio file of one session.
#[derive(Debug)]
pub struct AudioLog {
    path: PathBuf,
    file: File,
    last_seq: u64,
    pcm_bytes: u64,
}

/// What a scan of the file found.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Highest frame seq in the file (0 when empty).
    pub last_seq: u64,
    /// All PCM, in order (only collected when asked for).
    pub pcm: Vec<u8>,
    /// Bytes of whole records; anything after is a torn tail.
    pub valid_len: u64,
}

/// The audio file of `session_id` under `dir`.
pub fn audio_path(dir: &Path, session_id: &str) -> PathBuf {
    dir.join(format!("{session_id}.frames"))
}

/// Reads the records of a file (missing = empty), stopping at a torn tail.
pub fn scan(path: &Path, collect_pcm: bool) -> Result<Scanned> {
    let mut scanned = Scanned::default();
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(scanned),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut at = 0usize;
    while data.len() - at >= HEADER_BYTES {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&data[at..at + 8]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&data[at + 8..at + 12]);
        let len = u32::from_le_bytes(len) as usize;
        let body = at + HEADER_BYTES;
        if data.len() - body < len {
            break;
        }
        scanned.last_seq = u64::from_le_bytes(seq);
        if collect_pcm {
            scanned.pcm.extend_from_slice(&data[body..body + len]);
        }
        at = body + len;
    }
    scanned.valid_len = at as u64;
    Ok(scanned)
}

impl AudioLog {
    /// Opens (creating) the file, cutting off a torn tail; returns it with what it holds.
    pub fn open(path: PathBuf) -> Result<(Self, Vec<u8>)> {
        let scanned = scan(&path, true)?;
        let io = |e| Error::io(format!("opening {}", path.display()), e);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len != scanned.valid_len {
            tracing::warn!(path = %path.display(), torn = len - scanned.valid_len,
                "cutting a torn record off the audio log");
            file.set_len(scanned.valid_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((
            Self {
                path,
                file,
                last_seq: scanned.last_seq,
                pcm_bytes: scanned.pcm.len() as u64,
            },
            scanned.pcm,
        ))
    }

    /// Appends a frame and waits until it is on disk.
    pub fn append(&mut self, seq: u64, pcm: &[u8]) -> Result<()> {
        let len = u32::try_from(pcm.len())
            .map_err(|_| Error::TooLarge("audio frame over 4 GiB".into()))?;
        let mut record = Vec::with_capacity(HEADER_BYTES + pcm.len());
        record.extend_from_slice(&seq.to_le_bytes());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(pcm);
        let io = |e| Error::io(format!("appending to {}", self.path.display()), e);
        self.file.write_all(&record).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.last_seq = seq;
        self.pcm_bytes += pcm.len() as u64;
        Ok(())
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn pcm_bytes(&self) -> u64 {
        self.pcm_bytes
    }
}

/// Reads the whole file back (for tests and exports).
pub fn read_pcm(path: &Path) -> Result<Vec<u8>> {
    Ok(scan(path, true)?.pcm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_cut_and_appends_continue() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let path = dir.path().join("s.frames");
        {
            let (mut log, pcm) = AudioLog::open(path.clone())?;
            assert!(pcm.is_empty());
            log.append(1, &[1, 2])?;
            log.append(2, &[3, 4])?;
        }
        // A crash mid-append leaves half a record.
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("x", e))?;
        f.write_all(&[3, 0, 0, 0, 0, 0, 0, 0, 9, 0])
            .map_err(|e| Error::io("x", e))?;
        drop(f);
        let (mut log, pcm) = AudioLog::open(path.clone())?;
        assert_eq!((log.last_seq(), pcm), (2, vec![1, 2, 3, 4]));
        log.append(3, &[5, 6])?;
        assert_eq!(read_pcm(&path)?, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(scan(&path, false)?.last_seq, 3);
        Ok(())
    }
}
