//! What a pulled batch becomes on the wire (spec `encoding.md` §7, §7.1).
//!
//! With a per-batch codec the layer above pushes batches already compressed and they go out
//! as stored. With `zstd-stream` it pushes them serialized; each stream gets a fresh
//! compression context and every batch, batch 0 included, is compressed through it in pull
//! order, so a replay on a new stream is compressed again. An endpoint that refused the
//! stream codec falls back to per-batch `zstd` at the same level until it is replaced. With
//! the adaptive level (`Compression::cpu_budget`) the level controller picks each batch's rung
//! from the costs the driver reports (`codec::adaptive`).

use bytes::Bytes;

use crate::Timestamp;
use crate::codec::adaptive::LevelController;
use crate::codec::ladder::LADDER;
use crate::codec::stream::StreamCompressor;
use crate::codec::{CompressError, Compression, ContentEncoding};
use crate::status_code::{INVALID_ARGUMENT, UNIMPLEMENTED};

use super::types::Failure;

/// The Transport's compression state: the configured codec, the endpoints that fell back,
/// the current stream's context and the adaptive level's controller.
#[derive(Debug)]
pub(super) struct StreamCompression {
    configured: Compression,
    /// Per endpoint index: it refused `zstd-stream` and gets per-batch `zstd`.
    fell_back: Vec<bool>,
    /// The current stream's context (`zstd-stream` streams only).
    context: Option<StreamCompressor>,
    /// Picks the level of each batch when the level adapts (`Compression::cpu_budget`).
    controller: Option<LevelController>,
}

impl StreamCompression {
    pub(super) fn new(configured: Compression, endpoints: usize, now: Timestamp) -> Self {
        let controller = configured
            .cpu_budget
            .filter(|_| configured.encoding.is_stream())
            .map(|budget| LevelController::new(budget, LADDER.len(), now));
        StreamCompression { configured, fell_back: vec![false; endpoints], context: None, controller }
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
            let rung = self.controller.as_ref().map_or(compression.first_rung(), |c| c.rung());
            Some(StreamCompressor::at_rung(rung, compression.window_log)?)
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
    pub(super) fn encode(&mut self, now: Timestamp, stored: &Bytes) -> Result<Bytes, CompressError> {
        if !self.compresses_at_pull() {
            return Ok(stored.clone());
        }
        let data = match &mut self.context {
            Some(context) => {
                let rung = match &mut self.controller {
                    Some(controller) => controller.rung_for_batch(now, stored.len() as u64),
                    None => context.rung(),
                };
                context.compress_batch_at(stored, rung)?
            }
            None => self.configured.fallback().compress(stored)?,
        };
        Ok(Bytes::from(data))
    }

    /// The driver's calibration of the ladder (see [`LevelController::calibrate`]).
    pub(super) fn calibrate(&mut self, nanos_per_byte: &[f64]) {
        if let Some(controller) = &mut self.controller {
            controller.calibrate(nanos_per_byte);
        }
    }

    /// The driver timed the last batch's compression: the level controller learns from it.
    pub(super) fn record_compression_time(&mut self, nanos: u64) {
        if let Some(controller) = &mut self.controller {
            controller.record_cost(nanos);
        }
    }

    /// The nominal zstd level in use, the CPU share of compression (thousandths of a core)
    /// and the level changes so far; `None` unless the level adapts.
    pub(super) fn adaptive_state(&self, now: Timestamp) -> Option<(i32, u64, u64)> {
        let c = self.controller.as_ref()?;
        Some((c.rung().level, c.cpu_share_permille(now), c.changes()))
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
