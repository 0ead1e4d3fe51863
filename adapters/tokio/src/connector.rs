//! One tonic `Channel` per endpoint: lazy connect, HTTP/2 keepalive, rustls TLS
//! (`transport.md` §15.8).

use stateful_logs::transport::EndpointConfig;
use stateful_logs_runtime::{ConnectError, ConnectionSettings, Connector};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// Builds tonic channels; the client shares one per endpoint among its pipelines.
#[derive(Clone, Copy, Debug, Default)]
pub struct TonicConnector;

impl Connector for TonicConnector {
    type Service = Channel;

    fn connect(
        &self,
        endpoint: &EndpointConfig,
        settings: &ConnectionSettings,
    ) -> Result<Channel, ConnectError> {
        let target = format!("{}:{}", endpoint.host, endpoint.port);
        let error = |message: String, tls: bool| ConnectError { target: target.clone(), message, tls };
        let scheme = if endpoint.tls { "https" } else { "http" };
        let host =
            if endpoint.host.contains(':') { format!("[{}]", endpoint.host) } else { endpoint.host.clone() };
        let mut channel = Endpoint::from_shared(format!("{scheme}://{host}:{}", endpoint.port))
            .map_err(|e| error(format!("not a valid address: {e}"), false))?
            .connect_timeout(settings.connect_timeout)
            .http2_keep_alive_interval(settings.keepalive_interval)
            .keep_alive_timeout(settings.keepalive_timeout)
            .keep_alive_while_idle(true)
            .tcp_nodelay(true);
        if endpoint.tls {
            let mut tls = ClientTlsConfig::new().domain_name(endpoint.host.clone());
            match &endpoint.ca_file {
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|e| {
                        error(format!("cannot read the CA file {}: {e}", path.display()), true)
                    })?;
                    tls = tls.ca_certificate(Certificate::from_pem(pem));
                }
                None => {
                    tls = tls.with_native_roots();
                    if settings.webpki_roots {
                        tls = tls.with_webpki_roots();
                    }
                }
            }
            channel = channel.tls_config(tls).map_err(|e| error(format!("TLS configuration: {e}"), true))?;
        }
        Ok(channel.connect_lazy())
    }
}
