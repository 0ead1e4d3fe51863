//! A tokio program that ships its own logs and shuts down cleanly. Start an intake first:
//!
//! ```text
//! cargo run -p stateful-logs-cli -- intake --listen 127.0.0.1:4317 --api-key demo-key
//! cargo run -p stateful-logs-tracing --example tokio_app
//! ```
//!
//! `STATEFUL_LOGS_ENDPOINT` (`host:port`, default `127.0.0.1:4317`) and `STATEFUL_LOGS_API_KEY`
//! (default `demo-key`) point it elsewhere. It exits 1 when its logs were not all delivered:
//! a halt (say, a refused key) or an intake that is down.

use std::process::ExitCode;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let endpoint = std::env::var("STATEFUL_LOGS_ENDPOINT").unwrap_or_else(|_| "127.0.0.1:4317".into());
    let (host, port) = endpoint.rsplit_once(':').ok_or("STATEFUL_LOGS_ENDPOINT must be host:port")?;
    let port: u16 = port.parse().map_err(|_| "STATEFUL_LOGS_ENDPOINT: the port must be a number")?;
    let key = std::env::var("STATEFUL_LOGS_API_KEY").unwrap_or_else(|_| "demo-key".into());
    let guard = stateful_logs_tracing::tokio().endpoint(host, port).api_key(key).init()?;

    let job = tracing::info_span!("job", id = 7);
    for item in 0..5_u32 {
        tracing::info!(parent: &job, item, last = item == 4, "processed item {item}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Dropping the guard would shut down too; this way the program learns what was delivered.
    let report = guard.shutdown();
    match report.halted() {
        Some(halt) => eprintln!("the client halted, logs were not delivered: {halt}"),
        None => eprintln!("{report}"),
    }
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
