//! The input record (spec `encoding.md` §2) and the tag string built from it (§9.12).

use bytes::Bytes;

use crate::Profile;

/// Timestamps are clamped to `±TIMESTAMP_LIMIT` at admission so that the difference of any two
/// admitted timestamps fits in an `i64` (delta encoding, §5).
///
/// The spec says ±2^62, but 2^62 − (−2^62) = 2^63 does not fit in an `i64` (the receiver's
/// checked addition rejects the wrapped delta), so the bound is one less: 2^62 − 1.
pub const TIMESTAMP_LIMIT: i64 = (1 << 62) - 1;

/// One log record as a producer hands it to a [`Pipeline`](crate::pipeline::Pipeline).
///
/// Empty optional strings count as absent (the accessors return `None` for them), so
/// `Some(String::new())` and `None` encode identically.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Milliseconds since the Unix epoch, chosen by the producer (wall clock, unrelated to the
    /// core's monotonic `now`). Clamped to `±(2^62 − 1)` at admission (`TIMESTAMP_LIMIT`).
    pub timestamp_ms: i64,
    /// The log: any bytes.
    pub content: Bytes,
    /// Severity, e.g. `info`.
    pub status: Option<String>,
    /// Service name.
    pub service: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Source (`ddsource`).
    pub source: Option<String>,
    /// Source tags, in the producer's order (neither sorted nor de-duplicated).
    pub tags: Vec<String>,
    /// Dual-send tracking id.
    pub uuid: Option<String>,
    /// Returned to the producer once the record's batch is acknowledged (`transport.md` §7.4).
    pub ack_token: Option<u64>,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

impl Record {
    /// A record with the given time and content and no metadata.
    pub fn new(timestamp_ms: i64, content: impl Into<Bytes>) -> Self {
        Record { timestamp_ms, content: content.into(), ..Default::default() }
    }

    /// Sets the status.
    pub fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Sets the service.
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Sets the host name.
    pub fn with_hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// Sets the source.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Appends one source tag.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Replaces the source tags.
    pub fn with_tags<I, T>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the dual-send uuid.
    pub fn with_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }

    /// Sets the ack token.
    pub fn with_ack_token(mut self, token: u64) -> Self {
        self.ack_token = Some(token);
        self
    }

    /// The timestamp after the admission clamp (§2).
    pub fn clamped_timestamp(&self) -> i64 {
        self.timestamp_ms.clamp(-TIMESTAMP_LIMIT, TIMESTAMP_LIMIT)
    }

    /// The status, `None` when absent or empty.
    pub fn status(&self) -> Option<&str> {
        present(&self.status)
    }

    /// The service, `None` when absent or empty.
    pub fn service(&self) -> Option<&str> {
        present(&self.service)
    }

    /// The host name, `None` when absent or empty.
    pub fn hostname(&self) -> Option<&str> {
        present(&self.hostname)
    }

    /// The source, `None` when absent or empty.
    pub fn source(&self) -> Option<&str> {
        present(&self.source)
    }

    /// The uuid, `None` when absent or empty.
    pub fn uuid(&self) -> Option<&str> {
        present(&self.uuid)
    }

    /// The raw size that counts toward the batch limits: `len(content)` (§3.2).
    pub fn raw_len(&self) -> u64 {
        self.content.len() as u64
    }

    /// The joined tag string of §9.12 for `profile` (empty when there are no tags).
    pub fn tag_string(&self, profile: Profile) -> String {
        tag_string(self, profile)
    }
}

/// Builds the tag string of `encoding.md` §9.12: the record's tags in order, then
/// `hostname:`, (`v1` only) `service:` and `ddsource:`, each only when present, joined by `,`.
pub fn tag_string(record: &Record, profile: Profile) -> String {
    let mut out = String::with_capacity(tag_string_len(record, profile));
    write_tag_string(record, profile, &mut out);
    out
}

/// Replaces the contents of `out` with the tag string of [`tag_string`], reusing its
/// allocation (the translator builds one per record).
pub fn write_tag_string(record: &Record, profile: Profile, out: &mut String) {
    out.clear();
    for (i, (prefix, part)) in tag_parts(record, profile).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(prefix);
        out.push_str(part);
    }
}

/// Whether the tag string of [`tag_string`] is `expected`, compared piece by piece without
/// building it (the translator's tag cache holds the last one).
pub fn tag_string_equals(record: &Record, profile: Profile, expected: &str) -> bool {
    let mut rest = expected.as_bytes();
    for (i, (prefix, part)) in tag_parts(record, profile).enumerate() {
        if i > 0 {
            match rest.split_first() {
                Some((b',', after)) => rest = after,
                _ => return false,
            }
        }
        for piece in [prefix, part] {
            match rest.strip_prefix(piece.as_bytes()) {
                Some(after) => rest = after,
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// The length in bytes of the tag string of [`tag_string`], without building it.
pub fn tag_string_len(record: &Record, profile: Profile) -> usize {
    let (count, bytes) = tag_parts(record, profile)
        .fold((0usize, 0), |(n, len), (prefix, part)| (n + 1, len + prefix.len() + part.len()));
    bytes + count.saturating_sub(1)
}

/// The tag string's parts in order, each as `(prefix, value)`.
fn tag_parts(record: &Record, profile: Profile) -> impl Iterator<Item = (&'static str, &str)> {
    let service = match profile {
        Profile::V1 => record.service(),
        Profile::V2 => None, // `v2` carries the service in `Log.service`
    };
    let metadata = [
        record.hostname().map(|h| ("hostname:", h)),
        service.map(|s| ("service:", s)),
        record.source().map(|s| ("ddsource:", s)),
    ];
    record.tags.iter().map(|tag| ("", tag.as_str())).chain(metadata.into_iter().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record_with(tags: &[String], host: &str, service: &str) -> Record {
        Record::new(0, "x").with_tags(tags.iter().cloned()).with_hostname(host).with_service(service)
    }

    proptest! {
        /// Invariant: the piecewise comparison says exactly whether the built tag strings
        /// are equal, in both profiles (commas inside tags included).
        #[test]
        fn tag_string_equals_agrees_with_building_it(
            a in (prop::collection::vec("[a-c:,]{0,3}", 0..3), "[a-c,]{0,2}", "[a-c]{0,2}"),
            b in (prop::collection::vec("[a-c:,]{0,3}", 0..3), "[a-c,]{0,2}", "[a-c]{0,2}"),
        ) {
            let (ra, rb) = (record_with(&a.0, &a.1, &a.2), record_with(&b.0, &b.1, &b.2));
            for profile in [Profile::V1, Profile::V2] {
                let (sa, sb) = (ra.tag_string(profile), rb.tag_string(profile));
                prop_assert!(tag_string_equals(&ra, profile, &sa));
                prop_assert_eq!(tag_string_equals(&ra, profile, &sb), sa == sb);
            }
        }
    }

    #[test]
    fn tag_string_orders_tags_then_host_service_source_in_v1() {
        let r = Record::new(0, "x")
            .with_tags(["env:prod", "b", "env:prod"])
            .with_hostname("web-1")
            .with_service("api")
            .with_source("auth");
        assert_eq!(r.tag_string(Profile::V1), "env:prod,b,env:prod,hostname:web-1,service:api,ddsource:auth");
        assert_eq!(r.tag_string(Profile::V2), "env:prod,b,env:prod,hostname:web-1,ddsource:auth");
        for profile in [Profile::V1, Profile::V2] {
            assert_eq!(tag_string_len(&r, profile), r.tag_string(profile).len());
            let mut reused = String::from("old contents");
            write_tag_string(&r, profile, &mut reused);
            assert_eq!(reused, r.tag_string(profile));
        }
    }

    #[test]
    fn empty_optional_strings_count_as_absent() {
        let r = Record::new(0, "x").with_hostname("").with_service("").with_source("").with_status("");
        assert_eq!(r.tag_string(Profile::V1), "");
        assert_eq!(tag_string_len(&r, Profile::V1), 0);
        assert_eq!(r.status(), None);
        assert_eq!(Record::new(0, "").with_service("s").tag_string(Profile::V1), "service:s");
    }

    #[test]
    fn timestamp_is_clamped_so_that_every_difference_fits_in_i64() {
        let max = Record::new(i64::MAX, "").clamped_timestamp();
        let min = Record::new(i64::MIN, "").clamped_timestamp();
        assert_eq!((max, min), ((1 << 62) - 1, -(1 << 62) + 1));
        assert!(max.checked_sub(min).is_some() && min.checked_sub(max).is_some());
        assert_eq!(Record::new(-5, "").clamped_timestamp(), -5);
    }
}
