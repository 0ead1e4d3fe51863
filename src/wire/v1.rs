//! Profile `v1`: `DatumSequence` of `Datum`, with or without batch delta encoding (§5.3).

use crate::Profile;
use crate::datum::{Datum, JsonFields, LogContent, LogDatum, StateChange, StringRef, Value};
use crate::proto::v1 as pb;
use crate::transport::EncodeError;

use super::unsupported;

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

/// Converts one batch's wire datums, in order, to a `DatumSequence`.
pub(super) fn sequence<'a>(
    datums: impl Iterator<Item = &'a Datum>,
    delta: bool,
) -> Result<pb::DatumSequence, EncodeError> {
    let mut state = DeltaState { enabled: delta, last_ts: 0, last_pattern: 0, last_tags: PrevTags::None };
    let mut data = Vec::new();
    for datum in datums {
        data.push(match datum {
            Datum::State(change) => {
                if let StateChange::PatternDefine(p) = change {
                    state.last_pattern = p.id;
                }
                state_change(change)?
            }
            Datum::Log(log) => pb::Datum { data: Some(pb::datum::Data::Logs(state.log(log)?)) },
        });
    }
    Ok(pb::DatumSequence { data })
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
    fn log(&mut self, log: &LogDatum) -> Result<pb::Log, EncodeError> {
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
        let content = match &log.content {
            LogContent::Raw(text) => pb::log::Content::Raw(text.clone()),
            LogContent::Pattern { pattern_id, values, json } => {
                let id = if self.enabled && *pattern_id == self.last_pattern { 0 } else { *pattern_id };
                self.last_pattern = *pattern_id;
                let mut structured = pb::StructuredLog {
                    pattern_id: id,
                    dynamic_values: values.iter().map(value).collect::<Result<_, _>>()?,
                    ..Default::default()
                };
                match json {
                    None => {}
                    Some(JsonFields::V1(j)) => {
                        structured.json_message_key = Some(value(&j.message_key)?);
                        structured.json_context_schema_id = j.schema_id;
                        structured.json_context_values =
                            j.values.iter().map(value).collect::<Result<_, _>>()?;
                    }
                    Some(JsonFields::V2(_)) => return Err(unsupported(Profile::V1, "v2 JSON columns")),
                }
                pb::log::Content::Structured(structured)
            }
        };
        let tags = self.tags(log.tags.as_ref());
        Ok(pb::Log {
            timestamp,
            tags,
            uuid: log.uuid.clone(),
            status: log.status.as_ref().map(string_ref),
            content: Some(content),
        })
    }

    fn tags(&mut self, tags: Option<&StringRef>) -> Option<pb::TagSet> {
        let current = match tags {
            None => PrevTags::None,
            Some(StringRef::Dict(id)) => PrevTags::Dict(*id),
            Some(StringRef::Inline(_)) => PrevTags::Inline,
        };
        let tagset = || pb::TagSet { tagset: tags.map(string_ref) };
        if !self.enabled {
            return tags.map(|_| tagset());
        }
        let same = current == self.last_tags && current != PrevTags::Inline;
        self.last_tags = current;
        // An empty `TagSet` says "no tags" explicitly when the previous log had some.
        (!same).then(tagset)
    }
}

fn string_ref(r: &StringRef) -> pb::DynamicValue {
    use pb::dynamic_value::Value as V;
    pb::DynamicValue {
        value: Some(match r {
            StringRef::Dict(id) => V::DictIndex(*id),
            StringRef::Inline(s) => V::StringValue(s.clone()),
        }),
    }
}

fn value(v: &Value) -> Result<pb::DynamicValue, EncodeError> {
    use pb::dynamic_value::Value as V;
    let value = match v {
        Value::Int { value, .. } => V::IntValue(*value),
        Value::Float(f) => V::FloatValue(*f),
        Value::Str(s) => V::StringValue(s.clone()),
        Value::Dict(id) => V::DictIndex(*id),
        Value::Bool(_) => return Err(unsupported(Profile::V1, "boolean values")),
        Value::RawJson(_) => return Err(unsupported(Profile::V1, "raw JSON values")),
    };
    Ok(pb::DynamicValue { value: Some(value) })
}
