//! The endpoint list and failover (spec `transport.md` §10, Amendment 4).
//!
//! The reference rules: after `failover_after` failure rotations switch to the next endpoint;
//! after `primary_retry_interval` away, go back to the primary at the next OPEN. This
//! project's rules ([`RetryPolicy`](super::RetryPolicy)): the switch picks among the other
//! endpoints with the seeded generator, avoiding those that failed recently (the clients of a
//! failed intake spread instead of piling onto its neighbour), and the return to the primary
//! is a probe that goes straight back when it fails.

use crate::rng::SplitMix64;
use crate::time::Timestamp;

use super::config::EndpointConfig;

/// How endpoints are chosen (from the configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailoverRules {
    /// Failure rotations before switching endpoint.
    pub failover_after: u32,
    /// Time away from the primary before returning to it; also the longest a failed endpoint
    /// is avoided by a spread failover.
    pub primary_retry_ms: u64,
    /// Pick the next endpoint at random among the others (preferring those that have not
    /// failed since the last regular ack).
    pub spread: bool,
    /// The return to the primary is a probe.
    pub probe_primary: bool,
}

/// The ordered endpoints, the one in use and the failover bookkeeping.
#[derive(Clone, Debug)]
pub struct Endpoints {
    list: Vec<EndpointConfig>,
    current: usize,
    failures: u32,
    away_since: Option<Timestamp>,
    rules: FailoverRules,
    /// When each endpoint last had a failure rotation while in use.
    last_failure: Vec<Option<Timestamp>>,
    /// While the primary is being probed: the endpoint to go back to if the probe fails.
    probe_from: Option<usize>,
}

impl Endpoints {
    /// A validated, non-empty list; starts on the primary (index 0).
    pub fn new(list: Vec<EndpointConfig>, rules: FailoverRules) -> Self {
        let last_failure = vec![None; list.len()];
        Endpoints { list, current: 0, failures: 0, away_since: None, rules, last_failure, probe_from: None }
    }

    /// The endpoint index in use.
    pub fn current(&self) -> usize {
        self.current
    }

    /// Failure rotations since the last regular ack or the last switch (for the tests).
    #[cfg(test)]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the stream being opened or in use probes the primary (it has not had a
    /// regular ack yet).
    pub fn probing(&self) -> bool {
        self.probe_from.is_some()
    }

    /// Settings of endpoint `index`; the primary's for an index outside the list.
    pub fn get(&self, index: usize) -> &EndpointConfig {
        // The list is never empty (validated at construction).
        self.list.get(index).unwrap_or(&self.list[0])
    }

    /// Every endpoint, in priority order.
    pub fn all(&self) -> &[EndpointConfig] {
        &self.list
    }

    /// Number of endpoints.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Replaces one endpoint's (already validated) settings; false when `index` is out of range.
    pub fn replace(&mut self, index: usize, endpoint: EndpointConfig) -> bool {
        match self.list.get_mut(index) {
            Some(slot) => {
                *slot = endpoint;
                self.last_failure[index] = None;
                true
            }
            None => false,
        }
    }

    /// At OPEN: return to the primary once `primary_retry_interval` has passed away from it
    /// (as a probe when the rules say so).
    pub fn select(&mut self, now: Timestamp) -> usize {
        if self.current != 0
            && let Some(since) = self.away_since
            && now.millis_since(since) >= self.rules.primary_retry_ms
        {
            if self.rules.probe_primary {
                self.probe_from = Some(self.current);
            }
            self.current = 0;
            self.failures = 0;
            self.away_since = None;
        }
        self.current
    }

    /// A failure rotation: count it and switch endpoint once `failover_after` is reached, or
    /// at once when `immediate` (an ack timeout under this project's rules) or when a probe of
    /// the primary failed (back to where it came from). Returns whether the endpoint changed.
    /// Draws one number for a spread switch among three or more endpoints.
    pub fn record_failure(&mut self, now: Timestamp, immediate: bool, rng: &mut SplitMix64) -> bool {
        self.last_failure[self.current] = Some(now);
        if let Some(back) = self.probe_from.take() {
            // The primary still fails: no `failover_after` rounds on it, probe again later.
            self.current = back;
            self.failures = 0;
            self.away_since = Some(now);
            return true;
        }
        self.failures = self.failures.saturating_add(1);
        if (self.failures < self.rules.failover_after && !immediate) || self.list.len() < 2 {
            return false;
        }
        let from = self.current;
        self.current =
            if self.rules.spread { self.pick_other(now, rng) } else { (self.current + 1) % self.list.len() };
        self.failures = 0;
        if from == 0 {
            self.away_since = Some(now);
        } else if self.current == 0 {
            self.away_since = None;
        }
        true
    }

    /// A uniformly drawn endpoint other than the current one, among those without a failure
    /// since the last regular ack and within `primary_retry_interval` when there are any (else
    /// among all the others).
    fn pick_other(&self, now: Timestamp, rng: &mut SplitMix64) -> usize {
        let others: Vec<usize> = (0..self.list.len()).filter(|&i| i != self.current).collect();
        let healthy: Vec<usize> = others
            .iter()
            .copied()
            .filter(|&i| {
                self.last_failure[i].is_none_or(|at| now.millis_since(at) >= self.rules.primary_retry_ms)
            })
            .collect();
        let pool = if healthy.is_empty() { &others } else { &healthy };
        let k = match pool.len() {
            // One choice: no draw, so two endpoints behave as in the reference.
            0 | 1 => 0,
            n => rng.uniform(0, n as u64 - 1) as usize,
        };
        pool.get(k).copied().unwrap_or(self.current)
    }

    /// A regular batch was acked: the endpoint works (a probe of the primary succeeded). A
    /// later failover avoids only endpoints that fail after this: one that failed before may
    /// be back (a rolling restart), and avoiding it would pile everyone onto the last one.
    pub fn record_success(&mut self) {
        self.failures = 0;
        self.probe_from = None;
        self.last_failure.fill(None);
    }

    /// `resume`: back to the primary with a clean count.
    pub fn reset(&mut self) {
        self.current = 0;
        self.failures = 0;
        self.away_since = None;
        self.probe_from = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ApiKey;

    fn rules(spread: bool, probe_primary: bool) -> FailoverRules {
        FailoverRules { failover_after: 3, primary_retry_ms: 300_000, spread, probe_primary }
    }

    fn list(n: usize) -> Vec<EndpointConfig> {
        (0..n).map(|i| EndpointConfig::new(format!("e{i}"), 443, ApiKey::new("k"))).collect()
    }

    #[test]
    fn switches_after_three_failures_and_returns_after_the_retry_interval() {
        let mut e = Endpoints::new(list(2), rules(false, false));
        let mut rng = SplitMix64::new(1);
        assert!(!e.record_failure(Timestamp(10), false, &mut rng));
        assert!(!e.record_failure(Timestamp(20), false, &mut rng));
        assert!(e.record_failure(Timestamp(30), false, &mut rng));
        assert_eq!(e.current(), 1);
        assert_eq!(e.select(Timestamp(300_029)), 1);
        assert_eq!(e.select(Timestamp(300_030)), 0);
        assert_eq!(e.failures(), 0);
        assert!(!e.probing());
    }

    #[test]
    fn single_endpoint_never_switches() {
        let mut e = Endpoints::new(list(1), rules(true, true));
        assert!(!e.record_failure(Timestamp(1), true, &mut SplitMix64::new(1)));
        assert_eq!(e.current(), 0);
    }

    #[test]
    fn the_reference_rule_walks_the_ring_without_drawing() {
        let mut e = Endpoints::new(list(4), rules(false, false));
        let mut rng = SplitMix64::new(1);
        let before = rng.clone();
        for expected in [1, 2, 3, 0] {
            for _ in 0..3 {
                e.record_failure(Timestamp(5), false, &mut rng);
            }
            assert_eq!(e.current(), expected);
        }
        assert_eq!(rng, before);
    }

    #[test]
    fn a_spread_failover_covers_every_other_endpoint_and_avoids_recent_failures() {
        let mut seen = [0u32; 4];
        for seed in 0..300 {
            let mut e = Endpoints::new(list(4), rules(true, false));
            assert!(e.record_failure(Timestamp(5), true, &mut SplitMix64::new(seed)));
            seen[e.current()] += 1;
        }
        assert_eq!(seen[0], 0);
        assert!(seen[1..].iter().all(|&n| (70..=130).contains(&n)), "{seen:?}");
        // Endpoint 1 failed a minute ago: a client on 0 then avoids it.
        for seed in 0..100 {
            let mut rng = SplitMix64::new(seed);
            let mut e = Endpoints::new(list(4), rules(true, false));
            e.record_failure(Timestamp(0), true, &mut rng);
            if e.current() != 1 {
                continue;
            }
            e.record_failure(Timestamp(1_000), true, &mut rng);
            assert_ne!(e.current(), 1);
            let from = e.current();
            e.record_failure(Timestamp(60_000), true, &mut rng);
            assert!(e.current() != 1 && e.current() != from, "avoids the failed ones");
        }
    }

    #[test]
    fn a_failed_probe_of_the_primary_goes_straight_back_and_probes_again_later() {
        let mut e = Endpoints::new(list(3), rules(true, true));
        let mut rng = SplitMix64::new(4);
        assert!(e.record_failure(Timestamp(0), true, &mut rng));
        let away = e.current();
        assert_eq!(e.select(Timestamp(300_000)), 0);
        assert!(e.probing());
        assert!(e.record_failure(Timestamp(310_000), false, &mut rng), "one failure is enough");
        assert_eq!((e.current(), e.failures(), e.probing()), (away, 0, false));
        assert_eq!(e.select(Timestamp(609_999)), away);
        assert_eq!(e.select(Timestamp(610_000)), 0);
        e.record_success();
        assert!(!e.probing());
        assert!(!e.record_failure(Timestamp(700_000), false, &mut rng), "no longer a probe");
        assert_eq!(e.current(), 0);
    }
}
