//! Unit tests of the pattern store: the §9.5 rules, ids, defines and bookkeeping.

use super::*;

/// Rebuilds a log from a template, its offsets and the values (`wire.md` §9.4).
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

fn owned(m: &Match<'_, '_>) -> (u64, Change, String, Vec<u32>, Vec<String>) {
    (
        m.pattern_id,
        m.change,
        m.template.to_owned(),
        m.pos_list.to_vec(),
        m.values.iter().map(|v| v.to_string()).collect(),
    )
}

#[test]
fn first_log_creates_pattern_one_without_wildcards() {
    let mut store = PatternStore::default();
    let m = store.add("user 42 logged in", Timestamp(5)).unwrap();
    assert_eq!(owned(&m), (1, Change::New, "user 42 logged in".into(), vec![], vec![]));
    assert_eq!(store.len(), 1);
    assert_eq!(store.template_bytes(), 17);
    let pattern = store.get(1).unwrap();
    assert_eq!((pattern.uses(), pattern.created(), pattern.last_access()), (1, Timestamp(5), Timestamp(5)));
}

#[test]
fn a_differing_value_widens_the_pattern_and_keeps_its_id() {
    let mut store = PatternStore::default();
    store.add("user 42 logged in", Timestamp(0)).unwrap();
    let m = store.add("user 43 logged in", Timestamp(1)).unwrap();
    assert_eq!(owned(&m), (1, Change::Updated, "user  logged in".into(), vec![5], vec!["43".into()]));
    let m = store.add("user 44 logged in", Timestamp(2)).unwrap();
    assert_eq!(owned(&m), (1, Change::NoChange, "user  logged in".into(), vec![5], vec!["44".into()]));
    assert_eq!(store.template_bytes(), 15);
    assert_eq!(store.get(1).unwrap().uses(), 3);
    assert_eq!(store.get(1).unwrap().last_access(), Timestamp(2));
}

#[test]
fn whitespace_and_special_characters_never_become_wildcards_by_merging() {
    let mut store = PatternStore::default();
    store.add("a=1 b", Timestamp(0)).unwrap();
    // Same signature, but the whitespace differs: a conflict, so a second pattern.
    assert_eq!(store.add("a=1  b", Timestamp(0)).unwrap().change, Change::New);
    assert_eq!(store.len(), 2);
    assert_eq!(store.cluster_count(), 1);
}

#[test]
fn first_word_protection_keeps_different_first_words_apart() {
    let mut store = PatternStore::default();
    assert_eq!(store.add("started job 1", Timestamp(0)).unwrap().pattern_id, 1);
    assert_eq!(store.add("stopped job 1", Timestamp(0)).unwrap().pattern_id, 2);
    let unprotected = PatternConfig { first_word_protection: false, ..PatternConfig::default() };
    let mut store = PatternStore::new(unprotected);
    store.add("started job 1", Timestamp(0)).unwrap();
    let m = store.add("stopped job 1", Timestamp(0)).unwrap();
    assert_eq!((m.pattern_id, m.change, m.values), (1, Change::Updated, vec!["stopped"]));
}

#[test]
fn first_word_protection_turns_off_above_the_cardinality() {
    let config = PatternConfig { first_word_max_cardinality: 3, ..PatternConfig::default() };
    let mut store = PatternStore::new(config);
    for (i, word) in ["a", "b", "c"].iter().enumerate() {
        let line = format!("{word} x");
        let m = store.add(&line, Timestamp(0)).unwrap();
        assert_eq!((m.pattern_id, m.change), (i as u64 + 1, Change::New));
    }
    // The fourth distinct first word is one more than 3: protection is off, so it merges
    // into the most recently matched pattern.
    let m = store.add("d x", Timestamp(0)).unwrap();
    assert_eq!((m.pattern_id, m.change, m.template), (3, Change::Updated, " x"));
    assert_eq!(store.len(), 3);
}

#[test]
fn patterns_are_tried_most_recently_matched_first() {
    let mut store = PatternStore::default();
    store.add("job a done", Timestamp(0)).unwrap(); // 1
    store.add("job b done", Timestamp(0)).unwrap(); // widens 1
    store.add("job a fail", Timestamp(0)).unwrap(); // widens 1 again: everything but `job`
    assert_eq!(store.len(), 1);
    let mut store = PatternStore::default();
    store.add("x 1 a", Timestamp(0)).unwrap(); // 1
    store.add("x 1\ta", Timestamp(0)).unwrap(); // 2 (whitespace conflict)
    // Matches both after widening; the most recent (2) is tried first.
    let m = store.add("x 2\ta", Timestamp(0)).unwrap();
    assert_eq!(m.pattern_id, 2);
    let m = store.add("x 2 a", Timestamp(0)).unwrap();
    assert_eq!(m.pattern_id, 1);
}

#[test]
fn scan_budget_limits_the_patterns_tried() {
    let config = PatternConfig { pattern_scan_budget: 1, ..PatternConfig::default() };
    let mut store = PatternStore::new(config);
    store.add("x 1 a", Timestamp(0)).unwrap(); // 1
    store.add("x 1\ta", Timestamp(0)).unwrap(); // 2, now first
    // Would match 1, but only 2 is tried: a new pattern.
    let m = store.add("x 1 a", Timestamp(0)).unwrap();
    assert_eq!((m.pattern_id, m.change), (3, Change::New));
}

#[test]
fn a_full_cluster_force_widens_its_closest_pattern() {
    let config = PatternConfig { max_patterns_per_cluster: 2, ..PatternConfig::default() };
    let mut store = PatternStore::new(config);
    store.add("a 1 b c", Timestamp(0)).unwrap(); // 1
    store.add("a\t1\tb\tc", Timestamp(0)).unwrap(); // 2, tried first
    // Conflicts with both; closest is 1 (6 identical positions of 7, vs 5).
    let m = store.add("a 1 b\tc", Timestamp(0)).unwrap();
    assert_eq!(owned(&m), (1, Change::Updated, "a 1 bc".into(), vec![5], vec!["\t".into()]));
    assert_eq!(store.len(), 2);
    // Protection is ignored too: the first word becomes a wildcard.
    let m = store.add("z 1 b\tc", Timestamp(0)).unwrap();
    assert_eq!(owned(&m), (1, Change::Updated, " 1 bc".into(), vec![0, 4], vec!["z".into(), "\t".into()]));
    assert_eq!(insert(m.template, m.pos_list, &m.values), "z 1 b\tc");
}

#[test]
fn zero_tokens_make_an_empty_template() {
    let mut store = PatternStore::default();
    let m = store.add("", Timestamp(0)).unwrap();
    assert_eq!(owned(&m), (1, Change::New, String::new(), vec![], vec![]));
    let m = store.add("", Timestamp(0)).unwrap();
    assert_eq!((m.pattern_id, m.change), (1, Change::NoChange));
}

#[test]
fn removed_ids_are_never_reused_and_empty_clusters_go() {
    let mut store = PatternStore::default();
    store.add("alpha 1", Timestamp(0)).unwrap();
    store.add("beta", Timestamp(0)).unwrap();
    assert_eq!(store.remove(1).map(|p| p.id()), Some(1));
    assert!(store.remove(1).is_none());
    assert_eq!(store.len(), 1);
    assert_eq!(store.cluster_count(), 1);
    assert_eq!(store.template_bytes(), 4);
    let m = store.add("alpha 1", Timestamp(0)).unwrap();
    assert_eq!((m.pattern_id, m.change), (3, Change::New));
    assert_eq!(store.iter().map(Pattern::id).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(store.next_pattern_id(), 4);
}

#[test]
fn prepare_changes_nothing_until_committed() {
    let mut store = PatternStore::default();
    store.add("user 42 logged in", Timestamp(0)).unwrap();
    let prepared = store.prepare("user 43 logged in").unwrap();
    assert_eq!(prepared.change(), Change::Updated);
    assert_eq!(prepared.pattern_id(), Some(1));
    assert_eq!(prepared.definition(), Some(("user  logged in", &[5u32][..])));
    drop(prepared);
    assert_eq!(store.get(1).unwrap().template(), "user 42 logged in");
    let new = store.prepare("something else").unwrap();
    assert_eq!(
        (new.change(), new.pattern_id(), new.definition()),
        (Change::New, None, Some(("something else", &[][..])))
    );
    assert_eq!(store.commit(new, Timestamp(1)).pattern_id, 2);
}

#[test]
fn commit_after_the_prepared_pattern_was_removed_matches_again() {
    let mut store = PatternStore::default();
    store.add("user 42 logged in", Timestamp(0)).unwrap();
    let prepared = store.prepare("user 42 logged in").unwrap();
    store.remove(1);
    let m = store.commit(prepared, Timestamp(1));
    assert_eq!((m.pattern_id, m.change), (2, Change::New));
}

#[test]
fn touch_counts_a_use() {
    let mut store = PatternStore::default();
    store.add("x", Timestamp(0)).unwrap();
    assert!(store.touch(1, Timestamp(9)));
    assert!(!store.touch(2, Timestamp(9)));
    assert_eq!((store.get(1).unwrap().uses(), store.get(1).unwrap().last_access()), (2, Timestamp(9)));
}

#[test]
fn values_rebuild_the_text() {
    let mut store = PatternStore::default();
    for line in
        ["GET /a 200 1.2.3.4 took 12ms", "GET /b 404 1.2.3.5 took 7ms", "GET /a 200 1.2.3.4 took 12ms"]
    {
        let m = store.add(line, Timestamp(0)).unwrap();
        assert_eq!(insert(m.template, m.pos_list, &m.values), line);
    }
}

#[test]
fn eviction_candidates_are_lowest_score_first_then_smaller_id() {
    let mut store = PatternStore::default();
    store.add("alpha", Timestamp(0)).unwrap(); // 1: one use
    store.add("beta 1", Timestamp(0)).unwrap(); // 2: three uses
    store.add("beta 1", Timestamp(0)).unwrap();
    store.add("beta 1", Timestamp(0)).unwrap();
    store.add("gamma x y", Timestamp(0)).unwrap(); // 3: one use, same score as 1
    let order: Vec<u64> =
        store.eviction_candidates(Timestamp(1_000), 0.5).into_iter().map(|(_, id)| id).collect();
    assert_eq!(order, vec![1, 3, 2]);
}

#[test]
fn reserved_ids_are_skipped_by_new_patterns() {
    let mut store = PatternStore::default();
    assert_eq!(store.reserve_id(), 1);
    assert_eq!(store.add("a", Timestamp(0)).unwrap().pattern_id, 2);
    assert_eq!(store.reserve_id(), 3);
    assert_eq!(store.next_pattern_id(), 4);
}

#[test]
fn wildcards_one_byte_apart_travel_as_one_value_and_rebuild_the_log() {
    let config = PatternConfig { value_merge_gap: Some(1), ..PatternConfig::default() };
    let mut store = PatternStore::new(config);
    store.add("at 10:01 pid 7 from 10.0.0.1 done", Timestamp(0)).unwrap();
    let text = "at 11:02 pid 8 from 10.0.0.2 done";
    let m = owned(&store.add(text, Timestamp(1)).unwrap());
    // "11:02" and "8" are two tokens apart (" pid "): separate; "8" alone; the address alone.
    assert_eq!(m.4, vec!["11:02", "8", "10.0.0.2"]);
    // Adjacent wildcards separated by one space merge into one value.
    let mut store = PatternStore::new(config);
    store.add("job a 1 ok", Timestamp(0)).unwrap();
    let text = "job b 2 ok";
    let m = owned(&store.add(text, Timestamp(1)).unwrap());
    assert_eq!(
        (m.2.as_str(), m.3.as_slice(), m.4.as_slice()),
        ("job  ok", &[4u32][..], &["b 2".to_owned()][..])
    );
    assert_eq!(insert(&m.2, &m.3, &m.4.iter().map(String::as_str).collect::<Vec<_>>()), text);
    // Without merging: one value per wildcard.
    let mut store = PatternStore::default();
    store.add("job a 1 ok", Timestamp(0)).unwrap();
    let m = owned(&store.add(text, Timestamp(1)).unwrap());
    assert_eq!((m.2.as_str(), m.4.len()), ("job   ok", 2));
}

#[test]
fn a_shape_gets_its_pattern_on_its_third_log_already_widened() {
    let config = PatternConfig { admission_threshold: 3, max_sketches: 10, ..PatternConfig::default() };
    let mut store = PatternStore::new(config);
    for (i, text) in ["user 1 in", "user 2 in"].into_iter().enumerate() {
        let m = store.add(text, Timestamp(i as u64)).unwrap();
        assert_eq!((m.pattern_id, m.change), (0, Change::Deferred), "{text} waits, sent raw");
    }
    assert!(store.is_empty(), "sketches are not patterns");
    let prepared = store.prepare("user 3 in").unwrap();
    assert_eq!(prepared.change(), Change::New);
    assert_eq!(prepared.definition(), Some(("user  in", &[5u32][..])));
    let m = owned(&store.add("user 3 in", Timestamp(2)).unwrap());
    assert_eq!(m, (1, Change::New, "user  in".to_owned(), vec![5], vec!["3".to_owned()]));
    // From now on the pattern matches at once; another shape still waits.
    assert_eq!(store.add("user 4 in", Timestamp(3)).unwrap().change, Change::NoChange);
    assert_eq!(store.add("disk full", Timestamp(4)).unwrap().change, Change::Deferred);
}

#[test]
fn sketches_are_bounded_oldest_first() {
    let config = PatternConfig { admission_threshold: 2, max_sketches: 2, ..PatternConfig::default() };
    let mut store = PatternStore::new(config);
    for text in ["a", "b b", "c c c"] {
        assert_eq!(store.add(text, Timestamp(0)).unwrap().change, Change::Deferred);
    }
    assert_eq!(store.sketch_count(), 2);
    // "a" was dropped: seen again it starts over; "c c c" is still there and promotes.
    assert_eq!(store.add("a", Timestamp(1)).unwrap().change, Change::Deferred);
    assert_eq!(store.add("c c c", Timestamp(1)).unwrap().change, Change::New);
}

#[test]
fn commit_id_applies_exactly_what_commit_applies() {
    let lines = ["user 1 in", "user 2 in", "disk full", "user 3 out", "disk full", "user 4 out"];
    // Sketches on, so that deferred logs (id 0) are covered too.
    let config = PatternConfig { admission_threshold: 2, max_sketches: 10, ..PatternConfig::default() };
    let (mut full, mut ids_only) = (PatternStore::new(config), PatternStore::new(config));
    for (i, line) in lines.into_iter().enumerate() {
        let now = Timestamp(i as u64);
        let expected = full.commit(full.prepare(line).unwrap(), now).pattern_id;
        assert_eq!(ids_only.commit_id(ids_only.prepare(line).unwrap(), now), expected, "{line}");
    }
    let templates =
        |s: &PatternStore| s.iter().map(|p| (p.id(), p.template().to_owned())).collect::<Vec<_>>();
    assert_eq!(templates(&full), templates(&ids_only));
}

#[test]
fn a_log_matching_its_hinted_pattern_takes_the_fast_path() {
    let mut store = PatternStore::default();
    store.add("user 42 logged in", Timestamp(0)).unwrap();
    store.add("user 7 logged in", Timestamp(1)).unwrap(); // widens
    let prepared = store.prepare("user 9 logged in").unwrap();
    assert!(prepared.matched_fast());
    assert_eq!(prepared.change(), Change::NoChange);
    assert_eq!(store.prepared_values(&prepared), vec!["9"]);
    assert_eq!(prepared.tokens().len(), 7, "tokenized when asked for");
    // Other constant text, or one token more: the full path.
    assert!(!store.prepare("user 9 logged out").unwrap().matched_fast());
    assert!(!store.prepare("user 9 logged in ").unwrap().matched_fast());
    // The prepared pattern removed before the commit: the log is matched again in full.
    let prepared = store.prepare("user 10 logged in").unwrap();
    assert!(prepared.matched_fast());
    store.remove(1);
    let m = store.commit(prepared, Timestamp(2));
    assert_eq!((m.pattern_id, m.change, m.values.len()), (2, Change::New, 0));
}

#[test]
fn a_fast_match_committed_after_its_pattern_widened_takes_the_new_values() {
    let mut store = PatternStore::default();
    store.add("user 42 logged in from a", Timestamp(0)).unwrap();
    store.add("user 7 logged in from a", Timestamp(1)).unwrap();
    let prepared = store.prepare("user 9 logged in from a").unwrap();
    assert!(prepared.matched_fast());
    // Another log widens the pattern before the first is committed.
    assert_eq!(store.add("user 8 logged in from b", Timestamp(2)).unwrap().change, Change::Updated);
    assert_eq!(store.prepared_values(&prepared), vec!["9", "a"]);
    let m = store.commit(prepared, Timestamp(3));
    assert_eq!((m.pattern_id, m.change), (1, Change::NoChange));
    assert_eq!(insert(m.template, m.pos_list, &m.values), "user 9 logged in from a");
}
