//! Property tests of the pattern store: losslessness (`encoding.md` §9.2) and determinism.

use proptest::prelude::*;
use stateful_logs::Timestamp;
use stateful_logs::pattern::{Change, PatternConfig, PatternStore};

/// Template insertion (`wire.md` §9.4).
fn insert(template: &str, pos_list: &[u32], values: &[&str]) -> String {
    assert_eq!(pos_list.len(), values.len());
    let mut text = String::new();
    let mut previous = 0;
    for (&pos, value) in pos_list.iter().zip(values) {
        text.push_str(&template[previous..pos as usize]);
        text.push_str(value);
        previous = pos as usize;
    }
    text.push_str(&template[previous..]);
    text
}

/// Lines that share structure, so they land in the same clusters and widen patterns.
fn similar_line() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec!["user", "job", "GET", "INFO", "error", "blk_1", "héllo", "x"]);
    let number = prop::sample::select(vec!["1", "42", "200", "10.0.0.1", "2024-01-02", "12:30:00", "-7"]);
    let sep = prop::sample::select(vec![" ", "  ", "\t", "=", ": ", "/", ", "]);
    prop::collection::vec((word, sep.clone(), number, sep), 1..5).prop_map(|parts| {
        parts.into_iter().map(|(w, s1, n, s2)| format!("{w}{s1}{n}{s2}")).collect::<String>()
    })
}

/// Lines of two shapes with few distinct values, so that a log often matches a pattern that
/// the next log widens.
fn repeating_line() -> impl Strategy<Value = String> {
    let n = prop::sample::select(vec!["1", "2", "30"]);
    let w = prop::sample::select(vec!["a", "b", "c.d"]);
    (n, w, any::<bool>()).prop_map(|(n, w, first)| match first {
        true => format!("user {n} logged in from {w}"),
        false => format!("job {w} took {n} ms"),
    })
}

/// Keeps failing cases next to this file (integration tests have no `lib.rs` for proptest's
/// default location).
fn persisted() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/pattern_lossless.proptest-regressions"
        )))),
        ..ProptestConfig::default()
    }
}

fn config() -> impl Strategy<Value = PatternConfig> {
    let merging = (prop::option::of(0usize..8), 1u32..4, 0usize..4);
    ((any::<bool>(), 0usize..4, 0usize..4, 0usize..4), merging).prop_map(
        |((protect, cardinality, max_per_cluster, budget), (gap, threshold, sketches))| PatternConfig {
            first_word_protection: protect,
            first_word_max_cardinality: cardinality,
            max_patterns_per_cluster: max_per_cluster,
            pattern_scan_budget: budget,
            value_merge_gap: gap,
            admission_threshold: threshold,
            max_sketches: sketches,
            hash_seed: 0,
        },
    )
}

proptest! {
    #![proptest_config(persisted())]

    /// Invariant: for arbitrary text, the template with the values inserted at `pos_list`
    /// gives back exactly the text, under any configuration.
    #[test]
    fn template_plus_values_rebuild_arbitrary_lines(config in config(), lines in prop::collection::vec(any::<String>(), 1..20)) {
        let mut store = PatternStore::new(config);
        for (i, line) in lines.iter().enumerate() {
            let m = store.add(line, Timestamp(i as u64)).unwrap();
            if m.change == Change::Deferred {
                continue; // no pattern yet: the log goes raw
            }
            prop_assert_eq!(insert(m.template, m.pos_list, &m.values), line.as_str());
        }
    }

    /// Invariant: the same holds for sequences of similar lines, which merge and force-widen.
    #[test]
    fn template_plus_values_rebuild_similar_lines(config in config(), lines in prop::collection::vec(similar_line(), 1..40)) {
        let mut store = PatternStore::new(config);
        for (i, line) in lines.iter().enumerate() {
            let m = store.add(line, Timestamp(i as u64)).unwrap();
            if m.change == Change::Deferred {
                continue;
            }
            prop_assert_eq!(insert(m.template, m.pos_list, &m.values), line.as_str());
            // Every live pattern keeps sorted offsets inside its template.
            let id = m.pattern_id;
            let pattern = store.get(id).unwrap();
            prop_assert!(pattern.pos_list().windows(2).all(|w| w[0] <= w[1]));
            prop_assert!(pattern.pos_list().last().is_none_or(|&p| p as usize <= pattern.template().len()));
        }
        let template_bytes: usize = store.iter().map(|p| p.template().len()).sum();
        prop_assert_eq!(store.template_bytes(), template_bytes);
    }

    /// Invariant: two stores fed the same lines (with removals) give the same ids, changes,
    /// templates and values; ids of removed patterns are never given again.
    #[test]
    fn same_lines_give_same_patterns(config in config(), lines in prop::collection::vec((similar_line(), any::<bool>()), 1..40)) {
        let mut a = PatternStore::new(config);
        let mut b = PatternStore::new(config);
        let mut removed = Vec::new();
        for (i, (line, remove)) in lines.iter().enumerate() {
            let now = Timestamp(i as u64);
            let ma = a.add(line, now).unwrap();
            let ra = (ma.pattern_id, ma.change, ma.template.to_owned(), ma.pos_list.to_vec(), ma.values.clone());
            let mb = b.add(line, now).unwrap();
            let rb = (mb.pattern_id, mb.change, mb.template.to_owned(), mb.pos_list.to_vec(), mb.values.clone());
            prop_assert!(!removed.contains(&ra.0));
            prop_assert_eq!(&ra, &rb);
            if *remove && ra.1 != Change::Deferred {
                a.remove(ra.0);
                b.remove(ra.0);
                removed.push(ra.0);
            }
        }
    }
}

/// Everything observable about a store's patterns, by id.
fn snapshot(store: &PatternStore) -> Vec<(u64, String, Vec<u32>, u64, Timestamp, Timestamp)> {
    store
        .iter()
        .map(|p| {
            (p.id(), p.template().to_owned(), p.pos_list().to_vec(), p.uses(), p.created(), p.last_access())
        })
        .collect()
}

proptest! {
    #![proptest_config(persisted())]

    /// Invariant: a prepared log that is not committed leaves the store unchanged (the raw
    /// fallback), and prepare + commit gives what `add` gives.
    #[test]
    fn uncommitted_prepare_changes_nothing_and_commit_equals_add(
        config in config(),
        lines in prop::collection::vec((similar_line(), any::<bool>()), 1..40),
    ) {
        let mut by_add = PatternStore::new(config);
        let mut by_prepare = PatternStore::new(config);
        for (i, (line, commit)) in lines.iter().enumerate() {
            let now = Timestamp(i as u64);
            let before = snapshot(&by_prepare);
            let prepared = by_prepare.prepare(line).unwrap();
            let (change, definition) = (prepared.change(), prepared.definition().map(|(t, p)| (t.to_owned(), p.to_vec())));
            if !*commit {
                drop(prepared);
                prop_assert_eq!(snapshot(&by_prepare), before);
                continue;
            }
            let m = by_prepare.commit(prepared, now);
            prop_assert_eq!(m.change, change);
            if let Some((template, pos_list)) = definition {
                prop_assert_eq!((m.template, m.pos_list), (template.as_str(), pos_list.as_slice()));
            }
            let committed = (m.pattern_id, m.change, m.template.to_owned(), m.values.clone());
            let a = by_add.add(line, now).unwrap();
            prop_assert_eq!(committed, (a.pattern_id, a.change, a.template.to_owned(), a.values.clone()));
        }
    }

    /// Invariant: the fast path of `prepare` (a hinted cluster's first pattern matched while
    /// stepping through the tokens) decides exactly what the full path decides: same ids,
    /// changes, templates, offsets and values, with removals in between, on similar lines
    /// mixed with arbitrary ones.
    #[test]
    fn fast_path_decides_exactly_as_the_full_path(
        config in config(),
        lines in prop::collection::vec((prop_oneof![4 => similar_line(), 1 => any::<String>()], any::<bool>()), 1..60),
    ) {
        let mut fast = PatternStore::new(config);
        let mut full = PatternStore::new(config);
        full.set_fast_path(false);
        for (i, (line, remove)) in lines.iter().enumerate() {
            let now = Timestamp(i as u64);
            let prepared = fast.prepare(line).unwrap();
            let fast_values = fast.prepared_values(&prepared);
            let mf = fast.commit(prepared, now);
            let rf = (mf.pattern_id, mf.change, mf.template.to_owned(), mf.pos_list.to_vec(), mf.values.clone());
            let prepared = full.prepare(line).unwrap();
            prop_assert_eq!(&fast_values, &full.prepared_values(&prepared));
            let mg = full.commit(prepared, now);
            let rg = (mg.pattern_id, mg.change, mg.template.to_owned(), mg.pos_list.to_vec(), mg.values.clone());
            prop_assert_eq!(&rf, &rg, "{:?}", line);
            // Removing now and then makes hints point at freed or reused cluster slots.
            if *remove && i % 3 == 0 && rf.1 != Change::Deferred {
                fast.remove(rf.0);
                full.remove(rf.0);
            }
        }
        prop_assert_eq!(snapshot(&fast), snapshot(&full));
    }

    /// Invariant: the same when another log is added between a log's `prepare` and its
    /// `commit` (which may widen or replace the prepared pattern): both paths commit the same,
    /// and the committed values rebuild the log.
    #[test]
    fn fast_path_commits_as_the_full_path_with_adds_in_between(
        config in config(),
        lines in prop::collection::vec((repeating_line(), repeating_line()), 1..40),
    ) {
        let mut fast = PatternStore::new(config);
        let mut full = PatternStore::new(config);
        full.set_fast_path(false);
        for (i, (line, between)) in lines.iter().enumerate() {
            let now = Timestamp(2 * i as u64);
            let pf = fast.prepare(line).unwrap();
            let pg = full.prepare(line).unwrap();
            let (bf, bg) = (fast.add(between, now).unwrap().pattern_id, full.add(between, now).unwrap().pattern_id);
            prop_assert_eq!(bf, bg);
            prop_assert_eq!(fast.prepared_values(&pf), full.prepared_values(&pg));
            let later = Timestamp(2 * i as u64 + 1);
            let mf = fast.commit(pf, later);
            let rf = (mf.pattern_id, mf.change, mf.template.to_owned(), mf.pos_list.to_vec(), mf.values.clone());
            let mg = full.commit(pg, later);
            let rg = (mg.pattern_id, mg.change, mg.template.to_owned(), mg.pos_list.to_vec(), mg.values.clone());
            prop_assert_eq!(&rf, &rg, "{:?} after {:?}", line, between);
            if rf.1 != Change::Deferred {
                prop_assert_eq!(insert(&rf.2, &rf.3, &rf.4), line.as_str());
            }
        }
        prop_assert_eq!(snapshot(&fast), snapshot(&full));
    }
}
