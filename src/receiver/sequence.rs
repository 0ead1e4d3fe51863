//! A light walk over a serialized `DatumSequence` / `LogDatumSequence` (`wire.md` §5, §6).
//!
//! Both sequences are `repeated <Datum> data = 1`. Walking the outer message by hand lets the
//! receiver count the datums before decoding any (so that `max_datums_per_batch` is enforced
//! before they are held) and then decode them one at a time.

use super::error::Violation;

/// The byte ranges of every field-1 entry of a sequence, in order; other fields are skipped
/// like unknown fields.
pub(super) struct DatumSlices<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> DatumSlices<'a> {
    /// Walks `buf`.
    pub(super) fn new(buf: &'a [u8]) -> Self {
        DatumSlices { buf, pos: 0 }
    }

    /// Counts the datums, checking the framing of the whole message, and refuses more than
    /// `limit` as soon as the count passes it.
    pub(super) fn count(buf: &'a [u8], limit: usize) -> Result<usize, Violation> {
        let mut n = 0usize;
        for slice in DatumSlices::new(buf) {
            slice?;
            n += 1;
            if n > limit {
                return Err(Violation::TooManyDatums { limit });
            }
        }
        Ok(n)
    }

    fn varint(&mut self) -> Result<u64, Violation> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or(Violation::MalformedSequence("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                if shift == 63 && byte > 1 {
                    return Err(Violation::MalformedSequence("varint overflows 64 bits"));
                }
                return Ok(value);
            }
        }
        Err(Violation::MalformedSequence("varint longer than 10 bytes"))
    }

    fn skip(&mut self, n: u64) -> Result<usize, Violation> {
        let start = self.pos;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&end| end <= self.buf.len())
            .ok_or(Violation::MalformedSequence("a field runs past the end of the data"))?;
        self.pos = end;
        Ok(start)
    }

    fn next_entry(&mut self) -> Result<Option<&'a [u8]>, Violation> {
        while self.pos < self.buf.len() {
            let key = self.varint()?;
            let field = key >> 3;
            if field == 0 || field > u64::from(u32::MAX >> 3) {
                return Err(Violation::MalformedSequence("invalid field number"));
            }
            match (field, key & 7) {
                (1, 2) => {
                    let len = self.varint()?;
                    let start = self.skip(len)?;
                    return Ok(Some(&self.buf[start..self.pos]));
                }
                (1, _) => return Err(Violation::MalformedSequence("field 1 (data) is not length-delimited")),
                (_, 0) => {
                    self.varint()?;
                }
                (_, 1) => {
                    self.skip(8)?;
                }
                (_, 2) => {
                    let len = self.varint()?;
                    self.skip(len)?;
                }
                (_, 5) => {
                    self.skip(4)?;
                }
                _ => return Err(Violation::MalformedSequence("unsupported wire type")),
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for DatumSlices<'a> {
    type Item = Result<&'a [u8], Violation>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_entry() {
            Ok(Some(slice)) => Some(Ok(slice)),
            Ok(None) => None,
            Err(e) => {
                // Stop after the first error: the rest of the buffer has no reliable framing.
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1;
    use prost::Message;

    fn sequence(n: usize) -> Vec<u8> {
        let datum = v1::Datum {
            data: Some(v1::datum::Data::DictEntryDefine(v1::DictEntryDefine { id: 1, value: "x".into() })),
        };
        v1::DatumSequence { data: vec![datum; n] }.encode_to_vec()
    }

    #[test]
    fn slices_decode_to_the_same_datums_as_prost() {
        let buf = sequence(3);
        let whole = v1::DatumSequence::decode(&buf[..]).unwrap();
        let one_by_one: Vec<v1::Datum> =
            DatumSlices::new(&buf).map(|s| v1::Datum::decode(s.unwrap()).unwrap()).collect();
        assert_eq!(whole.data, one_by_one);
    }

    #[test]
    fn counting_refuses_one_datum_more_than_the_limit() {
        let buf = sequence(5);
        assert_eq!(DatumSlices::count(&buf, 5), Ok(5));
        assert_eq!(DatumSlices::count(&buf, 4), Err(Violation::TooManyDatums { limit: 4 }));
    }

    #[test]
    fn unknown_fields_are_skipped_and_bad_framing_is_refused() {
        let mut buf = vec![0x10, 0x05, 0x1d, 1, 2, 3, 4]; // field 2 varint, field 3 fixed32
        buf.extend(sequence(2));
        assert_eq!(DatumSlices::count(&buf, 10), Ok(2));
        assert!(DatumSlices::count(&[0x0a, 0x05, 0x00], 10).is_err()); // length past the end
        assert!(DatumSlices::count(&[0x08, 0x01], 10).is_err()); // field 1 as a varint
        assert!(DatumSlices::count(&[0x00], 10).is_err()); // field 0
        assert!(DatumSlices::count(&[0x0a], 10).is_err()); // truncated length
        assert_eq!(DatumSlices::count(&[], 10), Ok(0));
    }
}
