//! The seam where recognized segments become a journal note. Today the whole transcript is one
//! unheaded section; when `skriva_engine::journal::structure` lands, [`structure_note`] is the one
//! function that changes.

use skriva_engine::recognize::{Segment, Transcript};

use crate::store::{Note, Section};

/// Builds a draft's note from its segments, following `template` (unused until structuring
/// lands: every template yields one section holding the transcript).
pub fn structure_note(segments: &[Segment], _template: &str) -> Note {
    let text = Transcript::join_text(segments);
    if text.is_empty() {
        return Note::default();
    }
    Note {
        sections: vec![Section {
            heading: String::new(),
            text,
        }],
    }
}
