//! The Pipeline's configuration: the Transport's plus batching, memory, batch format and
//! translator settings (spec `transport.md` §11, `encoding.md` §9.15).

use std::time::Duration;

use crate::codec::Compression;
use crate::translator::TranslatorConfig;

use super::budget::{DEFAULT_MAX_BUFFER_BYTES, context_bytes};
use crate::transport::{EndpointConfig, TransportConfig};
use crate::wire::WireFormat;
use crate::{ConfigError, Profile, duration_ms};

/// Everything a [`Pipeline`](super::Pipeline) needs, with the spec's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
    /// Stream settings. Its `profile` is the Pipeline's profile; its `compression`, the one
    /// codec setting, is by default `zstd-stream` with the level adapting to the input rate
    /// within a CPU budget and a 1 MiB window (`encoding.md` §7.1, Amendment 5; `zstd` level 1
    /// is the fallback for intakes without it); its
    /// `max_message_bytes` bounds every batch.
    pub transport: TransportConfig,
    /// The memory budget (README Amendment 1): everything held for this pipeline, its input
    /// queue included, stays within it; producers wait when it is full (64 MiB).
    pub max_buffer_bytes: u64,
    /// What a batch carries: the stateful encoding, or the HTTP JSON baseline of the
    /// benchmarks.
    pub batch_format: BatchFormat,
    /// `v1` only: batch delta encoding; must match the intake (true).
    pub v1_delta_encoding: bool,
    /// `v1` only: send delete datums (true). `v2` never does.
    pub send_deletes: bool,
    /// Records per batch (1,000).
    pub max_batch_items: u32,
    /// Raw content bytes per batch (5,000,000).
    pub max_batch_bytes: u64,
    /// Flush deadline after a batch's first record (5 s).
    pub batch_wait: Duration,
    /// The translator's settings. Default: [`TranslatorConfig::raw`], patterns off: measured
    /// on the Loghub files at the default batch of 1,000, text logs sent as raw text are
    /// smaller with either codec (with `zstd-stream` 7 % smaller than with patterns, and about
    /// three times faster to encode). Patterns pay with per-batch codecs at small batches
    /// (about 100 records); [`TranslatorConfig::default`] turns them on.
    pub translator: TranslatorConfig,
    /// `v1` only: encode each batch also with its pattern logs as raw text logs and send the
    /// smaller (true). Costs a second serialization and compression per batch.
    pub smallest_rendering: bool,
}

/// What a Pipeline's batches carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchFormat {
    /// The stateful encoding: datums of the profile's schema (the default).
    #[default]
    Stateful,
    /// The HTTP intake's JSON array of log objects (`encoding.md` §11), compressed per batch:
    /// the baseline the benchmarks measure against, over the same transport.
    HttpJson,
}

impl PipelineConfig {
    /// The defaults for the given endpoints (profile `v1`).
    pub fn new(endpoints: Vec<EndpointConfig>) -> Self {
        let mut transport = TransportConfig::new(endpoints);
        transport.compression = Compression::default();
        PipelineConfig {
            transport,
            max_buffer_bytes: DEFAULT_MAX_BUFFER_BYTES,
            batch_format: BatchFormat::Stateful,
            v1_delta_encoding: true,
            send_deletes: true,
            max_batch_items: 1000,
            max_batch_bytes: 5_000_000,
            batch_wait: Duration::from_secs(5),
            translator: TranslatorConfig::raw(),
            smallest_rendering: true,
        }
    }

    /// Sets the profile (and its default `send_empty_snapshot`).
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.transport = self.transport.with_profile(profile);
        self
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.transport.profile
    }

    /// The wire format these settings select.
    pub fn wire_format(&self) -> WireFormat {
        WireFormat {
            profile: self.profile(),
            v1_delta_encoding: self.v1_delta_encoding,
            send_deletes: self.send_deletes,
        }
    }

    /// Checks every rule of `transport.md` §11; the error names the setting and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.transport.validate()?;
        self.transport.compression.validate()?;
        self.translator.validate()?;
        if self.max_batch_items == 0 {
            return Err(ConfigError::new("max_batch_items", "must be at least 1 (1000 is the default)"));
        }
        if self.max_batch_bytes == 0 {
            return Err(ConfigError::new("max_batch_bytes", "must be at least 1 (5000000 is the default)"));
        }
        if duration_ms(self.batch_wait) == 0 {
            return Err(ConfigError::new("batch_wait", "must be at least 1 ms (5 s is the default)"));
        }
        let cap = self.transport.inflight_max_bytes;
        if cap != 0 && cap < self.max_batch_bytes {
            return Err(ConfigError::new(
                "inflight_max_bytes",
                format!(
                    "must be 0 (no cap) or at least max_batch_bytes ({}), so that a full batch always fits",
                    self.max_batch_bytes
                ),
            ));
        }
        let codec = match self.batch_format {
            BatchFormat::Stateful => self.transport.compression,
            BatchFormat::HttpJson => self.transport.compression.fallback(),
        };
        let floor = 2 * self.transport.max_message_bytes + context_bytes(&codec);
        if self.max_buffer_bytes < floor {
            return Err(ConfigError::new(
                "max_buffer_bytes",
                format!(
                    "must be at least {floor} (two messages of max_message_bytes and the compression \
                     context), or lower max_message_bytes; 64 MiB is the default"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ApiKey;

    fn config() -> PipelineConfig {
        PipelineConfig::new(vec![EndpointConfig::new("localhost", 443, ApiKey::new("key"))])
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(config().validate(), Ok(()));
        assert_eq!(config().with_profile(Profile::V2).validate(), Ok(()));
    }

    #[test]
    fn each_violation_names_its_setting() {
        type Breaker = Box<dyn Fn(&mut PipelineConfig)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("max_batch_items", Box::new(|c| c.max_batch_items = 0)),
            ("max_batch_bytes", Box::new(|c| c.max_batch_bytes = 0)),
            ("batch_wait", Box::new(|c| c.batch_wait = Duration::ZERO)),
            ("inflight_max_bytes", Box::new(|c| c.transport.inflight_max_bytes = 4_999_999)),
            ("compression.level", Box::new(|c| c.transport.compression = Compression::zstd(0))),
            ("max_buffer_bytes", Box::new(|c| c.max_buffer_bytes = 1 << 20)),
            (
                "dictionary.eviction_low_watermark",
                Box::new(|c| c.translator.dictionary.eviction_low_watermark = 0.8),
            ),
            ("endpoints", Box::new(|c| c.transport.endpoints.clear())),
        ];
        for (setting, break_it) in cases {
            let mut c = config();
            break_it(&mut c);
            assert_eq!(c.validate().map_err(|e| e.setting), Err(setting.to_owned()));
        }
        let mut c = config();
        c.transport.inflight_max_bytes = 5_000_000;
        assert_eq!(c.validate(), Ok(()));
    }
}
