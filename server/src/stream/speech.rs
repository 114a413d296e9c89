//! The session's recognizer: an engine [`LiveStream`] configured from the session's audio
//! format and the server's streaming settings. Everything it reports depends only on the
//! audio, so a resumed or crash-rebuilt session re-derives exactly the finals it had.

use std::sync::Arc;

use skriva_engine::recognize::{DecodeOptions, Recognizer};
use skriva_engine::stream::{LiveStream, SampleEncoding, StreamConfig};

use crate::store::{AudioFormat, Encoding};
use crate::{Result, StreamingConfig};

/// A live stream for audio in `format`, segmented by `streaming`'s settings and decoded with
/// `decode` (the session's language and template prompt).
pub fn live_stream(
    recognizer: Arc<Recognizer>,
    format: AudioFormat,
    streaming: &StreamingConfig,
    decode: DecodeOptions,
) -> Result<LiveStream> {
    let config = StreamConfig {
        sample_rate: format.sample_rate,
        channels: format.channels,
        encoding: match format.encoding {
            Encoding::PcmS16le => SampleEncoding::PcmS16le,
            Encoding::PcmF32le => SampleEncoding::PcmF32le,
        },
        end_silence_ms: streaming.end_silence_ms,
        redecode_every_ms: streaming.redecode_every_ms,
        max_buffer_s: streaming.max_buffer_s,
        interim_decodes: streaming.partials,
        decode,
        ..StreamConfig::default()
    };
    Ok(LiveStream::new(recognizer, config)?)
}
