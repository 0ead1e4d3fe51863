//! Per-batch delta state (`wire.md` §9.3): reset at the start of every batch.

use super::error::Violation;

/// `v2` id sentinel: none.
pub(super) const NONE_ID: u64 = 1;

/// `last_ts + delta`, checked; the result becomes `last_ts`.
pub(super) fn advance_timestamp(last_ts: &mut i64, delta: i64) -> Result<i64, Violation> {
    let ts = last_ts.checked_add(delta).ok_or(Violation::TimestampOverflow { base: *last_ts, delta })?;
    *last_ts = ts;
    Ok(ts)
}

/// A `DeltaEncodingSync` timestamp as the new base (0 leaves it unchanged).
pub(super) fn sync_timestamp(last_ts: &mut i64, timestamp: u64) -> Result<(), Violation> {
    if timestamp != 0 {
        *last_ts = i64::try_from(timestamp).map_err(|_| Violation::SyncTimestampTooLarge(timestamp))?;
    }
    Ok(())
}

/// `0` → the previous pattern (which must be set); otherwise the id, which becomes previous.
pub(super) fn resolve_pattern(previous: &mut Option<u64>, id: u64) -> Result<u64, Violation> {
    resolve_sentinel(previous, id, "pattern_id")
}

/// A `v2` `status`/`service`/`tags`/`json_schema_id` field: `0` → previous (which must be
/// set); `1` → none; `v ≥ 2` → `v`. The result (1 for none) becomes previous.
pub(super) fn resolve_sentinel(
    previous: &mut Option<u64>,
    id: u64,
    field: &'static str,
) -> Result<u64, Violation> {
    if id == 0 {
        return previous.ok_or(Violation::NoPreviousValue { field });
    }
    *previous = Some(id);
    Ok(id)
}

/// Delta state of one `v2` batch.
#[derive(Debug, Default)]
pub(super) struct V2Delta {
    pub(super) last_ts: i64,
    pub(super) pattern: Option<u64>,
    pub(super) status: Option<u64>,
    pub(super) service: Option<u64>,
    pub(super) tags: Option<u64>,
    pub(super) schema: Option<u64>,
}

/// Delta state of one `v1` batch (only the previous pattern is used when delta mode is off).
#[derive(Debug, Default)]
pub(super) struct V1Delta {
    pub(super) last_ts: i64,
    pub(super) pattern: Option<u64>,
    /// The previous log's tags (`None` = no tags, also the initial value).
    pub(super) tags: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_accumulate_and_overflow_is_refused() {
        let mut last = 0;
        assert_eq!(advance_timestamp(&mut last, 100), Ok(100));
        assert_eq!(advance_timestamp(&mut last, -250), Ok(-150));
        let mut last = i64::MAX - 1;
        assert!(advance_timestamp(&mut last, 2).is_err());
        assert_eq!(last, i64::MAX - 1);
        assert!(sync_timestamp(&mut last, u64::MAX).is_err());
        sync_timestamp(&mut last, 0).unwrap();
        assert_eq!(last, i64::MAX - 1);
        sync_timestamp(&mut last, 5).unwrap();
        assert_eq!(last, 5);
    }

    #[test]
    fn sentinels_zero_is_previous_and_one_becomes_previous() {
        let mut prev = None;
        assert_eq!(
            resolve_sentinel(&mut prev, 0, "status"),
            Err(Violation::NoPreviousValue { field: "status" })
        );
        assert_eq!(resolve_sentinel(&mut prev, 1, "status"), Ok(NONE_ID));
        assert_eq!(resolve_sentinel(&mut prev, 0, "status"), Ok(NONE_ID));
        assert_eq!(resolve_sentinel(&mut prev, 7, "status"), Ok(7));
        assert_eq!(resolve_sentinel(&mut prev, 0, "status"), Ok(7));
        let mut pattern = None;
        assert!(resolve_pattern(&mut pattern, 0).is_err());
        assert_eq!(resolve_pattern(&mut pattern, 3), Ok(3));
        assert_eq!(resolve_pattern(&mut pattern, 0), Ok(3));
    }
}
