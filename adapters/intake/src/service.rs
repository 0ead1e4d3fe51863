//! The hand-routed gRPC service: both method paths go to the streaming handler, anything else
//! is `UNIMPLEMENTED`. One sans-IO processor, shared behind a mutex, decides everything;
//! this module only moves messages, applies injected faults and delivers logs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_channel::Sender;
use futures_lite::Stream;
use stateful_logs::proto::{BatchStatus, StatefulBatch};
use stateful_logs::{Profile, StreamId, Timestamp};
use tonic::body::Body;
use tonic::codec::Streaming;
use tonic::server::{Grpc, StreamingService};

use crate::body_watch::{BodyEnd, WatchedBody};
use crate::faults::{Faults, StreamFault};
use stateful_logs::{Receiver, ReceiverAction};

use crate::limits::OpenAdmission;
use crate::shutdown::Phase;
use crate::stats::IntakeStats;
use crate::{Delivered, Output};

type ServerCodec = tonic_prost::ProstCodec<BatchStatus, StatefulBatch>;
type Outgoing = (Instant, Result<BatchStatus, tonic::Status>);

/// One open call: where its responses go and how it misbehaves.
struct Slot {
    responses: Sender<Outgoing>,
    fault: Option<StreamFault>,
    acked: u32,
}

/// State shared by every connection of an intake, across restarts.
pub(crate) struct Shared {
    pub processor: Mutex<Receiver>,
    slots: Mutex<HashMap<StreamId, Slot>>,
    next_stream: AtomicU64,
    pub faults: Mutex<Faults>,
    pub stats: Mutex<IntakeStats>,
    pub sink: Sender<Delivered>,
    /// Takes each batch before its ack, when set (else batches go to `sink`).
    output: Option<Mutex<Output>>,
    origin: Instant,
    pub max_message_bytes: usize,
    /// The request headers of the last call started (for tests).
    pub last_metadata: Mutex<Vec<(String, String)>>,
    /// Wakes the timer task when the processor's deadline may have changed.
    pub timer_kick: Sender<()>,
    /// Where a graceful shutdown is; connections and call readers watch it.
    pub phase: tokio::sync::watch::Sender<Phase>,
    /// Admission control of new calls, when `ServerLimits::max_stream_opens_per_sec` is set.
    pub admission: Mutex<Option<OpenAdmission>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(
        processor: Receiver,
        sink: Sender<Delivered>,
        output: Option<Output>,
        max_message_bytes: usize,
        timer_kick: Sender<()>,
    ) -> Arc<Self> {
        Arc::new(Shared {
            processor: Mutex::new(processor),
            slots: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(1),
            faults: Mutex::new(Faults::default()),
            stats: Mutex::new(IntakeStats::default()),
            sink,
            output: output.map(Mutex::new),
            origin: Instant::now(),
            max_message_bytes,
            last_metadata: Mutex::new(Vec::new()),
            timer_kick,
            phase: tokio::sync::watch::Sender::new(Phase::Serving),
            admission: Mutex::new(None),
        })
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(stateful_logs::duration_ms(self.origin.elapsed()))
    }

    pub fn instant_of(&self, t: Timestamp) -> Instant {
        self.origin + Duration::from_millis(t.0)
    }

    /// Runs one processor call and carries out every action it produced.
    pub fn with_processor(&self, call: impl FnOnce(&mut Receiver, Timestamp)) {
        let mut processor = lock(&self.processor);
        call(&mut processor, self.now());
        let mut ended = Vec::new();
        while let Some(action) = processor.poll_action() {
            if let Some(stream) = self.carry_out(action) {
                ended.push(stream);
            }
        }
        // The intake itself ended these calls (injected faults): the processor forgets them.
        for stream in ended {
            processor.handle_client_reset(self.now(), stream);
            while let Some(action) = processor.poll_action() {
                self.carry_out(action);
            }
        }
        drop(processor);
        let _ = self.timer_kick.try_send(());
    }

    /// Carries out one action; returns a stream the intake ended on its own (a fault).
    fn carry_out(&self, action: ReceiverAction) -> Option<StreamId> {
        match action {
            ReceiverAction::Deliver { stream, batch_id, logs } => {
                self.deliver(Delivered { stream, batch_id, logs })
            }
            ReceiverAction::SendStatus { stream, batch_id, status } => self.ack(stream, batch_id, status),
            ReceiverAction::EndStream { stream, code, message } => {
                if let Some(slot) = lock(&self.slots).remove(&stream)
                    && code != 0
                {
                    let status = tonic::Status::new(tonic::Code::from(code), message);
                    let _ = slot.responses.try_send((Instant::now(), Err(status)));
                }
                // Dropping the slot's sender ends the call; with no error queued, with OK.
                None
            }
        }
    }

    /// Hands a batch to the output (or the deliveries channel). The processor always follows a
    /// `Deliver` with the batch's `SendStatus`, carried out after this returns: so with an
    /// output, a batch is acked only once the output took it. One the output refused ends
    /// its call `UNAVAILABLE` unacked (the client sends it again); returns that stream.
    fn deliver(&self, batch: Delivered) -> Option<StreamId> {
        tracing::trace!(stream = %batch.stream, batch_id = batch.batch_id, logs = batch.logs.len(), "delivering");
        let Some(output) = &self.output else {
            let _ = self.sink.try_send(batch);
            return None;
        };
        let error = match (lock(output))(&batch) {
            Ok(()) => return None,
            Err(error) => error,
        };
        let (stream, batch_id) = (batch.stream, batch.batch_id);
        tracing::error!(%stream, batch_id, %error, "the output refused a batch: its call ends unacked");
        if let Some(slot) = lock(&self.slots).remove(&stream) {
            let status = tonic::Status::unavailable(format!("the intake cannot store the batch: {error}"));
            let _ = slot.responses.try_send((Instant::now(), Err(status)));
        }
        Some(stream)
    }

    fn ack(&self, stream: StreamId, batch_id: u32, status: i32) -> Option<StreamId> {
        tracing::trace!(%stream, batch_id, status, "acking");
        let mut slots = lock(&self.slots);
        let slot = slots.get_mut(&stream)?;
        let due = Instant::now() + lock(&self.faults).ack_delay;
        let send = |slot: &Slot, batch_id: u32| {
            let _ = slot.responses.try_send((due, Ok(BatchStatus { batch_id, status })));
        };
        if batch_id != 0 {
            slot.acked += 1;
        }
        let acked = slot.acked;
        match slot.fault.clone() {
            None | Some(StreamFault::HeadersAfterFirstBatch) => send(slot, batch_id),
            Some(StreamFault::NeverAck) => return None,
            Some(StreamFault::WrongAckIds { after_batches }) => {
                send(slot, if acked > after_batches { batch_id.wrapping_add(1_000) } else { batch_id })
            }
            Some(StreamFault::EndWithStatus { after_batches, code }) => {
                send(slot, batch_id);
                if acked >= after_batches {
                    let status = tonic::Status::new(code, "injected fault");
                    let _ = slot.responses.try_send((due, Err(status)));
                    slots.remove(&stream);
                    return Some(stream);
                }
            }
            Some(StreamFault::Eof { after_batches }) => {
                send(slot, batch_id);
                if acked >= after_batches {
                    slots.remove(&stream);
                    return Some(stream);
                }
            }
        }
        lock(&self.stats).acks_sent += 1;
        None
    }

    /// Handles one read from a call's request stream; false when reading should stop. `end`
    /// tells a body cut off (reset, broken connection) from one the client ended.
    fn take_message(
        &self,
        stream: StreamId,
        next: Result<Option<StatefulBatch>, tonic::Status>,
        end: &BodyEnd,
    ) -> bool {
        if !lock(&self.slots).contains_key(&stream) {
            // The call was ended (by the processor, a fault or a shutdown): stop reading.
            return false;
        }
        let body_ended = !matches!(next, Ok(Some(_)));
        if body_ended && let Some(error) = end.cut_off() {
            lock(&self.stats).streams_reset_by_client += 1;
            tracing::debug!(%stream, %error, "the request body ended without END_STREAM");
            if next.is_ok() {
                // A reset tonic read as an end: the client is not waiting for an answer.
                lock(&self.slots).remove(&stream);
                self.with_processor(|p, now| p.handle_client_reset(now, stream));
                return false;
            }
        }
        match next {
            Ok(Some(batch)) => {
                let mut stats = lock(&self.stats);
                stats.batches_received += 1;
                stats.bytes_received += batch.data.len() as u64;
                drop(stats);
                self.with_processor(|p, now| p.handle_batch(now, stream, batch.batch_id, batch.data));
                true
            }
            Ok(None) => {
                self.with_processor(|p, now| p.handle_client_end(now, stream));
                false
            }
            Err(status) => {
                // Either the client reset the call (then nobody reads this) or its message
                // could not be read: too large, bad framing, not a StatefulBatch. Ending the
                // call without a status would read as OK to the client, which would then send
                // the same batch again on a new stream, forever; so say why.
                if let Some(slot) = lock(&self.slots).remove(&stream) {
                    let _ = slot.responses.try_send((Instant::now(), Err(unreadable_message(status))));
                }
                self.with_processor(|p, now| p.handle_client_reset(now, stream));
                false
            }
        }
    }

    /// Ends every open call for a shutdown: each call sends the acks already queued, then
    /// ends with `UNAVAILABLE` (its client sends the rest again, elsewhere or later), and the
    /// processor forgets it. Runs under the processor lock, so that no batch is between its
    /// delivery and its ack meanwhile. Returns how many calls it ended.
    pub fn end_all_calls(&self) -> usize {
        let mut processor = lock(&self.processor);
        let ended: Vec<(StreamId, Slot)> = lock(&self.slots).drain().collect();
        let now = self.now();
        for (stream, slot) in &ended {
            let status = tonic::Status::unavailable(
                "the intake is shutting down; send the unacknowledged batches again (to another intake or later)",
            );
            // Queued after the call's pending acks: they go out first, at their due times.
            let _ = slot.responses.try_send((Instant::now(), Err(status)));
            processor.handle_client_reset(now, *stream);
        }
        while let Some(action) = processor.poll_action() {
            self.carry_out(action);
        }
        drop(processor);
        let _ = self.timer_kick.try_send(());
        ended.len()
    }

    /// Admission control: `None` when the call may start, else the status that refuses it
    /// with its retry pushback.
    fn refuse_by_admission(&self) -> Option<tonic::Status> {
        let wait = lock(&self.admission).as_mut()?.admit(Instant::now()).err()?;
        lock(&self.stats).streams_pushed_back += 1;
        let ms = wait.as_millis().max(1);
        tracing::debug!(pushback_ms = %ms, "new stream refused by admission control");
        let mut metadata = tonic::metadata::MetadataMap::new();
        if let Ok(value) = ms.to_string().parse() {
            metadata.insert("grpc-retry-pushback-ms", value);
        }
        Some(tonic::Status::with_metadata(
            tonic::Code::ResourceExhausted,
            format!("too many new streams: this intake admits a limited number per second; retry in {ms} ms"),
            metadata,
        ))
    }

    /// Ends every open call abruptly (the connections are being dropped).
    pub fn forget_all_streams(&self) {
        let streams: Vec<StreamId> = lock(&self.slots).drain().map(|(id, _)| id).collect();
        for stream in streams {
            self.with_processor(|p, now| p.handle_client_reset(now, stream));
        }
    }
}

/// The status that ends a call whose request message could not be read.
fn unreadable_message(status: tonic::Status) -> tonic::Status {
    match status.code() {
        // tonic's code for a message above `max_decoding_message_size`.
        tonic::Code::OutOfRange => tonic::Status::resource_exhausted(format!(
            "the batch message is above this intake's size limit (max_decompressed_bytes + 64 KiB): {}; \
             send smaller batches",
            status.message()
        )),
        _ => tonic::Status::invalid_argument(format!(
            "the request message cannot be read: {}",
            status.message()
        )),
    }
}

/// The intake's gRPC service (hand-routed, no codegen).
#[derive(Clone)]
pub struct IntakeService {
    pub(crate) shared: Arc<Shared>,
}

impl tower::Service<http::Request<Body>> for IntakeService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            if Profile::from_path(&path).is_none() {
                return Ok(tonic::Status::unimplemented(format!("method {path} is not served")).into_http());
            }
            if let Some(status) = shared.refuse_by_admission() {
                return Ok(status.into_http());
            }
            let limit = shared.max_message_bytes;
            let mut grpc = Grpc::new(ServerCodec::default()).max_decoding_message_size(limit);
            let end = BodyEnd::default();
            let request = request.map(|body| Body::new(WatchedBody::new(body, end.clone())));
            Ok(grpc.streaming(StreamHandler { shared, path, end }, request).await)
        })
    }
}

/// Handles one call of either method.
struct StreamHandler {
    shared: Arc<Shared>,
    path: String,
    end: BodyEnd,
}

/// The response messages of a call, each released at its due time (ack delay).
pub(crate) struct ResponseStream {
    inner: Pin<Box<dyn Stream<Item = Result<BatchStatus, tonic::Status>> + Send>>,
}

impl Stream for ResponseStream {
    type Item = Result<BatchStatus, tonic::Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl StreamingService<StatefulBatch> for StreamHandler {
    type Response = BatchStatus;
    type ResponseStream = ResponseStream;
    type Future =
        Pin<Box<dyn Future<Output = Result<tonic::Response<ResponseStream>, tonic::Status>> + Send>>;

    fn call(&mut self, request: tonic::Request<Streaming<StatefulBatch>>) -> Self::Future {
        let shared = self.shared.clone();
        let path = self.path.clone();
        let end = self.end.clone();
        Box::pin(async move {
            let stream = StreamId(shared.next_stream.fetch_add(1, Ordering::Relaxed));
            let metadata: Vec<(String, String)> = request
                .metadata()
                .iter()
                .filter_map(|entry| match entry {
                    tonic::metadata::KeyAndValueRef::Ascii(key, value) => {
                        Some((key.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                    }
                    tonic::metadata::KeyAndValueRef::Binary(..) => None,
                })
                .collect();
            let (tx, rx) = async_channel::unbounded::<Outgoing>();
            let fault = lock(&shared.faults).queue.pop_front();
            tracing::debug!(%stream, %path, ?fault, "stream started");
            let mut refused = false;
            // Under the processor lock, as a shutdown ends the calls: a call is either refused
            // here or ended there, never missed in between.
            shared.with_processor(|p, now| {
                let mut slots = lock(&shared.slots);
                if *shared.phase.borrow() != Phase::Serving {
                    refused = true;
                    return;
                }
                slots.insert(stream, Slot { responses: tx, fault, acked: 0 });
                drop(slots);
                p.handle_stream_start(now, stream, &path, &metadata);
            });
            if refused {
                return Err(tonic::Status::unavailable(
                    "the intake is shutting down; send the batches to another intake or later",
                ));
            }
            lock(&shared.stats).streams_started += 1;
            *lock(&shared.last_metadata) = metadata.clone();

            let mut messages = request.into_inner();
            let headers_wait = matches!(
                lock(&shared.slots).get(&stream).and_then(|slot| slot.fault.clone()),
                Some(StreamFault::HeadersAfterFirstBatch)
            );
            let mut reading = true;
            if headers_wait {
                // Some servers send their headers only with the first ack: the client must
                // write before it sees them (`wire.md` §1).
                reading = shared.take_message(stream, messages.message().await, &end);
            }
            if reading {
                let shared = shared.clone();
                // Reads on after a shutdown ended the call, until the client ends its side:
                // the connection then closes with nothing unread (no TCP reset that could
                // destroy the last acks on their way). A client that never ends it is cut
                // at the shutdown's deadline.
                tokio::spawn(
                    async move { while shared.take_message(stream, messages.message().await, &end) {} },
                );
            }

            let responses = futures_lite::stream::unfold(rx, |rx| async move {
                let (due, item) = rx.recv().await.ok()?;
                tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
                Some((item, rx))
            });
            Ok(tonic::Response::new(ResponseStream { inner: Box::pin(responses) }))
        })
    }
}
