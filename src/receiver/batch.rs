//! What one batch produces while it is applied, and the byte budget it delivers under
//! (`transport.md` §16 rule 5): shared by the stream and the per-version readers.

use std::collections::BTreeMap;

use super::error::Violation;
use super::log::ReceivedLog;

/// How many more bytes the batch may deliver (§16 rule 5), so that one log cannot grow
/// without bound before it is counted (a template or a schema can repeat a large dictionary
/// entry many times).
#[derive(Clone, Copy, Debug)]
pub(super) struct Budget {
    /// Bytes left before `max_delivered_bytes_per_batch`.
    pub(super) remaining: u64,
    /// The configured limit, for the error.
    pub(super) limit: u64,
}

impl Budget {
    /// Refuses `used` bytes when they pass what is left.
    pub(super) fn check(&self, used: u64) -> Result<(), Violation> {
        if used > self.remaining { Err(Violation::DeliveredBytesExceeded(self.limit)) } else { Ok(()) }
    }

    /// Refuses wire text whose unescaped bytes must pass what is left. Unescaping shrinks text
    /// at most fourfold (an escape code point is four bytes of UTF-8 and becomes one byte), so
    /// this never refuses text whose bytes would fit; the exact count is checked on delivery.
    pub(super) fn check_wire_text(&self, text_len: usize) -> Result<(), Violation> {
        self.check((text_len as u64).div_ceil(4))
    }
}

/// What one batch produced while it was applied; discarded when the batch fails.
pub(super) struct Batch {
    snapshot: bool,
    pub(super) v1_delta_encoding: bool,
    pub(super) max_json_depth: usize,
    max_delivered_bytes: u64,
    delivered_bytes: u64,
    pub(super) logs: Vec<ReceivedLog>,
    /// `ignored_fields` counts (`wire.md` §9.2).
    pub(super) ignored: BTreeMap<&'static str, u64>,
}

impl Batch {
    /// An empty batch; batch 0 is the snapshot.
    pub(super) fn new(
        snapshot: bool,
        v1_delta_encoding: bool,
        max_json_depth: usize,
        max_delivered_bytes: u64,
    ) -> Self {
        Self {
            snapshot,
            v1_delta_encoding,
            max_json_depth,
            max_delivered_bytes,
            delivered_bytes: 0,
            logs: Vec::new(),
            ignored: BTreeMap::new(),
        }
    }

    /// Batch 0 may hold only define datums.
    pub(super) fn require_regular(&self) -> Result<(), Violation> {
        if self.snapshot { Err(Violation::NotADefineInSnapshot) } else { Ok(()) }
    }

    /// Counts a field that was present but is ignored.
    pub(super) fn ignore(&mut self, field: &'static str) {
        *self.ignored.entry(field).or_default() += 1;
    }

    /// Adds a reconstructed log whose body counts `body_bytes` (§16 rule 5).
    pub(super) fn deliver(&mut self, log: ReceivedLog, body_bytes: u64) -> Result<(), Violation> {
        self.delivered_bytes =
            self.delivered_bytes.saturating_add(body_bytes).saturating_add(log.metadata_bytes());
        if self.delivered_bytes > self.max_delivered_bytes {
            return Err(Violation::DeliveredBytesExceeded(self.max_delivered_bytes));
        }
        self.logs.push(log);
        Ok(())
    }

    /// What the batch may still deliver.
    pub(super) fn budget(&self) -> Budget {
        Budget {
            remaining: self.max_delivered_bytes.saturating_sub(self.delivered_bytes),
            limit: self.max_delivered_bytes,
        }
    }

    /// Bytes the delivered logs count.
    pub(super) fn delivered_bytes(&self) -> u64 {
        self.delivered_bytes
    }
}

/// The outcome of a batch the stream accepted.
pub(super) struct Applied {
    pub(super) logs: Vec<ReceivedLog>,
    pub(super) delivered_bytes: u64,
}
