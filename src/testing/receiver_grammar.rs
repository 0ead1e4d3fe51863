//! The receiver's per-stream action grammar (spec `transport.md` §16), shared by
//! `tests/receiver_props.rs` (proptest) and the `receiver_input` fuzz target (`fuzz/`).
//!
//! Whatever arrives, each stream's actions are a run of acknowledgements (each regular batch's
//! `Deliver` just before its `SendStatus`) followed by exactly one `EndStream`, after which
//! nothing more happens on that stream.

use crate::StreamId;
use crate::receiver::{BATCH_STATUS_OK, Receiver, ReceiverAction};
use crate::status_code as code;

/// Every action the receiver has queued, in order.
pub fn drain(r: &mut Receiver) -> Vec<ReceiverAction> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

/// What one stream has done so far; each `after_*` method checks the actions that followed
/// one input for this stream and fails with a description of the violation.
#[derive(Debug)]
pub struct StreamCheck {
    /// The stream checked.
    pub stream: StreamId,
    /// Whether the stream was started (a start for a started stream is ignored).
    pub started: bool,
    /// The code of the stream's `EndStream`, once it ended.
    pub ended: Option<i32>,
    /// Batches acknowledged.
    pub acked: usize,
}

impl StreamCheck {
    /// A stream not started yet.
    pub fn new(stream: StreamId) -> Self {
        StreamCheck { stream, started: false, ended: None, acked: 0 }
    }

    fn own(&self, actions: &[ReceiverAction]) -> Result<(), String> {
        for a in actions {
            let stream = match a {
                ReceiverAction::Deliver { stream, .. }
                | ReceiverAction::SendStatus { stream, .. }
                | ReceiverAction::EndStream { stream, .. } => *stream,
            };
            if stream != self.stream {
                return Err(format!("action for {stream} after an input for {}: {a:?}", self.stream));
            }
        }
        Ok(())
    }

    fn end(&mut self, actions: &[ReceiverAction], allowed: &[i32], input: &str) -> Result<(), String> {
        match actions {
            [ReceiverAction::EndStream { code: c, message, .. }] => {
                if !allowed.contains(c) {
                    return Err(format!("{input} ended the stream with code {c} ({message:?})"));
                }
                if *c != code::OK && message.is_empty() {
                    return Err(format!("{input} ended the stream with code {c} and no message"));
                }
                self.ended = Some(*c);
                Ok(())
            }
            other => Err(format!("{input} gave {other:?}; expected exactly one EndStream")),
        }
    }

    /// After `handle_stream_start`: nothing (accepted), or one `EndStream` refusing it.
    pub fn after_start(&mut self, actions: &[ReceiverAction]) -> Result<(), String> {
        self.own(actions)?;
        if self.started && self.ended.is_none() {
            // A start for an open stream is ignored.
            return if actions.is_empty() { Ok(()) } else { Err(format!("repeated start gave {actions:?}")) };
        }
        self.started = true;
        self.ended = None;
        self.acked = 0;
        if actions.is_empty() {
            return Ok(());
        }
        let refusals =
            [code::UNIMPLEMENTED, code::UNAUTHENTICATED, code::INVALID_ARGUMENT, code::RESOURCE_EXHAUSTED];
        self.end(actions, &refusals, "the start")
    }

    /// After `handle_batch(batch_id)`: its ack (a regular batch's `Deliver` just before), or one
    /// `EndStream` with a typed error code; nothing once the stream has ended.
    pub fn after_batch(&mut self, batch_id: u32, actions: &[ReceiverAction]) -> Result<(), String> {
        self.own(actions)?;
        if !self.started || self.ended.is_some() {
            return if actions.is_empty() {
                Ok(())
            } else {
                Err(format!("actions for a stream that is not open: {actions:?}"))
            };
        }
        match actions {
            [ReceiverAction::SendStatus { batch_id: acked, status, .. }] => {
                if *acked != batch_id || *status != BATCH_STATUS_OK || batch_id != 0 {
                    return Err(format!(
                        "batch {batch_id} gave {actions:?}: a regular batch is delivered first"
                    ));
                }
                self.acked += 1;
                Ok(())
            }
            [
                ReceiverAction::Deliver { batch_id: delivered, .. },
                ReceiverAction::SendStatus { batch_id: acked, status, .. },
            ] => {
                if *delivered != batch_id || *acked != batch_id || batch_id == 0 || *status != BATCH_STATUS_OK
                {
                    return Err(format!("batch {batch_id} gave {actions:?}"));
                }
                self.acked += 1;
                Ok(())
            }
            _ => self.end(actions, &[code::INVALID_ARGUMENT, code::RESOURCE_EXHAUSTED], "a batch"),
        }
    }

    /// After `handle_client_end`: `EndStream OK` for an open stream, nothing otherwise.
    pub fn after_client_end(&mut self, actions: &[ReceiverAction]) -> Result<(), String> {
        self.own(actions)?;
        if !self.started || self.ended.is_some() {
            return if actions.is_empty() {
                Ok(())
            } else {
                Err(format!("end of a closed stream gave {actions:?}"))
            };
        }
        self.end(actions, &[code::OK], "the client's end")
    }

    /// After `handle_client_reset`: nothing, and the stream is forgotten.
    pub fn after_client_reset(&mut self, actions: &[ReceiverAction]) -> Result<(), String> {
        if !actions.is_empty() {
            return Err(format!("a reset gave {actions:?}"));
        }
        if self.started && self.ended.is_none() {
            // Forgotten without an EndStream: a later start is a new stream.
            self.started = false;
        }
        Ok(())
    }

    /// After `handle_timeout`: nothing, or `DEADLINE_EXCEEDED` for an open stream.
    pub fn after_timeout(&mut self, actions: &[ReceiverAction]) -> Result<(), String> {
        self.own(actions)?;
        if actions.is_empty() {
            return Ok(());
        }
        if !self.started || self.ended.is_some() {
            return Err(format!("a timeout ended a stream that is not open: {actions:?}"));
        }
        self.end(actions, &[code::DEADLINE_EXCEEDED], "a timeout")
    }
}

/// Once every stream has ended: no state is left and the gauge says so.
pub fn check_all_ended(r: &Receiver) -> Result<(), String> {
    if r.open_streams() != 0 {
        return Err(format!("{} streams still open", r.open_streams()));
    }
    if r.metrics().state_bytes != 0 {
        return Err(format!("state_bytes {} with no stream open", r.metrics().state_bytes));
    }
    Ok(())
}
