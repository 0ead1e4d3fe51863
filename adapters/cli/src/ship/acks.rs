//! The acknowledgement bookkeeping of `ship`: which lines are sent and unresolved, where the
//! state file resumes, and the warnings for lines dropped as too large.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use stateful_logs_tokio::{AckEntry, AckOutcome};

use crate::follow::{Position, StateFile};

/// A line sent and not yet resolved.
struct SentLine {
    token: u64,
    position: Position,
    number: Option<u64>,
    bytes: u64,
}

/// A line whose record the client dropped as too large.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DroppedLine {
    /// Its line number, when known.
    pub number: Option<u64>,
    /// The byte offset just past it.
    pub end_offset: u64,
    /// Its length in bytes.
    pub bytes: u64,
}

/// Each record's token is its sequence number in this run; the lines sent and not yet
/// resolved wait here in order (acks resolve tokens in input order), and the position of the
/// last resolved line goes to the state file.
pub struct AckTracker {
    state: Option<StateFile>,
    pending: VecDeque<SentLine>,
    sent: u64,
    acked: u64,
    dropped: u64,
    last_resolved: Option<Position>,
}

impl AckTracker {
    pub fn new(state: Option<StateFile>) -> Self {
        AckTracker { state, pending: VecDeque::new(), sent: 0, acked: 0, dropped: 0, last_resolved: None }
    }

    /// The token of the next line to send.
    pub fn next_token(&self) -> u64 {
        self.sent
    }

    /// Registers the line whose record (with [`AckTracker::next_token`]) the client took.
    pub fn sent(&mut self, position: Position, number: Option<u64>, bytes: u64) {
        self.pending.push_back(SentLine { token: self.sent, position, number, bytes });
        self.sent += 1;
    }

    /// Resolves `entry` and every token before it; call [`AckTracker::persist`] after a burst.
    /// Returns the line when its record was dropped.
    pub fn on_ack(&mut self, entry: AckEntry) -> Option<DroppedLine> {
        match entry.outcome {
            AckOutcome::Acked => self.acked += 1,
            // Dropped (too large) records will never be delivered: move past them too.
            AckOutcome::Dropped(_) => self.dropped += 1,
            AckOutcome::Unacknowledged => return None,
        }
        let mut dropped = None;
        while let Some(line) = self.pending.front()
            && line.token <= entry.token
        {
            if line.token == entry.token && matches!(entry.outcome, AckOutcome::Dropped(_)) {
                dropped = Some(DroppedLine {
                    number: line.number,
                    end_offset: line.position.offset,
                    bytes: line.bytes,
                });
            }
            self.last_resolved = Some(line.position);
            self.pending.pop_front();
        }
        dropped
    }

    /// Saves the position of the last resolved line (one write per burst of acks, not per
    /// record: each save syncs the file).
    pub fn persist(&mut self) {
        if let (Some(position), Some(state)) = (self.last_resolved, &mut self.state)
            && let Err(error) = state.save(position)
        {
            tracing::error!(%error, "cannot save the state file");
        }
    }

    pub fn has_state_file(&self) -> bool {
        self.state.is_some()
    }

    /// Records handed to the client.
    pub fn sent_count(&self) -> u64 {
        self.sent
    }

    pub fn acked(&self) -> u64 {
        self.acked
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Records sent and neither acknowledged nor dropped.
    pub fn unresolved(&self) -> u64 {
        self.sent - self.acked - self.dropped
    }
}

/// Warnings for dropped lines, at most one per [`DropWarnings::EVERY`]; the others are
/// counted and told with the next warning, or at the end.
pub struct DropWarnings {
    input: String,
    limit: u64,
    /// The longest line one `--max-message-bytes` message carries.
    message_limit: u64,
    last_shown: Option<Instant>,
    hidden: u64,
}

impl DropWarnings {
    /// The shortest time between two warnings.
    pub const EVERY: Duration = Duration::from_secs(1);

    /// Warnings about lines of `input` (a path, or `-` for stdin) above `limit` bytes
    /// (`--max-batch-bytes`) or `message_limit` bytes (what one message carries).
    pub fn new(input: &str, limit: u64, message_limit: u64) -> Self {
        let input = if input == "-" { "stdin".to_owned() } else { input.to_owned() };
        DropWarnings { input, limit, message_limit, last_shown: None, hidden: 0 }
    }

    /// The warning to show for `line` now, or `None` when one was shown less than
    /// [`DropWarnings::EVERY`] ago (the line is then counted for the next).
    pub fn dropped(&mut self, line: &DroppedLine, now: Instant) -> Option<String> {
        if self.last_shown.is_some_and(|last| now.saturating_duration_since(last) < Self::EVERY) {
            self.hidden += 1;
            return None;
        }
        self.last_shown = Some(now);
        let which = match line.number {
            Some(number) => format!("line {number} of {}", self.input),
            None => format!("the line of {} ending at byte {}", self.input, line.end_offset),
        };
        let why = if line.bytes > self.limit {
            format!(
                "{} bytes, above the limit of {} bytes per record (--max-batch-bytes)",
                line.bytes, self.limit
            )
        } else if line.bytes > self.message_limit {
            format!(
                "{} bytes, more than one message carries (at most {} bytes of a line, from \
                 --max-message-bytes)",
                line.bytes, self.message_limit
            )
        } else {
            // v2: the metadata does not fit the stream state, whatever the content's size.
            format!(
                "{} bytes, but its --service, --status and --tag strings do not fit the v2 state",
                line.bytes
            )
        };
        let mut text = format!("dropped {which}: {why}; it is not sent");
        if self.hidden > 0 {
            text.push_str(&format!(
                " ({} more dropped since the last warning)",
                std::mem::take(&mut self.hidden)
            ));
        }
        Some(text)
    }

    /// The count of the dropped lines not told yet, if any.
    pub fn finish(&mut self) -> Option<String> {
        let hidden = std::mem::take(&mut self.hidden);
        let lines = if hidden == 1 { "line" } else { "lines" };
        (hidden > 0).then(|| format!("{hidden} more {lines} of {} dropped as too large", self.input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateful_logs::transport::DropReason;

    fn at(offset: u64) -> Position {
        Position { offset, ..Position::default() }
    }

    #[test]
    fn the_saved_position_is_the_last_line_whose_record_was_acknowledged_or_dropped() {
        let dir = std::env::temp_dir().join(format!("stateful-logs-acks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("state.json");
        let mut tracker = AckTracker::new(Some(StateFile::new(path.clone())));
        let mut tokens = Vec::new();
        for (number, offset) in [10, 20, 30, 40].into_iter().enumerate() {
            tokens.push(tracker.next_token());
            tracker.sent(at(offset), Some(number as u64 + 1), 9);
        }
        let saved = || StateFile::new(path.clone()).load().expect("readable state");

        assert_eq!(tracker.on_ack(AckEntry { token: tokens[0], outcome: AckOutcome::Acked }), None);
        let dropped =
            tracker.on_ack(AckEntry { token: tokens[1], outcome: AckOutcome::Dropped(DropReason::TooLarge) });
        assert_eq!(dropped, Some(DroppedLine { number: Some(2), end_offset: 20, bytes: 9 }));
        assert_eq!(saved(), None, "nothing is written before persist");
        tracker.persist();
        assert_eq!(saved(), Some(at(20)));

        tracker.on_ack(AckEntry { token: tokens[2], outcome: AckOutcome::Unacknowledged });
        tracker.persist();
        assert_eq!(saved(), Some(at(20)), "an unacknowledged record does not move the position");
        assert_eq!((tracker.acked(), tracker.dropped(), tracker.unresolved()), (1, 1, 2));
    }

    #[test]
    fn drop_warnings_name_the_line_and_limit_at_most_once_a_second_and_count_the_rest() {
        let mut warnings = DropWarnings::new("big.log", 1000, 1_000_000);
        let line = |number| DroppedLine { number: Some(number), end_offset: 0, bytes: 5000 };
        let start = Instant::now();
        let first = warnings.dropped(&line(3), start).expect("the first is shown");
        assert_eq!(
            first,
            "dropped line 3 of big.log: 5000 bytes, above the limit of 1000 bytes per record \
             (--max-batch-bytes); it is not sent"
        );
        assert_eq!(warnings.dropped(&line(4), start + Duration::from_millis(10)), None);
        assert_eq!(warnings.dropped(&line(5), start + Duration::from_millis(900)), None);
        let next = warnings.dropped(&line(9), start + Duration::from_secs(1)).expect("a second later");
        assert!(
            next.starts_with("dropped line 9 of big.log")
                && next.ends_with("(2 more dropped since the last warning)"),
            "{next}"
        );
        assert_eq!(warnings.finish(), None);
        assert_eq!(warnings.dropped(&line(10), start + Duration::from_millis(1500)), None);
        assert_eq!(warnings.finish().as_deref(), Some("1 more line of big.log dropped as too large"));

        let mut stdin = DropWarnings::new("-", 10, 1_000_000);
        let unnumbered = DroppedLine { number: None, end_offset: 777, bytes: 50 };
        let text = stdin.dropped(&unnumbered, start).expect("shown");
        assert!(text.starts_with("dropped the line of stdin ending at byte 777: 50 bytes"), "{text}");
    }
}
