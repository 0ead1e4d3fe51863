//! The Pipeline's encoding step (spec `encoding.md` §4, §7): the open batch becomes an
//! [`EncodedBatch`] for the Transport. The codec is decided here, once, from the Pipeline's one
//! compression setting; the batch format (the stateful encoding, or the HTTP JSON baseline the
//! benchmarks compare against) is the seam "records → encoded batch".

use crate::batcher::OpenBatch;
use crate::codec::Compression;
use crate::datum::{Datum, LogContent, LogDatum, StateChange};
use crate::transport::{EncodeError, EncodedBatch};
use crate::wire::{self, WireFormat};

use super::budget::{BATCH_OVERHEAD, state_change_cost};
use super::config::{BatchFormat, PipelineConfig};

/// Turns open batches into encoded ones, with the state that choice needs.
#[derive(Clone, Debug)]
pub struct BatchEncoder {
    format: WireFormat,
    batch_format: BatchFormat,
    /// The codec of every batch and stream (see [`BatchEncoder::compression`]).
    compression: Compression,
    /// Try the raw rendering of each batch (`PipelineConfig::smallest_rendering`, `v1`).
    try_raw_rendering: bool,
    raw_rendering_backoff: RawRenderingBackoff,
    batches_rendered_raw: u64,
}

impl BatchEncoder {
    /// The encoder `config` asks for.
    pub fn new(config: &PipelineConfig) -> Self {
        let compression = match config.batch_format {
            BatchFormat::Stateful => config.transport.compression,
            // The HTTP intake decodes one frame per request: the stream codec becomes zstd.
            BatchFormat::HttpJson => config.transport.compression.fallback(),
        };
        BatchEncoder {
            format: config.wire_format(),
            batch_format: config.batch_format,
            compression,
            // The raw rendering of a `v2` batch could not carry an empty content (§9.1).
            try_raw_rendering: config.batch_format == BatchFormat::Stateful
                && config.smallest_rendering
                && config.profile() == crate::Profile::V1
                && config.translator.patterns.enabled,
            raw_rendering_backoff: RawRenderingBackoff::default(),
            batches_rendered_raw: 0,
        }
    }

    /// The codec of every stream (`dd-content-encoding`): the configured one, or for the HTTP
    /// baseline its per-batch fallback. The Transport is built with it.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The batch format.
    pub fn batch_format(&self) -> BatchFormat {
        self.batch_format
    }

    /// Whether pattern logs keep their text for the raw rendering.
    pub fn keeps_pattern_texts(&self) -> bool {
        self.try_raw_rendering
    }

    /// Batches sent with their pattern logs as raw text, because that was smaller.
    pub fn batches_rendered_raw(&self) -> u64 {
        self.batches_rendered_raw
    }

    /// Encodes `open` (§4 steps 2–6); `open` is left unchanged, so a failure leaves it open.
    ///
    /// When the batch kept its pattern logs' texts, it is also encoded with those logs as raw
    /// text logs (every define kept, so the state stays the same) and the smaller of the two
    /// is sent: zstd sometimes matches a batch's raw lines better than their values. With
    /// `zstd-stream` the batch is stored serialized ([`Compression::storage`]) and the two
    /// renderings are judged by their size as one per-batch `zstd` frame each.
    pub fn encode(&mut self, open: &OpenBatch) -> Result<EncodedBatch<Vec<StateChange>>, EncodeError> {
        let storage = self.compression.storage();
        let (payload, state_changes) = match self.batch_format {
            BatchFormat::HttpJson => {
                let mut json = Vec::with_capacity(open.json.len() + 2);
                json.push(b'[');
                json.extend_from_slice(&open.json);
                json.push(b']');
                (wire::compress(&json, &storage)?, Vec::new())
            }
            BatchFormat::Stateful => {
                let state_changes: Vec<StateChange> = open
                    .datums
                    .iter()
                    .filter_map(|d| match d {
                        Datum::State(change) => Some(change.clone()),
                        Datum::Log(_) => None,
                    })
                    .collect();
                let try_raw = self.try_raw_rendering && self.raw_rendering_backoff.should_try();
                let (payload, rendered_raw) = self.encode_datums(open, try_raw)?;
                self.batches_rendered_raw += u64::from(rendered_raw == Some(true));
                self.raw_rendering_backoff.record(rendered_raw);
                (payload, state_changes)
            }
        };
        let held_bytes = payload.data.len() as u64
            + state_changes.iter().map(state_change_cost).sum::<u64>()
            + BATCH_OVERHEAD;
        Ok(EncodedBatch {
            data: payload.data,
            state_changes,
            records: open.records,
            raw_bytes: open.raw_bytes,
            pre_compression_len: payload.pre_compression_len,
            ack_tokens: open.ack_tokens,
            held_bytes,
        })
    }

    /// The datums' payload and, when a raw rendering was tried, whether it was sent.
    fn encode_datums(
        &self,
        open: &OpenBatch,
        try_raw_rendering: bool,
    ) -> Result<(wire::EncodedPayload, Option<bool>), EncodeError> {
        let storage = self.compression.storage();
        let mut payload = self.format.encode_batch(&open.datums, &storage)?;
        let mut rendered_raw = None;
        if let Some(datums) = try_raw_rendering.then(|| raw_rendering(open)).flatten() {
            let raw = self.format.encode_batch(&datums, &storage)?;
            let smaller = if storage == self.compression {
                raw.data.len() < payload.data.len()
            } else {
                let judge = |data: &[u8]| {
                    let frame = self.compression.fallback().compress(data);
                    frame.map(|f| f.len()).map_err(|e| EncodeError(e.to_string()))
                };
                judge(&raw.data)? < judge(&payload.data)?
            };
            if smaller {
                payload = raw;
            }
            rendered_raw = Some(smaller);
        }
        Ok((payload, rendered_raw))
    }
}

/// The datums with every pattern log sent as its raw text; `None` without kept texts.
fn raw_rendering(open: &OpenBatch) -> Option<Vec<Datum>> {
    if open.pattern_texts.is_empty() {
        return None;
    }
    let mut texts = open.pattern_texts.iter();
    let mut datums = Vec::with_capacity(open.datums.len());
    for datum in &open.datums {
        let datum = match datum {
            Datum::Log(log @ LogDatum { content: LogContent::Pattern { .. }, .. }) => {
                // Pattern logs are valid UTF-8 by construction (escaped texts go raw, §9.1).
                let text = std::str::from_utf8(texts.next()?).ok()?;
                // Only the metadata is copied: the values are what this rendering drops.
                Datum::Log(LogDatum {
                    timestamp_ms: log.timestamp_ms,
                    content: LogContent::Raw(text.to_owned()),
                    status: log.status.clone(),
                    service: log.service.clone(),
                    tags: log.tags.clone(),
                    uuid: log.uuid.clone(),
                })
            }
            other => other.clone(),
        };
        datums.push(datum);
    }
    texts.next().is_none().then_some(datums)
}

/// When to try a batch's raw rendering: every batch while it wins now and then, and after
/// each loss in a row it skips twice as many batches as before (at most 15), so a stream
/// whose raw rendering never wins pays for it on one batch in sixteen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawRenderingBackoff {
    losses: u32,
    skip: u32,
}

impl RawRenderingBackoff {
    /// The most losses in a row that lengthen the wait (2^4 − 1 = 15 batches skipped).
    const MAX_LOSSES: u32 = 4;

    /// Whether to try the raw rendering of the next batch.
    pub fn should_try(&self) -> bool {
        self.skip == 0
    }

    /// Records the outcome of a sent batch: `None` when its raw rendering was not tried,
    /// else whether it won.
    pub fn record(&mut self, outcome: Option<bool>) {
        match outcome {
            None => self.skip = self.skip.saturating_sub(1),
            Some(true) => self.losses = 0,
            Some(false) => {
                self.losses = (self.losses + 1).min(Self::MAX_LOSSES);
                self.skip = (1 << self.losses) - 1;
            }
        }
    }
}

#[cfg(test)]
mod tests;
