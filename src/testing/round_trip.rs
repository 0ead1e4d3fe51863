//! The round-trip check of the property tests (`tests/roundtrip.rs`,
//! `tests/translator_roundtrip.rs`) and of the `roundtrip` and `translator_lossless` fuzz
//! targets: a script of records and network events through a [`Loopback`] whose acks wait
//! until delivered, then the delivery contract (`encoding.md` §10.2) and record equivalence
//! (§10.1) checked. Panics on a violation, which is how a test or a fuzz target fails.

use crate::receiver::{ReceivedLog, ReceiverConfig};
use crate::transport::{AckOutcome, ApiKey, EndpointConfig};
use crate::{PipelineConfig, Profile, Record};

use super::equivalence::check_equivalent;
use super::loopback::Loopback;
use super::network::{AckDelivery, LoopbackConfig, Peer};

/// The seed of every round-trip world.
pub const SEED: u64 = 11;

/// A pipeline of `profile` for one test endpoint, without lifetime jitter, with patterns on
/// (the round trips exist to exercise them; the Pipeline's default is raw text).
pub fn base_config(profile: Profile) -> PipelineConfig {
    let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("key"))])
        .with_profile(profile);
    c.transport.lifetime_jitter_percent = 0;
    c.translator = crate::translator::TranslatorConfig::default();
    c
}

/// The round trips' loopback: a receiver matching `config`, acks held until delivered
/// ([`Loopback::deliver_acks`]), seed [`SEED`]; a stream the receiver ends with an error
/// fails the run. Panics on an invalid configuration.
pub fn world(config: PipelineConfig) -> Loopback {
    let mut settings = LoopbackConfig::perfect(&config);
    settings.seed = SEED;
    settings.acks = AckDelivery::Held;
    Loopback::new(config, settings).unwrap_or_else(|e| panic!("a round-trip world: {e}"))
}

/// [`world`] with `receiver` as the receiver's configuration; the streams it ends with an
/// error are reported to the Pipeline, as a driver would.
pub fn world_with_receiver(config: PipelineConfig, receiver: ReceiverConfig) -> Loopback {
    let mut settings = LoopbackConfig::perfect(&config);
    settings.seed = SEED;
    settings.acks = AckDelivery::Held;
    settings.peer = Peer::Receiver(receiver);
    settings.forward_stream_ends = true;
    Loopback::new(config, settings).unwrap_or_else(|e| panic!("a round-trip world: {e}"))
}

/// Panics unless `got` equals `want` (§10.1, [`check_equivalent`]); `index` names the record.
pub fn assert_equivalent(profile: Profile, got: &ReceivedLog, want: &Record, index: usize) {
    if let Err(mismatch) = check_equivalent(profile, got, want) {
        panic!("record {index}: {mismatch}");
    }
}

/// One step of a round-trip run.
#[derive(Clone, Debug)]
pub enum Op {
    /// Hand a record to the Pipeline (its ack token is set to its input position).
    Record(Record),
    /// Flush the open batch.
    Flush,
    /// Move every batch the stream takes to the receiver.
    Pump,
    /// Hand every ack in flight to the Pipeline.
    Acks,
    /// Break the current stream; its acks in flight are lost.
    Fail,
    /// Move the clock this many milliseconds.
    Advance(u64),
}

/// Runs `ops` through a [`world`] built from `config`, finishes (flush, shutdown, drain the
/// network) and checks the round trip: every record is reported once, in input order; only
/// records over `max_batch_bytes` (or, in `v2`, with metadata over the state bound) are
/// dropped; the receiver's records, once duplicate deliveries of re-sent batches are removed,
/// equal the accepted input records in input order. Panics on a violation; returns the world.
pub fn run_round_trip(config: PipelineConfig, ops: Vec<Op>) -> Loopback {
    let profile = config.profile();
    let max_batch_bytes = config.max_batch_bytes;
    let mut w = world(config);
    let mut input = Vec::new();
    for op in ops {
        let step = match op {
            Op::Record(mut r) => {
                r.ack_token = Some(input.len() as u64);
                input.push(r.clone());
                w.record(r)
            }
            Op::Flush => w.flush(),
            Op::Pump => w.pump().map(drop),
            Op::Acks => w.deliver_acks().map(drop),
            Op::Fail => w.kill_stream(),
            Op::Advance(ms) => w.advance(ms),
        };
        step.unwrap_or_else(|e| panic!("round trip at {}: {e}", w.now));
    }
    let summary = w.finish().unwrap_or_else(|e| panic!("round trip: {e}"));
    assert_eq!(summary.unacknowledged, 0, "everything was acked");
    let tokens: Vec<u64> = w.acks.iter().map(|e| e.token).collect();
    assert_eq!(tokens, (0..input.len() as u64).collect::<Vec<_>>(), "every token once, in order");
    let mut kept = Vec::new();
    for (entry, r) in w.acks.iter().zip(&input) {
        match entry.outcome {
            AckOutcome::Acked => kept.push(r),
            AckOutcome::Dropped(_) => assert!(
                r.raw_len() > max_batch_bytes || profile == Profile::V2,
                "a record within max_batch_bytes was dropped"
            ),
            AckOutcome::Unacknowledged => panic!("nothing is unacknowledged"),
        }
        if r.raw_len() > max_batch_bytes {
            assert_ne!(entry.outcome, AckOutcome::Acked, "a record over max_batch_bytes was acked");
        }
    }
    assert_eq!(w.delivered.len(), kept.len(), "one delivered log per acked record");
    for (i, (got, want)) in w.delivered.iter().zip(kept).enumerate() {
        assert_equivalent(profile, got, want, i);
    }
    w
}
