//! GPT-2 byte-level token text: the printable-unicode spelling that Whisper's BPE vocabulary uses
//! (as stored in CTranslate2's vocabulary file) and the raw bytes whisper.cpp wants instead.
//! The mapping is `bytes_to_unicode()` from OpenAI's GPT-2 encoder.

use crate::{Error, Result};

/// Whether byte `b` stands for itself in GPT-2's alphabet (printable Latin-1 except soft hyphen).
fn is_self_mapped(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The 68 bytes that GPT-2 moves to U+0100.., in the order it moves them.
fn shifted_bytes() -> impl Iterator<Item = u8> {
    (0..=255u8).filter(|&b| !is_self_mapped(b))
}

/// The character GPT-2's byte-level BPE writes for byte `b`.
pub fn byte_to_char(b: u8) -> char {
    if is_self_mapped(b) {
        return char::from(b);
    }
    let n = shifted_bytes().position(|s| s == b).unwrap_or_default();
    // 256 + n with n < 68 is always a valid scalar value.
    char::from_u32(256 + n as u32).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The byte that GPT-2 character `c` stands for, or `None` if `c` is not in its alphabet.
pub fn char_to_byte(c: char) -> Option<u8> {
    let code = u32::from(c);
    if let Ok(b) = u8::try_from(code) {
        return is_self_mapped(b).then_some(b);
    }
    let n = usize::try_from(code.checked_sub(256)?).ok()?;
    shifted_bytes().nth(n)
}

/// Spells raw bytes the way GPT-2's vocabulary does (the inverse of [`token_to_bytes`]).
pub fn bytes_to_token(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| byte_to_char(b)).collect()
}

/// Decodes one GPT-2 byte-level token (e.g. `"Ġthe"`) into its raw bytes (`b" the"`).
///
/// Fails with [`Error::Convert`] if the token holds a character outside GPT-2's 256-character
/// alphabet, which means the vocabulary is not a byte-level BPE vocabulary.
pub fn token_to_bytes(token: &str) -> Result<Vec<u8>> {
    token
        .chars()
        .map(|c| {
            char_to_byte(c).ok_or_else(|| {
                Error::Convert(format!(
                    "vocabulary token {token:?} has character {c:?} (U+{:04X}) outside GPT-2's \
                     byte-level alphabet",
                    u32::from(c)
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tokens_decode() {
        assert_eq!(token_to_bytes("Ġthe").expect("decodes"), b" the");
        assert_eq!(token_to_bytes("Ċ").expect("decodes"), b"\n");
        assert_eq!(token_to_bytes("!").expect("decodes"), b"!");
        // "ä" in UTF-8 is C3 A4, which GPT-2 spells "Ã¤".
        assert_eq!(token_to_bytes("Ã¤").expect("decodes"), "ä".as_bytes());
        assert_eq!(token_to_bytes("").expect("decodes"), b"");
        assert_eq!(byte_to_char(0), 'Ā');
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(0xAD), 'Ń');
        assert_eq!(byte_to_char(0x7F), 'ġ');
    }

    #[test]
    fn all_bytes_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        let spelled = bytes_to_token(&all);
        assert_eq!(spelled.chars().count(), 256);
        assert_eq!(token_to_bytes(&spelled).expect("decodes"), all);
        // The alphabet is exactly 256 distinct characters.
        let mut chars: Vec<char> = spelled.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.len(), 256);
        assert_eq!(shifted_bytes().count(), 68);
    }

    #[test]
    fn utf8_text_round_trips() {
        let text = "Patienten är 45 år, blodtryck 140/90.\n";
        let token = bytes_to_token(text.as_bytes());
        assert_eq!(token_to_bytes(&token).expect("decodes"), text.as_bytes());
    }

    #[test]
    fn foreign_characters_are_rejected() {
        let err = token_to_bytes("ańb").expect_err("U+0144 is past the alphabet");
        assert!(err.to_string().contains("outside GPT-2"), "{err}");
        assert!(token_to_bytes("€").is_err());
        assert!(
            token_to_bytes("\u{AD}").is_err(),
            "soft hyphen is remapped, not itself"
        );
        assert!(token_to_bytes(" ").is_err(), "space is spelled Ġ");
    }
}
