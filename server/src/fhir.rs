//! FHIR R4 export of a signed journal note: a `document` Bundle whose first entry is the
//! Composition (one section per journal heading, XHTML narrative), followed by the Patient and
//! Practitioner resources it references. The rules followed are in `docs/protocol.md`.
//!
//! The export is a pure function of the stored draft: the same signed note always yields the same
//! bytes (ids are derived from the draft, timestamps are the signing time), so a journal system
//! that imports a note twice can recognise it by `Bundle.identifier`.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::store::{rfc3339, Draft, DraftStatus};
use crate::{Error, Result};

/// The media type of FHIR JSON.
pub const CONTENT_TYPE: &str = "application/fhir+json";

/// Swedish HSA ids (Inera's HSA catalogue), the system of practitioner identifiers.
pub const HSA_ID_SYSTEM: &str = "urn:oid:1.2.752.29.4.19";
/// Swedish personal identity numbers (personnummer), 12 digits.
pub const PERSONNUMMER_SYSTEM: &str = "urn:oid:1.2.752.129.2.1.3.1";
/// Swedish coordination numbers (samordningsnummer: day of birth + 60), 12 digits.
pub const SAMORDNINGSNUMMER_SYSTEM: &str = "urn:oid:1.2.752.129.2.1.3.3";
/// Any other patient reference: the clinic's own, opaque to Skriva.
pub const PATIENT_REF_SYSTEM: &str = "urn:skriva:patient-ref";
/// Skriva's draft ids (`drf_…`), the system of `Composition.identifier` and `relatesTo`.
pub const DRAFT_ID_SYSTEM: &str = "urn:skriva:draft-id";
/// `Bundle.identifier` is a URN, which FHIR marks with this system.
const URI_SYSTEM: &str = "urn:ietf:rfc:3986";

/// LOINC 11506-3 "Progress note": what a clinician's dictated or ambient visit note is.
pub const LOINC_SYSTEM: &str = "http://loinc.org";
pub const PROGRESS_NOTE_CODE: &str = "11506-3";
pub const PROGRESS_NOTE_DISPLAY: &str = "Progress note";

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// A clinician named in the document: their HSA id and, when the server knows it, their name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub hsa_id: String,
    pub name: Option<String>,
}

/// The FHIR `document` Bundle of a signed draft. `author` is the draft's clinician and `signer`
/// who signed it (the same person today: only the draft's clinician may sign).
///
/// An unsigned draft is `Error::Conflict`: a journal imports only signed notes, and a draft
/// still changes.
pub fn document_bundle(draft: &Draft, author: &Party, signer: &Party) -> Result<Value> {
    if draft.status != DraftStatus::Signed {
        return Err(Error::Conflict(format!(
            "draft `{}` is not signed; only signed notes are exported as FHIR documents",
            draft.id
        )));
    }
    let signed_ms = draft.signed_ms.ok_or_else(|| {
        Error::Internal(format!("signed draft `{}` has no signing time", draft.id))
    })?;
    let signed_at = rfc3339(signed_ms);

    let composition_id = uuid_for("composition", &draft.id);
    let patient_id = uuid_for("patient", &draft.patient_ref);
    let author_id = uuid_for("practitioner", &author.hsa_id);
    let signer_id = uuid_for("practitioner", &signer.hsa_id);

    let sections: Vec<Value> = draft
        .note
        .sections
        .iter()
        .filter_map(|s| section(&s.heading, &s.text))
        .collect();

    let mut composition = json!({
        "resourceType": "Composition",
        "id": composition_id,
        "language": "sv",
        "identifier": {"system": DRAFT_ID_SYSTEM, "value": draft.id},
        "status": "final",
        "type": {
            "coding": [{
                "system": LOINC_SYSTEM,
                "code": PROGRESS_NOTE_CODE,
                "display": PROGRESS_NOTE_DISPLAY,
            }],
            "text": "Journalanteckning",
        },
        "subject": {"reference": urn(&patient_id)},
        "date": signed_at,
        "author": [{"reference": urn(&author_id)}],
        "title": "Journalanteckning",
        "attester": [{
            "mode": "legal",
            "time": signed_at,
            "party": {"reference": urn(&signer_id)},
        }],
    });
    if let Some(old) = &draft.supersedes {
        composition["relatesTo"] = json!([{
            "code": "replaces",
            "targetIdentifier": {"system": DRAFT_ID_SYSTEM, "value": old},
        }]);
    }
    if !sections.is_empty() {
        composition["section"] = Value::Array(sections);
    }

    let mut entries = vec![
        entry(&composition_id, composition),
        entry(&patient_id, patient(&patient_id, &draft.patient_ref)),
        entry(&author_id, practitioner(&author_id, author)),
    ];
    if signer_id != author_id {
        entries.push(entry(&signer_id, practitioner(&signer_id, signer)));
    }

    Ok(json!({
        "resourceType": "Bundle",
        "id": uuid_for("bundle", &draft.id),
        "language": "sv",
        "identifier": {"system": URI_SYSTEM, "value": urn(&uuid_for("bundle", &draft.id))},
        "type": "document",
        "timestamp": signed_at,
        "entry": entries,
    }))
}

fn entry(id: &str, resource: Value) -> Value {
    json!({"fullUrl": urn(id), "resource": resource})
}

fn urn(uuid: &str) -> String {
    format!("urn:uuid:{uuid}")
}

/// A Composition section, or `None` for one without text: FHIR requires a section to carry
/// text, entries or sub-sections (cmp-1) and a narrative to have content (txt-2).
fn section(heading: &str, text: &str) -> Option<Value> {
    let div = narrative_div(text)?;
    let mut section = json!({"text": {"status": "generated", "div": div}});
    let heading = heading.trim();
    if !heading.is_empty() {
        section["title"] = json!(heading);
    }
    Some(section)
}

/// The text as an XHTML `div`: a `<p>` per paragraph (blank-line separated), `<br/>` for line
/// breaks, every character escaped; `None` when nothing but whitespace remains.
pub fn narrative_div(text: &str) -> Option<String> {
    let text: String = text.chars().filter(|c| xml_char(*c)).collect();
    let text = text.replace("\r\n", "\n");
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(|l| escape_xml(l.trim())).collect();
            format!("<p>{}</p>", lines.join("<br/>"))
        })
        .collect();
    if paragraphs.is_empty() {
        return None;
    }
    Some(format!(
        "<div xmlns=\"{XHTML_NS}\">{}</div>",
        paragraphs.concat()
    ))
}

/// Characters XML 1.0 allows (C0 controls other than tab, newline and return are not).
fn xml_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{0}'..='\u{1f}' | '\u{FFFE}' | '\u{FFFF}' => false,
        _ => true,
    }
}

fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn patient(id: &str, patient_ref: &str) -> Value {
    let (system, value) = patient_identifier(patient_ref);
    json!({
        "resourceType": "Patient",
        "id": id,
        "identifier": [{"system": system, "value": value}],
    })
}

/// A 12-digit Swedish identity number (with or without the hyphen) keeps its national system,
/// normalised to 12 digits; anything else is the clinic's own reference.
fn patient_identifier(patient_ref: &str) -> (&'static str, String) {
    let digits: String = patient_ref.chars().filter(|c| *c != '-').collect();
    let shaped = digits.len() == 12
        && digits.chars().all(|c| c.is_ascii_digit())
        && patient_ref.chars().filter(|c| *c == '-').count() <= 1
        && (!patient_ref.contains('-') || patient_ref.find('-') == Some(8));
    if shaped {
        let month: u32 = digits[4..6].parse().unwrap_or(0);
        let day: u32 = digits[6..8].parse().unwrap_or(0);
        if (1..=12).contains(&month) {
            if (1..=31).contains(&day) {
                return (PERSONNUMMER_SYSTEM, digits);
            }
            if (61..=91).contains(&day) {
                return (SAMORDNINGSNUMMER_SYSTEM, digits);
            }
        }
    }
    (PATIENT_REF_SYSTEM, patient_ref.to_string())
}

fn practitioner(id: &str, party: &Party) -> Value {
    let mut resource = json!({
        "resourceType": "Practitioner",
        "id": id,
        "identifier": [{"system": HSA_ID_SYSTEM, "value": party.hsa_id}],
    });
    if let Some(name) = party.name.as_deref().filter(|n| !n.trim().is_empty()) {
        resource["name"] = json!([{"text": name.trim()}]);
    }
    resource
}

/// A name-based UUID (RFC 9562 version 8, from SHA-256): the same resource of the same note
/// always gets the same id, across exports and servers.
fn uuid_for(kind: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("skriva:{kind}:{key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::store::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_escapes_markup_and_keeps_paragraphs() {
        let div =
            narrative_div("Temp <38 & \"feber\"\nrad två\n\nNytt stycke\u{1}").unwrap_or_default();
        assert_eq!(
            div,
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Temp &lt;38 &amp; &quot;feber&quot;<br/>rad två</p><p>Nytt stycke</p></div>"
        );
        assert_eq!(narrative_div(" \n\n "), None);
    }

    #[test]
    fn swedish_identity_numbers_keep_their_national_system() {
        assert_eq!(
            patient_identifier("19121212-1212"),
            (PERSONNUMMER_SYSTEM, "191212121212".to_string())
        );
        assert_eq!(
            patient_identifier("197010632391"),
            (SAMORDNINGSNUMMER_SYSTEM, "197010632391".to_string())
        );
        assert_eq!(
            patient_identifier("P-1001"),
            (PATIENT_REF_SYSTEM, "P-1001".to_string())
        );
        assert_eq!(
            patient_identifier("1912-12121212"),
            (PATIENT_REF_SYSTEM, "1912-12121212".to_string())
        );
    }

    #[test]
    fn uuids_are_stable_and_well_formed() {
        let a = uuid_for("bundle", "drf_1");
        assert_eq!(a, uuid_for("bundle", "drf_1"));
        assert_ne!(a, uuid_for("bundle", "drf_2"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
