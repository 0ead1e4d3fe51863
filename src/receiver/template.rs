//! Patterns: validation of a definition and template insertion (`wire.md` §9.2, §9.4).

use super::batch::Budget;
use super::error::Violation;
use super::state::Pattern;

/// Checks a `PatternDefine`: id ≥ 1, offsets non-decreasing, within the template and on UTF-8
/// character boundaries. (`v1`'s `param_count` is checked by the caller.)
pub(super) fn validate_pattern(id: u64, template: &str, pos_list: &[u32]) -> Result<(), Violation> {
    if id == 0 {
        return Err(Violation::PatternIdZero);
    }
    let mut previous = 0u32;
    for (index, &offset) in pos_list.iter().enumerate() {
        if offset < previous {
            return Err(Violation::PosListDecreasing { id, index });
        }
        previous = offset;
        let at = offset as usize;
        if at > template.len() {
            return Err(Violation::OffsetBeyondTemplate { id, offset, len: template.len() });
        }
        if !template.is_char_boundary(at) {
            return Err(Violation::OffsetSplitsCharacter { id, offset });
        }
    }
    Ok(())
}

/// Appends `T[0..p0] ‖ r(v0) ‖ T[p0..p1] ‖ … ‖ r(vk-1) ‖ T[pk-1..]` to `out`, rendering each
/// value with `render`, and stops as soon as the text passes the batch's `budget`.
pub(super) fn insert<V>(
    id: u64,
    pattern: &Pattern,
    values: &[V],
    budget: Budget,
    out: &mut String,
    mut render: impl FnMut(&V, &mut String) -> Result<(), Violation>,
) -> Result<(), Violation> {
    if values.len() != pattern.pos_list.len() {
        return Err(Violation::ValueCountMismatch {
            id,
            expected: pattern.pos_list.len(),
            got: values.len(),
        });
    }
    let template = pattern.template.as_str();
    let mut from = 0usize;
    for (value, &offset) in values.iter().zip(&pattern.pos_list) {
        let to = offset as usize;
        // Validated at definition; `get` keeps a slip from ever panicking.
        out.push_str(template.get(from..to).unwrap_or_default());
        render(value, out)?;
        budget.check_wire_text(out.len())?;
        from = to;
    }
    out.push_str(template.get(from..).unwrap_or_default());
    budget.check_wire_text(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMIT: Budget = Budget { remaining: u64::MAX, limit: u64::MAX };

    fn pattern(template: &str, pos_list: &[u32]) -> Pattern {
        Pattern { template: template.into(), pos_list: pos_list.to_vec() }
    }

    #[test]
    fn values_are_inserted_at_byte_offsets_including_adjacent_and_end() {
        let p = pattern("user  logged in from ", &[5, 21]);
        let mut out = String::new();
        insert(1, &p, &["alice", "10.0.0.7"], NO_LIMIT, &mut out, |v, o| {
            o.push_str(v);
            Ok(())
        })
        .unwrap();
        assert_eq!(out, "user alice logged in from 10.0.0.7");
        let mut out = String::new();
        insert(2, &pattern("é:", &[0, 0, 2, 3]), &["a", "b", "c", "d"], NO_LIMIT, &mut out, |v, o| {
            o.push_str(v);
            Ok(())
        })
        .unwrap();
        assert_eq!(out, "abéc:d");
    }

    #[test]
    fn value_count_must_match_the_wildcards() {
        let p = pattern("a b", &[1, 2]);
        let err = insert(4, &p, &["x"], NO_LIMIT, &mut String::new(), |_, _| Ok(())).unwrap_err();
        assert_eq!(err, Violation::ValueCountMismatch { id: 4, expected: 2, got: 1 });
    }

    #[test]
    fn insertion_stops_once_the_text_must_pass_the_budget() {
        let p = pattern("", &[0, 0, 0]);
        let budget = Budget { remaining: 5, limit: 99 };
        let mut out = String::new();
        let long = "a".repeat(30);
        let err = insert(1, &p, &[long.as_str(), "b", "c"], budget, &mut out, |v, o| {
            o.push_str(v);
            Ok(())
        });
        assert_eq!(err, Err(Violation::DeliveredBytesExceeded(99)));
        assert_eq!(out, long, "stopped after the first value");
        // 20 bytes of wire text may unescape to 5 bytes: still within the budget.
        let mut out = String::new();
        insert(1, &pattern("", &[0]), &["\u{10FFFF}".repeat(5)], budget, &mut out, |v, o| {
            o.push_str(v);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn definitions_are_validated() {
        assert_eq!(validate_pattern(0, "", &[]), Err(Violation::PatternIdZero));
        assert_eq!(
            validate_pattern(1, "abc", &[2, 1]),
            Err(Violation::PosListDecreasing { id: 1, index: 1 })
        );
        assert_eq!(
            validate_pattern(1, "abc", &[4]),
            Err(Violation::OffsetBeyondTemplate { id: 1, offset: 4, len: 3 })
        );
        assert_eq!(
            validate_pattern(1, "é", &[1]),
            Err(Violation::OffsetSplitsCharacter { id: 1, offset: 1 })
        );
        assert_eq!(validate_pattern(1, "é", &[0, 2, 2]), Ok(()));
    }
}
