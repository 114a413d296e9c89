//! The REST API: sessions, whole-file transcription (Skriva's and the OpenAI-compatible shape),
//! drafts and their lifecycle (read, edit with `If-Match`, sign, revise), the audit log, and the
//! operational endpoints `/healthz`, `/readyz` and `/metrics`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use skriva_engine::recognize::{DecodeOptions, Transcript};

use crate::audit::{self, Action, AuditEntry};
use crate::auth::{Caller, Role, User};
use crate::store::{
    rfc3339, Draft, DraftFilter, DraftStatus, NewDraft, NewSession, Note, Section, SessionMode,
    SessionStatus,
};
use crate::{metrics, AppState, Error, Result};

/// Slack above the upload limit for the multipart envelope (boundaries, text fields).
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The REST routes (the WebSocket route lives in [`crate::stream`]).
pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit =
        DefaultBodyLimit::max(state.config().limits.max_upload_bytes + MULTIPART_OVERHEAD);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/api/sessions", post(create_session))
        .route("/api/sessions/{id}", get(get_session))
        .route(
            "/api/transcriptions",
            post(upload_transcription).layer(upload_limit),
        )
        .route(
            "/v1/audio/transcriptions",
            post(openai_transcription).layer(upload_limit),
        )
        .route("/api/drafts", get(list_drafts))
        .route("/api/drafts/{id}", get(get_draft).patch(edit_draft))
        .route("/api/drafts/{id}/sign", post(sign_draft))
        .route("/api/drafts/{id}/revisions", post(revise_draft))
        .route("/api/audit", get(audit_log))
        .route("/api/audit/verify", get(audit_verify))
}

// ---- operations -------------------------------------------------------------------------

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.recognizer() {
        Ok(r) => Json(json!({"status": "ready", "model": r.model_name()})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let body = metrics::global().render(state.recognizer().is_ok());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

// ---- sessions ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSession {
    mode: SessionMode,
    patient_ref: String,
    /// The signing clinician's HSA id; defaults to the caller.
    clinician: Option<String>,
    template: Option<String>,
}

async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let request: CreateSession = parse_json(&body)?;
    caller.require(&[Role::Clinician, Role::Admin], "start a dictation session")?;
    let patient_ref = validate_patient_ref(&request.patient_ref)?;
    let clinician = resolve_clinician(&state, &caller.0, request.clinician).await?;
    let template = state
        .notes()
        .resolve_template(request.template.as_deref())?;
    let new = NewSession {
        mode: request.mode,
        patient_ref,
        clinician_hsa: clinician,
        template,
        created_by: caller.0.id,
    };
    let user = caller.0.clone();
    let session = state
        .db(move |store| {
            let session = store.create_session(&new)?;
            audit::record(
                store,
                &AuditEntry {
                    user: Some(&user),
                    patient_ref: &session.patient_ref,
                    draft_id: &session.draft_id,
                    action: Action::Create,
                    outcome: "ok",
                    detail: &format!("session {}", session.id),
                },
            );
            Ok(session)
        })
        .await?;
    let ws_url = format!(
        "{}/api/sessions/{}/stream",
        ws_base(&state, &headers),
        session.id
    );
    tracing::info!(session = %session.id, mode = session.mode.as_str(), "session created");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": session.id,
            "ws_url": ws_url,
            "draft_id": session.draft_id,
            "mode": session.mode,
            "template": session.template,
            "status": session.status,
        })),
    )
        .into_response())
}

async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let session = state
        .db({
            let id = id.clone();
            move |store| store.session(&id)
        })
        .await?
        .ok_or_else(|| Error::NotFound(format!("no session `{id}`")))?;
    let user = &caller.0;
    if !(user.role == Role::Admin
        || user.hsa_id == session.clinician_hsa
        || user.id == session.created_by)
    {
        return Err(Error::Forbidden(
            "only the session's clinician may see it".into(),
        ));
    }
    let last_frame_seq = state.sessions().last_frame_seq(&state, &session.id).await?;
    Ok(Json(json!({
        "id": session.id,
        "mode": session.mode,
        "status": session.status,
        "patient_ref": session.patient_ref,
        "clinician": session.clinician_hsa,
        "template": session.template,
        "format": session.format,
        "draft_id": session.draft_id,
        "audio_deleted": session.audio_deleted,
        "last_frame_seq": last_frame_seq,
        "created_at": rfc3339(session.created_ms),
    })))
}

/// The base `ws://host` for `ws_url`s: the configured public URL, else the request's `Host`.
fn ws_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config().public_url {
        let url = url.trim_end_matches('/');
        return url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| state.config().addr.to_string(), str::to_string);
    format!("ws://{host}")
}

/// The clinician a new draft belongs to: the caller when they are a clinician (they may only
/// name themselves), else the named clinician, who must exist.
async fn resolve_clinician(
    state: &AppState,
    caller: &User,
    named: Option<String>,
) -> Result<String> {
    match (caller.role, named) {
        (Role::Clinician, None) => Ok(caller.hsa_id.clone()),
        (Role::Clinician, Some(hsa)) if hsa == caller.hsa_id => Ok(hsa),
        (Role::Clinician, Some(_)) => Err(Error::Forbidden(
            "a clinician may only create drafts for themselves".into(),
        )),
        (_, None) => Err(Error::BadRequest(
            "`clinician` (the signing clinician's HSA id) is required".into(),
        )),
        (_, Some(hsa)) => {
            let lookup = hsa.clone();
            let user = state.db(move |store| store.user_by_hsa(&lookup)).await?;
            match user {
                Some(u) if u.role == Role::Clinician => Ok(hsa),
                Some(_) => Err(Error::BadRequest(format!("`{hsa}` is not a clinician"))),
                None => Err(Error::BadRequest(format!("no user with HSA id `{hsa}`"))),
            }
        }
    }
}

fn validate_patient_ref(patient_ref: &str) -> Result<String> {
    let trimmed = patient_ref.trim();
    if trimmed.is_empty() || trimmed.len() > 64 || trimmed.chars().any(char::is_control) {
        return Err(Error::BadRequest(
            "`patient_ref` must be 1–64 printable characters".into(),
        ));
    }
    Ok(trimmed.to_string())
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::BadRequest(format!("invalid JSON body: {e}")))
}

// ---- uploads ----------------------------------------------------------------------------

/// A multipart upload: its text fields and the file, spooled to a temporary file.
struct Upload {
    fields: HashMap<String, String>,
    file: tempfile::NamedTempFile,
    bytes: usize,
}

impl Upload {
    fn field(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

async fn read_upload(state: &AppState, mut multipart: Multipart) -> Result<Upload> {
    let limit = state.config().limits.max_upload_bytes;
    let tmp_dir: PathBuf = state.config().data_dir.join("tmp");
    let mut fields = HashMap::new();
    let mut file = None;
    let mut bytes = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let mut spool = tempfile::NamedTempFile::new_in(&tmp_dir)
                .map_err(|e| Error::io("creating an upload spool file", e))?;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                bytes += chunk.len();
                if bytes > limit {
                    return Err(Error::TooLarge(format!(
                        "the upload exceeds the limit of {limit} bytes"
                    )));
                }
                spool
                    .write_all(&chunk)
                    .map_err(|e| Error::io("spooling an upload", e))?;
            }
            file = Some(spool);
        } else {
            let value = field.text().await.map_err(multipart_error)?;
            fields.insert(name, value);
        }
    }
    let file =
        file.ok_or_else(|| Error::BadRequest("the multipart field `file` is missing".into()))?;
    if bytes == 0 {
        return Err(Error::BadRequest("the uploaded file is empty".into()));
    }
    Ok(Upload {
        fields,
        file,
        bytes,
    })
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge(format!("the upload is too large: {}", e.body_text()))
    } else {
        Error::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

/// Decodes and transcribes an uploaded file, waiting its turn for a decode slot.
async fn transcribe_upload(
    state: &AppState,
    upload: &Upload,
    options: DecodeOptions,
) -> Result<Transcript> {
    let recognizer = state.recognizer()?;
    let _permit = state
        .decode_permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Error::Internal("decode scheduler closed".into()))?;
    let path = upload.file.path().to_path_buf();
    let started = Instant::now();
    let transcript = tokio::task::spawn_blocking(move || -> Result<Transcript> {
        let decode_started = Instant::now();
        let (pcm, _info) = skriva_engine::audio::load_file(&path).map_err(|e| match e {
            skriva_engine::Error::Decode { reason, .. } => {
                Error::UndecodableAudio(format!("the file is not decodable audio: {reason}"))
            }
            other => Error::Engine(other),
        })?;
        let decode_s = decode_started.elapsed().as_secs_f64();
        let transcribe_started = Instant::now();
        let segments = recognizer.transcribe(&pcm, &options, None)?;
        Ok(Transcript {
            text: Transcript::join_text(&segments),
            language: options.language.clone(),
            duration_s: pcm.duration_s(),
            segments,
            model: recognizer.model_name().to_string(),
            timings: skriva_engine::recognize::Timings {
                decode_s,
                transcribe_s: transcribe_started.elapsed().as_secs_f64(),
            },
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("transcription task failed: {e}")))??;
    let elapsed = started.elapsed().as_secs_f64();
    metrics::global().upload_transcribed(elapsed);
    metrics::global().add_decoded(transcript.duration_s, transcript.timings.transcribe_s);
    Ok(transcript)
}

fn decode_options(
    state: &AppState,
    language: Option<String>,
    prompt: Option<String>,
) -> Result<DecodeOptions> {
    let mut options = state.config().streaming.decode.clone();
    // Whole recordings decode like `skriva transcribe --structure`: whisper's full window,
    // beam search, speech in pieces cut at pauses.
    let notes = DecodeOptions::for_notes();
    options.fit_encoder_to_audio = false;
    options.beam_size = options.beam_size.max(notes.beam_size);
    options.chunk_s = notes.chunk_s;
    if let Some(language) = language {
        if !(language == "auto"
            || (language.len() == 2 && language.chars().all(|c| c.is_ascii_lowercase())))
        {
            return Err(Error::BadRequest(format!(
                "language `{language}`: expected an ISO 639-1 code or `auto`"
            )));
        }
        options.language = language;
    }
    if prompt.is_some() {
        options.initial_prompt = prompt;
    }
    Ok(options)
}

/// `POST /api/transcriptions`: a whole recording becomes a draft.
async fn upload_transcription(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Multipart,
) -> Result<Response> {
    let upload = read_upload(&state, multipart).await?;
    let patient_ref = validate_patient_ref(
        &upload
            .field("patient_ref")
            .ok_or_else(|| Error::BadRequest("the field `patient_ref` is missing".into()))?,
    )?;
    let clinician = resolve_clinician(&state, &caller.0, upload.field("clinician")).await?;
    let template = state
        .notes()
        .resolve_template(upload.field("template").as_deref())?;
    let mode = match upload.field("mode").as_deref() {
        None | Some("dictation") => SessionMode::Dictation,
        Some("ambient") => SessionMode::Ambient,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "mode `{other}`: expected dictation or ambient"
            )))
        }
    };
    let options = decode_options(&state, upload.field("language"), upload.field("prompt"))?;
    let options = state.notes().decode_options(&options, mode, &template);
    tracing::info!(bytes = upload.bytes, "transcribing an upload");
    let transcript = transcribe_upload(&state, &upload, options).await?;
    let note = {
        let notes = state.notes().clone();
        let segments = transcript.segments.clone();
        let template = template.clone();
        tokio::task::spawn_blocking(move || notes.structure(&segments, mode, &template))
            .await
            .map_err(|e| Error::Internal(format!("structuring task failed: {e}")))?
    };
    let new = NewDraft {
        session_id: None,
        patient_ref,
        clinician_hsa: clinician,
        template,
        segments: transcript.segments,
        note,
        supersedes: None,
    };
    let user = caller.0.clone();
    let draft = state
        .db(move |store| {
            let draft = store.create_draft(&new)?;
            audit::record(
                store,
                &AuditEntry {
                    user: Some(&user),
                    patient_ref: &draft.patient_ref,
                    draft_id: &draft.id,
                    action: Action::Create,
                    outcome: "ok",
                    detail: "upload",
                },
            );
            Ok(draft)
        })
        .await?;
    Ok(draft_response(StatusCode::CREATED, &draft, true))
}

/// `POST /v1/audio/transcriptions`: the OpenAI transcription API's shape. Nothing is stored.
async fn openai_transcription(
    State(state): State<AppState>,
    _caller: Caller,
    multipart: Multipart,
) -> Result<Response> {
    let upload = read_upload(&state, multipart).await?;
    let format = upload
        .field("response_format")
        .unwrap_or_else(|| "json".into());
    if !["json", "text", "srt", "vtt", "verbose_json"].contains(&format.as_str()) {
        return Err(Error::BadRequest(format!(
            "response_format `{format}`: expected json, text, srt, vtt or verbose_json"
        )));
    }
    // `model` is accepted for compatibility and ignored: the server serves the model it loaded.
    let options = decode_options(&state, upload.field("language"), upload.field("prompt"))?;
    let transcript = transcribe_upload(&state, &upload, options).await?;
    let text_response = |content_type: &'static str, body: String| {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    Ok(match format.as_str() {
        "text" => text_response(
            "text/plain; charset=utf-8",
            format!("{}\n", transcript.text),
        ),
        "srt" => text_response("application/x-subrip; charset=utf-8", transcript.to_srt()),
        "vtt" => text_response("text/vtt; charset=utf-8", transcript.to_vtt()),
        "verbose_json" => Json(verbose_json(&transcript)).into_response(),
        _ => Json(json!({"text": transcript.text})).into_response(),
    })
}

fn verbose_json(transcript: &Transcript) -> Value {
    let segments: Vec<Value> = transcript
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mean_p = if s.words.is_empty() {
                0.0
            } else {
                s.words.iter().map(|w| f64::from(w.p)).sum::<f64>() / s.words.len() as f64
            };
            json!({
                "id": i,
                "seek": 0,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": mean_p.max(1e-9).ln(),
                "compression_ratio": 1.0,
                "no_speech_prob": 0.0,
            })
        })
        .collect();
    let words: Vec<Value> = transcript
        .segments
        .iter()
        .flat_map(|s| &s.words)
        .map(|w| json!({"word": w.word, "start": w.start, "end": w.end}))
        .collect();
    json!({
        "task": "transcribe",
        "language": language_name(&transcript.language),
        "duration": transcript.duration_s,
        "text": transcript.text,
        "segments": segments,
        "words": words,
    })
}

/// OpenAI reports languages by English name.
fn language_name(code: &str) -> &str {
    match code {
        "sv" => "swedish",
        "en" => "english",
        "no" => "norwegian",
        "da" => "danish",
        "fi" => "finnish",
        other => other,
    }
}

// ---- drafts -----------------------------------------------------------------------------

fn draft_json(draft: &Draft, with_segments: bool) -> Value {
    let mut value = json!({
        "id": draft.id,
        "session_id": draft.session_id,
        "patient_ref": draft.patient_ref,
        "clinician": draft.clinician,
        "template": draft.template,
        "status": draft.status,
        "version": draft.version,
        "text": draft.note.to_text(),
        "sections": draft.note.sections,
        "metadata": draft.note.metadata,
        "corrections": draft.note.corrections,
        "suggested_codes": draft.note.suggested_codes,
        "supersedes": draft.supersedes,
        "created_at": rfc3339(draft.created_ms),
        "updated_at": rfc3339(draft.updated_ms),
        "signed_at": draft.signed_ms.map(rfc3339),
        "signed_by": draft.signed_by,
    });
    if with_segments {
        value["segments"] = json!(draft.segments);
    }
    value
}

/// A draft as JSON with its version as the `ETag`.
fn draft_response(status: StatusCode, draft: &Draft, with_segments: bool) -> Response {
    let mut response = (status, Json(draft_json(draft, with_segments))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", draft.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    since: Option<String>,
    patient_ref: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn list_drafts(
    State(state): State<AppState>,
    caller: Caller,
    query: std::result::Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    let Query(query) = query.map_err(|e| Error::BadRequest(format!("bad query: {e}")))?;
    let max = state.config().limits.max_page_size;
    let filter = DraftFilter {
        status: query
            .status
            .as_deref()
            .map(DraftStatus::parse)
            .transpose()?,
        since_ms: query
            .since
            .as_deref()
            .map(crate::store::parse_rfc3339)
            .transpose()?,
        patient_ref: query.patient_ref.filter(|p| !p.is_empty()),
        limit: query.limit.unwrap_or(50).clamp(1, max),
        offset: query.offset.unwrap_or(0),
    };
    let user = caller.0;
    let (drafts, filter) = state
        .db(move |store| {
            let drafts = store.drafts(&filter)?;
            for draft in &drafts {
                audit::record(
                    store,
                    &AuditEntry {
                        user: Some(&user),
                        patient_ref: &draft.patient_ref,
                        draft_id: &draft.id,
                        action: Action::List,
                        outcome: "ok",
                        detail: "",
                    },
                );
            }
            Ok((drafts, filter))
        })
        .await?;
    let next_offset = (drafts.len() == filter.limit).then_some(filter.offset + drafts.len());
    Ok(Json(json!({
        "items": drafts.iter().map(|d| draft_json(d, false)).collect::<Vec<_>>(),
        "next_offset": next_offset,
    })))
}

#[derive(Debug, Deserialize)]
struct GetQuery {
    format: Option<String>,
}

/// How `GET /api/drafts/{id}` renders a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DraftFormat {
    Json,
    Text,
    /// A FHIR R4 document Bundle ([`crate::fhir`]); signed drafts only.
    Fhir,
}

async fn get_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<GetQuery>,
) -> Result<Response> {
    let format = match query.format.as_deref() {
        None | Some("json") => DraftFormat::Json,
        Some("text") => DraftFormat::Text,
        Some("fhir") => DraftFormat::Fhir,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "format `{other}`: expected json, text or fhir"
            )))
        }
    };
    let user = caller.0;
    let (draft, fhir_bundle) = state
        .db(move |store| {
            let draft = store
                .draft(&id)?
                .ok_or_else(|| Error::NotFound(format!("no draft `{id}`")))?;
            let fhir_bundle = (format == DraftFormat::Fhir).then(|| fhir_document(store, &draft));
            let (action, detail) = match format {
                DraftFormat::Json => (Action::Read, ""),
                DraftFormat::Text => (Action::Export, "text"),
                DraftFormat::Fhir => (Action::Export, "fhir"),
            };
            audit::record(
                store,
                &AuditEntry {
                    user: Some(&user),
                    patient_ref: &draft.patient_ref,
                    draft_id: &draft.id,
                    action,
                    outcome: match &fhir_bundle {
                        Some(Err(e)) => e.code(),
                        _ => "ok",
                    },
                    detail,
                },
            );
            Ok((draft, fhir_bundle.transpose()?))
        })
        .await?;
    match (format, fhir_bundle) {
        (DraftFormat::Text, _) => Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            draft.note.to_text(),
        )
            .into_response()),
        (DraftFormat::Fhir, Some(bundle)) => {
            let body = serde_json::to_string(&bundle)
                .map_err(|e| Error::Internal(format!("serializing a FHIR bundle: {e}")))?;
            Ok(([(header::CONTENT_TYPE, crate::fhir::CONTENT_TYPE)], body).into_response())
        }
        _ => Ok(draft_response(StatusCode::OK, &draft, true)),
    }
}

/// The FHIR document of a draft, naming its clinician and signer as the server knows them.
fn fhir_document(store: &crate::Store, draft: &Draft) -> Result<Value> {
    let party = |hsa_id: &str| -> Result<crate::fhir::Party> {
        Ok(crate::fhir::Party {
            hsa_id: hsa_id.to_string(),
            name: store.user_by_hsa(hsa_id)?.map(|u| u.name),
        })
    };
    let author = party(&draft.clinician)?;
    let signer = match &draft.signed_by {
        Some(hsa_id) if *hsa_id != draft.clinician => party(hsa_id)?,
        _ => author.clone(),
    };
    crate::fhir::document_bundle(draft, &author, &signer)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditDraft {
    /// The whole note, replacing the old one.
    sections: Option<Vec<Section>>,
    /// Shorthand: the note as one unheaded section.
    text: Option<String>,
}

/// `If-Match: 3` or `If-Match: "3"` → 3.
fn if_match_version(headers: &HeaderMap) -> Result<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| Error::BadRequest("If-Match is not ASCII".into()))?
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    text.parse()
        .map(Some)
        .map_err(|_| Error::BadRequest(format!("If-Match `{text}` is not a draft version")))
}

/// Audits a refused action on a draft (the draft's patient is looked up when it exists).
async fn audit_refusal(
    state: &AppState,
    user: &User,
    draft_id: &str,
    action: Action,
    error: &Error,
) {
    let user = user.clone();
    let draft_id = draft_id.to_string();
    let outcome = error.code();
    let _ = state
        .db(move |store| {
            let patient_ref = store
                .draft(&draft_id)?
                .map(|d| d.patient_ref)
                .unwrap_or_default();
            audit::record(
                store,
                &AuditEntry {
                    user: Some(&user),
                    patient_ref: &patient_ref,
                    draft_id: &draft_id,
                    action,
                    outcome,
                    detail: "",
                },
            );
            Ok(())
        })
        .await;
}

async fn edit_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let result = edit_draft_inner(&state, &caller.0, &id, &headers, &body).await;
    match result {
        Ok(draft) => Ok(draft_response(StatusCode::OK, &draft, true)),
        Err(e) => {
            audit_refusal(&state, &caller.0, &id, Action::Edit, &e).await;
            Err(e)
        }
    }
}

async fn edit_draft_inner(
    state: &AppState,
    user: &User,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Draft> {
    let edit: EditDraft = parse_json(body)?;
    let sections = match (edit.sections, edit.text) {
        (Some(sections), None) => sections,
        (None, Some(text)) => vec![Section {
            heading: String::new(),
            text,
            spans: Vec::new(),
        }],
        _ => return Err(Error::BadRequest("send either `sections` or `text`".into())),
    };
    let version = if_match_version(headers)?.ok_or_else(|| {
        Error::PreconditionRequired("edits need `If-Match: <version>` (the draft's ETag)".into())
    })?;
    let (id, user) = (id.to_string(), user.clone());
    state
        .db(move |store| {
            let draft = store
                .draft(&id)?
                .ok_or_else(|| Error::NotFound(format!("no draft `{id}`")))?;
            refuse_while_recording(store, &draft)?;
            let note: Note = crate::notes::edited_note(&draft.note, sections);
            let draft = store.edit_draft(&id, version, &note)?;
            audit::record(
                store,
                &AuditEntry {
                    user: Some(&user),
                    patient_ref: &draft.patient_ref,
                    draft_id: &draft.id,
                    action: Action::Edit,
                    outcome: "ok",
                    detail: &format!("version {}", draft.version),
                },
            );
            Ok(draft)
        })
        .await
}

/// A draft whose session still records changes under the recognizer; edits and signing wait
/// for `stop`.
fn refuse_while_recording(store: &crate::Store, draft: &Draft) -> Result<()> {
    if let Some(session_id) = &draft.session_id {
        if let Some(session) = store.session(session_id)? {
            if session.status == SessionStatus::Open && draft.status != DraftStatus::Signed {
                return Err(Error::Conflict(format!(
                    "session `{session_id}` is still recording; stop it first"
                )));
            }
        }
    }
    Ok(())
}

async fn sign_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let result = sign_draft_inner(&state, &caller.0, &id, &headers).await;
    match result {
        Ok(draft) => Ok(draft_response(StatusCode::OK, &draft, true)),
        Err(e) => {
            audit_refusal(&state, &caller.0, &id, Action::Sign, &e).await;
            Err(e)
        }
    }
}

async fn sign_draft_inner(
    state: &AppState,
    user: &User,
    id: &str,
    headers: &HeaderMap,
) -> Result<Draft> {
    let version = if_match_version(headers)?;
    let keep_audio = state.config().retention.keep_audio_after_sign;
    let (id, user) = (id.to_string(), user.clone());
    let audio_dir = state.config().audio_dir();
    state
        .db(move |store| {
            let draft = store
                .draft(&id)?
                .ok_or_else(|| Error::NotFound(format!("no draft `{id}`")))?;
            if user.role != Role::Clinician || user.hsa_id != draft.clinician {
                return Err(Error::Forbidden(format!(
                    "only the draft's clinician ({}) may sign it",
                    draft.clinician
                )));
            }
            refuse_while_recording(store, &draft)?;
            let draft = store.sign_draft(&id, version, &user.hsa_id)?;
            audit::record(
                store,
                &AuditEntry {
                    user: Some(&user),
                    patient_ref: &draft.patient_ref,
                    draft_id: &draft.id,
                    action: Action::Sign,
                    outcome: "ok",
                    detail: &format!("version {}", draft.version),
                },
            );
            if !keep_audio {
                if let Some(session_id) = &draft.session_id {
                    crate::stream::delete_session_audio(
                        store,
                        &audio_dir,
                        session_id,
                        &draft,
                        Some(&user),
                    );
                }
            }
            Ok(draft)
        })
        .await
}

async fn revise_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response> {
    caller.require(
        &[Role::Clinician, Role::Secretary, Role::Admin],
        "correct a draft",
    )?;
    let user = caller.0;
    let draft = state
        .db(move |store| {
            let signed = store
                .draft(&id)?
                .ok_or_else(|| Error::NotFound(format!("no draft `{id}`")))?;
            if signed.status != DraftStatus::Signed {
                return Err(Error::Conflict(format!(
                    "draft `{id}` is not signed; edit it directly"
                )));
            }
            let draft = store.create_draft(&NewDraft {
                session_id: None,
                patient_ref: signed.patient_ref.clone(),
                clinician_hsa: signed.clinician.clone(),
                template: signed.template.clone(),
                segments: signed.segments.clone(),
                note: signed.note.clone(),
                supersedes: Some(signed.id.clone()),
            })?;
            audit::record(
                store,
                &AuditEntry {
                    user: Some(&user),
                    patient_ref: &draft.patient_ref,
                    draft_id: &draft.id,
                    action: Action::Create,
                    outcome: "ok",
                    detail: &format!("correction of {}", signed.id),
                },
            );
            Ok(draft)
        })
        .await?;
    Ok(draft_response(StatusCode::CREATED, &draft, true))
}

// ---- audit ------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct AuditQuery {
    patient_ref: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>> {
    caller.require(&[Role::Admin], "read the audit log")?;
    let limit = query.limit.unwrap_or(500).clamp(1, 10_000);
    let offset = query.offset.unwrap_or(0);
    let patient_ref = query.patient_ref.filter(|p| !p.is_empty());
    let rows = state
        .db(move |store| audit::rows(store, patient_ref.as_deref(), limit, offset))
        .await?;
    let next_offset = (rows.len() == limit).then_some(offset + rows.len());
    Ok(Json(json!({"items": rows, "next_offset": next_offset})))
}

async fn audit_verify(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    caller.require(&[Role::Admin], "verify the audit log")?;
    let report = state.db(crate::verify_audit_chain).await?;
    Ok(Json(json!({
        "intact": report.is_intact(),
        "rows": report.rows,
        "first_broken": report.first_broken,
        "head_hash": report.head_hash,
    })))
}
