//! The end-to-end suite shared by the runtime adapters (feature `test-harness`).
//!
//! Every scenario starts the reference intake on `127.0.0.1:0` on its own tokio runtime
//! ([`IntakeThread`]), builds a client through the adapter's [`BuildClient`], and checks the
//! delivery contract: every record reaches the intake in order per producer (batches re-sent
//! after a failure are de-duplicated) and every ack token comes back exactly once, in order.
//! Waits are bounded by [`PATIENCE`] on the adapter's own timers ([`Patience`]), never by fixed
//! sleeps, so the client side may run on any runtime.

mod batch_send;
mod checks;
mod front;
mod intake_thread;
mod mixed;
mod records;
mod scenarios;

use std::time::Duration;

use stateful_logs_intake::{Intake, IntakeBuilder, ReceivedLog};

use crate::{Client, ClientBuilder, ClientError, Runtime};

pub use batch_send::*;
pub use checks::{AckCheck, DeliveryCheck, Patience};
pub use front::{Front, FrontKind};
pub use intake_thread::IntakeThread;
pub use mixed::*;
pub use records::{
    JSON_EVERY, check_content, check_test_log, content, is_json_line, json_line, line, parse_log,
    profile_record, test_record, token,
};
pub use scenarios::*;
pub use stateful_logs::Profile;
use stateful_logs::{BatchFormat, Record};

/// How an adapter builds a client on its runtime.
pub trait BuildClient {
    /// The adapter's runtime; the suite's waits run on its timers.
    type Runtime: Runtime;
    /// The runtime clients are built on (called from within the scenario).
    fn runtime(&self) -> Self::Runtime;
    /// Starts `builder`'s client on the adapter's runtime (with the builder's profile as given).
    fn build(&self, builder: ClientBuilder) -> Result<Client, ClientError>;
    /// The profile the scenarios' clients speak ([`OnProfile`] sets it; `v1` by default).
    fn profile(&self) -> Profile {
        Profile::V1
    }
}

/// An adapter whose scenarios run in `profile`: every scenario gives its clients this profile
/// (and `wrong_profile_halts` an intake that serves only the other one).
pub struct OnProfile<B> {
    /// The adapter.
    pub adapter: B,
    /// The profile of the scenarios' clients.
    pub profile: Profile,
}

impl<B> OnProfile<B> {
    /// `adapter` with its scenarios in `profile`.
    pub fn new(adapter: B, profile: Profile) -> Self {
        OnProfile { adapter, profile }
    }
}

impl<B: BuildClient> BuildClient for OnProfile<B> {
    type Runtime = B::Runtime;

    fn runtime(&self) -> Self::Runtime {
        self.adapter.runtime()
    }

    fn build(&self, builder: ClientBuilder) -> Result<Client, ClientError> {
        self.adapter.build(builder)
    }

    fn profile(&self) -> Profile {
        self.profile
    }
}

/// A batch format the suite can drive: it makes records and reads the intake's logs back.
pub trait TestCore {
    /// The `dd-content-encoding` its streams announce with the default settings.
    const CONTENT_ENCODING: &'static str;
    /// What the client's batches carry.
    const BATCH_FORMAT: BatchFormat;
    /// The record of producer `producer`'s `seq`-th line sent in `profile`, with its ack token.
    fn record(profile: Profile, producer: u32, seq: u32) -> Record;
    /// The intake this core's streams need (receiver or pass-through).
    fn intake() -> IntakeBuilder;
    /// Checks what the intake reconstructed of line `seq` of `producer` beyond its content.
    fn check_log(_log: &ReceivedLog, _producer: u32, _seq: u32) {}
}

/// A client's settings for fast tests: short timeouts, small batches.
pub fn fast_builder(intake: &Intake) -> ClientBuilder {
    fast_builder_to("127.0.0.1", intake.local_addr().port())
}

/// [`fast_builder`] for another endpoint (a [`Front`]).
pub fn fast_builder_to(host: &str, port: u16) -> ClientBuilder {
    ClientBuilder::new()
        .endpoint(host, port)
        .api_key("test-key")
        .batching(10, 1_000_000, Duration::from_millis(20))
        .open_timeout(Duration::from_secs(2))
        .ack_timeout(Some(Duration::from_secs(10)))
        .drain_timeout(Duration::from_millis(500))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(500))
        .shutdown_timeout(Duration::from_secs(5))
}

/// Upper bound of every wait in the suite.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// Declares one `#[test]` per scenario of the suite, so every adapter runs the same list.
///
/// `$block_on` runs a future to completion on the adapter's runtime (the intake brings its
/// own); `$adapter` is its [`BuildClient`]; `$core` a [`TestCore`]; `$profile` (a
/// [`Profile`], `v1` when left out) the profile of the scenarios' clients ([`OnProfile`]).
///
/// ```ignore
/// mod stateful_v2 {
///     stateful_logs_runtime::e2e_suite!(super::block_on, super::Tokio, stateful_logs::Pipeline,
///         stateful_logs::Profile::V2);
/// }
/// ```
#[macro_export]
macro_rules! e2e_suite {
    ($block_on:path, $adapter:expr, $core:ty) => {
        $crate::e2e_suite!($block_on, $adapter, $core, $crate::harness::Profile::V1);
    };
    ($block_on:path, $adapter:expr, $core:ty, $profile:expr) => {
        $crate::e2e_suite!(@tests $block_on, ($crate::harness::OnProfile::new($adapter, $profile)), $core;
            happy_path_with_several_pipelines,
            stream_killed_mid_flight_is_retransmitted,
            server_eof_reconnects,
            server_restart_on_the_same_port,
            delayed_acks_are_awaited,
            silent_server_ack_timeout_opens_a_new_stream,
            lifetime_rotation_drains_under_load,
            wrong_api_key_halts_and_resume_delivers,
            wrong_profile_halts,
            slow_server_backpressures_producers,
            graceful_shutdown_delivers_pending_acks,
            server_gone_during_shutdown_reports_unacknowledged,
            failover_to_the_second_endpoint,
            tls_against_a_plaintext_intake_halts,
            wrong_ack_ids_rotate_and_resend,
            dropped_connection_reconnects,
            requests_are_written_before_response_headers,
            tls_with_a_private_ca_delivers,
            tls_with_an_unknown_issuer_halts,
            keepalive_detects_a_silent_connection,
            an_intake_without_zstd_stream_gets_zstd_and_every_line,
            a_v1_and_a_v2_client_share_one_intake,
            send_many_keeps_order_and_acks_across_sends,
            send_many_larger_than_the_budget_stays_within_it,
            halt_during_send_many_reports_what_was_taken
        );
    };
    (@tests $block_on:path, $adapter:expr, $core:ty; $($name:ident),*) => {$(
        #[test]
        fn $name() {
            $block_on($crate::harness::$name::<_, $core>(&$adapter));
        }
    )*};
}

/// Runs every scenario (for adapters that want one test).
pub async fn all<B: BuildClient, C: TestCore>(adapter: &B) {
    happy_path_with_several_pipelines::<B, C>(adapter).await;
    stream_killed_mid_flight_is_retransmitted::<B, C>(adapter).await;
    server_eof_reconnects::<B, C>(adapter).await;
    server_restart_on_the_same_port::<B, C>(adapter).await;
    delayed_acks_are_awaited::<B, C>(adapter).await;
    silent_server_ack_timeout_opens_a_new_stream::<B, C>(adapter).await;
    lifetime_rotation_drains_under_load::<B, C>(adapter).await;
    wrong_api_key_halts_and_resume_delivers::<B, C>(adapter).await;
    wrong_profile_halts::<B, C>(adapter).await;
    slow_server_backpressures_producers::<B, C>(adapter).await;
    graceful_shutdown_delivers_pending_acks::<B, C>(adapter).await;
    server_gone_during_shutdown_reports_unacknowledged::<B, C>(adapter).await;
    failover_to_the_second_endpoint::<B, C>(adapter).await;
    tls_against_a_plaintext_intake_halts::<B, C>(adapter).await;
    wrong_ack_ids_rotate_and_resend::<B, C>(adapter).await;
    dropped_connection_reconnects::<B, C>(adapter).await;
    requests_are_written_before_response_headers::<B, C>(adapter).await;
    tls_with_a_private_ca_delivers::<B, C>(adapter).await;
    tls_with_an_unknown_issuer_halts::<B, C>(adapter).await;
    keepalive_detects_a_silent_connection::<B, C>(adapter).await;
    an_intake_without_zstd_stream_gets_zstd_and_every_line::<B, C>(adapter).await;
    a_v1_and_a_v2_client_share_one_intake::<B, C>(adapter).await;
    send_many_keeps_order_and_acks_across_sends::<B, C>(adapter).await;
    send_many_larger_than_the_budget_stays_within_it::<B, C>(adapter).await;
    halt_during_send_many_reports_what_was_taken::<B, C>(adapter).await;
}

/// The HTTP JSON baseline ([`BatchFormat::HttpJson`]) as a test core (pass-through intake).
pub struct HttpJsonBaseline;

impl TestCore for HttpJsonBaseline {
    // The HTTP intake's codec: one frame per batch.
    const CONTENT_ENCODING: &'static str = "zstd";
    const BATCH_FORMAT: BatchFormat = BatchFormat::HttpJson;

    fn record(profile: Profile, producer: u32, seq: u32) -> Record {
        profile_record(profile, producer, seq)
    }

    fn intake() -> IntakeBuilder {
        Intake::builder().pass_through()
    }

    fn check_log(log: &ReceivedLog, producer: u32, seq: u32) {
        check_test_log(log, producer, seq)
    }
}

/// The stateful encoding: the core's Pipeline against the core's Receiver.
impl TestCore for stateful_logs::Pipeline {
    const CONTENT_ENCODING: &'static str = "zstd-stream";
    const BATCH_FORMAT: BatchFormat = BatchFormat::Stateful;

    fn record(profile: Profile, producer: u32, seq: u32) -> Record {
        profile_record(profile, producer, seq)
    }

    fn intake() -> IntakeBuilder {
        Intake::builder()
    }

    fn check_log(log: &ReceivedLog, producer: u32, seq: u32) {
        check_test_log(log, producer, seq);
        // v2 sends a JSON object as a JSON log (schema and columns), never as text.
        if is_json_line(log.profile, seq) {
            assert!(
                matches!(log.body, stateful_logs::receiver::LogBody::Json(_)),
                "line {seq} of producer {producer} is a JSON object but came back as text"
            );
        }
    }
}
