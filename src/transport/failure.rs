//! Failure classification and metric reasons (spec `transport.md` §12.1, §12.2).

use super::types::{Failure, Side};
use crate::status_code::{
    self, CANCELLED, FAILED_PRECONDITION, INVALID_ARGUMENT, OUT_OF_RANGE, PERMISSION_DENIED,
    RESOURCE_EXHAUSTED, UNAUTHENTICATED, UNAVAILABLE, UNIMPLEMENTED,
};

/// How the transport reacts to a failure (§12.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// Failure rotation with backoff.
    Retry,
    /// Failure rotation; halt after `max_protocol_errors` in a row.
    Protocol,
    /// Halt with `Unauthenticated` (codes 16 and 7).
    Auth,
    /// Halt with `WrongProfile` (code 12).
    Unimplemented,
    /// Halt with `TlsRejected`.
    Config,
    /// Halt with `MessageTooLarge`: the intake's gRPC library refused a message above its size
    /// limit (`OUT_OF_RANGE` or `RESOURCE_EXHAUSTED` saying so). Resending the same batch
    /// cannot succeed, so this is not a protocol error.
    TooLarge,
}

/// The class of `failure`; the same for open failures and stream failures.
pub fn classify(failure: &Failure) -> FailureClass {
    match failure {
        Failure::Eof | Failure::Connection(_) => FailureClass::Retry,
        Failure::Tls(_) => FailureClass::Config,
        Failure::Status { code, message, .. } => match *code {
            OUT_OF_RANGE | RESOURCE_EXHAUSTED if says_message_too_large(message) => FailureClass::TooLarge,
            INVALID_ARGUMENT | FAILED_PRECONDITION | OUT_OF_RANGE => FailureClass::Protocol,
            PERMISSION_DENIED | UNAUTHENTICATED => FailureClass::Auth,
            UNIMPLEMENTED => FailureClass::Unimplemented,
            _ => FailureClass::Retry,
        },
    }
}

/// Whether a status message is a gRPC library's "message too large" (tonic: "decoded message
/// length too large"; grpc-go: "received message larger than max"; grpc-java: "exceeds maximum").
fn says_message_too_large(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("message")
        && (m.contains("too large") || m.contains("larger than max") || m.contains("exceeds maximum"))
}

/// What to check after `failure`, for the line a driver logs with each retry.
pub fn hint(failure: &Failure) -> &'static str {
    match failure {
        Failure::Connection(m) => {
            let m = m.to_ascii_lowercase();
            if m.contains("refused") {
                "is the intake running and listening on the endpoint's host and port?"
            } else if ["dns", "resolve", "lookup", "name or service"].iter().any(|w| m.contains(w)) {
                "check the endpoint's host name"
            } else if m.contains("open timed out") {
                "the intake did not answer within open_timeout; check that the port is the intake's gRPC port"
            } else {
                "check the network path to the intake"
            }
        }
        Failure::Eof => "the intake ended the stream; it may be restarting",
        Failure::Tls(_) => "check the endpoint's TLS setting and CA",
        Failure::Status { code, .. } => match *code {
            UNAVAILABLE => "the intake is unavailable (restarting or overloaded); records are kept meanwhile",
            RESOURCE_EXHAUSTED => "the intake is at a limit (streams or state); it may be overloaded",
            INVALID_ARGUMENT | FAILED_PRECONDITION | OUT_OF_RANGE => {
                "the intake rejected the data; check that client and intake agree on profile and v1_delta_encoding"
            }
            _ => "see the intake's logs for this status",
        },
    }
}

/// The gRPC code name in CamelCase (`Canceled`, `InvalidArgument`, …); `Code<n>` for a number
/// outside the list of §12.1 (0 included, since an OK status is reported as `Eof`).
pub fn code_name(code: i32) -> String {
    if code <= 0 || code > UNAUTHENTICATED {
        return format!("Code{code}");
    }
    // §12.1 spells CANCELLED as Canceled; every other name is the canonical one in CamelCase.
    if code == CANCELLED {
        return "Canceled".to_owned();
    }
    status_code::name(code)
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_string() + &chars.as_str().to_ascii_lowercase()).unwrap_or_default()
        })
        .collect()
}

/// The `stream_errors` reason of a failure on an open stream (§12.1).
pub fn stream_error_reason(side: Side, failure: &Failure) -> String {
    match (failure, side) {
        (Failure::Status { code, .. }, Side::Send) => format!("send_err_{}", code_name(*code)),
        (Failure::Status { code, .. }, Side::Recv) => format!("recv_error_{}", code_name(*code)),
        (Failure::Eof, _) => "server_eof".to_owned(),
        (Failure::Tls(_), _) => "tls_error".to_owned(),
        (Failure::Connection(_), _) => "transport_error".to_owned(),
    }
}

/// `stream_errors` reason: an open failed, whatever the cause.
pub const STREAM_CREATION_FAILED: &str = "stream_creation_failed";
/// `stream_errors` reason: the open deadline passed.
pub const OPEN_TIMEOUT: &str = "open_timeout";
/// `stream_errors` reason: an ack arrived while no sent batch awaited one.
pub const RECEIVED_ACK_BUT_NO_SENT_PAYLOADS: &str = "received_ack_but_no_sent_payloads";
/// `stream_errors` reason: an ack named another id than the oldest sent batch's.
pub const BATCH_ID_MISMATCH: &str = "batch_id_mismatch";
/// `stream_errors` reason: no ack within the stream's ack timeout while batches were
/// outstanding (progress-based, Amendment 3).
pub const ACK_TIMEOUT: &str = "ack_timeout";
/// What to check after an ack timeout.
pub const ACK_TIMEOUT_HINT: &str =
    "the intake stopped acknowledging within ack_timeout; it may be overloaded or stuck";
/// `stream_errors` reason: an ack came more than `ack_timeout` after its batch was sent and
/// the core left the intake (`RetryPolicy::leave_lagging_intake`).
pub const LAGGING_INTAKE: &str = "lagging_intake";

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: i32) -> Failure {
        Failure::status(code, "")
    }

    #[test]
    fn every_code_has_the_class_of_the_spec_table() {
        let expected = [
            (1, FailureClass::Retry),
            (2, FailureClass::Retry),
            (3, FailureClass::Protocol),
            (4, FailureClass::Retry),
            (5, FailureClass::Retry),
            (6, FailureClass::Retry),
            (7, FailureClass::Auth),
            (8, FailureClass::Retry),
            (9, FailureClass::Protocol),
            (10, FailureClass::Retry),
            (11, FailureClass::Protocol),
            (12, FailureClass::Unimplemented),
            (13, FailureClass::Retry),
            (14, FailureClass::Retry),
            (15, FailureClass::Retry),
            (16, FailureClass::Auth),
            (17, FailureClass::Retry),
            (-1, FailureClass::Retry),
        ];
        for (code, class) in expected {
            assert_eq!(classify(&status(code)), class, "code {code}");
        }
        assert_eq!(classify(&Failure::Eof), FailureClass::Retry);
        assert_eq!(classify(&Failure::Tls("x".into())), FailureClass::Config);
        assert_eq!(classify(&Failure::Connection("x".into())), FailureClass::Retry);
    }

    #[test]
    fn a_message_above_the_intakes_limit_is_told_apart_from_a_protocol_error() {
        let tonic = Failure::Status {
            retry_pushback_ms: None,
            code: OUT_OF_RANGE,
            message:
                "Error, decoded message length too large: found 4718592 bytes, the limit is: 4194304 bytes"
                    .into(),
        };
        let grpc_go = Failure::Status {
            retry_pushback_ms: None,
            code: RESOURCE_EXHAUSTED,
            message: "grpc: received message larger than max (4718592 vs. 4194304)".into(),
        };
        assert_eq!(classify(&tonic), FailureClass::TooLarge);
        assert_eq!(classify(&grpc_go), FailureClass::TooLarge);
        assert_eq!(classify(&status(RESOURCE_EXHAUSTED)), FailureClass::Retry);
        assert_eq!(classify(&status(OUT_OF_RANGE)), FailureClass::Protocol);
    }

    #[test]
    fn every_retry_hint_names_something_to_check() {
        let refused = Failure::Connection("tcp connect error: Connection refused (os error 111)".into());
        assert!(hint(&refused).contains("listening"));
        let dns = Failure::Connection("dns error: failed to lookup address information".into());
        assert!(hint(&dns).contains("host name"));
        assert!(hint(&status(UNAVAILABLE)).contains("unavailable"));
    }

    #[test]
    fn reasons_use_camel_case_code_names() {
        assert_eq!(stream_error_reason(Side::Send, &status(14)), "send_err_Unavailable");
        assert_eq!(stream_error_reason(Side::Recv, &status(1)), "recv_error_Canceled");
        assert_eq!(stream_error_reason(Side::Recv, &status(42)), "recv_error_Code42");
        assert_eq!(stream_error_reason(Side::Recv, &Failure::Eof), "server_eof");
        assert_eq!(stream_error_reason(Side::Send, &Failure::Tls("bad".into())), "tls_error");
        assert_eq!(stream_error_reason(Side::Send, &Failure::Connection("reset".into())), "transport_error");
        assert_eq!(code_name(16), "Unauthenticated");
        assert_eq!(code_name(0), "Code0");
    }
}
