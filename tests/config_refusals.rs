//! Every invalid core setting is refused at construction, naming the setting, with a message
//! that says how to fix it (`transport.md` §11, §16): one table per surface, each row one
//! rule broken on an otherwise valid configuration. (The intake's `ServerLimits` and the
//! client builder have tables of their own in their crates.)

use std::time::Duration;

use stateful_logs::codec::Compression;
use stateful_logs::receiver::{ApiKeys, Receiver, ReceiverConfig};
use stateful_logs::transport::{ApiKey, EndpointConfig, TransportConfig};
use stateful_logs::{ConfigError, Pipeline, PipelineConfig};

/// Words that tell the user what to do; every refusal uses one.
const FIXES: &[&str] =
    &["must", "use ", "set ", "give ", "remove", "check", "serve ", "accept ", "configure"];

fn assert_refused(result: Result<(), ConfigError>, setting: &str) {
    let error = result.expect_err(setting);
    assert_eq!(error.setting, setting, "{error}");
    let text = error.to_string();
    assert!(text.contains(setting), "the message names the setting: {text}");
    assert!(FIXES.iter().any(|w| error.message.contains(w)), "the message says how to fix it: {text}");
}

fn endpoint() -> EndpointConfig {
    EndpointConfig::new("intake.example", 443, ApiKey::new("key"))
}

type Breaker<T> = (&'static str, Box<dyn Fn(&mut T)>);

#[test]
fn every_transport_and_endpoint_rule_is_named_with_its_fix() {
    let ms = Duration::from_millis;
    let cases: Vec<Breaker<TransportConfig>> = vec![
        ("endpoints", Box::new(|c| c.endpoints.clear())),
        ("endpoints[0].host", Box::new(|c| c.endpoints[0].host = " ".into())),
        ("endpoints[0].api_key", Box::new(|c| c.endpoints[0].api_key = ApiKey::new(""))),
        ("endpoints[0].api_key", Box::new(|c| c.endpoints[0].api_key = ApiKey::new("key\n"))),
        ("endpoints[0].protocol", Box::new(|c| c.endpoints[0].protocol = "é".into())),
        ("endpoints[0].origin", Box::new(|c| c.endpoints[0].origin = "\t".into())),
        ("endpoints[0].origin_version", Box::new(|c| c.endpoints[0].origin_version = "\n".into())),
        (
            "endpoints[0].extra_headers[0]",
            Box::new(|c| c.endpoints[0].extra_headers = vec![("Bad Name".into(), "v".into())]),
        ),
        (
            "endpoints[0].extra_headers[0]",
            Box::new(|c| c.endpoints[0].extra_headers = vec![("x-bin".into(), "v".into())]),
        ),
        (
            "endpoints[0].extra_headers[0]",
            Box::new(|c| c.endpoints[0].extra_headers = vec![("dd-api-key".into(), "v".into())]),
        ),
        (
            "endpoints[0].extra_headers[0]",
            Box::new(|c| c.endpoints[0].extra_headers = vec![("x-ok".into(), "\n".into())]),
        ),
        ("endpoints[1].host", Box::new(|c| c.endpoints.push(EndpointConfig::new("", 1, ApiKey::new("k"))))),
        ("open_timeout", Box::new(move |c| c.open_timeout = ms(0))),
        ("stream_lifetime", Box::new(move |c| c.stream_lifetime = ms(0))),
        ("drain_timeout", Box::new(move |c| c.drain_timeout = ms(0))),
        ("drain_timeout", Box::new(move |c| c.drain_timeout = c.stream_lifetime)),
        ("backoff_base", Box::new(move |c| c.backoff_base = ms(0))),
        ("backoff_base", Box::new(move |c| c.backoff_base = c.backoff_max + ms(1))),
        ("backoff_max", Box::new(move |c| c.backoff_max = ms(0))),
        ("backoff_factor", Box::new(|c| c.backoff_factor = 0)),
        ("shutdown_timeout", Box::new(move |c| c.shutdown_timeout = ms(0))),
        ("primary_retry_interval", Box::new(move |c| c.primary_retry_interval = ms(0))),
        ("ack_timeout", Box::new(move |c| c.ack_timeout = Some(ms(0)))),
        ("lifetime_jitter_percent", Box::new(|c| c.lifetime_jitter_percent = 101)),
        ("inflight_capacity", Box::new(|c| c.inflight_capacity = 0)),
        ("max_batch_id", Box::new(|c| c.max_batch_id = 0)),
        ("max_protocol_errors", Box::new(|c| c.max_protocol_errors = 0)),
        ("failover_after", Box::new(|c| c.failover_after = 0)),
    ];
    assert_eq!(TransportConfig::new(vec![endpoint()]).validate(), Ok(()));
    for (setting, break_it) in cases {
        let mut config = TransportConfig::new(vec![endpoint()]);
        break_it(&mut config);
        assert_refused(config.validate(), setting);
    }
}

#[test]
fn every_pipeline_compression_and_translator_rule_is_named_with_its_fix() {
    let cases: Vec<Breaker<PipelineConfig>> = vec![
        ("max_batch_items", Box::new(|c| c.max_batch_items = 0)),
        ("max_batch_bytes", Box::new(|c| c.max_batch_bytes = 0)),
        ("batch_wait", Box::new(|c| c.batch_wait = Duration::ZERO)),
        ("inflight_max_bytes", Box::new(|c| c.transport.inflight_max_bytes = 4_999_999)),
        ("compression.level", Box::new(|c| c.transport.compression = Compression::zstd(0))),
        ("compression.level", Box::new(|c| c.transport.compression = Compression::zstd_stream(23))),
        ("compression.level", Box::new(|c| c.transport.compression = Compression::gzip(10))),
        (
            "compression.zstd_stream_window_log",
            Box::new(|c| {
                c.transport.compression = Compression { window_log: 9, ..Compression::zstd_stream(1) }
            }),
        ),
        ("endpoints", Box::new(|c| c.transport.endpoints.clear())),
        ("patterns.eviction_low_watermark", Box::new(|c| c.translator.patterns.eviction_low_watermark = 1.5)),
        (
            "dictionary.eviction_low_watermark",
            Box::new(|c| c.translator.dictionary.eviction_low_watermark = 0.99),
        ),
        ("patterns.age_decay_factor", Box::new(|c| c.translator.patterns.age_decay_factor = f64::NAN)),
        ("dictionary.age_decay_factor", Box::new(|c| c.translator.dictionary.age_decay_factor = -1.0)),
        ("patterns.max_pattern_count", Box::new(|c| c.translator.patterns.max_pattern_count = 0)),
        ("dictionary.max_entries", Box::new(|c| c.translator.dictionary.max_entries = 0)),
        ("json.max_keys", Box::new(|c| c.translator.json_max_keys = 0)),
        ("json.max_schemas", Box::new(|c| c.translator.json_max_schemas = 0)),
        ("state.max_bytes", Box::new(|c| c.translator.state_max_bytes = 0)),
    ];
    let valid = || PipelineConfig::new(vec![endpoint()]);
    assert_eq!(valid().validate(), Ok(()));
    for (setting, break_it) in cases {
        let mut config = valid();
        break_it(&mut config);
        assert_refused(config.validate(), setting);
        // The constructor refuses it the same way, before any state is built.
        let built = Pipeline::new(config, 1, stateful_logs::Timestamp::ZERO).map(|_| ());
        assert_refused(built, setting);
    }
}

#[test]
fn every_receiver_rule_is_named_with_its_fix() {
    let d = ReceiverConfig::default;
    let cases = [
        (ReceiverConfig { profiles: vec![], ..d() }, "profiles"),
        (ReceiverConfig { max_streams: 0, ..d() }, "max_streams"),
        (ReceiverConfig { idle_timeout: Duration::ZERO, ..d() }, "idle_timeout"),
        (ReceiverConfig { max_decompressed_bytes: 0, ..d() }, "max_decompressed_bytes"),
        (ReceiverConfig { max_datums_per_batch: 0, ..d() }, "max_datums_per_batch"),
        (ReceiverConfig { max_delivered_bytes_per_batch: 0, ..d() }, "max_delivered_bytes_per_batch"),
        (ReceiverConfig { max_state_bytes: 0, ..d() }, "max_state_bytes"),
        (ReceiverConfig { max_json_depth: 0, ..d() }, "max_json_depth"),
        (ReceiverConfig { max_json_depth: 129, ..d() }, "max_json_depth"),
        (ReceiverConfig { encodings: vec![], ..d() }, "encodings"),
        (ReceiverConfig { max_stream_window_log: 9, ..d() }, "max_stream_window_log"),
        (ReceiverConfig { max_stream_window_log: 28, ..d() }, "max_stream_window_log"),
        (ReceiverConfig { api_keys: ApiKeys::set(["ok", ""]), ..d() }, "api_keys"),
    ];
    for (config, setting) in cases {
        assert_refused(config.validate(), setting);
        assert_refused(Receiver::new(config).map(|_| ()), setting);
    }
    // Every seed is valid: it only keys the hash tables.
    assert!(ReceiverConfig { hash_seed: u64::MAX, ..d() }.validate().is_ok());
}
