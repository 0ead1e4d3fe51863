//! Batch send: a producer with many records pays one channel hop (and one budget wake-up) per
//! batch instead of per record ([`Handle::send_many`], [`Handle::try_send_many`]).
//!
//! Semantics, shared by both calls:
//! - **Order**: records are taken in the order given, each as if sent with `send` one after
//!   the other; each keeps its own ack token, and its ack entry comes back in input order like
//!   any other record's. The records of one call may be split into several chunks (see below);
//!   another handle of the same pipeline may slip records in between two chunks, never inside
//!   one.
//! - **Budget**: each record reserves its queued cost in the pipeline's memory budget, as
//!   `send` does. A call reserves as many records as fit, hands them over in one message (a
//!   chunk), and `send_many` then waits for room before the next chunk: a call larger than the
//!   budget completes as the pipeline drains (never deadlocks, never exceeds the budget). A
//!   single record larger than the whole budget still goes once the pipeline is empty, as with
//!   `send` (the core then drops it as too large, with its token).
//! - **Partial acceptance**: the records taken are always a prefix of the input. On a halt,
//!   a shut-down client, or (for `try_send_many`) a full budget, the error says how many were
//!   taken (`accepted`) and hands back the others, unchanged and in order (`rest`). Taken
//!   records are the pipeline's like any sent record: a halt keeps them (delivered after
//!   [`Client::resume`](crate::Client::resume)), a shutdown reports their tokens.

use stateful_logs::Record;
use stateful_logs::pipeline::budget::queued_cost;
use stateful_logs::transport::HaltError;

use crate::client::Handle;
use crate::driver::Input;

/// Why a batch send stopped before taking every record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendManyCause {
    /// The pipeline's memory budget is full (`try_send_many` only): retry later, or count the
    /// rest as shed.
    #[error("the pipeline's buffer is full (max_buffer_bytes)")]
    Full,
    /// The client is shut down (or dropped).
    #[error("the client is shut down")]
    Closed,
    /// The pipeline halted on an error only the user can fix; nothing is sent until
    /// [`Client::resume`](crate::Client::resume).
    #[error("{0}")]
    Halted(HaltError),
}

/// `send_many` or `try_send_many` took only the first `accepted` records; the others come back.
#[derive(Debug, thiserror::Error)]
#[error("{cause}; the first {accepted} records were taken, the other {} were not", rest.len())]
pub struct SendManyError {
    /// How many records, from the start of the input, were taken (their acks will come).
    pub accepted: usize,
    /// The records not taken, unchanged, in input order.
    pub rest: Vec<Record>,
    /// Why the call stopped.
    pub cause: SendManyCause,
}

/// What one attempt to hand over a chunk achieved.
enum Chunk {
    /// This many records were taken (zero: the budget had no room for the next one).
    Taken(usize),
    /// Nothing more can be taken; the records removed from the input but not taken.
    Refused(SendManyCause, Vec<Record>),
}

impl Handle {
    /// Sends `records` in order, in as few channel messages as the memory budget allows (one
    /// when it has room for them all); waits for room like [`Handle::send`]. Returns once every
    /// record is taken, or fails with the ones not taken (see [`SendManyError`]) when the
    /// pipeline halts or the client shuts down. The input must be finite: on failure, the rest
    /// of it is collected into [`SendManyError::rest`].
    pub async fn send_many<I>(&self, records: I) -> Result<(), SendManyError>
    where
        I: IntoIterator<Item = Record>,
    {
        let mut input = records.into_iter();
        let mut next = input.next();
        let mut accepted = 0;
        while next.is_some() {
            match self.send_chunk(&mut next, &mut input) {
                Chunk::Taken(0) => {}
                Chunk::Taken(taken) => {
                    accepted += taken;
                    continue;
                }
                Chunk::Refused(cause, rest) => return Err(refused(accepted, cause, rest, next, input)),
            }
            // No room for the next record: listen, then try again, so that room freed in
            // between is not missed; wait only if there still is none.
            let freed = self.shared.budget.listen();
            match self.send_chunk(&mut next, &mut input) {
                Chunk::Taken(0) => freed.await,
                Chunk::Taken(taken) => accepted += taken,
                Chunk::Refused(cause, rest) => return Err(refused(accepted, cause, rest, next, input)),
            }
        }
        Ok(())
    }

    /// Sends as many of `records` as the memory budget has room for now, in one channel
    /// message; never waits. Fails with `Full` and the records not taken when some did not
    /// fit, or with `Halted` / `Closed` (see [`SendManyError`]).
    // Like `send_many`'s: a halt is rare and carries its message; boxing it would make every
    // caller unbox it for nothing.
    #[allow(clippy::result_large_err)]
    pub fn try_send_many<I>(&self, records: I) -> Result<(), SendManyError>
    where
        I: IntoIterator<Item = Record>,
    {
        let mut input = records.into_iter();
        let mut next = input.next();
        if next.is_none() {
            return Ok(());
        }
        match self.send_chunk(&mut next, &mut input) {
            Chunk::Taken(_) if next.is_none() => Ok(()),
            Chunk::Taken(taken) => Err(refused(taken, SendManyCause::Full, Vec::new(), next, input)),
            Chunk::Refused(cause, rest) => Err(refused(0, cause, rest, next, input)),
        }
    }

    /// Reserves budget for `next` and the records after it while they fit, and hands them over
    /// in one message. `next` is left holding the first record not taken.
    fn send_chunk(&self, next: &mut Option<Record>, input: &mut impl Iterator<Item = Record>) -> Chunk {
        if let Some(error) = self.shared.halted() {
            return Chunk::Refused(SendManyCause::Halted(error), Vec::new());
        }
        if self.inputs.is_closed() {
            return Chunk::Refused(SendManyCause::Closed, Vec::new());
        }
        // Sized for the common case (everything fits) without trusting a huge hint.
        let mut chunk = Vec::with_capacity(input.size_hint().0.saturating_add(1).min(4096));
        let mut reserved = 0;
        while let Some(record) = next.take() {
            let cost = queued_cost(&record);
            if !self.shared.budget.try_reserve(cost) {
                *next = Some(record);
                break;
            }
            reserved += cost;
            chunk.push(record);
            *next = input.next();
        }
        if chunk.is_empty() {
            return Chunk::Taken(0);
        }
        let taken = chunk.len();
        match self.inputs.try_send(Input::Records(chunk)) {
            Ok(()) => Chunk::Taken(taken),
            Err(error) => {
                self.shared.budget.release(reserved);
                match error.into_inner() {
                    Input::Records(chunk) => Chunk::Refused(SendManyCause::Closed, chunk),
                    // A failed send hands back what was sent: records.
                    Input::Record(_) | Input::Flush(_) => unreachable!("a chunk send returned another input"),
                }
            }
        }
    }
}

/// The error of a call that took `accepted` records: `not_taken` (removed from the input but
/// not handed over), then `next` and the rest of the input.
fn refused(
    accepted: usize,
    cause: SendManyCause,
    mut not_taken: Vec<Record>,
    next: Option<Record>,
    input: impl Iterator<Item = Record>,
) -> SendManyError {
    not_taken.extend(next);
    not_taken.extend(input);
    SendManyError { accepted, rest: not_taken, cause }
}
