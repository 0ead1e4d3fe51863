//! A reconstructed log (`wire.md` §9.9) and its intake output line (`encoding.md` §10.3).

use serde_json::{Map, Value};

use crate::Profile;

/// The body of a delivered log.
#[derive(Clone, Debug, PartialEq)]
pub enum LogBody {
    /// A text log's bytes, unescaped (`wire.md` §9.5, §9.6); not necessarily UTF-8.
    Text(Vec<u8>),
    /// A JSON log's reconstructed object (§9.7, §9.8). Numbers keep their literal text; FLOAT
    /// values are written as Rust's `f64` `Display` does.
    Json(Value),
}

/// One log as the receiver reconstructed it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedLog {
    /// The profile of the stream it came from (decides where `service` is read from).
    pub profile: Profile,
    /// Milliseconds since the Unix epoch (may be negative).
    pub timestamp_ms: i64,
    /// Text bytes or JSON object.
    pub body: LogBody,
    /// Severity string, if any.
    pub status: Option<String>,
    /// `v2`: the service name, if any. Always `None` in `v1`, where the service is the
    /// `service:` tag (see [`ReceivedLog::service_name`]).
    pub service: Option<String>,
    /// The joined tag string, if any.
    pub tags: Option<String>,
    /// Dual-send tracking id, if any.
    pub uuid: Option<String>,
}

impl ReceivedLog {
    /// The value of the last tag starting with `prefix` (e.g. `hostname:`) in the tag string.
    pub fn last_tag_value(&self, prefix: &str) -> Option<&str> {
        self.tags.as_deref()?.split(',').filter_map(|tag| tag.strip_prefix(prefix)).next_back()
    }

    /// The service: `Log.service` in `v2`, the last `service:` tag in `v1`.
    pub fn service_name(&self) -> Option<&str> {
        match self.profile {
            Profile::V1 => self.last_tag_value("service:"),
            Profile::V2 => self.service.as_deref(),
        }
    }

    /// The body's bytes: the text, or a JSON log's compact serialization.
    pub fn body_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.body {
            LogBody::Text(bytes) => std::borrow::Cow::Borrowed(bytes),
            LogBody::Json(value) => std::borrow::Cow::Owned(value.to_string().into_bytes()),
        }
    }

    /// The intake output object (`encoding.md` §10.3): `timestamp`, `content` (or
    /// `content_b64` when the body is not UTF-8), `status`, `service`, `hostname`, `source`,
    /// `tags`.
    pub fn intake_json(&self) -> Value {
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::from(self.timestamp_ms));
        match &self.body {
            LogBody::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => line.insert("content".into(), Value::String(text.to_owned())),
                Err(_) => line.insert("content_b64".into(), Value::String(base64_encode(bytes))),
            },
            LogBody::Json(value) => line.insert("content".into(), Value::String(value.to_string())),
        };
        let opt = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_owned()));
        line.insert("status".into(), opt(self.status.as_deref()));
        line.insert("service".into(), opt(self.service_name()));
        line.insert("hostname".into(), opt(self.last_tag_value("hostname:")));
        line.insert("source".into(), opt(self.last_tag_value("ddsource:")));
        line.insert("tags".into(), opt(self.tags.as_deref()));
        Value::Object(line)
    }

    /// [`ReceivedLog::intake_json`] as one compact line, without the trailing newline.
    pub fn to_jsonl(&self) -> String {
        self.intake_json().to_string()
    }

    /// Bytes this log counts against `max_delivered_bytes_per_batch` besides its body:
    /// status, service, tags and uuid.
    pub(super) fn metadata_bytes(&self) -> u64 {
        [&self.status, &self.service, &self.tags, &self.uuid]
            .iter()
            .map(|s| s.as_ref().map_or(0, |s| s.len() as u64))
            .sum()
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log(profile: Profile, body: LogBody, tags: Option<&str>) -> ReceivedLog {
        ReceivedLog {
            profile,
            timestamp_ms: 1767225600123,
            body,
            status: Some("info".into()),
            service: None,
            tags: tags.map(str::to_owned),
            uuid: None,
        }
    }

    #[test]
    fn v1_service_hostname_and_source_come_from_the_last_matching_tag() {
        let tags = "env:prod,hostname:a,service:api,ddsource:auth,hostname:web-1";
        let line = log(Profile::V1, LogBody::Text(b"hello".to_vec()), Some(tags)).intake_json();
        assert_eq!(
            line,
            json!({"timestamp": 1767225600123i64, "content": "hello", "status": "info", "service": "api",
                   "hostname": "web-1", "source": "auth", "tags": tags})
        );
    }

    #[test]
    fn v2_service_comes_from_the_log_not_the_tags() {
        let mut l = log(Profile::V2, LogBody::Text(b"x".to_vec()), Some("service:tagged"));
        assert_eq!(l.intake_json()["service"], Value::Null);
        l.service = Some("api".into());
        assert_eq!(l.intake_json()["service"], json!("api"));
    }

    #[test]
    fn non_utf8_bodies_are_base64_and_json_bodies_are_compact_strings() {
        let line = log(Profile::V1, LogBody::Text(vec![b'a', 0xff, b'b']), None).intake_json();
        assert_eq!(line["content_b64"], json!("Yf9i"));
        assert!(line.get("content").is_none());
        assert_eq!(line["tags"], Value::Null);
        let line = log(Profile::V2, LogBody::Json(json!({"msg": "hi", "n": 1})), None).to_jsonl();
        assert!(line.contains(r#""content":"{\"msg\":\"hi\",\"n\":1}""#), "{line}");
    }

    #[test]
    fn base64_pads_like_the_standard() {
        use base64::Engine;
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar", &[0xff, 0xfe, 0x00]] {
            assert_eq!(base64_encode(data), base64::engine::general_purpose::STANDARD.encode(data));
        }
    }
}
