//! Spoken-to-written formatting: commands, punctuation, numbers and units, term correction,
//! word input with probabilities, and the recognizer prompt.

use skriva_engine::text::{
    format, format_words, initial_prompt, words_text, CorrectionSource, FormatOptions, Formatted,
    Piece, SpokenWord, PROMPT_MAX_CHARS,
};
use skriva_vocab::Vocabulary;

fn vocab() -> Vocabulary {
    match Vocabulary::builtin() {
        Ok(v) => v,
        Err(e) => panic!("builtin vocabulary: {e}"),
    }
}

fn formatted(raw: &str, vocab: &Vocabulary) -> Formatted {
    match format(raw, vocab, FormatOptions::default()) {
        Ok(f) => f,
        Err(e) => panic!("{raw}: {e}"),
    }
}

fn written(raw: &str) -> String {
    formatted(raw, &vocab()).text()
}

#[test]
fn spoken_punctuation_and_breaks() {
    assert_eq!(
        written("ingen feber punkt hosta komma snuva frågetecken ny rad nej utropstecken"),
        "Ingen feber. Hosta, snuva?\nNej!"
    );
    assert_eq!(
        written("näsblod öppna parentes självläkt stäng parentes punkt nytt stycke Dix bindestreck Hallpike negativ"),
        "Näsblod (självläkt).\n\nDix-Hallpike negativ"
    );
    // A "punkt" the recognizer wrote inside one word with the words around it; compounds
    // with "punkt" stay whole.
    assert_eq!(
        written("bor med sambo och två barnpunktarbetar som ekonom punkt"),
        "Bor med sambo och två barn. Arbetar som ekonom."
    );
    assert_eq!(
        written("vid tidpunkten för lumbalpunktion punkt ömhet över mittpunktsvärde punkt"),
        "Vid tidpunkten för lumbalpunktion. Ömhet över mittpunktsvärde."
    );
    // The parenthesis as the recognizer hears it.
    assert_eq!(
        written("näsblod öppnade Parantes självläkt Sträng Parantes punkt"),
        "Näsblod (självläkt)."
    );
}

#[test]
fn command_words_used_as_words_stay_words() {
    assert_eq!(
        written("hon ska komma tillbaka om två veckor punkt"),
        "Hon ska komma tillbaka om 2 veckor."
    );
    // After a negation the word before it decides: a modal makes "komma" the verb, a
    // finding makes it the comma.
    assert_eq!(
        written("hon kan inte komma på måndag punkt"),
        "Hon kan inte komma på måndag."
    );
    assert_eq!(
        written("haltar inte komma rör sig obehindrat punkt röker inte komma dricker sällan punkt"),
        "Haltar inte, rör sig obehindrat. Röker inte, dricker sällan."
    );
    assert_eq!(
        written("ömmar på en punkt över tibia punkt"),
        "Ömmar på en punkt över tibia."
    );
    // Before a dictated heading ("… kolon") the same "en punkt" ends the sentence.
    assert_eq!(
        written("ömmar på en punkt status kolon ua punkt"),
        "Ömmar på en.\nStatus\nUa."
    );
    // So does a next sentence: "en punkt" is a noun phrase only after a preposition or
    // before words that carry it on.
    assert_eq!(
        written("besvär med blåsa eller tar en punkt har tagit Ipren punkt"),
        "Besvär med blåsa eller tar en. Har tagit Ipren."
    );
    assert_eq!(
        written("sover en punkt hon vaknar tidigt punkt"),
        "Sover en. Hon vaknar tidigt."
    );
    assert_eq!(
        written("i en punkt har hon ont punkt"),
        "I en punkt har hon ont."
    );
    assert_eq!(
        written("har en punkt som ömmar punkt"),
        "Har en punkt som ömmar."
    );
    assert_eq!(
        written("astma sedan barn dom en punkt senaste veckan hosta punkt"),
        "Astma sedan barn dom en. Senaste veckan hosta."
    );
    // Nobody dictates a comma right after a conjunction.
    assert_eq!(
        written("vila och komma i fas med sömnen punkt"),
        "Vila och komma i fas med sömnen."
    );
    // "-konom" sounds like a misheard "komma" but ends a word here.
    assert_eq!(
        written("arbetar som redovisningsekonom på kommunen punkt"),
        "Arbetar som redovisningsekonom på kommunen."
    );
    // "-kommen" ends a participle, not a glued "komma".
    assert_eq!(
        written("hej välkommen punkt ni är välkomna åter punkt remissen är inkommen punkt"),
        "Hej välkommen. Ni är välkomna åter. Remissen är inkommen."
    );
    // Without an article "i punkt" is a noun only before a number; otherwise the "i" ended
    // the sentence (the recognizer's "hyperton i" for hypertoni).
    assert_eq!(written("ömhet i punkt tre punkt"), "Ömhet i punkt tre.");
    assert_eq!(
        written("känd hyperton i punkt regelbundna läkemedel punkt"),
        "Känd hypertoni. Regelbundna läkemedel."
    );
}

#[test]
fn a_heading_with_its_colon_opens_a_section_after_a_garbled_sentence_end() {
    // The recognizer lost the "punkt" before the heading ("kontrollpnkt").
    assert_eq!(
        written("kontroll av blodtrycket travlpnkt status kolon blodtryck hundrafemtio över nittio punkt"),
        "Kontroll av blodtrycket travlpnkt\nStatus\nBlodtryck 150/90."
    );
    assert_eq!(
        written("kontroll av blodtrycket Status: blodtryck hundrafemtio över nittio punkt"),
        "Kontroll av blodtrycket\nStatus\nBlodtryck 150/90."
    );
    // "kolon" heard as "kolla" after a heading, itself misheard ("Kontaktorsa").
    assert_eq!(
        written("Kontaktorsa kikolla kontroll av blodtrycket punkt Bedömnning kolla välkontrollerad punkt"),
        "Kontaktorsak\nKontroll av blodtrycket.\nBedömning\nVälkontrollerad."
    );
    // … but "kolla" the verb stays.
    assert_eq!(
        written("vi ska kolla blodtrycket igen punkt"),
        "Vi ska kolla blodtrycket igen."
    );
    // A listed mishearing of a heading ("och järd" for Åtgärd) before a dictated colon.
    assert_eq!(
        written("vikt sextiosju kilo punkt och Tjärd kolon oförändrad dos punkt"),
        "Vikt 67 kg.\nÅtgärd\nOförändrad dos."
    );
    assert_eq!(
        written("tonsillit Järd kolon Kåvepenin i tio dagar punkt"),
        "Tonsillit\nÅtgärd\nKåvepenin i 10 dagar."
    );
    assert_eq!(
        written("vi pratade om trädgård och järn punkt"),
        "Vi pratade om trädgård och järn."
    );
    // A heading word in running speech, with no colon after it, stays a word.
    assert_eq!(
        written("oförändrat status sedan förra besöket punkt"),
        "Oförändrat status sedan förra besöket."
    );
    // Mid-sentence, a heading with a letter doubled before a "kolon" heard as "kolan", and a
    // heading heard by sound before a dictated colon.
    assert_eq!(
        written("puls sjuttio och tabunkt Bedömnning kolan välkontrollerad punkt"),
        "Puls 70 och tabunkt\nBedömning\nVälkontrollerad."
    );
    assert_eq!(
        written("blodtryckskontroll kontrakt kont Statis kolon puls sjuttio punkt"),
        "Blodtryckskontroll kontrakt kont\nStatus\nPuls 70."
    );
    // "kolon" heard as "koholom", after a listed mishearing of Bedömning.
    assert_eq!(
        written("puls sjuttio punkt Vedom en koholom välkontrollerad punkt"),
        "Puls 70.\nBedömning\nVälkontrollerad."
    );
    assert_eq!(
        written("puls sjuttio och tabunkt Vedda man kolon välkontrollerad punkt"),
        "Puls 70 och tabunkt\nBedömning\nVälkontrollerad."
    );
    // … but a word before a colon that is not like a heading stays text.
    assert_eq!(
        written("patienten säger kolon jag mår bra punkt"),
        "Patienten säger: jag mår bra."
    );
}

#[test]
fn deletion_commands_remove_the_last_sentence() {
    assert_eq!(
        written("mår bra punkt vikt nittio kilo punkt stryk det punkt BMI tjugonio punkt"),
        "Mår bra. BMI 29."
    );
    assert_eq!(
        written("mår bra punkt åt mycket stryk senaste meningen sover bra punkt"),
        "Mår bra. Sover bra."
    );
    // "stryk" as the recognizer spells it, before what it deletes; elsewhere a word.
    assert_eq!(
        written("mår bra punkt åt mycket punkt Strick senaste meningen punkt sover bra punkt"),
        "Mår bra. Sover bra."
    );
    assert_eq!(
        written("håller strikt diet punkt strecka under punkt"),
        "Håller strikt diet. Strecka under."
    );
}

#[test]
fn headings_from_rubrik_bare_words_and_next() {
    let v = vocab();
    let pieces = formatted(
        "rubrik psykstatus lugn punkt Bedömning kolon stabil punkt Bedömningen är oförändrad punkt nästa rubrik ok",
        &v,
    )
    .pieces;
    let headings: Vec<&Piece> = pieces
        .iter()
        .filter(|p| !matches!(p, Piece::Sentence(_)))
        .collect();
    assert_eq!(
        headings,
        vec![
            &Piece::Heading("Psykiskt status".into()),
            &Piece::Heading("Bedömning".into()),
            &Piece::NextHeading
        ]
    );
    assert!(pieces
        .iter()
        .any(|p| matches!(p, Piece::Sentence(s) if s.text == "Bedömningen är oförändrad.")));
}

#[test]
fn recognizer_noise_around_commands_is_cleaned() {
    assert_eq!(
        written(
            "Rubrik status, Kolon, Lugn. Punkt, Smärta punktrubrik bedömning kålon Stabil punkt."
        ),
        "Status\nLugn. Smärta.\nBedömning\nStabil."
    );
    // "punkt" clipped to "punk" before a "rubrik"; "punk" elsewhere is a word.
    assert_eq!(
        written("alkoholberoende punk Traberik psykstatus lugn punkt han gillar punk rock"),
        "Alkoholberoende.\nPsykiskt status\nLugn. Han gillar punk rock"
    );
    // A misheard "rubrik" before a heading glued to its first word of text.
    assert_eq!(
        written("Lugn punkt Trubririk psykstatusvaken och orienterad punkt"),
        "Lugn.\nPsykiskt status\nVaken och orienterad."
    );
    // A heading said alone at a sentence start with a short word glued to it; compounds
    // and inflections stay words.
    assert_eq!(
        written("Lugn punkt Åtgärdråd om fortsatt aktivitet punkt"),
        "Lugn.\nÅtgärd\nRåd om fortsatt aktivitet."
    );
    assert_eq!(
        written("Lugn punkt Åtgärdsplan upprättad punkt Bedömningen är oförändrad punkt"),
        "Lugn. Åtgärdsplan upprättad. Bedömningen är oförändrad."
    );
    // A heading word followed by its verb is the sentence's subject, not a spoken heading.
    assert_eq!(
        written("Lugn punkt Sjukskrivning behövs inte komma kan arbeta som vanligt punkt"),
        "Lugn. Sjukskrivning behövs inte, kan arbeta som vanligt."
    );
    // A heading's first syllable run into "rubrik": the rest names it.
    assert_eq!(
        written("Lugn punkt Trubrikskrivning 50 procent punkt"),
        "Lugn.\nSjukskrivning\n50 %."
    );
    // "rubrik" with a heading's first letters glued to it, its rest opening the next word.
    assert_eq!(
        written("Lugn punkt rubrikot Gärdbyter Pulmicort mot Symbicort punkt"),
        "Lugn.\nÅtgärd\nByter Pulmicort mot Symbicort."
    );
    assert_eq!(
        written("Alkoholproblem punkttrebrikan Amnesi dricker vin punkt"),
        "Alkoholproblem.\nAnamnes\nDricker vin."
    );
}

/// A unit the recognizer misspelled after a number is still the unit, when it sounds like
/// one unit only and starts alike; other words after numbers stay.
#[test]
fn misheard_units_after_numbers() {
    for (spoken, expected) in [
        (
            "höj amlodipin till tio miljgräm punkt",
            "Höj amlodipin till 10 mg.",
        ),
        ("vikt sjuttio kilogramm", "Vikt 70 kg"),
        ("Levaxin femtio mikrogramm", "Levaxin 50 mikrogram"),
        ("promenerar två kilometer", "Promenerar två kilometer"),
        ("fem miljoner", "Fem miljoner"),
        (
            "höjer till femtio mille gram på morgonen",
            "Höjer till 50 mg på morgonen",
        ),
        // The amount lost into the drug's name: the unit and the dosing are written, no
        // amount is made up.
        (
            "ena periltro miligrammet gånger rätt",
            "Ena periltro mg 1 x 1",
        ),
        ("visste inte milligrammet", "Visste inte milligrammet"),
        // The dosing's "ett" glued onto a misheard unit, and the number's last vowel run
        // into it.
        (
            "Losartan femtio millgrammet gånger ett",
            "Losartan 50 mg 1 x 1",
        ),
        (
            "Sertralin femtio omillgrannet gånger ett",
            "Sertralin 50 mg 1 x 1",
        ),
        ("sprang femtio meteret", "Sprang 50 meteret"),
    ] {
        assert_eq!(written(spoken), expected, "{spoken}");
    }
}

#[test]
fn spinal_levels_and_emergency_numbers() {
    assert_eq!(
        written("rotpåverkan l fem vänster komma diskbråck c sex punkt"),
        "Rotpåverkan L5 vänster, diskbråck C6."
    );
    assert_eq!(
        written("ring hit eller ett ett två punkt ring ett ett sju sju punkt"),
        "Ring hit eller 112. Ring 1177."
    );
    // Other digits said one by one stay words without a verb of calling.
    assert_eq!(written("ett två tre punkt"), "Ett två tre.");
}

#[test]
fn a_scale_written_with_its_number_word_hyphenated_is_the_abbreviation() {
    assert_eq!(
        written("I PHQ-nio fick du fjorton poäng punkt"),
        "I PHQ-9 fick du 14 poäng."
    );
    // A hyphenated word whose parts are no spoken form stays as it is.
    assert_eq!(written("en vit-två punkt"), "En vit-två.");
}

#[test]
fn large_numbers_are_grouped_in_threes() {
    assert_eq!(
        written("nästan fyrtiotusen kronor på tre veckor punkt"),
        "Nästan 40 000 kronor på 3 veckor."
    );
    assert_eq!(written("tvåtusenarton punkt"), "2018.");
    assert_eq!(
        written("ökat från trettio till sextio minuter punkt smärtan är tre av tio punkt"),
        "Ökat från 30 till 60 minuter. Smärtan är 3 av 10."
    );
}

#[test]
fn ambient_speech_keeps_command_words_as_words() {
    let vocab = vocab();
    let ambient = skriva_engine::journal::format_options(skriva_engine::journal::Mode::Ambient);
    let raw = "Du får vila och komma i fas, sedan ses vi. Temperaturen är trettioåtta komma fem. \
               Vi tar det punkt för punkt. Ny rad i journalen behövs inte.";
    let text = skriva_engine::text::format(raw, &vocab, ambient)
        .expect("format")
        .text();
    assert_eq!(
        text,
        "Du får vila och komma i fas, sedan ses vi. Temperaturen är 38,5. \
         Vi tar det punkt för punkt. Ny rad i journalen behövs inte."
    );
}

#[test]
fn values_after_a_written_label_and_range_ends_are_digits() {
    for (spoken, expected) in [
        // The label already written as its abbreviation, then a linking verb.
        ("crp är fyra punkt", "CRP är 4."),
        (
            "hb är hundratrettiotvå och crp under fem punkt",
            "Hb är 132 och CRP under 5.",
        ),
        // A range whose start is in digits ends in digits.
        (
            "sr har gått ner från femtiotvå till tolv punkt",
            "Sr har gått ner från 52 till 12.",
        ),
        // "en gång" after a scale is a count of times, not its value.
        (
            "fyller i shai en gång till punkt",
            "Fyller i SHAI en gång till.",
        ),
        ("pdss femton poäng punkt", "PDSS 15 poäng."),
        // "från" between a label and its value, and the range's end after it.
        (
            "och ferritinet från fem till nio punkt",
            "Och ferritinet från 5 till 9.",
        ),
        (
            "sänka tolv och hb hundratrettioåtta punkt",
            "Sänka 12 och Hb 138.",
        ),
        (
            "vi kan sänka till tre tabletter punkt",
            "Vi kan sänka till tre tabletter.",
        ),
        // A spoken form with a hyphen is the abbreviation with or without a value after it.
        (
            "bsl-tjugotre medelvärde ett komma nio punkt",
            "BSL-23 medelvärde 1,9.",
        ),
        (
            "prover på ferritin komma b-tolv och folat punkt",
            "Prover på ferritin, B12 och folat.",
        ),
        ("går i dbt punkt", "Går i DBT."),
        // Small counts in prose stay words.
        (
            "har tre barn och går till jobbet två dagar punkt",
            "Har tre barn och går till jobbet 2 dagar.",
        ),
    ] {
        assert_eq!(written(spoken), expected, "{spoken}");
    }
}

#[test]
fn numbers_units_and_measurements() {
    for (spoken, expected) in [
        ("tjugofyraårig kvinna", "24-årig kvinna"),
        // The age in digits, "-årig" a word of its own, misheard or glued to the person.
        ("25 årig kvinna", "25-årig kvinna"),
        ("tjugofem årig kvinna", "25-årig kvinna"),
        ("28 Arigman med astma", "28-årig man med astma"),
        ("57 rikvinna", "57-årig kvinna"),
        // A short misheard "-årig" only before the person; "-årige" without an article.
        ("28 dagrig man med astma", "28-årig man med astma"),
        ("har 3 farig gånger", "Har 3 farig gånger"),
        (
            "23-årige kvinna som skadade foten",
            "23-årig kvinna som skadade foten",
        ),
        ("den 23-årige mannen", "Den 23-årige mannen"),
        ("två original och 3 rika", "Två original och 3 rika"),
        ("sedan 2 årig", "Sedan 2-årig"),
        // Split after the tens.
        ("tretio tvårig kvinna", "32-årig kvinna"),
        ("30 treåriga", "33-åriga"),
        // Single "t" in the tens, "otta" for "åtta" after them; "otta" alone is a word.
        (
            "minskat från femtio fyra till tretio otta",
            "Minskat från 54 till 38",
        ),
        ("puls sjutio två", "Puls 72"),
        // Tens in digits, the rest a word; "åta" for "åtta" after tens.
        ("puls 70 fyra", "Puls 74"),
        ("AUDIT tjugo åta", "AUDIT 28"),
        ("har 20 en gång", "Har 20 en gång"),
        // "poäng" heard as "på en" where the clause ends.
        ("AUDIT tjugoåtta på en punkt", "AUDIT 28 poäng."),
        (
            "GAD sju tolv på en jämfört med sjutton",
            "GAD-7 12 poäng jämfört med 17",
        ),
        ("tar tre på en gång", "Tar tre på en gång"),
        ("PCL fem femtiotvå poäng", "PCL-5 52 poäng"),
        // A label of three capitals or more spells no word: its case is the note's anywhere.
        (
            "tsh från förra veckan var normalt",
            "TSH från förra veckan var normalt",
        ),
        ("han sat ner", "Han sat ner"),
        // A measurement's value after a comparison; phone numbers; a disease's type.
        ("CRP var under fem", "CRP var under 5"),
        (
            "CRP från fingret är under åtta",
            "CRP från fingret är under 8",
        ),
        ("Hb runt hundratjugo", "Hb runt 120"),
        (
            "troponin var under fem nanogram per liter",
            "Troponin var under 5 ng/l",
        ),
        ("ring ett ett två direkt", "Ring 112 direkt"),
        ("ring elva sjuttiosju", "Ring 1177"),
        ("ring mig om tre dagar", "Ring mig om 3 dagar"),
        ("har typ två-diabetes", "Har typ 2-diabetes"),
        (
            "drick minst två liter om dagen",
            "Drick minst 2 liter om dagen",
        ),
        ("dricker en liter om dagen", "Dricker en liter om dagen"),
        ("CRB-65 ger en poäng", "CRB-65 ger 1 poäng"),
        ("sover tio, elva timmar", "Sover 10, 11 timmar"),
        (
            "gått ner i vikt under en månad",
            "Gått ner i vikt under en månad",
        ),
        ("Hb var en gång lågt", "Hb var en gång lågt"),
        ("bipolär sjukdom typ ett som", "Bipolär sjukdom typ 1 som"),
        ("drick högst en och en halv liter", "Drick högst 1,5 liter"),
        ("LSAS sextiofyra poäng", "LSAS 64 poäng"),
        ("vaknar i otta", "Vaknar i otta"),
        ("blodtryck hundrafemtio över nittiofyra", "Blodtryck 150/94"),
        // "över" misheard, after a blood pressure label only.
        ("blodtricks 150 övena nittio fyra", "Blodtricks 150/94"),
        ("150 övena nittio fyra", "150 övena 94"),
        // A tens word misspelled alone: one letter off, or two before a unit word.
        ("puls sjuttej åtta", "Puls 78"),
        ("vikt fyrtiot kilo", "Vikt 40 kg"),
        ("sektion åtta", "Sektion åtta"),
        ("temp trettioåtta komma fem", "Temp 38,5"),
        ("saturation nittiosex procent", "Saturation 96 %"),
        (
            "Sertralin sjuttiofem milligram ett gånger ett",
            "Sertralin 75 mg 1 x 1",
        ),
        ("Levaxin etthundra mikrogram", "Levaxin 100 mikrogram"),
        // The dose's "ett" glued to the unit, and "ett" after "gånger" heard as "rätt".
        (
            "Trombyl sjuttiofem miligrammet gånger rätt",
            "Trombyl 75 mg 1 x 1",
        ),
        (
            "Naproxen 500 milligrammet gånger två",
            "Naproxen 500 mg 1 x 2",
        ),
        ("det var tre gånger rätt", "Det var 3 gånger rätt"),
        // A dosing right after the dose's unit, its count unheard: written as said.
        ("Metformin 500 mg gånger två", "Metformin 500 mg x 2"),
        ("Ipren 400 Milgram gånger tre", "Ipren 400 mg x 3"),
        (
            "Sertralin 25 mg gångeret i en vecka",
            "Sertralin 25 mg x 1 i en vecka",
        ),
        ("tar sertralin 100 mg gång rött", "Tar sertralin 100 mg x 1"),
        (
            "Sertralin 50 millig rammet gånger ett",
            "Sertralin 50 mg 1 x 1",
        ),
        (
            "Sertralin 50 omilligrannet gånger ett",
            "Sertralin 50 mg 1 x 1",
        ),
        ("vikt 80 kilo gånger två", "Vikt 80 kg gånger två"),
        (
            "tagit 50 mg gånger flera dagar",
            "Tagit 50 mg gånger flera dagar",
        ),
        ("vaknar 5 gånger rätt ofta", "Vaknar 5 gånger rätt ofta"),
        ("tvåhundrafemtio milligram", "250 mg"),
        ("två hundra femtio milligram", "250 mg"),
        // Durations in digits, but "en"/"ett" is an article; other small counts stay words.
        ("i tre dagar", "I 3 dagar"),
        ("en vecka", "En vecka"),
        ("tre barn och två katter", "Tre barn och två katter"),
        ("sedan fjorton dagar", "Sedan 14 dagar"),
        ("den tolfte mars", "Den 12 mars"),
        ("sedan tjugotjugofem", "Sedan 2025"),
        ("född nittonhundraåttiofem", "Född 1985"),
        (
            "ställd diagnos J noll tre punkt noll",
            "Ställd diagnos J03.0",
        ),
        ("F nittio punkt noll B", "F90.0B"),
        ("temp 38.5", "Temp 38,5"),
        ("Sat nittiofyra", "Sat 94"),
        ("hon sat ner", "Hon sat ner"),
        ("crp fyrtio", "CRP 40"),
        ("se er pe fyrtio", "CRP 40"),
        ("PHQ nio tolv poäng", "PHQ-9 12 poäng"),
        (
            "personnummer nitton åttiofem noll tre tolv ett två tre fyra",
            "Personnummer 19850312-1234",
        ),
        ("vid femtiden", "Vid femtiden"),
    ] {
        assert_eq!(written(spoken), expected, "{spoken}");
    }
}

/// An ICD-10 code spelled after a code keyword, its letter heard as the letter's name: the
/// vocabulary's codes pick the letter, and the code is marked as a correction.
#[test]
fn codes_with_a_misheard_letter_name() {
    let vocab = vocab();
    for (spoken, expected, original) in [
        (
            "tonsillit rena skåd i 0,3 punkten 0 punkt",
            "Tonsillit rena skåd J03.0.",
            "i 0,3 punkten 0",
        ),
        (
            "lumbago diagnoskod en 54.5",
            "Lumbago diagnoskod M54.5",
            "en 54.5",
        ),
        (
            "depression diagnoskod eff trettiotvå punkt ett",
            "Depression diagnoskod F32.1",
            "eff trettiotvå punkt ett",
        ),
    ] {
        let note = formatted(spoken, &vocab);
        assert_eq!(note.text(), expected, "{spoken}");
        let codes: Vec<(&str, &str)> = note
            .corrections
            .iter()
            .map(|c| (c.original.as_str(), c.replacement.as_str()))
            .collect();
        assert_eq!(codes.len(), 1, "{spoken}: {codes:?}");
        assert_eq!(codes[0].0, original, "{spoken}");
    }
    // The code names the diagnosis said before it, however misheard; a name already there,
    // or a word known otherwise, stays.
    let note = formatted("Lundba god innan skåd en 54.5 punkt", &vocab);
    assert_eq!(note.text(), "Lumbago god innan skåd M54.5.");
    assert!(note.corrections.iter().any(|c| c.original == "Lundba"));
    for spoken in [
        "lumbago diagnoskod M femtiofyra punkt fem",
        "ryggskott diagnoskod M femtiofyra punkt fem",
        "ont i ryggen punkt Lundba punkt diagnoskod M femtiofyra punkt fem",
    ] {
        let note = formatted(spoken, &vocab);
        assert!(
            note.corrections.is_empty(),
            "{spoken}: {:?}",
            note.corrections
        );
    }
    // No keyword, a code the vocabulary lacks, or too few digits: the words stay.
    for spoken in [
        "tonsillit i 0,3 punkten 0",
        "diagnos en 99.9",
        "diagnos i tre dagar",
        "med god i 30 år",
    ] {
        let note = formatted(spoken, &vocab);
        assert!(
            note.corrections.is_empty(),
            "{spoken}: {:?}",
            note.corrections
        );
    }
    let off = FormatOptions {
        correct_terms: false,
        ..FormatOptions::default()
    };
    let raw = "tonsillit rena skåd i 0,3 punkten 0";
    assert!(!format(raw, &vocab, off)
        .expect("format")
        .text()
        .contains("J03.0"));
}

/// Abbreviations misheard: letter names run into one word, or a measurement abbreviation one
/// letter off before its value; and a drug heard as letter names. Marked as corrections;
/// words of their own and abbreviations that were said stay.
#[test]
fn misheard_abbreviations() {
    let vocab = vocab();
    for (spoken, expected) in [
        ("remiss till kobiet punkt", "Remiss till KBT."),
        ("tempo trettioåtta komma fem", "Temp 38,5"),
        ("Mads tjugosex poäng", "MADRS 26 poäng"),
        // Two letter names are enough before a value; voiced and unvoiced consonants alike.
        ("hobby hundratjugoåtta", "Hb 128"),
        ("serbe trettiotvå", "CRP 32"),
        ("bety hundrafyrtio över nittio", "BT 140/90"),
        ("nytt HB1C om tre månader", "Nytt HbA1c om 3 månader"),
    ] {
        let note = formatted(spoken, &vocab);
        assert_eq!(note.text(), expected, "{spoken}");
        assert!(
            note.corrections.len() == 1
                && note.corrections[0].source == CorrectionSource::Abbreviation,
            "{spoken}: {:?}",
            note.corrections
        );
    }
    // "AT" heard as words where a status opens with the general condition, and only there.
    let note = formatted("rubrik status att det påverkat komma vaken punkt", &vocab);
    assert_eq!(note.text(), "Status\nAT påverkat, vaken.");
    assert_eq!(note.corrections[0].original, "att det");
    let note = formatted("rubrik aktuellt att det påverkat henne punkt", &vocab);
    assert!(note.corrections.is_empty(), "{:?}", note.corrections);
    // A long diagnosis written as words, the first an everyday one, the last a shorter name
    // of the same diagnosis.
    let note = formatted("För max flimmer med stabil antikoagulation", &vocab);
    assert_eq!(note.text(), "Förmaksflimmer med stabil antikoagulation");
    for spoken in [
        "för kyld sedan en vecka",
        "och regelbunden puls",
        "spelar golf som hobby punkt",
    ] {
        assert!(formatted(spoken, &vocab).corrections.is_empty(), "{spoken}");
    }
    // An everyday word glued to a long diagnosis that runs into the next word.
    let note = formatted("kvinna medförmaks flimer som behandlas", &vocab);
    assert_eq!(note.text(), "Kvinna med förmaksflimmer som behandlas");
    assert_eq!(note.corrections[0].original, "medförmaks flimer");
    assert!(formatted("hon är medförmaks sjuksköterska", &vocab)
        .corrections
        .is_empty());
    // A measurement label in capitals glued to its value.
    assert_eq!(formatted("PF300 l/min", &vocab).text(), "PEF 300 l/min");
    // A drug's syllables written as capitals, read aloud as letter names.
    for spoken in ["Åtgärd kolon KVP-9 i tio dagar punkt", "KVPning ett gram"] {
        let note = formatted(spoken, &vocab);
        assert!(
            note.text().contains("Kåvepenin"),
            "{spoken}: {}",
            note.text()
        );
        assert_eq!(note.corrections.len(), 1, "{spoken}");
        assert_eq!(note.corrections[0].source, CorrectionSource::Drug);
    }
    for spoken in [
        "remiss till BVC",
        "EKG visar sinusrytm",
        "ett lugnt tempo",
        "puls sjuttio",
        "han pratar kobolt",
        "Mads mamma",
        // Letter names are heard from the first: these open with other sounds than IPSS
        // ("i pe ess ess") and PHQ-9 ("pe hå ku nio").
        "utan tecken på abse sex",
        "leukocyter elva vakona fyra",
    ] {
        let note = formatted(spoken, &vocab);
        assert!(
            note.corrections.is_empty(),
            "{spoken}: {:?}",
            note.corrections
        );
    }
}

#[test]
fn times_of_day_in_swedish_style() {
    for (spoken, expected) in [
        ("klockan åtta", "Kl. 08.00"),
        ("klockan halv nio", "Kl. 08.30"),
        // Without "klockan" the time stays as said: digits would pick morning or evening
        // ("somnar halv ett" is 00.30, not 12.30).
        (
            "vaknar halv fem varje morgon",
            "Vaknar halv fem varje morgon",
        ),
        (
            "tar tabletten kvart över tre",
            "Tar tabletten kvart över tre",
        ),
        ("läggning halv nio", "Läggning halv nio"),
        ("somnar halv ett", "Somnar halv ett"),
        ("klockan kvart i tolv", "Kl. 11.45"),
        ("klockan fem i halv nio", "Kl. 08.25"),
        ("klockan tio över halv nio", "Kl. 08.40"),
        ("klockan tjugo över åtta", "Kl. 08.20"),
        ("klockan fem i nio", "Kl. 08.55"),
        ("klockan fjorton trettio", "Kl. 14.30"),
        ("klockan åtta noll fem", "Kl. 08.05"),
        ("klockan åtta och trettio", "Kl. 08.30"),
        ("klockan åtta och sedan", "Kl. 08.00 och sedan"),
        ("klockan 8.30", "Kl. 08.30"),
        ("klockan tio i morse", "Kl. 10.00 i morse"),
        ("klockan åtta tre dagar i rad", "Kl. 08.00 3 dagar i rad"),
        // Not times.
        ("en halv tablett", "En halv tablett"),
        ("en kvart i taget", "En kvart i taget"),
        ("fem över gränsen", "Fem över gränsen"),
    ] {
        assert_eq!(written(spoken), expected, "{spoken}");
    }
}

#[test]
fn dates_in_swedish_style() {
    for (spoken, expected) in [
        ("tjugoförsta november", "21 november"),
        (
            "den tjugoförsta november tjugotjugofem",
            "Den 21 november 2025",
        ),
        ("den tredje i tolfte", "Den 3/12"),
        ("återbesök den trettioförsta i första", "Återbesök den 31/1"),
        ("sedan den tjugoett mars", "Sedan den 21 mars"),
        // Not dates.
        ("tre i fem svarar ja", "Tre i fem svarar ja"),
        ("en mars månad", "En mars månad"),
        ("den tredje i ordningen", "Den tredje i ordningen"),
    ] {
        assert_eq!(written(spoken), expected, "{spoken}");
    }
}

#[test]
fn misheard_drug_names_are_corrected_and_recorded() {
    let v = vocab();
    let raw = "tar Atarrax tjugofem milligram till natten punkt";
    let formatted = formatted(raw, &v);
    assert_eq!(formatted.text(), "Tar Atarax 25 mg till natten.");
    let correction = &formatted.corrections[0];
    assert_eq!(
        (
            correction.original.as_str(),
            correction.replacement.as_str()
        ),
        ("Atarrax", "Atarax")
    );
    let original: String = raw
        .chars()
        .skip(correction.start_char)
        .take(correction.end_char - correction.start_char)
        .collect();
    assert_eq!(original, "Atarrax");
}

/// A low-confidence word that only one diagnosis sounds like is corrected to it ("hypatoni",
/// as the recognizer wrote "hypertoni" in a dictation clip); the same word heard with high
/// confidence is left alone.
#[test]
fn an_unambiguous_misheard_diagnosis_is_corrected_when_unsure() {
    let word = |t: &str, p: f32| SpokenWord {
        text: t.into(),
        start: 0.0,
        end: 0.0,
        p,
    };
    let heard = |p: f32| {
        let words = [
            word(" otillräckligt", 0.9),
            word(" behandlad", 0.9),
            word(" hypatoni", p),
            word(" punkt", 0.9),
        ];
        match format_words(&words, &vocab(), FormatOptions::default()) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    };
    let unsure = heard(0.41);
    assert_eq!(unsure.text(), "Otillräckligt behandlad hypertoni.");
    assert_eq!(unsure.corrections[0].original, "hypatoni");
    let sure = heard(0.95);
    assert!(sure.corrections.is_empty(), "{:?}", sure.corrections);
}

/// Whisper splits an unknown name into pieces, hyphenates it, or joins it to the word before;
/// each is corrected to the one term it sounds like, and a term already said in its own
/// words is left as it is (no correction recorded).
#[test]
fn split_hyphenated_and_joined_terms_are_corrected() {
    let v = vocab();
    let split = formatted("preder ni solont trettio milligram i fem dagar punkt", &v);
    assert_eq!(split.text(), "Prednisolon 30 mg i 5 dagar.");
    assert_eq!(split.corrections.len(), 1);
    assert_eq!(split.corrections[0].original, "preder ni solont");
    let raw = "remiss till KBT komma AT-rax tjugofem milligram till natten punkt";
    let hyphenated = formatted(raw, &v);
    assert_eq!(
        hyphenated.text(),
        "Remiss till KBT, Atarax 25 mg till natten."
    );
    let joined = formatted("kändastma komma förkyld sedan en vecka punkt", &v);
    assert_eq!(joined.text(), "Känd astma, förkyld sedan en vecka.");
    assert_eq!(joined.corrections[0].original, "kändastma");
    let compound = formatted("telefon uppföljning om fyra veckor punkt", &v);
    assert_eq!(compound.text(), "Telefonuppföljning om 4 veckor.");
    let spelled = formatted("bedömning kolon generaliserat ångestsyndrom punkt", &v);
    assert!(spelled.corrections.is_empty(), "{:?}", spelled.corrections);
    // A short drug name split at an everyday word, spelled exactly beside a verb of taking.
    let short = formatted("har tagit i pren med viss effekt punkt", &v);
    assert_eq!(short.text(), "Har tagit Ipren med viss effekt.");
    assert_eq!(short.corrections[0].original, "i pren");
    // Without one, the same pieces are words.
    let plain = formatted("bor i pren en vecka punkt", &v);
    assert!(plain.corrections.is_empty(), "{:?}", plain.corrections);
    // Pieces that sound like no term stay as they were.
    let other = formatted("lyfte en tung låda i förrgår punkt", &v);
    assert!(other.corrections.is_empty(), "{:?}", other.corrections);
}

/// Words of clinical prose the recognizer misspelled are corrected to the vocabulary's
/// spelling; other forms of the same word, and words said as words, are left alone.
#[test]
fn misspelled_clinical_words_are_corrected_but_their_other_forms_stay() {
    let v = vocab();
    let status = formatted(
        "Halzont punkt belegningar på tonsilerna punkt Bloodtrick hundrafemtio över nittio punkt",
        &v,
    );
    assert_eq!(
        status.text(),
        "Halsont. Beläggningar på tonsillerna. Blodtryck 150/90."
    );
    assert!(status
        .corrections
        .iter()
        .all(|c| c.source == CorrectionSource::ClinicalWord));
    // Whisper's capital on a word it did not know is not kept mid-sentence.
    assert_eq!(
        formatted("låg akut Zoicidrisk punkt", &v).text(),
        "Låg akut suicidrisk."
    );
    // A word one letter off a heading's alias is prose the recognizer misspelled, not a
    // heading, when it is not where a heading is said.
    let allergies = formatted("tidigare frisk punkt inga kända allerier punkt", &v);
    assert_eq!(allergies.text(), "Tidigare frisk. Inga kända allergier.");
    assert_eq!(allergies.corrections.len(), 1);
    for raw in [
        "knät är svullnat och ömt punkt",
        "laterala malleolen öm punkt",
        "hjärtljud och regelbunden rytm punkt",
        "pratar lugnt och sammanhängande punkt",
        "hon har simning två gånger i veckan punkt",
        "otillräcklig effekt punkt",
    ] {
        let kept = formatted(raw, &v);
        assert!(kept.corrections.is_empty(), "{raw}: {:?}", kept.corrections);
    }
}

#[test]
fn common_words_are_never_turned_into_terms() {
    let v = vocab();
    // A drug name in its definite form is the drug as said, not a misspelling of it.
    let raw = "patienten berättar att hon mår bättre och sover gott men har ont i magen och orkar inte arbeta heltid punkt mamma och pappa lever punkt hon tränar simning och läser mycket punkt finns det psykisk sjukdom i familjen frågetecken troligen ett virus punkt vi minskar furosemiden och sertralinet har hjälpt punkt bokar test samt en intervju punkt den sociala fobin har förbättrats punkt håll isbitar i stället punkt orkar inte läsa punkt men du har kvar en del kontrollbeteenden punkt har tappat aptiten punkt tar quetiapin till natten punkt hon varan väl på DBT med mindre utbrott punkt jag är pollenallergiker punkt gör ett uppehåll med atorvastatinet i fyra veckor punkt";
    let formatted = formatted(raw, &v);
    assert!(
        formatted.corrections.is_empty(),
        "{:?}",
        formatted.corrections
    );
}

#[test]
fn words_with_probabilities_are_formatted() {
    let word = |t: &str, p: f32| SpokenWord {
        text: t.into(),
        start: 0.0,
        end: 0.0,
        p,
    };
    let words = [
        word(" tar", 0.95),
        word(" Sertralinn", 0.4),
        word(" femtio", 0.9),
        word(" milligram", 0.9),
        word(" punkt", 0.9),
    ];
    let formatted = match format_words(&words, &vocab(), FormatOptions::default()) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(formatted.text(), "Tar Sertralin 50 mg.");
    let c = &formatted.corrections[0];
    let text = words_text(&words);
    let original: String = text
        .chars()
        .skip(c.start_char)
        .take(c.end_char - c.start_char)
        .collect();
    assert_eq!(original, "Sertralinn");

    // What follows a dosing is when or how long, not another drug, however unsure the
    // recognizer was ("jannvika" was "i en vecka", not Januvia).
    let words: Vec<SpokenWord> = "insätter sertralin tjugofem milligram gångeret jannvika och därefter femtio milligram gångeret punkt"
        .split(' ')
        .map(|w| word(&format!(" {w}"), if w == "jannvika" { 0.2 } else { 0.9 }))
        .collect();
    let formatted = match format_words(&words, &vocab(), FormatOptions::default()) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    assert!(
        formatted.corrections.is_empty(),
        "{}: {:?}",
        formatted.text(),
        formatted.corrections
    );
}

#[test]
fn initial_prompt_fits_and_names_headings_and_terms() {
    let v = vocab();
    for template in v.templates() {
        let prompt = initial_prompt(template, &v);
        assert!(
            prompt.chars().count() <= PROMPT_MAX_CHARS,
            "{}: {}",
            template.id,
            prompt.chars().count()
        );
        // Every heading, in dictation style: Whisper writes what it hears the way the prompt
        // does, so "Åtgärd kolon" comes out as such and not as "och järd, kålon".
        for heading in &template.headings {
            assert!(prompt.contains(heading.as_str()), "{heading}: {prompt}");
        }
        assert!(
            prompt.contains(" kolon ") && prompt.contains(" punkt"),
            "{prompt}"
        );
        assert!(
            prompt.contains("mg") || prompt.contains("Läkemedel"),
            "{prompt}"
        );
    }
    let psychiatry = initial_prompt(
        match v.template("psykiatri-aterbesok") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        },
        &v,
    );
    assert!(
        psychiatry.contains("sertralin") || psychiatry.contains("Zoloft"),
        "{psychiatry}"
    );
}

#[test]
fn recognizer_spellings_of_commands_headings_and_numbers() {
    // Misheard commands, commands glued to words, the recognizer's comma between a heading
    // and "kolon", headings heard by sound before "kolon", and misspelled number words, as
    // Whisper base writes synthetic Swedish dictation.
    assert_eq!(
        written(
            "Kompaktorsak, kolon, halsont punkt. Status, kolon, feber trettioota komma fem punkt."
        ),
        "Kontaktorsak\nHalsont.\nStatus\nFeber 38,5."
    );
    assert_eq!(
        written("Statuskulam, blodtryck hundred femtio över nittiofeira komma puls sjuttiotta punkt Bedömnning kolam, hypertonipunkt"),
        "Status\nBlodtryck 150/94, puls 78.\nBedömning\nHypertoni."
    );
    assert_eq!(
        written(
            "Anna-Mnes, kolon, tidigare frisk kom ingen feber punkt. Och järd kolon, vila punkt"
        ),
        "Anamnes\nTidigare frisk, ingen feber.\nÅtgärd\nVila."
    );
    // Real words that end like a command, and the verb "kom", stay.
    assert_eq!(
        written("vid den tidpunkten kom hon in punkt"),
        "Vid den tidpunkten kom hon in."
    );
}

/// Commands and headings the recognizer glued onto the next word, as Whisper base writes
/// long synthetic dictations: "punkt" before a word, "rubrik" before its heading, a heading
/// before its first word of text, "punkt" inside a word before a heading.
#[test]
fn commands_glued_onto_the_next_word_are_cut_off() {
    assert_eq!(
        written("Rubrikeaktuellt mår bra punktingar bröstsmärtor punkt Rubriksstatus puls sjuttiotvå punkt"),
        "Aktuellt\nMår bra. Ingar bröstsmärtor.\nStatus\nPuls 72."
    );
    assert_eq!(
        written(
            "rubrik, kontaktorsakremis från vårdcentralen punktrabriksbedömning depression punkt"
        ),
        "Kontaktorsak\nRemiss från vårdcentralen.\nBedömning\nDepression."
    );
    assert_eq!(
        written("Rebrika läkemedel kolon Sertralin punkt rubrik psykisk statusvaken och orienterad punkt"),
        "Läkemedel\nSertralin.\nPsykiskt status\nVaken och orienterad."
    );
    assert_eq!(
        written("vid behov punkt dribrikplanering kolon åter om två veckor punkt Trorbrik åtgärd naproxen punkt"),
        "Vid behov.\nPlanering\nÅter om 2 veckor.\nÅtgärd\nNaproxen."
    );
    assert_eq!(
        written("fyra av fyra centorkriterierpunktåtgärd kolon vila punkt"),
        "Fyra av fyra centorkriterier.\nÅtgärd\nVila."
    );
    // A heading spelled with a letter doubled opens its section bare, as the exact word does.
    assert_eq!(
        written("går med viss svårighet punkt Bedömnning lumbago utan nervpåverkan punkt"),
        "Går med viss svårighet.\nBedömning\nLumbago utan nervpåverkan."
    );
    // After "rubrik", a heading inflected or split in two by the recognizer is still the
    // heading, and a "punkt" glued between the end of the last word and "rubrik" is cut out.
    assert_eq!(
        written("tjugo opunktraberik bedömninges hypertoni punkt rubrik åtgärderna enalapril punkt rubrik planer inne kontroll om fyra veckor punkt"),
        "20 o.\nBedömning\nHypertoni.\nÅtgärd\nEnalapril.\nPlanering\nKontroll om 4 veckor."
    );
    // "rubrik" with its first syllable lost or heard as a word of its own, before a heading
    // glued on; a long heading's start after "rubrik" is the heading.
    assert_eq!(
        written("Rubriker kontaktor svullen stortå punkt tre brikbedömning gikt punkt Trollabrikplanering återbesök punkt"),
        "Kontaktorsak\nSvullen stortå. Tre\nBedömning\nGikt.\nPlanering\nÅterbesök."
    );
    assert_eq!(
        written("Brick kontaktor 6-villnad stortå punkt"),
        "Kontaktorsak\n6-villnad stortå."
    );
    // Not after "rubrik", an inflected heading word is text.
    assert_eq!(written("åtgärderna hjälpte punkt"), "Åtgärderna hjälpte.");
    // A heading whose start the recognizer garbled, before the clinician's colon.
    assert_eq!(
        written("rubrik så vi sitt riskbedömnning kolon inga dödstankar punkt"),
        "Suicidriskbedömning\nInga dödstankar."
    );
    // An "h" heard before a heading's first vowel; a word that only starts like one is text.
    assert_eq!(
        written("generaliserat ångestsyndrom punkt Håttgärd kolon remiss till KBT punkt"),
        "Generaliserat ångestsyndrom.\nÅtgärd\nRemiss till KBT."
    );
    assert_eq!(
        written("Huvudvärk kolon sedan i går punkt"),
        "Huvudvärk: sedan i går."
    );
    // Words that begin or end like a command stay whole.
    assert_eq!(
        written("lumbalpunktion planeras punkt punktlig ankomst punkt rubrikerna ändras inte punkt vid tidpunkten kom hon punkt"),
        "Lumbalpunktion planeras. Punktlig ankomst. Rubrikerna ändras inte. Vid tidpunkten kom hon."
    );
    assert_eq!(
        written("han fick bråk hemma punkt bruket planeras punkt"),
        "Han fick bråk hemma. Bruket planeras."
    );
    // After "rubrik", words that name no known heading are a clinic's own heading only when
    // the clinician ends them with a colon or full stop.
    assert_eq!(
        written("rubrik hjärtstatus kolon regelbunden rytm punkt"),
        "Hjärtstatus\nRegelbunden rytm."
    );
    assert_eq!(
        written("rubrik hjärtstatus regelbunden rytm komma inga blåsljud punkt"),
        "Hjärtstatus regelbunden rytm, inga blåsljud."
    );
    // ... and only with words under it: otherwise the words are text after a heading the
    // recognizer garbled, which must not be lost.
    assert_eq!(
        written("Status kolon ua punkt rubrik järdbyter Pulmicort punkt rubrik planering kolon åter om en vecka punkt"),
        "Status\nUa. Järdbyter Pulmicort.\nPlanering\nÅter om en vecka."
    );
    assert_eq!(
        written("punkt rubrik byter Pulmicort mot Symbicort punkt"),
        "Byter Pulmicort mot Symbicort."
    );
}

/// A dictation said without punctuation commands comes back from the recognizer unpunctuated,
/// its sentences shown only by capitals: they become sentences. Names and drug names keep
/// their capitals inside a sentence, and dictated punctuation is trusted as it is.
#[test]
fn unpunctuated_dictation_is_split_at_the_recognizers_capitals() {
    assert_eq!(
        written(
            "femtioårig man som söker för yrsel sedan en vecka Yrseln är värst när han vänder sig \
             i sängen Ingen hörselnedsättning eller tinnitus Tidigare frisk Puls sjuttio \
             nystagmus vid Dix Hallpike åt höger tar Alvedon vid behov"
        ),
        "50-årig man som söker för yrsel sedan en vecka. Yrseln är värst när han vänder sig i \
         sängen. Ingen hörselnedsättning eller tinnitus. Tidigare frisk. Puls 70 nystagmus vid \
         Dix Hallpike åt höger tar Alvedon vid behov"
    );
    let dictated = "mår bra punkt träffade Anna i går och Pelle i dag och de sa att Bosse mår \
                    bra punkt vi ses om en vecka punkt tar Alvedon punkt";
    assert_eq!(
        written(dictated),
        "Mår bra. Träffade Anna i går och Pelle i dag och de sa att Bosse mår bra. Vi ses om en \
         vecka. Tar Alvedon."
    );
}

/// A compound whisper wrote in pieces is joined when the pieces, written together, are
/// exactly a vocabulary term, and the join is recorded; a function word is never joined on.
#[test]
fn compounds_written_in_pieces_are_joined_exactly() {
    let v = vocab();
    let out = formatted(
        "åter besök om fyra veckor punkt mår bra och regelbunden puls punkt",
        &v,
    );
    let text: Vec<String> = out
        .pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Sentence(s) => Some(s.text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        text,
        vec!["Återbesök om 4 veckor.", "Mår bra och regelbunden puls."]
    );
    assert_eq!(out.corrections.len(), 1, "{:?}", out.corrections);
    assert_eq!(out.corrections[0].original, "åter besök");
    assert_eq!(out.corrections[0].replacement, "återbesök");
}

/// Whisper splits a drug name it does not know at an everyday word that sounds like its start
/// ("När proxen" for Naproxen). Joined only next to a dose, so the everyday word stays a word
/// everywhere else, also as the last word of a dictation.
#[test]
fn a_drug_name_split_at_an_everyday_word_is_joined_next_to_a_dose() {
    let v = vocab();
    let out = formatted("När proxen femhundra milligram ett gånger två punkt", &v);
    let Some(Piece::Sentence(sentence)) = out.pieces.first() else {
        panic!("a sentence: {:?}", out.pieces);
    };
    assert_eq!(sentence.text, "Naproxen 500 mg 1 x 2.");
    assert_eq!(out.corrections.len(), 1, "{:?}", out.corrections);
    assert_eq!(out.corrections[0].original, "När proxen");
    assert_eq!(
        written("hon säger att när proxen kom hem punkt"),
        "Hon säger att när proxen kom hem."
    );
    assert_eq!(
        written("ont i magen punkt sedan när"),
        "Ont i magen. Sedan när"
    );
    // A short piece that is also a word or an abbreviation ("sin") may end the name.
    assert_eq!(
        written("tar levak sin hundra mikrogram ett gånger ett punkt"),
        "Tar Levaxin 100 mikrogram 1 x 1."
    );
    assert_eq!(written("levak sin bror punkt"), "Levak sin bror.");
}
