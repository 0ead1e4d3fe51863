//! Stream request headers (spec `transport.md` §13, `wire.md` §2).

use crate::codec::ContentEncoding;

use super::config::EndpointConfig;
use super::types::Metadata;

/// This crate's version: `dd-evp-origin-version` when the endpoint configures an origin but no
/// version.
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The headers of a stream opened on `endpoint`, built from its current settings.
///
/// `user-agent` is a connection setting the driver adds; `content-type` and the other gRPC
/// headers belong to the gRPC stack.
pub fn build_metadata(endpoint: &EndpointConfig, encoding: ContentEncoding) -> Metadata {
    let mut headers = Vec::with_capacity(5 + endpoint.extra_headers.len());
    headers.push(("dd-api-key".to_owned(), endpoint.api_key.expose().to_owned()));
    headers.push(("dd-content-encoding".to_owned(), encoding.header_value().to_owned()));
    if !endpoint.protocol.is_empty() {
        headers.push(("dd-protocol".to_owned(), endpoint.protocol.clone()));
    }
    if !endpoint.origin.is_empty() {
        headers.push(("dd-evp-origin".to_owned(), endpoint.origin.clone()));
        let version = if endpoint.origin_version.is_empty() {
            CLIENT_VERSION
        } else {
            endpoint.origin_version.as_str()
        };
        headers.push(("dd-evp-origin-version".to_owned(), version.to_owned()));
    }
    for (name, value) in &endpoint.extra_headers {
        // Validation refused reserved names; keys travel lower-case.
        headers.push((name.to_ascii_lowercase(), value.clone()));
    }
    Metadata(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ApiKey;

    #[test]
    fn minimal_endpoint_sends_key_and_encoding_only() {
        let e = EndpointConfig::new("intake", 443, ApiKey::new("k"));
        let m = build_metadata(&e, ContentEncoding::Gzip);
        assert_eq!(
            m.0,
            vec![
                ("dd-api-key".to_owned(), "k".to_owned()),
                ("dd-content-encoding".to_owned(), "gzip".to_owned())
            ]
        );
    }

    #[test]
    fn origin_version_defaults_to_the_crate_version() {
        let mut e = EndpointConfig::new("intake", 443, ApiKey::new("k"));
        e.protocol = "grpc-stateful".into();
        e.origin = "agent".into();
        e.extra_headers = vec![("DD-Shadow-Only".into(), "true".into())];
        let m = build_metadata(&e, ContentEncoding::Zstd);
        assert_eq!(m.get("dd-protocol"), Some("grpc-stateful"));
        assert_eq!(m.get("dd-evp-origin"), Some("agent"));
        assert_eq!(m.get("dd-evp-origin-version"), Some(CLIENT_VERSION));
        assert_eq!(m.get("dd-shadow-only"), Some("true"));
        e.origin_version = "7.1".into();
        assert_eq!(build_metadata(&e, ContentEncoding::Zstd).get("dd-evp-origin-version"), Some("7.1"));
    }

    #[test]
    fn version_without_origin_is_not_sent() {
        let mut e = EndpointConfig::new("intake", 443, ApiKey::new("k"));
        e.origin_version = "7.1".into();
        let m = build_metadata(&e, ContentEncoding::Zstd);
        assert_eq!(m.get("dd-evp-origin-version"), None);
        assert_eq!(m.get("dd-evp-origin"), None);
    }
}
