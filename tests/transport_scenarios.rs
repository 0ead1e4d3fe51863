//! Deterministic scenarios for the `Transport` state machine (spec `transport.md`), each named
//! after the behaviour it checks. Time is driven explicitly; nothing sleeps.

#[path = "transport_scenarios/control.rs"]
mod control;
#[path = "transport_scenarios/failures.rs"]
mod failures;
#[path = "transport_scenarios/retry.rs"]
mod retry;
#[path = "transport_scenarios/streaming.rs"]
mod streaming;
mod support;

use std::time::Duration;

use stateful_logs::transport::testing::{self, SimpleState, define, delete};
use stateful_logs::transport::{
    Action, ApiKey, CloseMode, EndpointConfig, Failure, HaltError, Side, State, Transport, TransportConfig,
};
use stateful_logs::{Profile, StreamId, Timestamp};
use support::*;
