//! Embeds the stateful-logs client in a smol program.
//!
//! Starts the reference intake on 127.0.0.1 (any free port; it is a tokio server, so it gets
//! its own tokio runtime, apart from the smol program), ships a few hundred real log lines
//! (Loghub OpenSSH) through the client on smol's global executor, awaits every
//! acknowledgement, shuts down and prints a summary.
//!
//! ```text
//! cargo run -p stateful-logs-smol --example embed_smol
//! ```

use std::time::{Duration, Instant};

use stateful_logs_intake::Intake;
use stateful_logs_smol::{AckOutcome, BuildSmol, Client, ClientBuilder, Record};

const LOG_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora/loghub/OpenSSH_2k.log");
const LINES: usize = 500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();

    // The receiving end: the reference intake, checking one API key, on its own tokio runtime.
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let intake = server.block_on(Intake::builder().api_key("demo-key").bind("127.0.0.1:0"))?;
    let deliveries = intake.deliveries();
    println!("intake listening on {}", intake.local_addr());

    // The smol program: no tokio runtime in sight.
    smol::block_on(async {
        // The client: one endpoint, default profile v1 with zstd, two pipelines on one connection.
        let client: Client = ClientBuilder::new()
            .endpoint("127.0.0.1", intake.local_addr().port())
            .api_key("demo-key")
            .pipelines(2)
            .batching(100, 5_000_000, Duration::from_millis(50))
            .build_smol()?;
        let acks = client.acks();

        // Two producers, each with its own handle (each handle feeds one pipeline, in order).
        let text = std::fs::read_to_string(LOG_FILE)?;
        let lines: Vec<String> =
            text.lines().filter(|l| !l.is_empty()).take(LINES).map(str::to_owned).collect();
        let started = Instant::now();
        let mut producers = Vec::new();
        for (producer, chunk) in lines.chunks(LINES / 2).enumerate() {
            let handle = client.handle();
            let chunk = chunk.to_vec();
            producers.push(smol::spawn(async move {
                for (i, line) in chunk.into_iter().enumerate() {
                    let token = (producer as u64) << 32 | i as u64;
                    let record = Record::new(1_700_000_000_000 + i as i64, line)
                        .with_service("sshd")
                        .with_hostname("demo-host")
                        .with_ack_token(token);
                    // Waits while the pipeline's memory budget is full: backpressure, never
                    // unbounded buffering. Fails at once if the client halted or shut down.
                    if let Err(error) = handle.send(record).await {
                        eprintln!("producer {producer} stops: {error}");
                        break;
                    }
                }
            }));
        }
        for producer in producers {
            producer.await;
        }

        // Every token comes back once; a halt (bad key, wrong profile, TLS) ends the stream of
        // acks with its error instead of leaving this loop waiting.
        let mut acked = 0;
        while acked < lines.len() {
            match acks.recv().await? {
                Ok(entry) if entry.outcome == AckOutcome::Acked => acked += 1,
                Ok(_) => {}
                Err(halt) => return Err(format!("the client halted: {halt}").into()),
            }
        }
        let elapsed = started.elapsed();
        client.flush().await;
        let report = client.shutdown(Duration::from_secs(5)).await;

        let mut delivered = 0;
        let mut batches = 0;
        while let Ok(batch) = deliveries.try_recv() {
            batches += 1;
            delivered += batch.logs.len();
        }
        let stats = intake.stats();
        println!("shipped {} lines in {:.1} ms", lines.len(), elapsed.as_secs_f64() * 1000.0);
        println!(
            "acked {} (shutdown report: {} acked, {} unacknowledged)",
            acked,
            report.acked,
            report.unacknowledged.len()
        );
        println!(
            "intake: {} streams, {} batches ({} with logs), {} logs delivered, {} bytes of batch data",
            stats.streams_started, stats.batches_received, batches, delivered, stats.bytes_received
        );
        println!(
            "tokio runtime reachable from the smol program: {}",
            tokio::runtime::Handle::try_current().is_ok()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
