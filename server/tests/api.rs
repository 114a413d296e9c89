//! REST against a real server with the real model: the draft lifecycle, structured notes from a
//! dictated clip, templates, auth and roles, the audit chain (and tamper detection), the
//! OpenAI-compatible endpoint, and upload limits.

mod common;

use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use skriva_server::Role;

const CLINICIAN: &str = "SE2321000016-ABC1";
const OTHER_CLINICIAN: &str = "SE2321000016-XYZ9";
const SECRETARY: &str = "SE2321000016-SEK1";
const ADMIN: &str = "SE2321000016-ADM1";

fn one_sentence_wav() -> TestResult<Vec<u8>> {
    wav_bytes(&clip(&SENTENCES[..1]))
}

fn upload_form(wav: Vec<u8>, patient: &str) -> TestResult<Form> {
    Ok(Form::new().text("patient_ref", patient.to_string()).part(
        "file",
        Part::bytes(wav)
            .file_name("clip.wav")
            .mime_str("audio/wav")?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_lifecycle_with_versions_signing_and_corrections() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let doctor = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let other_doctor = server.user("Dr Bo", Role::Clinician, OTHER_CLINICIAN)?;
    let secretary = server.user("Sekreterare", Role::Secretary, SECRETARY)?;
    let admin = server.user("Admin", Role::Admin, ADMIN)?;
    let http = &server.http;

    // A secretary uploads a recording on the clinician's behalf.
    let form = upload_form(one_sentence_wav()?, "P-1001")?.text("clinician", CLINICIAN);
    let response = http
        .post(server.url("/api/transcriptions"))
        .bearer_auth(&secretary)
        .multipart(form)
        .send()
        .await?;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let draft: Value = response.json().await?;
    let id = draft["id"].as_str().unwrap_or_default().to_string();
    let text = draft["text"].as_str().unwrap_or_default().to_string();
    assert!(
        !text.trim().is_empty(),
        "the upload was transcribed: {draft}"
    );
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["version"], 1);
    assert_eq!(draft["clinician"], CLINICIAN);
    assert!(!draft["segments"].as_array().is_none_or(Vec::is_empty));
    // The text is the structured note: each section's heading line, then its text.
    let sections = draft["sections"].as_array().cloned().unwrap_or_default();
    assert!(!sections.is_empty(), "{draft}");
    let joined: Vec<String> = sections
        .iter()
        .map(|s| {
            format!(
                "{}\n{}",
                s["heading"].as_str().unwrap_or_default(),
                s["text"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(text, joined.join("\n\n"));
    assert_eq!(
        draft["template"], "primarvard-lakarbesok",
        "the default template"
    );
    assert_eq!(draft["metadata"]["mode"], "dictation");

    // List with filters, and paging.
    let list: Value = http
        .get(server.url("/api/drafts?patient_ref=P-1001&status=draft&since=2020-01-01T00:00:00Z"))
        .bearer_auth(&doctor)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["items"][0]["id"], id.as_str());
    let none: Value = http
        .get(server.url("/api/drafts?patient_ref=P-1001&status=signed"))
        .bearer_auth(&doctor)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0));
    let bad = http
        .get(server.url("/api/drafts?status=nonsense"))
        .bearer_auth(&doctor)
        .send()
        .await?;
    assert_eq!(bad.status(), 400);

    // Read as JSON and as text.
    let got: Value = http
        .get(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&doctor)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(got["text"], text.as_str());
    let plain = http
        .get(server.url(&format!("/api/drafts/{id}?format=text")))
        .bearer_auth(&doctor)
        .send()
        .await?;
    assert!(plain.headers()["content-type"]
        .to_str()?
        .starts_with("text/plain"));
    assert_eq!(plain.text().await?, text);
    let missing = http
        .get(server.url("/api/drafts/drf_nope"))
        .bearer_auth(&doctor)
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await?;
    assert_eq!(body["error"]["code"], "not_found");

    // Edits need If-Match; a stale version is refused with 412.
    let edit =
        json!({"sections": [{"heading": "Anamnes", "text": "Halsont och feber i tre dagar."}]});
    let no_precondition = http
        .patch(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&secretary)
        .json(&edit)
        .send()
        .await?;
    assert_eq!(no_precondition.status(), 428);
    let edited = http
        .patch(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&secretary)
        .header("If-Match", "\"1\"")
        .json(&edit)
        .send()
        .await?;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await?;
    assert_eq!(
        (edited["status"].clone(), edited["version"].clone()),
        (json!("edited"), json!(2))
    );
    assert_eq!(edited["text"], "Anamnes\nHalsont och feber i tre dagar.");
    let stale = http
        .patch(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&doctor)
        .header("If-Match", "1")
        .json(&json!({"text": "lost update"}))
        .send()
        .await?;
    assert_eq!(stale.status(), 412);
    let body: Value = stale.json().await?;
    assert_eq!(body["error"]["code"], "version_mismatch");
    let malformed = http
        .patch(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&doctor)
        .header("If-Match", "2")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(malformed.status(), 400);

    // Only the draft's clinician signs.
    for token in [&secretary, &admin, &other_doctor] {
        let refused = http
            .post(server.url(&format!("/api/drafts/{id}/sign")))
            .bearer_auth(token)
            .send()
            .await?;
        assert_eq!(refused.status(), 403);
    }
    let signed = http
        .post(server.url(&format!("/api/drafts/{id}/sign")))
        .bearer_auth(&doctor)
        .header("If-Match", "2")
        .send()
        .await?;
    assert_eq!(signed.status(), 200);
    let signed: Value = signed.json().await?;
    assert_eq!(signed["status"], "signed");
    assert_eq!(signed["signed_by"], CLINICIAN);
    let version = signed["version"].as_i64().unwrap_or_default();

    // A signed draft is immutable; corrections are new versions linked to it.
    let late_edit = http
        .patch(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&doctor)
        .header("If-Match", version.to_string())
        .json(&json!({"text": "changed after signing"}))
        .send()
        .await?;
    assert_eq!(late_edit.status(), 409);
    let resign = http
        .post(server.url(&format!("/api/drafts/{id}/sign")))
        .bearer_auth(&doctor)
        .send()
        .await?;
    assert_eq!(resign.status(), 409);
    let correction = http
        .post(server.url(&format!("/api/drafts/{id}/revisions")))
        .bearer_auth(&doctor)
        .send()
        .await?;
    assert_eq!(correction.status(), 201);
    let correction: Value = correction.json().await?;
    assert_eq!(correction["supersedes"], id.as_str());
    assert_eq!(correction["status"], "draft");
    assert_eq!(correction["text"], edited["text"]);
    let unchanged: Value = http
        .get(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&doctor)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(unchanged["text"], edited["text"]);

    // The audit log saw all of it, and only an admin may read it.
    let forbidden = http
        .get(server.url("/api/audit?patient_ref=P-1001"))
        .bearer_auth(&doctor)
        .send()
        .await?;
    assert_eq!(forbidden.status(), 403);
    let audit: Value = http
        .get(server.url("/api/audit?patient_ref=P-1001"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    let has = |action: &str, outcome: &str, who: &str| {
        rows.iter().any(|r| {
            r["action"] == action
                && r["outcome"] == outcome
                && r["user_hsa"] == who
                && r["draft_id"] == id.as_str()
        })
    };
    assert!(has("create", "ok", SECRETARY));
    assert!(has("list", "ok", CLINICIAN));
    assert!(has("read", "ok", CLINICIAN));
    assert!(has("export", "ok", CLINICIAN));
    assert!(has("edit", "ok", SECRETARY));
    assert!(has("edit", "version_mismatch", CLINICIAN));
    assert!(has("edit", "conflict", CLINICIAN));
    assert!(has("sign", "forbidden", SECRETARY));
    assert!(has("sign", "ok", CLINICIAN));
    assert!(rows.iter().all(|r| r["patient_ref"] == "P-1001"));
    let verify: Value = http
        .get(server.url("/api/audit/verify"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(verify["intact"], true);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_needs_a_valid_token() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let doctor = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let secretary = server.user("Sekreterare", Role::Secretary, SECRETARY)?;
    let http = &server.http;
    for (method, path) in [
        ("GET", "/api/drafts"),
        ("GET", "/api/drafts/drf_x"),
        ("POST", "/api/sessions"),
        ("GET", "/api/audit"),
        ("POST", "/v1/audio/transcriptions"),
    ] {
        let request = |token: Option<&str>| {
            let mut r = http.request(
                method.parse().unwrap_or(reqwest::Method::GET),
                server.url(path),
            );
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r
        };
        let none = request(None).send().await?;
        assert_eq!(none.status(), 401, "{method} {path} without a token");
        let body: Value = none.json().await?;
        assert_eq!(body["error"]["code"], "unauthorized");
        let wrong = request(Some("skr_not-a-real-token")).send().await?;
        assert_eq!(wrong.status(), 401, "{method} {path} with a wrong token");
    }
    // WebSocket upgrades are refused before the handshake too.
    let no_token = Ws::connect(&server.ws_base, "ses_x", Auth::Query("wrong")).await;
    assert!(no_token.is_err());
    // Operational endpoints are open.
    assert_eq!(http.get(server.url("/healthz")).send().await?.status(), 200);
    let ready: Value = http.get(server.url("/readyz")).send().await?.json().await?;
    assert_eq!(ready["status"], "ready");
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(metrics.contains("skriva_open_streams 0") || metrics.contains("skriva_open_streams"));
    assert!(metrics.contains("skriva_errors_total{code=\"unauthorized\"}"));
    // Roles: a secretary cannot dictate; a clinician cannot dictate for someone else.
    let refused = http
        .post(server.url("/api/sessions"))
        .bearer_auth(&secretary)
        .json(&json!({"mode": "dictation", "patient_ref": "P-1"}))
        .send()
        .await?;
    assert_eq!(refused.status(), 403);
    let refused = http
        .post(server.url("/api/sessions"))
        .bearer_auth(&doctor)
        .json(&json!({"mode": "dictation", "patient_ref": "P-1", "clinician": OTHER_CLINICIAN}))
        .send()
        .await?;
    assert_eq!(refused.status(), 403);
    let bad = http
        .post(server.url("/api/sessions"))
        .bearer_auth(&doctor)
        .json(&json!({"mode": "singing", "patient_ref": "P-1"}))
        .send()
        .await?;
    assert_eq!(bad.status(), 400);
    // Users: tokens are shown once and stored hashed; HSA ids are validated and unique.
    let store = server.state.store();
    assert!(skriva_server::create_user(store, "X", Role::Clinician, "not-an-hsa-id").is_err());
    assert!(skriva_server::create_user(store, "Y", Role::Clinician, CLINICIAN).is_err());
    let conn = rusqlite::Connection::open(server.db_path())?;
    let stored: i64 = conn.query_row(
        "SELECT COUNT(*) FROM users WHERE token_sha256 = ?1",
        [&doctor],
        |r| r.get(0),
    )?;
    assert_eq!(stored, 0, "the raw token is never stored");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_chain_verifies_and_detects_tampering() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let doctor = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let http = &server.http;
    for patient in ["P-1", "P-2", "P-3"] {
        create_session(http, &server.base, &doctor, patient).await?;
    }
    let store = server.state.store();
    let report = skriva_server::verify_audit_chain(store)?;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.rows, 3);

    let conn = rusqlite::Connection::open(server.db_path())?;
    // The triggers refuse changes and deletions outright.
    assert!(conn
        .execute("UPDATE audit SET outcome = 'denied' WHERE id = 2", [])
        .is_err());
    assert!(conn.execute("DELETE FROM audit WHERE id = 3", []).is_err());
    // Someone with raw file access drops the trigger and rewrites history.
    conn.execute_batch("DROP TRIGGER audit_no_update;")?;
    conn.execute("UPDATE audit SET patient_ref = 'P-9' WHERE id = 2", [])?;
    let report = skriva_server::verify_audit_chain(store)?;
    let broken = report
        .first_broken
        .clone()
        .ok_or("tampering went unnoticed")?;
    assert_eq!(broken.id, 2, "{report:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_compatible_transcriptions_in_every_format() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let token = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let wav = one_sentence_wav()?;
    let http = &server.http;
    let ask = |format: &str| {
        let form = Form::new()
            .text("model", "whisper-1")
            .text("language", "sv")
            .text("response_format", format.to_string())
            .part("file", Part::bytes(wav.clone()).file_name("a.wav"));
        http.post(server.url("/v1/audio/transcriptions"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    let json_body: Value = ask("json").await?.json().await?;
    let text = json_body["text"].as_str().unwrap_or_default().to_string();
    assert!(!text.is_empty(), "{json_body}");
    let plain = ask("text").await?;
    assert!(plain.headers()["content-type"]
        .to_str()?
        .starts_with("text/plain"));
    assert_eq!(plain.text().await?.trim(), text);
    let srt = ask("srt").await?.text().await?;
    assert!(
        srt.starts_with("1\n00:00:") && srt.contains(" --> "),
        "{srt}"
    );
    let vtt = ask("vtt").await?.text().await?;
    assert!(vtt.starts_with("WEBVTT\n\n00:00:"), "{vtt}");
    let verbose: Value = ask("verbose_json").await?.json().await?;
    assert_eq!(verbose["task"], "transcribe");
    assert_eq!(verbose["language"], "swedish");
    assert_eq!(verbose["text"], text.as_str());
    assert!(verbose["duration"].as_f64().unwrap_or_default() > 1.0);
    assert!(!verbose["segments"].as_array().is_none_or(Vec::is_empty));
    assert!(verbose["segments"][0]["start"].is_number());
    let bad = ask("docx").await?;
    assert_eq!(bad.status(), 400);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_limited_and_checked() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|c| c.limits.max_upload_bytes = 64 * 1024).await?;
    let token = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let http = &server.http;
    let too_big = upload_form(vec![0u8; 200 * 1024], "P-1")?;
    let response = http
        .post(server.url("/api/transcriptions"))
        .bearer_auth(&token)
        .multipart(too_big)
        .send()
        .await?;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "too_large");
    let not_audio = upload_form(b"this is not audio at all".repeat(100), "P-1")?;
    let response = http
        .post(server.url("/api/transcriptions"))
        .bearer_auth(&token)
        .multipart(not_audio)
        .send()
        .await?;
    assert_eq!(response.status(), 422);
    let no_patient = Form::new().part("file", Part::bytes(vec![1u8; 10]).file_name("a.wav"));
    let response = http
        .post(server.url("/api/transcriptions"))
        .bearer_auth(&token)
        .multipart(no_patient)
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    assert_eq!(http.get(server.url("/healthz")).send().await?.status(), 200);
    Ok(())
}

/// A dictation clip of the corpus: "Kontaktorsak kolon blodtryckskontroll punkt Status kolon
/// blodtryck hundrafemtio över nittiofyra komma puls sjuttioåtta punkt Bedömning kolon
/// otillräckligt behandlad hypertoni punkt Åtgärd kolon höjer Amlodipin till tio milligram punkt".
fn dictation_clip() -> TestResult<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../corpora/sv-clinical/pc10_dikt_hypertoni.wav"
    );
    Ok(std::fs::read(path)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dictated_upload_becomes_a_note_by_section_with_codes_kept_apart() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let doctor = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let http = &server.http;
    let form = upload_form(dictation_clip()?, "P-2001")?
        .text("template", "primarvard-lakarbesok")
        .text("mode", "dictation");
    let response = http
        .post(server.url("/api/transcriptions"))
        .bearer_auth(&doctor)
        .multipart(form)
        .send()
        .await?;
    assert_eq!(response.status(), 201);
    let draft: Value = response.json().await?;
    tracing::info!(note = %draft["text"], "structured upload");
    let sections = draft["sections"].as_array().cloned().unwrap_or_default();
    let headings: Vec<&str> = sections
        .iter()
        .filter_map(|s| s["heading"].as_str())
        .collect();
    // The spoken headings became sections, in template order.
    for heading in ["Status", "Bedömning", "Åtgärd"] {
        assert!(
            headings.contains(&heading),
            "{heading} in {headings:?}: {draft}"
        );
    }
    let position = |h: &str| headings.iter().position(|x| *x == h);
    assert!(position("Status") < position("Bedömning"));
    assert!(position("Bedömning") < position("Åtgärd"));
    let section_text = |h: &str| {
        sections
            .iter()
            .find(|s| s["heading"] == h)
            .and_then(|s| s["text"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        section_text("Bedömning")
            .to_lowercase()
            .contains("hypertoni"),
        "{draft}"
    );
    // No heading word is left inside a section's text as dictated ("Status kolon").
    for s in &sections {
        let text = s["text"].as_str().unwrap_or_default();
        assert!(!text.to_lowercase().contains("kolon"), "{text}");
    }
    // The diagnosis that was said yields a suggested code, with its evidence, kept out of
    // the note itself.
    let codes = draft["suggested_codes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let hypertension = codes
        .iter()
        .find(|c| c["code"].as_str().is_some_and(|c| c.starts_with("I10")))
        .ok_or_else(|| format!("no hypertension code suggested: {draft}"))?;
    assert_eq!(hypertension["heading"], "Bedömning");
    let evidence = hypertension["evidence"].as_str().unwrap_or_default();
    assert!(
        section_text("Bedömning").contains(evidence),
        "{hypertension}"
    );
    let text = draft["text"].as_str().unwrap_or_default();
    assert!(!text.contains("I10"), "codes stay out of the note: {text}");
    assert!(draft["corrections"].is_array());
    assert_eq!(draft["metadata"]["template"], "primarvard-lakarbesok");

    // An edit replaces the sections; the suggestion stays while its evidence does.
    let id = draft["id"].as_str().unwrap_or_default();
    let edited: Value = http
        .patch(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&doctor)
        .header("If-Match", "1")
        .json(&json!({"sections": [
            {"heading": "Bedömning", "text": format!("Otillräckligt behandlad {evidence}.")},
            {"heading": "Åtgärd", "text": "Höjer Amlodipin till 10 mg."},
        ]}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["sections"].as_array().map(Vec::len), Some(2));
    assert_eq!(edited["suggested_codes"][0]["code"], hypertension["code"]);
    assert_eq!(edited["suggested_codes"][0]["start_char"], 24);
    let dropped: Value = http
        .patch(server.url(&format!("/api/drafts/{id}")))
        .bearer_auth(&doctor)
        .header("If-Match", "2")
        .json(&json!({"text": "Blodtryckskontroll utan anmärkning."}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(dropped["text"], "Blodtryckskontroll utan anmärkning.");
    assert_eq!(dropped["suggested_codes"], json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_checked_when_sessions_and_uploads_are_created() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let doctor = server.user("Dr Ada", Role::Clinician, CLINICIAN)?;
    let http = &server.http;
    let create = |template: Value| {
        let mut body = json!({"mode": "ambient", "patient_ref": "P-3001"});
        if !template.is_null() {
            body["template"] = template;
        }
        http.post(server.url("/api/sessions"))
            .bearer_auth(&doctor)
            .json(&body)
            .send()
    };
    for (asked, resolved) in [
        (Value::Null, "primarvard-lakarbesok"),
        (json!("standard"), "primarvard-lakarbesok"),
        (json!("psykiatri-nybesok"), "psykiatri-nybesok"),
    ] {
        let response = create(asked.clone()).await?;
        assert_eq!(response.status(), 201, "{asked}");
        let session: Value = response.json().await?;
        assert_eq!(session["template"], resolved, "{asked}");
    }
    let unknown = create(json!("kardiologi-nybesok")).await?;
    assert_eq!(unknown.status(), 400);
    let body: Value = unknown.json().await?;
    assert_eq!(body["error"]["code"], "bad_request");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("kardiologi-nybesok") && message.contains("psykiatri-nybesok"),
        "the error names the template and the known ones: {message}"
    );
    // Uploads are refused before any decoding.
    let form = upload_form(vec![0u8; 10], "P-3001")?.text("template", "okänd");
    let response = http
        .post(server.url("/api/transcriptions"))
        .bearer_auth(&doctor)
        .multipart(form)
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    let form = upload_form(vec![0u8; 10], "P-3001")?.text("mode", "diktat");
    let response = http
        .post(server.url("/api/transcriptions"))
        .bearer_auth(&doctor)
        .multipart(form)
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    Ok(())
}
