//! A simple define/delete [`SnapshotSource`] for tests, examples and benchmarks.
//!
//! [`SimpleState`] holds `id → value` definitions. A batch's [`Changes`] is a list of
//! [`Change`]s applied in order when the batch is acked. Its batch 0 is deterministic text:
//! one `id=value` line per definition, sorted by id, so tests can compare snapshots as strings.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::types::{EncodeError, EncodedBatch, Snapshot, SnapshotSource};

/// One state change of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace definition `id`.
    Define {
        /// The definition's id.
        id: u64,
        /// Its value.
        value: String,
    },
    /// Remove definition `id`.
    Delete {
        /// The definition's id.
        id: u64,
    },
}

/// The changes of one batch, in order.
pub type Changes = Vec<Change>;

/// An acked define/delete state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimpleState {
    definitions: BTreeMap<u64, String>,
    /// When true (deletes are not sent), every define grows the receiver's stream state by its
    /// value length + 32 bytes (`transport.md` §8.2); when false, `stream_bytes` reports 0.
    pub count_stream_bytes: bool,
    /// When set, `encode_snapshot` fails with this message (to exercise the `Internal` halt).
    pub fail_encoding: Option<String>,
    /// How many times `apply` was called.
    pub applied_batches: u64,
}

impl SimpleState {
    /// An empty state whose `stream_bytes` is 0 (deletes are sent).
    pub fn new() -> Self {
        SimpleState::default()
    }

    /// An empty state that counts receiver-side growth (deletes are not sent).
    pub fn counting_stream_bytes() -> Self {
        SimpleState { count_stream_bytes: true, ..SimpleState::default() }
    }

    /// The acked definitions.
    pub fn definitions(&self) -> &BTreeMap<u64, String> {
        &self.definitions
    }

    /// The batch 0 bytes this state's snapshot would hold for `definitions`.
    pub fn snapshot_text<'a>(definitions: impl IntoIterator<Item = (u64, &'a str)>) -> String {
        definitions.into_iter().map(|(id, value)| format!("{id}={value}\n")).collect()
    }

    fn define_bytes(value: &str) -> u64 {
        value.len() as u64 + 32
    }
}

impl SnapshotSource for SimpleState {
    type Changes = Changes;

    fn apply(&mut self, changes: &Changes) {
        self.applied_batches += 1;
        for change in changes {
            match change {
                Change::Define { id, value } => {
                    self.definitions.insert(*id, value.clone());
                }
                Change::Delete { id } => {
                    self.definitions.remove(id);
                }
            }
        }
    }

    fn stream_bytes(&self, changes: &Changes) -> u64 {
        if !self.count_stream_bytes {
            return 0;
        }
        changes
            .iter()
            .map(|c| match c {
                Change::Define { value, .. } => Self::define_bytes(value),
                Change::Delete { .. } => 0,
            })
            .sum()
    }

    fn encode_snapshot(&mut self) -> Result<Snapshot, EncodeError> {
        if let Some(message) = &self.fail_encoding {
            return Err(EncodeError(message.clone()));
        }
        let text = Self::snapshot_text(self.definitions.iter().map(|(id, v)| (*id, v.as_str())));
        let stream_bytes = if self.count_stream_bytes {
            self.definitions.values().map(|v| Self::define_bytes(v)).sum()
        } else {
            0
        };
        Ok(Snapshot { data: Bytes::from(text), definitions: self.definitions.len(), stream_bytes })
    }
}

/// A batch of `records` records carrying `tokens` (the Transport sees their count only; a
/// test keeps the tokens in push order, as the Pipeline does), with the given payload and
/// changes; raw, held and pre-compression sizes are the payload length.
pub fn batch(
    data: impl Into<Bytes>,
    changes: Changes,
    records: u32,
    tokens: Vec<u64>,
) -> EncodedBatch<Changes> {
    let data = data.into();
    let len = data.len() as u64;
    EncodedBatch {
        data,
        state_changes: changes,
        records,
        raw_bytes: len,
        pre_compression_len: len,
        ack_tokens: u32::try_from(tokens.len()).unwrap_or(u32::MAX),
        held_bytes: len,
    }
}

/// A define change.
pub fn define(id: u64, value: &str) -> Change {
    Change::Define { id, value: value.to_owned() }
}

/// A delete change.
pub fn delete(id: u64) -> Change {
    Change::Delete { id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_lists_defines_sorted_after_deletes() {
        let mut s = SimpleState::counting_stream_bytes();
        s.apply(&vec![define(2, "b"), define(1, "a"), define(3, "c")]);
        s.apply(&vec![delete(3)]);
        let snap = s.encode_snapshot().unwrap();
        assert_eq!(&snap.data[..], b"1=a\n2=b\n");
        assert_eq!(snap.definitions, 2);
        assert_eq!(snap.stream_bytes, 66);
        assert_eq!(s.stream_bytes(&vec![define(9, "xy"), delete(1)]), 34);
    }
}
