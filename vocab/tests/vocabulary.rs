//! Integration tests of the vocabulary: look-ups, headings, templates, importers and the
//! on-disk index with its rebuild on source change.

use skriva_vocab::{
    import_icd10se, import_npl, store_imported_diagnoses, store_imported_drugs, Error, MatchMethod,
    TermKind, Vocabulary,
};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn shipped_lists_are_large_enough() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    assert!(
        vocab.diagnoses().len() >= 150,
        "{}",
        vocab.diagnoses().len()
    );
    let drug_names: usize = vocab.drugs().iter().map(|d| 1 + d.brands.len()).sum();
    assert!(drug_names >= 200, "{drug_names}");
    for code in [
        "I10.9", "F90.0B", "J03.9", "J06.9", "N39.0", "E11.9", "F32.1", "F41.1", "F43.2",
    ] {
        assert!(vocab.diagnosis_by_code(code).is_some(), "{code}");
    }
    for (name, atc) in [
        ("Sertralin", "N06AB06"),
        ("Waran", "B01AA03"),
        ("warfarin", "B01AA03"),
        ("Alvedon", "N02BE01"),
        ("Ipren", "M01AE01"),
        ("Kåvepenin", "J01CE02"),
        ("Metformin", "A10BA02"),
        ("Elvanse", "N06BA12"),
        ("Atarax", "N05BB01"),
    ] {
        let found = vocab.lookup_exact(name);
        assert!(
            found.iter().any(|m| m.term.code.as_deref() == Some(atc)),
            "{name}: {found:?}"
        );
    }
    Ok(())
}

#[test]
fn clinical_words_are_shipped_and_found_by_loose_sound() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    let words = &vocab.sources().clinical_words;
    assert!(words.len() >= 500, "{}", words.len());
    let mut seen = std::collections::HashSet::new();
    for word in words {
        assert!(seen.insert(&word.word), "{} twice", word.word);
        assert_eq!(word.word, word.word.to_lowercase());
        assert!(word.word.chars().count() >= 6, "{}", word.word);
    }
    for (heard, expected) in [
        ("Bloodtrick", "blodtryck"),
        ("Zoicidrisk", "suicidrisk"),
        ("belegningar", "beläggningar"),
        ("tonsilerna", "tonsillerna"),
    ] {
        // The clinical word comes first, or ties with a heading alias of the same form.
        let found = vocab.lookup(heard, 3)?;
        let top = found.first().map_or(0.0, |m| m.score);
        assert!(
            found.iter().any(|m| m.term.kind == TermKind::ClinicalWord
                && m.term.form == expected
                && m.score >= 0.86
                && m.score >= top),
            "{heard}: {found:?}"
        );
    }
    Ok(())
}

#[test]
fn units_by_sound_take_a_doses_glued_one_but_no_short_words() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    let written = |heard: &str| vocab.unit_by_sound(heard).map(|unit| unit.written.clone());
    assert_eq!(written("miljgräm").as_deref(), Some("mg"));
    assert_eq!(written("millgrammet").as_deref(), Some("mg"));
    assert_eq!(written("millgrammett").as_deref(), Some("mg"));
    // Only a dose carries the dosing's "ett"; a short or unlike word is no unit.
    assert_eq!(written("meteret"), None);
    assert_eq!(written("gram"), None);
    assert_eq!(written("mamma"), None);
    Ok(())
}

#[test]
fn headings_resolve_from_aliases() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    let resolve = |s: &str| vocab.resolve_heading(s).map(|h| h.name.clone());
    assert_eq!(resolve("lab").as_deref(), Some("Undersökningsresultat"));
    assert_eq!(
        resolve("Provsvar").as_deref(),
        Some("Undersökningsresultat")
    );
    assert_eq!(resolve("psykstatus").as_deref(), Some("Psykiskt status"));
    assert_eq!(resolve("mediciner").as_deref(), Some("Läkemedel"));
    assert_eq!(
        resolve("Psykiskt status").as_deref(),
        Some("Psykiskt status")
    );
    assert_eq!(resolve("bedömming").as_deref(), Some("Bedömning"));
    assert_eq!(resolve("katt"), None);
    let m = vocab
        .match_heading(&["tidigare", "sjukdomar", "astma"])
        .map(|m| (m.heading.name.clone(), m.words));
    assert_eq!(m, Some(("Tidigare sjukdomar".to_owned(), 2)));
    Ok(())
}

/// A heading's soft "g" compares with what the recognizer wrote, whether it wrote the sound
/// ("ott järd") or the spelling ("ott gärd"); a different word does not.
#[test]
fn headings_by_sound_take_a_soft_g_as_said_or_as_spelled() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    let by_sound = |words: &[&str]| {
        vocab
            .match_heading_by_sound(words, 0.8)
            .map(|m| m.heading.name.clone())
    };
    assert_eq!(by_sound(&["ott", "järd"]).as_deref(), Some("Åtgärd"));
    assert_eq!(by_sound(&["ott", "gärd"]).as_deref(), Some("Åtgärd"));
    assert_eq!(by_sound(&["god", "kontakt"]), None);
    Ok(())
}

#[test]
fn fuzzy_and_phonetic_lookup_find_misheard_terms() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    for (heard, expected) in [
        ("Sertralinn", "sertralin"),
        ("kovepenin", "Kåvepenin"),
        ("Elvance", "Elvanse"),
        ("metformine", "metformin"),
        ("escitalopramm", "escitalopram"),
    ] {
        let best = vocab.lookup(heard, 1)?;
        assert_eq!(
            best.first().map(|m| m.term.form.as_str()),
            Some(expected),
            "{heard}"
        );
        assert!(best[0].score >= 0.8, "{heard}: {}", best[0].score);
    }
    let phonetic = vocab.lookup_phonetic("Atarrax")?;
    assert!(phonetic
        .iter()
        .any(|m| m.term.form == "Atarax" && m.method == MatchMethod::Phonetic));
    Ok(())
}

#[test]
fn find_terms_uses_stems_and_respects_abbreviation_case() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    let text = "Depressionen har lättat. Tar Sertralin. AT gott, han sat ner. Typ 2 diabetes. Ta dem med mat.";
    let found: Vec<(TermKind, String)> = vocab
        .find_terms(text)
        .into_iter()
        .map(|m| (m.term.kind, m.text))
        .collect();
    assert!(
        found.contains(&(TermKind::Diagnosis, "Depressionen".into())),
        "{found:?}"
    );
    assert!(found.contains(&(TermKind::Drug, "Sertralin".into())));
    assert!(found.contains(&(TermKind::Abbreviation, "AT".into())));
    assert!(!found.iter().any(|(_, t)| t == "sat"));
    // "dem" (them) shares its stem with "demens", but is shorter than any form of it.
    assert!(!found.iter().any(|(_, t)| t == "dem"), "{found:?}");
    assert!(
        found.contains(&(TermKind::Diagnosis, "Typ 2 diabetes".into())),
        "{found:?}"
    );
    Ok(())
}

#[test]
fn top_terms_follow_the_template_area() -> Result<(), Error> {
    let vocab = Vocabulary::builtin()?;
    let psychiatry = vocab.template("psykiatri-aterbesok")?;
    let terms = vocab.top_terms(psychiatry, 30);
    assert_eq!(terms.len(), 30);
    assert!(terms.iter().any(|t| t.form == "sertralin"));
    assert!(!terms.iter().any(|t| t.form == "Kåvepenin"));
    assert!(matches!(
        vocab.template("okänd"),
        Err(Error::UnknownTemplate(_))
    ));
    Ok(())
}

#[test]
fn icd10se_import_reads_codes_and_titles() -> Result<(), Error> {
    let codes = import_icd10se(fixture("icd10se-sample.txt"))?;
    let pairs: Vec<(&str, &str)> = codes
        .iter()
        .map(|d| (d.code.as_str(), d.title.as_str()))
        .collect();
    assert_eq!(pairs.len(), 6, "{pairs:?}");
    assert!(pairs.contains(&("J03.9", "Akut tonsillit, ospecificerad")));
    assert!(pairs.contains(&("R51", "Huvudvärk")));
    let ksh = import_icd10se(fixture("ksh97p-sample.txt"))?;
    assert_eq!(ksh[0].code, "J03-P");
    assert!(matches!(
        import_icd10se(fixture("npl-semicolon.csv")),
        Err(Error::Import { .. })
    ));
    Ok(())
}

#[test]
fn npl_import_groups_products_by_substance() -> Result<(), Error> {
    let drugs = import_npl(fixture("npl-sample.tsv"))?;
    assert_eq!(drugs.len(), 2, "{drugs:?}");
    let sertralin = drugs
        .iter()
        .find(|d| d.atc == "N06AB06")
        .ok_or(Error::Invalid("no sertralin".into()))?;
    assert_eq!(
        sertralin.brands,
        vec!["Sertralin Accord".to_owned(), "Zoloft".to_owned()]
    );
    let semicolon = import_npl(fixture("npl-semicolon.csv"))?;
    assert_eq!(semicolon[0].brands, vec!["Alvedon".to_owned()]);
    assert!(matches!(
        import_npl(fixture("icd10se-sample.txt")),
        Err(Error::Import { .. })
    ));
    Ok(())
}

#[test]
fn data_dir_index_includes_imports_and_clinic_templates() -> Result<(), Error> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
    let first = Vocabulary::open(dir.path())?;
    assert!(first.lookup_exact("Lixtrandol").is_empty());
    let hash_path = dir.path().join("index/sources.sha256");
    let first_hash = std::fs::read_to_string(&hash_path).map_err(|e| Error::io(&hash_path, e))?;
    drop(first);

    store_imported_drugs(dir.path(), "npl", &import_npl(fixture("npl-sample.tsv"))?)?;
    store_imported_diagnoses(
        dir.path(),
        "icd10se",
        &import_icd10se(fixture("icd10se-sample.txt"))?,
    )?;
    let clinic = dir.path().join("templates.toml");
    std::fs::write(
        &clinic,
        "[[template]]\nid = \"vc-telefon\"\ntitle = \"Telefonkontakt\"\narea = \"primarvard\"\nheadings = [\"Aktuellt\", \"Telefonråd\", \"Planering\"]\n",
    )
    .map_err(|e| Error::io(&clinic, e))?;

    let second = Vocabulary::open(dir.path())?;
    let second_hash = std::fs::read_to_string(&hash_path).map_err(|e| Error::io(&hash_path, e))?;
    assert_ne!(
        first_hash, second_hash,
        "index must be rebuilt when sources change"
    );
    assert!(!second.lookup_exact("Lixtrandol").is_empty());
    assert_eq!(second.lookup("Lixtrandoll", 1)?[0].term.form, "Lixtrandol");
    assert_eq!(
        second.diagnosis_by_code("A00.0").map(|d| d.title.as_str()),
        Some("Kolera orsakad av Vibrio cholerae 01, biovar cholerae")
    );
    assert_eq!(second.template("vc-telefon")?.headings.len(), 3);
    assert_eq!(
        second
            .resolve_heading("telefonråd")
            .map(|h| h.name.as_str()),
        Some("Telefonråd")
    );
    drop(second);

    // Reopening with unchanged sources reuses the stored index.
    let third = Vocabulary::open(dir.path())?;
    assert!(!third.lookup_exact("Zoloft").is_empty());
    Ok(())
}
