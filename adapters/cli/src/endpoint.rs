//! `--endpoint URL`: `http://HOST:PORT`, `https://HOST[:PORT]` or `HOST:PORT`.

use crate::CliError;

/// A parsed endpoint address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Whether the URL asked for TLS (`https://`).
    pub tls: bool,
}

/// Parses an endpoint URL; `https://` defaults to port 443, the others need a port.
pub fn parse_endpoint(url: &str) -> Result<EndpointUrl, CliError> {
    let bad = |why: &str| {
        CliError::Usage(format!(
            "--endpoint {url}: {why}; write it as http://HOST:PORT or https://HOST[:PORT]"
        ))
    };
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else if url.contains("://") {
        return Err(bad("only http and https are supported"));
    } else {
        (false, url)
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(bad("a path is not allowed"));
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(bad("the host is missing"));
    }
    let port = match port {
        // Port 0 means "any port" to a listener; a client cannot connect to it.
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        None if tls => 443,
        None => return Err(bad("the port is missing")),
    };
    Ok(EndpointUrl { host: host.to_owned(), port, tls })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_ports_and_ipv6_are_understood() {
        let e = |host: &str, port, tls| EndpointUrl { host: host.into(), port, tls };
        assert_eq!(parse_endpoint("http://127.0.0.1:4317").ok(), Some(e("127.0.0.1", 4317, false)));
        assert_eq!(parse_endpoint("https://intake.example").ok(), Some(e("intake.example", 443, true)));
        assert_eq!(parse_endpoint("localhost:9000/").ok(), Some(e("localhost", 9000, false)));
        assert_eq!(parse_endpoint("http://[::1]:80").ok(), Some(e("::1", 80, false)));
    }

    #[test]
    fn malformed_urls_are_refused_with_a_hint() {
        for url in ["ftp://x:1", "http://x", "http://:80", "http://x:99999", "http://x:0", "http://x:1/path"]
        {
            let message = parse_endpoint(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("http://HOST:PORT"), "{url}: {message}");
        }
    }
}
