//! The driver's side of each core action: open and close streams, deliver acks, report
//! halts and retries (as one log line each), finish the shutdown.

use super::*;

impl<R, K> Driver<R, K>
where
    R: Runtime,
    K: Connector,
{
    /// Plays one core action (see the module doc).
    pub(super) fn handle_action(&mut self, action: Action) {
        let pipeline = self.settings.pipeline;
        match action {
            Action::OpenStream { stream, endpoint, path, metadata } => {
                let settings = self.core.endpoint(endpoint).clone();
                tracing::debug!(pipeline, %stream, endpoint, host = %settings.host, "opening stream");
                let Some(alive) = self.tasks_alive.clone() else {
                    // Shutdown complete: no new stream (the core opens none after it either).
                    return;
                };
                let start = StreamStart {
                    stream,
                    path,
                    metadata,
                    user_agent: self.settings.user_agent.clone(),
                    drain_timeout: self.settings.drain_timeout,
                    events: self.events_tx.clone(),
                    alive,
                };
                match self.pool.service(&settings) {
                    Ok(service) => {
                        let handle = spawn_stream(&self.runtime, service, start);
                        self.streams.insert(stream, handle);
                    }
                    Err(error) => {
                        let failure = if error.tls {
                            crate::grpc::tls_failure(error.to_string())
                        } else {
                            Failure::Connection(error.to_string())
                        };
                        let now = self.now();
                        self.core.handle_stream_open_failed(now, stream, failure);
                    }
                }
            }
            Action::CloseStream { stream, mode } => {
                if let Some(handle) = self.streams.remove(&stream) {
                    tracing::debug!(pipeline, %stream, ?mode, "closing stream");
                    handle.close(mode);
                }
            }
            Action::Acknowledge(entries) => {
                for entry in entries {
                    if entry.outcome == AckOutcome::Unacknowledged {
                        self.report.unacknowledged.push(entry.token);
                    }
                    let _ = self.outputs.acks.try_send(Ok(entry));
                }
            }
            Action::Retrying { endpoint, cause, hint, delay_ms, replayed_batches } => {
                let host = &self.core.endpoint(endpoint).host;
                tracing::warn!(
                    pipeline,
                    endpoint,
                    %host,
                    delay_ms,
                    replayed_batches,
                    "{cause}; next attempt in {}; {hint}",
                    human_delay(delay_ms)
                );
            }
            Action::CodecFallback { endpoint, from, to, message } => {
                tracing::warn!(
                    pipeline,
                    endpoint,
                    "endpoint {endpoint} refused the {from} content encoding ({message}); \
                     it gets {to} from now on, and the unacknowledged batches are sent again"
                );
            }
            Action::Halted(error) => {
                tracing::error!(pipeline, reason = error.label(), "{error}");
                // The ack stream first: whoever sees the halt on `halts` finds it there too.
                let _ = self.outputs.acks.try_send(Err(error.clone()));
                self.shared.set_halted(Some(error.clone()));
                let _ = self.outputs.halts.try_send(error);
            }
            Action::ShutdownComplete(summary) => {
                self.report.acked = summary.acked;
                self.report.dropped = summary.dropped;
                tracing::info!(
                    pipeline,
                    acked = summary.acked,
                    dropped = summary.dropped,
                    unacknowledged = summary.unacknowledged,
                    "shutdown complete"
                );
                // Wait for the streams' tasks (graceful closes write their half-close and
                // read the server's end), bounded by the drain timeout.
                self.tasks_alive = None;
                let close_deadline = self.runtime.now() + self.settings.drain_timeout + CLOSE_GRACE;
                if let Some(shutdown) = &mut self.shutdown {
                    shutdown.complete = true;
                    shutdown.close_deadline = Some(close_deadline);
                }
                self.finish_if_closed(false);
            }
        }
    }
}

/// A delay for a log line: `250 ms`, `4.1 s`, `at once`.
fn human_delay(ms: u64) -> String {
    match ms {
        0 => "at once".to_owned(),
        1..=999 => format!("{ms} ms"),
        _ => format!("{:.1} s", ms as f64 / 1000.0),
    }
}
