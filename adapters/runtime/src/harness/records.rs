//! The records the suite sends and how it checks what the intake made of them.
//!
//! Every line is text, except in profile `v2`, where every [`JSON_EVERY`]th line is a JSON
//! object (`msg` plus typed fields) so that `v2`'s JSON path runs end to end: the check
//! compares the reconstructed object with the one sent as JSON values (`encoding.md` §10.1:
//! member order may differ), whether the intake gives it back as a JSON body or as the text
//! it was sent as.

use serde_json::Value;
use stateful_logs::Profile;
use stateful_logs_intake::{LogBody, ReceivedLog};

/// In `v2`, line `seq` is a JSON object when `seq % JSON_EVERY == JSON_EVERY - 1`.
pub const JSON_EVERY: u32 = 7;

/// The content of a test line; the suite reads producer and sequence back from it.
pub fn line(producer: u32, seq: u32) -> String {
    format!("producer {producer} line {seq:06} request served in {} ms status=ok", seq % 97)
}

/// Whether line `seq` is sent as a JSON object in `profile`.
pub fn is_json_line(profile: Profile, seq: u32) -> bool {
    profile == Profile::V2 && seq % JSON_EVERY == JSON_EVERY - 1
}

/// The JSON object of a JSON line: [`line`] as `msg`, and typed fields (integer, float with a
/// fraction, boolean, null, array, nested object) in the member order of a JSON logger.
pub fn json_line(producer: u32, seq: u32) -> String {
    let msg = Value::String(line(producer, seq));
    format!(
        r#"{{"level":"info","msg":{msg},"seq":{seq},"duration_ms":{}.25,"cached":{},"user":null,"tags":["e2e","json"],"http":{{"status":{}}}}}"#,
        seq % 97,
        seq.is_multiple_of(2),
        if seq.is_multiple_of(5) { 503 } else { 200 }
    )
}

/// The content of line `seq` of `producer` in `profile`: [`json_line`] or [`line`].
pub fn content(profile: Profile, producer: u32, seq: u32) -> String {
    if is_json_line(profile, seq) { json_line(producer, seq) } else { line(producer, seq) }
}

/// The ack token of a test line.
pub fn token(producer: u32, seq: u32) -> u64 {
    (u64::from(producer) << 32) | u64::from(seq)
}

fn parse_line(text: &str) -> Option<(u32, u32)> {
    let mut words = text.split(' ');
    let producer = words.nth(1)?.parse().ok()?;
    let seq = words.nth(1)?.parse().ok()?;
    Some((producer, seq))
}

/// The body of `log` as a JSON object, when it is one: a JSON body, or text that parses as one.
fn json_body(log: &ReceivedLog) -> Option<Value> {
    match &log.body {
        LogBody::Json(value) => Some(value.clone()),
        LogBody::Text(bytes) if bytes.starts_with(b"{") => serde_json::from_slice(bytes).ok(),
        LogBody::Text(_) => None,
    }
}

/// Producer and sequence of a delivered log, read from its text or its JSON `msg`.
pub fn parse_log(log: &ReceivedLog) -> Option<(u32, u32)> {
    match json_body(log) {
        Some(object) => parse_line(object.get("msg")?.as_str()?),
        None => parse_line(
            std::str::from_utf8(match &log.body {
                LogBody::Text(bytes) => bytes,
                LogBody::Json(_) => return None,
            })
            .ok()?,
        ),
    }
}

/// Checks that a delivered log's body is what was sent for line `seq` of `producer` on a
/// stream of the log's profile: the same text, or the same JSON value.
pub fn check_content(log: &ReceivedLog, producer: u32, seq: u32) {
    if is_json_line(log.profile, seq) {
        let sent: Value = serde_json::from_str(&json_line(producer, seq))
            .unwrap_or_else(|e| panic!("the suite's JSON line does not parse: {e}"));
        let got = json_body(log).unwrap_or_else(|| {
            panic!("line {seq} of producer {producer}: not a JSON object: {:?}", log.body)
        });
        assert_eq!(got, sent, "line {seq} of producer {producer}: the JSON object differs");
    } else {
        let body = log.body_bytes();
        assert_eq!(
            String::from_utf8_lossy(&body),
            line(producer, seq),
            "line {seq} of producer {producer}: the text differs"
        );
    }
}

/// The record of line `seq` of `producer`: status, service, host and a tag besides the text
/// (always text: [`profile_record`] adds `v2`'s JSON lines).
pub fn test_record(producer: u32, seq: u32) -> stateful_logs::Record {
    profile_record(Profile::V1, producer, seq)
}

/// The record of line `seq` of `producer` sent in `profile` ([`content`]).
pub fn profile_record(profile: Profile, producer: u32, seq: u32) -> stateful_logs::Record {
    stateful_logs::Record::new(1_700_000_000_000 + i64::from(seq), content(profile, producer, seq))
        .with_status(if seq.is_multiple_of(10) { "warn" } else { "info" })
        .with_service("checkout")
        .with_hostname(format!("host-{producer}"))
        .with_tag("env:test")
        .with_ack_token(token(producer, seq))
}

/// Checks that a delivered log carries what [`profile_record`] gave it: content (text or JSON
/// value), timestamp, status, service, host and tag. For the HTTP JSON baseline, whose intake
/// output is not a stateful record; the stateful core's logs are checked whole with the
/// core's `stateful_logs::testing::check_equivalent` (`encoding.md` §10.1).
pub fn check_test_log(log: &ReceivedLog, producer: u32, seq: u32) {
    check_content(log, producer, seq);
    assert_eq!(log.timestamp_ms, 1_700_000_000_000 + i64::from(seq));
    let status = if seq.is_multiple_of(10) { "warn" } else { "info" };
    assert_eq!(log.status.as_deref(), Some(status), "line {seq}");
    assert_eq!(log.service_name(), Some("checkout"));
    assert_eq!(log.last_tag_value("hostname:"), Some(format!("host-{producer}").as_str()));
    assert!(log.tags.as_deref().is_some_and(|t| t.split(',').any(|tag| tag == "env:test")), "{:?}", log.tags);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(profile: Profile, body: LogBody) -> ReceivedLog {
        ReceivedLog {
            profile,
            timestamp_ms: 1_700_000_000_006,
            body,
            status: Some("info".into()),
            service: None,
            tags: None,
            uuid: None,
        }
    }

    #[test]
    fn v2_sends_every_seventh_line_as_json_and_v1_none() {
        let json: Vec<u32> = (0..21).filter(|&s| is_json_line(Profile::V2, s)).collect();
        assert_eq!(json, [6, 13, 20]);
        assert!((0..100).all(|s| !is_json_line(Profile::V1, s)));
        let object: Value = serde_json::from_str(&json_line(3, 6)).unwrap_or_default();
        assert_eq!(object["msg"], line(3, 6));
        assert_eq!(object["http"]["status"], 200);
        assert!(object["user"].is_null());
    }

    #[test]
    fn a_json_line_is_recognised_as_json_body_or_as_text_in_any_member_order() {
        let sent = json_line(1, 13);
        let as_text = log(Profile::V2, LogBody::Text(sent.clone().into_bytes()));
        assert_eq!(parse_log(&as_text), Some((1, 13)));
        check_content(&as_text, 1, 13);
        // The members in another order (a JSON body as a decoder may rebuild it).
        let mut reordered = serde_json::Map::new();
        let Value::Object(members) = serde_json::from_str(&sent).unwrap_or_default() else {
            panic!("not an object")
        };
        for (k, v) in members.into_iter().rev() {
            reordered.insert(k, v);
        }
        let as_json = log(Profile::V2, LogBody::Json(Value::Object(reordered)));
        assert_eq!(parse_log(&as_json), Some((1, 13)));
        check_content(&as_json, 1, 13);
    }

    #[test]
    #[should_panic(expected = "the JSON object differs")]
    fn a_changed_json_value_fails_the_check() {
        let changed = json_line(1, 13).replace("\"cached\":false", "\"cached\":true");
        check_content(&log(Profile::V2, LogBody::Text(changed.into_bytes())), 1, 13);
    }

    #[test]
    #[should_panic(expected = "the text differs")]
    fn a_changed_text_fails_the_check() {
        check_content(&log(Profile::V1, LogBody::Text(b"producer 1 line 000013 x".to_vec())), 1, 13);
    }
}
