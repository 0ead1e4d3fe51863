//! Profile `v1`: applying `Datum`s (`wire.md` §5, §9.2, §9.3, §9.8).

use serde_json::Value;

use super::batch::Batch;
use super::delta::{V1Delta, advance_timestamp, resolve_pattern, sync_timestamp};
use super::error::Violation;
use super::json::{json_float, json_int, v1_object};
use super::log::{LogBody, ReceivedLog};
use super::render::{render_float, render_int};
use super::state::{Pattern, Tables};
use super::template::{insert, validate_pattern};
use crate::Profile;
use crate::escape::unescape;
use crate::proto::v1::{self, datum::Data, dynamic_value::Value as Dv, log::Content};

/// The datum's kind, for error messages.
pub(super) fn kind(datum: &v1::Datum) -> &'static str {
    match &datum.data {
        None => "empty datum",
        Some(Data::PatternDefine(_)) => "pattern_define",
        Some(Data::PatternDelete(_)) => "pattern_delete",
        Some(Data::DictEntryDefine(_)) => "dict_entry_define",
        Some(Data::DictEntryDelete(_)) => "dict_entry_delete",
        Some(Data::DeltaEncodingSync(_)) => "delta_encoding_sync",
        Some(Data::Logs(_)) => "log",
    }
}

/// Applies one datum to the stream's tables and the batch.
pub(super) fn apply(
    tables: &mut Tables,
    batch: &mut Batch,
    delta: &mut V1Delta,
    datum: v1::Datum,
) -> Result<(), Violation> {
    match datum.data.ok_or(Violation::EmptyDatum)? {
        Data::PatternDefine(d) => {
            validate_pattern(d.pattern_id, &d.template, &d.pos_list)?;
            if d.param_count as usize != d.pos_list.len() {
                return Err(Violation::ParamCountMismatch {
                    id: d.pattern_id,
                    param_count: d.param_count,
                    len: d.pos_list.len(),
                });
            }
            tables.define_pattern(d.pattern_id, Pattern { template: d.template, pos_list: d.pos_list });
            delta.pattern = Some(d.pattern_id);
            Ok(())
        }
        Data::PatternDelete(d) => {
            batch.require_regular()?;
            tables.delete_pattern(d.pattern_id)
        }
        Data::DictEntryDefine(d) => {
            if d.id == 0 {
                return Err(Violation::ReservedDictId(0));
            }
            tables.define_dict(d.id, d.value);
            Ok(())
        }
        Data::DictEntryDelete(d) => {
            batch.require_regular()?;
            tables.delete_dict(d.id)
        }
        Data::DeltaEncodingSync(sync) => {
            batch.require_regular()?;
            sync_timestamp(&mut delta.last_ts, sync.timestamp)?;
            if sync.pattern_id != 0 {
                tables.pattern(sync.pattern_id)?;
                delta.pattern = Some(sync.pattern_id);
            }
            if let Some(tags) = &sync.tags {
                delta.tags = tag_string(tables, tags)?;
            }
            Ok(())
        }
        Data::Logs(log) => {
            batch.require_regular()?;
            apply_log(tables, batch, delta, log)
        }
    }
}

/// `r(v)` appended to `out` (§9.4).
fn render(tables: &Tables, v: &v1::DynamicValue, out: &mut String) -> Result<(), Violation> {
    match v.value.as_ref().ok_or(Violation::EmptyDynamicValue)? {
        Dv::IntValue(i) => render_int(*i, out),
        Dv::FloatValue(f) => render_float(*f, out),
        Dv::StringValue(s) => out.push_str(s),
        Dv::DictIndex(id) => out.push_str(tables.dict(*id)?),
    }
    Ok(())
}

fn render_string(tables: &Tables, v: &v1::DynamicValue) -> Result<String, Violation> {
    let mut out = String::new();
    render(tables, v, &mut out)?;
    Ok(out)
}

/// The tag string of a present `TagSet`: `tagset` unset = explicitly no tags.
fn tag_string(tables: &Tables, tags: &v1::TagSet) -> Result<Option<String>, Violation> {
    tags.tagset.as_ref().map(|v| render_string(tables, v)).transpose()
}

fn apply_log(tables: &Tables, batch: &mut Batch, delta: &mut V1Delta, log: v1::Log) -> Result<(), Violation> {
    let delta_mode = batch.v1_delta_encoding;
    let timestamp_ms =
        if delta_mode { advance_timestamp(&mut delta.last_ts, log.timestamp)? } else { log.timestamp };
    let tags = match &log.tags {
        Some(tags) => tag_string(tables, tags)?,
        None if delta_mode => delta.tags.clone(),
        None => None,
    };
    if delta_mode {
        delta.tags.clone_from(&tags);
    }
    // Status is never delta-encoded: absent = none.
    let status = log.status.as_ref().map(|v| render_string(tables, v)).transpose()?;
    let (body, body_bytes) = match log.content.ok_or(Violation::NoLogContent)? {
        Content::Raw(text) => {
            let bytes = unescape(&text).into_owned();
            let n = bytes.len() as u64;
            (LogBody::Text(bytes), n)
        }
        Content::Structured(structured) => structured_body(tables, batch, delta, structured)?,
    };
    let log =
        ReceivedLog { profile: Profile::V1, timestamp_ms, body, status, service: None, tags, uuid: log.uuid };
    batch.deliver(log, body_bytes)
}

/// A pattern-encoded body: text (§9.5) or, with `json_message_key`, a JSON object (§9.8).
fn structured_body(
    tables: &Tables,
    batch: &mut Batch,
    delta: &mut V1Delta,
    s: v1::StructuredLog,
) -> Result<(LogBody, u64), Violation> {
    let id = resolve_pattern(&mut delta.pattern, s.pattern_id)?;
    let pattern = tables.pattern(id)?;
    let mut text = String::new();
    let budget = batch.budget();
    insert(id, pattern, &s.dynamic_values, budget, &mut text, |v, out| render(tables, v, out))?;
    if !s.json_context.is_empty() {
        batch.ignore("json_context");
    }
    let Some(message_key) = &s.json_message_key else {
        let bytes = unescape(&text).into_owned();
        let n = bytes.len() as u64;
        return Ok((LogBody::Text(bytes), n));
    };
    let message_key = render_string(tables, message_key)?;
    let keys: Vec<&str> = match s.json_context_schema_id {
        0 => Vec::new(),
        id => tables.dict(id)?.split(',').collect(),
    };
    if keys.len() != s.json_context_values.len() {
        return Err(Violation::JsonValueCountMismatch {
            keys: keys.len(),
            values: s.json_context_values.len(),
        });
    }
    // Member names count as delivered strings, like the values (see `v2::json_body`).
    let mut body_bytes = (text.len() + message_key.len()) as u64;
    let mut members = Vec::with_capacity(keys.len());
    for (key, v) in keys.into_iter().zip(&s.json_context_values) {
        body_bytes += key.len() as u64;
        let value = match v.value.as_ref().ok_or(Violation::EmptyDynamicValue)? {
            Dv::IntValue(i) => json_int(*i),
            Dv::FloatValue(f) => json_float(*f)?,
            Dv::StringValue(s) => Value::String(s.clone()),
            Dv::DictIndex(id) => Value::String(tables.dict(*id)?.to_owned()),
        };
        if let Value::String(s) = &value {
            body_bytes += s.len() as u64;
        }
        budget.check(body_bytes)?;
        members.push((key.to_owned(), value));
    }
    // JSON messages are never unescaped (§9.6).
    Ok((LogBody::Json(v1_object(members, message_key, text)?), body_bytes))
}
