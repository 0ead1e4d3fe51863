//! gRPC status codes, as numbers (spec `transport.md` §12, §16): one table for every side, the
//! client's failure classification and the receiver's stream ends alike.
//!
//! The core speaks plain `i32` codes so that it needs no gRPC library; adapters map them to
//! their library's status type and back.

/// Success: the stream ended normally (after a client half-close).
pub const OK: i32 = 0;
/// The client cancelled the call.
pub const CANCELLED: i32 = 1;
/// An error without a better code.
pub const UNKNOWN: i32 = 2;
/// The client sent something the protocol forbids (malformed data, a bad reference, a limit).
pub const INVALID_ARGUMENT: i32 = 3;
/// A deadline passed (the receiver's idle timeout).
pub const DEADLINE_EXCEEDED: i32 = 4;
/// Not found.
pub const NOT_FOUND: i32 = 5;
/// Already exists.
pub const ALREADY_EXISTS: i32 = 6;
/// The key is known but not allowed.
pub const PERMISSION_DENIED: i32 = 7;
/// A limit of the server was reached (streams, state size).
pub const RESOURCE_EXHAUSTED: i32 = 8;
/// The system is not in a state the operation needs.
pub const FAILED_PRECONDITION: i32 = 9;
/// The operation was aborted.
pub const ABORTED: i32 = 10;
/// A value is out of range (gRPC libraries also use it for a message above their size limit).
pub const OUT_OF_RANGE: i32 = 11;
/// The method path is not served.
pub const UNIMPLEMENTED: i32 = 12;
/// A bug in the server.
pub const INTERNAL: i32 = 13;
/// The server is not available right now.
pub const UNAVAILABLE: i32 = 14;
/// Unrecoverable data loss.
pub const DATA_LOSS: i32 = 15;
/// The API key is missing or not accepted.
pub const UNAUTHENTICATED: i32 = 16;

/// The canonical upper-case name of a code (`INVALID_ARGUMENT`), or `UNKNOWN_CODE` for a number
/// gRPC does not define.
pub const fn name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN_CODE",
    }
}

/// The code named `name` (canonical upper-case form), if gRPC defines it.
pub fn from_name(name: &str) -> Option<i32> {
    (0..=16).find(|&c| self::name(c) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for c in 0..=16 {
            assert_eq!(from_name(name(c)), Some(c));
        }
        assert_eq!(name(INVALID_ARGUMENT), "INVALID_ARGUMENT");
        assert_eq!(name(99), "UNKNOWN_CODE");
        assert_eq!(from_name("NOPE"), None);
    }
}
