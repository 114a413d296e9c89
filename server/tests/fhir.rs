//! FHIR export against a real server with the real model: a corpus clip is uploaded, edited
//! (with markup-like text that must be escaped), signed and exported with `?format=fhir`; the
//! document is checked by an independent structural validator of FHIR R4 (`fhir_check`), and
//! its content against the draft. Unsigned drafts are refused, corrections say what they replace,
//! and every export is audited.
#![allow(clippy::unwrap_used)]

mod common;
mod fhir_check;

use common::*;
use fhir_check::assert_valid_document;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use skriva_server::Role;

const CLINICIAN: &str = "SE2321000016-ABC1";
const ADMIN: &str = "SE2321000016-ADM1";
/// Skatteverket's test personnummer (Tolvan Tolvansson).
const PATIENT: &str = "19121212-1212";

fn corpus_clip() -> TestResult<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora/sv-clinical/pc01_halsont.wav");
    Ok(std::fs::read(path)?)
}

async fn send_json(request: reqwest::RequestBuilder) -> TestResult<(u16, Value)> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_note_exports_as_a_valid_fhir_document() -> TestResult {
    let _serial = serial().await;
    let server = TestServer::start(|_| {}).await?;
    let doctor = server.user("Ada Läkare", Role::Clinician, CLINICIAN)?;
    let admin = server.user("Admin", Role::Admin, ADMIN)?;
    let http = &server.http;

    // A recording becomes a draft.
    let form = Form::new().text("patient_ref", PATIENT).part(
        "file",
        Part::bytes(corpus_clip()?)
            .file_name("pc01_halsont.wav")
            .mime_str("audio/wav")?,
    );
    let (status, draft) = send_json(
        http.post(server.url("/api/transcriptions"))
            .bearer_auth(&doctor)
            .multipart(form),
    )
    .await?;
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_string();
    let transcript = draft["text"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(!transcript.is_empty(), "the clip was transcribed: {draft}");

    // Unsigned: no FHIR document, and the refusal is audited.
    let (status, body) = send_json(
        http.get(server.url(&format!("/api/drafts/{id}?format=fhir")))
            .bearer_auth(&doctor),
    )
    .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not signed"),
        "{body}"
    );

    // The clinician edits it into headed sections, with text that looks like markup.
    let sections = json!([
        {"heading": "Anamnes", "text": format!("{transcript}\nUppger <inga> allergier & \"ingen\" feber.")},
        {"heading": "Status", "text": ""},
        {"heading": "Bedömning", "text": "Trolig virusinfektion.\n\nCRP < 10 & temp > 38 <script>alert('x')</script>"},
        {"heading": "", "text": "Rad utan rubrik."},
    ]);
    let version = draft["version"].as_i64().unwrap();
    let (status, edited) = send_json(
        http.patch(server.url(&format!("/api/drafts/{id}")))
            .bearer_auth(&doctor)
            .header("If-Match", version.to_string())
            .json(&json!({"sections": sections})),
    )
    .await?;
    assert_eq!(status, 200, "{edited}");
    let (status, signed) = send_json(
        http.post(server.url(&format!("/api/drafts/{id}/sign")))
            .bearer_auth(&doctor),
    )
    .await?;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "signed");

    // The export.
    let response = http
        .get(server.url(&format!("/api/drafts/{id}?format=fhir")))
        .bearer_auth(&doctor)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str()?.to_string();
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{content_type}"
    );
    let body = response.text().await?;
    let bundle: Value = serde_json::from_str(&body)?;
    let report = assert_valid_document(&bundle);

    let composition = &bundle["entry"][0]["resource"];
    assert_eq!(composition["status"], "final");
    assert_eq!(
        composition["type"]["coding"][0]["system"],
        "http://loinc.org"
    );
    assert_eq!(composition["type"]["coding"][0]["code"], "11506-3");
    assert_eq!(composition["identifier"]["value"], id.as_str());
    assert_eq!(composition["date"], signed["signed_at"]);
    assert_eq!(bundle["timestamp"], signed["signed_at"]);
    assert!(composition.get("relatesTo").is_none());

    let patient = report.resolve(&composition["subject"]).unwrap();
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(
        patient["identifier"][0],
        json!({"system": "urn:oid:1.2.752.129.2.1.3.1", "value": "191212121212"})
    );
    let author = report.resolve(&composition["author"][0]).unwrap();
    assert_eq!(author["resourceType"], "Practitioner");
    assert_eq!(
        author["identifier"][0],
        json!({"system": "urn:oid:1.2.752.29.4.19", "value": CLINICIAN})
    );
    assert_eq!(author["name"][0]["text"], "Ada Läkare");
    let attester = &composition["attester"][0];
    assert_eq!(attester["mode"], "legal");
    assert_eq!(attester["time"], signed["signed_at"]);
    assert_eq!(
        report.resolve(&attester["party"]).unwrap()["identifier"][0]["value"],
        CLINICIAN
    );

    // Sections: the journal headings in order, each narrative decoding back to the signed text
    // (the empty Status section has nothing to carry and is left out).
    let expected: Vec<(Option<String>, String)> = signed["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["text"].as_str().unwrap_or_default().trim().is_empty())
        .map(|s| {
            let heading = s["heading"].as_str().unwrap_or_default();
            (
                (!heading.is_empty()).then(|| heading.to_string()),
                s["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(report.sections, expected);
    assert_eq!(
        report.sections.len(),
        3,
        "Anamnes, Bedömning, unheaded: {expected:?}"
    );
    assert!(!body.contains("<script>"), "markup is escaped");

    // Deterministic: the same signed note exports to the same bytes.
    let again = http
        .get(server.url(&format!("/api/drafts/{id}?format=fhir")))
        .bearer_auth(&doctor)
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(again, body);

    // A correction replaces the signed note, and says so.
    let (status, revision) = send_json(
        http.post(server.url(&format!("/api/drafts/{id}/revisions")))
            .bearer_auth(&doctor),
    )
    .await?;
    assert_eq!(status, 201, "{revision}");
    let revision_id = revision["id"].as_str().unwrap().to_string();
    let (status, _) = send_json(
        http.post(server.url(&format!("/api/drafts/{revision_id}/sign")))
            .bearer_auth(&doctor),
    )
    .await?;
    assert_eq!(status, 200);
    let (status, corrected) = send_json(
        http.get(server.url(&format!("/api/drafts/{revision_id}?format=fhir")))
            .bearer_auth(&doctor),
    )
    .await?;
    assert_eq!(status, 200, "{corrected}");
    assert_valid_document(&corrected);
    let relates = &corrected["entry"][0]["resource"]["relatesTo"][0];
    assert_eq!(relates["code"], "replaces");
    assert_eq!(relates["targetIdentifier"]["value"], id.as_str());
    assert_ne!(corrected["identifier"], bundle["identifier"]);

    // Unknown formats are refused.
    let (status, body) = send_json(
        http.get(server.url(&format!("/api/drafts/{id}?format=hl7")))
            .bearer_auth(&doctor),
    )
    .await?;
    assert_eq!(status, 400, "{body}");

    // Every export was audited, the refused one with its reason.
    let (_, audit) = send_json(
        http.get(server.url(&format!("/api/audit?patient_ref={PATIENT}")))
            .bearer_auth(&admin),
    )
    .await?;
    let rows = audit["items"].as_array().cloned().unwrap_or_default();
    let count = |draft: &str, outcome: &str| {
        rows.iter()
            .filter(|r| {
                r["action"] == "export"
                    && r["detail"] == "fhir"
                    && r["outcome"] == outcome
                    && r["draft_id"] == draft
                    && r["user_hsa"] == CLINICIAN
            })
            .count()
    };
    assert_eq!(count(&id, "conflict"), 1, "{audit:#}");
    assert_eq!(count(&id, "ok"), 2);
    assert_eq!(count(&revision_id, "ok"), 1);
    Ok(())
}
