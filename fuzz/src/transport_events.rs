//! `transport_events`: the `Transport` driven by an arbitrary event sequence (decoded with
//! `arbitrary`), through the simulated driver and reference model of
//! `stateful_logs::testing::transport_model` (also `tests/transport_model.rs`'s), which checks every invariant of `transport.md` §18 after every
//! step; the same sequence run twice must give the same trace (determinism).

use arbitrary::{Arbitrary, Unstructured};
use stateful_logs::transport::{Failure, Side};

use stateful_logs::testing::transport_model::{self, AckKind, Op, Target};

/// Most events a run takes (a run is cheap; this bounds time per input).
const MAX_EVENTS: usize = 400;

#[derive(Arbitrary, Debug)]
enum FuzzTarget {
    Live,
    Old(u8),
}

#[derive(Arbitrary, Debug)]
enum FuzzFailure {
    Eof,
    Status(u8),
    Tls,
    Connection,
}

#[derive(Arbitrary, Debug)]
enum FuzzAck {
    Right,
    Wrong(u8),
    Duplicate,
    Zero,
    Stale(u8),
}

#[derive(Arbitrary, Debug)]
enum FuzzOp {
    Push { tokens: u8, define_id: Option<u8>, delete_id: Option<u8> },
    Pull(u8),
    Opened(FuzzTarget),
    OpenFailed(FuzzTarget, FuzzFailure),
    Ack(FuzzAck, i8),
    StreamError(FuzzTarget, bool, FuzzFailure),
    Advance(u16),
    JumpToTimeout,
    InternalError,
    Shutdown(Option<u16>),
    Resume,
    HealthyRound,
}

fn target(t: FuzzTarget) -> Target {
    match t {
        FuzzTarget::Live => Target::Live,
        FuzzTarget::Old(n) => Target::Old(usize::from(n)),
    }
}

fn failure(f: FuzzFailure) -> Failure {
    match f {
        FuzzFailure::Eof => Failure::Eof,
        // Codes 0..=20 cover every gRPC code and some unknown ones.
        FuzzFailure::Status(c) => {
            let code = i32::from(c % 21);
            Failure::status(code, format!("m{code}"))
        }
        FuzzFailure::Tls => Failure::Tls("bad cert".into()),
        FuzzFailure::Connection => Failure::Connection("reset".into()),
    }
}

/// The model's op for a fuzzed one (sizes kept in the ranges the model is built for).
fn op(op: FuzzOp) -> Op {
    match op {
        FuzzOp::Push { tokens, define_id, delete_id } => Op::Push {
            tokens: tokens % 4,
            define_id: define_id.map(|i| i % 8),
            delete_id: delete_id.map(|i| i % 8),
        },
        FuzzOp::Pull(n) => Op::Pull(1 + n % 4),
        FuzzOp::Opened(t) => Op::Opened(target(t)),
        FuzzOp::OpenFailed(t, f) => Op::OpenFailed(target(t), failure(f)),
        FuzzOp::Ack(kind, status) => {
            let kind = match kind {
                FuzzAck::Right => AckKind::Right,
                FuzzAck::Wrong(k) => AckKind::Wrong(u32::from(k % 4)),
                FuzzAck::Duplicate => AckKind::Duplicate,
                FuzzAck::Zero => AckKind::Zero,
                FuzzAck::Stale(n) => AckKind::Stale(usize::from(n)),
            };
            Op::Ack(kind, i32::from(status))
        }
        FuzzOp::StreamError(t, send, f) => {
            Op::StreamError(target(t), if send { Side::Send } else { Side::Recv }, failure(f))
        }
        FuzzOp::Advance(ms) => Op::Advance(u64::from(ms)),
        FuzzOp::JumpToTimeout => Op::JumpToTimeout,
        FuzzOp::InternalError => Op::InternalError,
        FuzzOp::Shutdown(deadline) => Op::Shutdown(deadline.map(u64::from)),
        FuzzOp::Resume => Op::Resume,
        FuzzOp::HealthyRound => Op::HealthyRound,
    }
}

/// Runs one input; panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(seed) = u.arbitrary::<u64>() else { return };
    let mut ops = Vec::new();
    while ops.len() < MAX_EVENTS
        && !u.is_empty()
        && let Ok(fuzzed) = u.arbitrary::<FuzzOp>()
    {
        ops.push(op(fuzzed));
    }
    let first = transport_model::run(&ops, seed);
    let second = transport_model::run(&ops, seed);
    assert_eq!(first, second, "the same events and seed gave different traces");
}
