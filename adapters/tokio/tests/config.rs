//! Every invalid `ClientBuilder` setting is refused by `build_tokio`, before any task starts
//! or any connection is made, naming the setting with a message that says how to fix it.

use std::time::Duration;

use stateful_logs::codec::Compression;
use stateful_logs_tokio::{BuildTokio, ClientBuilder, ClientError};

const FIXES: &[&str] = &["must", "use ", "set ", "give ", "remove", "check", "configure"];

fn valid() -> ClientBuilder {
    // Port 9: nothing listens there, and nothing may be tried before the refusal anyway.
    ClientBuilder::new().endpoint("127.0.0.1", 9).api_key("key")
}

#[tokio::test]
async fn every_invalid_builder_setting_is_refused_with_its_fix() {
    let ms = Duration::from_millis;
    let cases: Vec<(&str, ClientBuilder)> = vec![
        ("endpoints", ClientBuilder::new().api_key("key")),
        ("endpoints[0].host", ClientBuilder::new().endpoint("", 1).api_key("key")),
        ("endpoints[0].api_key", ClientBuilder::new().endpoint("127.0.0.1", 9)),
        ("endpoints[0].api_key", valid().api_key("key\r\n")),
        ("endpoints[0].extra_headers[0]", valid().header("dd-api-key", "other")),
        ("endpoints[0].extra_headers[0]", valid().header("x-ok", "line\nbreak")),
        ("endpoints[0].ca_file", valid().ca_file("/no/such/ca.pem")),
        ("pipelines", valid().pipelines(0)),
        ("max_buffer_bytes", valid().max_buffer_bytes(1 << 20)),
        ("max_message_bytes", valid().max_message_bytes(100)),
        ("max_batch_items", valid().batching(0, 5_000_000, Duration::from_secs(5))),
        ("max_batch_bytes", valid().batching(1000, 0, Duration::from_secs(5))),
        ("batch_wait", valid().batching(1000, 5_000_000, Duration::ZERO)),
        ("compression.level", valid().compression(Compression::zstd(99))),
        ("open_timeout", valid().open_timeout(ms(0))),
        ("ack_timeout", valid().ack_timeout(Some(ms(0)))),
        ("drain_timeout", valid().drain_timeout(ms(0))),
        ("stream_lifetime", valid().stream_lifetime(ms(0), 10)),
        ("lifetime_jitter_percent", valid().stream_lifetime(Duration::from_secs(900), 200)),
        ("backoff_base", valid().backoff(Duration::from_secs(10), Duration::from_secs(1))),
        ("failover_after", valid().failover_after(0)),
        ("shutdown_timeout", valid().shutdown_timeout(ms(0))),
        ("inflight_capacity", valid().inflight_capacity(0)),
        ("inflight_max_bytes", valid().inflight_max_bytes(1)),
        ("connect_timeout", valid().connect_timeout(ms(0))),
        ("keepalive_interval", valid().keepalive(ms(0), Duration::from_secs(5))),
        ("keepalive_timeout", valid().keepalive(Duration::from_secs(30), ms(0))),
        ("user_agent", valid().user_agent("agent\n")),
    ];
    for (setting, builder) in cases {
        let error = match builder.build_tokio() {
            Ok(_) => panic!("{setting}: an invalid builder was accepted"),
            Err(ClientError::Config(error)) => error,
        };
        assert_eq!(error.setting, setting, "{error}");
        assert!(FIXES.iter().any(|w| error.message.contains(w)), "{setting}: says how to fix it: {error}");
    }
    assert!(valid().build_tokio().is_ok(), "the valid builder builds");
}
