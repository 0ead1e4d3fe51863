//! The demo's delivery check: every record arrived intact and in order (`encoding.md` §10.1,
//! §10.2), re-sent batches recognised and skipped.

use std::collections::HashMap;

use stateful_logs::receiver::ReceivedLog;
use stateful_logs::{Profile, Record};

use stateful_logs::testing::{Mismatch, check_equivalent};

/// The delivered records do not match the input.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A delivered record is not one of the input's.
    #[error("a delivered record (timestamp {timestamp}) matches no input record")]
    Unknown {
        /// Its timestamp.
        timestamp: i64,
    },
    /// A batch starts after a record not delivered yet: a record was lost or reordered.
    #[error("records {from}..{to} were skipped: a batch started at record {to}")]
    Gap {
        /// The first missing record.
        from: usize,
        /// Where the batch started.
        to: usize,
    },
    /// A delivered record differs from its input record.
    #[error("record {index}: {mismatch}")]
    Differs {
        /// Its input index.
        index: usize,
        /// How it differs.
        mismatch: Mismatch,
    },
    /// A batch runs past the end of the input.
    #[error("a batch holds more records than the input")]
    TooMany,
}

/// Checks delivered batches against the input records, in order, at least once.
pub struct DeliveryCheck<'a> {
    expected: &'a [Record],
    profile: Profile,
    /// (timestamp, tag string, content) → input index; unique for the benchmark mapping of
    /// §11 (timestamps count lines within a file; the tags name the file's system).
    positions: HashMap<(i64, String, Vec<u8>), usize>,
    verified: usize,
    duplicate_records: u64,
}

impl<'a> DeliveryCheck<'a> {
    /// A check of deliveries of `expected`, sent in this order with `profile`.
    pub fn new(expected: &'a [Record], profile: Profile) -> Self {
        let positions = expected
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.clamped_timestamp(), r.tag_string(profile), r.content.to_vec()), i))
            .collect();
        DeliveryCheck { expected, profile, positions, verified: 0, duplicate_records: 0 }
    }

    /// Checks one delivered batch: it must continue the input where the last new batch ended,
    /// or repeat already delivered records exactly (a batch re-sent on a later stream).
    pub fn check_batch(&mut self, logs: &[ReceivedLog]) -> Result<(), DeliveryError> {
        let Some(first) = logs.first() else { return Ok(()) };
        let key =
            (first.timestamp_ms, first.tags.clone().unwrap_or_default(), first.body_bytes().into_owned());
        let start =
            *self.positions.get(&key).ok_or(DeliveryError::Unknown { timestamp: first.timestamp_ms })?;
        if start > self.verified {
            return Err(DeliveryError::Gap { from: self.verified, to: start });
        }
        let end = start + logs.len();
        let want = self.expected.get(start..end).ok_or(DeliveryError::TooMany)?;
        for (offset, (got, want)) in logs.iter().zip(want).enumerate() {
            check_equivalent(self.profile, got, want)
                .map_err(|mismatch| DeliveryError::Differs { index: start + offset, mismatch })?;
        }
        let new_from = self.verified.max(start);
        self.duplicate_records += (new_from - start) as u64;
        self.verified = self.verified.max(end);
        Ok(())
    }

    /// Input records delivered and verified so far (a prefix of the input).
    pub fn verified(&self) -> usize {
        self.verified
    }

    /// Records delivered more than once (re-sent batches).
    pub fn duplicate_records(&self) -> u64 {
        self.duplicate_records
    }

    /// Whether every input record was delivered.
    pub fn complete(&self) -> bool {
        self.verified == self.expected.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateful_logs::receiver::LogBody;
    use stateful_logs_bench::benchmark_records;

    fn delivered(record: &Record) -> ReceivedLog {
        ReceivedLog {
            profile: Profile::V1,
            timestamp_ms: record.clamped_timestamp(),
            body: LogBody::Text(record.content.to_vec()),
            status: record.status().map(str::to_owned),
            service: None,
            tags: Some(record.tag_string(Profile::V1)),
            uuid: None,
        }
    }

    fn input() -> Vec<Record> {
        let text: String = (0..6).map(|i| format!("line {i}\n")).collect();
        benchmark_records("S_1.log", text.as_bytes())
    }

    #[test]
    fn in_order_batches_with_a_resent_batch_verify_every_record_once() {
        let records = input();
        let logs: Vec<ReceivedLog> = records.iter().map(delivered).collect();
        let mut check = DeliveryCheck::new(&records, Profile::V1);
        for batch in [&logs[0..2], &logs[2..4], &logs[2..4], &logs[4..6]] {
            check.check_batch(batch).expect("valid delivery");
        }
        assert!(check.complete());
        assert_eq!(check.duplicate_records(), 2);
    }

    #[test]
    fn a_skipped_batch_is_a_gap() {
        let records = input();
        let logs: Vec<ReceivedLog> = records.iter().map(delivered).collect();
        let mut check = DeliveryCheck::new(&records, Profile::V1);
        check.check_batch(&logs[0..2]).expect("valid");
        assert!(matches!(check.check_batch(&logs[4..6]), Err(DeliveryError::Gap { from: 2, to: 4 })));
    }

    #[test]
    fn a_changed_record_is_reported_with_its_index() {
        let records = input();
        let mut logs: Vec<ReceivedLog> = records.iter().map(delivered).collect();
        logs[1].body = LogBody::Text(b"tampered".to_vec());
        let mut check = DeliveryCheck::new(&records, Profile::V1);
        assert!(matches!(check.check_batch(&logs[0..2]), Err(DeliveryError::Differs { index: 1, .. })));
    }
}
