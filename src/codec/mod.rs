//! Batch compression (spec `encoding.md` §7, `wire.md` §4).
//!
//! With a per-batch codec a sender writes exactly one zstd frame or gzip member per batch; a
//! receiver accepts one or more concatenated frames or members and stops at a
//! decompressed-size limit, so a small "bomb" can never make it allocate more than the limit.
//! With `zstd-stream` (§7.1, [`stream`]) one zstd context spans the whole gRPC stream.

// The level controller and its ladder: internals of `Compression::adaptive` (public for the
// CLI's bench, the runtime's calibration and the tests).
#[doc(hidden)]
pub mod adaptive;
#[doc(hidden)]
pub mod ladder;
#[doc(hidden)]
pub mod stream;

use std::cell::RefCell;
use std::fmt;
use std::io::{Read, Write};

use crate::ConfigError;

/// The codec of every `StatefulBatch.data` on a stream, announced in `dd-content-encoding`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ContentEncoding {
    /// One zstd frame (the default).
    #[default]
    Zstd,
    /// One gzip member.
    Gzip,
    /// The serialized sequence itself.
    Identity,
    /// One zstd stream per gRPC stream, flushed at each batch (`encoding.md` §7.1): this
    /// project's extension, and the sender's default.
    ZstdStream,
}

impl ContentEncoding {
    /// The `dd-content-encoding` header value.
    pub const fn header_value(self) -> &'static str {
        match self {
            ContentEncoding::Zstd => "zstd",
            ContentEncoding::Gzip => "gzip",
            ContentEncoding::Identity => "identity",
            ContentEncoding::ZstdStream => "zstd-stream",
        }
    }

    /// Parses a `dd-content-encoding` value, case-insensitively.
    pub fn from_header(value: &str) -> Option<Self> {
        ContentEncoding::ALL.into_iter().find(|e| value.eq_ignore_ascii_case(e.header_value()))
    }

    /// Every encoding, in the order the receiver lists them.
    pub const ALL: [ContentEncoding; 4] = [
        ContentEncoding::Zstd,
        ContentEncoding::Gzip,
        ContentEncoding::Identity,
        ContentEncoding::ZstdStream,
    ];

    /// Whether a batch's bytes depend on the earlier batches of its stream (§7.1).
    pub const fn is_stream(self) -> bool {
        matches!(self, ContentEncoding::ZstdStream)
    }
}

impl fmt::Display for ContentEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header_value())
    }
}

/// The default `zstd_stream_window_log`: a 1 MiB window per stream on each side.
pub const DEFAULT_STREAM_WINDOW_LOG: u8 = 20;

/// A content encoding with its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Compression {
    /// The codec.
    pub encoding: ContentEncoding,
    /// zstd and zstd-stream: 1..=22 (default 1); gzip: 0..=9 (default 6); ignored for identity.
    pub level: i32,
    /// zstd-stream only: the sender's window is `2^window_log` bytes (10..=27, default 20).
    pub window_log: u8,
    /// zstd-stream only: `Some` picks each stream's level from the [`ladder`] within this
    /// CPU budget ([`adaptive`]); `None` keeps `level` fixed.
    pub cpu_budget: Option<CpuBudget>,
}

pub use adaptive::CpuBudget;

impl Default for Compression {
    /// `zstd-stream` with the adaptive level within [`CpuBudget::DEFAULT`] and a 1 MiB window
    /// (`encoding.md` §7.1).
    fn default() -> Self {
        Compression::adaptive(CpuBudget::DEFAULT)
    }
}

impl Compression {
    /// One zstd stream per gRPC stream at a fixed `level`, window log 20.
    pub const fn zstd_stream(level: i32) -> Self {
        Compression {
            encoding: ContentEncoding::ZstdStream,
            level,
            window_log: DEFAULT_STREAM_WINDOW_LOG,
            cpu_budget: None,
        }
    }

    /// One zstd stream per gRPC stream whose level adapts to the input rate within `budget`
    /// (the default codec, with [`CpuBudget::DEFAULT`]); its per-batch fallback is zstd 1.
    pub const fn adaptive(budget: CpuBudget) -> Self {
        Compression { cpu_budget: Some(budget), ..Compression::zstd_stream(1) }
    }

    /// The rung a stream starts at: the fixed level, or the ladder's cheapest.
    pub const fn first_rung(&self) -> ladder::Rung {
        match self.cpu_budget {
            Some(_) => ladder::LADDER[0],
            None => ladder::Rung::fixed(self.level),
        }
    }

    /// How pushed batches are stored: compressed with this codec, or, for `zstd-stream`,
    /// serialized only (they are compressed when pulled for a stream, §7.1).
    pub const fn storage(&self) -> Compression {
        match self.encoding {
            ContentEncoding::ZstdStream => Compression::identity(),
            _ => *self,
        }
    }

    /// The per-batch codec a `zstd-stream` sender falls back to: `zstd` at the same level.
    pub const fn fallback(&self) -> Compression {
        match self.encoding {
            ContentEncoding::ZstdStream => {
                Compression { encoding: ContentEncoding::Zstd, cpu_budget: None, ..*self }
            }
            _ => *self,
        }
    }

    /// zstd at `level` (1 is the default).
    pub const fn zstd(level: i32) -> Self {
        Compression {
            encoding: ContentEncoding::Zstd,
            level,
            window_log: DEFAULT_STREAM_WINDOW_LOG,
            cpu_budget: None,
        }
    }

    /// gzip at `level` (6 is the default).
    pub const fn gzip(level: i32) -> Self {
        Compression {
            encoding: ContentEncoding::Gzip,
            level,
            window_log: DEFAULT_STREAM_WINDOW_LOG,
            cpu_budget: None,
        }
    }

    /// No compression.
    pub const fn identity() -> Self {
        Compression {
            encoding: ContentEncoding::Identity,
            level: 0,
            window_log: DEFAULT_STREAM_WINDOW_LOG,
            cpu_budget: None,
        }
    }

    /// The default level of `encoding`.
    pub const fn with_default_level(encoding: ContentEncoding) -> Self {
        match encoding {
            ContentEncoding::Zstd => Compression::zstd(1),
            ContentEncoding::Gzip => Compression::gzip(6),
            ContentEncoding::Identity => Compression::identity(),
            ContentEncoding::ZstdStream => Compression::adaptive(CpuBudget::DEFAULT),
        }
    }

    /// Checks that the codec accepts the level.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.encoding {
            ContentEncoding::Zstd | ContentEncoding::ZstdStream if !(1..=22).contains(&self.level) => {
                Err(ConfigError::new(
                    "compression.level",
                    format!(
                        "{} level {} is out of range; use 1 (fast, the default) to 22",
                        self.encoding, self.level
                    ),
                ))
            }
            ContentEncoding::ZstdStream if !stream::WINDOW_LOG_RANGE.contains(&self.window_log) => {
                Err(ConfigError::new(
                    "compression.zstd_stream_window_log",
                    format!(
                        "window log {} is out of range; use 10 to 27 (20, a 1 MiB window, is the default)",
                        self.window_log
                    ),
                ))
            }
            ContentEncoding::ZstdStream
                if self.cpu_budget.is_some_and(|b| !(1..=1000).contains(&b.as_permille())) =>
            {
                Err(ConfigError::new(
                    "compression.cpu_budget",
                    "the compression CPU budget is out of range; use 0.1 % to 100 % of one core \
                     (25 % is the default), or a fixed level",
                ))
            }
            ContentEncoding::Gzip if !(0..=9).contains(&self.level) => Err(ConfigError::new(
                "compression.level",
                format!("gzip level {} is out of range; use 0 to 9 (6 is the default)", self.level),
            )),
            _ => Ok(()),
        }
    }

    /// Compresses `data` into one frame or member. For `zstd-stream` this is the first batch
    /// of a fresh stream (a stream's later batches go through a [`stream::StreamCompressor`]).
    pub fn compress(&self, data: &[u8]) -> Result<Vec<u8>, CompressError> {
        match self.encoding {
            ContentEncoding::Zstd => zstd_compress(data, self.level).map_err(CompressError),
            ContentEncoding::ZstdStream => {
                stream::StreamCompressor::at_rung(self.first_rung(), self.window_log)?.compress_batch(data)
            }
            ContentEncoding::Gzip => {
                let level = flate2::Compression::new(self.level.clamp(0, 9).unsigned_abs());
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), level);
                encoder.write_all(data).map_err(CompressError)?;
                encoder.finish().map_err(CompressError)
            }
            ContentEncoding::Identity => Ok(data.to_vec()),
        }
    }
}

thread_local! {
    /// This thread's zstd context and the level it is set to. Creating a context allocates
    /// and clears its tables, which cost more than compressing a small batch; a reused context
    /// gives byte-identical frames (every call is a new frame with the same parameters).
    static ZSTD_CONTEXT: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// One zstd frame of `data` at `level`, through this thread's reused context.
fn zstd_compress(data: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    ZSTD_CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match &mut *slot {
            Some((current, compressor)) if *current == level => compressor,
            other => &mut other.insert((level, zstd::bulk::Compressor::new(level)?)).1,
        };
        compressor.compress(data)
    })
}

/// Compression failed (does not happen in practice on in-memory buffers).
#[derive(Debug, thiserror::Error)]
#[error("compressing a batch failed: {0}")]
pub struct CompressError(#[source] pub std::io::Error);

/// Why a batch could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    /// The data is not valid for the stream's content encoding.
    #[error("batch data is not valid {encoding}: {detail}")]
    Corrupt {
        /// The stream's encoding.
        encoding: ContentEncoding,
        /// The codec's own description.
        detail: String,
    },
    /// The batch inflates beyond the limit.
    #[error("batch decompresses to more than {limit} bytes (max_decompressed_bytes)")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

/// Decompresses one or more concatenated frames or members, refusing more than `limit` bytes
/// of output without ever holding more than `limit + 1` of them. For `zstd-stream` the data
/// is the first batch of a stream (later ones need the stream's
/// [`stream::StreamDecompressor`]).
pub fn decompress(encoding: ContentEncoding, data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |e: std::io::Error| DecompressError::Corrupt { encoding, detail: e.to_string() };
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit).min(1 << 20));
    match encoding {
        ContentEncoding::Identity => {
            if data.len() > limit {
                return Err(DecompressError::TooLarge { limit });
            }
            return Ok(data.to_vec());
        }
        ContentEncoding::ZstdStream => {
            let max_log = *stream::WINDOW_LOG_RANGE.end();
            return stream::StreamDecompressor::new(max_log)?.decompress_batch(data, limit);
        }
        ContentEncoding::Zstd => {
            if data.is_empty() {
                return Ok(out);
            }
            // The streaming decoder reads concatenated frames until the input ends.
            let decoder = zstd::stream::read::Decoder::with_buffer(data).map_err(corrupt)?;
            decoder.take(cap).read_to_end(&mut out).map_err(corrupt)?;
        }
        ContentEncoding::Gzip => {
            if data.is_empty() {
                return Ok(out);
            }
            // MultiGzDecoder reads every member; GzDecoder would stop after the first.
            flate2::read::MultiGzDecoder::new(data).take(cap).read_to_end(&mut out).map_err(corrupt)?;
        }
    }
    if out.len() > limit {
        return Err(DecompressError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_including_empty_input() {
        for c in [Compression::zstd(1), Compression::gzip(6), Compression::identity()] {
            for data in [&b""[..], b"hello hello hello hello"] {
                let packed = c.compress(data).unwrap();
                assert_eq!(decompress(c.encoding, &packed, 1 << 20).unwrap(), data);
            }
        }
    }

    #[test]
    fn concatenated_frames_and_members_decode_as_one() {
        for c in [Compression::zstd(3), Compression::gzip(6)] {
            let mut data = c.compress(b"abc").unwrap();
            data.extend(c.compress(b"").unwrap());
            data.extend(c.compress(b"def").unwrap());
            assert_eq!(decompress(c.encoding, &data, 100).unwrap(), b"abcdef");
        }
    }

    #[test]
    fn output_above_the_limit_is_refused() {
        let big = vec![b'x'; 10_000];
        for c in [Compression::zstd(1), Compression::gzip(1), Compression::identity()] {
            let packed = c.compress(&big).unwrap();
            assert_eq!(
                decompress(c.encoding, &packed, 9_999),
                Err(DecompressError::TooLarge { limit: 9_999 })
            );
            assert_eq!(decompress(c.encoding, &packed, 10_000).unwrap().len(), 10_000);
        }
    }

    #[test]
    fn garbage_is_a_typed_error() {
        let gz = Compression::gzip(6).compress(b"data").unwrap();
        assert!(matches!(decompress(ContentEncoding::Zstd, &gz, 100), Err(DecompressError::Corrupt { .. })));
        assert!(matches!(
            decompress(ContentEncoding::Gzip, b"nope", 100),
            Err(DecompressError::Corrupt { .. })
        ));
    }

    #[test]
    fn levels_are_validated_and_headers_parse_case_insensitively() {
        assert!(Compression::zstd(0).validate().is_err());
        assert!(Compression::gzip(10).validate().is_err());
        assert!(Compression::zstd(19).validate().is_ok());
        assert_eq!(ContentEncoding::from_header("ZSTD"), Some(ContentEncoding::Zstd));
        assert_eq!(ContentEncoding::from_header("br"), None);
    }
}
