//! Why a batch was refused: one typed error per rule of `wire.md` §9 and `transport.md` §16.
//!
//! Every failure inside the receiver is a [`Violation`]; the stream table turns it into an
//! `EndStream` whose code is [`Violation::code`] and whose message is the [`BatchError`] text.

use crate::codec::DecompressError;
use crate::status_code as code;

/// One broken rule. The message names the rule and, for an unknown reference, the id.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// The batch id is not the next one of the stream.
    #[error("batch id {got} is out of sequence: expected {expected}")]
    BatchOutOfSequence {
        /// The id received.
        got: u32,
        /// What was acceptable (`0 or 1`, or `n + 1`).
        expected: String,
    },
    /// Decompression failed or exceeded `max_decompressed_bytes`.
    #[error(transparent)]
    Decompress(#[from] DecompressError),
    /// The sequence message is not valid protobuf.
    #[error("the datum sequence is not valid protobuf: {0}")]
    MalformedSequence(&'static str),
    /// One datum is not valid protobuf.
    #[error("the datum is not valid protobuf: {0}")]
    MalformedDatum(String),
    /// More datums than `max_datums_per_batch`.
    #[error("the batch holds more than {limit} datums (max_datums_per_batch)")]
    TooManyDatums {
        /// The limit.
        limit: usize,
    },
    /// A datum envelope with no oneof member.
    #[error("the datum has no member set")]
    EmptyDatum,
    /// An HTTP JSON baseline batch is not a JSON array of log objects (`BatchFormat::HttpJson`).
    #[error("the batch is not the HTTP JSON baseline's array of logs: {0}")]
    MalformedJsonBatch(String),
    /// Batch 0 (the snapshot) holds something other than a define.
    #[error("batch 0 (the snapshot) may hold only define datums")]
    NotADefineInSnapshot,
    /// A `PatternDefine` with id 0.
    #[error("pattern id 0 cannot be defined (0 means the previous pattern)")]
    PatternIdZero,
    /// `pos_list` goes backwards.
    #[error("pos_list of pattern {id} decreases at index {index}")]
    PosListDecreasing {
        /// The pattern.
        id: u64,
        /// Index of the first smaller offset.
        index: usize,
    },
    /// An offset past the template's end.
    #[error("pos_list of pattern {id} has offset {offset}, beyond the template's {len} bytes")]
    OffsetBeyondTemplate {
        /// The pattern.
        id: u64,
        /// The offset.
        offset: u32,
        /// The template's byte length.
        len: usize,
    },
    /// An offset inside a multi-byte character.
    #[error("pos_list of pattern {id} has offset {offset}, inside a multi-byte UTF-8 character")]
    OffsetSplitsCharacter {
        /// The pattern.
        id: u64,
        /// The offset.
        offset: u32,
    },
    /// `v1`: `param_count` differs from `len(pos_list)`.
    #[error("param_count {param_count} of pattern {id} differs from the {len} entries of pos_list")]
    ParamCountMismatch {
        /// The pattern.
        id: u64,
        /// The declared count.
        param_count: u32,
        /// The number of offsets.
        len: usize,
    },
    /// A dictionary id that may not be defined (0, and 1 in `v2`).
    #[error("dictionary id {0} is reserved and cannot be defined")]
    ReservedDictId(u64),
    /// A schema id that may not be defined (0 or 1).
    #[error("schema id {0} is reserved and cannot be defined")]
    ReservedSchemaId(u64),
    /// A dictionary reference to nothing.
    #[error("unknown dictionary id {0}")]
    UnknownDictId(u64),
    /// A pattern reference to nothing.
    #[error("unknown pattern id {0}")]
    UnknownPatternId(u64),
    /// A schema reference to nothing.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u64),
    /// `len(value_kinds) ≠ len(keys)`.
    #[error("schema {id} has {keys} keys but {kinds} value kinds")]
    KindsCountMismatch {
        /// The schema.
        id: u64,
        /// Number of keys.
        keys: usize,
        /// Number of kind bytes.
        kinds: usize,
    },
    /// A kind byte of 0 or above 7.
    #[error("schema {id} has value kind {kind} at index {index}; valid kinds are 1 to 7")]
    InvalidValueKind {
        /// The schema.
        id: u64,
        /// The byte.
        kind: u8,
        /// Its index.
        index: usize,
    },
    /// A `DeltaEncodingSync` timestamp above `i64::MAX`.
    #[error("DeltaEncodingSync timestamp {0} is above i64::MAX")]
    SyncTimestampTooLarge(u64),
    /// Delta decoding overflowed `i64`.
    #[error("timestamp overflows: {base} + {delta} is outside i64")]
    TimestampOverflow {
        /// The base.
        base: i64,
        /// The delta.
        delta: i64,
    },
    /// 0 ("previous") with no previous value in this batch.
    #[error("{field} 0 means the previous value, but none is set in this batch")]
    NoPreviousValue {
        /// The field.
        field: &'static str,
    },
    /// `v1`: a log with neither `structured` nor `raw`.
    #[error("the log has neither structured nor raw content")]
    NoLogContent,
    /// Wildcard values do not match the pattern.
    #[error("pattern {id} has {expected} wildcards but the log gives {got} values")]
    ValueCountMismatch {
        /// The pattern.
        id: u64,
        /// Wildcards.
        expected: usize,
        /// Values.
        got: usize,
    },
    /// A `DynamicValue` with no member.
    #[error("a dynamic value has no member set")]
    EmptyDynamicValue,
    /// A `raw_json_value` that is not UTF-8.
    #[error("a raw_json_value is not valid UTF-8")]
    RawValueNotUtf8,
    /// NaN or an infinity where JSON needs a number.
    #[error("float {0} cannot be a JSON number")]
    NonFiniteJsonFloat(f64),
    /// `v1`: `len(json_context_values)` ≠ number of schema keys.
    #[error("the JSON schema has {keys} keys but the log gives {values} values")]
    JsonValueCountMismatch {
        /// Keys.
        keys: usize,
        /// Values.
        values: usize,
    },
    /// `v1`: a key that appears twice.
    #[error("duplicate JSON key {0:?}")]
    DuplicateJsonKey(String),
    /// A key path with a bad escape.
    #[error("key path {path:?} has an invalid escape: a backslash must precede '.' or '\\'")]
    InvalidKeyPath {
        /// The escaped path.
        path: String,
    },
    /// A JSON column ran out of values.
    #[error("JSON column {0} has fewer values than the schema needs")]
    ColumnTooShort(&'static str),
    /// A JSON column has values left over.
    #[error("JSON column {column} has {extra} values more than the schema consumes")]
    ColumnTooLong {
        /// The column.
        column: &'static str,
        /// Values left.
        extra: usize,
    },
    /// The bool column has the wrong number of bytes.
    #[error("json_context_bool_values has {got} bytes but {bools} BOOL values need {expected}")]
    BoolColumnSize {
        /// Bytes present.
        got: usize,
        /// Bytes needed.
        expected: usize,
        /// BOOL kinds in the schema.
        bools: usize,
    },
    /// A RAW_JSON element that does not parse.
    #[error("a RAW_JSON value is not valid JSON: {0}")]
    InvalidRawJson(String),
    /// A key path lands on an existing member.
    #[error("key path {0:?} collides with an existing member")]
    KeyCollision(String),
    /// A key path descends into a RAW_JSON value.
    #[error("key path {0:?} descends into a RAW_JSON value")]
    KeyIntoRawJson(String),
    /// The message key path is blocked or occupied.
    #[error("the message cannot be placed at {0:?}: the path holds a non-object or the target is occupied")]
    MessagePathBlocked(String),
    /// JSON nested deeper than `max_json_depth`.
    #[error("JSON nesting exceeds max_json_depth {0}")]
    JsonTooDeep(usize),
    /// The batch's logs exceed `max_delivered_bytes_per_batch`.
    #[error("the batch delivers more than {0} bytes (max_delivered_bytes_per_batch)")]
    DeliveredBytesExceeded(u64),
    /// The stream's state exceeds `max_state_bytes`.
    #[error("the stream's state reaches {size} bytes, above max_state_bytes {limit}")]
    StateTooLarge {
        /// The size reached.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

/// At most 64 characters of `s`, with `…` when cut: keys and values quoted in a message stay
/// short however large the input.
pub(super) fn excerpt(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

impl Violation {
    /// The gRPC code that ends the stream (`transport.md` §16).
    pub fn code(&self) -> i32 {
        match self {
            Violation::StateTooLarge { .. } => code::RESOURCE_EXHAUSTED,
            _ => code::INVALID_ARGUMENT,
        }
    }
}

/// A refused batch: where, and which rule.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("batch {batch_id}{}: {violation}", match datum { Some((index, kind)) => format!(", datum {index} ({kind})"), None => String::new() })]
pub struct BatchError {
    /// The batch.
    pub batch_id: u32,
    /// Index (from 0) and kind of the datum at fault, when one is.
    pub datum: Option<(usize, &'static str)>,
    /// The rule broken.
    pub violation: Violation,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_batch_the_datum_and_the_id() {
        let e = BatchError { batch_id: 2, datum: Some((5, "log")), violation: Violation::UnknownDictId(7) };
        assert_eq!(e.to_string(), "batch 2, datum 5 (log): unknown dictionary id 7");
        assert_eq!(e.violation.code(), code::INVALID_ARGUMENT);
        let s = Violation::StateTooLarge { size: 10, limit: 5 };
        assert_eq!(s.code(), code::RESOURCE_EXHAUSTED);
    }
}
