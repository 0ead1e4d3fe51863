//! The benchmark record mapping (`encoding.md` §11) and record equivalence (§10.1).

use stateful_logs::receiver::{LogBody, ReceivedLog};
use stateful_logs::{Profile, Record};

/// Timestamp of the kept line with index 0 (§11).
pub const BASE_TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// The system name of a Loghub file: its file name up to the first `_` (`HDFS` for
/// `HDFS_2k.log`), the whole file name when it has no `_`.
pub fn system_name(path: &std::path::Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.split_once('_') {
        Some((system, _)) => system.to_owned(),
        None => name,
    }
}

/// The record of the kept line with index `index` of the file of system `system` (§11).
pub fn bench_record(system: &str, index: usize, line: &[u8]) -> Record {
    Record::new(BASE_TIMESTAMP_MS + index as i64, line.to_vec())
        .with_status("info")
        .with_hostname("host-1")
        .with_service(system)
        .with_source(system)
        .with_tags(["env:prod", "version:1.2.3"])
}

/// The HTTP JSON + zstd-1 baseline (§11): each record as a compact JSON object (`message`,
/// `status`, `timestamp`, `hostname`, `service`, `ddsource`, `ddtags`), each batch of
/// `batch_size` records one JSON array compressed on its own with zstd level 1. Returns the
/// sum of the compressed sizes.
pub fn http_json_baseline_bytes(records: &[Record], batch_size: usize) -> Result<u64, std::io::Error> {
    let compression = stateful_logs::codec::Compression::zstd(1);
    let mut total = 0u64;
    let string = |s: Option<&str>| serde_json::Value::from(s.unwrap_or_default()).to_string();
    for batch in records.chunks(batch_size.max(1)) {
        // Written by hand to keep the members in the order §11 lists them.
        let mut json = String::from("[");
        for (i, r) in batch.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            let message = serde_json::Value::from(String::from_utf8_lossy(&r.content)).to_string();
            json.push_str(&format!(
                "{{\"message\":{message},\"status\":{},\"timestamp\":{},\"hostname\":{},\"service\":{},\"ddsource\":{},\"ddtags\":{}}}",
                string(r.status()),
                r.timestamp_ms,
                string(r.hostname()),
                string(r.service()),
                string(r.source()),
                string(Some(&r.tags.join(","))),
            ));
        }
        json.push(']');
        let compressed =
            compression.compress(json.as_bytes()).map_err(|e| std::io::Error::other(e.to_string()))?;
        total += compressed.len() as u64;
    }
    Ok(total)
}

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

/// Checks that `got` equals `want` as §10.1 defines it for text records: timestamp after the
/// admission clamp, content bytes, status, service and uuid (empty = absent), tag string.
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
        LogBody::Json(value) => return Err(differ("content", "a text log", value.to_string())),
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
    fn system_name_is_the_file_name_up_to_the_first_underscore() {
        assert_eq!(system_name("corpora/loghub/HDFS_2k.log".as_ref()), "HDFS");
        assert_eq!(system_name("/var/log/syslog".as_ref()), "syslog");
    }

    #[test]
    fn a_faithful_delivery_is_equivalent_in_both_profiles() {
        let record = bench_record("HDFS", 3, b"block added");
        assert_eq!(record.timestamp_ms, 1_700_000_000_003);
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
