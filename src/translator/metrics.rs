//! The translator's counters (spec `transport.md` §17, layer P).

/// What the translator defined, deleted and sent. Counters only grow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TranslatorMetrics {
    /// New pattern defines.
    pub patterns_added: u64,
    /// Redefinitions of a live pattern.
    pub patterns_updated: u64,
    /// Pattern deletes.
    pub patterns_removed: u64,
    /// Serialized size of the pattern defines (new and updated).
    pub pattern_bytes_added: u64,
    /// Serialized size of the pattern deletes.
    pub pattern_bytes_removed: u64,
    /// Dictionary defines.
    pub dict_entries_added: u64,
    /// Dictionary deletes.
    pub dict_entries_removed: u64,
    /// Serialized size of the dictionary defines.
    pub dict_entry_bytes_added: u64,
    /// Serialized size of the dictionary deletes.
    pub dict_entry_bytes_removed: u64,
    /// `v2` schema defines.
    pub json_schemas_added: u64,
    /// `v2` schema deletes.
    pub json_schemas_removed: u64,
    /// Logs sent as JSON logs (`v1` structured with a message key, `v2` with a schema).
    pub json_logs: u64,
    /// Logs sent through a pattern.
    pub pattern_logs: u64,
    /// Logs sent as raw text.
    pub raw_logs: u64,
    /// Raw content bytes of the records sent through a pattern.
    pub pattern_log_bytes: u64,
    /// Raw content bytes of the records sent as raw text.
    pub raw_log_bytes: u64,
}

impl TranslatorMetrics {
    pub(crate) fn count_pattern_added(&mut self, bytes: u64) {
        self.patterns_added += 1;
        self.pattern_bytes_added += bytes;
    }

    pub(crate) fn count_pattern_updated(&mut self, bytes: u64) {
        self.patterns_updated += 1;
        self.pattern_bytes_added += bytes;
    }

    pub(crate) fn count_pattern_removed(&mut self, bytes: u64) {
        self.patterns_removed += 1;
        self.pattern_bytes_removed += bytes;
    }

    pub(crate) fn count_dict_added(&mut self, bytes: u64) {
        self.dict_entries_added += 1;
        self.dict_entry_bytes_added += bytes;
    }

    pub(crate) fn count_dict_removed(&mut self, bytes: u64) {
        self.dict_entries_removed += 1;
        self.dict_entry_bytes_removed += bytes;
    }

    pub(crate) fn count_schema_added(&mut self) {
        self.json_schemas_added += 1;
    }

    pub(crate) fn count_schema_removed(&mut self) {
        self.json_schemas_removed += 1;
    }

    pub(crate) fn count_raw_log(&mut self, raw_bytes: u64) {
        self.raw_logs += 1;
        self.raw_log_bytes += raw_bytes;
    }

    pub(crate) fn count_pattern_log(&mut self, raw_bytes: u64) {
        self.pattern_logs += 1;
        self.pattern_log_bytes += raw_bytes;
    }
}
