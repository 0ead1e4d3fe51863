//! End-to-end over loopback: the tokio client against the reference intake, through the
//! shared suite of `stateful-logs-runtime` (feature `test-harness`).

use stateful_logs_runtime::baseline::JsonCore;
use stateful_logs_runtime::harness::{self, BuildClient, TestCore};
use stateful_logs_runtime::{Client, ClientBuilder, ClientError};
use stateful_logs_tokio::BuildTokio;

struct Tokio;

impl BuildClient for Tokio {
    fn build<C: TestCore>(&self, builder: ClientBuilder) -> Result<Client<C>, ClientError> {
        builder.build_tokio::<C>()
    }
}

macro_rules! scenarios {
    ($core:ty => $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            harness::$name::<Tokio, $core>(&Tokio).await;
        }
    )*};
}

mod stateful {
    use super::*;
    use stateful_logs::Pipeline;
    scenarios!(Pipeline =>
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
    );
}

mod json_baseline {
    use super::*;
    scenarios!(JsonCore =>
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
    );
}
