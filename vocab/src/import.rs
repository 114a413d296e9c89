//! Importers for the official files a region has — Socialstyrelsen's ICD-10-SE / KSH97-P
//! code text files and Läkemedelsverket's NPL product export — and storage of the imported
//! terms in a vocabulary data directory, where [`crate::Vocabulary::open`] picks them up.
//!
//! # Expected columns
//!
//! **ICD-10-SE / KSH97-P** (`import_icd10se`): one code per line, the code first, then its
//! title, separated by a tab, a semicolon or whitespace: `J03.9<TAB>Akut tonsillit,
//! ospecificerad`. Codes may be written without the dot (`J039` → `J03.9`); KSH97-P codes keep
//! their suffix (`J03-P`). Lines whose first field is not a code (headers, chapter titles,
//! blank lines, `#` comments) are skipped. UTF-8 or Latin-1 (Windows-1252) text.
//!
//! **NPL** (`import_npl`): a delimited text export (tab or semicolon) whose first line names
//! the columns. Recognized names, case-insensitive: product name — `Produktnamn`,
//! `Läkemedelsnamn`, `Handelsnamn`, `Namn`, `Product name`, `Name`; ATC code — `ATC-kod`,
//! `ATC`, `ATC code`; substance (optional) — `Substans`, `Aktiv substans`, `Substansnamn`,
//! `Substance`. Rows without a name or an ATC code are skipped; products with the same
//! substance and ATC code are grouped into one [`Drug`] with several brand names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::{Area, Diagnosis, DiagnosisFile, Drug, DrugFile};
use crate::vocabulary::imported_dir;

/// Reads a text file as UTF-8, falling back to Latin-1 (which the older Socialstyrelsen and
/// Läkemedelsverket exports use).
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    };
    Ok(text.trim_start_matches('\u{feff}').to_owned())
}

/// Normalizes an ICD-10-SE or KSH97-P code: upper case, dot after the third character.
/// Returns `None` for anything that is not a code.
pub fn normalize_icd_code(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_matches('"').to_uppercase();
    let (body, suffix) = match raw.split_once('-') {
        Some((body, "P")) => (body.to_owned(), "-P"),
        Some(_) => return None,
        None => (raw.clone(), ""),
    };
    let compact: String = body.chars().filter(|c| *c != '.').collect();
    let mut chars = compact.chars();
    let letter = chars.next()?;
    if !letter.is_ascii_uppercase() {
        return None;
    }
    let rest: Vec<char> = chars.collect();
    if rest.len() < 2 || !rest[..2].iter().all(char::is_ascii_digit) {
        return None;
    }
    if rest.len() > 6 || !rest[2..].iter().all(char::is_ascii_alphanumeric) {
        return None;
    }
    let head: String = std::iter::once(letter)
        .chain(rest[..2].iter().copied())
        .collect();
    let tail: String = rest[2..].iter().collect();
    Some(if tail.is_empty() {
        format!("{head}{suffix}")
    } else {
        format!("{head}.{tail}{suffix}")
    })
}

/// Imports a Socialstyrelsen ICD-10-SE or KSH97-P code text file (see the module docs for
/// its expected shape).
pub fn import_icd10se(path: impl AsRef<Path>) -> Result<Vec<Diagnosis>> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let mut diagnoses: Vec<Diagnosis> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (code, title) = match line.find(['\t', ';']) {
            Some(at) => (&line[..at], &line[at + 1..]),
            None => line.split_once(char::is_whitespace).unwrap_or((line, "")),
        };
        let Some(code) = normalize_icd_code(code) else {
            continue;
        };
        let title = title
            .split(['\t', ';'])
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"')
            .to_owned();
        if title.is_empty() {
            continue;
        }
        diagnoses.push(Diagnosis {
            code,
            title,
            aliases: Vec::new(),
            area: Area::Bada,
        });
    }
    if diagnoses.is_empty() {
        return Err(Error::Import {
            path: path.to_owned(),
            line: 0,
            reason: "no 'CODE<TAB>TITLE' lines found".into(),
        });
    }
    tracing::info!(path = %path.display(), codes = diagnoses.len(), "imported ICD-10-SE codes");
    Ok(diagnoses)
}

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| {
        names
            .iter()
            .any(|n| h.eq_ignore_ascii_case(n) || h.to_lowercase() == *n)
    })
}

/// Imports a Läkemedelsverket NPL product export (see the module docs for its columns).
pub fn import_npl(path: impl AsRef<Path>) -> Result<Vec<Drug>> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header_line)) = lines.next() else {
        return Err(Error::Import {
            path: path.to_owned(),
            line: 1,
            reason: "empty file".into(),
        });
    };
    let delimiter = if header_line.contains('\t') {
        '\t'
    } else {
        ';'
    };
    let split = |line: &str| -> Vec<String> {
        line.split(delimiter)
            .map(|f| f.trim().trim_matches('"').trim().to_owned())
            .collect()
    };
    let header = split(header_line);
    let missing = |what: &str| Error::Import {
        path: path.to_owned(),
        line: 1,
        reason: format!("no {what} column in header {header_line:?}"),
    };
    let name_col = column(
        &header,
        &[
            "produktnamn",
            "läkemedelsnamn",
            "handelsnamn",
            "namn",
            "product name",
            "name",
        ],
    )
    .ok_or_else(|| missing("product name"))?;
    let atc_col = column(
        &header,
        &["atc-kod", "atc", "atc code", "atc_kod", "atckod"],
    )
    .ok_or_else(|| missing("ATC"))?;
    let substance_col = column(
        &header,
        &["substans", "aktiv substans", "substansnamn", "substance"],
    );
    let mut grouped: BTreeMap<(String, String), Drug> = BTreeMap::new();
    for (_, line) in lines {
        let fields = split(line);
        let field = |i: usize| fields.get(i).map(String::as_str).unwrap_or_default();
        let (name, atc) = (field(name_col), field(atc_col).to_uppercase());
        if name.is_empty() || atc.is_empty() {
            continue;
        }
        let substance = substance_col
            .map(|c| field(c).to_lowercase())
            .unwrap_or_default();
        let drug = grouped
            .entry((substance.clone(), atc.clone()))
            .or_insert_with(|| Drug {
                substance,
                atc,
                brands: Vec::new(),
                area: Area::Bada,
            });
        if !drug.brands.iter().any(|b| b.eq_ignore_ascii_case(name))
            && !drug.substance.eq_ignore_ascii_case(name)
        {
            drug.brands.push(name.to_owned());
        }
    }
    let drugs: Vec<Drug> = grouped.into_values().collect();
    tracing::info!(path = %path.display(), substances = drugs.len(), "imported NPL products");
    Ok(drugs)
}

/// Stores imported diagnoses in `data_dir/imported/<name>.diagnoses.toml`, where
/// [`crate::Vocabulary::open`] includes them (its index is rebuilt on the next open).
pub fn store_imported_diagnoses(
    data_dir: impl AsRef<Path>,
    name: &str,
    diagnoses: &[Diagnosis],
) -> Result<PathBuf> {
    let file = DiagnosisFile {
        diagnosis: diagnoses.to_vec(),
    };
    store(data_dir.as_ref(), &format!("{name}.diagnoses.toml"), &file)
}

/// Stores imported drugs in `data_dir/imported/<name>.drugs.toml`, where
/// [`crate::Vocabulary::open`] includes them.
pub fn store_imported_drugs(
    data_dir: impl AsRef<Path>,
    name: &str,
    drugs: &[Drug],
) -> Result<PathBuf> {
    let file = DrugFile {
        drug: drugs.to_vec(),
    };
    store(data_dir.as_ref(), &format!("{name}.drugs.toml"), &file)
}

fn store<T: serde::Serialize>(data_dir: &Path, file_name: &str, content: &T) -> Result<PathBuf> {
    let dir = imported_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(file_name);
    let text = toml::to_string(content).map_err(|e| Error::Parse {
        origin: path.display().to_string(),
        message: e.to_string(),
    })?;
    let header = "# Imported by skriva from an official source file; regenerate with\n\
                  # `skriva vocab import`. Not to be edited by hand.\n";
    std::fs::write(&path, format!("{header}{text}")).map_err(|e| Error::io(&path, e))?;
    tracing::info!(path = %path.display(), "stored imported vocabulary");
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd_codes_normalize() {
        assert_eq!(normalize_icd_code("J039").as_deref(), Some("J03.9"));
        assert_eq!(normalize_icd_code("f90.0b").as_deref(), Some("F90.0B"));
        assert_eq!(normalize_icd_code("J03-P").as_deref(), Some("J03-P"));
        assert_eq!(normalize_icd_code("R51").as_deref(), Some("R51"));
        assert_eq!(normalize_icd_code("Kod"), None);
        assert_eq!(normalize_icd_code("123"), None);
    }
}
