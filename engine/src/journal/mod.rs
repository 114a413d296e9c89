//! Structuring formatted text into journal sections following a note template.
