//! Record equivalence (`encoding.md` §10.1): whether a delivered record equals the record that
//! was sent. The one check behind the round-trip tests, the fuzz targets, the demo's check and
//! `bench`'s `lossless` column.

use crate::receiver::{LogBody, ReceivedLog};
use crate::{Profile, Record};

/// How a delivered record differs from its input record: the first field that differs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} differs: expected {expected}, got {got}")]
pub struct Mismatch {
    /// The field that differs: `timestamp`, `content`, `status`, `service`, `uuid` or `tags`.
    pub field: &'static str,
    /// The input's value.
    pub expected: String,
    /// The delivered value.
    pub got: String,
}

fn differ(field: &'static str, expected: impl std::fmt::Debug, got: impl std::fmt::Debug) -> Mismatch {
    Mismatch { field, expected: format!("{expected:?}"), got: format!("{got:?}") }
}

/// `None` for an absent or empty value.
fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Checks that `got` (delivered by a receiver of `profile`) equals `want` as `encoding.md`
/// §10.1 defines it; the error names the first field that differs.
///
/// The rules, with the answer to each question the earlier checks disagreed on:
/// 1. **Timestamp**: the delivered one equals `want`'s after the admission clamp (rule 1).
/// 2. **Content**: a text body equals `content` byte for byte. A body delivered as JSON equals
///    `content` parsed as JSON, as a JSON value ([`json_equal`]): members in any order,
///    arrays element by element, strings after unescaping, and **numbers by exact numeric
///    value**: `1.0` equals `1`, `1e2` equals `100`, `-0` equals `0`, but
///    `9007199254740993` does not equal `9007199254740992` (no detour through `f64`). Why:
///    rule 2 says "numbers equal by numeric value", so the text of a number (a `v2` float
///    column renders its own) does not count, and value-exact JSON (improvement 14) means a
///    value that only survives as a rounded `f64` is a loss, not an equal.
/// 3. **Status, service, uuid**: equal, **an empty string counting as absent on either
///    side** (rule 3 says so; a `v2` receiver delivers an empty service as `""`).
/// 4. **Service in `v1`**: read from the tag string on both sides: the delivered one is the
///    last `service:` tag ([`ReceivedLog::service_name`]), the expected one the last
///    `service:` tag of the tag string §9.12 builds from `want`, not `want.service` itself.
///    Why: rule 3's "(in `v1` the service is part of the tag string)" and §10.3's `service`
///    member; a record's own `service:x` tag, placed before the service's, loses to it, and a
///    service name holding `,` splits like any tag.
/// 5. **Tags**: the delivered tag string equals the one §9.12 builds from `want`, none (or
///    empty) when that string is empty (rule 4).
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
            Ok(sent) if json_equal(value, &sent) => {}
            Ok(sent) => return Err(differ("content", sent.to_string(), value.to_string())),
            Err(_) => {
                return Err(differ("content", String::from_utf8_lossy(&want.content), value.to_string()));
            }
        },
    }
    if present(got.status.as_deref()) != want.status() {
        return Err(differ("status", want.status(), &got.status));
    }
    let tags = want.tag_string(profile);
    let want_service = match profile {
        Profile::V1 => tags.split(',').filter_map(|tag| tag.strip_prefix("service:")).next_back(),
        Profile::V2 => want.service(),
    };
    if present(got.service_name()) != present(want_service) {
        return Err(differ("service", want_service, got.service_name()));
    }
    if present(got.uuid.as_deref()) != want.uuid() {
        return Err(differ("uuid", want.uuid(), &got.uuid));
    }
    if present(got.tags.as_deref()) != present(Some(&tags)) {
        return Err(differ("tags", tags, &got.tags));
    }
    Ok(())
}

/// JSON value equality of §10.1 rule 2: objects with the same member names in any order and
/// equal values, arrays element by element, strings after unescaping, numbers by exact
/// numeric value ([`check_equivalent`] says why), `true`, `false` and `null` as such.
pub fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => numbers_equal(&x.to_string(), &y.to_string()),
        (V::Array(x), V::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y)),
        (V::Object(x), V::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Whether two JSON number texts have the same exact value.
fn numbers_equal(a: &str, b: &str) -> bool {
    match (Decimal::parse(a), Decimal::parse(b)) {
        (Some(x), Some(y)) => x == y,
        // Not a JSON number (cannot come from a parsed value): compare the text.
        _ => a == b,
    }
}

/// A JSON number as sign × digits × 10^exponent, normalized: no leading or trailing zero
/// digit, zero without sign; two numbers are equal in value exactly when these are equal.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i128,
}

impl Decimal {
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], rest[at + 1..].parse::<i128>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let all = format!("{int}{frac}");
        let significant = all.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        if trimmed.is_empty() {
            return Some(Decimal { negative: false, digits: String::new(), exponent: 0 });
        }
        let exponent = exponent - frac.len() as i128 + (significant.len() - trimmed.len()) as i128;
        Some(Decimal { negative, digits: trimmed.to_owned(), exponent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(content: &[u8]) -> Record {
        Record::new(1_700_000_000_000, bytes::Bytes::copy_from_slice(content))
            .with_status("info")
            .with_hostname("host-1")
            .with_service("api")
            .with_source("api")
            .with_tags(["env:prod"])
    }

    /// What a faithful receiver of `profile` delivers for `record`.
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

    fn field(result: Result<(), Mismatch>) -> Option<&'static str> {
        result.err().map(|m| m.field)
    }

    #[test]
    fn a_faithful_delivery_is_equivalent_in_both_profiles() {
        let r = record(b"block added");
        for profile in Profile::ALL {
            assert_eq!(check_equivalent(profile, &delivered(&r, profile), &r), Ok(()));
        }
    }

    #[test]
    fn json_numbers_are_equal_by_exact_value_not_by_text() {
        let eq = |a: &str, b: &str| {
            json_equal(&serde_json::from_str(a).unwrap(), &serde_json::from_str(b).unwrap())
        };
        assert!(eq("1.0", "1"));
        assert!(eq("1e2", "100"));
        assert!(eq("1E+2", "100.00"));
        assert!(eq("0.5", "5e-1"));
        assert!(eq("-0", "0"));
        assert!(eq("0.000", "0e10"));
        assert!(eq("-12.50", "-1.25e1"));
        assert!(!eq("1", "-1"));
        assert!(!eq("1.5", "1.05"));
        assert!(!eq("10", "1"));
        // Equal as f64, different as numbers: value-exact JSON tells them apart.
        assert!(!eq("9007199254740993", "9007199254740992"));
        assert!(!eq("0.1000000000000000055511151231257827", "0.1"));
        assert!(!eq("1", "\"1\""));
    }

    #[test]
    fn a_json_body_equals_its_input_as_a_json_value() {
        let r = record(br#"{"msg":"hi","n":1.0,"list":[1e2,"a\u0062"],"ok":true,"none":null}"#);
        let mut got = delivered(&r, Profile::V2);
        got.body = LogBody::Json(json!({"ok": true, "none": null, "list": [100, "ab"], "n": 1, "msg": "hi"}));
        assert_eq!(check_equivalent(Profile::V2, &got, &r), Ok(()));
        got.body =
            LogBody::Json(json!({"ok": false, "none": null, "list": [100, "ab"], "n": 1, "msg": "hi"}));
        assert_eq!(field(check_equivalent(Profile::V2, &got, &r)), Some("content"));
        got.body = LogBody::Json(json!({"ok": true, "none": null, "list": [100, "ab"], "n": 1}));
        assert_eq!(field(check_equivalent(Profile::V2, &got, &r)), Some("content"), "a member missing");
        let text = record(b"not json");
        got.body = LogBody::Json(json!({"msg": "not json"}));
        assert_eq!(field(check_equivalent(Profile::V2, &got, &text)), Some("content"));
    }

    #[test]
    fn an_empty_value_counts_as_absent_on_either_side() {
        let mut r = record(b"x");
        r.status = Some(String::new());
        r.uuid = Some(String::new());
        for profile in Profile::ALL {
            let mut got = delivered(&r, profile);
            got.status = Some(String::new());
            got.uuid = Some(String::new());
            assert_eq!(check_equivalent(profile, &got, &r), Ok(()), "{profile}: empty = absent");
            got.status = None;
            got.uuid = None;
            assert_eq!(check_equivalent(profile, &got, &r), Ok(()), "{profile}: absent = empty");
            got.status = Some("warn".into());
            assert_eq!(field(check_equivalent(profile, &got, &r)), Some("status"));
        }
        // v2 delivers a missing service as "": absent.
        let mut no_service = record(b"x");
        no_service.service = None;
        let got = delivered(&no_service, Profile::V2);
        assert_eq!(got.service.as_deref(), Some(""));
        assert_eq!(check_equivalent(Profile::V2, &got, &no_service), Ok(()));
        // No tags at all: none delivered, or an empty tag string, both equal.
        let bare = Record::new(5, "x");
        let mut got = delivered(&bare, Profile::V1);
        assert_eq!(got.tags, None);
        assert_eq!(check_equivalent(Profile::V1, &got, &bare), Ok(()));
        got.tags = Some(String::new());
        assert_eq!(check_equivalent(Profile::V1, &got, &bare), Ok(()));
    }

    #[test]
    fn the_v1_service_is_read_from_the_tag_string() {
        // The record's own `service:` tag comes first in the tag string, the service's last:
        // the last one is the service, on both sides.
        let r = record(b"x").with_tags(["service:own", "env:prod"]);
        let got = delivered(&r, Profile::V1);
        assert_eq!(got.service_name(), Some("api"));
        assert_eq!(check_equivalent(Profile::V1, &got, &r), Ok(()));
        // A service holding `,` splits like any tag: what follows the comma is a tag.
        let mut comma = record(b"x");
        comma.service = Some("a,b".into());
        let got = delivered(&comma, Profile::V1);
        assert_eq!(got.service_name(), Some("a"));
        assert_eq!(check_equivalent(Profile::V1, &got, &comma), Ok(()));
        // The tag string decides: a delivered string without the service tag differs.
        let mut got = delivered(&r, Profile::V1);
        got.tags = Some("env:prod".into());
        assert_eq!(field(check_equivalent(Profile::V1, &got, &r)), Some("service"));
    }

    #[test]
    fn each_field_difference_is_named() {
        let r = record(b"x");
        let mut got = delivered(&r, Profile::V1);
        got.body = LogBody::Text(b"y".to_vec());
        assert_eq!(field(check_equivalent(Profile::V1, &got, &r)), Some("content"));
        let mut got = delivered(&r, Profile::V1);
        got.timestamp_ms += 1;
        assert_eq!(field(check_equivalent(Profile::V1, &got, &r)), Some("timestamp"));
        let mut got = delivered(&r, Profile::V2);
        got.uuid = Some("u".into());
        assert_eq!(field(check_equivalent(Profile::V2, &got, &r)), Some("uuid"));
        let mut got = delivered(&r, Profile::V2);
        got.service = Some("other".into());
        assert_eq!(field(check_equivalent(Profile::V2, &got, &r)), Some("service"));
        let mut got = delivered(&r, Profile::V2);
        got.tags = Some("env:dev,hostname:host-1,ddsource:api".into());
        assert_eq!(field(check_equivalent(Profile::V2, &got, &r)), Some("tags"));
        // The admission clamp applies to the expectation.
        let far = Record::new(i64::MAX, "x");
        assert_eq!(check_equivalent(Profile::V2, &delivered(&far, Profile::V2), &far), Ok(()));
    }
}
