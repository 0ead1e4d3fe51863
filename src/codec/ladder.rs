//! The effort ladder of adaptive `zstd-stream` compression: zstd parameter sets, each costlier
//! and smaller on logs than the one below it, from which the level controller
//! ([`super::adaptive`]) picks the highest that fits the CPU budget.
//!
//! Why not zstd's own levels 1–19: on logs they are not monotone (levels 3–4 give larger output
//! than level 1 on both long Loghub sets) and their optimal parsers stop at matches of 48–64
//! bytes (`targetLength`), where log lines repeat for hundreds. Each rung starts from a zstd
//! level (its nominal level, reported as `compression_level`) and overrides what logs need.
//! Measured on this project's wire (profile `v1`, raw text, batch 1,000, window 2^20) for the
//! two long Loghub sets, as a multiple of compressing the whole file with `zstd -19` (Linux /
//! Apache), with its compression cost relative to rung 0 (reproduce: `stateful-logs bench
//! --corpus long --levels`; `docs/compression.md`):
//!
//! | rung | nominal level | parameters | size vs `-19` | cost |
//! |---|---|---|---|---|
//! | 0 | 1 | zstd level 1 | 1.61 / 1.51 | 1 |
//! | 1 | 9 | lazy2, search 4, min match 4, tables 2^18 | 1.35 / 1.35 | ~9 |
//! | 2 | 16 | btopt, search 1, min match 5, target 64, tables 2^16 | 1.29 / 1.29 | ~40 |
//! | 3 | 17 | btopt, search 1, min match 3, target 256, tables 2^16 | 1.21 / 1.24 | ~70 |
//! | 4 | 19 | btultra2, search 4, min match 3, target 256, tables 2^18 | 1.17 / 1.17 | ~400 |

use zstd::stream::raw::CParameter;
use zstd::zstd_safe::Strategy;

/// One parameter set of the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rung {
    /// The zstd level it starts from (reported as the compression level).
    pub level: i32,
    /// The overrides: strategy, search log, min match, target length, hash and chain log.
    tuning: Option<Tuning>,
    /// Cost per input byte relative to rung 0, measured (the table above): the controller's
    /// first guess for a rung it has not run yet.
    pub relative_cost: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tuning {
    strategy: Strategy,
    search_log: u32,
    min_match: u32,
    target_length: u32,
    table_log: u32,
}

/// The ladder, cheapest first.
pub const LADDER: [Rung; 5] = [
    Rung { level: 1, tuning: None, relative_cost: 1 },
    Rung {
        level: 9,
        tuning: Some(Tuning {
            strategy: Strategy::ZSTD_lazy2,
            search_log: 4,
            min_match: 4,
            target_length: 16,
            table_log: 18,
        }),
        relative_cost: 9,
    },
    Rung {
        level: 16,
        tuning: Some(Tuning {
            strategy: Strategy::ZSTD_btopt,
            search_log: 1,
            min_match: 5,
            target_length: 64,
            table_log: 16,
        }),
        relative_cost: 40,
    },
    Rung {
        level: 17,
        tuning: Some(Tuning {
            strategy: Strategy::ZSTD_btopt,
            search_log: 1,
            min_match: 3,
            target_length: 256,
            table_log: 16,
        }),
        relative_cost: 70,
    },
    Rung {
        level: 19,
        tuning: Some(Tuning {
            strategy: Strategy::ZSTD_btultra2,
            search_log: 4,
            min_match: 3,
            target_length: 256,
            table_log: 18,
        }),
        relative_cost: 400,
    },
];

impl Rung {
    /// The plain zstd `level`, as a fixed level asks for.
    pub const fn fixed(level: i32) -> Rung {
        Rung { level, tuning: None, relative_cost: 1 }
    }

    /// The compression parameters of this rung, after the level itself.
    pub fn parameters(&self) -> Vec<CParameter> {
        let mut out = vec![CParameter::CompressionLevel(self.level)];
        if let Some(t) = self.tuning {
            out.extend([
                CParameter::Strategy(t.strategy),
                CParameter::SearchLog(t.search_log),
                CParameter::MinMatch(t.min_match),
                CParameter::TargetLength(t.target_length),
                CParameter::HashLog(t.table_log),
                CParameter::ChainLog(t.table_log),
            ]);
        }
        out
    }
}
