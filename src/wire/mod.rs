//! Per-profile batch encoding (spec `encoding.md` §4–§8): which datums reach the wire, delta
//! encoding, conversion to the profile's proto sequence, serialization and compression.
//!
//! [`WireFormat`] is the one entry point; the `v1` and `v2` modules hold the conversions. Delta
//! state is created fresh for every batch and never outlives it (§5.1), which is what lets a
//! stored batch be replayed unchanged on any later stream.

mod v1;
mod v2;
mod writer;

use bytes::Bytes;
use prost::Message;

use crate::Profile;
use crate::codec::Compression;
use crate::datum::{Datum, LogContent, LogDatum, StateChange};
use crate::transport::EncodeError;

/// A serialized, compressed batch (or snapshot) body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedPayload {
    /// `StatefulBatch.data`.
    pub data: Bytes,
    /// The serialized sequence's size before compression.
    pub pre_compression_len: u64,
}

/// How a Pipeline writes its datums: the profile and its two `v1` switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireFormat {
    /// The schema profile.
    pub profile: Profile,
    /// `v1` only: batch-level delta encoding (must match the intake, §5.3). `v2` always deltas.
    pub v1_delta_encoding: bool,
    /// `v1` only: send delete datums (§8.1). `v2` never sends them.
    pub send_deletes: bool,
}

impl WireFormat {
    /// The defaults for `profile`: delta encoding on, deletes sent in `v1`.
    pub const fn new(profile: Profile) -> Self {
        WireFormat { profile, v1_delta_encoding: true, send_deletes: true }
    }

    /// Whether delete datums go on the wire (`v1` with `send_deletes`), rather than being
    /// state changes only.
    pub const fn sends_deletes(&self) -> bool {
        matches!(self.profile, Profile::V1) && self.send_deletes
    }

    /// Delta-encodes and serializes one batch's datums into the profile's sequence message
    /// (§4 steps 2–4). Deletes are left out when they are not sent.
    pub fn serialize_batch(&self, datums: &[Datum]) -> Result<Vec<u8>, EncodeError> {
        let send_deletes = self.sends_deletes();
        let wire = datums.iter().filter(|d| send_deletes || !matches!(d, Datum::State(c) if c.is_delete()));
        // Sized for the batch up front, so the buffer is not regrown (and copied) as it fills:
        // a raw log's text plus a few dozen bytes of framing and metadata per datum.
        let raw_text: usize = datums
            .iter()
            .map(|d| match d {
                Datum::Log(LogDatum { content: LogContent::Raw(text), .. }) => text.len(),
                Datum::Log(LogDatum { content: LogContent::RawJson { message, .. }, .. }) => message.len(),
                _ => 0,
            })
            .sum();
        let mut out = Vec::with_capacity(raw_text + 48 * datums.len());
        match self.profile {
            Profile::V1 => v1::write_sequence(wire, self.v1_delta_encoding, &mut out)?,
            Profile::V2 => v2::write_sequence(wire, &mut out)?,
        }
        Ok(out)
    }

    /// Serializes define datums in the given order (a snapshot, §8.5). Deletes are skipped.
    pub fn serialize_defines<'a>(
        &self,
        defines: impl IntoIterator<Item = &'a StateChange>,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        for change in defines.into_iter().filter(|c| !c.is_delete()) {
            match self.profile {
                Profile::V1 => prost::encoding::message::encode(1, &v1::state_change(change)?, &mut out),
                Profile::V2 => prost::encoding::message::encode(1, &v2::state_change(change)?, &mut out),
            }
        }
        Ok(out)
    }

    /// Serializes and compresses one batch (§4 steps 2–5).
    pub fn encode_batch(
        &self,
        datums: &[Datum],
        compression: &Compression,
    ) -> Result<EncodedPayload, EncodeError> {
        let serialized = self.serialize_batch(datums)?;
        compress(&serialized, compression)
    }

    /// How many bytes `change` adds to a serialized sequence (field key, length, datum): the
    /// unit of the translator's exact state size (§9.9) and of the `*_bytes_added` metrics.
    pub fn datum_size(&self, change: &StateChange) -> u64 {
        let len = match self.profile {
            Profile::V1 => v1::state_change(change).map(|d| d.encoded_len()),
            Profile::V2 => v2::state_change(change).map(|d| d.encoded_len()),
        };
        // A change the profile cannot carry (a schema in v1) takes no room on its wire.
        len.map_or(0, |len| (1 + prost::encoding::encoded_len_varint(len as u64) + len) as u64)
    }
}

/// Compresses a serialized sequence with the Pipeline's codec (§7).
pub fn compress(serialized: &[u8], compression: &Compression) -> Result<EncodedPayload, EncodeError> {
    let data = compression
        .compress(serialized)
        .map_err(|e| EncodeError(format!("{} compression failed: {e}", compression.encoding)))?;
    Ok(EncodedPayload { data: Bytes::from(data), pre_compression_len: serialized.len() as u64 })
}

fn unsupported(profile: Profile, what: &str) -> EncodeError {
    EncodeError(format!("profile {profile} cannot carry {what}; this is a translator bug"))
}

#[cfg(test)]
mod tests;
