//! The endpoint list and failover (spec `transport.md` §10).

use crate::time::Timestamp;

use super::config::EndpointConfig;

/// The ordered endpoints, the one in use and the failover bookkeeping.
#[derive(Clone, Debug)]
pub struct Endpoints {
    list: Vec<EndpointConfig>,
    current: usize,
    failures: u32,
    away_since: Option<Timestamp>,
    failover_after: u32,
    primary_retry_ms: u64,
}

impl Endpoints {
    /// A validated, non-empty list; starts on the primary (index 0).
    pub fn new(list: Vec<EndpointConfig>, failover_after: u32, primary_retry_ms: u64) -> Self {
        Endpoints { list, current: 0, failures: 0, away_since: None, failover_after, primary_retry_ms }
    }

    /// The endpoint index in use.
    pub fn current(&self) -> usize {
        self.current
    }

    /// Failure rotations since the last regular ack or the last switch.
    pub fn failures(&self) -> u32 {
        self.failures
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
                true
            }
            None => false,
        }
    }

    /// At OPEN: return to the primary once `primary_retry_interval` has passed away from it.
    pub fn select(&mut self, now: Timestamp) -> usize {
        if self.current != 0
            && let Some(since) = self.away_since
            && now.millis_since(since) >= self.primary_retry_ms
        {
            self.current = 0;
            self.failures = 0;
            self.away_since = None;
        }
        self.current
    }

    /// A failure rotation: count it and switch endpoint once `failover_after` is reached.
    /// Returns whether a failover happened.
    pub fn record_failure(&mut self, now: Timestamp) -> bool {
        self.failures = self.failures.saturating_add(1);
        if self.failures < self.failover_after || self.list.len() < 2 {
            return false;
        }
        let from = self.current;
        self.current = (self.current + 1) % self.list.len();
        self.failures = 0;
        if from == 0 {
            self.away_since = Some(now);
        } else if self.current == 0 {
            self.away_since = None;
        }
        true
    }

    /// A regular batch was acked: the endpoint works.
    pub fn record_success(&mut self) {
        self.failures = 0;
    }

    /// `resume`: back to the primary with a clean count.
    pub fn reset(&mut self) {
        self.current = 0;
        self.failures = 0;
        self.away_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ApiKey;

    fn two() -> Endpoints {
        let e = |h: &str| EndpointConfig::new(h, 443, ApiKey::new("k"));
        Endpoints::new(vec![e("a"), e("b")], 3, 300_000)
    }

    #[test]
    fn switches_after_three_failures_and_returns_after_the_retry_interval() {
        let mut e = two();
        assert!(!e.record_failure(Timestamp(10)));
        assert!(!e.record_failure(Timestamp(20)));
        assert!(e.record_failure(Timestamp(30)));
        assert_eq!(e.current(), 1);
        assert_eq!(e.select(Timestamp(300_029)), 1);
        assert_eq!(e.select(Timestamp(300_030)), 0);
        assert_eq!(e.failures(), 0);
    }

    #[test]
    fn single_endpoint_never_switches() {
        let mut e = Endpoints::new(vec![EndpointConfig::new("a", 1, ApiKey::new("k"))], 1, 1);
        assert!(!e.record_failure(Timestamp(1)));
        assert_eq!(e.current(), 0);
    }
}
