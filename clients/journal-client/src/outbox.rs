//! The outbox folder: each signed note as `<id>.txt` and `<id>.fhir.json` (written through a
//! temporary file and a rename, the FHIR file last so its presence means the pair is complete),
//! and the client's position in `.skriva-journal-client.json`, so a restart neither skips nor
//! repeats a note.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::server::SignedNote;

/// Where the position is kept, inside the outbox. Dot files are not deliveries.
pub const STATE_FILE: &str = ".skriva-journal-client.json";

/// How far the client has read the server's list of signed notes.
///
/// The server's `since` is inclusive and timestamps have millisecond resolution, so two notes
/// can share one `updated_at`: the position is the newest delivered time plus the ids delivered
/// at exactly that time. A note is new if it is newer, or as new and not among those ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The newest delivered note's `updated_at`, as the server wrote it.
    pub since: Option<String>,
    pub since_ms: Option<i64>,
    /// The notes delivered whose `updated_at` is exactly `since`.
    pub ids_at_since: BTreeSet<String>,
}

impl Position {
    /// Whether `note` was delivered before (or is older than the position, which the server's
    /// inclusive `since` never returns).
    pub fn covers(&self, note: &SignedNote) -> bool {
        match self.since_ms {
            None => false,
            Some(ms) => {
                note.updated_ms < ms
                    || (note.updated_ms == ms && self.ids_at_since.contains(&note.id))
            }
        }
    }

    /// Records `note` as delivered. Notes must be recorded oldest first.
    pub fn advance(&mut self, note: &SignedNote) {
        match self.since_ms {
            Some(ms) if note.updated_ms < ms => {}
            Some(ms) if note.updated_ms == ms => {
                self.ids_at_since.insert(note.id.clone());
            }
            _ => {
                self.since = Some(note.updated_at.clone());
                self.since_ms = Some(note.updated_ms);
                self.ids_at_since = BTreeSet::from([note.id.clone()]);
            }
        }
    }
}

/// The notes of a listing not yet delivered, oldest first, each once.
pub fn undelivered(position: &Position, mut listed: Vec<SignedNote>) -> Vec<SignedNote> {
    listed.retain(|n| !position.covers(n));
    listed.sort_by(|a, b| (a.updated_ms, &a.id).cmp(&(b.updated_ms, &b.id)));
    // A page boundary that moved while paging lists a note twice.
    listed.dedup_by(|a, b| a.id == b.id);
    listed
}

/// The outbox folder and the position stored in it.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    position: Position,
}

impl Outbox {
    /// Opens (creating) the folder and reads the position. A position file that cannot be read
    /// is an error, not a fresh start: starting over would deliver every note again.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let state = dir.join(STATE_FILE);
        let position = match std::fs::read(&state) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is damaged; fix or remove it (removing delivers every signed note again)",
                    state.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Position::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", state.display())),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            position,
        })
    }

    pub fn position(&self) -> &Position {
        &self.position
    }

    /// The two files a note is delivered as.
    pub fn paths(&self, id: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        let stem = file_stem(id)?;
        Ok((
            self.dir.join(format!("{stem}.fhir.json")),
            self.dir.join(format!("{stem}.txt")),
        ))
    }

    /// Whether both files of a note are already there (delivered just before a crash that came
    /// before the position was saved).
    pub fn has(&self, id: &str) -> anyhow::Result<bool> {
        let (fhir, text) = self.paths(id)?;
        Ok(fhir.is_file() && text.is_file())
    }

    /// Writes a note's files and then records it in the position.
    pub fn deliver(&mut self, note: &SignedNote, fhir: &[u8], text: &[u8]) -> anyhow::Result<()> {
        let (fhir_path, text_path) = self.paths(&note.id)?;
        write_atomically(&text_path, text)?;
        write_atomically(&fhir_path, fhir)?;
        self.remember(note)
    }

    /// Records a note as delivered and saves the position.
    pub fn remember(&mut self, note: &SignedNote) -> anyhow::Result<()> {
        let mut next = self.position.clone();
        next.advance(note);
        let bytes = serde_json::to_vec_pretty(&next)?;
        write_atomically(&self.dir.join(STATE_FILE), &bytes)?;
        self.position = next;
        Ok(())
    }
}

/// A draft id as a file name: Skriva's ids are `drf_` and hex; anything else that could name
/// another path is refused.
fn file_stem(id: &str) -> anyhow::Result<&str> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    anyhow::ensure!(ok, "draft id `{id}` is not usable as a file name");
    Ok(id)
}

/// Writes `bytes` to `path` so that a reader sees the old file or the whole new one, never a
/// part: a temporary file beside it, fsynced, renamed over it, and the folder fsynced.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no folder", path.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let mut file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(id: &str, ms: i64) -> SignedNote {
        SignedNote {
            id: id.into(),
            updated_at: format!("t{ms}"),
            updated_ms: ms,
        }
    }

    #[test]
    fn notes_sharing_the_boundary_time_are_neither_skipped_nor_repeated() {
        let mut position = Position::default();
        let first = undelivered(&position, vec![note("b", 10), note("a", 10), note("c", 5)]);
        assert_eq!(first, vec![note("c", 5), note("a", 10), note("b", 10)]);
        for n in &first {
            position.advance(n);
        }
        assert_eq!(position.since_ms, Some(10));
        assert_eq!(
            position.ids_at_since,
            BTreeSet::from(["a".into(), "b".into()])
        );
        // The inclusive `since` lists a and b again, with a note signed in the same
        // millisecond after the last poll, and a newer one.
        let second = undelivered(
            &position,
            vec![note("d", 11), note("b", 10), note("z", 10), note("a", 10)],
        );
        assert_eq!(second, vec![note("z", 10), note("d", 11)]);
        for n in &second {
            position.advance(n);
        }
        assert_eq!(position.since.as_deref(), Some("t11"));
        assert_eq!(position.ids_at_since, BTreeSet::from(["d".into()]));
        assert!(undelivered(&position, vec![note("d", 11)]).is_empty());
    }

    #[test]
    fn a_note_listed_twice_is_delivered_once() {
        let listed = vec![note("a", 3), note("a", 3), note("b", 4)];
        assert_eq!(
            undelivered(&Position::default(), listed),
            vec![note("a", 3), note("b", 4)]
        );
    }

    #[test]
    fn ids_that_could_name_other_paths_are_refused() {
        assert!(file_stem("drf_0123abcd").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(file_stem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_position_survives_a_reopen_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut outbox = Outbox::open(dir.path()).unwrap_or_else(|e| panic!("{e:#}"));
        outbox
            .deliver(&note("drf_1", 7), b"{}", b"text")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let reopened = Outbox::open(dir.path()).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(reopened.position(), outbox.position());
        assert!(reopened.has("drf_1").unwrap_or(false));
        std::fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(Outbox::open(dir.path()).is_err());
    }
}
