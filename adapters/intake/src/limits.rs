//! Limits of the HTTP/2 server itself, against clients that never become well-behaved gRPC
//! streams (the receiver's own limits, `ReceiverConfig`, only see streams that started).

use std::time::{Duration, Instant};

use stateful_logs::ConfigError;

/// What one client connection may hold, and for how long it may hold it without using it.
///
/// Without these an intake is exposed to connections that cost it memory and a task each and
/// never make a request: a socket that sends nothing, a "slowloris" that starts a header
/// block and never finishes it, a peer that vanished without a FIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open TCP connections; one more is accepted and closed at once (and counted in
    /// `IntakeStats::connections_refused`). Default 1,024.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams per connection (`SETTINGS_MAX_CONCURRENT_STREAMS`); one
    /// more is reset with `REFUSED_STREAM`. Default 100. The receiver's `max_streams` still
    /// bounds the streams of all connections together.
    pub max_streams_per_connection: u32,
    /// Bytes of one request's header list (`SETTINGS_MAX_HEADER_LIST_SIZE`); a larger one is
    /// refused (HTTP 431 or a stream reset, by the HTTP/2 layer). Default 16 KiB: a gRPC call
    /// of this protocol sends well under 1 KiB.
    pub max_header_list_bytes: u32,
    /// A connection that has not completed a request's headers this long after it was
    /// accepted is closed (and counted in `IntakeStats::connections_timed_out`). Default 10 s.
    pub first_request_timeout: Duration,
    /// HTTP/2 ping interval on every connection; a peer that does not answer within
    /// `keepalive_timeout` is dropped, so dead or stalled peers do not hold their streams
    /// until the receiver's `idle_timeout`. Default 30 s.
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered. Default 10 s.
    pub keepalive_timeout: Duration,
    /// Admission control: new streams (calls) admitted per second at most; one more is
    /// answered `RESOURCE_EXHAUSTED` with a `grpc-retry-pushback-ms` trailer that names a
    /// later slot, so that a fleet reconnecting at once comes back spread at this rate
    /// instead of retrying in a storm. Default `None`: no limit.
    pub max_stream_opens_per_sec: Option<u32>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 1024,
            max_streams_per_connection: 100,
            max_header_list_bytes: 16 << 10,
            first_request_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            max_stream_opens_per_sec: None,
        }
    }
}

impl ServerLimits {
    /// Checks every limit; the error names the first bad one and how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |setting: &str, zero: bool| {
            if zero {
                Err(ConfigError::new(
                    format!("server_limits.{setting}"),
                    "is 0, which would refuse every client; use a positive value",
                ))
            } else {
                Ok(())
            }
        };
        positive("max_connections", self.max_connections == 0)?;
        positive("max_streams_per_connection", self.max_streams_per_connection == 0)?;
        positive("first_request_timeout", self.first_request_timeout.is_zero())?;
        positive("keepalive_interval", self.keepalive_interval.is_zero())?;
        positive("keepalive_timeout", self.keepalive_timeout.is_zero())?;
        positive("max_stream_opens_per_sec", self.max_stream_opens_per_sec == Some(0))?;
        // A gRPC call needs its pseudo-headers, content type, key and encoding: below 1 KiB
        // real clients would be refused.
        if self.max_header_list_bytes < 1024 {
            return Err(ConfigError::new(
                "server_limits.max_header_list_bytes",
                format!(
                    "is {}; use at least 1024 (a call's headers take several hundred bytes; 16384 is the default)",
                    self.max_header_list_bytes
                ),
            ));
        }
        Ok(())
    }
}

/// Admission control of new streams (`max_stream_opens_per_sec`): at most `per_sec` streams
/// start in each second; each one refused is promised the next free slot, one `1 / per_sec`
/// after the last promised, from the next second on, and told to wait until then.
#[derive(Debug)]
pub(crate) struct OpenAdmission {
    per_sec: u32,
    second_start: Instant,
    admitted: u32,
    promised_until: Instant,
}

impl OpenAdmission {
    pub(crate) fn new(per_sec: u32, now: Instant) -> Self {
        OpenAdmission { per_sec: per_sec.max(1), second_start: now, admitted: 0, promised_until: now }
    }

    /// Admits one new stream at `now`, or says how long it should wait (the pushback).
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        const SECOND: Duration = Duration::from_secs(1);
        while now.saturating_duration_since(self.second_start) >= SECOND {
            self.second_start += SECOND;
            self.admitted = 0;
        }
        if self.admitted < self.per_sec {
            self.admitted += 1;
            return Ok(());
        }
        let slot = SECOND / self.per_sec;
        let next_second = self.second_start + SECOND;
        self.promised_until = self.promised_until.max(next_second - slot) + slot;
        Err(self.promised_until.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_admits_the_rate_and_spreads_the_rest_over_later_slots() {
        let start = Instant::now();
        let mut admission = OpenAdmission::new(4, start);
        for _ in 0..4 {
            assert_eq!(admission.admit(start), Ok(()));
        }
        // The fifth to eighth in this second come back in the next one, 250 ms apart.
        let waits: Vec<Duration> = (0..5).map(|_| admission.admit(start).unwrap_err()).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [1_000, 1_250, 1_500, 1_750, 2_000]);
        // A new second admits again (the promised ones take their slots as walk-ins do).
        assert_eq!(admission.admit(start + Duration::from_millis(1_000)), Ok(()));
        // Once the promises are past, a refusal waits for the next second only.
        let later = start + Duration::from_secs(10);
        for _ in 0..4 {
            assert_eq!(admission.admit(later), Ok(()));
        }
        assert_eq!(admission.admit(later), Err(Duration::from_secs(1)));
    }

    #[test]
    fn defaults_validate_and_invalid_settings_are_named() {
        assert!(ServerLimits::default().validate().is_ok());
        let d = ServerLimits::default;
        let bad = [
            (ServerLimits { max_connections: 0, ..d() }, "server_limits.max_connections"),
            (
                ServerLimits { max_streams_per_connection: 0, ..d() },
                "server_limits.max_streams_per_connection",
            ),
            (ServerLimits { max_header_list_bytes: 100, ..d() }, "server_limits.max_header_list_bytes"),
            (
                ServerLimits { first_request_timeout: Duration::ZERO, ..d() },
                "server_limits.first_request_timeout",
            ),
            (ServerLimits { keepalive_interval: Duration::ZERO, ..d() }, "server_limits.keepalive_interval"),
            (ServerLimits { keepalive_timeout: Duration::ZERO, ..d() }, "server_limits.keepalive_timeout"),
            (
                ServerLimits { max_stream_opens_per_sec: Some(0), ..d() },
                "server_limits.max_stream_opens_per_sec",
            ),
        ];
        for (limits, setting) in bad {
            let error = limits.validate().unwrap_err();
            assert_eq!(error.setting, setting);
            assert!(error.message.contains("use "), "{error}");
        }
    }
}
