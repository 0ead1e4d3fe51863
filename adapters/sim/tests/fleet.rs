//! Small fleets (200 clients) through every scenario: the invariants hold, every client
//! recovers, runs are deterministic, and the policies differ where they should (spread
//! retries, pushback, failover spread over the surviving intakes). Only
//! relations between simulated quantities are asserted, never wall time.

use stateful_logs_sim::{CoreKind, Policy, RunResult, ScenarioName, SimConfig, Simulation, Summary};

const CLIENTS: u32 = 200;

fn run(scenario: ScenarioName, policy: Policy, seed: u64) -> RunResult {
    let config = SimConfig::new(CLIENTS, scenario).with_policy(policy).with_seed(seed);
    Simulation::new(config).expect("valid settings").run()
}

fn assert_invariants(s: &Summary) {
    let c = &s.counters;
    let what = format!("{} / {}:\n{s}", s.scenario, s.policy);
    assert_eq!(s.records_lost, 0, "records lost in {what}");
    assert_eq!(s.records_unacked, 0, "records left unacknowledged in {what}");
    assert_eq!(c.records_delivered, c.records_produced, "every record delivered once in {what}");
    assert_eq!(c.records_acked, c.records_produced, "every token acknowledged in {what}");
    assert_eq!(c.ack_violations, 0, "a token acknowledged twice, out of order or not Acked in {what}");
    assert_eq!(c.acked_not_delivered, 0, "a token acknowledged before its record was written in {what}");
    assert_eq!((c.malformed_batches, c.halts), (0, 0), "{what}");
    assert!(s.invariants_hold(), "{what}");
    // Duplicates are re-sends: every one of them went out on a stream as a pulled batch.
    let records_per_batch = u64::from(SimConfig::new(1, s.scenario).records_per_batch);
    assert!(c.records_duplicated <= c.batches_sent * records_per_batch, "{what}");
}

#[test]
fn every_scenario_loses_nothing_and_every_client_recovers_under_both_policies() {
    for scenario in ScenarioName::ALL {
        for policy in [Policy::Ours, Policy::Reference] {
            let s = run(scenario, policy, 1).summary;
            assert_invariants(&s);
            assert!(s.counters.records_produced > 0);
            if scenario == ScenarioName::Steady {
                assert_eq!(s.recovery_s, None);
                assert_eq!(s.peak_clients_behind, 0, "no client falls behind without an incident:\n{s}");
            } else {
                assert!(matches!(s.recovery_s, Some(Some(_))), "every client recovers:\n{s}");
                assert!(s.peak_clients_behind > 0, "the incident must hurt someone:\n{s}");
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    for scenario in [ScenarioName::Outage, ScenarioName::RollingRestart] {
        let a = run(scenario, Policy::Ours, 42);
        let b = run(scenario, Policy::Ours, 42);
        assert_eq!(a.summary.to_string(), b.summary.to_string());
        assert_eq!(a, b, "series and summary, field by field");
        let c = run(scenario, Policy::Ours, 43);
        assert_ne!(a.series, c.series, "the seed must matter");
    }
}

#[test]
fn without_lifetime_jitter_the_fleet_rotates_as_a_herd() {
    // Intakes that admit the whole fleet in a second, so that the herd is not cut down to
    // their admission rate (200 clients are too few for the default, 20 opens/s).
    let steady = |policy| {
        let mut config = SimConfig::new(CLIENTS, ScenarioName::Steady).with_policy(policy);
        config.open_capacity_divisor = 1;
        run_with(config)
    };
    let (ours, reference) = (steady(Policy::Ours), steady(Policy::Reference));
    // The same fleet start; afterwards jitter spreads the rotations.
    assert_eq!(ours.start_peak_opens_per_s, reference.start_peak_opens_per_s);
    assert!(
        reference.peak_rotation_opens_per_s >= 2 * ours.peak_rotation_opens_per_s,
        "reference {} vs ours {}",
        reference.peak_rotation_opens_per_s,
        ours.peak_rotation_opens_per_s
    );
}

#[test]
fn an_ack_timeout_moves_clients_off_a_silent_intake() {
    let ours = run(ScenarioName::Silent, Policy::Ours, 1).summary;
    let reference = run(ScenarioName::Silent, Policy::Reference, 1).summary;
    assert!(ours.ack_timeouts > 0, "{ours}");
    assert_eq!(reference.ack_timeouts, 0, "{reference}");
    let (Some(Some(ours_99)), Some(Some(reference_99))) = (ours.recovery_99_s, reference.recovery_99_s)
    else {
        panic!("both recover:\n{ours}\n{reference}");
    };
    // The reference clients wait for a lifetime rotation after the intake acks again (300 s
    // of silence); ours leave after their ack timeouts.
    assert!(ours_99 < reference_99, "ours {ours_99} s, reference {reference_99} s");
    assert!(reference_99 > 300, "{reference}");
    assert!(ours.peak_inflight_bytes_per_client < reference.peak_inflight_bytes_per_client);
}

#[test]
fn an_outage_of_every_intake_puts_every_client_behind_and_all_come_back() {
    let s = run(ScenarioName::Outage, Policy::Ours, 5).summary;
    assert_eq!(s.peak_clients_behind, u64::from(CLIENTS), "{s}");
    assert!(s.counters.opens_refused > 0, "{s}");
    let Some(Some(recovery)) = s.recovery_s else { panic!("{s}") };
    // Down for 60 s; the backoff is capped at 120 s.
    assert!((60..=60 + 120 + 60).contains(&recovery), "{s}");
}

#[test]
fn invalid_settings_are_refused_with_the_setting_named() {
    let Err(error) = Simulation::new(SimConfig::new(0, ScenarioName::Steady)) else {
        panic!("zero clients accepted");
    };
    assert!(error.to_string().contains("`clients`"), "{error}");
    let mut config = SimConfig::new(10, ScenarioName::Steady);
    config.stream_lifetime = std::time::Duration::from_secs(2);
    let Err(error) = Simulation::new(config) else { panic!("a lifetime below the drain timeout accepted") };
    assert!(error.to_string().contains("drain_timeout"), "{error}");
    let mut config = SimConfig::new(10, ScenarioName::Steady);
    config.wire_bytes_per_record = 1_000_000;
    let Err(error) = Simulation::new(config) else { panic!("10 MB batches accepted") };
    assert!(error.to_string().contains("max_batch_bytes"), "{error}");
}

#[test]
fn the_plot_is_an_svg_with_both_runs() {
    let ours = run(ScenarioName::Outage, Policy::Ours, 1);
    let reference = run(ScenarioName::Outage, Policy::Reference, 1);
    let path = std::env::temp_dir().join(format!("stateful-logs-sim-plot-{}.svg", std::process::id()));
    stateful_logs_sim::plot::write_svg(
        &path,
        "outage",
        &[("ours", &ours.series), ("reference", &reference.series)],
    )
    .expect("write the plot");
    let svg = std::fs::read_to_string(&path).expect("read the plot");
    let _ = std::fs::remove_file(&path);
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.contains("ours") && svg.contains("reference") && svg.contains("stream opens/s"));
    assert!(svg.contains("<polyline"), "line series drawn");
}

#[test]
fn whole_pipelines_make_the_same_transport_decisions_and_lose_nothing() {
    for scenario in [ScenarioName::Outage, ScenarioName::Silent] {
        let config = SimConfig::new(100, scenario);
        let bare = Simulation::new(config.clone()).expect("valid").run().summary;
        let pipelines = Simulation::new(config.with_core(CoreKind::Pipeline)).expect("valid").run().summary;
        assert_invariants(&pipelines);
        // The producer's timing and the cores' seeds are the same: so are the streams.
        assert_eq!(pipelines.counters.opens, bare.counters.opens, "{pipelines}\n{bare}");
        assert_eq!(pipelines.recovery_s, bare.recovery_s);
        assert_eq!(pipelines.ack_timeouts, bare.ack_timeouts);
        // Only the bytes differ: real encoded log lines instead of 12 bytes per record.
        assert_ne!(pipelines.peak_inflight_bytes_per_client, bare.peak_inflight_bytes_per_client);
    }
}

fn run_with(config: SimConfig) -> Summary {
    let s = Simulation::new(config).expect("valid settings").run().summary;
    assert_invariants(&s);
    s
}

fn recovery(s: &Summary) -> u64 {
    s.recovery_s.flatten().unwrap_or_else(|| panic!("every client recovers:\n{s}"))
}

#[test]
fn spread_retries_cut_the_outage_storm_and_bring_the_fleet_back_within_30_s_of_the_intakes() {
    for seed in [1, 2] {
        let ours = run(ScenarioName::Outage, Policy::Ours, seed).summary;
        let reference = run(ScenarioName::Outage, Policy::Reference, seed).summary;
        // The reference fleet reconnects within one second of the failure.
        assert!(reference.peak_opens_per_s > u64::from(CLIENTS) * 9 / 10, "{reference}");
        assert!(ours.peak_opens_per_s * 4 <= reference.peak_opens_per_s, "{ours}\n{reference}");
        // The intakes are down from 400 s to 460 s: caught up about 30 s later (at 2,000 and
        // 10,000 clients 26-28 s, docs/fleet.md; a fleet of 200 is a little slower), while the
        // reference's backoff has grown to 64-120 s.
        assert!(recovery(&ours) <= 60 + 35, "{ours}");
        assert!(recovery(&reference) > recovery(&ours) + 20, "{ours}\n{reference}");
    }
}

#[test]
fn the_clients_of_a_dead_intake_spread_over_the_other_three() {
    let ours = run(ScenarioName::DeadIntake, Policy::Ours, 1).summary;
    let reference = run(ScenarioName::DeadIntake, Policy::Reference, 1).summary;
    assert_invariants(&ours);
    // A quarter of the fleet loses its primary: a third of them on each other intake (33 %),
    // where the reference's failover to the next endpoint puts all of them on one (50 %).
    assert!(ours.peak_clients_on_one_intake * 10 <= u64::from(CLIENTS) * 4, "{ours}");
    assert!(reference.peak_clients_on_one_intake * 2 >= u64::from(CLIENTS), "{reference}");
    // The primary is probed, not assumed: a failed probe costs a refused open, not three
    // failures and a backoff, so nobody stays behind.
    assert!(recovery(&ours) < 60, "{ours}");
    assert!(recovery(&reference) > 300, "{reference}");
}

#[test]
fn the_rolling_restart_duplicates_no_more_than_the_reference_and_recovers_sooner() {
    let ours = run(ScenarioName::RollingRestart, Policy::Ours, 1).summary;
    let reference = run(ScenarioName::RollingRestart, Policy::Reference, 1).summary;
    assert!(ours.counters.records_duplicated <= reference.counters.records_duplicated, "{ours}\n{reference}");
    assert!(recovery(&ours) < recovery(&reference), "{ours}\n{reference}");
}

#[test]
fn a_slow_intake_is_left_without_a_flood_of_duplicates() {
    let ours = run(ScenarioName::Slow, Policy::Ours, 1).summary;
    let reference = run(ScenarioName::Slow, Policy::Reference, 1).summary;
    // Its clients leave it (the reference's wait for their next lifetime rotation) ...
    assert!(recovery(&ours) * 2 < recovery(&reference), "{ours}\n{reference}");
    // ... and re-send little: at most one batch for every four of its 50 clients. (At 2,000
    // and 10,000 clients the duplicates are at or below the reference's: docs/fleet.md.)
    let per_batch = u64::from(SimConfig::new(1, ScenarioName::Slow).records_per_batch);
    assert!(ours.counters.records_duplicated <= per_batch * u64::from(CLIENTS) / 4 / 4, "{ours}");
}

#[test]
fn pushback_brings_a_fleet_back_through_a_tight_admission_control() {
    // The intakes admit 2.5 % of the fleet per second: without pushback the refused clients
    // retry at random and some of them for minutes; with it they come back in their slots.
    let tight = |pushback| {
        let mut config = SimConfig::new(CLIENTS, ScenarioName::Outage).with_intake_pushback(pushback);
        config.open_capacity_divisor = 40;
        run_with(config)
    };
    let (with, without) = (tight(true), tight(false));
    assert!(with.retry_pushbacks > 0 && without.retry_pushbacks == 0);
    assert!(recovery(&with) <= 60 + 45, "{with}");
    assert!(recovery(&without) > recovery(&with) * 2, "{with}\n{without}");
    // The reference agent ignores pushback: the same run either way.
    let reference = |pushback| {
        let mut config = SimConfig::new(CLIENTS, ScenarioName::Outage)
            .with_policy(Policy::Reference)
            .with_intake_pushback(pushback);
        config.open_capacity_divisor = 40;
        Simulation::new(config).expect("valid").run()
    };
    let (a, b) = (reference(true), reference(false));
    assert_eq!(a.series, b.series);
    assert_eq!(a.summary.retry_pushbacks, 0);
}
