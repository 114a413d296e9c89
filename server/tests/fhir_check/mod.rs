//! A small structural validator for FHIR R4 `document` Bundles, written from the R4 specification
//! (Bundle, Composition, Patient, Practitioner, and the datatypes they use) independently of the
//! server's builder: element names and cardinalities, required codes from their value sets, the
//! document rules (bdl-7, bdl-9, bdl-10, bdl-11, cmp-1, txt-1, txt-2), references resolving inside
//! the bundle, and well-formed, escaped XHTML narrative. Shared with the journal client's tests.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// Cardinality of an element: `min` occurrences, and whether it repeats (a JSON array).
#[derive(Clone, Copy)]
struct Card {
    min: usize,
    many: bool,
}
const OPT: Card = Card {
    min: 0,
    many: false,
};
const REQ: Card = Card {
    min: 1,
    many: false,
};
const LIST: Card = Card { min: 0, many: true };
const LIST1: Card = Card { min: 1, many: true };

/// The elements every resource and every element may carry.
const RESOURCE_BASE: &[(&str, Card)] = &[
    ("resourceType", REQ),
    ("id", OPT),
    ("meta", OPT),
    ("implicitRules", OPT),
    ("language", OPT),
];
const DOMAIN_BASE: &[(&str, Card)] = &[
    ("text", OPT),
    ("contained", LIST),
    ("extension", LIST),
    ("modifierExtension", LIST),
];
const ELEMENT_BASE: &[(&str, Card)] = &[
    ("id", OPT),
    ("extension", LIST),
    ("modifierExtension", LIST),
];

const BUNDLE: &[(&str, Card)] = &[
    ("identifier", OPT),
    ("type", REQ),
    ("timestamp", OPT),
    ("total", OPT),
    ("link", LIST),
    ("entry", LIST),
    ("signature", OPT),
];
const BUNDLE_ENTRY: &[(&str, Card)] = &[
    ("link", LIST),
    ("fullUrl", OPT),
    ("resource", OPT),
    ("search", OPT),
    ("request", OPT),
    ("response", OPT),
];
const COMPOSITION: &[(&str, Card)] = &[
    ("identifier", OPT),
    ("status", REQ),
    ("type", REQ),
    ("category", LIST),
    ("subject", OPT),
    ("encounter", OPT),
    ("date", REQ),
    ("author", LIST1),
    ("title", REQ),
    ("confidentiality", OPT),
    ("attester", LIST),
    ("custodian", OPT),
    ("relatesTo", LIST),
    ("event", LIST),
    ("section", LIST),
];
const ATTESTER: &[(&str, Card)] = &[("mode", REQ), ("time", OPT), ("party", OPT)];
const RELATES_TO: &[(&str, Card)] = &[
    ("code", REQ),
    ("targetIdentifier", OPT),
    ("targetReference", OPT),
];
const SECTION: &[(&str, Card)] = &[
    ("title", OPT),
    ("code", OPT),
    ("author", LIST),
    ("focus", OPT),
    ("text", OPT),
    ("mode", OPT),
    ("orderedBy", OPT),
    ("entry", LIST),
    ("emptyReason", OPT),
    ("section", LIST),
];
const PATIENT: &[(&str, Card)] = &[
    ("identifier", LIST),
    ("active", OPT),
    ("name", LIST),
    ("telecom", LIST),
    ("gender", OPT),
    ("birthDate", OPT),
    ("deceasedBoolean", OPT),
    ("deceasedDateTime", OPT),
    ("address", LIST),
    ("maritalStatus", OPT),
    ("multipleBirthBoolean", OPT),
    ("multipleBirthInteger", OPT),
    ("photo", LIST),
    ("contact", LIST),
    ("communication", LIST),
    ("generalPractitioner", LIST),
    ("managingOrganization", OPT),
    ("link", LIST),
];
const PRACTITIONER: &[(&str, Card)] = &[
    ("identifier", LIST),
    ("active", OPT),
    ("name", LIST),
    ("telecom", LIST),
    ("address", LIST),
    ("gender", OPT),
    ("birthDate", OPT),
    ("photo", LIST),
    ("qualification", LIST),
    ("communication", LIST),
];
const IDENTIFIER: &[(&str, Card)] = &[
    ("use", OPT),
    ("type", OPT),
    ("system", OPT),
    ("value", OPT),
    ("period", OPT),
    ("assigner", OPT),
];
const REFERENCE: &[(&str, Card)] = &[
    ("reference", OPT),
    ("type", OPT),
    ("identifier", OPT),
    ("display", OPT),
];
const CODEABLE_CONCEPT: &[(&str, Card)] = &[("coding", LIST), ("text", OPT)];
const CODING: &[(&str, Card)] = &[
    ("system", OPT),
    ("version", OPT),
    ("code", OPT),
    ("display", OPT),
    ("userSelected", OPT),
];
const NARRATIVE: &[(&str, Card)] = &[("status", REQ), ("div", REQ)];
const HUMAN_NAME: &[(&str, Card)] = &[
    ("use", OPT),
    ("text", OPT),
    ("family", OPT),
    ("given", LIST),
    ("prefix", LIST),
    ("suffix", LIST),
    ("period", OPT),
];

/// Value sets (required bindings) of the codes checked.
const BUNDLE_TYPES: &[&str] = &[
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
];
const COMPOSITION_STATUS: &[&str] = &["preliminary", "final", "amended", "entered-in-error"];
const ATTESTATION_MODE: &[&str] = &["personal", "professional", "legal", "official"];
const DOCUMENT_RELATIONSHIP: &[&str] = &["replaces", "transforms", "signs", "appends"];
const NARRATIVE_STATUS: &[&str] = &["generated", "extensions", "additional", "empty"];

/// Elements FHIR's XHTML narrative may use (txt-1: no scripts, forms, frames, objects, styles).
const XHTML_ELEMENTS: &[&str] = &[
    "div",
    "p",
    "br",
    "span",
    "b",
    "i",
    "em",
    "strong",
    "u",
    "small",
    "sub",
    "sup",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "caption",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "code",
    "blockquote",
    "a",
    "hr",
    "img",
];

/// A validated document: the problems found, and what the checks learned on the way.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<String>,
    /// fullUrl → resource.
    pub resources: HashMap<String, Value>,
    /// Each Composition section as (title, narrative decoded to plain text).
    pub sections: Vec<(Option<String>, String)>,
}

impl Report {
    fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {message}"));
    }

    /// The resource a reference points at.
    pub fn resolve(&self, reference: &Value) -> Option<&Value> {
        reference["reference"]
            .as_str()
            .and_then(|r| self.resources.get(r))
    }
}

/// Validates `bundle` as a FHIR R4 document Bundle.
pub fn validate_document(bundle: &Value) -> Report {
    let mut report = Report::default();
    check_json_rules(&mut report, "Bundle", bundle);
    let Some(object) = bundle.as_object() else {
        report.error("Bundle", "not a JSON object");
        return report;
    };
    if object.get("resourceType") != Some(&Value::from("Bundle")) {
        report.error("Bundle.resourceType", "must be `Bundle`");
    }
    check_elements(&mut report, "Bundle", object, &[RESOURCE_BASE, BUNDLE]);
    check_id(&mut report, "Bundle.id", object.get("id"));
    check_code(&mut report, "Bundle.type", object.get("type"), BUNDLE_TYPES);
    if object.get("type") != Some(&Value::from("document")) {
        report.error("Bundle.type", "must be `document`");
    }
    // bdl-9: a document has an identifier with system and value; bdl-10: a timestamp.
    match object.get("identifier") {
        Some(identifier) => {
            check_identifier(&mut report, "Bundle.identifier", identifier);
            if identifier.get("system").is_none() || identifier.get("value").is_none() {
                report.error("Bundle.identifier", "bdl-9: needs system and value");
            }
        }
        None => report.error("Bundle.identifier", "bdl-9: a document needs an identifier"),
    }
    match object.get("timestamp") {
        Some(t) => check_instant(&mut report, "Bundle.timestamp", t),
        None => report.error("Bundle.timestamp", "bdl-10: a document needs a timestamp"),
    }

    let entries = object
        .get("entry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        report.error("Bundle.entry", "a document has at least the Composition");
    }
    let mut seen = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("Bundle.entry[{i}]");
        let Some(e) = entry.as_object() else {
            report.error(&path, "not an object");
            continue;
        };
        check_elements(&mut report, &path, e, &[ELEMENT_BASE, BUNDLE_ENTRY]);
        if e.contains_key("request") || e.contains_key("response") || e.contains_key("search") {
            report.error(
                &path,
                "bdl-3/4/2: no request, response or search in a document",
            );
        }
        let full_url = e.get("fullUrl").and_then(Value::as_str).unwrap_or_default();
        if !is_urn_uuid(full_url) {
            report.error(&path, format!("fullUrl `{full_url}` is not a urn:uuid"));
        }
        if !seen.insert(full_url.to_string()) {
            report.error(&path, format!("bdl-7: fullUrl `{full_url}` repeats"));
        }
        let Some(resource) = e.get("resource") else {
            report.error(&path, "no resource");
            continue;
        };
        if let Some(id) = resource.get("id").and_then(Value::as_str) {
            if full_url.strip_prefix("urn:uuid:") != Some(id) {
                report.error(&path, "the resource id disagrees with its fullUrl");
            }
        }
        report
            .resources
            .insert(full_url.to_string(), resource.clone());
    }
    // bdl-11: the first resource of a document is its Composition.
    match entries.first().map(|e| &e["resource"]) {
        Some(first) if first["resourceType"] == "Composition" => {}
        _ => report.error("Bundle.entry[0]", "bdl-11: must be the Composition"),
    }

    for (i, entry) in entries.iter().enumerate() {
        let resource = &entry["resource"];
        let path = format!("Bundle.entry[{i}].resource");
        match resource["resourceType"].as_str() {
            Some("Composition") => check_composition(&mut report, &path, resource),
            Some("Patient") => check_patient(&mut report, &path, resource),
            Some("Practitioner") => check_practitioner(&mut report, &path, resource),
            other => report.error(&path, format!("unexpected resourceType {other:?}")),
        }
    }
    if entries
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Composition")
        .count()
        != 1
    {
        report.error("Bundle.entry", "exactly one Composition");
    }

    // Every reference resolves inside the bundle.
    let mut references = Vec::new();
    collect_references(bundle, "Bundle", &mut references);
    for (path, reference) in references {
        if !report.resources.contains_key(&reference) {
            report.error(
                &path,
                format!("reference `{reference}` does not resolve in the bundle"),
            );
        }
    }
    report
}

fn check_composition(report: &mut Report, path: &str, resource: &Value) {
    let Some(c) = resource.as_object() else {
        return;
    };
    check_elements(report, path, c, &[RESOURCE_BASE, DOMAIN_BASE, COMPOSITION]);
    check_id(report, &format!("{path}.id"), c.get("id"));
    check_code(
        report,
        &format!("{path}.status"),
        c.get("status"),
        COMPOSITION_STATUS,
    );
    if let Some(identifier) = c.get("identifier") {
        check_identifier(report, &format!("{path}.identifier"), identifier);
    }
    if let Some(t) = c.get("type") {
        check_codeable_concept(report, &format!("{path}.type"), t);
    }
    if let Some(s) = c.get("subject") {
        check_reference(report, &format!("{path}.subject"), s);
    }
    if let Some(d) = c.get("date") {
        check_date_time(report, &format!("{path}.date"), d);
    }
    for (i, a) in array(c.get("author")).iter().enumerate() {
        check_reference(report, &format!("{path}.author[{i}]"), a);
    }
    if let Some(title) = c.get("title") {
        check_string(report, &format!("{path}.title"), title);
    }
    for (i, a) in array(c.get("attester")).iter().enumerate() {
        let p = format!("{path}.attester[{i}]");
        let Some(o) = a.as_object() else {
            report.error(&p, "not an object");
            continue;
        };
        check_elements(report, &p, o, &[ELEMENT_BASE, ATTESTER]);
        check_code(
            report,
            &format!("{p}.mode"),
            o.get("mode"),
            ATTESTATION_MODE,
        );
        if let Some(t) = o.get("time") {
            check_date_time(report, &format!("{p}.time"), t);
        }
        if let Some(party) = o.get("party") {
            check_reference(report, &format!("{p}.party"), party);
        }
    }
    for (i, r) in array(c.get("relatesTo")).iter().enumerate() {
        let p = format!("{path}.relatesTo[{i}]");
        let Some(o) = r.as_object() else {
            report.error(&p, "not an object");
            continue;
        };
        check_elements(report, &p, o, &[ELEMENT_BASE, RELATES_TO]);
        check_code(
            report,
            &format!("{p}.code"),
            o.get("code"),
            DOCUMENT_RELATIONSHIP,
        );
        match (o.get("targetIdentifier"), o.get("targetReference")) {
            (Some(id), None) => check_identifier(report, &format!("{p}.targetIdentifier"), id),
            (None, Some(r)) => check_reference(report, &format!("{p}.targetReference"), r),
            _ => report.error(
                &p,
                "target[x]: exactly one of targetIdentifier, targetReference",
            ),
        }
    }
    for (i, s) in array(c.get("section")).iter().enumerate() {
        check_section(report, &format!("{path}.section[{i}]"), s);
    }
}

fn check_section(report: &mut Report, path: &str, section: &Value) {
    let Some(s) = section.as_object() else {
        report.error(path, "not an object");
        return;
    };
    check_elements(report, path, s, &[ELEMENT_BASE, SECTION]);
    // cmp-1: text, entries or sub-sections.
    if !(s.contains_key("text") || s.contains_key("entry") || s.contains_key("section")) {
        report.error(path, "cmp-1: a section needs text, entries or sections");
    }
    let title = s.get("title").map(|t| {
        check_string(report, &format!("{path}.title"), t);
        t.as_str().unwrap_or_default().to_string()
    });
    let mut decoded = String::new();
    if let Some(text) = s.get("text") {
        decoded = check_narrative(report, &format!("{path}.text"), text);
    }
    report.sections.push((title, decoded));
    for (i, sub) in array(s.get("section")).iter().enumerate() {
        check_section(report, &format!("{path}.section[{i}]"), sub);
    }
}

fn check_patient(report: &mut Report, path: &str, resource: &Value) {
    let Some(o) = resource.as_object() else {
        return;
    };
    check_elements(report, path, o, &[RESOURCE_BASE, DOMAIN_BASE, PATIENT]);
    check_id(report, &format!("{path}.id"), o.get("id"));
    for (i, id) in array(o.get("identifier")).iter().enumerate() {
        check_identifier(report, &format!("{path}.identifier[{i}]"), id);
    }
}

fn check_practitioner(report: &mut Report, path: &str, resource: &Value) {
    let Some(o) = resource.as_object() else {
        return;
    };
    check_elements(report, path, o, &[RESOURCE_BASE, DOMAIN_BASE, PRACTITIONER]);
    check_id(report, &format!("{path}.id"), o.get("id"));
    for (i, id) in array(o.get("identifier")).iter().enumerate() {
        check_identifier(report, &format!("{path}.identifier[{i}]"), id);
    }
    for (i, name) in array(o.get("name")).iter().enumerate() {
        let p = format!("{path}.name[{i}]");
        match name.as_object() {
            Some(n) => check_elements(report, &p, n, &[ELEMENT_BASE, HUMAN_NAME]),
            None => report.error(&p, "not an object"),
        }
    }
}

fn check_identifier(report: &mut Report, path: &str, value: &Value) {
    let Some(o) = value.as_object() else {
        report.error(path, "an Identifier is an object");
        return;
    };
    check_elements(report, path, o, &[ELEMENT_BASE, IDENTIFIER]);
    if let Some(system) = o.get("system") {
        check_uri(report, &format!("{path}.system"), system);
    }
    if let Some(v) = o.get("value") {
        check_string(report, &format!("{path}.value"), v);
    }
}

fn check_reference(report: &mut Report, path: &str, value: &Value) {
    let Some(o) = value.as_object() else {
        report.error(path, "a Reference is an object");
        return;
    };
    check_elements(report, path, o, &[ELEMENT_BASE, REFERENCE]);
    // ref-1 (and this export's promise): a literal reference to a bundled resource.
    if !o
        .get("reference")
        .and_then(Value::as_str)
        .is_some_and(is_urn_uuid)
    {
        report.error(path, "reference is not a urn:uuid");
    }
}

fn check_codeable_concept(report: &mut Report, path: &str, value: &Value) {
    let Some(o) = value.as_object() else {
        report.error(path, "a CodeableConcept is an object");
        return;
    };
    check_elements(report, path, o, &[ELEMENT_BASE, CODEABLE_CONCEPT]);
    for (i, coding) in array(o.get("coding")).iter().enumerate() {
        let p = format!("{path}.coding[{i}]");
        let Some(c) = coding.as_object() else {
            report.error(&p, "not an object");
            continue;
        };
        check_elements(report, &p, c, &[ELEMENT_BASE, CODING]);
        if let Some(s) = c.get("system") {
            check_uri(report, &format!("{p}.system"), s);
        }
        if let Some(code) = c.get("code") {
            check_code(report, &format!("{p}.code"), Some(code), &[]);
        }
    }
}

/// A Narrative: status from its value set and a well-formed XHTML div; returns the div's text.
fn check_narrative(report: &mut Report, path: &str, value: &Value) -> String {
    let Some(o) = value.as_object() else {
        report.error(path, "a Narrative is an object");
        return String::new();
    };
    check_elements(report, path, o, &[ELEMENT_BASE, NARRATIVE]);
    check_code(
        report,
        &format!("{path}.status"),
        o.get("status"),
        NARRATIVE_STATUS,
    );
    let div = o.get("div").and_then(Value::as_str).unwrap_or_default();
    match parse_xhtml_div(div) {
        Ok(text) => {
            if text.trim().is_empty() {
                report.error(
                    &format!("{path}.div"),
                    "txt-2: the narrative has no content",
                );
            }
            text
        }
        Err(e) => {
            report.error(&format!("{path}.div"), e);
            String::new()
        }
    }
}

/// Parses a FHIR narrative `div` as XML: the root is `<div>` in the XHTML namespace, elements
/// are allowed ones and nest properly, attributes are quoted and never event handlers, and text
/// has no raw `<` or stray `&`. Returns the text content: paragraphs separated by blank lines,
/// `<br/>` as a line break, entities decoded.
pub fn parse_xhtml_div(div: &str) -> Result<String, String> {
    let root = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";
    if !div.starts_with(root) {
        return Err(format!("does not start with {root}: {div:.60}"));
    }
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut paragraphs = 0usize;
    let mut rest = div;
    let mut closed_root = false;
    while !rest.is_empty() {
        if closed_root {
            return Err("content after the root div".into());
        }
        if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').ok_or("an unterminated tag")?;
            let tag = &after[..end];
            rest = &after[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("`</{name}>` closes nothing"))?;
                if open != name.trim() {
                    return Err(format!("`</{name}>` closes `<{open}>`"));
                }
                closed_root = stack.is_empty();
                continue;
            }
            let (body, self_closing) = match tag.strip_suffix('/') {
                Some(b) => (b, true),
                None => (tag, false),
            };
            let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
            let name = &body[..name_end];
            if !XHTML_ELEMENTS.contains(&name) {
                return Err(format!("element `<{name}>` is not allowed in narrative"));
            }
            check_attributes(&body[name_end..])?;
            if stack.is_empty() && name != "div" {
                return Err("the root must be a div".into());
            }
            match name {
                "br" => text.push('\n'),
                "p" => {
                    if paragraphs > 0 {
                        text.push_str("\n\n");
                    }
                    paragraphs += 1;
                }
                _ => {}
            }
            if !self_closing {
                if name == "br" {
                    return Err("`<br>` must be self-closing in XHTML".into());
                }
                stack.push(name.to_string());
            }
        } else if let Some(after) = rest.strip_prefix('&') {
            let end = after.find(';').ok_or("an `&` that starts no entity")?;
            let entity = &after[..end];
            let decoded = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(format!("bad entity `&{e};`"))?,
                e if e.starts_with('#') => e[1..]
                    .parse::<u32>()
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or(format!("bad entity `&{e};`"))?,
                e => return Err(format!("`&{e};` is not an XML entity")),
            };
            text.push(decoded);
            rest = &after[end + 1..];
        } else {
            let next = rest.find(['<', '&']).unwrap_or(rest.len());
            let chunk = &rest[..next];
            if stack.is_empty() {
                return Err("text outside the root div".into());
            }
            if chunk
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                return Err("a control character XML does not allow".into());
            }
            text.push_str(chunk);
            rest = &rest[next..];
        }
    }
    if !stack.is_empty() || !closed_root {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    Ok(text)
}

fn check_attributes(mut attrs: &str) -> Result<(), String> {
    loop {
        attrs = attrs.trim_start();
        if attrs.is_empty() {
            return Ok(());
        }
        let eq = attrs
            .find('=')
            .ok_or(format!("attribute without value: {attrs}"))?;
        let name = attrs[..eq].trim();
        if name.to_ascii_lowercase().starts_with("on") {
            return Err(format!("attribute `{name}` is not allowed in narrative"));
        }
        let value = attrs[eq + 1..].trim_start();
        let quote = value.chars().next().ok_or("attribute without value")?;
        if quote != '"' && quote != '\'' {
            return Err(format!("attribute `{name}` is not quoted"));
        }
        let close = value[1..]
            .find(quote)
            .ok_or(format!("attribute `{name}` is not closed"))?;
        let inner = &value[1..1 + close];
        if inner.contains('<') {
            return Err(format!("attribute `{name}` holds a raw `<`"));
        }
        attrs = &value[close + 2..];
    }
}

/// Element names and cardinalities: no unknown element, required ones present, repeating
/// elements are arrays and single ones are not.
fn check_elements(
    report: &mut Report,
    path: &str,
    object: &Map<String, Value>,
    definitions: &[&[(&str, Card)]],
) {
    let known: HashMap<&str, Card> = definitions.iter().flat_map(|d| d.iter().copied()).collect();
    for (key, value) in object {
        // `_element` carries a primitive's id and extensions.
        let base = key.strip_prefix('_').unwrap_or(key);
        match known.get(base) {
            None => report.error(&format!("{path}.{key}"), "not an element of this type"),
            Some(_) if key.starts_with('_') => {}
            Some(card) => {
                if card.many != value.is_array() {
                    report.error(
                        &format!("{path}.{key}"),
                        if card.many {
                            "repeats: must be an array"
                        } else {
                            "single: must not be an array"
                        },
                    );
                }
            }
        }
    }
    for (key, card) in &known {
        if card.min > 0 {
            let present = match object.get(*key) {
                Some(Value::Array(a)) => a.len() >= card.min,
                Some(_) => true,
                None => false,
            };
            if !present {
                report.error(&format!("{path}.{key}"), "required (min 1) but missing");
            }
        }
    }
}

/// FHIR JSON: no nulls, no empty strings, objects or arrays anywhere.
fn check_json_rules(report: &mut Report, path: &str, value: &Value) {
    match value {
        Value::Null => report.error(path, "null is not allowed in FHIR JSON"),
        Value::String(s) if s.is_empty() => report.error(path, "empty string"),
        Value::Array(a) => {
            if a.is_empty() {
                report.error(path, "empty array");
            }
            for (i, v) in a.iter().enumerate() {
                check_json_rules(report, &format!("{path}[{i}]"), v);
            }
        }
        Value::Object(o) => {
            if o.is_empty() {
                report.error(path, "empty object");
            }
            for (k, v) in o {
                check_json_rules(report, &format!("{path}.{k}"), v);
            }
        }
        _ => {}
    }
}

fn collect_references(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                let p = format!("{path}.{k}");
                if k == "reference" {
                    if let Some(r) = v.as_str() {
                        out.push((p.clone(), r.to_string()));
                    }
                }
                collect_references(v, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                collect_references(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn array(value: Option<&Value>) -> Vec<Value> {
    value.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// A `code` (no leading/trailing or double whitespace), from `value_set` when one is given.
fn check_code(report: &mut Report, path: &str, value: Option<&Value>, value_set: &[&str]) {
    let Some(value) = value else {
        return;
    };
    let Some(code) = value.as_str() else {
        report.error(path, "a code is a string");
        return;
    };
    if code.trim() != code || code.contains("  ") || code.is_empty() {
        report.error(path, format!("`{code}` is not a valid code"));
    }
    if !value_set.is_empty() && !value_set.contains(&code) {
        report.error(path, format!("`{code}` is not in {value_set:?}"));
    }
}

fn check_string(report: &mut Report, path: &str, value: &Value) {
    match value.as_str() {
        Some(s) if !s.trim().is_empty() => {}
        _ => report.error(path, "must be a non-blank string"),
    }
}

fn check_uri(report: &mut Report, path: &str, value: &Value) {
    let ok = value.as_str().is_some_and(|u| {
        let scheme_end = u.find(':').unwrap_or(0);
        scheme_end > 0
            && u[..scheme_end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !u.contains(char::is_whitespace)
    });
    if !ok {
        report.error(path, format!("{value} is not a uri"));
    }
}

fn check_id(report: &mut Report, path: &str, value: Option<&Value>) {
    let Some(value) = value else {
        return;
    };
    let ok = value.as_str().is_some_and(|id| {
        (1..=64).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    });
    if !ok {
        report.error(path, format!("{value} is not a FHIR id"));
    }
}

/// `instant`: a full date-time with seconds and a time zone.
fn check_instant(report: &mut Report, path: &str, value: &Value) {
    let ok = value.as_str().is_some_and(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok()
    });
    if !ok {
        report.error(path, format!("{value} is not an instant"));
    }
}

/// `dateTime`: this export always gives the full precision of an instant.
fn check_date_time(report: &mut Report, path: &str, value: &Value) {
    check_instant(report, path, value);
}

fn is_urn_uuid(text: &str) -> bool {
    let Some(uuid) = text.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

/// Asserts the bundle is a valid document and returns the report.
pub fn assert_valid_document(bundle: &Value) -> Report {
    let report = validate_document(bundle);
    assert!(
        report.errors.is_empty(),
        "invalid FHIR document:\n{}\n{bundle:#}",
        report.errors.join("\n")
    );
    report
}

#[test]
fn the_validator_rejects_what_it_should() {
    let bad = serde_json::json!({
        "resourceType": "Bundle",
        "type": "documents",
        "entry": [
            {"fullUrl": "urn:uuid:00000000-0000-8000-8000-000000000001", "resource": {
                "resourceType": "Composition", "status": "done", "title": "",
                "author": [{"reference": "urn:uuid:00000000-0000-8000-8000-00000000dead"}],
                "relatesTo": {"code": "replaces"},
                "section": [{"title": "Anamnes", "text": {"status": "generated",
                    "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">a < b & c<script>x</script></div>"}}]
            }}
        ]
    });
    let report = validate_document(&bad);
    let all = report.errors.join("\n");
    for expected in [
        "Bundle.type: `documents` is not in",
        "bdl-9",
        "bdl-10",
        "resource.status: `done` is not in",
        ".type: required",
        ".date: required",
        ".title: empty string",
        "relatesTo: repeats",
        "does not resolve in the bundle",
        "div:",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
    assert!(
        parse_xhtml_div("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a<br>b</p></div>").is_err()
    );
    assert!(parse_xhtml_div("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>x</div></p>").is_err());
    assert!(parse_xhtml_div(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p onclick=\"x\">y</p></div>"
    )
    .is_err());
    assert_eq!(
        parse_xhtml_div("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a &amp; &lt;b&gt;<br/>c</p><p>d</p></div>"),
        Ok("a & <b>\nc\n\nd".to_string())
    );
}
