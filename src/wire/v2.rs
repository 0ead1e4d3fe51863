//! Profile `v2`: `LogDatumSequence` of `LogDatum`, always delta-encoded (§5.2).

use crate::Profile;
use crate::datum::{Datum, JsonFields, LogContent, LogDatum, StateChange, StringRef, Value};
use crate::proto::v2 as pb;
use crate::transport::EncodeError;

use super::unsupported;
use super::writer::{bytes_field, nested, sint64_field, uint64_field};

/// The sentinel for "none" in `status`, `service`, `tags` and `json_schema_id`.
const NONE: u64 = 1;

/// Per-batch encoder state; starts from zero for every batch (§5.1).
#[derive(Default)]
struct DeltaState {
    last_ts: i64,
    last_pattern: u64,
    last_status: u64,
    last_service: u64,
    last_tags: u64,
    last_schema: u64,
}

/// Writes one batch's wire datums, in order, as a serialized `LogDatumSequence` into `buf`.
pub(super) fn write_sequence<'a>(
    datums: impl Iterator<Item = &'a Datum>,
    buf: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let mut state = DeltaState::default();
    for datum in datums {
        match datum {
            Datum::State(change) => {
                if let StateChange::PatternDefine(p) = change {
                    state.last_pattern = p.id;
                }
                prost::encoding::message::encode(1, &state_change(change)?, buf);
            }
            // `LogDatum.log` (4) inside `LogDatumSequence.data` (1).
            Datum::Log(log) => nested(buf, 1, |buf| nested(buf, 4, |buf| state.write_log(log, buf)))?,
        }
    }
    Ok(())
}

/// Converts a define or delete.
pub(super) fn state_change(change: &StateChange) -> Result<pb::LogDatum, EncodeError> {
    use pb::log_datum::Data;
    let data = match change {
        StateChange::PatternDefine(p) => Data::PatternDefine(pb::PatternDefine {
            pattern_id: p.id,
            template: p.template.clone(),
            pos_list: p.pos_list.clone(),
        }),
        StateChange::PatternDelete(id) => Data::PatternDelete(pb::PatternDelete { pattern_id: *id }),
        StateChange::DictDefine(d) => {
            Data::DictEntryDefine(pb::DictEntryDefine { id: d.id, value: d.value.clone() })
        }
        StateChange::DictDelete(id) => Data::DictEntryDelete(pb::DictEntryDelete { id: *id }),
        StateChange::SchemaDefine(s) => Data::JsonSchemaDefine(pb::JsonSchemaDefine {
            schema_id: s.id,
            keys: s.keys.clone(),
            message_key_id: s.message_key_id,
            value_kinds: s.value_kinds.clone(),
        }),
        StateChange::SchemaDelete(id) => Data::JsonSchemaDelete(pb::JsonSchemaDelete { schema_id: *id }),
    };
    Ok(pb::LogDatum { data: Some(data) })
}

/// `v` = the id or 1 for none; write 0 when it equals the previous value (§5.2).
fn delta_id(last: &mut u64, field: Option<&StringRef>, what: &str) -> Result<u64, EncodeError> {
    let v = match field {
        None => NONE,
        Some(StringRef::Dict(id)) => *id,
        Some(StringRef::Inline(_)) => return Err(unsupported(Profile::V2, &format!("an inline {what}"))),
    };
    Ok(delta_raw(last, v))
}

fn delta_raw(last: &mut u64, v: u64) -> u64 {
    if v == *last {
        0
    } else {
        *last = v;
        v
    }
}

impl DeltaState {
    /// Writes the body of the `Log` message, fields in tag order (1 to 14, then 100).
    fn write_log(&mut self, log: &LogDatum, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        use prost::encoding::{double, sint64, uint64};
        // Both values are clamped to ±(2^62 − 1) at admission, so the difference fits.
        let timestamp = log.timestamp_ms.wrapping_sub(self.last_ts);
        self.last_ts = log.timestamp_ms;
        let status = delta_id(&mut self.last_status, log.status.as_ref(), "status")?;
        let service = delta_id(&mut self.last_service, log.service.as_ref(), "service")?;
        let tags = delta_id(&mut self.last_tags, log.tags.as_ref(), "tag string")?;
        sint64_field(buf, 1, timestamp);
        uint64_field(buf, 2, status);
        uint64_field(buf, 3, service);
        uint64_field(buf, 4, tags);
        let (schema, columns) = match &log.content {
            LogContent::Raw(text) => {
                if text.is_empty() {
                    // An empty `raw_log` means "use the pattern": empty content takes the
                    // pattern path in v2 (§9.1).
                    return Err(unsupported(Profile::V2, "an empty raw log"));
                }
                bytes_field(buf, 7, text.as_bytes());
                (NONE, None)
            }
            LogContent::RawJson { message, json } => {
                if message.is_empty() {
                    return Err(unsupported(Profile::V2, "an empty JSON message"));
                }
                bytes_field(buf, 7, message.as_bytes());
                (json.schema_id, Some(json.as_ref()))
            }
            LogContent::Pattern { pattern_id, values, json } => {
                uint64_field(buf, 5, delta_raw(&mut self.last_pattern, *pattern_id));
                for v in values {
                    nested(buf, 6, |buf| write_value(v, buf));
                }
                match json.as_deref() {
                    None => (NONE, None),
                    Some(JsonFields::V2(j)) => (j.schema_id, Some(j)),
                    Some(JsonFields::V1(_)) => return Err(unsupported(Profile::V2, "v1 JSON fields")),
                }
            }
        };
        uint64_field(buf, 8, delta_raw(&mut self.last_schema, schema));
        if let Some(j) = columns {
            sint64::encode_packed(9, &j.ints, buf);
            double::encode_packed(10, &j.floats, buf);
            uint64::encode_packed(11, &j.dicts, buf);
            for raw in j.raws.iter() {
                bytes_field(buf, 12, raw.as_bytes());
            }
            for string in j.strings.iter() {
                bytes_field(buf, 13, string.as_bytes());
            }
            if !j.bools.is_empty() {
                bytes_field(buf, 14, &j.bools);
            }
        }
        if let Some(uuid) = &log.uuid {
            bytes_field(buf, 100, uuid.as_bytes());
        }
        Ok(())
    }
}

/// Writes the body of a `DynamicValue`: the oneof (always written), then `render_as_string`
/// (5) when set, prost's order.
fn write_value(v: &Value, buf: &mut Vec<u8>) {
    use prost::encoding::{bool, double, int64, uint64};
    let render_as_string = match v {
        Value::Int { value, render_as_string } => {
            int64::encode(1, value, buf);
            *render_as_string
        }
        Value::Float(f) => {
            double::encode(2, f, buf);
            false
        }
        Value::Str(s) => {
            bytes_field(buf, 3, s.as_bytes());
            false
        }
        Value::Dict(id) => {
            uint64::encode(4, id, buf);
            false
        }
        Value::Bool(b) => {
            bool::encode(6, b, buf);
            false
        }
        Value::RawJson(s) => {
            bytes_field(buf, 7, s.as_bytes());
            false
        }
    };
    if render_as_string {
        bool::encode(5, &true, buf);
    }
}
