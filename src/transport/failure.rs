//! Failure classification and metric reasons (spec `transport.md` §12.1, §12.2).

use super::types::{Failure, Side};

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
}

/// The class of `failure`; the same for open failures and stream failures.
pub fn classify(failure: &Failure) -> FailureClass {
    match failure {
        Failure::Eof | Failure::Connection(_) => FailureClass::Retry,
        Failure::Tls(_) => FailureClass::Config,
        Failure::Status { code, .. } => match code {
            3 | 9 | 11 => FailureClass::Protocol,
            7 | 16 => FailureClass::Auth,
            12 => FailureClass::Unimplemented,
            _ => FailureClass::Retry,
        },
    }
}

/// The gRPC code name in CamelCase (`Canceled`, `InvalidArgument`, …); `Code<n>` for a number
/// outside the list of §12.1 (0 included, since an OK status is reported as `Eof`).
pub fn code_name(code: i32) -> String {
    let name = match code {
        1 => "Canceled",
        2 => "Unknown",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        other => return format!("Code{other}"),
    };
    name.to_owned()
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
