//! Profile `v2`: `LogDatumSequence` of `LogDatum`, always delta-encoded (§5.2).

use crate::Profile;
use crate::datum::{Datum, JsonFields, LogContent, LogDatum, StateChange, StringRef, Value};
use crate::proto::v2 as pb;
use crate::transport::EncodeError;

use super::unsupported;

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

/// Converts one batch's wire datums, in order, to a `LogDatumSequence`.
pub(super) fn sequence<'a>(
    datums: impl Iterator<Item = &'a Datum>,
) -> Result<pb::LogDatumSequence, EncodeError> {
    let mut state = DeltaState::default();
    let mut data = Vec::new();
    for datum in datums {
        data.push(match datum {
            Datum::State(change) => {
                if let StateChange::PatternDefine(p) = change {
                    state.last_pattern = p.id;
                }
                state_change(change)?
            }
            Datum::Log(log) => pb::LogDatum { data: Some(pb::log_datum::Data::Log(state.log(log)?)) },
        });
    }
    Ok(pb::LogDatumSequence { data })
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
    fn log(&mut self, log: &LogDatum) -> Result<pb::Log, EncodeError> {
        // Both values are clamped to ±(2^62 − 1) at admission, so the difference fits.
        let timestamp = log.timestamp_ms.wrapping_sub(self.last_ts);
        self.last_ts = log.timestamp_ms;
        let mut out = pb::Log {
            timestamp,
            status: delta_id(&mut self.last_status, log.status.as_ref(), "status")?,
            service: delta_id(&mut self.last_service, log.service.as_ref(), "service")?,
            tags: delta_id(&mut self.last_tags, log.tags.as_ref(), "tag string")?,
            uuid: log.uuid.clone(),
            ..Default::default()
        };
        let schema = match &log.content {
            LogContent::Raw(text) => {
                if text.is_empty() {
                    // An empty `raw_log` means "use the pattern": empty content takes the
                    // pattern path in v2 (§9.1).
                    return Err(unsupported(Profile::V2, "an empty raw log"));
                }
                out.raw_log = text.clone();
                NONE
            }
            LogContent::Pattern { pattern_id, values, json } => {
                out.pattern_id = delta_raw(&mut self.last_pattern, *pattern_id);
                out.dynamic_values = values.iter().map(value).collect();
                match json {
                    None => NONE,
                    Some(JsonFields::V2(j)) => {
                        out.json_context_int_values = j.ints.clone();
                        out.json_context_float_values = j.floats.clone();
                        out.json_context_dict_values = j.dicts.clone();
                        out.json_context_raw_values = j.raws.clone();
                        out.json_context_string_values = j.strings.clone();
                        out.json_context_bool_values = j.bools.clone();
                        j.schema_id
                    }
                    Some(JsonFields::V1(_)) => return Err(unsupported(Profile::V2, "v1 JSON fields")),
                }
            }
        };
        out.json_schema_id = delta_raw(&mut self.last_schema, schema);
        Ok(out)
    }
}

fn value(v: &Value) -> pb::DynamicValue {
    use pb::dynamic_value::Value as V;
    let (value, render_as_string) = match v {
        Value::Int { value, render_as_string } => (V::IntValue(*value), *render_as_string),
        Value::Float(f) => (V::FloatValue(*f), false),
        Value::Str(s) => (V::StringValue(s.clone()), false),
        Value::Dict(id) => (V::DictIndex(*id), false),
        Value::Bool(b) => (V::BoolValue(*b), false),
        Value::RawJson(s) => (V::RawJsonValue(s.clone().into_bytes()), false),
    };
    pb::DynamicValue { render_as_string, value: Some(value) }
}
