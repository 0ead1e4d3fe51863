//! The input of `ship`: kept lines of a file or stdin, read on a thread of its own (stdin and
//! file reads block), or of a followed file.

use std::io::{BufRead, BufReader};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::CliError;
use crate::cli::ShipArgs;
use crate::follow::{Position, Tailer};
use crate::lines::LineReader;

/// How often a tailed file is checked for new lines, rotation and truncation.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// A kept line as the reader hands it over.
pub struct InputLine {
    /// The record's content.
    pub content: Vec<u8>,
    /// When it was read.
    pub timestamp_ms: i64,
    /// Where it ends.
    pub position: Position,
    /// Its line number, when known (see [`crate::lines::Line::number`]).
    pub number: Option<u64>,
}

/// What the reader thread hands over.
pub enum ReaderEvent {
    /// A kept line.
    Line(InputLine),
    /// No more lines for now (following): flush the open batch instead of waiting for it.
    Idle,
    /// The input ended.
    End,
    /// Reading failed.
    Failed(CliError),
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Opens the input and starts reading it; a path that cannot be opened is an error now, before
/// any connection.
pub fn spawn_reader(
    args: &ShipArgs,
    resume: Option<Position>,
) -> Result<mpsc::Receiver<ReaderEvent>, CliError> {
    let (events, receiver) = mpsc::channel(4_096);
    let input = args.input.clone();
    if args.follow {
        let mut tailer = Tailer::open(input.as_ref(), resume)
            .map_err(|e| CliError::io(format!("cannot open {input}"), e))?;
        std::thread::spawn(move || {
            let mut idle = true;
            loop {
                match tailer.next_line() {
                    Ok(Some((line, position))) => {
                        idle = false;
                        let line = InputLine {
                            content: line.content,
                            timestamp_ms: now_ms(),
                            position,
                            number: line.number,
                        };
                        if events.blocking_send(ReaderEvent::Line(line)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        if !idle {
                            idle = true;
                            if events.blocking_send(ReaderEvent::Idle).is_err() {
                                return;
                            }
                        }
                        std::thread::sleep(FOLLOW_POLL);
                    }
                    Err(e) => {
                        let _ = events.blocking_send(ReaderEvent::Failed(CliError::io(
                            format!("cannot read {input}"),
                            e,
                        )));
                        return;
                    }
                }
            }
        });
        return Ok(receiver);
    }
    let source: Box<dyn BufRead + Send> = if input == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file =
            std::fs::File::open(&input).map_err(|e| CliError::io(format!("cannot open {input}"), e))?;
        Box::new(BufReader::new(file))
    };
    std::thread::spawn(move || {
        let mut reader = LineReader::new(source, 0);
        loop {
            let event = match reader.next_line() {
                Ok(Some(line)) => line_event(line),
                Ok(None) => match reader.finish() {
                    Some(line) => line_event(line),
                    None => ReaderEvent::End,
                },
                Err(e) => ReaderEvent::Failed(CliError::io(format!("cannot read {input}"), e)),
            };
            let last = matches!(event, ReaderEvent::End | ReaderEvent::Failed(_));
            if events.blocking_send(event).is_err() || last {
                return;
            }
        }
    });
    Ok(receiver)
}

fn line_event(line: crate::lines::Line) -> ReaderEvent {
    let position = Position { offset: line.end_offset, ..Position::default() };
    ReaderEvent::Line(InputLine {
        content: line.content,
        timestamp_ms: now_ms(),
        position,
        number: line.number,
    })
}
