//! Failures a deployment must see (issue "Deploy it and trust it", item 5): every failure
//! rotation is announced with its cause, the next attempt's delay and what to check; ack
//! timeouts and the batches they replay are counted; an intake that refuses a message as too
//! large halts with an error naming the setting instead of retrying.

use std::time::Duration;

use stateful_logs::transport::{ApiKey, EndpointConfig, Failure, HaltError, Side, State};
use stateful_logs::{Action, Pipeline, PipelineConfig, Record, StreamId, Timestamp};

struct Driver {
    p: Pipeline,
    now: Timestamp,
    stream: Option<StreamId>,
    actions: Vec<Action>,
}

impl Driver {
    fn new(edit: impl FnOnce(&mut PipelineConfig)) -> Driver {
        let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("key"))]);
        c.max_batch_items = 2;
        edit(&mut c);
        let mut d = Driver {
            p: Pipeline::new(c, 5, Timestamp(0)).expect("valid"),
            now: Timestamp(0),
            stream: None,
            actions: Vec::new(),
        };
        d.drain();
        d
    }

    fn drain(&mut self) {
        while let Some(action) = self.p.poll_action() {
            if let Action::OpenStream { stream, .. } = &action {
                self.stream = Some(*stream);
            }
            self.actions.push(action);
        }
    }

    /// Opens the pending stream and sends two records in one batch.
    fn open_and_send(&mut self) -> StreamId {
        let stream = self.stream.expect("an OpenStream");
        self.p.handle_stream_opened(self.now, stream);
        for token in 0..2 {
            self.p
                .handle_record(self.now, Record::new(1, format!("line {token}")).with_ack_token(token))
                .expect("taken");
        }
        self.drain();
        while self.p.poll_transmit(self.now, stream).is_some() {}
        self.drain();
        stream
    }

    fn retries(&self) -> Vec<(String, &'static str, u64, usize)> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Retrying { cause, hint, delay_ms, replayed_batches, .. } => {
                    Some((cause.clone(), *hint, *delay_ms, *replayed_batches))
                }
                _ => None,
            })
            .collect()
    }
}

#[test]
fn a_stream_failure_is_announced_with_its_cause_delay_hint_and_replay() {
    let mut d = Driver::new(|_| {});
    let stream = d.open_and_send();
    let failure = Failure::status(14, "intake restarting");
    d.p.handle_stream_error(d.now, stream, Side::Recv, failure);
    d.drain();
    let retries = d.retries();
    assert_eq!(retries.len(), 1, "{:?}", d.actions);
    let (cause, hint, delay_ms, replayed) = &retries[0];
    assert_eq!(cause, "recv_error_Unavailable: intake restarting");
    assert!(hint.contains("unavailable"), "{hint}");
    assert_eq!(Some(d.now.add_millis(*delay_ms)), d.p.poll_timeout(), "the delay is the backoff's");
    // The first retry after a working stream is jittered over the retry policy's first window.
    assert!(*delay_ms <= 6_000, "first retry window: {delay_ms}");
    assert_eq!(*replayed, 1, "the sent batch goes again");
    assert_eq!(d.p.transport().metrics().batches_replayed, 1);
}

#[test]
fn a_refused_connection_names_what_to_check() {
    let mut d = Driver::new(|_| {});
    let stream = d.stream.expect("an OpenStream");
    let failure = Failure::Connection("tcp connect error: Connection refused (os error 111)".into());
    d.p.handle_stream_open_failed(d.now, stream, failure);
    d.drain();
    let retries = d.retries();
    assert_eq!(retries.len(), 1);
    assert!(retries[0].0.starts_with("stream_creation_failed: tcp connect error"), "{}", retries[0].0);
    assert!(retries[0].1.contains("listening"), "{}", retries[0].1);
}

#[test]
fn an_ack_timeout_is_announced_and_its_replay_counted() {
    let mut d = Driver::new(|c| c.transport.ack_timeout = Some(Duration::from_secs(30)));
    d.open_and_send();
    d.now = d.now.add_millis(30_000);
    d.p.handle_timeout(d.now);
    d.drain();
    let retries = d.retries();
    assert_eq!(retries.len(), 1, "{:?}", d.actions);
    assert!(retries[0].0.starts_with("ack_timeout"), "{}", retries[0].0);
    assert!(retries[0].1.contains("ack_timeout"), "{}", retries[0].1);
    assert_eq!(retries[0].3, 1);
    let m = d.p.transport().metrics();
    assert_eq!((m.stream_errors.get("ack_timeout"), m.batches_replayed), (1, 1));
}

#[test]
fn a_message_too_large_for_the_intake_halts_naming_the_setting() {
    let mut d = Driver::new(|c| c.transport.max_message_bytes = 100_000);
    let stream = d.open_and_send();
    let message = "Error, decoded message length too large: found 4718592 bytes, the limit is: 4194304 bytes";
    let failure = Failure::status(11, message);
    d.p.handle_stream_error(d.now, stream, Side::Recv, failure);
    d.drain();
    assert_eq!(d.p.state(), State::Halted);
    assert!(d.retries().is_empty(), "no retry loop on a message that cannot fit");
    let halt = d.actions.iter().find_map(|a| match a {
        Action::Halted(h) => Some(h.clone()),
        _ => None,
    });
    let Some(halt @ HaltError::MessageTooLarge { max_message_bytes: 100_000, .. }) = halt else {
        panic!("{:?}", d.actions)
    };
    let message = halt.to_string();
    assert!(message.contains("max_message_bytes") && message.contains("too large"), "{message}");
    assert!(!message.contains("delta"), "not the profile hint: {message}");
}
