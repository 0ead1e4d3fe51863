//! `bench`'s `lossless` column: the records go through a Pipeline into the core's Receiver in
//! memory (the core's test loopback, a perfect network), and every delivered record must
//! equal its input record (`encoding.md` §10.1).

use stateful_logs::testing::{Loopback, LoopbackConfig, check_equivalent};
use stateful_logs::{PipelineConfig, Record};

/// Why a round trip is not lossless.
#[derive(Debug, thiserror::Error)]
pub enum RoundTripError {
    /// The Pipeline or the Receiver refused something.
    #[error("{0}")]
    Refused(String),
    /// Records were missing or differed.
    #[error("{0}")]
    Differs(String),
}

/// Sends `records` through a Pipeline with `config` into a Receiver and checks that the
/// delivered records equal the input, in order.
pub fn check_lossless(config: PipelineConfig, records: &[Record]) -> Result<(), RoundTripError> {
    let refused = |e: stateful_logs::testing::LoopbackError| RoundTripError::Refused(e.to_string());
    let profile = config.profile();
    let settings = LoopbackConfig::perfect(&config);
    let mut lo = Loopback::new(config, settings).map_err(refused)?;
    for record in records {
        lo.record(record.clone()).map_err(refused)?;
        lo.pump().map_err(refused)?;
    }
    lo.flush().map_err(refused)?;
    lo.drive().map_err(refused)?;
    if lo.delivered.len() != records.len() {
        return Err(RoundTripError::Differs(format!(
            "{} records delivered of {}",
            lo.delivered.len(),
            records.len()
        )));
    }
    for (index, (got, want)) in lo.delivered.iter().zip(records).enumerate() {
        check_equivalent(profile, got, want)
            .map_err(|mismatch| RoundTripError::Differs(format!("record {index}: {mismatch}")))?;
    }
    Ok(())
}
