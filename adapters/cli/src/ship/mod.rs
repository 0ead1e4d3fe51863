//! `stateful-logs ship`: each kept line of a file or stdin becomes one record (`encoding.md`
//! §10.4) with the time it was read; waits for every acknowledgement.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs_tokio::{AckEntry, AckOutcome, BuildTokio, Client, ClientBuilder, HaltError, Record};
use tokio::sync::mpsc;

use crate::CliError;
use crate::cli::ShipArgs;
use crate::endpoint::parse_endpoint;
use crate::follow::{Position, StateFile, Tailer};
use crate::lines::LineReader;

/// How often a tailed file is checked for new lines, rotation and truncation.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// What the reader thread hands over.
enum ReaderEvent {
    /// A kept line, when it was read, where it ends.
    Line { content: Vec<u8>, timestamp_ms: i64, position: Position },
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

/// Runs `ship`.
pub async fn run(args: ShipArgs) -> Result<ExitCode, CliError> {
    let mut state = args.state_file.clone().map(StateFile::new);
    let resume = match &mut state {
        Some(state) => state.load().map_err(|e| CliError::io("cannot read the state file", e))?,
        None => None,
    };
    if args.follow && args.input == "-" {
        return Err(CliError::Usage("--follow needs a file: give it with --input FILE".into()));
    }
    // The input is opened before the client starts, so that a wrong path is refused before
    // any connection to the intake.
    let events = spawn_reader(&args, resume)?;
    if let Some(address) = args.metrics_listen {
        crate::metrics_setup::serve_prometheus(address)?;
    }
    let client = build_client(&args)?;
    let timeout = Duration::from_secs(args.shutdown_timeout);
    ship(client, AckTracker::new(state), template(&args), events, timeout).await
}

fn build_client(args: &ShipArgs) -> Result<Client, CliError> {
    let key = std::env::var(&args.api_key_env).ok().filter(|k| !k.is_empty()).ok_or_else(|| {
        CliError::Usage(format!(
            "no API key: set the environment variable {} (or name another one with --api-key-env VAR)",
            args.api_key_env
        ))
    })?;
    let mut builder = ClientBuilder::new()
        .profile(args.profile.into())
        .compression(stateful_logs::codec::Compression {
            window_log: args.zstd_stream_window_log,
            ..args.compression.into()
        })
        .v1_delta_encoding(args.v1_delta_encoding)
        .batching(args.batch_size, 5_000_000, Duration::from_secs(5));
    for url in &args.endpoints {
        let url = parse_endpoint(url)?;
        let mut endpoint = EndpointConfig::new(url.host, url.port, ApiKey::new(key.clone()));
        endpoint.tls = url.tls || args.tls || args.ca.is_some();
        endpoint.ca_file = args.ca.clone();
        builder = builder.endpoint_config(endpoint);
    }
    Ok(builder.build_tokio()?)
}

/// Reads lines on a thread of its own (stdin and file reads block).
fn spawn_reader(args: &ShipArgs, resume: Option<Position>) -> Result<mpsc::Receiver<ReaderEvent>, CliError> {
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
                        let event =
                            ReaderEvent::Line { content: line.content, timestamp_ms: now_ms(), position };
                        if events.blocking_send(event).is_err() {
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
    ReaderEvent::Line { content: line.content, timestamp_ms: now_ms(), position }
}

/// The acknowledgement bookkeeping: each record's token is its sequence number; the positions
/// of the lines sent and not yet resolved wait here in order (acks resolve tokens in input
/// order), and the position of the last acknowledged line goes to the state file.
struct AckTracker {
    state: Option<StateFile>,
    pending: VecDeque<(u64, Position)>,
    sent: u64,
    acked: u64,
    dropped: u64,
    last_resolved: Option<Position>,
}

impl AckTracker {
    fn new(state: Option<StateFile>) -> Self {
        AckTracker { state, pending: VecDeque::new(), sent: 0, acked: 0, dropped: 0, last_resolved: None }
    }

    /// Registers a line about to be sent; returns its ack token.
    fn sending(&mut self, position: Position) -> u64 {
        let token = self.sent;
        self.pending.push_back((token, position));
        self.sent += 1;
        token
    }

    /// Resolves `entry` and every token before it; call [`AckTracker::persist`] after a burst.
    fn on_ack(&mut self, entry: AckEntry) {
        match entry.outcome {
            AckOutcome::Acked => self.acked += 1,
            // Dropped (too large) records will never be delivered: move past them too.
            AckOutcome::Dropped(_) => self.dropped += 1,
            AckOutcome::Unacknowledged => return,
        }
        while let Some(&(token, position)) = self.pending.front()
            && token <= entry.token
        {
            self.pending.pop_front();
            self.last_resolved = Some(position);
        }
    }

    /// Saves the position of the last resolved line (one write per burst of acks, not per
    /// record: each save syncs the file).
    fn persist(&mut self) {
        if let (Some(position), Some(state)) = (self.last_resolved, &mut self.state)
            && let Err(error) = state.save(position)
        {
            tracing::error!(%error, "cannot save the state file");
        }
    }

    fn resolved(&self) -> u64 {
        self.acked + self.dropped
    }
}

/// How the main loop ended.
enum Ending {
    Done,
    Interrupted,
    Halted(HaltError),
    /// The client's pipelines stopped on their own (a bug): its channels closed.
    ClientGone,
}

/// The record every line is stamped into.
fn template(args: &ShipArgs) -> Record {
    Record {
        status: args.status.clone(),
        service: args.service.clone(),
        hostname: args.hostname.clone(),
        source: args.source.clone(),
        tags: args.tags.clone(),
        ..Record::default()
    }
}

async fn ship(
    client: Client,
    mut tracker: AckTracker,
    template: Record,
    mut events: mpsc::Receiver<ReaderEvent>,
    shutdown_timeout: Duration,
) -> Result<ExitCode, CliError> {
    let handle = client.handle();
    let acks = client.acks();
    let halts = client.halts();
    let started = Instant::now();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut input_ended = false;
    let ending = loop {
        if input_ended && tracker.resolved() == tracker.sent {
            break Ending::Done;
        }
        tokio::select! {
            biased;
            _ = &mut ctrl_c => break Ending::Interrupted,
            halt = halts.recv() => break halt.map_or(Ending::ClientGone, Ending::Halted),
            entry = acks.recv() => {
                let Ok(entry) = entry else { break Ending::ClientGone };
                tracker.on_ack(entry);
                while let Ok(entry) = acks.try_recv() {
                    tracker.on_ack(entry);
                }
                tracker.persist();
            }
            event = events.recv(), if !input_ended => match event {
                Some(ReaderEvent::Line { content, timestamp_ms, position }) => {
                    let mut record = template.clone();
                    record.timestamp_ms = timestamp_ms;
                    record.content = content.into();
                    record.ack_token = Some(tracker.sending(position));
                    tokio::select! {
                        biased;
                        _ = &mut ctrl_c => break Ending::Interrupted,
                        halt = halts.recv() => break halt.map_or(Ending::ClientGone, Ending::Halted),
                        sent = handle.send(record) => if sent.is_err() {
                            return Err(CliError::Incomplete("the client stopped taking records".into()));
                        },
                    }
                }
                Some(ReaderEvent::Idle) => client.flush().await,
                Some(ReaderEvent::Failed(error)) => return Err(error),
                Some(ReaderEvent::End) | None => {
                    input_ended = true;
                    client.flush().await;
                }
            },
        }
    };
    let elapsed = started.elapsed();
    let finish = |timeout| finish(client, &acks, timeout);
    match ending {
        Ending::ClientGone => Err(CliError::Incomplete("the client stopped unexpectedly".into())),
        Ending::Halted(halt) => {
            // Nothing more can be delivered until the cause is fixed: report at once.
            let _ = finish(Duration::ZERO).await;
            Err(CliError::Halted(halt))
        }
        Ending::Interrupted => {
            eprintln!(
                "interrupted: shutting down, waiting up to {} s for acknowledgements",
                shutdown_timeout.as_secs()
            );
            let (unacknowledged, late) = finish(shutdown_timeout).await;
            late.into_iter().for_each(|entry| tracker.on_ack(entry));
            tracker.persist();
            eprintln!(
                "{} records sent: {} acknowledged, {} dropped as too large, {} not acknowledged{}",
                tracker.sent,
                tracker.acked,
                tracker.dropped,
                unacknowledged,
                if tracker.state.is_some() && unacknowledged > 0 {
                    " (the state file resumes before them)"
                } else {
                    ""
                }
            );
            Ok(if unacknowledged == 0 { ExitCode::SUCCESS } else { ExitCode::from(130) })
        }
        Ending::Done => {
            let (unacknowledged, late) = finish(shutdown_timeout).await;
            late.into_iter().for_each(|entry| tracker.on_ack(entry));
            tracker.persist();
            let seconds = elapsed.as_secs_f64();
            println!(
                "shipped {} records in {seconds:.2} s ({:.0} records/s): {} acknowledged, {} dropped as too large",
                tracker.sent,
                tracker.sent as f64 / seconds.max(1e-9),
                tracker.acked,
                tracker.dropped
            );
            if unacknowledged > 0 {
                return Err(CliError::Incomplete(format!(
                    "{unacknowledged} records were not acknowledged before the shutdown deadline"
                )));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Shuts the client down within `timeout`; returns how many records stayed unacknowledged
/// and the acknowledgements that arrived meanwhile.
async fn finish(
    client: Client,
    acks: &async_channel::Receiver<AckEntry>,
    timeout: Duration,
) -> (usize, Vec<AckEntry>) {
    let report = client.shutdown(timeout).await;
    let mut late = Vec::new();
    while let Ok(entry) = acks.try_recv() {
        late.push(entry);
    }
    (report.unacknowledged.len(), late)
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
        let tokens: Vec<u64> = [10, 20, 30, 40].into_iter().map(|o| tracker.sending(at(o))).collect();
        let saved = || StateFile::new(path.clone()).load().expect("readable state");

        tracker.on_ack(AckEntry { token: tokens[0], outcome: AckOutcome::Acked });
        tracker.on_ack(AckEntry { token: tokens[1], outcome: AckOutcome::Dropped(DropReason::TooLarge) });
        assert_eq!(saved(), None, "nothing is written before persist");
        tracker.persist();
        assert_eq!(saved(), Some(at(20)));

        tracker.on_ack(AckEntry { token: tokens[2], outcome: AckOutcome::Unacknowledged });
        tracker.persist();
        assert_eq!(saved(), Some(at(20)), "an unacknowledged record does not move the position");
        assert_eq!((tracker.acked, tracker.dropped, tracker.resolved()), (1, 1, 2));
    }
}
