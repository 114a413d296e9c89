//! The wire format of the live stream (protocol `skriva.v1`, see `docs/protocol.md`): the client's
//! JSON control messages, the binary audio frame header, the server's JSON events, and the error
//! and close codes.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::{AudioFormat, Encoding};

/// The WebSocket subprotocol naming this version.
pub const SUBPROTOCOL: &str = "skriva.v1";
/// Bytes of the frame header: the frame's sequence number, u64 little-endian.
pub const FRAME_HEADER_BYTES: usize = 8;
/// Supported input sample rates (Hz).
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;
/// Supported channel counts.
pub const CHANNELS: std::ops::RangeInclusive<usize> = 1..=2;

/// Close codes the server uses besides the standard 1000 (normal), 1008 (policy) and 1009 (too big).
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const TOO_BIG: u16 = 1009;
    /// The model is still loading, or the session is being rebuilt: reconnect shortly.
    pub const TRY_AGAIN: u16 = 1013;
    /// The `start` was refused (unsupported format, or one that differs from the session's).
    pub const BAD_START: u16 = 4400;
    /// The session reached `max_session_s`; it was stopped and its draft is complete.
    pub const SESSION_TOO_LONG: u16 = 4408;
    /// A newer connection to the same session took over.
    pub const SUPERSEDED: u16 = 4409;
    /// The server failed (recognizer, storage); reconnect and resume.
    pub const INTERNAL: u16 = 4500;
}

/// Messages a client sends as text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Start {
        sample_rate: u32,
        channels: usize,
        encoding: String,
        /// The last event seq the client received; later persisted events are replayed.
        #[serde(default)]
        resume_from_event: Option<u64>,
    },
    Stop,
}

/// Why a text message was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageError {
    pub code: &'static str,
    pub message: String,
}

/// Parses a client text message, telling malformed JSON from unknown message types.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, MessageError> {
    let value: Value = serde_json::from_str(text).map_err(|e| MessageError {
        code: "malformed_message",
        message: format!("not JSON: {e}"),
    })?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !["start", "stop"].contains(&kind.as_str()) {
        return Err(MessageError {
            code: "unknown_message",
            message: format!("unknown message type `{kind}`; expected start or stop"),
        });
    }
    serde_json::from_value(value).map_err(|e| MessageError {
        code: "malformed_message",
        message: format!("invalid `{kind}` message: {e}"),
    })
}

/// Validates the format a `start` announces.
pub fn audio_format(
    sample_rate: u32,
    channels: usize,
    encoding: &str,
) -> Result<AudioFormat, MessageError> {
    let unsupported = |message: String| MessageError {
        code: "unsupported_format",
        message,
    };
    let encoding = match encoding {
        "pcm_s16le" => Encoding::PcmS16le,
        "pcm_f32le" => Encoding::PcmF32le,
        other => {
            return Err(unsupported(format!(
                "encoding `{other}`; expected pcm_s16le or pcm_f32le"
            )))
        }
    };
    if !SAMPLE_RATES.contains(&sample_rate) {
        return Err(unsupported(format!(
            "sample rate {sample_rate} Hz; {}–{} Hz are supported",
            SAMPLE_RATES.start(),
            SAMPLE_RATES.end()
        )));
    }
    if !CHANNELS.contains(&channels) {
        return Err(unsupported(format!(
            "{channels} channels; 1 or 2 are supported"
        )));
    }
    Ok(AudioFormat {
        sample_rate,
        channels,
        encoding,
    })
}

/// Splits a binary frame into its sequence number and PCM bytes.
pub fn split_frame(frame: &[u8], format: AudioFormat) -> Result<(u64, &[u8]), MessageError> {
    if frame.len() < FRAME_HEADER_BYTES {
        return Err(MessageError {
            code: "bad_frame",
            message: format!("a frame starts with an {FRAME_HEADER_BYTES}-byte sequence number"),
        });
    }
    let (header, pcm) = frame.split_at(FRAME_HEADER_BYTES);
    let mut seq = [0u8; FRAME_HEADER_BYTES];
    seq.copy_from_slice(header);
    let block = format.encoding.bytes_per_sample() * format.channels;
    if pcm.len() % block != 0 {
        return Err(MessageError {
            code: "bad_frame",
            message: format!(
                "{} PCM bytes is not a whole number of {block}-byte sample frames",
                pcm.len()
            ),
        });
    }
    Ok((u64::from_le_bytes(seq), pcm))
}

/// Builds a server event: `{"type": kind, "seq": seq, ...fields}`.
pub fn event(kind: &str, seq: u64, fields: Value) -> Value {
    let mut value = json!({"type": kind, "seq": seq});
    if let (Some(map), Value::Object(extra)) = (value.as_object_mut(), fields) {
        map.extend(extra);
    }
    value
}

/// An `error` event; `seq` 0 before the session's `ready` (such errors are outside its sequence).
pub fn error_event(seq: u64, code: &str, message: &str) -> Value {
    event("error", seq, json!({"code": code, "message": message}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_and_refuse_clearly() {
        assert_eq!(
            parse_client_message(
                r#"{"type":"start","sample_rate":16000,"channels":1,"encoding":"pcm_s16le","resume_from_event":3}"#
            ),
            Ok(ClientMessage::Start {
                sample_rate: 16000,
                channels: 1,
                encoding: "pcm_s16le".into(),
                resume_from_event: Some(3)
            })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"stop"}"#),
            Ok(ClientMessage::Stop)
        );
        assert_eq!(
            parse_client_message("{nope").map_err(|e| e.code),
            Err("malformed_message")
        );
        assert_eq!(
            parse_client_message(r#"{"type":"dance"}"#).map_err(|e| e.code),
            Err("unknown_message")
        );
        assert_eq!(
            parse_client_message(r#"{"type":"start"}"#).map_err(|e| e.code),
            Err("malformed_message")
        );
    }

    #[test]
    fn formats_and_frames_are_checked() {
        assert!(audio_format(16000, 1, "pcm_s16le").is_ok());
        assert_eq!(
            audio_format(1000, 1, "pcm_s16le").map_err(|e| e.code),
            Err("unsupported_format")
        );
        assert_eq!(
            audio_format(16000, 3, "pcm_s16le").map_err(|e| e.code),
            Err("unsupported_format")
        );
        assert_eq!(
            audio_format(16000, 1, "opus").map_err(|e| e.code),
            Err("unsupported_format")
        );
        let format = AudioFormat {
            sample_rate: 16000,
            channels: 2,
            encoding: Encoding::PcmS16le,
        };
        let mut frame = 7u64.to_le_bytes().to_vec();
        frame.extend_from_slice(&[0; 8]);
        assert_eq!(
            split_frame(&frame, format).map(|(s, p)| (s, p.len())),
            Ok((7, 8))
        );
        frame.push(0);
        assert!(split_frame(&frame, format).is_err());
        assert!(split_frame(&[1, 2], format).is_err());
    }
}
