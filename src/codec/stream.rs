//! Stream compression, `zstd-stream` (spec `encoding.md` §7.1, `wire.md` §4).
//!
//! One zstd compression context lives as long as one gRPC stream; each batch is compressed
//! through it and flushed (`ZSTD_e_flush`), so a batch's bytes decode completely once every
//! earlier batch of the stream has been decoded, in order. The frame is never ended: later
//! batches may refer to anything within the window, which is what makes the stream smaller
//! than per-batch frames.

use std::io;

use zstd::stream::raw::{CParameter, DParameter, Decoder, Encoder, InBuffer, Operation, OutBuffer};

use super::ladder::Rung;
use super::{CompressError, ContentEncoding, DecompressError};

/// The smallest and largest sender window logs `zstd_stream_window_log` accepts.
pub const WINDOW_LOG_RANGE: std::ops::RangeInclusive<u8> = 10..=27;

/// zstd's block header size: what a decoder asks for next when it stopped exactly at the
/// end of a block, the only place a flushed batch may end.
const BLOCK_HEADER_LEN: usize = 3;

/// The sending side of one stream: compresses each batch, in pull order, into the next
/// flushed part of one zstd frame. Deterministic: the same batches give the same bytes.
///
/// The parameters of a zstd frame are fixed once it starts (single-threaded zstd ignores a
/// level change mid-frame), so a batch at another [`Rung`] ends the frame and starts a new
/// one: the end (a 3-byte empty last block) and the new frame's header lead that batch's
/// bytes, which every zstd decoder reads as concatenated frames (§7.1). The new frame starts
/// without the old one's history, which is why the controller changes rungs rarely.
pub struct StreamCompressor {
    encoder: Encoder<'static>,
    rung: Rung,
    window_log: u8,
    /// A batch went into the current frame (so a rung change must end it first).
    frame_started: bool,
    frames_started: u64,
}

impl std::fmt::Debug for StreamCompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamCompressor")
    }
}

impl StreamCompressor {
    /// A fresh context at `level` with a window of `2^window_log` bytes.
    pub fn new(level: i32, window_log: u8) -> Result<Self, CompressError> {
        Self::at_rung(Rung::fixed(level), window_log)
    }

    /// A fresh context with `rung`'s parameters and a window of `2^window_log` bytes.
    pub fn at_rung(rung: Rung, window_log: u8) -> Result<Self, CompressError> {
        let mut encoder = Encoder::new(rung.level).map_err(CompressError)?;
        encoder.set_parameter(CParameter::WindowLog(u32::from(window_log))).map_err(CompressError)?;
        // A checksum per frame is never checked, since the frame never ends.
        encoder.set_parameter(CParameter::ChecksumFlag(false)).map_err(CompressError)?;
        for p in rung.parameters() {
            encoder.set_parameter(p).map_err(CompressError)?;
        }
        Ok(StreamCompressor { encoder, rung, window_log, frame_started: false, frames_started: 0 })
    }

    /// The rung of the current frame.
    pub fn rung(&self) -> Rung {
        self.rung
    }

    /// Frames started after the first, one per rung change.
    pub fn frames_restarted(&self) -> u64 {
        self.frames_started.saturating_sub(1)
    }

    /// Compresses `data` as the stream's next batch and flushes it.
    pub fn compress_batch(&mut self, data: &[u8]) -> Result<Vec<u8>, CompressError> {
        self.compress_batch_at(data, self.rung)
    }

    /// Compresses `data` as the stream's next batch at `rung` and flushes it; a rung other
    /// than the frame's ends the frame first (see the type's doc).
    pub fn compress_batch_at(&mut self, data: &[u8], rung: Rung) -> Result<Vec<u8>, CompressError> {
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(data.len()) + 32);
        if rung != self.rung {
            if self.frame_started {
                loop {
                    reserve_some(&mut out, 64);
                    let pos = out.len();
                    let left = self
                        .encoder
                        .finish(&mut OutBuffer::around_pos(&mut out, pos), true)
                        .map_err(CompressError)?;
                    if left == 0 {
                        break;
                    }
                }
            }
            // A fresh context: overrides of the old rung must not leak into the new one.
            let frames_started = self.frames_started;
            *self = StreamCompressor::at_rung(rung, self.window_log)?;
            self.frames_started = frames_started;
        }
        if !self.frame_started {
            self.frame_started = true;
            self.frames_started += 1;
        }
        let mut input = InBuffer::around(data);
        while input.pos() < data.len() {
            reserve_some(&mut out, 1 << 16);
            let pos = out.len();
            self.encoder.run(&mut input, &mut OutBuffer::around_pos(&mut out, pos)).map_err(CompressError)?;
        }
        loop {
            reserve_some(&mut out, 1 << 16);
            let pos = out.len();
            let left =
                self.encoder.flush(&mut OutBuffer::around_pos(&mut out, pos)).map_err(CompressError)?;
            if left == 0 {
                return Ok(out);
            }
        }
    }
}

/// The memory a compression context at `rung` with a window of `2^window_log` bytes holds
/// once it has compressed a batch (zstd allocates its tables then): measured on a throwaway
/// context, so it is exact for the linked zstd. `None` when zstd refuses the parameters.
pub fn context_bytes(rung: Rung, window_log: u8) -> Option<u64> {
    use zstd::zstd_safe::{CCtx, zstd_sys::ZSTD_EndDirective};
    let mut cctx = CCtx::try_create()?;
    cctx.set_parameter(CParameter::WindowLog(u32::from(window_log))).ok()?;
    for p in rung.parameters() {
        cctx.set_parameter(p).ok()?;
    }
    let mut out = [0u8; 64];
    let mut output = OutBuffer::around(&mut out[..]);
    cctx.compress_stream2(&mut output, &mut InBuffer::around(b"x"), ZSTD_EndDirective::ZSTD_e_flush).ok()?;
    Some(cctx.sizeof() as u64)
}

/// Makes room for at least `n` more bytes without reallocating on every call.
fn reserve_some(out: &mut Vec<u8>, n: usize) {
    if out.capacity() - out.len() < n {
        out.reserve(n);
    }
}

/// The receiving side of one stream: decodes each batch, in order, with the stream's
/// history, refusing windows above `2^max_window_log` and output above the batch limit.
pub struct StreamDecompressor {
    decoder: Decoder<'static>,
    max_window_log: u8,
    /// At the start of a frame (the stream's start, or after a frame end).
    at_frame_start: bool,
    /// The current frame's window, from its header.
    window_bytes: u64,
}

impl std::fmt::Debug for StreamDecompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecompressor").field("window_bytes", &self.window_bytes).finish()
    }
}

impl StreamDecompressor {
    /// A fresh context that accepts windows up to `2^max_window_log` bytes.
    pub fn new(max_window_log: u8) -> Result<Self, DecompressError> {
        let corrupt = |e: io::Error| DecompressError::Corrupt {
            encoding: ContentEncoding::ZstdStream,
            detail: e.to_string(),
        };
        let mut decoder = Decoder::new().map_err(corrupt)?;
        decoder.set_parameter(DParameter::WindowLogMax(u32::from(max_window_log))).map_err(corrupt)?;
        Ok(StreamDecompressor { decoder, max_window_log, at_frame_start: true, window_bytes: 0 })
    }

    /// The window of the frame being decoded, in bytes (0 before the first frame header):
    /// memory the stream holds beside its tables.
    pub fn window_bytes(&self) -> u64 {
        self.window_bytes
    }

    /// Decodes one batch. After an error the context is unusable: the stream must end.
    pub fn decompress_batch(&mut self, data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
        let corrupt =
            |detail: String| DecompressError::Corrupt { encoding: ContentEncoding::ZstdStream, detail };
        let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit).min(1 << 20));
        if data.is_empty() {
            return Ok(out);
        }
        let mut input = InBuffer::around(data);
        let cap = limit.saturating_add(1);
        let mut hint;
        loop {
            if self.at_frame_start {
                self.check_frame_header(&data[input.pos()..])?;
            }
            if out.capacity() == out.len() {
                // Never room for more than limit + 1 bytes: a bomb stops there.
                out.reserve_exact((cap - out.len()).min(1 << 20));
            }
            let pos = out.len();
            let mut output = OutBuffer::around_pos(&mut out, pos);
            hint = self.decoder.run(&mut input, &mut output).map_err(|e| corrupt(e.to_string()))?;
            let filled = output.pos() == output.capacity();
            if out.len() > limit {
                return Err(DecompressError::TooLarge { limit });
            }
            self.at_frame_start = hint == 0;
            if input.pos() == data.len() && !filled {
                break;
            }
        }
        // A flushed batch ends on a block boundary (or a frame end); anything else means the
        // batch was cut short, and its output would silently lack its tail.
        if hint != 0 && hint != BLOCK_HEADER_LEN {
            return Err(corrupt(format!(
                "the batch ends inside a zstd block ({hint} more bytes expected): it is truncated \
                 or was not flushed at its end"
            )));
        }
        Ok(out)
    }

    /// Reads the window of a frame that starts at `data` (when its header is complete there)
    /// and refuses one above the limit with a message that names the setting.
    fn check_frame_header(&mut self, data: &[u8]) -> Result<(), DecompressError> {
        if let Some(window) = frame_window_bytes(data) {
            let max = 1u64 << self.max_window_log;
            if window > max {
                return Err(DecompressError::Corrupt {
                    encoding: ContentEncoding::ZstdStream,
                    detail: format!(
                        "the stream's zstd window is {window} bytes, above this receiver's \
                         max_stream_window_log {} ({max} bytes); lower the sender's \
                         zstd_stream_window_log",
                        self.max_window_log
                    ),
                });
            }
            self.window_bytes = window;
        }
        Ok(())
    }
}

/// The window size a zstd frame header declares (RFC 8878 §3.1.1.1), or `None` when `data`
/// does not start with a whole zstd frame header (zstd itself then reports the error).
pub fn frame_window_bytes(data: &[u8]) -> Option<u64> {
    const MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
    if data.get(..4)? != MAGIC {
        return None;
    }
    let descriptor = *data.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let wd = *data.get(5)?;
        let exponent = u32::from(wd >> 3);
        let base = 1u64 << (10 + exponent);
        return Some(base + (base / 8) * u64::from(wd & 7));
    }
    // Single segment: the window is the frame content size.
    let dict_id_len = [0usize, 1, 2, 4][usize::from(descriptor & 3)];
    let fcs_len = [1usize, 2, 4, 8][usize::from(descriptor >> 6)];
    let start = 5 + dict_id_len;
    let bytes = data.get(start..start + fcs_len)?;
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        value |= u64::from(b) << (8 * i);
    }
    Some(if fcs_len == 2 { value + 256 } else { value })
}

#[cfg(test)]
mod tests;
