//! `stateful-logs ship`: each kept line of a file or stdin becomes one record (`encoding.md`
//! §10.4) with the time it was read; waits for every acknowledgement.
//!
//! How it ends, and its exit code ([`crate::exit`]):
//!
//! | how | what it does | code |
//! |---|---|---|
//! | the input ends, all resolved | prints the summary on stdout | 0, or 3 if lines were dropped |
//! | SIGTERM or SIGINT | stops reading, waits up to `--shutdown-timeout` for the acks, saves the state file, prints the summary | 0, 3, or 4 if some stay unacknowledged |
//! | a second signal | saves the state file, stops at once | 130 (SIGINT), 143 (SIGTERM) |
//! | nothing acknowledged for `--give-up-after` (not with `--follow`) | says what failed and what to check | 4 |
//! | the intake refuses the key or profile, TLS fails | says why | 1 |
//!
//! Every line dropped as too large is named in a warning (line number, size, limit), at most
//! one warning a second, the others counted.
//!
//! Lines go to the client in batches (what the reader has ready, up to [`SEND_BATCH`]), one
//! channel hop per batch ([`hand_over`]).

mod acks;
mod reader;

use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs_tokio::{
    AckEntry, AckEvent, BuildTokio, Client, ClientBuilder, HaltError, Handle, Record, SendError,
    SendManyCause, SendManyError,
};

use crate::CliError;
use crate::cli::{ShipArgs, show_duration};
use crate::endpoint::parse_endpoint;
use crate::exit::ship_code;
use crate::failure_log::LastFailure;
use crate::follow::{Position, StateFile};
use crate::signals::{StopSignal, StopSignals};
use acks::{AckTracker, DropWarnings};
use reader::{InputLine, ReaderEvent, spawn_reader};

/// Lines handed to the client at once at most: those the reader has ready, up to this many.
const SEND_BATCH: usize = 1_000;

/// Runs `ship`.
pub async fn run(args: ShipArgs) -> Result<ExitCode, CliError> {
    // First: a signal during the start-up is then handled like any other.
    let signals = StopSignals::install()?;
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
    let give_up_after = (!args.follow && !args.give_up_after.is_zero()).then_some(args.give_up_after);
    let watch = Watch {
        acks: client.acks(),
        halts: client.halts(),
        signals,
        tracker: AckTracker::new(state),
        drops: DropWarnings::new(&args.input, args.max_batch_bytes, message_line_limit(&args)),
        give_up_after,
        waiting_since: Instant::now(),
        input_ended: false,
    };
    let shipping = Shipping { template: template(&args), endpoints: args.endpoints.clone() };
    ship(client, watch, shipping, events, args.shutdown_timeout).await
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
        .compression(args.compression.with(
            args.compression_level,
            args.compression_cpu,
            args.zstd_stream_window_log,
        ))
        .v1_delta_encoding(args.v1_delta_encoding)
        .batching(args.batch_size, args.max_batch_bytes, Duration::from_secs(5))
        .max_message_bytes(args.max_message_bytes)
        .max_buffer_bytes(args.max_buffer);
    for url in &args.endpoints {
        let url = parse_endpoint(url)?;
        let mut endpoint = EndpointConfig::new(url.host, url.port, ApiKey::new(key.clone()));
        endpoint.tls = url.tls || args.tls || args.ca.is_some();
        endpoint.ca_file = args.ca.clone();
        builder = builder.endpoint_config(endpoint);
    }
    Ok(builder.build_tokio()?)
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

/// What the records are made of and sent to.
struct Shipping {
    template: Record,
    endpoints: Vec<String>,
}

/// How the main loop ended.
enum Ending {
    /// The input ended and every record was resolved.
    Done,
    Signal(StopSignal),
    Halted(HaltError),
    /// Nothing was acknowledged for `--give-up-after` while records waited.
    GaveUp,
    ReadFailed(CliError),
    /// The client's pipelines stopped on their own (a bug): its channels closed.
    ClientGone,
}

/// The longest line one message carries with these settings (`budget::largest_content`).
fn message_line_limit(args: &ShipArgs) -> u64 {
    let profile: stateful_logs::Profile = args.profile.into();
    let metadata = [&args.service, &args.hostname, &args.source, &args.status]
        .iter()
        .map(|s| s.as_ref().map_or(0, |s| s.len() as u64))
        .sum::<u64>()
        + args.tags.iter().map(|t| t.len() as u64 + 1).sum::<u64>();
    // Ship sends text raw; in v2 a JSON line may become a schema.
    let structured = profile == stateful_logs::Profile::V2;
    stateful_logs::pipeline::budget::largest_content(args.max_message_bytes, metadata, structured)
}

/// Everything that may end the run while it waits for something else: signals, halts, acks
/// (counted, warned about, saved), the give-up clock.
struct Watch {
    acks: async_channel::Receiver<AckEvent>,
    halts: async_channel::Receiver<HaltError>,
    signals: StopSignals,
    tracker: AckTracker,
    drops: DropWarnings,
    give_up_after: Option<Duration>,
    /// Since when records wait without an ack: the last ack, or when records began to wait.
    waiting_since: Instant,
    input_ended: bool,
}

impl Watch {
    /// Runs `work` to its end unless the run ends first; acks are taken meanwhile.
    async fn until_stopped<T>(&mut self, work: impl Future<Output = T>) -> Result<T, Ending> {
        tokio::pin!(work);
        loop {
            if self.input_ended && self.tracker.unresolved() == 0 {
                return Err(Ending::Done);
            }
            let give_up = self.give_up_after.filter(|_| self.tracker.unresolved() > 0);
            let give_up_at = give_up.map(|after| tokio::time::Instant::from_std(self.waiting_since + after));
            tokio::select! {
                biased;
                signal = self.signals.recv() => return Err(Ending::Signal(signal)),
                halt = self.halts.recv() => return Err(halt.map_or(Ending::ClientGone, Ending::Halted)),
                () = sleep_until(give_up_at) => return Err(Ending::GaveUp),
                entry = self.acks.recv() => match entry {
                    Ok(Ok(entry)) => self.take_acks(entry),
                    Ok(Err(halt)) => return Err(Ending::Halted(halt)),
                    Err(_) => return Err(Ending::ClientGone),
                },
                done = &mut work => return Ok(done),
            }
        }
    }

    /// Takes `first` and every ack already queued, then saves the state once.
    fn take_acks(&mut self, first: AckEntry) {
        self.take_ack(first);
        // A halt queued behind them is also on the halts channel, where it is handled.
        while let Ok(Ok(entry)) = self.acks.try_recv() {
            self.take_ack(entry);
        }
        self.tracker.persist();
        self.waiting_since = Instant::now();
    }

    fn take_ack(&mut self, entry: AckEntry) {
        if let Some(line) = self.tracker.on_ack(entry)
            && let Some(warning) = self.drops.dropped(&line, Instant::now())
        {
            tracing::warn!("{warning}");
        }
    }

    /// The client took the record of a line (its token was [`AckTracker::next_token`]).
    fn sent(&mut self, position: Position, number: Option<u64>, bytes: u64) {
        if self.tracker.unresolved() == 0 {
            // The give-up clock runs only while records wait.
            self.waiting_since = Instant::now();
        }
        self.tracker.sent(position, number, bytes);
    }

    /// The warning for the dropped lines not told yet.
    fn finish_warnings(&mut self) {
        if let Some(warning) = self.drops.finish() {
            tracing::warn!("{warning}");
        }
    }

    /// Shuts the client down within `timeout`, taking (and saving) the acks as they arrive:
    /// a SIGKILL that follows a SIGTERM after a grace period finds the state file current.
    /// With `second_signal_stops`, a signal ends the wait at once and is returned.
    async fn finish(
        &mut self,
        client: Client,
        timeout: Duration,
        second_signal_stops: bool,
    ) -> Option<StopSignal> {
        let shutdown = client.shutdown(timeout);
        tokio::pin!(shutdown);
        let second = loop {
            tokio::select! {
                biased;
                signal = self.signals.recv(), if second_signal_stops => break Some(signal),
                _ = &mut shutdown => break None,
                entry = self.acks.recv() => match entry {
                    Ok(Ok(entry)) => self.take_acks(entry),
                    Ok(Err(_halt)) => {}
                    Err(_) => {
                        // Every pipeline ended: its report is on the way.
                        let _ = (&mut shutdown).await;
                        break None;
                    }
                },
            }
        };
        while let Ok(event) = self.acks.try_recv() {
            if let Ok(entry) = event {
                self.take_ack(entry);
            }
        }
        self.tracker.persist();
        self.finish_warnings();
        second
    }

    /// `N records sent: A acknowledged, D dropped as too large, U not acknowledged`.
    fn counts(&self) -> String {
        let t = &self.tracker;
        format!(
            "{} records sent: {} acknowledged, {} dropped as too large, {} not acknowledged",
            t.sent_count(),
            t.acked(),
            t.dropped(),
            t.unresolved()
        )
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn ship(
    client: Client,
    mut watch: Watch,
    shipping: Shipping,
    mut events: tokio::sync::mpsc::Receiver<ReaderEvent>,
    shutdown_timeout: Duration,
) -> Result<ExitCode, CliError> {
    let handle = client.handle();
    let started = Instant::now();
    // An event the batching read past (not a line): handled next.
    let mut deferred = None;
    let ending = loop {
        let event = if let Some(event) = deferred.take() {
            Ok(Some(event))
        } else if watch.input_ended {
            watch.until_stopped(std::future::pending()).await
        } else {
            watch.until_stopped(events.recv()).await
        };
        let event = match event {
            Ok(event) => event,
            Err(ending) => break ending,
        };
        let flushed = match event {
            Some(ReaderEvent::Line(line)) => {
                let mut batch = LineBatch::new(watch.tracker.next_token());
                batch.push(&shipping.template, line);
                while batch.records.len() < SEND_BATCH {
                    match events.try_recv() {
                        Ok(ReaderEvent::Line(line)) => batch.push(&shipping.template, line),
                        Ok(other) => {
                            deferred = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                match hand_over(&handle, &mut watch, batch).await {
                    Ok(()) => continue,
                    Err(ending) => break ending,
                }
            }
            Some(ReaderEvent::Idle) => watch.until_stopped(client.flush()).await,
            Some(ReaderEvent::Failed(error)) => break Ending::ReadFailed(error),
            Some(ReaderEvent::End) | None => {
                watch.input_ended = true;
                watch.until_stopped(client.flush()).await
            }
        };
        if let Err(ending) = flushed {
            break ending;
        }
    };
    let elapsed = started.elapsed();
    match ending {
        Ending::ClientGone => Err(CliError::Incomplete("the client stopped unexpectedly".into())),
        Ending::ReadFailed(error) => Err(error),
        Ending::Halted(halt) => {
            // Nothing more can be delivered until the cause is fixed: report at once.
            watch.finish(client, Duration::ZERO, false).await;
            Err(CliError::Halted(halt))
        }
        Ending::Done => {
            watch.finish(client, shutdown_timeout, false).await;
            let t = &watch.tracker;
            let seconds = elapsed.as_secs_f64();
            println!(
                "shipped {} records in {seconds:.2} s ({:.0} records/s): {} acknowledged, {} dropped as too large",
                t.sent_count(),
                t.sent_count() as f64 / seconds.max(1e-9),
                t.acked(),
                t.dropped()
            );
            Ok(ship_code(t.unresolved(), t.dropped()))
        }
        Ending::Signal(signal) => stop_on_signal(client, watch, signal, shutdown_timeout).await,
        Ending::GaveUp => {
            watch.finish(client, Duration::ZERO, false).await;
            let after = watch.give_up_after.map(show_duration).unwrap_or_default();
            eprintln!("gave up: nothing was acknowledged for {after} (--give-up-after); {}", watch.counts());
            if let Some(failure) = LastFailure::last() {
                eprintln!("last failure: {failure}");
            }
            eprintln!(
                "check that the intake at {} is running and reachable from here, that the host name \
                 resolves, that the port is right, and that TLS matches (https:// or --tls for a TLS \
                 intake, http:// for a plain one); --give-up-after 0 waits forever",
                shipping.endpoints.join(", ")
            );
            Ok(ExitCode::from(crate::exit::NOT_ACKNOWLEDGED))
        }
    }
}

/// Records of consecutive lines, with what the state file and the warnings need of each line.
struct LineBatch {
    first_token: u64,
    records: Vec<Record>,
    /// Per record: where its line ends, its number, its length.
    lines: Vec<(Position, Option<u64>, u64)>,
}

impl LineBatch {
    /// An empty batch whose first record gets `first_token`.
    fn new(first_token: u64) -> Self {
        LineBatch { first_token, records: Vec::new(), lines: Vec::new() }
    }

    /// Stamps `line` into a copy of `template`, with the next token.
    fn push(&mut self, template: &Record, line: InputLine) {
        let InputLine { content, timestamp_ms, position, number } = line;
        let mut record = template.clone();
        record.timestamp_ms = timestamp_ms;
        self.lines.push((position, number, content.len() as u64));
        record.content = content.into();
        record.ack_token = Some(self.first_token + self.records.len() as u64);
        self.records.push(record);
    }
}

/// Hands `batch` to the client in order: `try_send_many` takes what the budget has room for
/// in one channel hop; while the budget is full, `send` waits with the next record alone.
/// Each line is registered as sent once its record is taken. Both calls are cancel-safe (a
/// signal or halt that ends the wait leaves every record either taken and registered, or not
/// taken), which `send_many` is not: its count of taken records is lost with its future.
async fn hand_over(handle: &Handle, watch: &mut Watch, batch: LineBatch) -> Result<(), Ending> {
    let LineBatch { records, lines, .. } = batch;
    let mut lines = lines.into_iter();
    let mut records = records;
    loop {
        let rest = match handle.try_send_many(records) {
            Ok(()) => Vec::new(),
            Err(SendManyError { accepted, rest, cause }) => {
                for (position, number, bytes) in lines.by_ref().take(accepted) {
                    watch.sent(position, number, bytes);
                }
                match cause {
                    SendManyCause::Full => rest,
                    SendManyCause::Halted(halt) => return Err(Ending::Halted(halt)),
                    SendManyCause::Closed => return Err(Ending::ClientGone),
                }
            }
        };
        let mut rest = rest.into_iter();
        let Some(first) = rest.next() else {
            for (position, number, bytes) in lines {
                watch.sent(position, number, bytes);
            }
            return Ok(());
        };
        match watch.until_stopped(handle.send(first)).await {
            Ok(Ok(())) => {
                if let Some((position, number, bytes)) = lines.next() {
                    watch.sent(position, number, bytes);
                }
            }
            Ok(Err(SendError::Halted { error, .. })) => return Err(Ending::Halted(error)),
            Ok(Err(SendError::Closed(_))) => return Err(Ending::ClientGone),
            Err(ending) => return Err(ending),
        }
        records = rest.collect();
    }
}

/// The first stop signal: drain within the deadline, unless a second signal comes.
async fn stop_on_signal(
    client: Client,
    mut watch: Watch,
    signal: StopSignal,
    timeout: Duration,
) -> Result<ExitCode, CliError> {
    eprintln!(
        "{signal}: stopped reading; waiting up to {} for {} records to be acknowledged (another signal stops at once)",
        show_duration(timeout),
        watch.tracker.unresolved()
    );
    let second = watch.finish(client, timeout, true).await;
    let resumes = if watch.tracker.has_state_file() && watch.tracker.unresolved() > 0 {
        "; the state file resumes before the unacknowledged ones"
    } else {
        ""
    };
    if let Some(second) = second {
        // Whatever was acknowledged so far is saved; the rest is sent again by the next run.
        eprintln!("{second} again: stopped at once; {}{resumes}", watch.counts());
        return Ok(second.exit_code());
    }
    eprintln!("stopped by {signal}: {}{resumes}", watch.counts());
    Ok(ship_code(watch.tracker.unresolved(), watch.tracker.dropped()))
}
