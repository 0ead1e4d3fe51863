//! The I/O of one stream (one gRPC call): a task that starts the call, reports when requests
//! can be written, forwards acks and the end of the call, and closes it as the core says
//! (`transport.md` §15.1–§15.5).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use futures_lite::{FutureExt, Stream};
use stateful_logs::StreamId;
use stateful_logs::proto::StatefulBatch;
use stateful_logs::transport::{CloseMode, Failure, Metadata, Side};

use crate::grpc::{self, GrpcChannel};
use crate::runtime::Runtime;

/// What a stream task reports to its pipeline's driver.
#[derive(Debug)]
pub(crate) enum StreamEvent {
    /// Request messages can be written (the call's request body was first polled).
    Opened(StreamId),
    /// The call could not start.
    OpenFailed(StreamId, Failure),
    /// The request channel took its message: the stream can take another.
    Writable(StreamId),
    /// A `BatchStatus` arrived.
    Ack { stream: StreamId, batch_id: u32, status: i32 },
    /// The call failed or ended.
    Failed { stream: StreamId, side: Side, failure: Failure },
}

/// Whether the task still reports, and whether it reported "opened" (one lock for both, so
/// that "opened" and a failure are never reported out of order or after a close).
#[derive(Default)]
struct ReportState {
    opened: bool,
    closed: bool,
}

#[derive(Clone)]
struct Reporter {
    stream: StreamId,
    events: Sender<StreamEvent>,
    state: Arc<Mutex<ReportState>>,
}

impl Reporter {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReportState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn opened(&self) {
        let mut state = self.lock();
        if !state.opened && !state.closed {
            state.opened = true;
            let _ = self.events.try_send(StreamEvent::Opened(self.stream));
        }
    }

    fn report(&self, event: StreamEvent) {
        if !self.lock().closed {
            let _ = self.events.try_send(event);
        }
    }

    /// The call ended with `failure`: an open failure if "opened" was never reported.
    fn ended(&self, failure: Failure) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.closed = true;
        let event = if state.opened {
            StreamEvent::Failed { stream: self.stream, side: Side::Recv, failure }
        } else {
            StreamEvent::OpenFailed(self.stream, failure)
        };
        let _ = self.events.try_send(event);
    }

    fn close(&self) {
        self.lock().closed = true;
    }
}

/// The request messages of a call: a capacity-1 channel, so the driver pulls a batch from the
/// core only when the previous one was taken by the HTTP/2 stream (§15.2).
struct RequestStream {
    messages: Pin<Box<Receiver<StatefulBatch>>>,
    reporter: Reporter,
}

impl Stream for RequestStream {
    type Item = StatefulBatch;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StatefulBatch>> {
        // The first poll of the body means the call started and requests can be written.
        self.reporter.opened();
        let polled = self.messages.as_mut().poll_next(cx);
        if let Poll::Ready(Some(_)) = &polled {
            self.reporter.report(StreamEvent::Writable(self.reporter.stream));
        }
        polled
    }
}

/// The driver's side of one stream.
pub(crate) struct StreamHandle {
    /// Request messages; dropped to half-close.
    pub requests: Option<Sender<StatefulBatch>>,
    control: Sender<CloseMode>,
    /// "Opened" was reported for it.
    pub opened: bool,
}

impl StreamHandle {
    /// Whether the stream can take one more message now.
    pub fn writable(&self) -> bool {
        self.opened && self.requests.as_ref().is_some_and(|r| r.is_empty())
    }

    /// Ends the stream: `Graceful` half-closes and drains, `Abort` cancels (§15.5).
    pub fn close(mut self, mode: CloseMode) {
        self.requests = None;
        let _ = self.control.try_send(mode);
    }
}

/// Everything a stream task needs besides its connection.
pub(crate) struct StreamStart {
    pub stream: StreamId,
    pub path: &'static str,
    pub metadata: Metadata,
    pub user_agent: String,
    pub drain_timeout: Duration,
    pub events: Sender<StreamEvent>,
    /// Held by the stream's task until it ends: the driver waits for every task at shutdown,
    /// so that each graceful close's half-close is on the wire before the client returns.
    pub alive: Sender<()>,
}

/// Spawns the task of a new stream and returns the driver's handle.
pub(crate) fn spawn_stream<R, T>(runtime: &R, service: T, start: StreamStart) -> StreamHandle
where
    R: Runtime,
    T: GrpcChannel,
{
    let (request_tx, request_rx) = async_channel::bounded(1);
    let (control_tx, control_rx) = async_channel::bounded(1);
    let reporter = Reporter {
        stream: start.stream,
        events: start.events.clone(),
        state: Arc::new(Mutex::new(ReportState::default())),
    };
    let messages = RequestStream { messages: Box::pin(request_rx), reporter: reporter.clone() };
    match grpc::stream_request(messages, &start.metadata, &start.user_agent) {
        Ok(request) => {
            let task = run_stream(
                runtime.clone(),
                service,
                start.path,
                request,
                reporter,
                control_rx,
                start.drain_timeout,
            );
            let alive = start.alive;
            runtime.spawn(Box::pin(async move {
                task.await;
                drop(alive);
            }));
        }
        Err(message) => reporter.ended(Failure::Connection(message)),
    }
    StreamHandle { requests: Some(request_tx), control: control_tx, opened: false }
}

enum Wake<T> {
    Call(T),
    Close(CloseMode),
    DrainOver,
}

/// Waits for the call's next step, a close from the driver, or the end of a graceful drain.
async fn next<T>(
    step: impl std::future::Future<Output = T>,
    control: &Receiver<CloseMode>,
    drain: &mut Option<crate::runtime::BoxFuture>,
) -> Wake<T> {
    let step = async { Wake::Call(step.await) };
    match drain {
        // Once closing, the driver has nothing more to say: only the drain timer matters.
        Some(timer) => {
            step.or(async {
                timer.as_mut().await;
                Wake::DrainOver
            })
            .await
        }
        // A closed control channel means the driver is gone: cancel.
        None => step.or(async { Wake::Close(control.recv().await.unwrap_or(CloseMode::Abort)) }).await,
    }
}

async fn run_stream<R, T>(
    runtime: R,
    service: T,
    path: &'static str,
    request: tonic::Request<RequestStream>,
    reporter: Reporter,
    control: Receiver<CloseMode>,
    drain_timeout: Duration,
) where
    R: Runtime,
    T: GrpcChannel,
{
    let mut drain: Option<crate::runtime::BoxFuture> = None;
    let on_close = |mode: CloseMode, drain: &mut Option<crate::runtime::BoxFuture>| {
        reporter.close();
        match mode {
            CloseMode::Abort => false,
            CloseMode::Graceful => {
                *drain = Some(runtime.sleep_until(runtime.now() + drain_timeout));
                true
            }
        }
    };

    let call = grpc::start_call(service, path, request);
    let mut call = std::pin::pin!(call);
    let mut responses = loop {
        match next(call.as_mut(), &control, &mut drain).await {
            Wake::Call(Ok(responses)) => break responses,
            Wake::Call(Err(failure)) => return reporter.ended(failure),
            Wake::Close(mode) => {
                if !on_close(mode, &mut drain) {
                    return;
                }
            }
            Wake::DrainOver => return,
        }
    };
    loop {
        match next(responses.message(), &control, &mut drain).await {
            Wake::Call(Ok(Some(status))) => reporter.report(StreamEvent::Ack {
                stream: reporter.stream,
                batch_id: status.batch_id,
                status: status.status,
            }),
            Wake::Call(Ok(None)) => return reporter.ended(Failure::Eof),
            Wake::Call(Err(status)) => return reporter.ended(grpc::failure_from_status(&status)),
            Wake::Close(mode) => {
                if !on_close(mode, &mut drain) {
                    return;
                }
            }
            Wake::DrainOver => return,
        }
    }
}
