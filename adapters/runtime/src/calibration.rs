//! The adaptive compression level's calibration: how many nanoseconds per input byte each
//! rung of the ladder costs on this host, timed once per client on a synthetic log sample
//! before the first batch (the core cannot read a clock; it takes the table as an input, spec
//! Amendment 5). Real batches' measured costs replace these guesses as they come.

use std::time::Instant;

use stateful_logs::codec::ladder::LADDER;
use stateful_logs::codec::stream::StreamCompressor;

/// Sample bytes per rung: enough for a stable figure, little enough that the whole ladder
/// takes a few tens of milliseconds (the costliest rung gets a quarter of it).
const SAMPLE_BYTES: usize = 128 * 1024;

/// Nanoseconds per input byte of each ladder rung; a rung zstd refuses gets 0 (no estimate).
pub fn calibrate_ladder(window_log: u8) -> Vec<f64> {
    let sample = sample_logs(SAMPLE_BYTES);
    LADDER
        .iter()
        .enumerate()
        .map(|(i, &rung)| {
            let part = if i + 1 == LADDER.len() { &sample[..SAMPLE_BYTES / 4] } else { &sample[..] };
            let Ok(mut context) = StreamCompressor::at_rung(rung, window_log) else { return 0.0 };
            // The first quarter warms the context (its tables are allocated and faulted in on
            // first use, which a long-lived stream pays once); the rest is timed.
            let (warm, timed) = part.split_at(part.len() / 4);
            if context.compress_batch(warm).is_err() {
                return 0.0;
            }
            let started = Instant::now();
            for batch in timed.chunks(16 * 1024) {
                if context.compress_batch(batch).is_err() {
                    return 0.0;
                }
            }
            started.elapsed().as_nanos() as f64 / timed.len().max(1) as f64
        })
        .collect()
}

/// Deterministic syslog-like lines: repeated structure with changing numbers, as logs are.
fn sample_logs(bytes: usize) -> Vec<u8> {
    const PROGRAMS: [&str; 4] = ["sshd", "kernel", "cron", "systemd"];
    const MESSAGES: [&str; 4] = [
        "Accepted publickey for deploy from 10.0.{a}.{b} port {c} ssh2",
        "eth0: link up, 1000Mbps, full-duplex, lpa {c}",
        "(root) CMD (run-parts /etc/cron.hourly) pid {c}",
        "Started Session {c} of user app; memory {a}.{b}M, {c} tasks",
    ];
    let mut out = Vec::with_capacity(bytes + 200);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut i = 0u64;
    while out.len() < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let k = (state % 4) as usize;
        let line = MESSAGES[k]
            .replace("{a}", &(state % 256).to_string())
            .replace("{b}", &((state >> 8) % 256).to_string())
            .replace("{c}", &((state >> 16) % 65_536).to_string());
        out.extend_from_slice(
            format!(
                "Dec 10 {:02}:{:02}:{:02} host-1 {}[{}]: {line}\n",
                i / 3600 % 24,
                i / 60 % 60,
                i % 60,
                PROGRAMS[k],
                1_000 + (state >> 32) % 9_000
            )
            .as_bytes(),
        );
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rung_gets_a_cost() {
        let costs = calibrate_ladder(20);
        assert_eq!(costs.len(), LADDER.len());
        assert!(costs.iter().all(|&c| c > 0.0 && c.is_finite()), "{costs:?}");
    }

    #[test]
    fn the_sample_looks_like_logs() {
        let sample = sample_logs(10_000);
        assert!(sample.len() >= 10_000);
        assert!(sample.split(|&b| b == b'\n').filter(|l| !l.is_empty()).all(|l| l.starts_with(b"Dec 10 ")));
    }
}
