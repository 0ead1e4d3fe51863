//! TLS you can try on one machine: `tls-certs` makes a throwaway CA and a server certificate
//! signed by it, for `intake --tls-cert/--tls-key` and `ship --ca`; and what to do when TLS
//! fails, told in plain words.

use std::io::Write;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use stateful_logs_intake::ServerTls;
use stateful_logs_tokio::HaltError;

use crate::CliError;
use crate::cli::{IntakeArgs, TlsCertsArgs};

/// The files `tls-certs` writes into its folder.
pub const CA_FILE: &str = "ca.pem";
/// The server's certificate.
pub const SERVER_CERT_FILE: &str = "server.pem";
/// The server certificate's private key.
pub const SERVER_KEY_FILE: &str = "server.key";

/// `stateful-logs tls-certs`: writes `ca.pem`, `server.pem` and `server.key` into `--dir`.
pub fn run_tls_certs(args: TlsCertsArgs) -> Result<std::process::ExitCode, CliError> {
    let hosts = if args.hosts.is_empty() {
        vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()]
    } else {
        args.hosts.clone()
    };
    let files = make_certificates(&hosts)
        .map_err(|e| CliError::Usage(format!("cannot make the certificates: {e}")))?;
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| CliError::io(format!("cannot create {}", args.dir.display()), e))?;
    let paths = [CA_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE].map(|name| args.dir.join(name));
    // Never replace a key someone may rely on; the user picks another folder or removes them.
    if let Some(existing) = paths.iter().find(|path| path.exists()) {
        return Err(CliError::Usage(format!(
            "{} already exists; remove the old files or choose another --dir",
            existing.display()
        )));
    }
    write_new(&paths[0], files.ca_pem.as_bytes(), false)?;
    write_new(&paths[1], files.server_pem.as_bytes(), false)?;
    write_new(&paths[2], files.server_key_pem.as_bytes(), true)?;
    let [ca, cert, key] = paths.map(|p| p.display().to_string());
    println!(
        "wrote {ca} (the CA to trust), {cert} and {key} (the intake's certificate and key) for {}",
        hosts.join(", ")
    );
    println!("the CA's own key was not kept: it can sign nothing else");
    println!("next:");
    println!(
        "  stateful-logs intake --listen 127.0.0.1:4317 --api-key KEY --tls-cert {cert} --tls-key {key}"
    );
    println!(
        "  DD_API_KEY=KEY stateful-logs ship --endpoint https://{}:4317 --ca {ca} --input FILE",
        hosts[0]
    );
    Ok(std::process::ExitCode::SUCCESS)
}

/// PEM texts of a new CA and a server certificate it signed.
struct CertificateFiles {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

/// A CA (its key dropped when this returns) and a certificate for `hosts` (names or IP
/// addresses) signed by it, valid from last year to two years from now.
fn make_certificates(hosts: &[String]) -> Result<CertificateFiles, rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    // A name of its own: a client given another such CA then reads "unknown issuer", not a
    // bad signature from a same-named stranger.
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("stateful-logs local test CA {}", unique_suffix()));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut ca_params);
    let ca_key = KeyPair::generate()?;
    let ca_certificate = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut server_params = CertificateParams::new(hosts.to_vec())?;
    server_params.distinguished_name.push(DnType::CommonName, hosts[0].as_str());
    server_params.is_ca = IsCa::ExplicitNoCa;
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(&mut server_params);
    let server_key = KeyPair::generate()?;
    let server_certificate = server_params.signed_by(&server_key, &issuer)?;
    Ok(CertificateFiles {
        ca_pem: ca_certificate.pem(),
        server_pem: server_certificate.pem(),
        server_key_pem: server_key.serialize_pem(),
    })
}

/// From January 1 of last year to January 1 two years on: enough for a trial, and no
/// clock skew can make it "not yet valid".
fn set_validity(params: &mut CertificateParams) {
    const SECONDS_PER_YEAR: u64 = 31_556_952; // the Gregorian mean
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let year = 1970 + i32::try_from(since_epoch.as_secs() / SECONDS_PER_YEAR).unwrap_or(0);
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
}

/// Seconds and nanoseconds since the epoch and the process id: no two runs alike.
fn unique_suffix() -> String {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}-{}", since_epoch.as_secs(), since_epoch.subsec_nanos(), std::process::id())
}

/// Creates `path` (it must not exist); readable by its owner only when `private`.
fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file =
        options.open(path).map_err(|e| CliError::io(format!("cannot create {}", path.display()), e))?;
    file.write_all(contents).map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))
}

/// The intake's TLS from `--tls-cert` and `--tls-key`, or `None` without them. A file that
/// cannot serve is a usage error naming the flag.
pub fn server_tls(args: &IntakeArgs) -> Result<Option<ServerTls>, CliError> {
    let (Some(certificate), Some(key)) = (&args.tls_cert, &args.tls_key) else { return Ok(None) };
    ServerTls::from_pem_files(certificate, key)
        .map(Some)
        .map_err(|e| CliError::Usage(format!("invalid --tls-cert/--tls-key: {e}")))
}

/// What to do about a halt, when its cause is one a user can name; ends with a newline.
pub fn advice(halt: &HaltError) -> String {
    let HaltError::TlsRejected { host, message, .. } = halt else { return String::new() };
    if message.contains("answered in plaintext") {
        // The client's own message says it already.
        return String::new();
    }
    let text = if message.contains("InvalidContentType") || message.contains("corrupt message") {
        // rustls read something that is no TLS record: an HTTP/2 server without TLS.
        "the endpoint answered in plaintext; use http:// or enable TLS on the intake \
         (stateful-logs intake --tls-cert FILE --tls-key FILE)"
            .to_owned()
    } else if message.contains("UnknownIssuer") || message.contains("BadSignature") {
        "the intake's certificate is not signed by a CA this client trusts; pass --ca FILE with the \
         CA that signed it (tls-certs wrote ca.pem)"
            .to_owned()
    } else if message.contains("NotValidForName") || message.contains("not valid for name") {
        format!(
            "the intake's certificate does not name {host}; connect to a name it holds, or make one \
             for it (stateful-logs tls-certs --host {host})"
        )
    } else if message.contains("Expired") || message.contains("certificate expired") {
        "the intake's certificate has expired (or this machine's clock is wrong); make a new one".to_owned()
    } else {
        return String::new();
    };
    text + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_certificate_is_served_by_the_intake_and_names_every_host() {
        let hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let files = make_certificates(&hosts).expect("certificates");
        assert!(files.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(files.server_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        ServerTls::from_pem(files.server_pem.as_bytes(), files.server_key_pem.as_bytes())
            .expect("the intake accepts the pair");
        assert_ne!(files.ca_pem, files.server_pem);
    }

    #[test]
    fn plaintext_and_certificate_failures_get_advice() {
        let halt = |message: &str| HaltError::TlsRejected {
            endpoint: 0,
            host: "localhost".into(),
            message: message.into(),
        };
        let plain = advice(&halt("tls handshake eof: received corrupt message of type InvalidContentType"));
        assert!(
            plain.starts_with("the endpoint answered in plaintext; use http:// or enable TLS on the intake"),
            "{plain}"
        );
        assert!(advice(&halt("invalid peer certificate: UnknownIssuer")).contains("--ca FILE"));
        assert!(advice(&halt("invalid peer certificate: NotValidForName")).contains("--host localhost"));
        let context = "invalid peer certificate: certificate not valid for name \"other\"; certificate is only valid for DnsName(\"localhost\")";
        assert!(advice(&halt(context)).contains("does not name localhost"));
        assert_eq!(advice(&halt("something else")), "");
        let told = "the endpoint answered in plaintext; use http:// or enable TLS on the intake (… InvalidContentType)";
        assert_eq!(advice(&halt(told)), "", "not twice");
    }
}
