//! Streaming line input (`encoding.md` §10.4, as `stateful_logs_bench::lines` for whole buffers): split on `\n`, strip one trailing `\r`, skip the lines
//! that are then empty. Every remaining line, as bytes, is one record's content.

use std::io::{self, BufRead};

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// One kept line and where it ends in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The content: the line without `\n` or `\r\n`.
    pub content: Vec<u8>,
    /// Byte offset just past the line's `\n` (or the end of input for an unterminated last
    /// line): where reading resumes once this line is acknowledged.
    pub end_offset: u64,
    /// Its line number in the file (1-based, empty lines counted), when reading started at
    /// the file's first byte; `None` after a resume in the middle of a file.
    pub number: Option<u64>,
}

/// Reads kept lines from a stream, tracking byte offsets. A line is returned once its `\n` has
/// been read; an unterminated tail waits for more input ([`LineReader::next_line`]) until the
/// caller declares the input finished ([`LineReader::finish`]).
#[derive(Debug)]
pub struct LineReader<R> {
    input: R,
    /// Offset of the first byte not yet read.
    offset: u64,
    /// Bytes of the line being read, not yet terminated.
    partial: Vec<u8>,
    /// Lines (`\n`) read so far.
    lines: u64,
    /// Whether reading started at the file's first byte (line numbers are known).
    numbered: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Reads `input`, whose first byte is at `start_offset` of its file.
    pub fn new(input: R, start_offset: u64) -> Self {
        LineReader { input, offset: start_offset, partial: Vec::new(), lines: 0, numbered: start_offset == 0 }
    }

    /// The next complete kept line, or `None` at the current end of input (an unterminated
    /// tail is kept: a growing file may still complete it).
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            let read = self.input.read_until(b'\n', &mut self.partial)?;
            self.offset += read as u64;
            if read == 0 || self.partial.last() != Some(&b'\n') {
                return Ok(None);
            }
            let raw = std::mem::take(&mut self.partial);
            self.lines += 1;
            let content = strip_cr(&raw[..raw.len() - 1]);
            if !content.is_empty() {
                let number = self.numbered.then_some(self.lines);
                return Ok(Some(Line { content: content.to_vec(), end_offset: self.offset, number }));
            }
        }
    }

    /// The input ended: the unterminated tail, if it is a kept line.
    pub fn finish(&mut self) -> Option<Line> {
        let raw = std::mem::take(&mut self.partial);
        let content = strip_cr(&raw);
        let number = self.numbered.then_some(self.lines + 1);
        (!content.is_empty()).then(|| Line { content: content.to_vec(), end_offset: self.offset, number })
    }

    /// Offset of the first byte not yet read (past any unterminated tail).
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8]) -> Vec<Line> {
        let mut reader = LineReader::new(text, 0);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().expect("in-memory read") {
            lines.push(line);
        }
        lines.extend(reader.finish());
        lines
    }

    #[test]
    fn crlf_and_lf_are_stripped_and_empty_lines_skipped() {
        let text = b"a\r\n\nb\r\r\n\r\nc";
        let kept: Vec<&[u8]> = stateful_logs_bench::lines(text).collect();
        assert_eq!(kept, [&b"a"[..], b"b\r", b"c"]);
        let lines = read_all(text);
        let contents: Vec<&[u8]> = lines.iter().map(|l| l.content.as_slice()).collect();
        assert_eq!(contents, kept);
        assert_eq!(lines.iter().map(|l| l.end_offset).collect::<Vec<_>>(), [3, 8, 11]);
        assert_eq!(lines.iter().map(|l| l.number).collect::<Vec<_>>(), [Some(1), Some(3), Some(5)]);
    }

    #[test]
    fn an_unterminated_tail_waits_until_completed_or_finished() {
        let mut reader = LineReader::new(&b"one\ntw"[..], 10);
        assert_eq!(reader.next_line().ok().flatten().map(|l| l.end_offset), Some(14));
        assert_eq!(reader.next_line().ok().flatten(), None);
        // Started mid-file: the line numbers are unknown.
        assert_eq!(reader.finish(), Some(Line { content: b"tw".to_vec(), end_offset: 16, number: None }));
        let mut reader = LineReader::new(&b"one\ntw"[..], 0);
        assert_eq!(reader.next_line().ok().flatten().and_then(|l| l.number), Some(1));
        assert_eq!(reader.next_line().ok().flatten(), None);
        assert_eq!(reader.finish().and_then(|l| l.number), Some(2));
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let lines = read_all(b"\xff\xfe\n");
        assert_eq!(lines[0].content, b"\xff\xfe");
    }
}
