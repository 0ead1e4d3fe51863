//! Failure backoff with injected randomness (spec `transport.md` §9.1).
//!
//! Growth is by powers of two from `backoff_base`; `backoff_factor` only sets the lower bound of
//! the jitter window; once `base · 2^n` passes `backoff_max` the delay is exactly the maximum
//! (and no random number is drawn).

use crate::rng::SplitMix64;

/// The backoff parameters in integer milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    factor: u64,
    max_ms: u64,
    max_errors: u32,
}

impl Backoff {
    /// Parameters as configured; `factor` 0 is treated as 1 (validation refuses it anyway).
    pub fn new(base_ms: u64, factor: u32, max_ms: u64) -> Self {
        Backoff { base_ms, factor: u64::from(factor.max(1)), max_ms, max_errors: max_errors(base_ms, max_ms) }
    }

    /// The error-count cap: 1 + the largest `k ≥ 0` with `base · 2^k ≤ max`.
    pub fn max_errors(&self) -> u32 {
        self.max_errors
    }

    /// The delay after `nb_errors` failures: 0 for none; `max` once `base · 2^n` exceeds it;
    /// otherwise a uniform integer in `[floor(t / factor), t]` with `t = base · 2^n`.
    pub fn delay_ms(&self, nb_errors: u32, rng: &mut SplitMix64) -> u64 {
        if nb_errors == 0 {
            return 0;
        }
        let t = pow2_times(self.base_ms, nb_errors);
        if t > self.max_ms {
            return self.max_ms;
        }
        rng.uniform(t / self.factor, t)
    }
}

/// `base · 2^n`, saturating at `u64::MAX`.
fn pow2_times(base: u64, n: u32) -> u64 {
    if base == 0 {
        return 0;
    }
    if n >= 64 || base.leading_zeros() < n {
        return u64::MAX;
    }
    base << n
}

fn max_errors(base_ms: u64, max_ms: u64) -> u32 {
    if base_ms == 0 {
        // Unreachable with a validated config (base ≥ 1 ms); keep the count bounded anyway.
        return 1;
    }
    let mut k = 0u32;
    while k < 63 && pow2_times(base_ms, k + 1) <= max_ms {
        k += 1;
    }
    1 + k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_seven_errors_and_the_spec_windows() {
        let b = Backoff::new(1_000, 2, 120_000);
        assert_eq!(b.max_errors(), 7);
        let mut rng = SplitMix64::new(1);
        let windows = [(1, 1_000, 2_000), (2, 2_000, 4_000), (3, 4_000, 8_000), (6, 32_000, 64_000)];
        for (n, lo, hi) in windows {
            for _ in 0..200 {
                let d = b.delay_ms(n, &mut rng);
                assert!((lo..=hi).contains(&d), "n={n}: {d} not in {lo}..={hi}");
            }
        }
        assert_eq!(b.delay_ms(7, &mut rng), 120_000);
        assert_eq!(b.delay_ms(0, &mut rng), 0);
    }

    #[test]
    fn capped_delay_draws_no_random_number() {
        let b = Backoff::new(1_000, 2, 120_000);
        let mut rng = SplitMix64::new(9);
        let before = rng.clone();
        assert_eq!(b.delay_ms(7, &mut rng), 120_000);
        assert_eq!(rng, before);
    }

    #[test]
    fn max_errors_when_base_equals_max_is_one() {
        assert_eq!(Backoff::new(5, 2, 5).max_errors(), 1);
        assert_eq!(Backoff::new(1, 2, u64::MAX).max_errors(), 64);
    }

    #[test]
    fn factor_sets_only_the_lower_bound() {
        let b = Backoff::new(1_000, 4, 120_000);
        let mut rng = SplitMix64::new(3);
        for _ in 0..200 {
            let d = b.delay_ms(2, &mut rng);
            assert!((1_000..=4_000).contains(&d));
        }
    }
}
