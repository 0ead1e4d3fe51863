//! Transport configuration, its defaults and its validation (spec `transport.md` §11).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::codec::Compression;
use crate::{ConfigError, Profile};

use super::retry::RetryPolicy;

/// An API key. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for the `dd-api-key` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One intake endpoint (§10). Index 0 of the list is the primary.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EndpointConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS on or off.
    pub tls: bool,
    /// A PEM CA file to trust instead of the system roots (read by the driver).
    pub ca_file: Option<PathBuf>,
    /// Sent as `dd-api-key`.
    pub api_key: ApiKey,
    /// Sent as `dd-protocol` when non-empty.
    pub protocol: String,
    /// Sent as `dd-evp-origin` when non-empty.
    pub origin: String,
    /// Sent as `dd-evp-origin-version` (with the origin); this crate's version when empty.
    pub origin_version: String,
    /// Extra headers; reserved names are refused at validation.
    pub extra_headers: Vec<(String, String)>,
}

impl EndpointConfig {
    /// An endpoint with the given address and key and everything else default.
    pub fn new(host: impl Into<String>, port: u16, api_key: ApiKey) -> Self {
        EndpointConfig { host: host.into(), port, api_key, ..Default::default() }
    }

    /// Checks the endpoint as at construction; `index` names it in the error.
    pub fn validate(&self, index: usize) -> Result<(), ConfigError> {
        let at = |field: &str| format!("endpoints[{index}].{field}");
        if self.host.trim().is_empty() {
            return Err(ConfigError::new(at("host"), "is empty; give the intake's host name or address"));
        }
        let key = self.api_key.expose();
        if key.is_empty() {
            return Err(ConfigError::new(at("api_key"), "is empty; set the API key the intake expects"));
        }
        if !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(ConfigError::new(
                at("api_key"),
                "contains characters that are not printable ASCII; check for a stray newline or quote",
            ));
        }
        for (name, value) in
            [("protocol", &self.protocol), ("origin", &self.origin), ("origin_version", &self.origin_version)]
        {
            if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                return Err(ConfigError::new(at(name), "must be printable ASCII (0x20-0x7E)"));
            }
        }
        for (i, (name, value)) in self.extra_headers.iter().enumerate() {
            let setting = at(&format!("extra_headers[{i}]"));
            let lower = name.to_ascii_lowercase();
            if lower.is_empty()
                || !lower.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"_-.".contains(&b))
                || lower.ends_with("-bin")
            {
                return Err(ConfigError::new(
                    setting,
                    format!(
                        "header name {name:?} is not a legal gRPC ASCII metadata key; use 0-9 a-z _ - . and do not end it in -bin"
                    ),
                ));
            }
            if is_reserved_header(&lower) {
                return Err(ConfigError::new(
                    setting,
                    format!(
                        "header name {name:?} is reserved by the protocol and cannot be overridden; remove it"
                    ),
                ));
            }
            if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                return Err(ConfigError::new(
                    setting,
                    format!("the value of header {name:?} must be printable ASCII (0x20-0x7E)"),
                ));
            }
        }
        Ok(())
    }
}

/// Whether a (lower-case) header name is reserved (`wire.md` §2).
pub fn is_reserved_header(lower: &str) -> bool {
    const RESERVED: &[&str] = &[
        "dd-api-key",
        "dd-content-encoding",
        "dd-protocol",
        "dd-evp-origin",
        "dd-evp-origin-version",
        "user-agent",
        "content-type",
        "te",
        "grpc-encoding",
        "grpc-accept-encoding",
        "grpc-timeout",
    ];
    RESERVED.contains(&lower) || lower.starts_with(':') || lower.starts_with("grpc-")
}

/// Everything the [`Transport`](crate::transport::Transport) needs, with the spec's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct TransportConfig {
    /// Endpoints in priority order; at least one.
    pub endpoints: Vec<EndpointConfig>,
    /// The profile (method path).
    pub profile: Profile,
    /// The codec of every stream, announced in `dd-content-encoding`; set by the Pipeline
    /// from its compression. With a per-batch codec (the default here, `zstd` at 1) pushed
    /// batches are already compressed and go out as stored; with `zstd-stream` they are
    /// pushed serialized and compressed per stream when pulled (`encoding.md` §7.1).
    pub compression: Compression,
    /// Tracker size, sent and unsent batches together (10,000).
    pub inflight_capacity: usize,
    /// Optional cap on encoded bytes in the tracker (0 = none).
    pub inflight_max_bytes: u64,
    /// OpenStream → opened (10 s).
    pub open_timeout: Duration,
    /// Planned rotation (900 s).
    pub stream_lifetime: Duration,
    /// Lifetime jitter in percent, 0–100 (10).
    pub lifetime_jitter_percent: u8,
    /// Wait for acks after the lifetime (5 s).
    pub drain_timeout: Duration,
    /// No progress for this long while batches are outstanding → failure (30 s); `None` =
    /// off. Progress-based (spec Amendment 3): the deadline is `ack_timeout` after the later
    /// of the oldest outstanding batch's send and the last ack on the stream, so an intake
    /// that is slow but still acking keeps its stream.
    pub ack_timeout: Option<Duration>,
    /// First backoff (1 s).
    pub backoff_base: Duration,
    /// Lower bound of the jitter window is `t / factor` (2).
    pub backoff_factor: u32,
    /// Backoff cap (120 s).
    pub backoff_max: Duration,
    /// Consecutive protocol errors before halting (5).
    pub max_protocol_errors: u32,
    /// Shutdown deadline when `shutdown` gives none (10 s).
    pub shutdown_timeout: Duration,
    /// Failure rotations before switching endpoint (3).
    pub failover_after: u32,
    /// Return to the primary after this long away (300 s).
    pub primary_retry_interval: Duration,
    /// How retries are spread: first-retry jitter, short retries during an outage, failover
    /// choice, primary probe, pushback (spec Amendment 4). [`RetryPolicy::reference`] keeps
    /// §9 and §10 as written.
    pub retry: RetryPolicy,
    /// Last batch id per stream (`u32::MAX`).
    pub max_batch_id: u32,
    /// Receiver-side stream state bound when deletes are not sent (16 MiB).
    pub max_stream_state_bytes: u64,
    /// Send batch 0 even when the snapshot is empty (false in `v1`, true in `v2`).
    pub send_empty_snapshot: bool,
    /// The largest encoded `StatefulBatch` the intake accepts (4 MiB less 64 bytes of gRPC
    /// framing: the default message limit of tonic and grpc-go servers). The Pipeline closes
    /// batches early to stay under it; a refusal that says "message too large" halts naming it.
    pub max_message_bytes: u64,
}

/// The default `max_message_bytes`: gRPC servers' usual 4 MiB limit, less framing.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 4 * 1024 * 1024 - 64;

impl TransportConfig {
    /// The defaults of §11 for the given endpoints.
    pub fn new(endpoints: Vec<EndpointConfig>) -> Self {
        TransportConfig {
            endpoints,
            profile: Profile::V1,
            compression: Compression::zstd(1),
            inflight_capacity: 10_000,
            inflight_max_bytes: 0,
            open_timeout: Duration::from_secs(10),
            stream_lifetime: Duration::from_secs(900),
            lifetime_jitter_percent: 10,
            drain_timeout: Duration::from_secs(5),
            ack_timeout: Some(Duration::from_secs(30)),
            backoff_base: Duration::from_secs(1),
            backoff_factor: 2,
            backoff_max: Duration::from_secs(120),
            max_protocol_errors: 5,
            shutdown_timeout: Duration::from_secs(10),
            failover_after: 3,
            primary_retry_interval: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            max_batch_id: u32::MAX,
            max_stream_state_bytes: 16 * 1024 * 1024,
            send_empty_snapshot: false,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// Sets the profile and its default for `send_empty_snapshot`.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self.send_empty_snapshot = profile.default_send_empty_snapshot();
        self
    }

    /// The reference agent's rotation, timeout and retry policy: no lifetime jitter, no ack
    /// timeout, the backoff and failover of §9 and §10 as written ([`RetryPolicy::reference`]).
    pub fn with_reference_policy(mut self) -> Self {
        self.lifetime_jitter_percent = 0;
        self.ack_timeout = None;
        self.retry = RetryPolicy::reference();
        self
    }

    /// Checks every rule of §11; the error names the setting and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.endpoints.is_empty() {
            return Err(ConfigError::new(
                "endpoints",
                "the list is empty; configure at least one intake endpoint",
            ));
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            e.validate(i)?;
        }
        let positive = [
            ("open_timeout", self.open_timeout),
            ("stream_lifetime", self.stream_lifetime),
            ("drain_timeout", self.drain_timeout),
            ("backoff_base", self.backoff_base),
            ("backoff_max", self.backoff_max),
            ("shutdown_timeout", self.shutdown_timeout),
            ("primary_retry_interval", self.primary_retry_interval),
        ];
        for (name, d) in positive {
            if d.as_millis() == 0 {
                return Err(ConfigError::new(name, "must be at least 1 ms"));
            }
        }
        if let Some(d) = self.ack_timeout
            && d.as_millis() == 0
        {
            return Err(ConfigError::new("ack_timeout", "must be at least 1 ms, or None to switch it off"));
        }
        if self.drain_timeout >= self.stream_lifetime {
            return Err(ConfigError::new("drain_timeout", "must be shorter than stream_lifetime"));
        }
        if self.backoff_base > self.backoff_max {
            return Err(ConfigError::new("backoff_base", "must not exceed backoff_max"));
        }
        if self.backoff_factor < 1 {
            return Err(ConfigError::new("backoff_factor", "must be at least 1"));
        }
        if self.lifetime_jitter_percent > 100 {
            return Err(ConfigError::new("lifetime_jitter_percent", "must be between 0 and 100"));
        }
        let at_least_one = [
            ("inflight_capacity", self.inflight_capacity as u64),
            ("max_batch_id", u64::from(self.max_batch_id)),
            ("max_protocol_errors", u64::from(self.max_protocol_errors)),
            ("failover_after", u64::from(self.failover_after)),
        ];
        for (name, v) in at_least_one {
            if v == 0 {
                return Err(ConfigError::new(name, "must be at least 1"));
            }
        }
        if self.max_message_bytes < 4096 {
            return Err(ConfigError::new(
                "max_message_bytes",
                format!("must be at least 4096 ({DEFAULT_MAX_MESSAGE_BYTES} is the default)"),
            ));
        }
        self.retry.validate()
    }
}
