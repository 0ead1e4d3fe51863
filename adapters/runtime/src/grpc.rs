//! The generic gRPC call: `tonic::client::Grpc` over any connection, with the prost codec and
//! the method path chosen at run time (no codegen), and the mapping of tonic errors to the
//! core's [`Failure`] (`transport.md` §15.4).

use std::error::Error as StdError;

use futures_lite::Stream;
use http::uri::PathAndQuery;
use stateful_logs::proto::{BatchStatus, StatefulBatch};
use stateful_logs::transport::{Failure, Metadata};
use tonic::client::{Grpc, GrpcService};
use tonic::codec::Streaming;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};

/// The codec of both profiles: `StatefulBatch` out, `BatchStatus` in.
pub type ClientCodec = tonic_prost::ProstCodec<StatefulBatch, BatchStatus>;

/// The boxed error type tonic uses for connection failures.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A connection the driver can run gRPC calls over: what tonic's `Grpc` client needs of a
/// service, sendable between tasks. Every `GrpcService` with these properties is one, so the
/// bounds are written once, here.
pub trait GrpcChannel:
    GrpcService<
        tonic::body::Body,
        Future: Send,
        Error: Into<BoxError>,
        ResponseBody: http_body::Body<Data = bytes::Bytes, Error: Into<BoxError>> + Send + 'static,
    > + Send
    + 'static
{
}

impl<T> GrpcChannel for T
where
    T: GrpcService<tonic::body::Body> + Send + 'static,
    T::Future: Send,
    T::Error: Into<BoxError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<BoxError>,
{
}

/// Builds the request of one stream: the request messages and the stream metadata of the core's
/// `OpenStream` (`wire.md` §2), plus `user-agent`.
///
/// Fails (with a message that never holds a header value) when a header is not legal gRPC
/// ASCII metadata; configuration validation normally prevents this.
pub fn stream_request<S>(
    messages: S,
    metadata: &Metadata,
    user_agent: &str,
) -> Result<tonic::Request<S>, String> {
    let mut request = tonic::Request::new(messages);
    let headers = request.metadata_mut();
    for (name, value) in
        metadata.0.iter().map(|(n, v)| (n.as_str(), v.as_str())).chain([("user-agent", user_agent)])
    {
        let key = AsciiMetadataKey::from_bytes(name.as_bytes())
            .map_err(|_| format!("header name {name:?} is not legal gRPC metadata"))?;
        let value = AsciiMetadataValue::try_from(value)
            .map_err(|_| format!("the value of header {name:?} is not legal gRPC metadata"))?;
        headers.insert(key, value);
    }
    Ok(request)
}

/// Starts one bidirectional call on `service` and waits for the response headers.
///
/// The request messages are written as soon as the call starts, before any response header
/// arrives (`wire.md` §1); only the returned future waits for them.
pub async fn start_call<T, S>(
    service: T,
    path: &'static str,
    request: tonic::Request<S>,
) -> Result<Streaming<BatchStatus>, Failure>
where
    T: GrpcChannel,
    S: Stream<Item = StatefulBatch> + Send + 'static,
{
    let mut grpc = Grpc::new(service);
    grpc.ready().await.map_err(|error| failure_from_error(error.into().as_ref()))?;
    let response = grpc
        .streaming(request, PathAndQuery::from_static(path), ClientCodec::default())
        .await
        .map_err(|status| failure_from_status(&status))?;
    Ok(response.into_inner())
}

/// The core's view of a tonic status.
///
/// A status the server sent has no source error; one tonic made from a local error (connect,
/// TLS, HTTP/2 reset, I/O) carries it, and is a connection or TLS failure.
pub fn failure_from_status(status: &tonic::Status) -> Failure {
    match status.source() {
        None => Failure::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            retry_pushback_ms: retry_pushback_ms(status),
        },
        Some(source) => {
            let failure = failure_from_error(source);
            match failure {
                Failure::Connection(detail)
                    if !status.message().is_empty() && !detail.contains(status.message()) =>
                {
                    Failure::Connection(format!("{}: {detail}", status.message()))
                }
                other => other,
            }
        }
    }
}

/// The status's `grpc-retry-pushback-ms` trailer (gRPC proposal A6): a non-negative integer
/// is the delay before the next attempt; a negative or unreadable value means "do not retry
/// now", given as `u64::MAX` (the core bounds every pushback).
pub fn retry_pushback_ms(status: &tonic::Status) -> Option<u64> {
    let value = status.metadata().get("grpc-retry-pushback-ms")?;
    let ms = value.to_str().ok().and_then(|text| text.trim().parse::<u64>().ok());
    Some(ms.unwrap_or(u64::MAX))
}

/// A failure without gRPC status: [`Failure::Tls`] when a certificate was rejected or TLS met
/// plaintext, else [`Failure::Connection`], with the whole chain of causes as the message.
pub fn failure_from_error(error: &(dyn StdError + 'static)) -> Failure {
    let mut message = error.to_string();
    let mut tls = is_tls_rejection(&message);
    let mut cause = error.source();
    while let Some(err) = cause {
        let text = err.to_string();
        tls |= is_tls_rejection(&text);
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = err.source();
    }
    if tls { tls_failure(message) } else { Failure::Connection(message) }
}

/// A TLS failure, its message saying so plainly when the endpoint answered in plaintext
/// (rustls read bytes that are no TLS record), which is what users most often meet.
pub(crate) fn tls_failure(message: String) -> Failure {
    if message.contains("InvalidContentType") {
        return Failure::Tls(format!(
            "the endpoint answered in plaintext; use http:// or enable TLS on the intake ({message})"
        ));
    }
    Failure::Tls(message)
}

/// Whether an error text is a certificate rejection or a TLS/plaintext mismatch (§12.2).
///
/// rustls reports certificate problems as "invalid peer certificate: …" and a plaintext reply
/// to a TLS hello as "received corrupt message of type InvalidContentType".
fn is_tls_rejection(text: &str) -> bool {
    const MARKERS: &[&str] = &[
        "invalid peer certificate",
        "InvalidContentType",
        "UnknownIssuer",
        "NotValidForName",
        "certificate expired",
    ];
    MARKERS.iter().any(|marker| text.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_status_keeps_its_code_and_message() {
        let status = tonic::Status::unavailable("going away");
        assert_eq!(failure_from_status(&status), Failure::status(14, "going away"));
        let status = tonic::Status::unauthenticated("bad key");
        assert_eq!(failure_from_status(&status), Failure::status(16, "bad key"));
    }

    #[test]
    fn a_retry_pushback_trailer_travels_with_the_status() {
        let with = |value: &str| {
            let mut metadata = tonic::metadata::MetadataMap::new();
            metadata.insert("grpc-retry-pushback-ms", value.parse().expect("ASCII"));
            tonic::Status::with_metadata(tonic::Code::ResourceExhausted, "too many new streams", metadata)
        };
        let failure = failure_from_status(&with("1500"));
        assert_eq!(
            failure,
            Failure::Status {
                code: 8,
                message: "too many new streams".into(),
                retry_pushback_ms: Some(1_500)
            }
        );
        // A negative or unreadable value means "not now": the core waits its longest pushback.
        assert_eq!(failure_from_status(&with("-1")).retry_pushback_ms(), Some(u64::MAX));
        assert_eq!(failure_from_status(&with("soon")).retry_pushback_ms(), Some(u64::MAX));
        assert_eq!(failure_from_status(&tonic::Status::unavailable("x")).retry_pushback_ms(), None);
    }

    #[test]
    fn a_local_error_is_a_connection_failure_with_its_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let status = tonic::Status::from_error(Box::new(io));
        match failure_from_status(&status) {
            Failure::Connection(message) => assert!(message.contains("connection refused"), "{message}"),
            other => panic!("expected a connection failure, got {other:?}"),
        }
    }

    #[test]
    fn a_rejected_certificate_is_a_tls_failure() {
        let io = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        assert!(matches!(failure_from_error(&io), Failure::Tls(_)));
        let io = std::io::Error::other("received corrupt message of type InvalidContentType");
        let Failure::Tls(message) = failure_from_error(&io) else { panic!("a TLS failure") };
        assert!(message.starts_with("the endpoint answered in plaintext; use http://"), "{message}");
    }

    #[test]
    fn the_request_carries_the_metadata_and_user_agent() {
        let metadata = Metadata(vec![
            ("dd-api-key".into(), "secret".into()),
            ("dd-content-encoding".into(), "zstd".into()),
        ]);
        let request = stream_request((), &metadata, "stateful-logs/0.1").map_err(|e| e.to_string());
        let request = request.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.metadata().get("dd-api-key").and_then(|v| v.to_str().ok()), Some("secret"));
        assert_eq!(request.metadata().get("dd-content-encoding").and_then(|v| v.to_str().ok()), Some("zstd"));
        assert_eq!(
            request.metadata().get("user-agent").and_then(|v| v.to_str().ok()),
            Some("stateful-logs/0.1")
        );
    }

    #[test]
    fn an_illegal_header_is_refused_without_showing_its_value() {
        let metadata = Metadata(vec![("dd-api-key".into(), "sec\nret".into())]);
        let error = stream_request((), &metadata, "ua").err().unwrap_or_default();
        assert!(error.contains("dd-api-key") && !error.contains("sec"), "{error}");
    }
}
