//! Record equivalence (`encoding.md` §10.1): when a delivered record equals an input record.

use stateful_logs::receiver::{LogBody, ReceivedLog};
use stateful_logs::{Profile, Record};

/// How a delivered record differs from its input record.
#[derive(Debug, thiserror::Error)]
#[error("{field} differs: expected {expected}, got {got}")]
pub struct Mismatch {
    /// The field that differs.
    pub field: &'static str,
    /// The input's value.
    pub expected: String,
    /// The delivered value.
    pub got: String,
}

fn differ(field: &'static str, expected: impl std::fmt::Debug, got: impl std::fmt::Debug) -> Mismatch {
    Mismatch { field, expected: format!("{expected:?}"), got: format!("{got:?}") }
}

/// Checks that `got` equals `want` as §10.1 defines it: timestamp after the admission clamp,
/// content (the bytes of a text log; for a log delivered as JSON, the input parsed as JSON
/// is the same value, member order aside), status, service and uuid (empty = absent), tag
/// string.
pub fn check_equivalent(profile: Profile, got: &ReceivedLog, want: &Record) -> Result<(), Mismatch> {
    if got.timestamp_ms != want.clamped_timestamp() {
        return Err(differ("timestamp", want.clamped_timestamp(), got.timestamp_ms));
    }
    match &got.body {
        LogBody::Text(bytes) if bytes.as_slice() == &want.content[..] => {}
        LogBody::Text(bytes) => {
            return Err(differ(
                "content",
                String::from_utf8_lossy(&want.content),
                String::from_utf8_lossy(bytes),
            ));
        }
        LogBody::Json(value) => match serde_json::from_slice::<serde_json::Value>(&want.content) {
            Ok(sent) if &sent == value => {}
            Ok(sent) => return Err(differ("content", sent.to_string(), value.to_string())),
            Err(_) => return Err(differ("content", "a text log", value.to_string())),
        },
    }
    let present = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    if present(got.status.as_deref()) != present(want.status()) {
        return Err(differ("status", want.status(), &got.status));
    }
    if present(got.service_name()) != present(want.service()) {
        return Err(differ("service", want.service(), got.service_name()));
    }
    if present(got.uuid.as_deref()) != present(want.uuid()) {
        return Err(differ("uuid", want.uuid(), &got.uuid));
    }
    let tags = want.tag_string(profile);
    if present(got.tags.as_deref()) != present(Some(&tags)) {
        return Err(differ("tags", tags, &got.tags));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateful_logs_bench::benchmark_records;

    fn bench_record(system: &str, index: usize, line: &[u8]) -> Record {
        benchmark_records(&format!("{system}_x.log"), &[line, b"\n"].concat())
            .remove(0)
            .with_ack_token(index as u64)
    }

    fn delivered(record: &Record, profile: Profile) -> ReceivedLog {
        let tags = record.tag_string(profile);
        ReceivedLog {
            profile,
            timestamp_ms: record.clamped_timestamp(),
            body: LogBody::Text(record.content.to_vec()),
            status: record.status().map(str::to_owned),
            service: (profile == Profile::V2).then(|| record.service().unwrap_or("").to_owned()),
            tags: (!tags.is_empty()).then_some(tags),
            uuid: None,
        }
    }

    #[test]
    fn a_log_delivered_as_json_equals_its_input_as_a_json_value() {
        let record = bench_record("Spark", 0, br#"{"msg":"hi","n":2,"ok":true}"#);
        let mut got = delivered(&record, Profile::V2);
        got.body = LogBody::Json(serde_json::json!({"ok": true, "n": 2, "msg": "hi"}));
        assert!(check_equivalent(Profile::V2, &got, &record).is_ok());
        got.body = LogBody::Json(serde_json::json!({"ok": false, "n": 2, "msg": "hi"}));
        let e = check_equivalent(Profile::V2, &got, &record).map(|()| "").unwrap_or_else(|e| e.field);
        assert_eq!(e, "content");
        let text = bench_record("Spark", 0, b"not json");
        got.body = LogBody::Json(serde_json::json!({"msg": "not json"}));
        assert!(check_equivalent(Profile::V2, &got, &text).is_err());
    }

    #[test]
    fn a_faithful_delivery_is_equivalent_in_both_profiles() {
        let record = bench_record("HDFS", 3, b"block added");
        for profile in [Profile::V1, Profile::V2] {
            assert!(check_equivalent(profile, &delivered(&record, profile), &record).is_ok());
        }
    }

    #[test]
    fn each_field_difference_is_named() {
        let record = bench_record("HDFS", 0, b"x");
        let mut got = delivered(&record, Profile::V1);
        got.body = LogBody::Text(b"y".to_vec());
        assert_eq!(check_equivalent(Profile::V1, &got, &record).map_err(|m| m.field).err(), Some("content"));
        let mut got = delivered(&record, Profile::V1);
        got.tags = Some("env:prod".into());
        assert_eq!(check_equivalent(Profile::V1, &got, &record).map_err(|m| m.field).err(), Some("service"));
        let mut got = delivered(&record, Profile::V1);
        got.timestamp_ms += 1;
        assert_eq!(
            check_equivalent(Profile::V1, &got, &record).map_err(|m| m.field).err(),
            Some("timestamp")
        );
    }
}
