//! Profile `v1`: `DatumSequence` of `Datum`, with or without batch delta encoding (§5.3).

use crate::Profile;
use crate::datum::{Datum, JsonFields, LogContent, LogDatum, StateChange, StringRef, Value};
use crate::proto::v1 as pb;
use crate::transport::EncodeError;

use super::unsupported;
use super::writer::{bytes_field, nested, sint64_field, uint64_field};

/// The previous log's tag value in this batch (§5.3), for omitting repeated tags.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PrevTags {
    /// No tags (also the state before the first log).
    None,
    /// A dict id.
    Dict(u64),
    /// An inline tag string: never equal to the next log's.
    Inline,
}

/// Per-batch encoder state; starts from zero for every batch (§5.1).
struct DeltaState {
    enabled: bool,
    last_ts: i64,
    last_pattern: u64,
    last_tags: PrevTags,
}

/// Writes one batch's wire datums, in order, as a serialized `DatumSequence` into `buf`.
pub(super) fn write_sequence<'a>(
    datums: impl Iterator<Item = &'a Datum>,
    delta: bool,
    buf: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let mut state = DeltaState { enabled: delta, last_ts: 0, last_pattern: 0, last_tags: PrevTags::None };
    for datum in datums {
        match datum {
            Datum::State(change) => {
                if let StateChange::PatternDefine(p) = change {
                    state.last_pattern = p.id;
                }
                prost::encoding::message::encode(1, &state_change(change)?, buf);
            }
            // `Datum.logs` (6) inside `DatumSequence.data` (1).
            Datum::Log(log) => nested(buf, 1, |buf| nested(buf, 6, |buf| state.write_log(log, buf)))?,
        }
    }
    Ok(())
}

/// Converts a define or delete.
pub(super) fn state_change(change: &StateChange) -> Result<pb::Datum, EncodeError> {
    use pb::datum::Data;
    let data = match change {
        StateChange::PatternDefine(p) => Data::PatternDefine(pb::PatternDefine {
            pattern_id: p.id,
            template: p.template.clone(),
            param_count: u32::try_from(p.pos_list.len())
                .map_err(|_| EncodeError(format!("pattern {} has too many wildcards", p.id)))?,
            pos_list: p.pos_list.clone(),
        }),
        StateChange::PatternDelete(id) => Data::PatternDelete(pb::PatternDelete { pattern_id: *id }),
        StateChange::DictDefine(d) => {
            Data::DictEntryDefine(pb::DictEntryDefine { id: d.id, value: d.value.clone() })
        }
        StateChange::DictDelete(id) => Data::DictEntryDelete(pb::DictEntryDelete { id: *id }),
        StateChange::SchemaDefine(_) | StateChange::SchemaDelete(_) => {
            return Err(unsupported(Profile::V1, "JSON schema datums"));
        }
    };
    Ok(pb::Datum { data: Some(data) })
}

impl DeltaState {
    /// Writes the body of the `Log` message: fields 1, 2 or 3, 4, 5, 6 (prost's tag order).
    fn write_log(&mut self, log: &LogDatum, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        if log.service.is_some() {
            return Err(unsupported(Profile::V1, "a service outside the tag string"));
        }
        let timestamp = if self.enabled {
            // Both values are clamped to ±(2^62 − 1) at admission, so the difference fits.
            let delta = log.timestamp_ms.wrapping_sub(self.last_ts);
            self.last_ts = log.timestamp_ms;
            delta
        } else {
            log.timestamp_ms
        };
        sint64_field(buf, 1, timestamp);
        match &log.content {
            LogContent::Raw(text) => bytes_field(buf, 3, text.as_bytes()),
            LogContent::RawJson { .. } => return Err(unsupported(Profile::V1, "v2 JSON columns")),
            LogContent::Pattern { pattern_id, values, json } => {
                let id = if self.enabled && *pattern_id == self.last_pattern { 0 } else { *pattern_id };
                self.last_pattern = *pattern_id;
                nested(buf, 2, |buf| write_structured(id, values, json.as_deref(), buf))?;
            }
        }
        if let Some(tagset) = self.tags(log.tags.as_ref()) {
            nested(buf, 4, |buf| {
                if let Some(tags) = tagset {
                    nested(buf, 1, |buf| write_string_ref(tags, buf));
                }
            });
        }
        if let Some(uuid) = &log.uuid {
            bytes_field(buf, 5, uuid.as_bytes());
        }
        if let Some(status) = &log.status {
            nested(buf, 6, |buf| write_string_ref(status, buf));
        }
        Ok(())
    }

    /// Whether the log carries a `TagSet` (`Some`), and its value (`None`: an empty `TagSet`).
    fn tags<'t>(&mut self, tags: Option<&'t StringRef>) -> Option<Option<&'t StringRef>> {
        let current = match tags {
            None => PrevTags::None,
            Some(StringRef::Dict(id)) => PrevTags::Dict(*id),
            Some(StringRef::Inline(_)) => PrevTags::Inline,
        };
        if !self.enabled {
            return tags.map(Some);
        }
        let same = current == self.last_tags && current != PrevTags::Inline;
        self.last_tags = current;
        // An empty `TagSet` says "no tags" explicitly when the previous log had some.
        (!same).then_some(tags)
    }
}

/// Writes the body of a `StructuredLog`: fields 1, 2, 4, 5, 6 (3 is never sent).
fn write_structured(
    pattern_id: u64,
    values: &[Value],
    json: Option<&JsonFields>,
    buf: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    uint64_field(buf, 1, pattern_id);
    for v in values {
        nested(buf, 2, |buf| write_value(v, buf))?;
    }
    match json {
        None => {}
        Some(JsonFields::V1(j)) => {
            nested(buf, 4, |buf| write_value(&j.message_key, buf))?;
            uint64_field(buf, 5, j.schema_id);
            for v in &j.values {
                nested(buf, 6, |buf| write_value(v, buf))?;
            }
        }
        Some(JsonFields::V2(_)) => return Err(unsupported(Profile::V1, "v2 JSON columns")),
    }
    Ok(())
}

/// Writes the body of a `DynamicValue` holding a string reference.
fn write_string_ref(r: &StringRef, buf: &mut Vec<u8>) {
    match r {
        StringRef::Dict(id) => prost::encoding::uint64::encode(4, id, buf),
        StringRef::Inline(s) => bytes_field(buf, 3, s.as_bytes()),
    }
}

/// Writes the body of a `DynamicValue` (a oneof: always written, even when 0).
fn write_value(v: &Value, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    use prost::encoding::{double, int64, uint64};
    match v {
        Value::Int { value, .. } => int64::encode(1, value, buf),
        Value::Float(f) => double::encode(2, f, buf),
        Value::Str(s) => bytes_field(buf, 3, s.as_bytes()),
        Value::Dict(id) => uint64::encode(4, id, buf),
        Value::Bool(_) => return Err(unsupported(Profile::V1, "boolean values")),
        Value::RawJson(_) => return Err(unsupported(Profile::V1, "raw JSON values")),
    }
    Ok(())
}
