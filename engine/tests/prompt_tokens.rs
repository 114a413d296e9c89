//! The recognizer prompts built from the vocabulary fit whisper's prompt window, counted with
//! the real model's tokenizer: whisper silently drops the start of a longer prompt, which is
//! where the title and the headings are.

use skriva_engine::model::ModelStore;
use skriva_engine::recognize::{Device, Recognizer, RecognizerConfig, PROMPT_MAX_TOKENS};
use skriva_engine::text::{ambient_prompt, initial_prompt};
use skriva_vocab::Vocabulary;

#[test]
#[allow(clippy::print_stderr)] // the measured token counts belong in the test log
fn every_template_prompt_fits_whispers_prompt_window() {
    let store = ModelStore::default_location();
    let model = store
        .verified_default_model()
        .unwrap_or_else(|e| panic!("{e}; run `skriva model fetch`"));
    let recognizer = Recognizer::load(&RecognizerConfig {
        model,
        vad_model: None,
        device: Device::Cpu,
        threads: 1,
    })
    .expect("load recognizer");
    // The tokenizer is the real one: Swedish text takes more than one token per word.
    let sample = recognizer
        .token_count("Blodtryck hundrafemtio över nittiofyra")
        .expect("tokenize");
    assert!(sample > 4, "{sample} tokens");

    let vocab = Vocabulary::builtin().expect("vocabulary");
    assert!(!vocab.templates().is_empty());
    for template in vocab.templates() {
        for (kind, prompt) in [
            ("dictation", initial_prompt(template, &vocab)),
            ("ambient", ambient_prompt(template, &vocab)),
        ] {
            let tokens = recognizer.token_count(&prompt).expect("tokenize");
            eprintln!(
                "{} {kind}: {tokens} tokens, {} chars",
                template.id,
                prompt.chars().count()
            );
            assert!(
                tokens <= PROMPT_MAX_TOKENS,
                "{} {kind} prompt takes {tokens} tokens (> {PROMPT_MAX_TOKENS}): {prompt}",
                template.id
            );
        }
    }
}
