//! The receiving end of the HTTP JSON baseline (`BatchFormat::HttpJson`, spec `encoding.md`
//! §11): each regular batch is a JSON array of log objects with `message`, `timestamp`,
//! `status`, `hostname`, `service`, `ddsource`, `ddtags`; batch 0 is empty (the baseline keeps
//! no state). Logs come out shaped as the stateful encoding's would (the tag string: tags,
//! then `hostname:`, `service:` in `v1`, `ddsource:`), so one delivery check serves both.
//! Everything else (path, key, codec, batch order, limits) is the receiver's, unchanged.

use super::batch::Applied;
use super::config::ReceiverConfig;
use super::error::Violation;
use super::log::{LogBody, ReceivedLog};
use crate::Profile;

/// Reads batch `batch_id` (decompressed) of a baseline stream.
pub(super) fn read_batch(
    profile: Profile,
    batch_id: u32,
    payload: &[u8],
    config: &ReceiverConfig,
) -> Result<Applied, Violation> {
    let malformed = |what: String| Violation::MalformedJsonBatch(what);
    if batch_id == 0 {
        return if payload.is_empty() {
            Ok(Applied { logs: Vec::new(), delivered_bytes: 0 })
        } else {
            Err(malformed("batch 0 of the baseline carries no state and must be empty".into()))
        };
    }
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(|e| malformed(e.to_string()))?;
    let array = value.as_array().ok_or_else(|| malformed("not a JSON array".into()))?;
    let mut logs = Vec::with_capacity(array.len());
    let mut delivered_bytes = 0u64;
    for (index, entry) in array.iter().enumerate() {
        let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
        let message = entry
            .get("message")
            .and_then(|m| m.as_str())
            .ok_or_else(|| malformed(format!("log {index} has no message string")))?;
        let timestamp_ms = entry.get("timestamp").and_then(|t| t.as_i64()).unwrap_or(0);
        let mut tags: Vec<String> =
            field("ddtags").map(|t| t.split(',').map(str::to_owned).collect()).unwrap_or_default();
        tags.extend(field("hostname").map(|h| format!("hostname:{h}")));
        if profile == Profile::V1 {
            tags.extend(field("service").map(|s| format!("service:{s}")));
        }
        tags.extend(field("ddsource").map(|s| format!("ddsource:{s}")));
        let log = ReceivedLog {
            profile,
            timestamp_ms,
            body: LogBody::Text(message.as_bytes().to_vec()),
            status: field("status").map(str::to_owned),
            service: if profile == Profile::V2 { field("service").map(str::to_owned) } else { None },
            tags: if tags.is_empty() { None } else { Some(tags.join(",")) },
            uuid: None,
        };
        delivered_bytes = delivered_bytes.saturating_add(message.len() as u64 + log.metadata_bytes());
        if delivered_bytes > config.max_delivered_bytes_per_batch {
            return Err(Violation::DeliveredBytesExceeded(config.max_delivered_bytes_per_batch));
        }
        logs.push(log);
    }
    Ok(Applied { logs, delivered_bytes })
}
