//! File decoding with symphonia: wav, flac, mp3, ogg/vorbis and m4a/aac, no external tools.
//! Packets that fail to decode in the middle of a stream are skipped (as players do); a file
//! that yields no audio at all is an error naming the file and the reason.

use std::fs::File;
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::{Error, Result};

/// A decoded file: mono samples at the file's own rate.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    pub mono: Vec<f32>,
    pub sample_rate: u32,
    pub channels: usize,
    pub codec: String,
}

fn decode_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Decode {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Decodes the first audio track of `path` and downmixes it to mono.
pub fn decode_file(path: &Path) -> Result<DecodedAudio> {
    let file = File::open(path).map_err(|e| decode_error(path, format!("cannot open: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| decode_error(path, format!("cannot stat: {e}")))?
        .len();
    if len == 0 {
        return Err(decode_error(path, "file is empty"));
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| decode_error(path, format!("not a supported audio file ({e})")))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| decode_error(path, "no audio track"))?;
    let track_id = track.id;
    let audio_params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| decode_error(path, "track has no audio codec parameters"))?
        .clone();
    let codec = format!("{:?}", audio_params.codec);
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&audio_params, &AudioDecoderOptions::default())
        .map_err(|e| decode_error(path, format!("unsupported codec {codec} ({e})")))?;

    let mut mono = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    let mut sample_rate = audio_params.sample_rate.unwrap_or(0);
    let mut channels = audio_params.channels.as_ref().map_or(0, |c| c.count());
    let mut skipped_packets = 0usize;
    let mut decoded_packets = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A truncated file ends in an unexpected EOF: keep what was decoded.
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                if decoded_packets == 0 {
                    return Err(decode_error(path, format!("cannot read audio data ({e})")));
                }
                tracing::warn!(path = %path.display(), error = %e, "stopping at unreadable data");
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                decoded_packets += 1;
                let spec = buf.spec();
                sample_rate = spec.rate();
                channels = spec.channels().count();
                interleaved.resize(buf.samples_interleaved(), 0.0);
                buf.copy_to_slice_interleaved(&mut interleaved);
                mono.extend(super::downmix_interleaved(&interleaved, channels));
            }
            Err(SymError::DecodeError(e)) => {
                skipped_packets += 1;
                tracing::debug!(path = %path.display(), error = %e, "skipping undecodable packet");
            }
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(decode_error(path, format!("decoding failed ({e})"))),
        }
    }
    if skipped_packets > 0 {
        tracing::warn!(path = %path.display(), skipped_packets, "some packets could not be decoded");
    }
    if mono.is_empty() {
        return Err(decode_error(path, "no audio could be decoded"));
    }
    if sample_rate == 0 {
        return Err(decode_error(path, "unknown sample rate"));
    }
    Ok(DecodedAudio {
        mono,
        sample_rate,
        channels,
        codec,
    })
}
