//! Deterministic scenarios for the `Transport` state machine (spec `transport.md`), each named
//! after the behaviour it checks. Time is driven explicitly; nothing sleeps.

mod control;
mod failures;
mod retry;
mod streaming;
mod support;
mod table;

use std::time::Duration;

use stateful_logs::transport::testing::{self, SimpleState, define, delete};
use stateful_logs::transport::{
    Action, ApiKey, CloseMode, EndpointConfig, Failure, HaltError, Side, State, Transport, TransportConfig,
};
use stateful_logs::{Profile, StreamId, Timestamp};
use support::*;
