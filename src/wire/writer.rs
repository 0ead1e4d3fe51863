//! Writing protobuf fields straight into the batch buffer, for the log datums: no generated
//! message is built, so no string of the batch is copied before serialization.
//!
//! The bytes must be exactly prost's for the equivalent generated message (the wire tests
//! compare with prost's re-encoding). prost writes the fields in tag order (a oneof at its
//! lowest tag), skips proto3 defaults except in oneofs and `optional` fields, and packs
//! repeated numbers; the callers follow the same rules field by field.

use prost::encoding::{WireType, encode_key, encode_varint};

/// Writes length-delimited field `tag` with the body `body` writes, then its length in front.
pub(super) fn nested<T>(buf: &mut Vec<u8>, tag: u32, body: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    encode_key(tag, WireType::LengthDelimited, buf);
    let start = buf.len();
    buf.push(0); // one length byte holds any body under 128 bytes
    let out = body(buf);
    let len = buf.len() - start - 1;
    if len < 0x80 {
        buf[start] = len as u8;
    } else {
        let mut prefix = [0u8; 10];
        let mut free = &mut prefix[..];
        encode_varint(len as u64, &mut free);
        let used = 10 - free.len();
        // Make room for the longer prefix: shift the body right, then write the prefix.
        let body_end = buf.len();
        buf.resize(body_end + used - 1, 0);
        buf.copy_within(start + 1..body_end, start + used);
        buf[start..start + used].copy_from_slice(&prefix[..used]);
    }
    out
}

/// Writes a `string` or `bytes` field (also in a oneof: always written).
pub(super) fn bytes_field(buf: &mut Vec<u8>, tag: u32, value: &[u8]) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(value.len() as u64, buf);
    buf.extend_from_slice(value);
}

/// Writes a `uint64` field unless it is 0 (the proto3 default).
pub(super) fn uint64_field(buf: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        prost::encoding::uint64::encode(tag, &value, buf);
    }
}

/// Writes a `sint64` field unless it is 0 (the proto3 default).
pub(super) fn sint64_field(buf: &mut Vec<u8>, tag: u32, value: i64) {
    if value != 0 {
        prost::encoding::sint64::encode(tag, &value, buf);
    }
}
