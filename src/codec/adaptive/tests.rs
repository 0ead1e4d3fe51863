use super::*;

/// A host where rung 0 costs 2 ns per byte and the others cost what the ladder says.
fn cost_ns(rung: Rung, bytes: u64) -> u64 {
    2 * u64::from(rung.relative_cost) * bytes
}

/// Feeds `batches` batches of `bytes` every `every_ms` from `start`; the rungs used, in order.
fn drive(c: &mut LevelController, start: u64, batches: u64, every_ms: u64, bytes: u64) -> Vec<i32> {
    (0..batches)
        .map(|i| {
            let rung = c.rung_for_batch(Timestamp(start + i * every_ms), bytes);
            c.record_cost(cost_ns(rung, bytes));
            rung.level
        })
        .collect()
}

/// The highest rung whose relative cost is at most `max`.
fn highest_within(max: f64) -> Rung {
    *LADDER.iter().rev().find(|r| f64::from(r.relative_cost) <= max).unwrap()
}

fn rung_index(level: i32) -> usize {
    LADDER.iter().position(|r| r.level == level).unwrap()
}

#[test]
fn without_a_measured_cost_the_rung_never_rises() {
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    for i in 0..1_000 {
        assert_eq!(c.rung_for_batch(Timestamp(i * 100), 1_000), LADDER[0]);
    }
    assert_eq!(c.changes(), 0);
}

#[test]
fn at_a_steady_rate_it_settles_on_the_highest_rung_that_fits_half_the_budget() {
    // 100 kB/s: rung r costs 2·rel ns/B → share = 100e3 · 2 · rel / 1e9 = rel / 5000.
    // With 25 %: fits half the budget when rel ≤ 625 → the top rung (350).
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    let levels = drive(&mut c, 0, 600, 100, 10_000);
    assert_eq!(*levels.last().unwrap(), LADDER[4].level);
    // 10 MB/s: share = rel / 50 → half of 25 % holds rel ≤ 6.25 → rung 0 (rel 1), not rung 1 (8).
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    let levels = drive(&mut c, 0, 600, 1, 10_000);
    assert!(levels.iter().all(|&l| l == LADDER[0].level), "{levels:?}");
    // 1 MB/s: rel ≤ 62.5 fits.
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    let levels = drive(&mut c, 0, 600, 10, 10_000);
    assert_eq!(*levels.last().unwrap(), highest_within(62.5).level);
    assert!(highest_within(62.5) != LADDER[0] && highest_within(62.5) != LADDER[4]);
}

#[test]
fn the_rung_rises_at_most_once_per_hold_and_settles() {
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    let levels = drive(&mut c, 0, 3_000, 10, 10_000);
    let mut last_change_ms = None;
    for (i, pair) in levels.windows(2).enumerate() {
        if pair[0] != pair[1] {
            let at = (i as u64 + 1) * 10;
            if let Some(prev) = last_change_ms {
                assert!(at - prev >= HOLD_MS, "changes at {prev} and {at} ms");
            }
            last_change_ms = Some(at);
        }
    }
    // Settled: no change in the last 20 s of a steady input.
    assert!(last_change_ms.unwrap_or(0) < 10_000, "still changing at {last_change_ms:?}");
}

#[test]
fn a_burst_drops_the_rung_within_the_recent_batches_and_the_share_stays_bounded() {
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    drive(&mut c, 0, 600, 100, 10_000);
    assert_eq!(c.rung(), LADDER[4]);
    // 100× the rate: 10 MB/s, where only rungs 0 and 1 fit 25 % (2·rel·10e6/1e9 ≤ 0.25).
    let levels = drive(&mut c, 60_000, 200, 1, 10_000);
    let fits = |level: i32| rung_index(level) <= 1;
    let first_fit = levels.iter().position(|&l| fits(l)).unwrap();
    assert!(first_fit <= RECENT_PULLS, "dropped only after {first_fit} batches: {levels:?}");
    assert!(levels[first_fit..].iter().all(|&l| fits(l)), "{levels:?}");
}

#[test]
fn the_memory_limit_caps_the_rungs() {
    let mut c = LevelController::new(CpuBudget::percent(100), 2, Timestamp(0));
    let levels = drive(&mut c, 0, 100, 1_000, 1_000);
    assert_eq!(*levels.last().unwrap(), LADDER[1].level);
}

#[test]
fn the_cpu_share_is_compression_time_over_elapsed_time() {
    let mut c = LevelController::new(CpuBudget::percent(25), 1, Timestamp(0));
    // 10 batches 100 ms apart, each costing 10 ms: 10 %.
    for i in 0..=10 {
        c.rung_for_batch(Timestamp(i * 100), 1_000);
        c.record_cost(10_000_000);
    }
    assert_eq!(c.cpu_share_permille(Timestamp(1_000)), 110);
}

#[test]
fn the_same_inputs_give_the_same_rungs() {
    let run = || {
        let mut c = LevelController::new(CpuBudget::percent(10), LADDER.len(), Timestamp(0));
        let mut v = drive(&mut c, 0, 500, 7, 3_000);
        v.extend(drive(&mut c, 4_000, 500, 1, 30_000));
        v.extend(drive(&mut c, 9_000, 500, 50, 3_000));
        v
    };
    assert_eq!(run(), run());
}

#[test]
fn with_a_calibration_the_first_batch_gets_its_rung_without_a_restart() {
    let calibration: Vec<f64> = LADDER.iter().map(|r| 2.0 * f64::from(r.relative_cost)).collect();
    // 10 kB after 10 ms: 1 MB/s, where relative costs up to 62.5 fit half of 25 %.
    let expected = highest_within(62.5);
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    c.calibrate(&calibration);
    assert_eq!(c.rung_for_batch(Timestamp(10), 10_000), expected);
    c.record_cost(cost_ns(expected, 10_000));
    let levels = drive(&mut c, 20, 300, 10, 10_000);
    assert!(levels.iter().all(|&l| l == expected.level), "{levels:?}");
    assert_eq!(c.changes(), 1);
    // A calibration never overrides a measured cost.
    let mut c = LevelController::new(CpuBudget::percent(25), LADDER.len(), Timestamp(0));
    c.rung_for_batch(Timestamp(10), 10_000);
    c.record_cost(1_000_000_000);
    c.calibrate(&calibration);
    assert_eq!(c.rung_for_batch(Timestamp(2_000), 10), LADDER[0]);
}
