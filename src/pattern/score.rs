//! The eviction score of `encoding.md` §9.9, shared by patterns and dictionary entries.

use std::cmp::Ordering;

use crate::Timestamp;

const MS_PER_DAY: f64 = 86_400_000.0;
const MS_PER_HOUR: f64 = 3_600_000.0;

/// The eviction score of an item: higher means more worth keeping.
///
/// `frequency / (1 + age_days)^decay × (1 + 1 / (1 + hours_since_access / 24))`, in `f64`,
/// where `frequency` is the number of uses, `age_days` the time since `created` and
/// `hours_since_access` the time since `last_access` (both 0 when `now` is earlier).
pub fn eviction_score(
    uses: u64,
    created: Timestamp,
    last_access: Timestamp,
    now: Timestamp,
    decay: f64,
) -> f64 {
    // u64 → f64 rounds above 2^53; scores only need to order items roughly.
    let frequency = uses as f64;
    let age_days = now.millis_since(created) as f64 / MS_PER_DAY;
    let hours_since_access = now.millis_since(last_access) as f64 / MS_PER_HOUR;
    frequency / (1.0 + age_days).powf(decay) * (1.0 + 1.0 / (1.0 + hours_since_access / 24.0))
}

/// Eviction order: lowest score first, ties broken by the smaller id (improvement, §9.9).
///
/// Uses `f64::total_cmp`, so the order is total and deterministic even for NaN scores (which
/// the score formula does not produce for finite, non-negative decay factors).
pub fn eviction_order(a: (f64, u64), b: (f64, u64)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Sorts `(score, id)` candidates into eviction order (first = evicted first).
pub fn sort_for_eviction(candidates: &mut [(f64, u64)]) {
    candidates.sort_by(|a, b| eviction_order(*a, *b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_item_scores_twice_its_uses() {
        let t = Timestamp(1_000);
        assert_eq!(eviction_score(3, t, t, t, 0.5), 6.0);
    }

    #[test]
    fn score_follows_the_formula() {
        let created = Timestamp(0);
        let last = Timestamp(3 * 86_400_000);
        let now = Timestamp(3 * 86_400_000 + 48 * 3_600_000);
        // age 5 days, 48 hours since access.
        let expected = 10.0 / 6f64.powf(0.5) * (1.0 + 1.0 / 3.0);
        assert!((eviction_score(10, created, last, now, 0.5) - expected).abs() < 1e-12);
    }

    #[test]
    fn older_and_staler_items_score_lower() {
        let now = Timestamp(10 * 86_400_000);
        let recent = eviction_score(5, Timestamp(9 * 86_400_000), now, now, 0.5);
        let old = eviction_score(5, Timestamp(0), now, now, 0.5);
        let stale = eviction_score(5, Timestamp(9 * 86_400_000), Timestamp(9 * 86_400_000), now, 0.5);
        assert!(old < recent);
        assert!(stale < recent);
    }

    #[test]
    fn a_clock_going_backwards_counts_as_no_time() {
        let score = eviction_score(2, Timestamp(100), Timestamp(100), Timestamp(50), 0.5);
        assert_eq!(score, 4.0);
    }

    #[test]
    fn eviction_order_is_lowest_score_then_smaller_id() {
        let mut candidates = vec![(2.0, 1), (1.0, 9), (1.0, 3), (0.5, 7)];
        sort_for_eviction(&mut candidates);
        assert_eq!(candidates, vec![(0.5, 7), (1.0, 3), (1.0, 9), (2.0, 1)]);
    }
}
