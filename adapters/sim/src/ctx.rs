//! What the clients and intakes of a run share: the event queue, the seeded randomness of the
//! links and the measurements.

use stateful_logs::rng::SplitMix64;

use crate::config::LinkConfig;
use crate::queue::EventQueue;
use crate::report::{Counters, Series};

/// What the clients and intakes share: the queue, the seeded randomness of the links and the
/// measurements.
pub(crate) struct Ctx {
    pub queue: EventQueue,
    pub counters: Counters,
    pub series: Series,
    rng: SplitMix64,
    link: LinkConfig,
}

impl Ctx {
    /// An empty context whose links draw from `rng`.
    pub(crate) fn new(queue: EventQueue, rng: SplitMix64, link: LinkConfig) -> Ctx {
        Ctx { queue, counters: Counters::default(), series: Series::default(), rng, link }
    }

    /// One message's one-way delay on a link whose fixed latency is `base_ms`.
    pub(crate) fn delay(&mut self, base_ms: u64) -> u64 {
        let jitter = self.rng.uniform(0, self.link.jitter_ms);
        let lost = self.rng.uniform(0, 999) < self.link.loss_per_mille;
        base_ms + jitter + if lost { self.link.retransmit_ms } else { 0 }
    }
}
