//! Translator settings and their defaults (spec `encoding.md` §9.15).

use std::time::Duration;

use crate::ConfigError;

/// Pattern extraction settings (`patterns.*`).
#[derive(Clone, Debug, PartialEq)]
pub struct PatternSettings {
    /// `false` = raw mode: every record is sent as a raw text log (true).
    pub enabled: bool,
    /// Count bound of the pattern pool (700).
    pub max_pattern_count: usize,
    /// Count eviction starts above `max × high` (0.95).
    pub eviction_high_watermark: f64,
    /// … and stops at `max × low` (0.85).
    pub eviction_low_watermark: f64,
    /// `decay` of the eviction score (0.5).
    pub age_decay_factor: f64,
    /// Patterns younger than this are not count-evicted (30 s).
    pub eviction_grace_period: Duration,
    /// First-word protection (true).
    pub first_word_protection: bool,
    /// Distinct first words after which protection turns off for a cluster (100).
    pub first_word_max_cardinality: usize,
    /// Unchanged merges before pre-checks are skipped (50; optimisation only).
    pub saturation_threshold: usize,
    /// Patterns per cluster before force-widening (0 = no limit).
    pub max_patterns_per_cluster: usize,
    /// Patterns tried per match (0 = all).
    pub pattern_scan_budget: usize,
    /// Longer texts go raw (4,096; 0 = no limit).
    pub max_template_bytes: usize,
    /// Send JSON-looking records as raw text (false).
    pub json_as_raw: bool,
    /// Definitions unused this long are deleted by the stale sweep (300 s).
    pub stale_ttl: Duration,
    /// Wildcards separated by at most this many bytes of constant text go as one value
    /// (`None`: one value per wildcard).
    pub value_merge_gap_bytes: Option<usize>,
    /// Logs of a new shape seen before its pattern is defined; the earlier ones go raw (1 = at
    /// once).
    pub admission_threshold: u32,
}

impl Default for PatternSettings {
    fn default() -> Self {
        PatternSettings {
            enabled: true,
            max_pattern_count: 700,
            eviction_high_watermark: 0.95,
            eviction_low_watermark: 0.85,
            age_decay_factor: 0.5,
            eviction_grace_period: Duration::from_secs(30),
            first_word_protection: true,
            first_word_max_cardinality: 100,
            saturation_threshold: 50,
            max_patterns_per_cluster: 0,
            pattern_scan_budget: 0,
            max_template_bytes: 4096,
            json_as_raw: false,
            stale_ttl: Duration::from_secs(300),
            value_merge_gap_bytes: Some(1),
            admission_threshold: 3,
        }
    }
}

/// Dictionary settings (`dictionary.*`).
#[derive(Clone, Debug, PartialEq)]
pub struct DictionarySettings {
    /// Count bound of the dictionary (700).
    pub max_entries: usize,
    /// Count eviction starts above `max × high` (0.80).
    pub eviction_high_watermark: f64,
    /// … and stops at `max × low` (0.70).
    pub eviction_low_watermark: f64,
    /// `decay` of the eviction score (0.5).
    pub age_decay_factor: f64,
    /// Sightings before a dynamic string is admitted (2).
    pub admission_threshold: u32,
    /// Size of the sighting table (100,000).
    pub max_dynamic_candidates: usize,
    /// Sightings of a string count only this many records apart (0: every one counts).
    pub sighting_spacing: u64,
}

impl Default for DictionarySettings {
    fn default() -> Self {
        DictionarySettings {
            max_entries: 700,
            eviction_high_watermark: 0.80,
            eviction_low_watermark: 0.70,
            age_decay_factor: 0.5,
            admission_threshold: 2,
            max_dynamic_candidates: 100_000,
            sighting_spacing: 100,
        }
    }
}

/// Everything the translator is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct TranslatorConfig {
    /// `patterns.*`.
    pub patterns: PatternSettings,
    /// `dictionary.*`.
    pub dictionary: DictionarySettings,
    /// `state.max_bytes`: the exact bound on patterns, entries and schemas together (8 MiB).
    pub state_max_bytes: u64,
    /// `json.max_keys`: more columns → the record is text (256).
    pub json_max_keys: usize,
    /// `json.max_schemas` (`v2`, 1,000).
    pub json_max_schemas: usize,
    /// `v2`: numbers that are the rendering of their double go as FLOAT columns (false: they
    /// go as their text, RAW_JSON). Text is the default because it keeps the number's literal
    /// form and compresses better: an 8-byte double's low mantissa bits look random to zstd,
    /// where `34.963` is six digits (see the README's JSON figures).
    pub json_float_columns: bool,
    /// `v2`: JSON string values are admitted to the dictionary like wildcard values
    /// (DICT_STRING; false: always STRING). Off by default: with `zstd-stream` a repeated
    /// string costs about as much as a dictionary id, every admission changes the column's
    /// kind and so the schema, and unique values (ids, times) would churn the sighting table.
    pub json_dictionary_strings: bool,
}

impl Default for TranslatorConfig {
    fn default() -> Self {
        TranslatorConfig {
            patterns: PatternSettings::default(),
            dictionary: DictionarySettings::default(),
            state_max_bytes: 8 * 1024 * 1024,
            json_max_keys: 256,
            json_max_schemas: 1000,
            json_float_columns: false,
            json_dictionary_strings: false,
        }
    }
}

impl TranslatorConfig {
    /// Raw mode: no pattern extraction (`patterns.enabled = false`).
    pub fn raw() -> Self {
        let mut config = TranslatorConfig::default();
        config.patterns.enabled = false;
        config
    }

    /// The per-record behaviour of spec `encoding.md` §9.5–§9.8 as written: every new shape
    /// gets its pattern at once, one value per wildcard, and a dynamic string is admitted on
    /// its second sighting wherever it is. The defaults instead wait for the third log of a
    /// shape, merge wildcards one byte apart and count sightings 100 records apart, which
    /// makes the stream smaller (see the README's encoding section).
    pub fn eager() -> Self {
        let mut config = TranslatorConfig::default();
        config.patterns.admission_threshold = 1;
        config.patterns.value_merge_gap_bytes = None;
        config.dictionary.sighting_spacing = 0;
        config
    }

    /// Checks every translator rule of `transport.md` §11.
    pub fn validate(&self) -> Result<(), ConfigError> {
        watermarks(
            "patterns.eviction_low_watermark",
            self.patterns.eviction_low_watermark,
            self.patterns.eviction_high_watermark,
        )?;
        watermarks(
            "dictionary.eviction_low_watermark",
            self.dictionary.eviction_low_watermark,
            self.dictionary.eviction_high_watermark,
        )?;
        for (name, decay) in [
            ("patterns.age_decay_factor", self.patterns.age_decay_factor),
            ("dictionary.age_decay_factor", self.dictionary.age_decay_factor),
        ] {
            if !decay.is_finite() || decay < 0.0 {
                return Err(ConfigError::new(name, "must be a finite number ≥ 0 (0.5 is the default)"));
            }
        }
        let at_least_one = [
            ("patterns.max_pattern_count", self.patterns.max_pattern_count as u64),
            ("dictionary.max_entries", self.dictionary.max_entries as u64),
            ("dictionary.admission_threshold", u64::from(self.dictionary.admission_threshold)),
            ("json.max_keys", self.json_max_keys as u64),
            ("json.max_schemas", self.json_max_schemas as u64),
            ("patterns.stale_ttl_seconds", self.patterns.stale_ttl.as_millis() as u64),
            ("patterns.admission_threshold", u64::from(self.patterns.admission_threshold)),
        ];
        for (name, v) in at_least_one {
            if v == 0 {
                return Err(ConfigError::new(name, "must be at least 1"));
            }
        }
        if self.state_max_bytes == 0 {
            return Err(ConfigError::new("state.max_bytes", "must be at least 1 (8388608 is the default)"));
        }
        Ok(())
    }
}

fn watermarks(low_name: &str, low: f64, high: f64) -> Result<(), ConfigError> {
    if !(0.0 <= low && low < high && high <= 1.0) {
        return Err(ConfigError::new(
            low_name,
            format!("watermarks must satisfy 0 ≤ low < high ≤ 1 (got low {low}, high {high})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_watermarks_name_the_setting() {
        assert_eq!(TranslatorConfig::default().validate(), Ok(()));
        let mut c = TranslatorConfig::default();
        c.dictionary.eviction_low_watermark = 0.9;
        assert_eq!(c.validate().unwrap_err().setting, "dictionary.eviction_low_watermark");
        let mut c = TranslatorConfig::default();
        c.patterns.eviction_high_watermark = 1.5;
        assert_eq!(c.validate().unwrap_err().setting, "patterns.eviction_low_watermark");
        let c = TranslatorConfig { state_max_bytes: 0, ..TranslatorConfig::default() };
        assert_eq!(c.validate().unwrap_err().setting, "state.max_bytes");
    }
}
