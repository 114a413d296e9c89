//! Skriva's benchmark harness as a library: corpus loading, Swedish text normalization and
//! WER/CER scoring, the Skriva and faster-whisper runners, and result reports. The `skriva-bench`
//! binary wires these into subcommands (`wer`, `structure`; `latency` to follow).

pub mod corpus;
pub mod host;
pub mod normalize;
pub mod peer;
pub mod report;
pub mod skriva;
pub mod structure;
pub mod wer;
