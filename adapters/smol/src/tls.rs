//! The rustls client configuration of a TLS endpoint: ring, ALPN `h2`, and the roots the
//! tokio adapter trusts too (system roots, optionally the WebPKI roots, or one CA file).

use std::path::Path;
use std::sync::Arc;

use futures_rustls::rustls::crypto::{self, CryptoProvider};
use futures_rustls::rustls::pki_types::pem::PemObject;
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName};
use futures_rustls::rustls::{ClientConfig, RootCertStore};
use stateful_logs::transport::EndpointConfig;
use stateful_logs_runtime::ConnectionSettings;

/// What a TLS connection to one endpoint needs.
#[derive(Clone)]
pub(crate) struct TlsTarget {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

/// Builds the TLS configuration of `endpoint`; the error says what to fix.
pub(crate) fn tls_target(
    endpoint: &EndpointConfig,
    settings: &ConnectionSettings,
) -> Result<TlsTarget, String> {
    let server_name = ServerName::try_from(endpoint.host.clone())
        .map_err(|e| format!("{:?} is not a DNS name or IP address usable for TLS: {e}", endpoint.host))?;
    let roots = match &endpoint.ca_file {
        Some(path) => roots_from_ca_file(path)?,
        None => system_roots(settings.webpki_roots)?,
    };
    // A process-wide provider the embedder installed wins; otherwise ring.
    let provider =
        CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(crypto::ring::default_provider()));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsTarget { config: Arc::new(config), server_name })
}

fn roots_from_ca_file(path: &Path) -> Result<RootCertStore, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA file {} is not valid PEM: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(format!(
            "the CA file {} holds no usable certificate; give the PEM certificate of the intake's CA",
            path.display()
        ));
    }
    Ok(roots)
}

fn system_roots(webpki_roots: bool) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::debug!(errors = ?native.errors, "some system root certificates could not be loaded");
    }
    roots.add_parsable_certificates(native.certs);
    if webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if roots.is_empty() {
        return Err("no system root certificates found; install the system's CA certificates, \
                    enable webpki_roots or give a ca_file"
            .to_owned());
    }
    Ok(roots)
}
