//! One stream's state and the handling of one batch (`transport.md` §16 rules 2–6).

use prost::Message;

use super::batch::{Applied, Batch};
use super::config::ReceiverConfig;
use super::delta::{V1Delta, V2Delta};
use super::error::{BatchError, Violation};
use super::metrics::ReceiverMetrics;
use super::sequence::DatumSlices;
use super::state::Tables;
use super::{v1, v2};
use crate::codec::stream::StreamDecompressor;
use crate::codec::{self, ContentEncoding, DecompressError};
use crate::proto;
use crate::{Profile, Timestamp};

/// Everything the receiver holds for one open stream.
#[derive(Debug)]
pub(super) struct Stream {
    pub(super) profile: Profile,
    encoding: ContentEncoding,
    /// `zstd-stream` only: the stream's decompression context, fed every batch in order.
    decompressor: Option<StreamDecompressor>,
    /// The id of the last accepted batch.
    last_batch: Option<u32>,
    pub(super) tables: Tables,
    /// When the stream times out unless a batch arrives.
    pub(super) deadline: Timestamp,
}

impl Stream {
    pub(super) fn new(
        profile: Profile,
        encoding: ContentEncoding,
        max_window_log: u8,
        hash_seed: u64,
        deadline: Timestamp,
    ) -> Result<Self, DecompressError> {
        let decompressor =
            if encoding.is_stream() { Some(StreamDecompressor::new(max_window_log)?) } else { None };
        Ok(Stream {
            profile,
            encoding,
            decompressor,
            last_batch: None,
            tables: Tables::new(hash_seed),
            deadline,
        })
    }

    /// What the stream holds against `max_state_bytes`: its tables and, with `zstd-stream`,
    /// the decompression window.
    fn memory_bytes(&self) -> u64 {
        self.tables.bytes().saturating_add(self.decompressor.as_ref().map_or(0, |d| d.window_bytes()))
    }

    /// Checks, decodes and applies one batch. On error the stream must end: its state may hold
    /// part of the failed batch.
    pub(super) fn handle_batch(
        &mut self,
        config: &ReceiverConfig,
        batch_id: u32,
        data: &[u8],
        metrics: &mut ReceiverMetrics,
    ) -> Result<Applied, BatchError> {
        let fail = |datum, violation| BatchError { batch_id, datum, violation };
        let expected = match self.last_batch {
            None => (batch_id <= 1).then_some(batch_id),
            Some(n) => n.checked_add(1).filter(|&next| next == batch_id),
        };
        if expected.is_none() {
            let expected = match self.last_batch {
                None => "0 or 1".to_owned(),
                Some(n) => n
                    .checked_add(1)
                    .map_or_else(|| "none (the id space is used up)".into(), |n| n.to_string()),
            };
            return Err(fail(None, Violation::BatchOutOfSequence { got: batch_id, expected }));
        }
        let payload = match &mut self.decompressor {
            Some(d) => d.decompress_batch(data, config.max_decompressed_bytes),
            None => codec::decompress(self.encoding, data, config.max_decompressed_bytes),
        }
        .map_err(|e| fail(None, Violation::from(e)))?;
        let size = self.memory_bytes();
        if size > config.max_state_bytes {
            return Err(fail(None, Violation::StateTooLarge { size, limit: config.max_state_bytes }));
        }
        metrics.decompressed_bytes = metrics.decompressed_bytes.saturating_add(payload.len() as u64);
        if config.batch_format == crate::BatchFormat::HttpJson {
            let applied = super::http_json::read_batch(self.profile, batch_id, &payload, config)
                .map_err(|v| fail(None, v))?;
            self.last_batch = Some(batch_id);
            return Ok(applied);
        }
        DatumSlices::count(&payload, config.max_datums_per_batch).map_err(|v| fail(None, v))?;

        let mut batch = Batch::new(
            batch_id == 0,
            config.v1_delta_encoding,
            config.max_json_depth,
            config.max_delivered_bytes_per_batch,
        );
        let result = self.apply_all(&payload, &mut batch, config.max_state_bytes);
        for (field, n) in std::mem::take(&mut batch.ignored) {
            *metrics.ignored_fields.entry(field).or_default() += n;
        }
        result.map_err(|(index, kind, violation)| fail(Some((index, kind)), violation))?;
        self.last_batch = Some(batch_id);
        Ok(Applied { delivered_bytes: batch.delivered_bytes(), logs: batch.logs })
    }

    fn apply_all(
        &mut self,
        payload: &[u8],
        batch: &mut Batch,
        max_state_bytes: u64,
    ) -> Result<(), (usize, &'static str, Violation)> {
        let mut v1_delta = V1Delta::default();
        let mut v2_delta = V2Delta::default();
        for (index, slice) in DatumSlices::new(payload).enumerate() {
            let slice = slice.map_err(|v| (index, "datum", v))?;
            let (kind, result) = match self.profile {
                Profile::V1 => match proto::v1::Datum::decode(slice) {
                    Ok(datum) => (v1::kind(&datum), v1::apply(&mut self.tables, batch, &mut v1_delta, datum)),
                    Err(e) => ("datum", Err(Violation::MalformedDatum(e.to_string()))),
                },
                Profile::V2 => match proto::v2::LogDatum::decode(slice) {
                    Ok(datum) => (v2::kind(&datum), v2::apply(&mut self.tables, batch, &mut v2_delta, datum)),
                    Err(e) => ("datum", Err(Violation::MalformedDatum(e.to_string()))),
                },
            };
            result.map_err(|v| (index, kind, v))?;
            let size = self.memory_bytes();
            if size > max_state_bytes {
                return Err((index, kind, Violation::StateTooLarge { size, limit: max_state_bytes }));
            }
        }
        Ok(())
    }
}
