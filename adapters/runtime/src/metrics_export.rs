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
        ("stateful_logs_batches_replayed", m.batches_replayed),
        ("stateful_logs_retry_pushbacks", m.retry_pushbacks),
        ("stateful_logs_compression_nanos", m.compression_nanos),
        ("stateful_logs_compression_level_changes", m.compression_level_changes),
    ];
    for (name, value) in plain {
        counter!(name, "pipeline" => p.clone()).absolute(value);
    }
    let labeled: [(&'static str, &'static str, &LabeledCounter); 7] = [
        ("stateful_logs_bytes_dropped", "reason", &m.bytes_dropped),
        ("stateful_logs_records_dropped", "reason", &m.records_dropped),
        ("stateful_logs_rotations", "reason", &m.rotations),
        ("stateful_logs_stream_errors", "reason", &m.stream_errors),
        ("stateful_logs_halts", "reason", &m.halts),
        ("stateful_logs_codec_fallbacks", "endpoint", &m.codec_fallbacks),
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
    gauge!("stateful_logs_compression_level", "pipeline" => p.clone()).set(m.compression_level as f64);
    gauge!("stateful_logs_compression_cpu_share", "pipeline" => p.clone())
        .set(m.compression_cpu_permille as f64 / 1000.0);
    counter!("stateful_logs_ack_latency_ms_count", "pipeline" => p.clone()).absolute(m.ack_latency_ms.count);
    counter!("stateful_logs_ack_latency_ms_sum", "pipeline" => p).absolute(m.ack_latency_ms.sum);
}

/// Publishes the encoding metrics a Pipeline adds to the transport's.
pub fn export_pipeline(pipeline: &str, m: &stateful_logs::pipeline::PipelineMetrics<'_>) {
    let p = pipeline.to_owned();
    gauge!("stateful_logs_state_size_bytes", "pipeline" => p.clone()).set(m.state_size_bytes as f64);
    gauge!("stateful_logs_buffered_bytes", "pipeline" => p.clone()).set(m.buffered_bytes as f64);
    let t = m.translator;
    let counters = [
        ("stateful_logs_patterns_added", t.patterns_added),
        ("stateful_logs_patterns_updated", t.patterns_updated),
        ("stateful_logs_patterns_removed", t.patterns_removed),
        ("stateful_logs_pattern_bytes_added", t.pattern_bytes_added),
        ("stateful_logs_pattern_bytes_removed", t.pattern_bytes_removed),
        ("stateful_logs_dict_entries_added", t.dict_entries_added),
        ("stateful_logs_dict_entries_removed", t.dict_entries_removed),
        ("stateful_logs_dict_entry_bytes_added", t.dict_entry_bytes_added),
        ("stateful_logs_dict_entry_bytes_removed", t.dict_entry_bytes_removed),
        ("stateful_logs_json_schemas_added", t.json_schemas_added),
        ("stateful_logs_json_schemas_removed", t.json_schemas_removed),
        ("stateful_logs_json_logs", t.json_logs),
        ("stateful_logs_pattern_logs", t.pattern_logs),
        ("stateful_logs_raw_logs", t.raw_logs),
        ("stateful_logs_pattern_log_bytes", t.pattern_log_bytes),
        ("stateful_logs_raw_log_bytes", t.raw_log_bytes),
        ("stateful_logs_batches_rendered_raw", m.batches_rendered_raw),
    ];
    for (name, value) in counters {
        counter!(name, "pipeline" => p.clone()).absolute(value);
    }
    for reason in ["too_large", "unacknowledged_at_shutdown"] {
        counter!("stateful_logs_records_dropped", "pipeline" => p.clone(), "reason" => reason)
            .absolute(m.records_dropped(reason));
        counter!("stateful_logs_bytes_dropped", "pipeline" => p.clone(), "reason" => reason)
            .absolute(m.bytes_dropped(reason));
    }
}
