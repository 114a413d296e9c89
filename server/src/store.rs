//! SQLite persistence: users, sessions, their events, drafts and the audit log, in one embedded
//! database in WAL mode with `synchronous=FULL`, so whatever a client was told is committed
//! survives a crash. Methods are synchronous; async code runs them through [`crate::AppState::db`].

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use skriva_engine::recognize::Segment;

use crate::auth::{Role, User};
use crate::{Error, Result};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('clinician', 'secretary', 'admin')),
    hsa_id        TEXT NOT NULL UNIQUE,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_ms    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id                 TEXT PRIMARY KEY,
    mode               TEXT NOT NULL,
    patient_ref        TEXT NOT NULL,
    clinician_hsa      TEXT NOT NULL,
    template           TEXT NOT NULL,
    created_by         INTEGER NOT NULL REFERENCES users(id),
    status             TEXT NOT NULL,
    sample_rate        INTEGER,
    channels           INTEGER,
    encoding           TEXT,
    event_seq_reserved INTEGER NOT NULL DEFAULT 0,
    draft_id           TEXT NOT NULL,
    audio_deleted      INTEGER NOT NULL DEFAULT 0,
    created_ms         INTEGER NOT NULL,
    finished_ms        INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq        INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE IF NOT EXISTS drafts (
    id            TEXT PRIMARY KEY,
    session_id    TEXT,
    patient_ref   TEXT NOT NULL,
    clinician_hsa TEXT NOT NULL,
    template      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'edited', 'signed')),
    version       INTEGER NOT NULL,
    note          TEXT NOT NULL,
    segments      TEXT NOT NULL,
    supersedes    TEXT REFERENCES drafts(id),
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    signed_ms     INTEGER,
    signed_by     TEXT
);
CREATE INDEX IF NOT EXISTS drafts_by_patient ON drafts(patient_ref, updated_ms);
CREATE INDEX IF NOT EXISTS drafts_by_update ON drafts(updated_ms);
CREATE TABLE IF NOT EXISTS audit (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    user_id     INTEGER,
    user_hsa    TEXT NOT NULL,
    role        TEXT NOT NULL,
    patient_ref TEXT NOT NULL,
    draft_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_patient ON audit(patient_ref);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 (UTC) rendering of a millisecond timestamp.
pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp into milliseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Result<i64> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::BadRequest(format!("`{text}` is not an RFC 3339 time: {e}")))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A random identifier with a readable prefix (`ses_…`, `drf_…`).
pub fn new_id(prefix: &str) -> String {
    let bytes: [u8; 12] = rand::random();
    format!("{prefix}_{}", hex(&bytes))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Dictation (one speaker, commands) or ambient (a consultation overheard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    Dictation,
    Ambient,
}

impl SessionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Dictation => "dictation",
            SessionMode::Ambient => "ambient",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "ambient" {
            SessionMode::Ambient
        } else {
            SessionMode::Dictation
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Accepting audio (or waiting to resume after a dropped connection or a restart).
    Open,
    /// Stopped; its draft holds everything that was said.
    Finished,
}

/// Sample encodings accepted on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    PcmS16le,
    PcmF32le,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::PcmS16le => "pcm_s16le",
            Encoding::PcmF32le => "pcm_f32le",
        }
    }
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Encoding::PcmS16le => 2,
            Encoding::PcmF32le => 4,
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "pcm_s16le" => Some(Encoding::PcmS16le),
            "pcm_f32le" => Some(Encoding::PcmF32le),
            _ => None,
        }
    }
}

/// The audio format a session's client announced in its first `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    pub sample_rate: u32,
    pub channels: usize,
    pub encoding: Encoding,
}

/// A dictation or ambient session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRecord {
    pub id: String,
    pub mode: SessionMode,
    pub patient_ref: String,
    pub clinician_hsa: String,
    pub template: String,
    #[serde(skip)]
    pub created_by: i64,
    pub status: SessionStatus,
    pub format: Option<AudioFormat>,
    #[serde(skip)]
    pub event_seq_reserved: u64,
    pub draft_id: String,
    pub audio_deleted: bool,
    #[serde(skip)]
    pub created_ms: i64,
}

/// What a session is created with.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub mode: SessionMode,
    pub patient_ref: String,
    pub clinician_hsa: String,
    pub template: String,
    pub created_by: i64,
}

/// A draft's lifecycle: draft → edited → signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    Draft,
    Edited,
    Signed,
}

impl DraftStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftStatus::Draft => "draft",
            DraftStatus::Edited => "edited",
            DraftStatus::Signed => "signed",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "draft" => Ok(DraftStatus::Draft),
            "edited" => Ok(DraftStatus::Edited),
            "signed" => Ok(DraftStatus::Signed),
            other => Err(Error::BadRequest(format!(
                "status `{other}`: expected draft, edited or signed"
            ))),
        }
    }
}

/// A draft's note is the engine's structured note (sections with headings, text and
/// highlights; metadata; term corrections; suggested codes).
pub use skriva_engine::journal::{Note, Section};

/// A journal-note draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    pub id: String,
    pub session_id: Option<String>,
    pub patient_ref: String,
    pub clinician: String,
    pub template: String,
    pub status: DraftStatus,
    pub version: i64,
    pub note: Note,
    pub segments: Vec<Segment>,
    pub supersedes: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub signed_ms: Option<i64>,
    pub signed_by: Option<String>,
}

/// What a new draft starts with.
#[derive(Debug, Clone)]
pub struct NewDraft {
    pub session_id: Option<String>,
    pub patient_ref: String,
    pub clinician_hsa: String,
    pub template: String,
    pub segments: Vec<Segment>,
    pub note: Note,
    pub supersedes: Option<String>,
}

/// Filters of `GET /api/drafts`.
#[derive(Debug, Clone, Default)]
pub struct DraftFilter {
    pub status: Option<DraftStatus>,
    pub since_ms: Option<i64>,
    pub patient_ref: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// The database.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, in WAL mode with full fsyncs.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL lets readers (`skriva audit verify`) run beside the server; FULL makes every commit
        // durable before it returns, which is what "acknowledged" promises.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The open connection, for modules that keep their own tables' SQL (audit).
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Internal("database lock poisoned by an earlier panic".into()))
    }

    // ---- users --------------------------------------------------------------------------

    pub(crate) fn insert_user(
        &self,
        name: &str,
        role: Role,
        hsa_id: &str,
        token_sha256: &str,
    ) -> Result<User> {
        let conn = self.lock()?;
        let created_ms = now_ms();
        let inserted = conn.execute(
            "INSERT INTO users (name, role, hsa_id, token_sha256, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role.as_str(), hsa_id, token_sha256, created_ms],
        );
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(Error::Conflict(format!(
                    "a user with HSA id `{hsa_id}` already exists"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        Ok(User {
            id: conn.last_insert_rowid(),
            name: name.to_string(),
            role,
            hsa_id: hsa_id.to_string(),
        })
    }

    pub(crate) fn user_by_token_hash(&self, token_sha256: &str) -> Result<Option<User>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT id, name, role, hsa_id FROM users WHERE token_sha256 = ?1",
            [token_sha256],
            user_from_row,
        )
        .optional()
        .map_err(Into::into)
    }

    /// The user with this HSA id.
    pub fn user_by_hsa(&self, hsa_id: &str) -> Result<Option<User>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT id, name, role, hsa_id FROM users WHERE hsa_id = ?1",
            [hsa_id],
            user_from_row,
        )
        .optional()
        .map_err(Into::into)
    }

    /// All users, oldest first.
    pub fn users(&self) -> Result<Vec<User>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare("SELECT id, name, role, hsa_id FROM users ORDER BY id")?;
        let users = stmt
            .query_map([], user_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(users)
    }

    // ---- sessions -----------------------------------------------------------------------

    /// Creates a session and its (empty) draft in one transaction.
    pub fn create_session(&self, new: &NewSession) -> Result<SessionRecord> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let now = now_ms();
        let id = new_id("ses");
        let draft_id = insert_draft(
            &tx,
            &NewDraft {
                session_id: Some(id.clone()),
                patient_ref: new.patient_ref.clone(),
                clinician_hsa: new.clinician_hsa.clone(),
                template: new.template.clone(),
                segments: Vec::new(),
                note: Note::default(),
                supersedes: None,
            },
            now,
        )?;
        tx.execute(
            "INSERT INTO sessions (id, mode, patient_ref, clinician_hsa, template, created_by, status, draft_id, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8)",
            params![id, new.mode.as_str(), new.patient_ref, new.clinician_hsa, new.template, new.created_by, draft_id, now],
        )?;
        tx.commit()?;
        drop(conn);
        self.session(&id)?
            .ok_or_else(|| Error::Internal("session vanished after insert".into()))
    }

    /// A session by id.
    pub fn session(&self, id: &str) -> Result<Option<SessionRecord>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT id, mode, patient_ref, clinician_hsa, template, created_by, status, sample_rate, channels,
                    encoding, event_seq_reserved, draft_id, audio_deleted, created_ms
             FROM sessions WHERE id = ?1",
            [id],
            session_from_row,
        )
        .optional()
        .map_err(Into::into)
    }

    /// Records the audio format of a session's first `start`.
    pub fn set_session_format(&self, id: &str, format: AudioFormat) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE sessions SET sample_rate = ?2, channels = ?3, encoding = ?4 WHERE id = ?1",
            params![
                id,
                format.sample_rate,
                format.channels as i64,
                format.encoding.as_str()
            ],
        )?;
        Ok(())
    }

    /// Durably reserves event sequence numbers up to `upto`, so numbers handed out after a
    /// restart never repeat ones a client may already have seen.
    pub fn reserve_event_seqs(&self, session_id: &str, upto: u64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE sessions SET event_seq_reserved = MAX(event_seq_reserved, ?2) WHERE id = ?1",
            params![session_id, upto as i64],
        )?;
        Ok(())
    }

    /// Persists a replayable event on its own.
    pub fn insert_event(&self, session_id: &str, seq: u64, payload: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO events (session_id, seq, payload) VALUES (?1, ?2, ?3)",
            params![session_id, seq as i64, payload],
        )?;
        Ok(())
    }

    /// Events of a session with `seq > after`, in order (their JSON payloads).
    pub fn events_after(&self, session_id: &str, after: u64) -> Result<Vec<(u64, String)>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT seq, payload FROM events WHERE session_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map(params![session_id, after as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The highest persisted event seq of a session (0 when none).
    pub fn last_event_seq(&self, session_id: &str) -> Result<u64> {
        let conn = self.lock()?;
        let seq: i64 = conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = ?1",
            [session_id],
            |r| r.get(0),
        )?;
        Ok(seq as u64)
    }

    /// Commits a final segment: appends it to the session's draft (re-structuring the note from
    /// all its finals) and records its `final` event, in one transaction. Only after this
    /// returns may the client be told.
    ///
    /// The note is structured outside the database lock, which every session shares: a long
    /// draft takes tens of milliseconds to structure, and other sessions' audio and events
    /// should not wait for it. The transaction then checks that the draft's finals are still
    /// the ones structured (only this session appends to them) and otherwise structures
    /// again inside it.
    pub fn commit_final(
        &self,
        session: &SessionRecord,
        segment: &Segment,
        seq: u64,
        payload: &str,
        notes: &crate::notes::Notes,
    ) -> Result<()> {
        let draft_segments = |conn: &Connection| -> Result<String> {
            Ok(conn.query_row(
                "SELECT segments FROM drafts WHERE id = ?1",
                [&session.draft_id],
                |r| r.get(0),
            )?)
        };
        let with_final = |segments_json: &str| -> Result<Vec<Segment>> {
            let mut segments: Vec<Segment> = serde_json::from_str(segments_json)
                .map_err(|e| Error::Internal(format!("draft segments unreadable: {e}")))?;
            segments.push(segment.clone());
            Ok(segments)
        };
        let read = draft_segments(&*self.lock()?)?;
        let mut segments = with_final(&read)?;
        let mut note = notes.structure(&segments, session.mode, &session.template);
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let current = draft_segments(&tx)?;
        if current != read {
            segments = with_final(&current)?;
            note = notes.structure(&segments, session.mode, &session.template);
        }
        tx.execute(
            "UPDATE drafts SET segments = ?2, note = ?3, version = version + 1, updated_ms = ?4 WHERE id = ?1",
            params![session.draft_id, to_json(&segments)?, to_json(&note)?, now_ms()],
        )?;
        tx.execute(
            "INSERT INTO events (session_id, seq, payload) VALUES (?1, ?2, ?3)",
            params![session.id, seq as i64, payload],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Finals already committed for a session (what a rebuilt stream must not commit again).
    pub fn committed_finals(&self, session_id: &str) -> Result<usize> {
        let conn = self.lock()?;
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM events WHERE session_id = ?1 AND json_extract(payload, '$.type') = 'final'",
            [session_id],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// Records a session's closing events and marks it finished, in one transaction.
    pub fn finish_session_with_events(
        &self,
        session_id: &str,
        events: &[(u64, String)],
    ) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        for (seq, payload) in events {
            tx.execute(
                "INSERT INTO events (session_id, seq, payload) VALUES (?1, ?2, ?3)",
                params![session_id, *seq as i64, payload],
            )?;
        }
        tx.execute(
            "UPDATE sessions SET status = 'finished', finished_ms = COALESCE(finished_ms, ?2) WHERE id = ?1",
            params![session_id, now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a session finished (idempotent).
    pub fn finish_session(&self, session_id: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE sessions SET status = 'finished', finished_ms = COALESCE(finished_ms, ?2) WHERE id = ?1",
            params![session_id, now_ms()],
        )?;
        Ok(())
    }

    /// Records that a session's audio was deleted.
    pub fn mark_audio_deleted(&self, session_id: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE sessions SET audio_deleted = 1 WHERE id = ?1",
            [session_id],
        )?;
        Ok(())
    }

    // ---- drafts -------------------------------------------------------------------------

    /// Creates a draft (from an upload, or as a correction of a signed one).
    pub fn create_draft(&self, new: &NewDraft) -> Result<Draft> {
        let conn = self.lock()?;
        let id = insert_draft(&conn, new, now_ms())?;
        drop(conn);
        self.draft(&id)?
            .ok_or_else(|| Error::Internal("draft vanished after insert".into()))
    }

    /// A draft by id.
    pub fn draft(&self, id: &str) -> Result<Option<Draft>> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = ?1"),
            [id],
            draft_from_row,
        )
        .optional()?
        .transpose()
    }

    /// Drafts matching `filter`, most recently updated first.
    pub fn drafts(&self, filter: &DraftFilter) -> Result<Vec<Draft>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR updated_ms >= ?2)
               AND (?3 IS NULL OR patient_ref = ?3)
             ORDER BY updated_ms DESC, id LIMIT ?4 OFFSET ?5"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    filter.status.map(DraftStatus::as_str),
                    filter.since_ms,
                    filter.patient_ref,
                    filter.limit as i64,
                    filter.offset as i64
                ],
                draft_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().collect()
    }

    /// Replaces a draft's note if `expected_version` is current and it is not signed; the
    /// draft becomes `edited` and its version goes up by one.
    pub fn edit_draft(&self, id: &str, expected_version: i64, note: &Note) -> Result<Draft> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let (status, version): (String, i64) = tx
            .query_row(
                "SELECT status, version FROM drafts WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no draft `{id}`")))?;
        if status == "signed" {
            return Err(Error::Conflict(format!(
                "draft `{id}` is signed and cannot change; POST /api/drafts/{id}/revisions to correct it"
            )));
        }
        if version != expected_version {
            return Err(Error::VersionMismatch {
                given: expected_version,
                current: version,
            });
        }
        tx.execute(
            "UPDATE drafts SET note = ?2, status = 'edited', version = version + 1, updated_ms = ?3 WHERE id = ?1",
            params![id, to_json(note)?, now_ms()],
        )?;
        tx.commit()?;
        drop(conn);
        self.draft(id)?
            .ok_or_else(|| Error::Internal("draft vanished after edit".into()))
    }

    /// Signs a draft (only the caller checks who may); signed drafts never change again.
    pub fn sign_draft(
        &self,
        id: &str,
        expected_version: Option<i64>,
        signer: &str,
    ) -> Result<Draft> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let (status, version): (String, i64) = tx
            .query_row(
                "SELECT status, version FROM drafts WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no draft `{id}`")))?;
        if status == "signed" {
            return Err(Error::Conflict(format!("draft `{id}` is already signed")));
        }
        if let Some(expected) = expected_version.filter(|v| *v != version) {
            return Err(Error::VersionMismatch {
                given: expected,
                current: version,
            });
        }
        tx.execute(
            "UPDATE drafts SET status = 'signed', version = version + 1, signed_ms = ?2, signed_by = ?3, updated_ms = ?2 WHERE id = ?1",
            params![id, now_ms(), signer],
        )?;
        tx.commit()?;
        drop(conn);
        self.draft(id)?
            .ok_or_else(|| Error::Internal("draft vanished after signing".into()))
    }
}

const DRAFT_COLUMNS: &str =
    "id, session_id, patient_ref, clinician_hsa, template, status, version, note, segments,
    supersedes, created_ms, updated_ms, signed_ms, signed_by";

fn insert_draft(conn: &Connection, new: &NewDraft, now: i64) -> Result<String> {
    let id = new_id("drf");
    conn.execute(
        "INSERT INTO drafts (id, session_id, patient_ref, clinician_hsa, template, status, version, note, segments, supersedes, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 'draft', 1, ?6, ?7, ?8, ?9, ?9)",
        params![id, new.session_id, new.patient_ref, new.clinician_hsa, new.template,
            to_json(&new.note)?, to_json(&new.segments)?, new.supersedes, now],
    )?;
    Ok(id)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("serializing: {e}")))
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Secretary),
        hsa_id: r.get(3)?,
    })
}

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    let mode: String = r.get(1)?;
    let status: String = r.get(6)?;
    let rate: Option<i64> = r.get(7)?;
    let channels: Option<i64> = r.get(8)?;
    let encoding: Option<String> = r.get(9)?;
    let format = match (
        rate,
        channels,
        encoding.as_deref().and_then(Encoding::parse),
    ) {
        (Some(rate), Some(channels), Some(encoding)) => Some(AudioFormat {
            sample_rate: rate as u32,
            channels: channels as usize,
            encoding,
        }),
        _ => None,
    };
    Ok(SessionRecord {
        id: r.get(0)?,
        mode: SessionMode::parse(&mode),
        patient_ref: r.get(2)?,
        clinician_hsa: r.get(3)?,
        template: r.get(4)?,
        created_by: r.get(5)?,
        status: if status == "finished" {
            SessionStatus::Finished
        } else {
            SessionStatus::Open
        },
        format,
        event_seq_reserved: r.get::<_, i64>(10)? as u64,
        draft_id: r.get(11)?,
        audio_deleted: r.get::<_, i64>(12)? != 0,
        created_ms: r.get(13)?,
    })
}

fn draft_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Draft>> {
    let status: String = r.get(5)?;
    let note: String = r.get(7)?;
    let segments: String = r.get(8)?;
    let parsed = (|| -> Result<Draft> {
        Ok(Draft {
            id: r.get(0)?,
            session_id: r.get(1)?,
            patient_ref: r.get(2)?,
            clinician: r.get(3)?,
            template: r.get(4)?,
            status: DraftStatus::parse(&status)?,
            version: r.get(6)?,
            note: serde_json::from_str(&note)
                .map_err(|e| Error::Internal(format!("draft note unreadable: {e}")))?,
            segments: serde_json::from_str(&segments)
                .map_err(|e| Error::Internal(format!("draft segments unreadable: {e}")))?,
            supersedes: r.get(9)?,
            created_ms: r.get(10)?,
            updated_ms: r.get(11)?,
            signed_ms: r.get(12)?,
            signed_by: r.get(13)?,
        })
    })();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use skriva_engine::recognize::Word;

    fn said(text: &str, start: f64) -> Segment {
        let words = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| Word {
                word: format!(" {w}"),
                // Times whose shortest decimal form parses back one unit in the last place
                // off without serde_json's `float_roundtrip` (0.44999999999999996).
                start: start + i as f64 * 0.3,
                end: start + i as f64 * 0.3 + 0.15,
                p: 0.9,
            })
            .collect::<Vec<_>>();
        Segment {
            start,
            end: words.last().map_or(start, |w| w.end),
            text: text.to_owned(),
            words,
        }
    }

    #[test]
    fn finals_append_to_the_draft_and_restructure_its_note() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Internal(e.to_string()))?;
        let store = Store::open(&dir.path().join("skriva.db"))?;
        let notes = crate::notes::Notes::open(None, "primarvard-lakarbesok")?;
        let user = store.insert_user("Anna Läkare", Role::Clinician, "SE1", "digest")?;
        let session = store.create_session(&NewSession {
            mode: SessionMode::Dictation,
            patient_ref: "patient-1".into(),
            clinician_hsa: "SE1".into(),
            template: "primarvard-lakarbesok".into(),
            created_by: user.id,
        })?;
        let finals = [
            said(
                "rubrik status blodtryck hundrafemtio över nittiofyra punkt",
                0.0,
            ),
            said("rubrik bedömning hypertoni punkt", 4.0),
        ];
        for (seq, segment) in (1..).zip(&finals) {
            store.commit_final(&session, segment, seq, r#"{"type":"final"}"#, &notes)?;
        }
        let draft = store
            .draft(&session.draft_id)?
            .ok_or_else(|| Error::Internal("no draft".into()))?;
        assert_eq!(draft.segments, finals);
        assert_eq!(
            draft.note.to_text(),
            "Status\nBlodtryck 150/94.\n\nBedömning\nHypertoni."
        );
        assert_eq!(store.committed_finals(&session.id)?, 2);
        Ok(())
    }
}
