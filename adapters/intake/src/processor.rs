//! What processes the streams of the intake: the sans-IO receiver of the core, or (for the
//! benchmark baseline) a pass-through that acks every batch and hands over its JSON array.

use bytes::Bytes;
use stateful_logs::codec::{ContentEncoding, decompress};
use stateful_logs::{Profile, StreamId, Timestamp};

pub use stateful_logs::receiver::{LogBody, ReceivedLog};

/// What the server must do for a stream: the core receiver's actions (`transport.md` §16),
/// which the pass-through processor produces too.
pub use stateful_logs::receiver::ReceiverAction as IntakeAction;

/// A sans-IO stream processor (the shape of the core's `Receiver`).
pub trait Processor: Send + 'static {
    /// A call started.
    fn handle_stream_start(
        &mut self,
        now: Timestamp,
        stream: StreamId,
        path: &str,
        metadata: &[(String, String)],
    );
    /// A `StatefulBatch` arrived.
    fn handle_batch(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, data: Bytes);
    /// The client half-closed.
    fn handle_client_end(&mut self, now: Timestamp, stream: StreamId);
    /// The client cancelled (or the server ended the call itself).
    fn handle_client_reset(&mut self, now: Timestamp, stream: StreamId);
    /// The clock reached `poll_timeout()`.
    fn handle_timeout(&mut self, now: Timestamp);
    /// The next action.
    fn poll_action(&mut self) -> Option<IntakeAction>;
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Timestamp>;
}

const OK: i32 = 0;
const INVALID_ARGUMENT: i32 = 3;
const UNIMPLEMENTED: i32 = 12;
const UNAUTHENTICATED: i32 = 16;

/// The baseline's receiving end: checks path, key and encoding like the receiver, then
/// decompresses each batch, reads its JSON array and acks it. Keeps no state between batches.
pub struct PassThrough {
    profiles: Vec<Profile>,
    api_keys: Vec<String>,
    max_decompressed_bytes: usize,
    streams: std::collections::HashMap<StreamId, (Profile, ContentEncoding)>,
    actions: std::collections::VecDeque<IntakeAction>,
}

impl PassThrough {
    /// A pass-through serving `profiles`, accepting `api_keys` (empty = any).
    pub fn new(profiles: Vec<Profile>, api_keys: Vec<String>, max_decompressed_bytes: usize) -> Self {
        PassThrough {
            profiles,
            api_keys,
            max_decompressed_bytes,
            streams: Default::default(),
            actions: Default::default(),
        }
    }

    fn end(&mut self, stream: StreamId, code: i32, message: impl Into<String>) {
        self.streams.remove(&stream);
        self.actions.push_back(IntakeAction::EndStream { stream, code, message: message.into() });
    }
}

/// Reads a batch of the baseline: a JSON array of objects with `message`, `timestamp`,
/// `status`, `hostname`, `service`, `ddsource`, `ddtags` (`encoding.md` §11), into logs shaped
/// as the receiver would reconstruct them (tag string: tags, then `hostname:`, `service:` in
/// `v1`, `ddsource:`).
fn parse_json_batch(profile: Profile, json: &[u8]) -> Result<Vec<ReceivedLog>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("batch is not JSON: {e}"))?;
    let array = value.as_array().ok_or("batch is not a JSON array")?;
    array
        .iter()
        .map(|entry| {
            let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
            let message = entry.get("message").and_then(|m| m.as_str()).ok_or("entry without a message")?;
            let timestamp_ms = entry.get("timestamp").and_then(|t| t.as_i64()).unwrap_or(0);
            let mut tags: Vec<String> =
                field("ddtags").map(|t| t.split(',').map(str::to_owned).collect()).unwrap_or_default();
            tags.extend(field("hostname").map(|h| format!("hostname:{h}")));
            if profile == Profile::V1 {
                tags.extend(field("service").map(|s| format!("service:{s}")));
            }
            tags.extend(field("ddsource").map(|s| format!("ddsource:{s}")));
            Ok(ReceivedLog {
                profile,
                timestamp_ms,
                body: LogBody::Text(message.as_bytes().to_vec()),
                status: field("status").map(str::to_owned),
                service: if profile == Profile::V2 { field("service").map(str::to_owned) } else { None },
                tags: if tags.is_empty() { None } else { Some(tags.join(",")) },
                uuid: None,
            })
        })
        .collect()
}

impl Processor for PassThrough {
    fn handle_stream_start(
        &mut self,
        _now: Timestamp,
        stream: StreamId,
        path: &str,
        metadata: &[(String, String)],
    ) {
        let header = |name: &str| metadata.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let Some(profile) = Profile::from_path(path).filter(|p| self.profiles.contains(p)) else {
            return self.end(stream, UNIMPLEMENTED, format!("method {path} is not served"));
        };
        if !self.api_keys.is_empty()
            && !header("dd-api-key").is_some_and(|k| self.api_keys.iter().any(|a| a == k))
        {
            return self.end(stream, UNAUTHENTICATED, "missing or unknown dd-api-key");
        }
        // The baseline is the HTTP intake's: per-batch codecs only.
        match header("dd-content-encoding").and_then(ContentEncoding::from_header) {
            Some(encoding) if !encoding.is_stream() => {
                self.streams.insert(stream, (profile, encoding));
            }
            _ => self.end(stream, INVALID_ARGUMENT, "missing or unsupported dd-content-encoding"),
        }
    }

    fn handle_batch(&mut self, _now: Timestamp, stream: StreamId, batch_id: u32, data: Bytes) {
        let Some(&(profile, encoding)) = self.streams.get(&stream) else { return };
        if batch_id != 0 {
            let logs = decompress(encoding, &data, self.max_decompressed_bytes)
                .map_err(|e| format!("batch {batch_id}: {e}"))
                .and_then(|json| {
                    parse_json_batch(profile, &json).map_err(|e| format!("batch {batch_id}: {e}"))
                });
            match logs {
                Ok(logs) => self.actions.push_back(IntakeAction::Deliver { stream, batch_id, logs }),
                Err(message) => return self.end(stream, INVALID_ARGUMENT, message),
            }
        }
        self.actions.push_back(IntakeAction::SendStatus { stream, batch_id, status: 1 });
    }

    fn handle_client_end(&mut self, _now: Timestamp, stream: StreamId) {
        if self.streams.contains_key(&stream) {
            self.end(stream, OK, "");
        }
    }

    fn handle_client_reset(&mut self, _now: Timestamp, stream: StreamId) {
        self.streams.remove(&stream);
    }

    fn handle_timeout(&mut self, _now: Timestamp) {}

    fn poll_action(&mut self) -> Option<IntakeAction> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        None
    }
}

/// The core's receiver as the intake's processor.
impl Processor for stateful_logs::receiver::Receiver {
    fn handle_stream_start(
        &mut self,
        now: Timestamp,
        stream: StreamId,
        path: &str,
        metadata: &[(String, String)],
    ) {
        self.handle_stream_start(now, stream, path, metadata)
    }
    fn handle_batch(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, data: Bytes) {
        self.handle_batch(now, stream, batch_id, data)
    }
    fn handle_client_end(&mut self, now: Timestamp, stream: StreamId) {
        self.handle_client_end(now, stream)
    }
    fn handle_client_reset(&mut self, now: Timestamp, stream: StreamId) {
        self.handle_client_reset(now, stream)
    }
    fn handle_timeout(&mut self, now: Timestamp) {
        self.handle_timeout(now)
    }
    fn poll_action(&mut self) -> Option<IntakeAction> {
        self.poll_action()
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        self.poll_timeout()
    }
}
