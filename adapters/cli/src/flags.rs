//! Library settings told as the command-line flags that set them: a user of `ship --batch-size
//! 0` should read `--batch-size`, not the library's `max_batch_items`. One table, used for
//! every `ConfigError` the CLI reports.

use stateful_logs::ConfigError;

/// Each library setting a flag of `ship` or `intake` sets, and how to name it. In
/// `endpoints[]` settings `{n}` is the endpoint's place among the `--endpoint` flags (from 1).
const SETTING_FLAGS: &[(&str, &str)] = &[
    // ship
    ("max_batch_items", "--batch-size"),
    ("max_batch_bytes", "--max-batch-bytes"),
    ("max_message_bytes", "--max-message-bytes"),
    ("max_buffer_bytes", "--max-buffer"),
    ("compression.zstd_stream_window_log", "--zstd-stream-window-log"),
    ("compression.level", "--compression-level"),
    ("compression.cpu_budget", "--compression-cpu"),
    ("profile", "--profile"),
    ("shutdown_timeout", "--shutdown-timeout"),
    ("endpoints", "--endpoint"),
    ("endpoints[].host", "host of --endpoint #{n}"),
    ("endpoints[].api_key", "API key for --endpoint #{n} (from the variable --api-key-env names)"),
    ("endpoints[].ca_file", "--ca"),
    // intake
    ("api_keys", "--api-key"),
    ("max_streams", "--max-streams"),
    ("max_stream_window_log", "--max-stream-window-log"),
    ("server_limits.max_connections", "--max-connections"),
    ("server_limits.first_request_timeout", "--first-request-timeout"),
];

/// The flag that sets `setting`, if a flag does.
pub fn flag_for(setting: &str) -> Option<String> {
    if let Some(rest) = setting.strip_prefix("endpoints[")
        && let Some((index, field)) = rest.split_once("].")
        && let Ok(index) = index.parse::<usize>()
    {
        let pattern = format!("endpoints[].{field}");
        let (_, flag) = SETTING_FLAGS.iter().find(|(name, _)| *name == pattern)?;
        return Some(flag.replace("{n}", &(index + 1).to_string()));
    }
    SETTING_FLAGS.iter().find(|(name, _)| *name == setting).map(|(_, flag)| (*flag).to_owned())
}

/// `error` in the CLI's words: the flag instead of the setting, in the name and in the
/// message (which may name another setting). A setting no flag sets keeps its library name.
pub fn describe(error: &ConfigError) -> String {
    let message = rename_settings(&error.message);
    match flag_for(&error.setting) {
        Some(flag) => format!("invalid {flag}: {message}"),
        None => format!("invalid setting `{}`: {message}", error.setting),
    }
}

/// Replaces every whole setting name of the table in `text` by its flag.
fn rename_settings(text: &str) -> String {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_name_char) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..].find(|c: char| !is_name_char(c)).unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        // A sentence's full stop is not part of the name.
        let name = word.trim_end_matches('.');
        match flag_for(name).filter(|_| !name.is_empty()) {
            Some(flag) => {
                out.push_str(&flag);
                out.push_str(&word[name.len()..]);
            }
            None => out.push_str(word),
        }
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_as_the_flags_that_set_them() {
        let error = ConfigError::new("max_batch_items", "must be at least 1 (1000 is the default)");
        assert_eq!(describe(&error), "invalid --batch-size: must be at least 1 (1000 is the default)");
        let error = ConfigError::new("endpoints[1].api_key", "is empty; set the API key the intake expects");
        assert_eq!(
            describe(&error),
            "invalid API key for --endpoint #2 (from the variable --api-key-env names): is empty; \
             set the API key the intake expects"
        );
        let error = ConfigError::new("endpoints[0].ca_file", "cannot read /x: gone");
        assert_eq!(describe(&error), "invalid --ca: cannot read /x: gone");
        let error =
            ConfigError::new("server_limits.max_connections", "is 0, which would refuse every client");
        assert!(describe(&error).starts_with("invalid --max-connections: is 0"));
    }

    #[test]
    fn setting_names_in_the_message_are_renamed_too_and_unknown_settings_keep_their_name() {
        let error = ConfigError::new(
            "inflight_max_bytes",
            "must be 0 (no cap) or at least max_batch_bytes (5000000), so that a full batch always fits",
        );
        assert_eq!(
            describe(&error),
            "invalid setting `inflight_max_bytes`: must be 0 (no cap) or at least --max-batch-bytes \
             (5000000), so that a full batch always fits"
        );
        assert_eq!(rename_settings("raise max_streams."), "raise --max-streams.");
        assert_eq!(rename_settings("keep max_streams_total, 1.5 s"), "keep max_streams_total, 1.5 s");
    }
}
