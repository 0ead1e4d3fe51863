//! The inflight tracker (spec `transport.md` §7): a FIFO of pushed batches whose oldest part
//! (the *sent* region) was pulled on the current or a previous stream and awaits its ack, and
//! whose rest (the *unsent* region) has not been pulled on the current stream.

use std::collections::VecDeque;

use crate::time::Timestamp;

use super::types::EncodedBatch;

/// One batch in the tracker.
#[derive(Debug)]
pub struct Entry<C> {
    /// The batch as pushed.
    pub batch: EncodedBatch<C>,
    /// Its id on the stream it was last pulled on (meaningful in the sent region only).
    pub batch_id: u32,
    /// When it was last pulled (meaningful in the sent region only).
    pub sent_at: Timestamp,
}

/// Sent and unsent batches, with the capacity rules of §7.1.
#[derive(Debug)]
pub struct Tracker<C> {
    entries: VecDeque<Entry<C>>,
    /// The first `sent` entries form the sent region.
    sent: usize,
    bytes: u64,
    held_bytes: u64,
    capacity: usize,
    max_bytes: u64,
}

impl<C> Tracker<C> {
    /// An empty tracker holding at most `capacity` batches and, when `max_bytes > 0`, admitting
    /// a batch only while it holds fewer encoded bytes than that.
    pub fn new(capacity: usize, max_bytes: u64) -> Self {
        // Pre-allocate modestly: a large capacity is a limit, not an expected size.
        Tracker {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            sent: 0,
            bytes: 0,
            held_bytes: 0,
            capacity,
            max_bytes,
        }
    }

    /// Whether one more batch is admitted.
    pub fn has_room(&self) -> bool {
        self.entries.len() < self.capacity && (self.max_bytes == 0 || self.bytes < self.max_bytes)
    }

    /// Batches held, sent and unsent.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the tracker holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What the held batches take in memory (their `held_bytes`).
    pub fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// Batches in the sent region.
    pub fn sent_len(&self) -> usize {
        self.sent
    }

    /// Whether a sent batch awaits its ack.
    pub fn awaits_ack(&self) -> bool {
        self.sent > 0
    }

    /// Appends a batch to the unsent region (the caller checked `has_room`).
    pub fn push(&mut self, batch: EncodedBatch<C>) {
        self.bytes = self.bytes.saturating_add(batch.data.len() as u64);
        self.held_bytes = self.held_bytes.saturating_add(batch.held_bytes);
        self.entries.push_back(Entry { batch, batch_id: 0, sent_at: Timestamp::ZERO });
    }

    /// The oldest unsent batch.
    pub fn next_unsent(&self) -> Option<&EncodedBatch<C>> {
        self.entries.get(self.sent).map(|e| &e.batch)
    }

    /// Moves the oldest unsent batch to the sent region under `batch_id`.
    pub fn mark_next_sent(&mut self, batch_id: u32, now: Timestamp) -> Option<&EncodedBatch<C>> {
        let entry = self.entries.get_mut(self.sent)?;
        entry.batch_id = batch_id;
        entry.sent_at = now;
        self.sent += 1;
        Some(&entry.batch)
    }

    /// The oldest sent batch's id and pull time.
    pub fn oldest_sent(&self) -> Option<(u32, Timestamp)> {
        if self.sent == 0 {
            return None;
        }
        self.entries.front().map(|e| (e.batch_id, e.sent_at))
    }

    /// Removes the oldest sent batch (its ack arrived).
    pub fn pop_acked(&mut self) -> Option<Entry<C>> {
        if self.sent == 0 {
            return None;
        }
        let entry = self.entries.pop_front()?;
        self.sent -= 1;
        self.bytes = self.bytes.saturating_sub(entry.batch.data.len() as u64);
        self.held_bytes = self.held_bytes.saturating_sub(entry.batch.held_bytes);
        Some(entry)
    }

    /// A new stream: every sent batch becomes unsent again, in its original order.
    pub fn restart(&mut self) {
        self.sent = 0;
    }

    /// Removes everything (shutdown), oldest first.
    pub fn drain_all(&mut self) -> impl Iterator<Item = Entry<C>> + '_ {
        self.sent = 0;
        self.bytes = 0;
        self.held_bytes = 0;
        self.entries.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn batch(n: u8, len: usize) -> EncodedBatch<()> {
        EncodedBatch {
            data: Bytes::from(vec![n; len]),
            state_changes: (),
            records: 1,
            raw_bytes: 1,
            pre_compression_len: len as u64,
            ack_tokens: u32::from(n),
            held_bytes: len as u64,
        }
    }

    #[test]
    fn capacity_counts_sent_and_unsent() {
        let mut t = Tracker::new(2, 0);
        t.push(batch(1, 1));
        t.mark_next_sent(1, Timestamp(0));
        t.push(batch(2, 1));
        assert!(!t.has_room());
        t.pop_acked();
        assert!(t.has_room());
    }

    #[test]
    fn byte_cap_admits_while_below_and_an_empty_tracker_admits_one() {
        let mut t = Tracker::new(10, 100);
        assert!(t.has_room());
        t.push(batch(1, 500));
        assert!(!t.has_room());
        let mut t = Tracker::new(10, 100);
        t.push(batch(1, 99));
        assert!(t.has_room());
        t.push(batch(2, 10));
        assert!(!t.has_room());
    }

    #[test]
    fn restart_replays_sent_batches_in_order() {
        let mut t = Tracker::new(10, 0);
        for n in 1..=3 {
            t.push(batch(n, 1));
        }
        t.mark_next_sent(1, Timestamp(0));
        t.mark_next_sent(2, Timestamp(0));
        assert_eq!(t.oldest_sent(), Some((1, Timestamp(0))));
        t.restart();
        assert_eq!(t.sent_len(), 0);
        assert_eq!(t.next_unsent().map(|b| b.ack_tokens), Some(1));
        let ids: Vec<u64> = (1..=3)
            .filter_map(|i| t.mark_next_sent(i, Timestamp(5)).map(|b| u64::from(b.ack_tokens)))
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert!(t.mark_next_sent(4, Timestamp(5)).is_none());
    }

    #[test]
    fn pop_requires_a_sent_batch() {
        let mut t = Tracker::new(10, 0);
        t.push(batch(1, 4));
        assert!(t.pop_acked().is_none());
        t.mark_next_sent(1, Timestamp(0));
        assert_eq!(t.pop_acked().map(|e| e.batch_id), Some(1));
        assert_eq!(t.bytes(), 0);
    }
}
