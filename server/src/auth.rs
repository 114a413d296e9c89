//! Bearer-token authentication and roles. Tokens are 256 random bits shown once at creation and
//! stored only as sha256 hashes; each maps to a user with a role and an HSA id. WebSocket
//! upgrades may also carry the token in `access_token` or a `bearer.<token>` subprotocol.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{hex, Store};
use crate::{AppState, Error, Result};

/// Prefix of the WebSocket subprotocol that carries a token (browsers cannot set headers).
pub const BEARER_SUBPROTOCOL_PREFIX: &str = "bearer.";

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Dictates, edits and signs their own notes.
    Clinician,
    /// Uploads recordings and edits drafts on a clinician's behalf; never signs.
    Secretary,
    /// Everything but signing; the only role that may read the audit log.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Secretary => "secretary",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "clinician" => Ok(Role::Clinician),
            "secretary" => Ok(Role::Secretary),
            "admin" => Ok(Role::Admin),
            other => Err(Error::BadRequest(format!(
                "role `{other}`: expected clinician, secretary or admin"
            ))),
        }
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Role::parse(s)
    }
}

/// An authenticated person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// HSA-style identity, e.g. `SE2321000016-ABC1`.
    pub hsa_id: String,
}

/// Creates a user and returns them with their bearer token. The token is not stored and cannot
/// be shown again: the CLI's `skriva user add` prints it once.
pub fn create_user(store: &Store, name: &str, role: Role, hsa_id: &str) -> Result<(User, String)> {
    validate_hsa_id(hsa_id)?;
    if name.trim().is_empty() {
        return Err(Error::BadRequest("a user needs a name".into()));
    }
    let secret: [u8; 32] = rand::random();
    let token = format!("skr_{}", hex(&secret));
    let user = store.insert_user(name.trim(), role, hsa_id, &token_hash(&token))?;
    tracing::info!(user = %user.hsa_id, role = role.as_str(), "user created");
    Ok((user, token))
}

/// The user a token belongs to, if any.
pub fn authenticate(store: &Store, token: &str) -> Result<Option<User>> {
    store.user_by_token_hash(&token_hash(token))
}

/// HSA ids are `SE`, the issuer's organisation number, `-` and a local part.
pub fn validate_hsa_id(hsa_id: &str) -> Result<()> {
    let ok = hsa_id.len() <= 31
        && hsa_id.starts_with("SE")
        && hsa_id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        && hsa_id.contains('-');
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "`{hsa_id}` is not an HSA id (expected e.g. SE2321000016-ABC1)"
        )))
    }
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Finds a request's token: the `Authorization: Bearer` header always; on WebSocket upgrades
/// also the `access_token` query parameter or a `bearer.<token>` subprotocol.
pub fn request_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    let is_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return None;
    }
    if let Some(token) = query.and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "access_token")
            .map(|(_, v)| v.to_string())
    }) {
        return Some(token);
    }
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(BEARER_SUBPROTOCOL_PREFIX))
        .map(str::to_string)
}

/// Extractor: the authenticated caller, or 401.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl Caller {
    /// Refuses callers whose role is not among `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<()> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "a {} may not {what}",
                self.0.role.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = request_token(&parts.headers, parts.uri.query())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unauthorized("a bearer token is required".into()))?;
        let user = state
            .db(move |store| authenticate(store, &token))
            .await?
            .ok_or_else(|| Error::Unauthorized("unknown bearer token".into()))?;
        Ok(Caller(user))
    }
}
