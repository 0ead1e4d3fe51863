//! The input-order queue of ack entries (spec `transport.md` §2.3, §7.4).
//!
//! One entry per record that carries a token: this queue is the only place tokens live. Entries
//! resolve out of order (a dropped record at once, a batch's records when the Transport reports
//! it acknowledged), but tokens reach the producer in input order: only the longest resolved
//! prefix is released. The Transport acknowledges batches in push order and says how many of
//! each batch's records carry a token, so an ack resolves the oldest waiting entries.

use std::collections::VecDeque;

use crate::transport::{AckEntry, AckOutcome};

/// The queue of unreleased entries.
#[derive(Clone, Debug, Default)]
pub struct AckQueue {
    entries: VecDeque<(u64, Option<AckOutcome>)>,
    /// Index of the first entry still waiting for the Transport (entries before it are
    /// resolved or dropped).
    next_waiting: usize,
}

impl AckQueue {
    /// Adds an entry for a record that goes to the Transport.
    pub fn push_waiting(&mut self, token: u64) {
        self.entries.push_back((token, None));
    }

    /// Adds an entry that is already resolved (a record dropped before batching).
    pub fn push_resolved(&mut self, token: u64, outcome: AckOutcome) {
        self.entries.push_back((token, Some(outcome)));
    }

    /// Resolves the `count` oldest waiting entries as `Acked`: the tokens of the batch the
    /// Transport just reported acknowledged.
    pub fn resolve_acked(&mut self, count: u32) {
        for _ in 0..count {
            self.skip_resolved();
            if let Some(slot) = self.entries.get_mut(self.next_waiting) {
                slot.1 = Some(AckOutcome::Acked);
                self.next_waiting += 1;
            }
        }
        self.skip_resolved();
    }

    fn skip_resolved(&mut self) {
        while self.entries.get(self.next_waiting).is_some_and(|e| e.1.is_some()) {
            self.next_waiting += 1;
        }
    }

    /// Removes and returns the longest resolved prefix.
    pub fn release(&mut self) -> Vec<AckEntry> {
        let mut out = Vec::new();
        while let Some(&(token, Some(outcome))) = self.entries.front() {
            self.entries.pop_front();
            self.next_waiting = self.next_waiting.saturating_sub(1);
            out.push(AckEntry { token, outcome });
        }
        out
    }

    /// Removes every entry; unresolved ones become `Unacknowledged` (end of shutdown).
    pub fn release_all(&mut self) -> Vec<AckEntry> {
        self.next_waiting = 0;
        self.entries
            .drain(..)
            .map(|(token, outcome)| AckEntry {
                token,
                outcome: outcome.unwrap_or(AckOutcome::Unacknowledged),
            })
            .collect()
    }

    /// Entries not yet released.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every entry was released.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::DropReason;

    #[test]
    fn only_the_resolved_prefix_is_released_in_input_order() {
        let mut q = AckQueue::default();
        q.push_waiting(1);
        q.push_resolved(2, AckOutcome::Dropped(DropReason::TooLarge));
        q.push_waiting(3);
        q.push_waiting(4);
        assert!(q.release().is_empty(), "token 1 still waits");
        q.resolve_acked(2);
        let released = q.release();
        assert_eq!(released.iter().map(|e| e.token).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(released[1].outcome, AckOutcome::Dropped(DropReason::TooLarge));
        q.push_resolved(5, AckOutcome::Dropped(DropReason::TooLarge));
        assert!(q.release().is_empty());
        q.resolve_acked(1);
        assert_eq!(q.release().iter().map(|e| e.token).collect::<Vec<_>>(), [4, 5]);
        assert!(q.is_empty());
    }

    #[test]
    fn release_all_marks_waiting_entries_unacknowledged() {
        let mut q = AckQueue::default();
        q.push_waiting(7);
        q.push_resolved(8, AckOutcome::Dropped(DropReason::TooLarge));
        q.push_waiting(9);
        let all = q.release_all();
        let outcomes: Vec<_> = all.iter().map(|e| (e.token, e.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                (7, AckOutcome::Unacknowledged),
                (8, AckOutcome::Dropped(DropReason::TooLarge)),
                (9, AckOutcome::Unacknowledged)
            ]
        );
    }

    #[test]
    fn repeated_tokens_are_resolved_by_position() {
        let mut q = AckQueue::default();
        q.push_waiting(1);
        q.push_waiting(1);
        q.resolve_acked(1);
        assert_eq!(q.release().len(), 1);
        assert_eq!(q.len(), 1);
    }
}
