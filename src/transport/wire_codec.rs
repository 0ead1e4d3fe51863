//! What a pulled batch becomes on the wire (spec `encoding.md` §7, §7.1).
//!
//! With a per-batch codec the layer above pushes batches already compressed and they go out
//! as stored. With `zstd-stream` it pushes them serialized; each stream gets a fresh
//! compression context and every batch, batch 0 included, is compressed through it in pull
//! order, so a replay on a new stream is compressed again. An endpoint that refused the
//! stream codec falls back to per-batch `zstd` at the same level until it is replaced.

use bytes::Bytes;

use crate::codec::stream::StreamCompressor;
use crate::codec::{CompressError, Compression, ContentEncoding};
use crate::status_code::{INVALID_ARGUMENT, UNIMPLEMENTED};

use super::types::Failure;

/// The configured codec, the endpoints that fell back, and the current stream's context.
#[derive(Debug)]
pub(super) struct WireCodec {
    configured: Compression,
    /// Per endpoint index: it refused `zstd-stream` and gets per-batch `zstd`.
    fell_back: Vec<bool>,
    /// The current stream's context (`zstd-stream` streams only).
    context: Option<StreamCompressor>,
}

impl WireCodec {
    pub(super) fn new(configured: Compression, endpoints: usize) -> Self {
        WireCodec { configured, fell_back: vec![false; endpoints], context: None }
    }

    /// The codec a stream to `endpoint` announces and uses.
    pub(super) fn encoding(&self, endpoint: usize) -> ContentEncoding {
        self.compression(endpoint).encoding
    }

    fn compression(&self, endpoint: usize) -> Compression {
        if self.fell_back.get(endpoint).copied().unwrap_or(false) {
            self.configured.fallback()
        } else {
            self.configured
        }
    }

    /// Whether batches are stored serialized and compressed at pull (the `encoded_bytes` and
    /// `pre_compression_bytes` metrics then count what was sent, replays included).
    pub(super) fn compresses_at_pull(&self) -> bool {
        self.configured.encoding.is_stream()
    }

    /// A stream to `endpoint` opened: give it a fresh context when it uses `zstd-stream`.
    pub(super) fn start_stream(&mut self, endpoint: usize) -> Result<(), CompressError> {
        let compression = self.compression(endpoint);
        self.context = if compression.encoding.is_stream() {
            Some(StreamCompressor::new(compression.level, compression.window_log)?)
        } else {
            None
        };
        Ok(())
    }

    /// The stream ended: its context goes with it.
    pub(super) fn end_stream(&mut self) {
        self.context = None;
    }

    /// The wire bytes of a stored batch on the current stream, in pull order.
    pub(super) fn encode(&mut self, stored: &Bytes) -> Result<Bytes, CompressError> {
        if !self.compresses_at_pull() {
            return Ok(stored.clone());
        }
        let data = match &mut self.context {
            Some(context) => context.compress_batch(stored)?,
            None => self.configured.fallback().compress(stored)?,
        };
        Ok(Bytes::from(data))
    }

    /// Switches `endpoint` to per-batch `zstd`; the codec it used and the one it gets now.
    pub(super) fn fall_back(&mut self, endpoint: usize) -> (ContentEncoding, ContentEncoding) {
        let from = self.encoding(endpoint);
        if let Some(flag) = self.fell_back.get_mut(endpoint) {
            *flag = true;
        }
        (from, self.encoding(endpoint))
    }

    /// `endpoint` was replaced: it gets the configured codec again.
    pub(super) fn reset(&mut self, endpoint: usize) {
        if let Some(flag) = self.fell_back.get_mut(endpoint) {
            *flag = false;
        }
    }
}

/// Whether a failure before any ack reads as a receiver that does not know `zstd-stream`
/// (§7.1): `INVALID_ARGUMENT`, a status that names the content encoding, or `UNIMPLEMENTED` from
/// an endpoint known to serve the method (`method_served`: it acked on an earlier stream). An
/// `UNIMPLEMENTED` on the first call is the method itself missing (a wrong profile), not the
/// codec.
pub(super) fn refuses_stream_codec(failure: &Failure, method_served: bool) -> bool {
    match failure {
        Failure::Status { code, message, .. } => {
            let message = message.to_ascii_lowercase();
            *code == INVALID_ARGUMENT
                || (*code == UNIMPLEMENTED && method_served)
                || message.contains("content-encoding")
                || message.contains("content encoding")
        }
        _ => false,
    }
}
