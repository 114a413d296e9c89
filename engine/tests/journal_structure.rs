//! Structuring into a note: metadata, sections in template order, spans, suggested codes,
//! JSON shape, and the "nothing invented" guarantees.

use skriva_engine::journal::{structure, Mode, Note, SpanKind};
use skriva_vocab::Vocabulary;

fn note(raw: &str, mode: Mode, template: &str) -> Note {
    let vocab = match Vocabulary::builtin() {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let template = match vocab.template(template) {
        Ok(t) => t.clone(),
        Err(e) => panic!("{e}"),
    };
    match structure(raw, mode, &template, &vocab) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    }
}

/// Each section's heading and text, in order.
fn placed(n: &Note) -> Vec<(&str, &str)> {
    n.sections
        .iter()
        .map(|s| (s.heading.as_str(), s.text.as_str()))
        .collect()
}

#[test]
fn dictation_with_patient_line_and_headings() {
    let n = note(
        "patient Anna Berg personnummer nitton åttiofem noll tre tolv ett två tre fyra punkt rubrik bedömning misstänkt pneumoni punkt rubrik aktuellt hosta sedan tio dagar punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert_eq!(n.metadata.patient_name.as_deref(), Some("Anna Berg"));
    assert_eq!(n.metadata.personnummer.as_deref(), Some("19850312-1234"));
    let headings: Vec<&str> = n.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(headings, vec!["Aktuellt", "Bedömning"], "template order");
    assert_eq!(n.suggested_codes[0].code, "J18.9");
    assert!(
        !n.to_text().contains("J18.9"),
        "codes are never written into the note"
    );
    let span = &n.sections[1].spans[0];
    assert_eq!(span.kind, SpanKind::Code);
    let evidence: String = n.sections[1]
        .text
        .chars()
        .skip(span.start_char)
        .take(span.end_char - span.start_char)
        .collect();
    assert_eq!(evidence, "pneumoni");
}

#[test]
fn negated_and_family_diagnoses_are_not_suggested() {
    let n = note(
        "rubrik hereditet mamma har diabetes punkt rubrik status inga tecken på pneumoni punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert!(n.suggested_codes.is_empty(), "{:?}", n.suggested_codes);
}

#[test]
fn ambient_sentences_are_placed_by_content_and_greetings_dropped() {
    let n = note(
        "Hej, välkommen in. Jag har haft feber och hosta i fem dagar. Lungorna låter fina och saturationen är 97 procent. Jag skriver ut penicillin. Vi ses om en vecka.",
        Mode::Ambient,
        "primarvard-lakarbesok",
    );
    let get = |h: &str| n.section(h).map(|s| s.text.clone()).unwrap_or_default();
    assert_eq!(get("Aktuellt"), "Jag har haft feber och hosta i 5 dagar.");
    assert_eq!(
        get("Status"),
        "Lungorna låter fina och saturationen är 97 %."
    );
    assert_eq!(get("Åtgärd"), "Jag skriver ut penicillin.");
    assert_eq!(get("Planering"), "Vi ses om en vecka.");
    assert!(!n.to_text().contains("välkommen"));
}

#[test]
fn note_json_has_the_documented_shape() {
    let n = note(
        "rubrik status AT gott punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    let json = match serde_json::to_value(&n) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(json["sections"][0]["heading"], "Status");
    assert_eq!(json["sections"][0]["text"], "AT gott.");
    assert!(json["corrections"].is_array() && json["suggested_codes"].is_array());
    assert_eq!(json["metadata"]["mode"], "dictation");
    let back: Note = match serde_json::from_value(json) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(back, n);
    assert_eq!(n.to_text(), "Status\nAT gott.");
}

/// Every word said after a heading reaches the note: words after "rubrik" that name no known
/// heading, with nothing under them, are kept as text rather than becoming an empty heading
/// of their own, which the note would drop.
#[test]
fn words_after_a_garbled_heading_are_not_lost() {
    let n = note(
        "rubrik status lugn punkt rubrik järdbyter Pulmicort mot Symbicort punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert!(
        n.to_text().contains("Järdbyter Pulmicort mot Symbicort."),
        "{}",
        n.to_text()
    );
    let n = note(
        "rubrik funktionsstatus kolon går med rollator punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert_eq!(n.sections[0].heading, "Funktionsstatus");
    assert_eq!(n.sections[0].text, "Går med rollator.");
    // A heading written as two words, the text's first word glued to the second.
    let n = note(
        "rubrik aktuellt mår bra punkt rubrik läke Medelingar regelbundna punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Aktuellt", "Mår bra."),
            ("Läkemedel", "Ingar regelbundna.")
        ]
    );
    // So does a misheard "rubrik" glued to the full stop before it.
    let n = note(
        "rubrik aktuellt mår bra punktriburik läke Medelingar regelbundna punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert_eq!(n.sections.len(), 2, "{}", n.to_text());
    assert_eq!(n.sections[1].heading, "Läkemedel");
}

/// The recognizer carries the "k" of "rubrik" onto a heading that starts with a vowel, voiced
/// or not ("rubrik gott gärd", "Trubrikskott järd…" for "rubrik åtgärd"): the heading is
/// found once the carried consonant is taken off, and text glued to it stays text. A word
/// that only starts like that, with no heading in it, is left alone.
#[test]
fn a_consonant_carried_over_from_rubrik_does_not_hide_the_heading() {
    for (said, text) in [
        (
            "rubrik bedömning depression punkt rubrik gott gärd insätter Sertralin punkt",
            "Insätter Sertralin.",
        ),
        (
            "rubrik bedömning depression punkt Trubrikskott järdynsätter Sertralin punkt",
            "Ynsätter Sertralin.",
        ),
        (
            "rubrik bedömning depression punkt rubrik gott gärde information till pappa punkt",
            "Information till pappa.",
        ),
    ] {
        let n = note(said, Mode::Dictation, "psykiatri-nybesok");
        assert_eq!(
            placed(&n),
            vec![("Bedömning", "Depression."), ("Åtgärd", text)],
            "{said}"
        );
    }
    let n = note(
        "rubrik bedömning depression punkt rubrik god kontakt punkt",
        Mode::Dictation,
        "psykiatri-nybesok",
    );
    assert!(n.to_text().contains("God kontakt."), "{}", n.to_text());
    assert!(
        n.sections.iter().all(|s| s.heading != "Åtgärd"),
        "{}",
        n.to_text()
    );
}

/// A psychiatrist names the rating-scale section bare at a sentence start, as with status and
/// the suicide risk assessment before it.
#[test]
fn rating_scales_may_be_named_bare() {
    let n = note(
        "suicidriskbedömning inga suicidtankar punkt skattningar MADRS sex poäng punkt",
        Mode::Dictation,
        "psykiatri-aterbesok",
    );
    let headings: Vec<&str> = n.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(
        headings,
        vec!["Suicidriskbedömning", "Skattningar"],
        "{}",
        n.to_text()
    );
    assert_eq!(n.sections[1].text, "MADRS 6 poäng.");
}

/// Without spoken headings: history told in the past tense, the medication line and the
/// examination tests each go where a clinician files them.
#[test]
fn undictated_headings_follow_the_content() {
    let n = note(
        "söker för ont i knät punkt fyrtioårig man som föll i går kväll punkt kunde inte gå efteråt punkt inga regelbundna läkemedel punkt går med hälta punkt Lachman negativt punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Kontaktorsak", "Söker för ont i knät."),
            (
                "Aktuellt",
                "40-årig man som föll i går kväll. Kunde inte gå efteråt."
            ),
            ("Läkemedel", "Inga regelbundna läkemedel."),
            ("Status", "Går med hälta. Lachman negativt."),
        ]
    );
}

#[test]
fn an_ambient_question_goes_with_its_answer() {
    let n = note(
        "Hej, välkommen. Vad kan jag göra för dig? Jag har haft ont i magen i två veckor. Har du gått ner i vikt? Nej, vikten är densamma. Har du varit sjuk tidigare? Nej, jag har alltid varit frisk. Hur ser det ut hemma? Jag bor med min sambo. Jag ska känna på magen. Den är mjuk och oöm.",
        Mode::Ambient,
        "primarvard-lakarbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            (
                "Aktuellt",
                "Jag har haft ont i magen i 2 veckor. Har du gått ner i vikt? Nej, vikten är densamma."
            ),
            (
                "Tidigare sjukdomar",
                "Har du varit sjuk tidigare? Nej, jag har alltid varit frisk."
            ),
            ("Socialt", "Hur ser det ut hemma? Jag bor med min sambo."),
            ("Status", "Jag ska känna på magen. Den är mjuk och oöm."),
        ]
    );
    // A question naming a habit or other illnesses places its answer, whatever time words
    // the answer has; an acknowledgment alone is filler; "stämmer med" is an assessment.
    let n = note(
        "Har du några andra sjukdomar? Jag har högt blodtryck. Okej. Röker du? Nej, jag slutade för tio år sedan. Det du beskriver stämmer med ett posttraumatiskt stressyndrom. Försök dra ner på vinet.",
        Mode::Ambient,
        "psykiatri-nybesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            (
                "Tidigare sjukdomar",
                "Har du några andra sjukdomar? Jag har högt blodtryck."
            ),
            (
                "Levnadsvanor",
                "Röker du? Nej, jag slutade för 10 år sedan."
            ),
            (
                "Bedömning",
                "Det du beskriver stämmer med ett posttraumatiskt stressyndrom."
            ),
            ("Åtgärd", "Försök dra ner på vinet."),
        ]
    );
    // A question on what came before asks for the history; a sentence that opens with the
    // sick leave is the sick leave, whatever its reasons.
    let n = note(
        "Har du haft någon psykisk ohälsa tidigare? Jag hade en depression i skolan. Sjukskrivs till hundra procent i två veckor på grund av nedstämdhet och sömnbrist.",
        Mode::Ambient,
        "psykiatri-nybesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            (
                "Tidigare sjukdomar",
                "Har du haft någon psykisk ohälsa tidigare? Jag hade en depression i skolan."
            ),
            (
                "Sjukskrivning",
                "Sjukskrivs till 100 % i 2 veckor på grund av nedstämdhet och sömnbrist."
            ),
        ]
    );
    // A blood pressure is the clinician's finding, advice in the imperative the action.
    let n = note(
        "Jag blir yr när jag reser mig. Efter en minut stående är det hundratjugo över sjuttio och du blir lite yr. Res dig långsamt och sitt en stund på sängkanten.",
        Mode::Ambient,
        "primarvard-lakarbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Aktuellt", "Jag blir yr när jag reser mig."),
            (
                "Status",
                "Efter en minut stående är det 120/70 och du blir lite yr."
            ),
            (
                "Åtgärd",
                "Res dig långsamt och sitt en stund på sängkanten."
            ),
        ]
    );
}

#[test]
fn a_relatives_illness_is_heredity_and_short_cues_are_whole_words() {
    let n = note(
        "kommer på remiss för sömnbesvär punkt syster har fått diagnosen bipolär sjukdom punkt inga dödstankar punkt tar prover för sköldkörtel punkt hänvisar till företagshälsovården punkt sjukskriver på halvtid i två veckor punkt",
        Mode::Dictation,
        "psykiatri-nybesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Kontaktorsak", "Kommer på remiss för sömnbesvär."),
            ("Hereditet", "Syster har fått diagnosen bipolär sjukdom."),
            ("Suicidriskbedömning", "Inga dödstankar."),
            (
                "Åtgärd",
                "Tar prover för sköldkörtel. Hänvisar till företagshälsovården."
            ),
            ("Sjukskrivning", "Sjukskriver på halvtid i 2 veckor."),
        ]
    );
    // A first sentence that gives the reason is the reason, whatever diagnosis it names; a
    // relative "är opererad för" an illness is heredity; a treated illness is history.
    let n = note(
        "remitteras från vårdcentralen för utredning av misstänkt autism punkt mamma är opererad för karpaltunnelsyndrom punkt behandlas för högt kolesterol sedan fem år punkt",
        Mode::Dictation,
        "psykiatri-nybesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            (
                "Kontaktorsak",
                "Remitteras från vårdcentralen för utredning av misstänkt autism."
            ),
            (
                "Tidigare sjukdomar",
                "Behandlas för högt kolesterol sedan 5 år."
            ),
            ("Hereditet", "Mamma är opererad för karpaltunnelsyndrom."),
        ]
    );
    // "att" is not the abbreviation AT (allmäntillstånd), nor "jag sjukskriver" the phrase
    // "jag skriver".
    let n = note(
        "Det började efter att jag blev uppsagd. Jag sjukskriver dig på heltid i fyra veckor.",
        Mode::Ambient,
        "psykiatri-nybesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Aktuellt", "Det började efter att jag blev uppsagd."),
            ("Sjukskrivning", "Jag sjukskriver dig på heltid i 4 veckor."),
        ]
    );
}

#[test]
fn a_lone_sentence_between_two_of_one_topic_stays_with_them() {
    // "hemtjänsten" is a cue for the social history, but the exchange sits between two about
    // the medicines and says nothing stronger for anything else.
    let n = note(
        "Vilka mediciner tar du? Enalapril tio milligram på morgonen. Ska jag säga till hemtjänsten om det? Ja, gärna. Tar du något mot smärta? Alvedon ibland.",
        Mode::Ambient,
        "primarvard-lakarbesok",
    );
    let sections = placed(&n);
    let medicines = sections
        .iter()
        .find(|(h, _)| *h == "Läkemedel")
        .map(|(_, t)| *t)
        .unwrap_or_default();
    assert!(
        medicines.contains("hemtjänsten") && medicines.contains("Alvedon"),
        "{sections:?}"
    );
    assert_eq!(sections.len(), 1, "{sections:?}");

    // A sentence with cues of its own for another heading keeps it.
    let n = note(
        "Vilka mediciner tar du? Enalapril tio milligram på morgonen. Röker du? Nej, jag slutade röka för tio år sedan. Tar du något mot smärta? Alvedon ibland.",
        Mode::Ambient,
        "primarvard-lakarbesok",
    );
    let headings: Vec<&str> = n.sections.iter().map(|s| s.heading.as_str()).collect();
    assert!(headings.contains(&"Levnadsvanor"), "{:?}", placed(&n));
}

#[test]
fn a_consultation_opens_with_its_reason_and_questions_name_their_topic() {
    let n = note(
        "Hej, välkommen in. Du har fått en akut tid för att stortån har svullnat. Berätta vad som hände. Jag vaknade i natt av att den värkte. Har du haft något liknande tidigare? Nej, det har aldrig hänt förut. Är du allergisk mot något? Inga läkemedel vad jag vet, men jag får utslag av nickel. Avstå från alkohol tills tån har lugnat sig.",
        Mode::Ambient,
        "primarvard-lakarbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            // The reason is one sentence: what follows without cues of its own is history.
            (
                "Kontaktorsak",
                "Du har fått en akut tid för att stortån har svullnat."
            ),
            // An earlier episode of the complaint is its story, not an earlier illness.
            (
                "Aktuellt",
                "Berätta vad som hände. Jag vaknade i natt av att den värkte. Har du haft något liknande tidigare? Nej, det har aldrig hänt förut."
            ),
            // The question's strong cue outweighs the answer's words for medicines.
            (
                "Allergi",
                "Är du allergisk mot något? Inga läkemedel vad jag vet, men jag får utslag av nickel."
            ),
            ("Åtgärd", "Avstå från alkohol tills tån har lugnat sig."),
        ]
    );
}

#[test]
fn known_diagnoses_are_history_and_a_relatives_operation_heredity() {
    let n = note(
        "söker för buksmärtor punkt känd divertikulos sedan koloskopi för fyra år sedan komma i övrigt behandlad för hypertoni punkt mamman opererades för tjocktarmscancer vid sjuttiofem års ålder punkt bedöms som divertikulit punkt",
        Mode::Dictation,
        "primarvard-lakarbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Kontaktorsak", "Söker för buksmärtor."),
            (
                "Tidigare sjukdomar",
                "Känd divertikulos sedan koloskopi för 4 år sedan, i övrigt behandlad för hypertoni."
            ),
            (
                "Hereditet",
                "Mamman opererades för tjocktarmscancer vid 75 års ålder."
            ),
            ("Bedömning", "Bedöms som divertikulit."),
        ]
    );
}

#[test]
fn a_diagnosis_dated_years_back_is_history_and_the_stated_diagnosis_its_own_section() {
    let n = note(
        "söker för oro och sömnsvårigheter punkt hypotyreos sedan tio år komma ingen tidigare psykiatrisk kontakt punkt bilden talar för generaliserat ångestsyndrom punkt diagnosen blir generaliserat ångestsyndrom punkt sjukskrivning behövs inte punkt återbesök om fyra veckor punkt",
        Mode::Dictation,
        "psykiatri-nybesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Kontaktorsak", "Söker för oro och sömnsvårigheter."),
            (
                "Tidigare sjukdomar",
                "Hypotyreos sedan 10 år, ingen tidigare psykiatrisk kontakt."
            ),
            ("Bedömning", "Bilden talar för generaliserat ångestsyndrom."),
            ("Diagnos", "Diagnosen blir generaliserat ångestsyndrom."),
            ("Sjukskrivning", "Sjukskrivning behövs inte."),
            ("Planering", "Återbesök om 4 veckor."),
        ]
    );
}

#[test]
fn a_relatives_drug_is_medication_and_an_allergy_question_allergy() {
    let n = note(
        "God morgon, välkomna in. Slå dig ner. Har du någon allergi, och har du tålt penicillin tidigare? Jag är inte allergisk mot något. Mamma har inte tagit sin Spiolto sedan i helgen. TSH från vårdcentralen är inom normalområdet. Sammantaget har behandlingen god effekt.",
        Mode::Ambient,
        "primarvard-lakarbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Läkemedel", "Mamma har inte tagit sin Spiolto sedan i helgen."),
            (
                "Allergi",
                "Har du någon allergi, och har du tålt penicillin tidigare? Jag är inte allergisk mot något."
            ),
            (
                "Undersökningsresultat",
                "TSH från vårdcentralen är inom normalområdet."
            ),
            ("Bedömning", "Sammantaget har behandlingen god effekt."),
        ]
    );
}

#[test]
fn a_scales_score_is_the_ratings_and_a_named_suicide_risk_its_assessment() {
    let n = note(
        "Hur mycket dricker du? Fyra starköl om dagen. Hur lever du i dag? Jag bor själv i en hyresrätt. DUDIT blev noll. Jag bedömer att suicidrisken inte är akut förhöjd, men att du bor ensam är en riskfaktor.",
        Mode::Ambient,
        "psykiatri-nybesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Socialt", "Hur lever du i dag? Jag bor själv i en hyresrätt."),
            ("Levnadsvanor", "Hur mycket dricker du? Fyra starköl om dagen."),
            (
                "Suicidriskbedömning",
                "Jag bedömer att suicidrisken inte är akut förhöjd, men att du bor ensam är en riskfaktor."
            ),
            ("Skattningar", "DUDIT blev 0."),
        ]
    );
}

#[test]
fn a_change_of_dose_is_an_action_not_current_medication() {
    let n = note(
        "Du tar prednisolon femton milligram på morgonen. Från i morgon tar du prednisolon tolv komma fem milligram en gånger ett i fyra veckor, och därefter tio milligram en gånger ett.",
        Mode::Ambient,
        "primarvard-aterbesok",
    );
    assert_eq!(
        placed(&n),
        vec![
            ("Läkemedel", "Du tar prednisolon 15 mg på morgonen."),
            (
                "Åtgärd",
                "Från i morgon tar du prednisolon 12,5 mg 1 x 1 i 4 veckor, och därefter 10 mg 1 x 1."
            ),
        ]
    );
    // A dose in steps without the drug's name is the prescription said just before it.
    let n = note(
        "Hur mår du? Jag är trött. Du tar femhundra milligram en gånger ett i en vecka och sedan femhundra milligram en gånger två.",
        Mode::Ambient,
        "primarvard-aterbesok",
    );
    assert_eq!(
        n.sections
            .last()
            .map(|s| (s.heading.as_str(), s.text.as_str())),
        Some((
            "Åtgärd",
            "Du tar 500 mg 1 x 1 i en vecka och sedan 500 mg 1 x 2."
        ))
    );
}

#[test]
fn a_return_visit_opens_with_its_purpose_and_results_keep_their_sections() {
    let n = note(
        "Du är här för att gå igenom proverna efter järnbristen som vi hittade. Hur har du mått? Bättre, jag orkar mer. Då ska vi titta på proverna. Ditt Hb har gått upp från hundrafyra till hundratolv. EKG:t som togs i morse visar en långsam men regelbunden rytm. Sammantaget är det en järnbristanemi orsakad av rikliga menstruationer. Kan jag jobba som vanligt? Ja, det behövs ingen sjukskrivning.",
        Mode::Ambient,
        "primarvard-aterbesok",
    );
    let heading_of = |needle: &str| {
        n.sections
            .iter()
            .find(|s| s.text.contains(needle))
            .map(|s| s.heading.as_str())
    };
    assert_eq!(
        heading_of("Du är här"),
        Some("Kontaktorsak"),
        "{:?}",
        placed(&n)
    );
    assert_eq!(
        heading_of("titta på proverna"),
        Some("Undersökningsresultat"),
        "{:?}",
        placed(&n)
    );
    // "EKG:t" is EKG with its ending, whose cues count.
    assert_eq!(
        heading_of("EKG:t"),
        Some("Undersökningsresultat"),
        "{:?}",
        placed(&n)
    );
    assert_eq!(
        heading_of("Sammantaget"),
        Some("Bedömning"),
        "{:?}",
        placed(&n)
    );
    assert_eq!(
        heading_of("jobba som vanligt"),
        Some("Sjukskrivning"),
        "{:?}",
        placed(&n)
    );
}
