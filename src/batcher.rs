//! The open batch (spec `encoding.md` §3.2) and its encoding at flush (§4).
//!
//! Only log records count toward the limits: at most `max_batch_items` records and
//! `max_batch_bytes` bytes of raw content. The flush deadline runs from the batch's first
//! record, so no record waits longer than `batch_wait`.

use bytes::Bytes;

use crate::codec::Compression;
use crate::datum::{Datum, LogContent, LogDatum, StateChange};
use crate::time::Timestamp;
use crate::transport::{EncodeError, EncodedBatch};
use crate::wire::WireFormat;

/// The batch limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Records per batch (1,000).
    pub max_items: u32,
    /// Raw content bytes per batch (5,000,000).
    pub max_bytes: u64,
    /// Flush deadline after the batch's first record, in ms (5,000).
    pub batch_wait_ms: u64,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits { max_items: 1000, max_bytes: 5_000_000, batch_wait_ms: 5000 }
    }
}

/// The datums and ack tokens of the records admitted since the last flush.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenBatch {
    /// Datums in order: each record's deletes, defines, then its log.
    pub datums: Vec<Datum>,
    /// Log records.
    pub records: u32,
    /// Their raw content bytes.
    pub raw_bytes: u64,
    /// Tokens of the records that carry one, in input order.
    pub ack_tokens: Vec<u64>,
    /// The text of each pattern log, in order, kept for the raw rendering (see
    /// [`OpenBatch::encode`]); empty when the Pipeline does not try it.
    pub pattern_texts: Vec<Bytes>,
}

impl OpenBatch {
    /// Encodes the batch for the Transport (§4 steps 2–6); the batch itself is left unchanged,
    /// so a failure leaves it open.
    ///
    /// When the batch kept its pattern logs' texts, it is also encoded with those logs as raw
    /// text logs (every define kept, so the state stays the same) and the smaller of the two
    /// is sent: zstd sometimes matches a batch's raw lines better than their values. The
    /// second return value is `None` when no raw rendering was tried (`try_raw_rendering`
    /// off, or no pattern log), else whether it was sent.
    ///
    /// With `zstd-stream` the batch is stored serialized ([`Compression::storage`]) and the
    /// two renderings are judged by their size as one per-batch `zstd` frame each.
    pub fn encode(
        &self,
        format: &WireFormat,
        compression: &Compression,
        try_raw_rendering: bool,
    ) -> Result<(EncodedBatch<Vec<StateChange>>, Option<bool>), EncodeError> {
        let state_changes: Vec<StateChange> = self
            .datums
            .iter()
            .filter_map(|d| match d {
                Datum::State(change) => Some(change.clone()),
                Datum::Log(_) => None,
            })
            .collect();
        let storage = compression.storage();
        let mut payload = format.encode_batch(&self.datums, &storage)?;
        let mut rendered_raw = None;
        if let Some(datums) = try_raw_rendering.then(|| self.raw_rendering()).flatten() {
            let raw = format.encode_batch(&datums, &storage)?;
            let smaller = if storage == *compression {
                raw.data.len() < payload.data.len()
            } else {
                let judge = |data: &[u8]| {
                    let frame = compression.fallback().compress(data);
                    frame.map(|f| f.len()).map_err(|e| EncodeError(e.to_string()))
                };
                judge(&raw.data)? < judge(&payload.data)?
            };
            if smaller {
                payload = raw;
            }
            rendered_raw = Some(smaller);
        }
        let batch = EncodedBatch {
            data: payload.data,
            state_changes,
            records: self.records,
            raw_bytes: self.raw_bytes,
            pre_compression_len: payload.pre_compression_len,
            ack_tokens: self.ack_tokens.clone(),
        };
        Ok((batch, rendered_raw))
    }

    /// The datums with every pattern log sent as its raw text; `None` without kept texts.
    fn raw_rendering(&self) -> Option<Vec<Datum>> {
        if self.pattern_texts.is_empty() {
            return None;
        }
        let mut texts = self.pattern_texts.iter();
        let mut datums = Vec::with_capacity(self.datums.len());
        for datum in &self.datums {
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

/// Holds the open batch and its flush deadline.
#[derive(Clone, Debug, Default)]
pub struct Batcher {
    limits: BatchLimits,
    open: OpenBatch,
    deadline: Option<Timestamp>,
}

impl Batcher {
    /// An empty batcher.
    pub fn new(limits: BatchLimits) -> Self {
        Batcher { limits, open: OpenBatch::default(), deadline: None }
    }

    /// The limits.
    pub fn limits(&self) -> &BatchLimits {
        &self.limits
    }

    /// The open batch.
    pub fn open(&self) -> &OpenBatch {
        &self.open
    }

    /// Whether the open batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.open.records == 0
    }

    /// Whether a record of raw size `raw_len` fits in the open batch (§3.2 step 2).
    pub fn fits(&self, raw_len: u64) -> bool {
        self.open.records < self.limits.max_items
            && self.open.raw_bytes.saturating_add(raw_len) <= self.limits.max_bytes
    }

    /// Whether the open batch reached a limit and must be flushed (§3.2 step 4).
    pub fn is_full(&self) -> bool {
        self.open.records >= self.limits.max_items || self.open.raw_bytes >= self.limits.max_bytes
    }

    /// Whether a record of raw size `raw_len` is too large for any batch (§3.3).
    pub fn is_too_large(&self, raw_len: u64) -> bool {
        raw_len > self.limits.max_bytes
    }

    /// Where the translator appends a record's datums.
    pub fn datums_mut(&mut self) -> &mut Vec<Datum> {
        &mut self.open.datums
    }

    /// Keeps the text of the pattern log just appended, for the raw rendering.
    pub fn keep_pattern_text(&mut self, text: Bytes) {
        self.open.pattern_texts.push(text);
    }

    /// Counts a record whose datums were just appended (§3.2 steps 3 and 5).
    pub fn record_added(&mut self, now: Timestamp, raw_len: u64, ack_token: Option<u64>) {
        if self.open.records == 0 {
            self.deadline = Some(now.add_millis(self.limits.batch_wait_ms));
        }
        self.open.records += 1;
        self.open.raw_bytes += raw_len;
        self.open.ack_tokens.extend(ack_token);
    }

    /// The flush deadline, while the batch holds records.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// Empties the open batch after it was pushed, keeping its vectors' allocations: the next
    /// batch fills them again without regrowing them record by record.
    pub fn clear(&mut self) {
        self.deadline = None;
        let OpenBatch { datums, records, raw_bytes, ack_tokens, pattern_texts } = &mut self.open;
        datums.clear();
        ack_tokens.clear();
        pattern_texts.clear();
        (*records, *raw_bytes) = (0, 0);
    }

    /// Empties the open batch and hands it back (discarded at shutdown).
    pub fn take(&mut self) -> OpenBatch {
        self.deadline = None;
        std::mem::take(&mut self.open)
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::datum::DictDef;
    use crate::{Profile, codec::decompress, proto::v1 as pb1};

    fn log() -> Datum {
        Datum::Log(LogDatum {
            timestamp_ms: 1,
            content: LogContent::Raw("x".into()),
            status: None,
            service: None,
            tags: None,
            uuid: None,
        })
    }

    #[test]
    fn item_limit_counts_records_only() {
        let mut b = Batcher::new(BatchLimits { max_items: 2, max_bytes: 100, batch_wait_ms: 10 });
        b.datums_mut().push(Datum::State(StateChange::DictDefine(DictDef { id: 1, value: "v".into() })));
        b.datums_mut().push(log());
        b.record_added(Timestamp(0), 1, None);
        assert!(!b.is_full() && b.fits(99));
        b.datums_mut().push(log());
        b.record_added(Timestamp(1), 1, Some(9));
        assert!(b.is_full() && !b.fits(0));
        assert_eq!(b.open().ack_tokens, [9]);
    }

    #[test]
    fn byte_limit_is_inclusive_and_oversized_records_are_too_large() {
        let mut b = Batcher::new(BatchLimits { max_items: 10, max_bytes: 100, batch_wait_ms: 10 });
        assert!(b.fits(100) && !b.is_too_large(100) && b.is_too_large(101));
        b.record_added(Timestamp(0), 60, None);
        assert!(b.fits(40) && !b.fits(41));
        b.record_added(Timestamp(0), 40, None);
        assert!(b.is_full());
    }

    #[test]
    fn deadline_runs_from_the_first_record_and_clears_on_take() {
        let mut b = Batcher::new(BatchLimits { max_items: 10, max_bytes: 100, batch_wait_ms: 5000 });
        assert_eq!(b.deadline(), None);
        b.record_added(Timestamp(100), 1, None);
        b.record_added(Timestamp(4000), 1, None);
        assert_eq!(b.deadline(), Some(Timestamp(5100)));
        let batch = b.take();
        assert_eq!((batch.records, batch.raw_bytes), (2, 2));
        assert!(b.is_empty() && b.deadline().is_none());
        b.record_added(Timestamp(7000), 1, Some(4));
        assert_eq!(b.deadline(), Some(Timestamp(12_000)));
        b.datums_mut().push(log());
        b.clear();
        assert_eq!((b.open(), b.deadline()), (&OpenBatch::default(), None));
    }

    #[test]
    fn encode_keeps_every_state_change_and_counts() {
        let mut b = Batcher::new(BatchLimits::default());
        b.datums_mut().push(Datum::State(StateChange::DictDefine(DictDef { id: 1, value: "v".into() })));
        b.datums_mut().push(Datum::State(StateChange::DictDelete(1)));
        b.datums_mut().push(log());
        b.record_added(Timestamp(0), 1, Some(3));
        let format = WireFormat { send_deletes: false, ..WireFormat::new(Profile::V1) };
        let (encoded, rendered_raw) = b.open().encode(&format, &Compression::zstd(1), true).unwrap();
        assert_eq!(rendered_raw, None, "no pattern text kept: no raw rendering tried");
        assert_eq!(encoded.state_changes.len(), 2);
        assert_eq!((encoded.records, encoded.raw_bytes, encoded.ack_tokens.clone()), (1, 1, vec![3]));
        let plain = decompress(crate::codec::ContentEncoding::Zstd, &encoded.data, 1 << 20).unwrap();
        assert_eq!(plain.len() as u64, encoded.pre_compression_len);
        assert_eq!(
            pb1::DatumSequence::decode(plain.as_slice()).unwrap().data.len(),
            2,
            "the delete is not sent"
        );
    }

    fn pattern_log(id: u64, values: &[&str]) -> Datum {
        Datum::Log(LogDatum {
            timestamp_ms: 0,
            content: LogContent::Pattern {
                pattern_id: id,
                values: values.iter().map(|v| crate::datum::Value::Str((*v).to_owned())).collect(),
                json: None,
            },
            status: None,
            service: None,
            tags: None,
            uuid: None,
        })
    }

    #[test]
    fn the_smaller_of_the_two_renderings_is_sent_with_the_same_state_changes() {
        let format = WireFormat::new(Profile::V1);
        let zstd = Compression::zstd(1);
        let define = crate::datum::PatternDef { id: 1, template: "a  b".into(), pos_list: vec![2] };
        // One value per log, each the whole variable text: the raw rendering only adds the
        // template's three bytes per log, and zstd matches them; the pattern logs win here.
        let mut b = Batcher::new(BatchLimits::default());
        b.datums_mut().push(Datum::State(StateChange::PatternDefine(define.clone())));
        for i in 0..50 {
            let value = format!("{i:x}{}", i * 7919 % 101);
            b.datums_mut().push(pattern_log(1, &[&value]));
            b.keep_pattern_text(format!("a {value} b").into());
            b.record_added(Timestamp(0), 4, None);
        }
        let open = b.open();
        let (encoded, rendered_raw) = open.encode(&format, &zstd, true).unwrap();
        let (not_tried, None) = open.encode(&format, &zstd, false).unwrap() else {
            panic!("a raw rendering that was not asked for must not be tried");
        };
        assert_eq!(not_tried.data.len(), format.encode_batch(&open.datums, &zstd).unwrap().data.len());
        let structured = format.encode_batch(&open.datums, &zstd).unwrap();
        let raw = format.encode_batch(&open.raw_rendering().unwrap(), &zstd).unwrap();
        assert_eq!(encoded.data.len(), structured.data.len().min(raw.data.len()));
        assert_eq!(rendered_raw, Some(raw.data.len() < structured.data.len()));
        assert_eq!(
            encoded.state_changes,
            vec![StateChange::PatternDefine(define)],
            "defines kept either way"
        );
        // The raw rendering swaps each pattern log for its text, in order, and nothing else.
        let rendering = open.raw_rendering().unwrap();
        assert_eq!(rendering[0], open.datums[0]);
        match &rendering[1] {
            Datum::Log(LogDatum { content: LogContent::Raw(text), .. }) => assert_eq!(text, "a 00 b"),
            other => panic!("expected a raw log, got {other:?}"),
        }
        // Eight one-digit values per log, each digit random: every value costs four bytes of
        // framing around one random byte, where the raw text has one space; raw wins here.
        let define = crate::datum::PatternDef {
            id: 2,
            template: format!("k{}", " ".repeat(8)),
            pos_list: (2..=9).collect(),
        };
        let mut digits = crate::rng::SplitMix64::new(7);
        let mut many = Batcher::new(BatchLimits::default());
        many.datums_mut().push(Datum::State(StateChange::PatternDefine(define.clone())));
        for _ in 0..200 {
            let values: Vec<String> = (0..8).map(|_| digits.uniform(0, 9).to_string()).collect();
            let text: String = values.iter().map(|v| format!(" {v}")).collect();
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            many.datums_mut().push(pattern_log(2, &refs));
            many.keep_pattern_text(format!("k{text}").into());
            many.record_added(Timestamp(0), 17, None);
        }
        let many_open = many.open();
        let (sent, Some(true)) = many_open.encode(&format, &zstd, true).unwrap() else {
            panic!("the raw rendering is smaller here and must be sent");
        };
        let raw = format.encode_batch(&many_open.raw_rendering().unwrap(), &zstd).unwrap();
        assert_eq!(sent.data, raw.data);
        assert_eq!(sent.state_changes, vec![StateChange::PatternDefine(define)], "defines kept");
        // A text count that does not match the pattern logs: no raw rendering.
        let mut b = b.clone();
        b.keep_pattern_text("extra".into());
        assert!(b.open().raw_rendering().is_none());
    }

    #[test]
    fn raw_rendering_backoff_doubles_the_skipped_batches_per_loss_and_resets_on_a_win() {
        let mut backoff = RawRenderingBackoff::default();
        let mut tried = Vec::new();
        // Never winning: tried on batches 0, 2, 6, 14, 30, 46, … (gaps 1, 3, 7, 15, 15).
        for batch in 0..50 {
            let t = backoff.should_try();
            if t {
                tried.push(batch);
            }
            backoff.record(t.then_some(false));
        }
        assert_eq!(tried, vec![0, 2, 6, 14, 30, 46]);
        // A win: tried on every batch again.
        while !backoff.should_try() {
            backoff.record(None);
        }
        backoff.record(Some(true));
        assert!(backoff.should_try());
        backoff.record(Some(true));
        assert!(backoff.should_try());
    }
}
