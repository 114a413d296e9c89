//! The audit log Patientdatalagen asks for: who read, created, edited, signed, exported or deleted
//! which draft or audio, when, and with what outcome. Rows are append-only (SQLite triggers refuse
//! UPDATE and DELETE) and hash-chained, so [`verify_audit_chain`] detects any tampering.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::User;
use crate::store::{hex, now_ms, rfc3339, Store};
use crate::Result;

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Read,
    List,
    Edit,
    Sign,
    Export,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::List => "list",
            Action::Edit => "edit",
            Action::Sign => "sign",
            Action::Export => "export",
            Action::Delete => "delete",
        }
    }
}

/// How it ended: `ok`, or the error code that refused it (`forbidden`, `conflict`, …).
pub type Outcome<'a> = &'a str;

/// One entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// `None` for actions of the server itself (audio deletion at signing is attributed to the
    /// signer; a retention sweep would have no user).
    pub user: Option<&'a User>,
    pub patient_ref: &'a str,
    pub draft_id: &'a str,
    pub action: Action,
    pub outcome: Outcome<'a>,
    /// What the action touched beyond the draft (`audio`, a session id, a filter).
    pub detail: &'a str,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    #[serde(skip)]
    pub at_ms: i64,
    pub user_hsa: String,
    pub role: String,
    pub patient_ref: String,
    pub draft_id: String,
    pub action: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// The bytes the hash covers: a JSON array of every field but the hashes, in a fixed order.
    fn canonical(&self) -> String {
        serde_json::json!([
            self.id,
            self.at_ms,
            self.user_hsa,
            self.role,
            self.patient_ref,
            self.draft_id,
            self.action,
            self.outcome,
            self.detail
        ])
        .to_string()
    }

    fn expected_hash(&self, prev_hash: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(prev_hash.as_bytes());
        hasher.update(self.canonical().as_bytes());
        hex(&hasher.finalize())
    }
}

/// Appends one entry, chained to the last row. The append is its own committed transaction.
pub fn append(store: &Store, entry: &AuditEntry<'_>) -> Result<()> {
    let mut conn = store.lock()?;
    let tx = conn.transaction()?;
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (last_id, prev_hash) = last.unwrap_or((0, GENESIS_HASH.to_string()));
    let (user_hsa, role, user_id) = match entry.user {
        Some(u) => (u.hsa_id.clone(), u.role.as_str().to_string(), Some(u.id)),
        None => ("system".to_string(), "system".to_string(), None),
    };
    let mut row = AuditRow {
        id: last_id + 1,
        at: String::new(),
        at_ms: now_ms(),
        user_hsa,
        role,
        patient_ref: entry.patient_ref.to_string(),
        draft_id: entry.draft_id.to_string(),
        action: entry.action.as_str().to_string(),
        outcome: entry.outcome.to_string(),
        detail: entry.detail.to_string(),
        prev_hash: prev_hash.clone(),
        hash: String::new(),
    };
    row.hash = row.expected_hash(&prev_hash);
    tx.execute(
        "INSERT INTO audit (id, at_ms, user_id, user_hsa, role, patient_ref, draft_id, action, outcome, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![row.id, row.at_ms, user_id, row.user_hsa, row.role, row.patient_ref, row.draft_id,
            row.action, row.outcome, row.detail, row.prev_hash, row.hash],
    )?;
    tx.commit()?;
    Ok(())
}

/// Appends an entry, logging rather than failing when the log itself cannot be written: the
/// caller's response is already decided, and the failure is an operator alarm.
pub fn record(store: &Store, entry: &AuditEntry<'_>) {
    if let Err(e) = append(store, entry) {
        tracing::error!(error = %e, action = entry.action.as_str(), draft = entry.draft_id,
            "AUDIT LOG WRITE FAILED");
    }
}

/// Rows, oldest first, optionally only those of one patient.
pub fn rows(
    store: &Store,
    patient_ref: Option<&str>,
    limit: usize,
    offset: usize,
) -> Result<Vec<AuditRow>> {
    let conn = store.lock()?;
    let mut stmt = conn.prepare(
        "SELECT id, at_ms, user_hsa, role, patient_ref, draft_id, action, outcome, detail, prev_hash, hash
         FROM audit WHERE (?1 IS NULL OR patient_ref = ?1) ORDER BY id LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt
        .query_map(
            params![patient_ref, limit as i64, offset as i64],
            row_from_sql,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    let at_ms: i64 = r.get(1)?;
    Ok(AuditRow {
        id: r.get(0)?,
        at: rfc3339(at_ms),
        at_ms,
        user_hsa: r.get(2)?,
        role: r.get(3)?,
        patient_ref: r.get(4)?,
        draft_id: r.get(5)?,
        action: r.get(6)?,
        outcome: r.get(7)?,
        detail: r.get(8)?,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: u64,
    /// The first row that breaks the chain, if any.
    pub first_broken: Option<BrokenLink>,
    /// The hash of the last row (publish it elsewhere to detect truncation of the tail).
    pub head_hash: String,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub id: i64,
    pub reason: String,
}

/// Recomputes every row's hash from its predecessor and its content. A changed, removed or
/// inserted row breaks the chain at that row.
pub fn verify_audit_chain(store: &Store) -> Result<VerifyReport> {
    let conn = store.lock()?;
    let mut stmt = conn.prepare(
        "SELECT id, at_ms, user_hsa, role, patient_ref, draft_id, action, outcome, detail, prev_hash, hash
         FROM audit ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut expected_id = 1;
    let mut count = 0u64;
    let mut first_broken = None;
    while let Some(sql_row) = rows.next()? {
        let row = row_from_sql(sql_row)?;
        count += 1;
        if first_broken.is_none() {
            let reason = if row.id != expected_id {
                Some(format!(
                    "expected row {expected_id}, found row {} (rows removed or inserted)",
                    row.id
                ))
            } else if row.prev_hash != prev_hash {
                Some("prev_hash does not match the previous row's hash".to_string())
            } else if row.hash != row.expected_hash(&prev_hash) {
                Some("content does not match its hash (row altered)".to_string())
            } else {
                None
            };
            if let Some(reason) = reason {
                tracing::warn!(id = row.id, %reason, "audit chain broken");
                first_broken = Some(BrokenLink { id: row.id, reason });
            }
        }
        expected_id = row.id + 1;
        prev_hash = row.hash;
    }
    Ok(VerifyReport {
        rows: count,
        first_broken,
        head_hash: prev_hash,
    })
}
