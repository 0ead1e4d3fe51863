//! Profile `v2`: applying `LogDatum`s (`wire.md` §6, §9.2, §9.3, §9.7).

use serde_json::Value;

use super::batch::Batch;
use super::delta::{NONE_ID, V2Delta, advance_timestamp, resolve_pattern, resolve_sentinel, sync_timestamp};
use super::error::Violation;
use super::json::{ObjectBuilder, json_float, json_int, parse_raw};
use super::log::{LogBody, ReceivedLog};
use super::render::{render_float, render_int};
use super::state::{Pattern, Schema, Tables, ValueKind};
use super::template::{insert, validate_pattern};
use crate::Profile;
use crate::escape::unescape;
use crate::proto::v2::{self, dynamic_value::Value as Dv, log_datum::Data};

/// The datum's kind, for error messages.
pub(super) fn kind(datum: &v2::LogDatum) -> &'static str {
    match &datum.data {
        None => "empty datum",
        Some(Data::DictEntryDefine(_)) => "dict_entry_define",
        Some(Data::PatternDefine(_)) => "pattern_define",
        Some(Data::JsonSchemaDefine(_)) => "json_schema_define",
        Some(Data::Log(_)) => "log",
        Some(Data::DeltaEncodingSync(_)) => "delta_encoding_sync",
        Some(Data::DictEntryDelete(_)) => "dict_entry_delete",
        Some(Data::PatternDelete(_)) => "pattern_delete",
        Some(Data::JsonSchemaDelete(_)) => "json_schema_delete",
    }
}

/// Applies one datum to the stream's tables and the batch.
pub(super) fn apply(
    tables: &mut Tables,
    batch: &mut Batch,
    delta: &mut V2Delta,
    datum: v2::LogDatum,
) -> Result<(), Violation> {
    match datum.data.ok_or(Violation::EmptyDatum)? {
        Data::DictEntryDefine(d) => {
            if d.id <= NONE_ID {
                return Err(Violation::ReservedDictId(d.id));
            }
            tables.define_dict(d.id, d.value);
            Ok(())
        }
        Data::PatternDefine(d) => {
            validate_pattern(d.pattern_id, &d.template, &d.pos_list)?;
            tables.define_pattern(d.pattern_id, Pattern { template: d.template, pos_list: d.pos_list });
            delta.pattern = Some(d.pattern_id);
            Ok(())
        }
        Data::JsonSchemaDefine(d) => define_schema(tables, d),
        Data::Log(log) => {
            batch.require_regular()?;
            apply_log(tables, batch, delta, log)
        }
        Data::DeltaEncodingSync(sync) => {
            batch.require_regular()?;
            apply_sync(tables, delta, &sync)
        }
        Data::DictEntryDelete(d) => {
            batch.require_regular()?;
            tables.delete_dict(d.id)
        }
        Data::PatternDelete(d) => {
            batch.require_regular()?;
            tables.delete_pattern(d.pattern_id)
        }
        Data::JsonSchemaDelete(d) => {
            batch.require_regular()?;
            tables.delete_schema(d.schema_id)
        }
    }
}

fn define_schema(tables: &mut Tables, d: v2::JsonSchemaDefine) -> Result<(), Violation> {
    let id = d.schema_id;
    if id <= NONE_ID {
        return Err(Violation::ReservedSchemaId(id));
    }
    if d.value_kinds.len() != d.keys.len() {
        return Err(Violation::KindsCountMismatch { id, keys: d.keys.len(), kinds: d.value_kinds.len() });
    }
    let kinds = d
        .value_kinds
        .iter()
        .enumerate()
        .map(|(index, &kind)| {
            ValueKind::from_byte(kind).ok_or(Violation::InvalidValueKind { id, kind, index })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The strings are captured now: later changes to these entries do not alter the schema.
    let keys = d.keys.iter().map(|&k| tables.dict_shared(k)).collect::<Result<Vec<_>, _>>()?;
    let message_key = tables.dict_shared(d.message_key_id)?;
    tables.define_schema(id, Schema { keys, message_key, kinds });
    Ok(())
}

fn apply_sync(tables: &Tables, delta: &mut V2Delta, sync: &v2::DeltaEncodingSync) -> Result<(), Violation> {
    sync_timestamp(&mut delta.last_ts, sync.timestamp)?;
    if sync.pattern_id != 0 {
        tables.pattern(sync.pattern_id)?;
        delta.pattern = Some(sync.pattern_id);
    }
    for (value, previous) in
        [(sync.status, &mut delta.status), (sync.service, &mut delta.service), (sync.tags, &mut delta.tags)]
    {
        if value > NONE_ID {
            tables.dict(value)?;
        }
        if value != 0 {
            *previous = Some(value);
        }
    }
    if sync.json_schema_id > NONE_ID {
        tables.schema(sync.json_schema_id)?;
    }
    if sync.json_schema_id != 0 {
        delta.schema = Some(sync.json_schema_id);
    }
    Ok(())
}

/// The dictionary string of a decoded status/service/tags id (`1` = none).
fn dict_or_none(tables: &Tables, id: u64) -> Result<Option<String>, Violation> {
    if id == NONE_ID { Ok(None) } else { tables.dict(id).map(|s| Some(s.to_owned())) }
}

/// `r(v)` appended to `out` (§9.4); `render_as_string` has no effect on text.
fn render(tables: &Tables, v: &v2::DynamicValue, out: &mut String) -> Result<(), Violation> {
    match v.value.as_ref().ok_or(Violation::EmptyDynamicValue)? {
        Dv::IntValue(i) => render_int(*i, out),
        Dv::FloatValue(f) => render_float(*f, out),
        Dv::StringValue(s) => out.push_str(s),
        Dv::DictIndex(id) => out.push_str(tables.dict(*id)?),
        Dv::BoolValue(b) => out.push_str(if *b { "true" } else { "false" }),
        Dv::RawJsonValue(bytes) => {
            out.push_str(std::str::from_utf8(bytes).map_err(|_| Violation::RawValueNotUtf8)?)
        }
    }
    Ok(())
}

fn apply_log(tables: &Tables, batch: &mut Batch, delta: &mut V2Delta, log: v2::Log) -> Result<(), Violation> {
    let timestamp_ms = advance_timestamp(&mut delta.last_ts, log.timestamp)?;
    let status = dict_or_none(tables, resolve_sentinel(&mut delta.status, log.status, "status")?)?;
    let service = dict_or_none(tables, resolve_sentinel(&mut delta.service, log.service, "service")?)?;
    let tags = dict_or_none(tables, resolve_sentinel(&mut delta.tags, log.tags, "tags")?)?;
    let schema_id = resolve_sentinel(&mut delta.schema, log.json_schema_id, "json_schema_id")?;

    let mut text = String::new();
    if log.raw_log.is_empty() {
        let id = resolve_pattern(&mut delta.pattern, log.pattern_id)?;
        let pattern = tables.pattern(id)?;
        insert(id, pattern, &log.dynamic_values, batch.budget(), &mut text, |v, out| render(tables, v, out))?;
    } else {
        // A raw log neither uses nor changes the previous pattern.
        if log.pattern_id != 0 {
            batch.ignore("pattern_id");
        }
        if !log.dynamic_values.is_empty() {
            batch.ignore("dynamic_values");
        }
    }
    let (body, body_bytes) = if schema_id == NONE_ID {
        let columns = Columns::new(&log);
        columns.all_consumed()?;
        let text = if log.raw_log.is_empty() { text } else { log.raw_log };
        let bytes = unescape(&text).into_owned();
        let n = bytes.len() as u64;
        (LogBody::Text(bytes), n)
    } else {
        let message = if log.raw_log.is_empty() { text } else { log.raw_log.clone() };
        json_body(tables, batch, tables.schema(schema_id)?, &log, message)?
    };
    let log = ReceivedLog { profile: Profile::V2, timestamp_ms, body, status, service, tags, uuid: log.uuid };
    batch.deliver(log, body_bytes)
}

/// Cursors over the typed columns of a `v2` JSON log.
struct Columns<'a> {
    ints: std::slice::Iter<'a, i64>,
    floats: std::slice::Iter<'a, f64>,
    dicts: std::slice::Iter<'a, u64>,
    raws: std::slice::Iter<'a, Vec<u8>>,
    strings: std::slice::Iter<'a, String>,
    bools: &'a [u8],
    bools_used: usize,
}

impl<'a> Columns<'a> {
    fn new(log: &'a v2::Log) -> Self {
        Columns {
            ints: log.json_context_int_values.iter(),
            floats: log.json_context_float_values.iter(),
            dicts: log.json_context_dict_values.iter(),
            raws: log.json_context_raw_values.iter(),
            strings: log.json_context_string_values.iter(),
            bools: &log.json_context_bool_values,
            bools_used: 0,
        }
    }

    fn next<T>(iter: &mut impl Iterator<Item = T>, column: &'static str) -> Result<T, Violation> {
        iter.next().ok_or(Violation::ColumnTooShort(column))
    }

    fn next_bool(&mut self) -> Result<bool, Violation> {
        let i = self.bools_used;
        let byte = self.bools.get(i / 8).ok_or(Violation::ColumnTooShort("json_context_bool_values"))?;
        self.bools_used += 1;
        Ok(byte >> (i % 8) & 1 == 1)
    }

    /// Every column fully consumed, and exactly `ceil(bools / 8)` bool bytes.
    fn all_consumed(&self) -> Result<(), Violation> {
        let left = [
            ("json_context_int_values", self.ints.len()),
            ("json_context_float_values", self.floats.len()),
            ("json_context_dict_values", self.dicts.len()),
            ("json_context_raw_values", self.raws.len()),
            ("json_context_string_values", self.strings.len()),
        ];
        if let Some(&(column, extra)) = left.iter().find(|(_, n)| *n > 0) {
            return Err(Violation::ColumnTooLong { column, extra });
        }
        let expected = self.bools_used.div_ceil(8);
        if self.bools.len() != expected {
            return Err(Violation::BoolColumnSize {
                got: self.bools.len(),
                expected,
                bools: self.bools_used,
            });
        }
        Ok(())
    }
}

/// The JSON object of a log with a schema (§9.7), and the bytes it counts.
///
/// Besides the message and every string and RAW_JSON value, the member names (key paths)
/// count as delivered strings: a schema can repeat a large dictionary entry as a key.
fn json_body(
    tables: &Tables,
    batch: &Batch,
    schema: &Schema,
    log: &v2::Log,
    message: String,
) -> Result<(LogBody, u64), Violation> {
    let (budget, max_depth) = (batch.budget(), batch.max_json_depth);
    let mut columns = Columns::new(log);
    let mut builder = ObjectBuilder::new(max_depth);
    let mut body_bytes = (message.len() + schema.message_key.len()) as u64;
    for (key, kind) in schema.keys.iter().zip(&schema.kinds) {
        body_bytes += key.len() as u64;
        budget.check(body_bytes)?;
        let (value, depth, raw) = match kind {
            ValueKind::Null => (Value::Null, 0, false),
            ValueKind::Bool => (Value::Bool(columns.next_bool()?), 0, false),
            ValueKind::Int => {
                (json_int(*Columns::next(&mut columns.ints, "json_context_int_values")?), 0, false)
            }
            ValueKind::Float => {
                (json_float(*Columns::next(&mut columns.floats, "json_context_float_values")?)?, 0, false)
            }
            ValueKind::DictString => {
                let s = tables.dict(*Columns::next(&mut columns.dicts, "json_context_dict_values")?)?;
                body_bytes += s.len() as u64;
                (Value::String(s.to_owned()), 0, false)
            }
            ValueKind::String => {
                let s = Columns::next(&mut columns.strings, "json_context_string_values")?;
                body_bytes += s.len() as u64;
                (Value::String(s.clone()), 0, false)
            }
            ValueKind::RawJson => {
                let bytes = Columns::next(&mut columns.raws, "json_context_raw_values")?;
                body_bytes += bytes.len() as u64;
                let (value, depth) = parse_raw(bytes, max_depth)?;
                (value, depth, true)
            }
        };
        budget.check(body_bytes)?;
        builder.set(key, value, depth, raw)?;
    }
    columns.all_consumed()?;
    // JSON messages are never unescaped (§9.6).
    Ok((LogBody::Json(builder.finish(&schema.message_key, message)?), body_bytes))
}
