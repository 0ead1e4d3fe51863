//! TLS for the intake: a server certificate chain and its private key from PEM, served with
//! rustls (ring) and ALPN `h2`. The handshake runs on the connection's own task, within the
//! connection's first-request deadline, so a client that never finishes it holds nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto};
use tokio_rustls::server::TlsStream;

/// The server side of TLS: a certificate chain and its key, checked to fit together
/// ([`IntakeBuilder::tls`](crate::IntakeBuilder::tls)). Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("alpn", &"h2").finish_non_exhaustive()
    }
}

/// A certificate or key that cannot serve TLS; the message says which file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read the TLS {what} file {}: {source}", path.display())]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No certificate in the certificate PEM.
    #[error(
        "{source_name} holds no PEM certificate (a `-----BEGIN CERTIFICATE-----` block); give the \
         server's certificate, then any intermediate CA certificates, in PEM"
    )]
    NoCertificate {
        /// Where the PEM came from.
        source_name: String,
    },
    /// No private key in the key PEM.
    #[error(
        "{source_name} holds no PEM private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or \
         SEC1 `EC PRIVATE KEY`); give the private key of the server's certificate"
    )]
    NoKey {
        /// Where the PEM came from.
        source_name: String,
    },
    /// The PEM text is malformed.
    #[error("{source_name} is not valid PEM: {message}")]
    BadPem {
        /// Where the PEM came from.
        source_name: String,
        /// What the parser said.
        message: String,
    },
    /// rustls refused the pair (a key that is not the certificate's, an unsupported key type).
    #[error(
        "the TLS certificate and key cannot be used together: {0}; check that the key file holds \
         the private key of the certificate's first (server) certificate"
    )]
    Unusable(String),
}

impl ServerTls {
    /// Reads a PEM certificate chain (the server's certificate first) and its PEM private key.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.to_owned(), source })
        };
        let (certificate_pem, key_pem) = (read("certificate", certificate)?, read("key", key)?);
        Self::parse(
            &certificate_pem,
            &certificate.display().to_string(),
            &key_pem,
            &key.display().to_string(),
        )
    }

    /// The same from PEM text in memory.
    pub fn from_pem(certificate_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        Self::parse(certificate_pem, "the certificate PEM", key_pem, "the key PEM")
    }

    fn parse(
        certificate_pem: &[u8],
        certificate_name: &str,
        key_pem: &[u8],
        key_name: &str,
    ) -> Result<Self, TlsError> {
        let bad_pem = |source_name: &str, error: tokio_rustls::rustls::pki_types::pem::Error| {
            TlsError::BadPem { source_name: source_name.to_owned(), message: error.to_string() }
        };
        let chain = CertificateDer::pem_slice_iter(certificate_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad_pem(certificate_name, e))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate { source_name: certificate_name.to_owned() });
        }
        let key = match PrivateKeyDer::from_pem_slice(key_pem) {
            Ok(key) => key,
            Err(tokio_rustls::rustls::pki_types::pem::Error::NoItemsFound) => {
                return Err(TlsError::NoKey { source_name: key_name.to_owned() });
            }
            Err(error) => return Err(bad_pem(key_name, error)),
        };
        let mut config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| TlsError::Unusable(e.to_string()))?;
        // gRPC is HTTP/2 only.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(ServerTls { config: Arc::new(config) })
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// Runs the server handshake on `tcp` until `deadline`; `None` (logged) when it fails or is
/// late.
pub(crate) async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    deadline: tokio::time::Instant,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            let text = error.to_string();
            // A plaintext HTTP/2 client starts with "PRI * HTTP/2.0", which is no TLS record.
            if text.contains("InvalidContentType") || text.contains("corrupt message") {
                tracing::warn!(%peer, %error,
                    "TLS handshake failed: the client spoke plaintext to this TLS port; it should use https:// \
                     (or --tls) and trust this intake's CA");
            } else {
                tracing::warn!(%peer, %error, "TLS handshake failed");
            }
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "connection closed: no TLS handshake within server_limits.first_request_timeout");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certified(name: &str) -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("a test certificate")
    }

    #[test]
    fn a_certificate_and_its_key_serve_tls() {
        let pair = certified("localhost");
        let tls =
            ServerTls::from_pem(pair.cert.pem().as_bytes(), pair.signing_key.serialize_pem().as_bytes());
        let tls = tls.expect("a matching pair is accepted");
        assert_eq!(tls.config.alpn_protocols, vec![b"h2".to_vec()]);
        let debug = format!("{tls:?}");
        assert!(!debug.contains("PRIVATE") && !debug.contains("key"), "{debug}");
    }

    #[test]
    fn missing_or_mismatched_pem_is_refused_with_what_to_do() {
        let (pair, other) = (certified("localhost"), certified("localhost"));
        let (cert, key) = (pair.cert.pem(), pair.signing_key.serialize_pem());
        let other_key = other.signing_key.serialize_pem();
        let message = |result: Result<ServerTls, TlsError>| result.expect_err("refused").to_string();

        let no_cert = message(ServerTls::from_pem(key.as_bytes(), key.as_bytes()));
        assert!(no_cert.contains("holds no PEM certificate"), "{no_cert}");
        let no_key = message(ServerTls::from_pem(cert.as_bytes(), cert.as_bytes()));
        assert!(no_key.contains("holds no PEM private key"), "{no_key}");
        let mismatched = message(ServerTls::from_pem(cert.as_bytes(), other_key.as_bytes()));
        assert!(mismatched.contains("cannot be used together"), "{mismatched}");
        let bad = message(ServerTls::from_pem(b"-----BEGIN CERTIFICATE-----\nnot base64!\n", key.as_bytes()));
        assert!(bad.contains("not valid PEM") || bad.contains("no PEM certificate"), "{bad}");
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let missing = Path::new("/nonexistent/stateful-logs/server.pem");
        let error = ServerTls::from_pem_files(missing, missing).expect_err("refused").to_string();
        assert!(
            error.contains("cannot read the TLS certificate file /nonexistent/stateful-logs/server.pem"),
            "{error}"
        );
    }
}
