//! From spoken to written text: dictation commands, punctuation, numbers, units and term correction.
