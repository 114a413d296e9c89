//! The structuring evaluation over `corpora/sv-structure/` and the held-out
//! `corpora/sv-heldout/`: from perfect transcripts, at least 97 % of clinical terms kept and
//! nothing invented everywhere; at least 95 % of reference words under the right heading on
//! the held-out set, and no less than measured on `corpora/sv-structure/`, whose latest
//! batches (written after the rules, each measured before the rules were changed for it) are
//! below the 95 % target. The unseen `corpora/sv-unseen/` is held to the guarantees that do
//! not come from tuning. Measurements are in the corpus READMEs.

use skriva_engine::journal::eval::{evaluate, load_eval_set, Report};
use skriva_vocab::Vocabulary;

/// Bounds at the targets; measured 95.9 % / 100 % / 100 % on sv-heldout (see the corpus
/// READMEs).
const MIN_SECTION_ACCURACY: f64 = 0.95;
/// sv-structure's section accuracy as measured (94.7 % over 74 cases), less a margin: a guard
/// against regressions, not the target, which the two newest batches of consultations still
/// miss.
const MIN_SECTION_ACCURACY_EVALUATION_SET: f64 = 0.93;
const MIN_TERM_RECALL: f64 = 0.97;
const MIN_TERM_PRECISION: f64 = 0.95;

#[test]
fn structuring_holds_its_level_on_the_evaluation_set() -> Result<(), skriva_engine::Error> {
    let (report, summary) = evaluated("sv-structure", 74)?;
    assert!(
        report.section_accuracy.value() >= MIN_SECTION_ACCURACY_EVALUATION_SET,
        "{summary}"
    );
    holds_the_guarantees(&report, &summary);
    Ok(())
}

/// The held-out set guards against rules that fit only the cases they were written for.
#[test]
fn structuring_meets_the_targets_on_the_held_out_set() -> Result<(), skriva_engine::Error> {
    meets_the_targets("sv-heldout", 14)
}

/// A batch kept unseen by the rules: held to the guarantees that do not come from tuning
/// (terms, nothing invented, metadata); its section accuracy is what it measures.
#[test]
fn structuring_invents_nothing_on_the_unseen_set() -> Result<(), skriva_engine::Error> {
    let (report, summary) = evaluated("sv-unseen", 12)?;
    holds_the_guarantees(&report, &summary);
    Ok(())
}

fn meets_the_targets(corpus: &str, min_cases: usize) -> Result<(), skriva_engine::Error> {
    let (report, summary) = evaluated(corpus, min_cases)?;
    assert!(
        report.section_accuracy.value() >= MIN_SECTION_ACCURACY,
        "{summary}"
    );
    holds_the_guarantees(&report, &summary);
    Ok(())
}

/// Term recall and precision at their bounds, nothing invented, metadata as expected.
fn holds_the_guarantees(report: &Report, summary: &str) {
    assert!(report.term_recall.value() >= MIN_TERM_RECALL, "{summary}");
    assert!(
        report.term_precision.value() >= MIN_TERM_PRECISION,
        "{summary}"
    );
    assert_eq!(report.cases_with_inventions, 0, "{summary}");
    assert!(report.cases.iter().all(|c| c.metadata_ok), "{summary}");
}

/// The report on a corpus's cases (at least `min_cases`) and its per-case table, printed.
fn evaluated(corpus: &str, min_cases: usize) -> Result<(Report, String), skriva_engine::Error> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora")
        .join(corpus)
        .join("cases");
    let cases = load_eval_set(&dir)?;
    assert!(cases.len() >= min_cases, "{} cases", cases.len());
    let vocab = Vocabulary::builtin()?;
    let report = evaluate(&cases, &vocab)?;
    let mut summary = String::new();
    for case in &report.cases {
        summary.push_str(&format!(
            "{:32} sections {:>22}  terms {:>20}  precision {:>20}  codes {:>18}  invented {:?}  missed {:?}  metadata {}\n",
            case.id,
            case.section_accuracy.to_string(),
            case.term_recall.to_string(),
            case.term_precision.to_string(),
            case.code_recall.to_string(),
            case.invented,
            case.missed_terms,
            case.metadata_ok,
        ));
    }
    summary.push_str(&format!(
        "ALL sections {}  terms {}  precision {}  codes {}  cases with inventions {}\n",
        report.section_accuracy,
        report.term_recall,
        report.term_precision,
        report.code_recall,
        report.cases_with_inventions
    ));
    if std::env::var_os("SKRIVA_EVAL_NOTES").is_some() {
        for case in &report.cases {
            summary.push_str(&format!("\n===== {}\n{}\n", case.id, case.note.to_text()));
        }
    }
    // The per-case table is this test's report (shown with --nocapture).
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{summary}");
    }
    Ok((report, summary))
}
