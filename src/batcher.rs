//! The open batch (spec `encoding.md` §3.2); the Pipeline's encoding step
//! (`pipeline::encoding`) turns it into a batch at flush (§4).
//!
//! Only log records count toward the limits: at most `max_batch_items` records and
//! `max_batch_bytes` bytes of raw content. The flush deadline runs from the batch's first
//! record, so no record waits longer than `batch_wait`.

use bytes::Bytes;

use crate::datum::Datum;
use crate::time::Timestamp;

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

/// The records admitted since the last flush, as datums (the stateful encoding) or as the
/// HTTP baseline's JSON objects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenBatch {
    /// Datums in order: each record's deletes, defines, then its log.
    pub datums: Vec<Datum>,
    /// The HTTP JSON baseline's objects, comma-separated, without the enclosing brackets.
    pub json: Vec<u8>,
    /// Log records.
    pub records: u32,
    /// Their raw content bytes.
    pub raw_bytes: u64,
    /// How many of the records carry an ack token (the tokens stay in the Pipeline's ack queue).
    pub ack_tokens: u32,
    /// What the batch holds in memory and an upper bound of its serialized size: the sum of
    /// its records' costs (`pipeline::budget`).
    pub cost: u64,
    /// The text of each pattern log, in order, kept for the raw rendering; empty when the
    /// Pipeline does not try it.
    pub pattern_texts: Vec<Bytes>,
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

    /// Where the translator appends a record's datums.
    pub fn datums_mut(&mut self) -> &mut Vec<Datum> {
        &mut self.open.datums
    }

    /// Keeps the text of the pattern log just appended, for the raw rendering.
    pub fn keep_pattern_text(&mut self, text: Bytes) {
        self.open.pattern_texts.push(text);
    }

    /// Where the HTTP baseline appends a record's JSON object.
    pub fn json_mut(&mut self) -> &mut Vec<u8> {
        &mut self.open.json
    }

    /// Counts a record whose datums (or JSON object) were just appended (§3.2 steps 3 and 5),
    /// with its cost.
    pub fn record_added(&mut self, now: Timestamp, raw_len: u64, has_token: bool, cost: u64) {
        if self.open.records == 0 {
            self.deadline = Some(now.add_millis(self.limits.batch_wait_ms));
        }
        self.open.records += 1;
        self.open.raw_bytes += raw_len;
        self.open.ack_tokens += u32::from(has_token);
        self.open.cost += cost;
    }

    /// The flush deadline, while the batch holds records.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// Empties the open batch after it was pushed, keeping its vectors' allocations: the next
    /// batch fills them again without regrowing them record by record.
    pub fn clear(&mut self) {
        self.deadline = None;
        let OpenBatch { datums, json, records, raw_bytes, ack_tokens, cost, pattern_texts } = &mut self.open;
        datums.clear();
        json.clear();
        pattern_texts.clear();
        (*records, *raw_bytes, *ack_tokens, *cost) = (0, 0, 0, 0);
    }

    /// Empties the open batch and hands it back (discarded at shutdown).
    pub fn take(&mut self) -> OpenBatch {
        self.deadline = None;
        std::mem::take(&mut self.open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::{DictDef, LogContent, LogDatum, StateChange};

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
        b.record_added(Timestamp(0), 1, false, 1);
        assert!(!b.is_full() && b.fits(99));
        b.datums_mut().push(log());
        b.record_added(Timestamp(1), 1, true, 1);
        assert!(b.is_full() && !b.fits(0));
        assert_eq!((b.open().ack_tokens, b.open().cost), (1, 2));
    }

    #[test]
    fn byte_limit_is_inclusive() {
        let mut b = Batcher::new(BatchLimits { max_items: 10, max_bytes: 100, batch_wait_ms: 10 });
        assert!(b.fits(100));
        b.record_added(Timestamp(0), 60, false, 60);
        assert!(b.fits(40) && !b.fits(41));
        b.record_added(Timestamp(0), 40, false, 40);
        assert!(b.is_full());
    }

    #[test]
    fn deadline_runs_from_the_first_record_and_clears_on_take() {
        let mut b = Batcher::new(BatchLimits { max_items: 10, max_bytes: 100, batch_wait_ms: 5000 });
        assert_eq!(b.deadline(), None);
        b.record_added(Timestamp(100), 1, false, 1);
        b.record_added(Timestamp(4000), 1, false, 1);
        assert_eq!(b.deadline(), Some(Timestamp(5100)));
        let batch = b.take();
        assert_eq!((batch.records, batch.raw_bytes), (2, 2));
        assert!(b.is_empty() && b.deadline().is_none());
        b.record_added(Timestamp(7000), 1, true, 1);
        assert_eq!(b.deadline(), Some(Timestamp(12_000)));
        b.datums_mut().push(log());
        b.clear();
        assert_eq!((b.open(), b.deadline()), (&OpenBatch::default(), None));
    }
}
