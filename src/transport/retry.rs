//! How the Transport spreads its retries and when it leaves an intake (spec Amendments 3 and
//! 4): the delay before the next attempt after a failure rotation, the failover choice, the
//! per-stream ack timeout, and the settings that choose between this project's policy and the
//! reference agent's (`transport.md` §9, §10 as written).
//!
//! Why: after a failure shared by a fleet (every intake down, one intake restarting) every
//! client fails within the same second. With the reference backoff they all retry 1–2 s later
//! (the whole fleet in one second), grow their backoff to 64–120 s while the intakes are down,
//! and so come back up to two minutes after them. This policy draws the first retry from a
//! wider window (full jitter), keeps later retries short and jittered while the failure is
//! young (a recovered intake is noticed within one short interval), and lets an intake that
//! is up but busy say when to come back (`grpc-retry-pushback-ms`). An intake that is slow
//! is left at the moment it is least likely to be writing one of the client's batches (just
//! after an ack), and the clients of a slow intake give up at different moments (jittered ack
//! timeout), so that leaving it re-sends as little as possible.

use std::time::Duration;

use crate::error::ConfigError;
use crate::rng::SplitMix64;
use crate::time::duration_ms;

use super::backoff::Backoff;
use super::types::Failure;

/// The retry rules of a [`TransportConfig`](super::TransportConfig).
///
/// [`RetryPolicy::default`] is this project's; [`RetryPolicy::reference`] keeps the rules of
/// `transport.md` §9 and §10 as written (the reference agent's backoff, failover to the next
/// endpoint, return to the primary assumed), so a comparison with the reference stays honest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry after a working stream fails (`nb_errors` = 1) is drawn uniformly from
    /// `[0, window]` (capped by `backoff_max`) instead of `[base, 2·base]`: a failure shared
    /// by many clients spreads their reconnects over the window (6 s). `None`: §9.1.
    pub first_retry_window: Option<Duration>,
    /// While the failures have lasted less than `outage_retry_period`, every later retry is
    /// drawn uniformly from `[max/2, max]` with this `max` (capped by `backoff_max`) instead
    /// of growing to `backoff_max`: a recovered intake is noticed within `max` (12 s).
    /// `None`: §9.1.
    pub outage_retry_max: Option<Duration>,
    /// How long the short retries of `outage_retry_max` last, counted from the first failure
    /// after the last working stream; afterwards the backoff grows as in §9.1 (300 s).
    pub outage_retry_period: Duration,
    /// Failover picks among the other endpoints with the seeded generator, preferring those
    /// that have not failed within `primary_retry_interval`, instead of always the next one:
    /// the clients of a failed intake spread over the others (true).
    pub spread_failover: bool,
    /// An ack timeout (or leaving a lagging intake) switches endpoint at once instead of
    /// counting towards `failover_after`: the endpoint did not keep up for a whole timeout
    /// (true).
    pub ack_timeout_fails_over: bool,
    /// Leave an intake that acknowledges a batch more than `ack_timeout` after it was sent,
    /// right after that ack, while batches are still outstanding (true): it is up but cannot
    /// keep up, and just after it wrote one of ours is when it is least likely to be writing
    /// another (which, written and then sent again elsewhere, would be a duplicate). Needs
    /// `ack_timeout`.
    pub leave_lagging_intake: bool,
    /// The return to the primary after `primary_retry_interval` is a probe: if its stream
    /// fails before a regular batch is acked, the core goes straight back to the endpoint it
    /// came from (and probes again one interval later) instead of counting `failover_after`
    /// failures on the primary (true).
    pub probe_primary: bool,
    /// Honour an intake's `grpc-retry-pushback-ms` (on any retried status, typically
    /// `RESOURCE_EXHAUSTED` from admission control): the next attempt waits that long, within
    /// `[pushback_min, pushback_max]`, and the endpoint is not counted as failing (true).
    pub honour_pushback: bool,
    /// Shortest delay a pushback may set (100 ms), so a pushback of 0 cannot make a loop.
    pub pushback_min: Duration,
    /// Longest delay a pushback may set (60 s); a negative pushback ("do not retry") means
    /// this long.
    pub pushback_max: Duration,
    /// Each stream's ack timeout is `ack_timeout` less a seeded jitter of up to this percent
    /// (50; 0–100), drawn when it opens: the clients of a slow intake then give up one by one
    /// instead of in the order their batches queue there, which would make each one leave
    /// just as the intake writes its oldest batch (written, never acknowledged, re-sent).
    pub ack_timeout_jitter_percent: u8,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_retry_window: Some(Duration::from_secs(6)),
            outage_retry_max: Some(Duration::from_secs(12)),
            outage_retry_period: Duration::from_secs(300),
            spread_failover: true,
            ack_timeout_fails_over: true,
            leave_lagging_intake: true,
            probe_primary: true,
            honour_pushback: true,
            pushback_min: Duration::from_millis(100),
            pushback_max: Duration::from_secs(60),
            ack_timeout_jitter_percent: 50,
        }
    }
}

impl RetryPolicy {
    /// The rules of `transport.md` §9 and §10 as written: §9.1 backoff from the first retry,
    /// failover to the next endpoint after `failover_after` failures whatever their cause,
    /// return to the primary assumed, pushback ignored.
    pub fn reference() -> Self {
        RetryPolicy {
            first_retry_window: None,
            outage_retry_max: None,
            spread_failover: false,
            ack_timeout_fails_over: false,
            leave_lagging_intake: false,
            probe_primary: false,
            honour_pushback: false,
            ack_timeout_jitter_percent: 0,
            ..RetryPolicy::default()
        }
    }

    /// Checks the settings; the error names the setting (`retry.<name>`) and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("retry.first_retry_window", self.first_retry_window),
            ("retry.outage_retry_max", self.outage_retry_max),
            ("retry.outage_retry_period", Some(self.outage_retry_period)),
            ("retry.pushback_min", Some(self.pushback_min)),
            ("retry.pushback_max", Some(self.pushback_max)),
        ];
        for (name, d) in positive {
            if d.is_some_and(|d| d.as_millis() == 0) {
                return Err(ConfigError::new(name, "must be at least 1 ms (None switches the rule off)"));
            }
        }
        if self.pushback_min > self.pushback_max {
            return Err(ConfigError::new("retry.pushback_min", "must not exceed retry.pushback_max"));
        }
        if self.ack_timeout_jitter_percent > 100 {
            return Err(ConfigError::new("retry.ack_timeout_jitter_percent", "must be between 0 and 100"));
        }
        Ok(())
    }
}

/// What set the delay of a retry (for tests and logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDelayKind {
    /// The intake's `grpc-retry-pushback-ms`, within bounds.
    Pushback,
    /// The first retry of a failure streak, full jitter over `first_retry_window`.
    First,
    /// A later retry while the streak is younger than `outage_retry_period`.
    Outage,
    /// The §9.1 backoff.
    Backoff,
}

/// The policy in milliseconds, as the core uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RetryTiming {
    first_window_ms: Option<u64>,
    outage_max_ms: Option<u64>,
    outage_period_ms: u64,
    pushback: Option<(u64, u64)>,
    backoff_max_ms: u64,
    pub(super) ack_timeout_jitter_percent: u64,
}

/// Why the core rotates with failure: what the delay rules need to know of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct RetryCause {
    /// The failure carried `grpc-retry-pushback-ms` (`u64::MAX` for a negative one).
    pub pushback_ms: Option<u64>,
    /// The endpoint did not keep up: an ack timeout, or an ack that came too late.
    pub endpoint_lags: bool,
}

impl RetryCause {
    /// The cause of a driver-reported failure.
    pub(super) fn of(failure: &Failure) -> Self {
        RetryCause { pushback_ms: failure.retry_pushback_ms(), endpoint_lags: false }
    }
}

impl RetryTiming {
    pub(super) fn new(policy: &RetryPolicy, backoff_max: Duration) -> Self {
        RetryTiming {
            first_window_ms: policy.first_retry_window.map(duration_ms),
            outage_max_ms: policy.outage_retry_max.map(duration_ms),
            outage_period_ms: duration_ms(policy.outage_retry_period),
            pushback: policy
                .honour_pushback
                .then(|| (duration_ms(policy.pushback_min), duration_ms(policy.pushback_max))),
            backoff_max_ms: duration_ms(backoff_max),
            ack_timeout_jitter_percent: u64::from(policy.ack_timeout_jitter_percent),
        }
    }

    /// The pushback delay to use for `cause`, when the policy honours pushback and the
    /// failure carried one: the intake's value within the bounds.
    pub(super) fn pushback_delay(&self, cause: &RetryCause) -> Option<u64> {
        let (min, max) = self.pushback?;
        cause.pushback_ms.map(|ms| ms.clamp(min, max))
    }

    /// The delay before the next attempt after a failure rotation: `nb_errors` is the error
    /// count including this failure, `streak_ms` how long ago the streak's first failure
    /// was. Draws at most one number.
    pub(super) fn delay_ms(
        &self,
        backoff: &Backoff,
        nb_errors: u32,
        streak_ms: u64,
        cause: &RetryCause,
        rng: &mut SplitMix64,
    ) -> (u64, RetryDelayKind) {
        if let Some(delay) = self.pushback_delay(cause) {
            return (delay, RetryDelayKind::Pushback);
        }
        if nb_errors <= 1
            && let Some(window) = self.first_window_ms
        {
            return (rng.uniform(0, window.min(self.backoff_max_ms)), RetryDelayKind::First);
        }
        if let Some(max) = self.outage_max_ms
            && streak_ms < self.outage_period_ms
        {
            // Flat rather than growing: a second wave right after the first one would pile
            // onto it, and a long wait would miss the intakes' return.
            let max = max.min(self.backoff_max_ms);
            return (rng.uniform(max / 2, max), RetryDelayKind::Outage);
        }
        (backoff.delay_ms(nb_errors, rng), RetryDelayKind::Backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(policy: &RetryPolicy) -> RetryTiming {
        RetryTiming::new(policy, Duration::from_secs(120))
    }

    #[test]
    fn ours_spreads_the_first_retry_then_stays_short_during_a_young_outage() {
        let t = timing(&RetryPolicy::default());
        let b = Backoff::new(1_000, 2, 120_000);
        let mut rng = SplitMix64::new(3);
        let none = RetryCause::default();
        let firsts: Vec<u64> = (0..2_000).map(|_| t.delay_ms(&b, 1, 0, &none, &mut rng).0).collect();
        assert!(firsts.iter().all(|&d| d <= 6_000));
        assert!(firsts.iter().any(|&d| d < 500) && firsts.iter().any(|&d| d > 5_500), "full jitter");
        for n in 2..=7 {
            let (d, kind) = t.delay_ms(&b, n, 299_999, &none, &mut rng);
            assert_eq!(kind, RetryDelayKind::Outage);
            assert!((6_000..=12_000).contains(&d), "n={n}: {d}");
        }
        assert_eq!(t.delay_ms(&b, 7, 300_000, &none, &mut rng), (120_000, RetryDelayKind::Backoff));
        let (d, kind) = t.delay_ms(&b, 3, 300_000, &none, &mut rng);
        assert!((4_000..=8_000).contains(&d) && kind == RetryDelayKind::Backoff);
    }

    #[test]
    fn the_reference_policy_is_the_spec_backoff_and_ignores_pushback() {
        let t = timing(&RetryPolicy::reference());
        let b = Backoff::new(1_000, 2, 120_000);
        let (mut ours, mut spec) = (SplitMix64::new(9), SplitMix64::new(9));
        let pushed = RetryCause { pushback_ms: Some(5), endpoint_lags: false };
        for n in 1..=8 {
            let (d, kind) = t.delay_ms(&b, n, 0, &pushed, &mut ours);
            assert_eq!((d, kind), (b.delay_ms(n, &mut spec), RetryDelayKind::Backoff));
        }
        assert_eq!(ours, spec, "the same draws as §9.1");
    }

    #[test]
    fn pushback_sets_the_delay_within_bounds_and_draws_nothing() {
        let t = timing(&RetryPolicy::default());
        let b = Backoff::new(1_000, 2, 120_000);
        let mut rng = SplitMix64::new(1);
        let before = rng.clone();
        let cause = |ms| RetryCause { pushback_ms: Some(ms), endpoint_lags: false };
        assert_eq!(t.delay_ms(&b, 4, 0, &cause(2_500), &mut rng), (2_500, RetryDelayKind::Pushback));
        assert_eq!(t.delay_ms(&b, 1, 0, &cause(0), &mut rng).0, 100, "at least pushback_min");
        assert_eq!(t.delay_ms(&b, 1, 0, &cause(u64::MAX), &mut rng).0, 60_000, "at most pushback_max");
        assert_eq!(rng, before);
    }

    #[test]
    fn short_windows_follow_a_small_backoff_max() {
        let t = RetryTiming::new(&RetryPolicy::default(), Duration::from_millis(200));
        let b = Backoff::new(20, 2, 200);
        let mut rng = SplitMix64::new(5);
        for n in 1..=7 {
            let (d, _) = t.delay_ms(&b, n, 0, &RetryCause::default(), &mut rng);
            assert!(d <= 200, "n={n}: {d}");
        }
    }

    #[test]
    fn invalid_settings_are_named() {
        let zero = RetryPolicy { outage_retry_max: Some(Duration::ZERO), ..RetryPolicy::default() };
        assert_eq!(zero.validate().unwrap_err().setting, "retry.outage_retry_max");
        let inverted = RetryPolicy { pushback_min: Duration::from_secs(61), ..RetryPolicy::default() };
        assert_eq!(inverted.validate().unwrap_err().setting, "retry.pushback_min");
        assert!(RetryPolicy::reference().validate().is_ok());
    }
}
