//! Export of the core's metrics through the `metrics` facade, as `stateful_logs_*` series
//! labelled by pipeline (`transport.md` §17).

use metrics::{counter, gauge};
use stateful_logs::transport::{LabeledCounter, Metrics};

/// Publishes the transport metrics of one pipeline. Counters are set to the core's totals.
pub fn export_transport(pipeline: &str, m: &Metrics) {
    let p = pipeline.to_owned();
    let plain = [
        ("stateful_logs_bytes_sent", m.bytes_sent),
        ("stateful_logs_records_sent", m.records_sent),
        ("stateful_logs_records_acked", m.records_acked),
        ("stateful_logs_raw_bytes_acked", m.raw_bytes_acked),
        ("stateful_logs_pre_compression_bytes", m.pre_compression_bytes),
        ("stateful_logs_encoded_bytes", m.encoded_bytes),
        ("stateful_logs_streams_opened", m.streams_opened),
        ("stateful_logs_failovers", m.failovers),
    ];
    for (name, value) in plain {
        counter!(name, "pipeline" => p.clone()).absolute(value);
    }
    let labeled: [(&'static str, &'static str, &LabeledCounter); 6] = [
        ("stateful_logs_bytes_dropped", "reason", &m.bytes_dropped),
        ("stateful_logs_records_dropped", "reason", &m.records_dropped),
        ("stateful_logs_rotations", "reason", &m.rotations),
        ("stateful_logs_stream_errors", "reason", &m.stream_errors),
        ("stateful_logs_halts", "reason", &m.halts),
        ("stateful_logs_ack_status_unexpected", "status", &m.ack_status_unexpected),
    ];
    for (name, label, values) in labeled {
        for (value_label, value) in values.iter() {
            counter!(name, "pipeline" => p.clone(), label => value_label.to_owned()).absolute(value);
        }
    }
    gauge!("stateful_logs_stream_state_bytes", "pipeline" => p.clone()).set(m.stream_state_bytes as f64);
    gauge!("stateful_logs_inflight_bytes", "pipeline" => p.clone()).set(m.inflight_bytes as f64);
    gauge!("stateful_logs_inflight_batches", "pipeline" => p.clone()).set(m.inflight_batches as f64);
    gauge!("stateful_logs_compression_ratio", "pipeline" => p.clone()).set(m.compression_ratio());
    counter!("stateful_logs_ack_latency_ms_count", "pipeline" => p.clone()).absolute(m.ack_latency_ms.count);
    counter!("stateful_logs_ack_latency_ms_sum", "pipeline" => p).absolute(m.ack_latency_ms.sum);
}
