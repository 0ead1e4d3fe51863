//! Receiver configuration, its defaults and its validation (spec `transport.md` §16).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::codec::ContentEncoding;
use crate::codec::stream::WINDOW_LOG_RANGE;
use crate::transport::ApiKey;
use crate::{ConfigError, Profile};

/// The deepest JSON nesting `max_json_depth` may allow: `serde_json` refuses to parse deeper
/// text, so a larger setting could never take effect.
pub const MAX_JSON_DEPTH_LIMIT: usize = 128;

/// Which `dd-api-key` values a receiver accepts.
///
/// The default is the empty set, which **accepts any key**: authentication is off. An intake
/// should say so prominently when it starts that way.
#[derive(Clone, Default)]
pub enum ApiKeys {
    /// Accept exactly these keys; an empty list accepts any key.
    Set(Vec<ApiKey>),
    /// Accept the keys for which the caller's function returns `true`.
    Check(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// Accept any key (the same as an empty [`ApiKeys::Set`], spelled out).
    #[default]
    AcceptAny,
}

impl ApiKeys {
    /// Accept exactly `keys` (any key when there are none).
    pub fn set<I, K>(keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        ApiKeys::Set(keys.into_iter().map(|k| ApiKey::new(k)).collect())
    }

    /// Accept the keys `check` approves.
    pub fn check(check: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        ApiKeys::Check(Arc::new(check))
    }

    /// Whether every key, even a missing one, is accepted (authentication off).
    pub fn accepts_any(&self) -> bool {
        match self {
            ApiKeys::Set(keys) => keys.is_empty(),
            ApiKeys::Check(_) => false,
            ApiKeys::AcceptAny => true,
        }
    }

    /// Whether a stream presenting `key` is accepted.
    pub fn accepts(&self, key: &str) -> bool {
        match self {
            ApiKeys::Set(keys) => {
                // Compare every key in full so the time taken does not hint at how much of a
                // guess was right.
                keys.is_empty() || keys.iter().fold(false, |hit, k| constant_time_eq(k.expose(), key) | hit)
            }
            ApiKeys::Check(check) => check(key),
            ApiKeys::AcceptAny => true,
        }
    }
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiKeys::Set(keys) if keys.is_empty() => f.write_str("ApiKeys::AcceptAny"),
            ApiKeys::Set(keys) => write!(f, "ApiKeys::Set({} keys, <redacted>)", keys.len()),
            ApiKeys::Check(_) => f.write_str("ApiKeys::Check(<function>)"),
            ApiKeys::AcceptAny => f.write_str("ApiKeys::AcceptAny"),
        }
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (i, &x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(!x);
    }
    diff == 0
}

/// Everything a [`Receiver`](super::Receiver) needs; see `transport.md` §16 for each setting.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// Profiles served; a stream's profile is the one its method path names. Default: both.
    pub profiles: Vec<Profile>,
    /// Accepted `dd-api-key` values. Default: any key (authentication off).
    pub api_keys: ApiKeys,
    /// Whether `v1` streams are delta-encoded; must match the clients (`wire.md` §1). Default true.
    pub v1_delta_encoding: bool,
    /// Concurrent streams; one more is refused with `RESOURCE_EXHAUSTED`. Default 1,024.
    pub max_streams: usize,
    /// A stream without a batch for this long (since its start or its last batch) ends with
    /// `DEADLINE_EXCEEDED`. Default 20 minutes.
    pub idle_timeout: Duration,
    /// Per batch, after decompression. Default 64 MiB.
    pub max_decompressed_bytes: usize,
    /// Datums in one batch. Default 1,000,000.
    pub max_datums_per_batch: usize,
    /// Bytes the logs of one batch may deliver (§16 rule 5). Default 256 MiB.
    pub max_delivered_bytes_per_batch: u64,
    /// Per stream, counted as in §16 rule 5; above it `RESOURCE_EXHAUSTED`. Default 64 MiB.
    pub max_state_bytes: u64,
    /// Nesting depth of JSON the receiver parses or rebuilds (1..=128). Default 128.
    pub max_json_depth: usize,
    /// `dd-content-encoding` values accepted; any other → `INVALID_ARGUMENT` at start.
    /// Default: all four (`zstd`, `gzip`, `identity`, `zstd-stream`). Leave out
    /// `zstd-stream` to act as a receiver without `encoding.md` §7.1.
    pub encodings: Vec<ContentEncoding>,
    /// `zstd-stream`: the largest window a stream may use is `2^max_stream_window_log` bytes
    /// (10..=27). A larger frame window → `INVALID_ARGUMENT`; the window counts against
    /// `max_state_bytes`. Default 23 (8 MiB).
    pub max_stream_window_log: u8,
    /// Seeds the hash tables that hold each stream's definitions (foldhash, as the
    /// translator's): the receiver draws no OS randomness, and the same seed gives the same
    /// behaviour. Default 0. Clients choose the ids these tables are keyed by, so an intake
    /// exposed to untrusted clients should pass a seed they cannot guess (the CLI's `intake`
    /// draws one at start) so that ids cannot be chosen to collide.
    pub hash_seed: u64,
    /// What batches carry: the stateful encoding (default), or the HTTP JSON baseline of the
    /// benchmarks (a per-batch compressed JSON array of log objects, an empty batch 0), which
    /// the sending Pipeline produces with the same setting.
    pub batch_format: crate::BatchFormat,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            profiles: Profile::ALL.to_vec(),
            api_keys: ApiKeys::default(),
            v1_delta_encoding: true,
            max_streams: 1024,
            idle_timeout: Duration::from_secs(20 * 60),
            max_decompressed_bytes: 64 << 20,
            max_datums_per_batch: 1_000_000,
            max_delivered_bytes_per_batch: 256 << 20,
            max_state_bytes: 64 << 20,
            max_json_depth: MAX_JSON_DEPTH_LIMIT,
            encodings: ContentEncoding::ALL.to_vec(),
            max_stream_window_log: 23,
            hash_seed: 0,
            batch_format: crate::BatchFormat::Stateful,
        }
    }
}

impl ReceiverConfig {
    /// The defaults with `api_keys` accepting exactly `keys`.
    pub fn with_api_keys<I, K>(keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        ReceiverConfig { api_keys: ApiKeys::set(keys), ..ReceiverConfig::default() }
    }

    /// The largest gRPC request message the server should accept: `max_decompressed_bytes`
    /// plus 64 KiB (`wire.md` §1).
    pub fn max_request_message_bytes(&self) -> usize {
        self.max_decompressed_bytes.saturating_add(64 << 10)
    }

    /// Checks every setting; the error names the first bad one and how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.profiles.is_empty() {
            return Err(ConfigError::new("profiles", "is empty; serve at least one of v1 and v2"));
        }
        let positive = |setting: &str, value: u64| {
            if value == 0 {
                Err(ConfigError::new(setting, "is 0, which would refuse everything; use a positive value"))
            } else {
                Ok(())
            }
        };
        positive("max_streams", self.max_streams as u64)?;
        positive("idle_timeout", crate::duration_ms(self.idle_timeout))?;
        positive("max_decompressed_bytes", self.max_decompressed_bytes as u64)?;
        positive("max_datums_per_batch", self.max_datums_per_batch as u64)?;
        positive("max_delivered_bytes_per_batch", self.max_delivered_bytes_per_batch)?;
        positive("max_state_bytes", self.max_state_bytes)?;
        if !(1..=MAX_JSON_DEPTH_LIMIT).contains(&self.max_json_depth) {
            return Err(ConfigError::new(
                "max_json_depth",
                format!("is {}; use 1 to {MAX_JSON_DEPTH_LIMIT}", self.max_json_depth),
            ));
        }
        if self.encodings.is_empty() {
            return Err(ConfigError::new(
                "encodings",
                "is empty; accept at least one of zstd, gzip, identity and zstd-stream",
            ));
        }
        if !WINDOW_LOG_RANGE.contains(&self.max_stream_window_log) {
            return Err(ConfigError::new(
                "max_stream_window_log",
                format!(
                    "is {}; use 10 to 27 (23, an 8 MiB window, is the default)",
                    self.max_stream_window_log
                ),
            ));
        }
        if let ApiKeys::Set(keys) = &self.api_keys
            && keys.iter().any(|k| k.expose().is_empty())
        {
            return Err(ConfigError::new(
                "api_keys",
                "contains an empty key; remove it (an empty set already accepts any key)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec_table_and_validate() {
        let c = ReceiverConfig::default();
        assert_eq!(c.profiles, vec![Profile::V1, Profile::V2]);
        assert!(c.api_keys.accepts_any() && c.api_keys.accepts("anything"));
        assert!(c.v1_delta_encoding);
        assert_eq!(c.max_streams, 1024);
        assert_eq!(c.idle_timeout, Duration::from_secs(1200));
        assert_eq!(c.max_decompressed_bytes, 67_108_864);
        assert_eq!(c.max_datums_per_batch, 1_000_000);
        assert_eq!(c.max_delivered_bytes_per_batch, 268_435_456);
        assert_eq!(c.max_state_bytes, 67_108_864);
        assert_eq!(c.max_json_depth, 128);
        assert_eq!(c.encodings.len(), 4);
        assert_eq!(c.max_stream_window_log, 23);
        assert_eq!(c.hash_seed, 0);
        assert_eq!(c.max_request_message_bytes(), 67_108_864 + 65_536);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn invalid_settings_are_named() {
        let bad = [
            (ReceiverConfig { profiles: vec![], ..Default::default() }, "profiles"),
            (ReceiverConfig { max_streams: 0, ..Default::default() }, "max_streams"),
            (ReceiverConfig { idle_timeout: Duration::ZERO, ..Default::default() }, "idle_timeout"),
            (ReceiverConfig { max_json_depth: 129, ..Default::default() }, "max_json_depth"),
            (ReceiverConfig { max_json_depth: 0, ..Default::default() }, "max_json_depth"),
            (ReceiverConfig { max_state_bytes: 0, ..Default::default() }, "max_state_bytes"),
            (ReceiverConfig::with_api_keys([""]), "api_keys"),
            (ReceiverConfig { encodings: vec![], ..Default::default() }, "encodings"),
            (ReceiverConfig { max_stream_window_log: 9, ..Default::default() }, "max_stream_window_log"),
            (ReceiverConfig { max_stream_window_log: 28, ..Default::default() }, "max_stream_window_log"),
        ];
        for (config, setting) in bad {
            assert_eq!(config.validate().unwrap_err().setting, setting);
        }
    }

    #[test]
    fn key_sets_and_checks_accept_only_their_keys_and_never_print_them() {
        let set = ApiKeys::set(["alpha", "beta"]);
        assert!(set.accepts("alpha") && set.accepts("beta"));
        assert!(!set.accepts("alph") && !set.accepts("alphaa") && !set.accepts(""));
        assert!(!format!("{set:?}").contains("alpha"));
        let check = ApiKeys::check(|k| k.starts_with("ok-"));
        assert!(check.accepts("ok-1") && !check.accepts("no"));
        assert!(ApiKeys::set(Vec::<String>::new()).accepts("whatever"));
    }
}
