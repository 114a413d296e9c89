//! Skriva's speech engine: audio in, Swedish text out.
//!
//! The flow is one-directional: an audio source is decoded and resampled to 16 kHz mono
//! ([`audio`]), recognized by whisper.cpp ([`recognize`]) into [`recognize::Segment`]s with word
//! timestamps and confidences, and then formatted ([`text`]) and structured into journal sections
//! ([`journal`]). [`model`] provisions and converts the Whisper models the recognizer loads.

pub mod audio;
pub mod error;
pub mod journal;
pub mod model;
pub mod recognize;
pub mod stream;
pub mod text;

pub use error::{Error, Result};
