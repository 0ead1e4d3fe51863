//! A front for the intake, on the intake's tokio runtime: it forwards TCP to the intake,
//! optionally terminating TLS with a fresh self-signed certificate for `localhost`, and can
//! freeze the connections it carries (they stay open and go silent, as behind a dead NAT).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto};

use super::IntakeThread;

/// A forwarding front; dropping it stops it and removes its CA files.
pub struct Front {
    address: SocketAddr,
    ca_files: Vec<PathBuf>,
    freezes: Arc<Mutex<Vec<watch::Sender<bool>>>>,
    accept: tokio::task::AbortHandle,
}

/// What the front does with the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontKind {
    /// Forwards plaintext.
    Plain,
    /// Terminates TLS (ALPN `h2`) with a certificate for `localhost`.
    Tls,
}

impl Front {
    /// Starts a front for `intake` on `127.0.0.1:0`.
    pub async fn start(intake: &IntakeThread, kind: FrontKind) -> Front {
        let target = intake.local_addr();
        let (acceptor, ca_files) = match kind {
            FrontKind::Plain => (None, Vec::new()),
            FrontKind::Tls => {
                let (acceptor, ca_file) = tls_acceptor();
                // A second, unrelated certificate: a CA the front's certificate does not chain to.
                let (_, other_ca_file) = tls_acceptor();
                (Some(acceptor), vec![ca_file, other_ca_file])
            }
        };
        let freezes: Arc<Mutex<Vec<watch::Sender<bool>>>> = Arc::default();
        let connections = freezes.clone();
        let (address, accept) = intake
            .run(async move {
                let listener =
                    TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("front: {e}"));
                let address = listener.local_addr().unwrap_or_else(|e| panic!("front: {e}"));
                let accept = tokio::spawn(async move {
                    while let Ok((client, _)) = listener.accept().await {
                        let (freeze, frozen) = watch::channel(false);
                        connections.lock().unwrap_or_else(|p| p.into_inner()).push(freeze);
                        tokio::spawn(forward(client, target, acceptor.clone(), frozen));
                    }
                });
                (address, accept.abort_handle())
            })
            .await;
        Front { address, ca_files, freezes, accept }
    }

    /// The port it listens on (`127.0.0.1`, also reachable as `localhost`).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The PEM file of the CA that signed the TLS front's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_files[0]
    }

    /// The PEM file of a CA that did not sign it.
    pub fn other_ca_file(&self) -> &Path {
        &self.ca_files[1]
    }

    /// Every connection open now goes silent in both directions (and stays open); later ones
    /// are forwarded normally.
    pub fn freeze_connections(&self) {
        for freeze in self.freezes.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = freeze.send(true);
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.accept.abort();
        for file in &self.ca_files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A TLS acceptor with a new self-signed certificate for `localhost`, and the certificate's
/// PEM file (a temporary file) to trust it.
fn tls_acceptor() -> (TlsAcceptor, PathBuf) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Each its own subject, so that another front's certificate names another issuer.
    let certified = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).and_then(|mut params| {
        params.distinguished_name.push(rcgen::DnType::CommonName, format!("stateful-logs test {serial}"));
        let key = rcgen::KeyPair::generate()?;
        Ok((params.self_signed(&key)?, key))
    });
    let (certificate, signing_key) = certified.unwrap_or_else(|e| panic!("test certificate: {e}"));
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![certificate.der().clone()];
    let mut config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .unwrap_or_else(|e| panic!("test TLS configuration: {e}"));
    config.alpn_protocols = vec![b"h2".to_vec()];
    let file =
        std::env::temp_dir().join(format!("stateful-logs-test-ca-{}-{serial}.pem", std::process::id()));
    std::fs::write(&file, certificate.pem()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    (TlsAcceptor::from(Arc::new(config)), file)
}

async fn forward(
    client: TcpStream,
    target: SocketAddr,
    tls: Option<TlsAcceptor>,
    frozen: watch::Receiver<bool>,
) {
    let Ok(upstream) = TcpStream::connect(target).await else { return };
    let _ = upstream.set_nodelay(true);
    let _ = client.set_nodelay(true);
    let (up_read, up_write) = upstream.into_split();
    match tls {
        None => {
            let (read, write) = client.into_split();
            pump_both(read, write, up_read, up_write, frozen).await;
        }
        Some(acceptor) => {
            let Ok(stream) = acceptor.accept(client).await else { return };
            let (read, write) = tokio::io::split(stream);
            pump_both(read, write, up_read, up_write, frozen).await;
        }
    }
}

async fn pump_both(
    read: impl AsyncRead + Unpin,
    write: impl AsyncWrite + Unpin,
    up_read: impl AsyncRead + Unpin,
    up_write: impl AsyncWrite + Unpin,
    frozen: watch::Receiver<bool>,
) {
    tokio::select! {
        _ = pump(read, up_write, frozen.clone()) => {}
        _ = pump(up_read, write, frozen) => {}
    }
}

/// Copies until either side closes; once frozen, holds both sockets and moves nothing.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => Some(read),
            _ = frozen.wait_for(|frozen| *frozen) => None,
        };
        let Some(read) = read else { return std::future::pending().await };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if *frozen.borrow() {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
