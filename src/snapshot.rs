//! The acked state: what a new stream receives as batch 0 (spec `encoding.md` §8.5,
//! `transport.md` §8).
//!
//! It changes only when a batch is acked ([`SnapshotSource::apply`]); the translator's live
//! state runs ahead of it by the batches still in flight.

use std::collections::BTreeMap;

use crate::codec::Compression;
use crate::datum::{DictDef, PatternDef, SchemaDef, StateChange};
use crate::transport::{EncodeError, Snapshot, SnapshotSource};
use crate::wire::{self, WireFormat};

/// The definitions the server holds once every acked batch is applied, sorted by id so that
/// batch 0 is deterministic.
#[derive(Clone, Debug)]
pub struct AckedState {
    format: WireFormat,
    compression: Compression,
    patterns: BTreeMap<u64, PatternDef>,
    dict: BTreeMap<u64, DictDef>,
    schemas: BTreeMap<u64, SchemaDef>,
}

impl AckedState {
    /// An empty state that encodes snapshots in `format`, compressed with `compression`.
    pub fn new(format: WireFormat, compression: Compression) -> Self {
        AckedState {
            format,
            compression,
            patterns: BTreeMap::new(),
            dict: BTreeMap::new(),
            schemas: BTreeMap::new(),
        }
    }

    /// Number of live definitions (patterns, entries, schemas).
    pub fn definitions(&self) -> usize {
        self.patterns.len() + self.dict.len() + self.schemas.len()
    }

    /// Whether no definition is held.
    pub fn is_empty(&self) -> bool {
        self.definitions() == 0
    }

    /// The acked pattern with this id.
    pub fn pattern(&self, id: u64) -> Option<&PatternDef> {
        self.patterns.get(&id)
    }

    /// The acked dictionary entry with this id.
    pub fn dict_entry(&self, id: u64) -> Option<&str> {
        self.dict.get(&id).map(|d| d.value.as_str())
    }

    /// The acked schema with this id.
    pub fn schema(&self, id: u64) -> Option<&SchemaDef> {
        self.schemas.get(&id)
    }

    /// Batch 0's define datums in order: patterns, then dictionary entries, then schemas, each
    /// sorted by id.
    pub fn defines(&self) -> impl Iterator<Item = StateChange> + '_ {
        let patterns = self.patterns.values().cloned().map(StateChange::PatternDefine);
        let dict = self.dict.values().cloned().map(StateChange::DictDefine);
        let schemas = self.schemas.values().cloned().map(StateChange::SchemaDefine);
        patterns.chain(dict).chain(schemas)
    }

    fn apply_one(&mut self, change: &StateChange) {
        match change {
            StateChange::PatternDefine(p) => {
                self.patterns.insert(p.id, p.clone());
            }
            StateChange::PatternDelete(id) => {
                self.patterns.remove(id);
            }
            StateChange::DictDefine(d) => {
                self.dict.insert(d.id, d.clone());
            }
            StateChange::DictDelete(id) => {
                self.dict.remove(id);
            }
            StateChange::SchemaDefine(s) => {
                self.schemas.insert(s.id, s.clone());
            }
            StateChange::SchemaDelete(id) => {
                self.schemas.remove(id);
            }
        }
    }
}

impl SnapshotSource for AckedState {
    type Changes = Vec<StateChange>;

    fn apply(&mut self, changes: &Vec<StateChange>) {
        for change in changes {
            self.apply_one(change);
        }
    }

    fn stream_bytes(&self, changes: &Vec<StateChange>) -> u64 {
        if self.format.sends_deletes() {
            // The receiver's state follows the translator's, which `state.max_bytes` bounds.
            return 0;
        }
        changes.iter().map(StateChange::receiver_state_bytes).sum()
    }

    fn encode_snapshot(&mut self) -> Result<Snapshot, EncodeError> {
        let defines: Vec<StateChange> = self.defines().collect();
        let serialized = self.format.serialize_defines(&defines)?;
        let payload = wire::compress(&serialized, &self.compression)?;
        Ok(Snapshot {
            data: payload.data,
            definitions: defines.len(),
            stream_bytes: self.stream_bytes(&defines),
        })
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::Profile;
    use crate::codec::decompress;
    use crate::proto::v1 as pb1;
    use crate::proto::v2 as pb2;

    fn pattern(id: u64) -> StateChange {
        StateChange::PatternDefine(PatternDef { id, template: format!("p{id} "), pos_list: vec![3] })
    }

    fn dict(id: u64) -> StateChange {
        StateChange::DictDefine(DictDef { id, value: format!("d{id}") })
    }

    fn v1_ids(snapshot: &Snapshot, compression: Compression) -> Vec<(char, u64)> {
        let bytes = decompress(compression.encoding, &snapshot.data, 1 << 20).unwrap();
        pb1::DatumSequence::decode(bytes.as_slice())
            .unwrap()
            .data
            .into_iter()
            .map(|d| match d.data {
                Some(pb1::datum::Data::PatternDefine(p)) => ('p', p.pattern_id),
                Some(pb1::datum::Data::DictEntryDefine(e)) => ('d', e.id),
                other => panic!("unexpected datum in a snapshot: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn snapshot_holds_patterns_then_entries_each_sorted_by_id() {
        let compression = Compression::zstd(1);
        let mut state = AckedState::new(WireFormat::new(Profile::V1), compression);
        state.apply(&vec![dict(5), pattern(3), dict(1), pattern(1)]);
        state.apply(&vec![pattern(2), StateChange::PatternDelete(3), StateChange::DictDelete(5), dict(4)]);
        let snapshot = state.encode_snapshot().unwrap();
        assert_eq!(snapshot.definitions, 4);
        assert_eq!(v1_ids(&snapshot, compression), [('p', 1), ('p', 2), ('d', 1), ('d', 4)]);
        assert_eq!(snapshot.stream_bytes, 0, "v1 sends deletes, so the stream bound is off");
    }

    #[test]
    fn snapshot_is_deterministic_regardless_of_application_order() {
        for compression in [Compression::zstd(1), Compression::gzip(6), Compression::identity()] {
            let mut a = AckedState::new(WireFormat::new(Profile::V2), compression);
            let mut b = AckedState::new(WireFormat::new(Profile::V2), compression);
            a.apply(&vec![dict(2), dict(3), pattern(1), pattern(9)]);
            b.apply(&vec![pattern(9), dict(3)]);
            b.apply(&vec![pattern(1), dict(2)]);
            assert_eq!(a.encode_snapshot().unwrap(), b.encode_snapshot().unwrap());
        }
    }

    #[test]
    fn v2_snapshot_puts_schemas_last_and_counts_receiver_bytes() {
        let compression = Compression::identity();
        let mut state = AckedState::new(WireFormat::new(Profile::V2), compression);
        let schema = StateChange::SchemaDefine(SchemaDef {
            id: 2,
            keys: vec![3],
            message_key_id: 4,
            value_kinds: vec![6],
        });
        state.apply(&vec![schema, dict(3), dict(4), pattern(1)]);
        let snapshot = state.encode_snapshot().unwrap();
        let kinds: Vec<u8> = pb2::LogDatumSequence::decode(&snapshot.data[..])
            .unwrap()
            .data
            .into_iter()
            .map(|d| match d.data {
                Some(pb2::log_datum::Data::PatternDefine(_)) => b'p',
                Some(pb2::log_datum::Data::DictEntryDefine(_)) => b'd',
                Some(pb2::log_datum::Data::JsonSchemaDefine(_)) => b's',
                _ => b'?',
            })
            .collect();
        assert_eq!(kinds, b"pdds");
        // pattern "p1 " + 1 offset, two 2-byte entries, a 1-key schema
        assert_eq!(snapshot.stream_bytes, (3 + 4 + 32) + 2 * (2 + 32) + (8 + 1 + 32));
    }

    #[test]
    fn stream_bytes_counts_defines_only_when_deletes_are_not_sent() {
        let changes = vec![dict(2), pattern(1), StateChange::DictDelete(2)];
        let v1_no_deletes = WireFormat { send_deletes: false, ..WireFormat::new(Profile::V1) };
        let state = AckedState::new(v1_no_deletes, Compression::identity());
        assert_eq!(state.stream_bytes(&changes), (2 + 32) + (3 + 4 + 32));
        let v1 = AckedState::new(WireFormat::new(Profile::V1), Compression::identity());
        assert_eq!(v1.stream_bytes(&changes), 0);
    }

    #[test]
    fn empty_state_encodes_an_empty_snapshot() {
        let mut state = AckedState::new(WireFormat::new(Profile::V1), Compression::zstd(1));
        let snapshot = state.encode_snapshot().unwrap();
        assert_eq!((snapshot.definitions, snapshot.stream_bytes), (0, 0));
        assert!(v1_ids(&snapshot, Compression::zstd(1)).is_empty());
    }
}
