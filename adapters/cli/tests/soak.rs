//! `soak`, short form: 20,000 records through every kind of fault twice, nothing lost.

mod support;

use std::process::Command;

use support::BIN;

#[test]
fn a_short_soak_through_every_fault_loses_nothing() {
    let output = Command::new(BIN)
        .args(["soak", "--records", "20000", "--seed", "3", "--rate", "2000", "--timeout", "50"])
        .env("RUST_LOG", "off")
        .output()
        .expect("run soak");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "soak failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for needle in [
        "records delivered: 20000 of 20000 (lost 0)",
        "in order: yes",
        "ack tokens: 20000 returned exactly once, in order: yes",
        "14 faults (KillStream 2, DropConnections 2, Restart 2, DelayAcks 2, WithholdAcks 2, RejectKey 2, Failover 2)",
    ] {
        assert!(stdout.contains(needle), "{needle:?} in:\n{stdout}");
    }
    let halts: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("halts on the rejected key: ")?.split(',').next()?.parse().ok())
        .expect("a halts line");
    assert!(halts >= 1, "the rejected key halted the client and resume recovered it:\n{stdout}");
}

#[test]
fn soak_refuses_too_few_records_with_a_clear_message() {
    let output = Command::new(BIN).args(["soak", "--records", "10"]).output().expect("run soak");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1000.."), "{output:?}");
}
