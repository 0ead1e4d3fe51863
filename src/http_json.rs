//! The HTTP intake's JSON record (`encoding.md` §11): what the `HttpJson` batch format sends,
//! and the baseline the benchmarks compare against.

use crate::record::Record;

/// Writes one record as the baseline's compact JSON object (§11): `message` (invalid UTF-8
/// replaced by U+FFFD), `status`, `timestamp`, `hostname`, `service`, `ddsource`, `ddtags`.
pub fn write_http_json_record(record: &Record, out: &mut Vec<u8>) {
    fn string(out: &mut Vec<u8>, name: &str, value: &str) {
        out.extend_from_slice(b"\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        // Serializing a `str` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
    out.push(b'{');
    string(out, "message", &String::from_utf8_lossy(&record.content));
    out.push(b',');
    string(out, "status", record.status().unwrap_or_default());
    out.extend_from_slice(b",\"timestamp\":");
    out.extend_from_slice(record.timestamp_ms.to_string().as_bytes());
    out.push(b',');
    string(out, "hostname", record.hostname().unwrap_or_default());
    out.push(b',');
    string(out, "service", record.service().unwrap_or_default());
    out.push(b',');
    string(out, "ddsource", record.source().unwrap_or_default());
    out.push(b',');
    string(out, "ddtags", &record.tags.join(","));
    out.push(b'}');
}

/// The metadata members of a baseline record (§11), in the order written.
const METADATA_KEYS: [&str; 6] = ["status", "timestamp", "hostname", "service", "ddsource", "ddtags"];

/// Writes one record for the HTTP intake as an agent that parses JSON logs sends it: when the
/// content is a JSON object, that object with the record's metadata members (`status`,
/// `timestamp`, `hostname`, `service`, `ddsource`, `ddtags`, as in [`write_http_json_record`])
/// merged in; a member of the log that has one of those names moves to `log.<name>` (prefixed
/// again while taken), so nothing is lost. Members come out in key order (as Go's
/// `encoding/json` writes a map); numbers keep their text. Any other content is written by
/// [`write_http_json_record`].
pub fn write_http_json_object_record(record: &Record, out: &mut Vec<u8>) {
    let Ok(serde_json::Value::Object(mut log)) = serde_json::from_slice::<serde_json::Value>(&record.content)
    else {
        return write_http_json_record(record, out);
    };
    for name in METADATA_KEYS {
        if let Some(value) = log.remove(name) {
            let mut moved = format!("log.{name}");
            while log.contains_key(&moved) {
                moved.insert_str(0, "log.");
            }
            log.insert(moved, value);
        }
    }
    let text = |s: Option<&str>| serde_json::Value::String(s.unwrap_or_default().to_owned());
    log.insert("status".into(), text(record.status()));
    log.insert("timestamp".into(), record.timestamp_ms.into());
    log.insert("hostname".into(), text(record.hostname()));
    log.insert("service".into(), text(record.service()));
    log.insert("ddsource".into(), text(record.source()));
    log.insert("ddtags".into(), serde_json::Value::String(record.tags.join(",")));
    // Serializing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &log);
}
