//! What the suite checks of every run: deliveries in order without gaps, ack tokens once each
//! and in order; and how long it waits for them ([`Patience`], on the adapter's own timers).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use stateful_logs::StreamId;
use stateful_logs::transport::{AckEntry, AckOutcome};
use stateful_logs_intake::{Delivered, Intake, ReceivedLog};

use super::{PATIENCE, Profile, parse_log};
use crate::{BoxFuture, Client, Runtime};

/// Bounds every wait of the suite by [`PATIENCE`], on the timers of the adapter under test,
/// so the suite needs no particular runtime.
#[derive(Clone)]
pub struct Patience {
    expiry: Arc<dyn Fn() -> BoxFuture + Send + Sync>,
}

impl Patience {
    /// Waits measured by `runtime`'s clock and timers.
    pub fn of<R: Runtime>(runtime: R) -> Self {
        Patience { expiry: Arc::new(move || runtime.sleep_until(runtime.now() + PATIENCE)) }
    }

    /// The output of `future`, or `None` when it took longer than [`PATIENCE`].
    pub async fn within<F: Future>(&self, future: F) -> Option<F::Output> {
        let expired = (self.expiry)();
        futures_lite::future::or(async { Some(future.await) }, async {
            expired.await;
            None
        })
        .await
    }
}

/// Checks the intake's deliveries as they come: in order per producer, re-sent records
/// de-duplicated, no gap.
pub struct DeliveryCheck {
    patience: Patience,
    verify: fn(&ReceivedLog, u32, u32),
    next: HashMap<u32, u32>,
    /// Records delivered more than once (re-sent batches).
    pub duplicates: u64,
    /// Streams that delivered.
    pub streams: std::collections::BTreeSet<StreamId>,
    /// The profile of the streams each producer's logs came on (one per producer).
    pub profiles: HashMap<u32, Profile>,
}

impl DeliveryCheck {
    /// A check that also verifies each log with `C::check_log`.
    pub fn new<C: super::TestCore>(patience: &Patience) -> Self {
        DeliveryCheck {
            patience: patience.clone(),
            verify: C::check_log,
            next: HashMap::new(),
            duplicates: 0,
            streams: Default::default(),
            profiles: HashMap::new(),
        }
    }

    /// Takes one delivered batch; panics on a gap or an unknown line.
    pub fn take(&mut self, delivered: &Delivered) {
        self.streams.insert(delivered.stream);
        for log in &delivered.logs {
            let (producer, seq) = parse_log(log)
                .unwrap_or_else(|| panic!("unexpected log {:?}", String::from_utf8_lossy(&log.body_bytes())));
            let profile = *self.profiles.entry(producer).or_insert(log.profile);
            assert_eq!(log.profile, profile, "producer {producer}: line {seq} came on another profile");
            (self.verify)(log, producer, seq);
            let next = self.next.entry(producer).or_insert(0);
            if seq < *next {
                self.duplicates += 1;
            } else {
                assert_eq!(seq, *next, "producer {producer}: line {seq} delivered before line {next}");
                *next += 1;
            }
        }
    }

    /// Lines of `producer` delivered so far (without duplicates).
    pub fn delivered(&self, producer: u32) -> u32 {
        self.next.get(&producer).copied().unwrap_or(0)
    }

    /// Reads deliveries until every producer in `expected` (producer, lines) is complete.
    pub async fn wait_for(&mut self, intake: &Intake, expected: &[(u32, u32)]) {
        let deliveries = intake.deliveries();
        while expected.iter().any(|&(p, n)| self.delivered(p) < n) {
            match self.patience.within(deliveries.recv()).await {
                Some(Ok(delivered)) => self.take(&delivered),
                _ => panic!("deliveries stalled: have {:?}, expected {expected:?}", self.next),
            }
        }
    }
}

/// Checks ack entries: each token once, in order per producer.
pub struct AckCheck {
    patience: Patience,
    next: HashMap<u32, u32>,
    /// Entries per outcome.
    pub unacknowledged: Vec<u64>,
}

impl AckCheck {
    /// A check with nothing taken yet.
    pub fn new(patience: &Patience) -> Self {
        AckCheck { patience: patience.clone(), next: HashMap::new(), unacknowledged: Vec::new() }
    }

    /// Takes one entry; panics when a token is out of order.
    pub fn take(&mut self, entry: AckEntry) {
        let producer = (entry.token >> 32) as u32;
        let seq = entry.token as u32;
        let next = self.next.entry(producer).or_insert(0);
        assert_eq!(seq, *next, "producer {producer}: token {seq} came before {next}");
        *next += 1;
        if entry.outcome == AckOutcome::Unacknowledged {
            self.unacknowledged.push(entry.token);
        } else {
            assert_eq!(entry.outcome, AckOutcome::Acked, "token {seq} of producer {producer}");
        }
    }

    /// Tokens of `producer` resolved so far.
    pub fn resolved(&self, producer: u32) -> u32 {
        self.next.get(&producer).copied().unwrap_or(0)
    }

    /// Reads ack entries until every producer in `expected` has all its tokens resolved.
    pub async fn wait_for(&mut self, client: &Client, expected: &[(u32, u32)]) {
        let acks = client.acks();
        while expected.iter().any(|&(p, n)| self.resolved(p) < n) {
            match self.patience.within(acks.recv()).await {
                Some(Ok(Ok(entry))) => self.take(entry),
                Some(Ok(Err(halt))) => panic!("the client halted: {halt}"),
                _ => panic!("acks stalled: have {:?}, expected {expected:?}", self.next),
            }
        }
    }
}
