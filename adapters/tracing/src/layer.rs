//! The `tracing_subscriber::Layer`: each event becomes a [`Record`] handed to the client with
//! `try_send`, on the application's thread, without ever waiting.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stateful_logs::Record;
use stateful_logs_runtime::{Handle, TrySendError};
use tracing_core::span::{Attributes, Id};
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::fields::{EventJson, FieldValue, FieldVisitor, Fields};
use crate::stats::{Counters, DROPPED_EVENTS_METRIC, DropCause, ShipperStats};

/// Targets of the crates under the client (HTTP/2, gRPC, TLS, I/O reactors): their debug and
/// trace events happen per frame and per poll while the client ships, so shipping them would
/// feed the client its own traffic. Their info, warn and error events are shipped.
const TRANSPORT_TARGETS: [&str; 14] = [
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "rustls",
    "tokio_rustls",
    "futures_rustls",
    "async_io",
    "async_executor",
    "polling",
    "mio",
    "want",
    "smol_hyper",
];

/// Metadata every record of the layer carries, and what it leaves out.
#[derive(Clone, Debug)]
pub struct LayerSettings {
    pub(crate) service: Option<String>,
    pub(crate) hostname: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) excluded_targets: Vec<String>,
    pub(crate) notice_interval: Duration,
}

impl Default for LayerSettings {
    fn default() -> Self {
        LayerSettings {
            service: binary_name(),
            hostname: None,
            source: None,
            tags: Vec::new(),
            excluded_targets: Vec::new(),
            notice_interval: Duration::from_secs(10),
        }
    }
}

/// The running program's file name without extension, the default service name.
fn binary_name() -> Option<String> {
    let path = std::env::current_exe().ok()?;
    Some(path.file_stem()?.to_string_lossy().into_owned())
}

impl LayerSettings {
    /// The service name of every record (default: the binary's name).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The host name of every record (default: none).
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// The source (`ddsource`) of every record (default: none).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Adds a tag (e.g. `env:prod`) to every record.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Leaves out the events of `target` and its submodules (`my_crate` leaves out
    /// `my_crate::db` too). The client's own targets (`stateful_logs*`) are always left out.
    pub fn exclude_target(mut self, target: impl Into<String>) -> Self {
        self.excluded_targets.push(target.into());
        self
    }

    /// At most one "N events were dropped" record per this interval (10 s).
    pub fn drop_notice_interval(mut self, interval: Duration) -> Self {
        self.notice_interval = interval;
        self
    }

    fn excludes(&self, metadata: &Metadata<'_>) -> bool {
        let target = metadata.target();
        // The client logs with tracing: shipping its events would make it log about shipping
        // them, a loop.
        if target.starts_with("stateful_logs") {
            return true;
        }
        if *metadata.level() > Level::INFO && TRANSPORT_TARGETS.iter().any(|t| within(target, t)) {
            return true;
        }
        self.excluded_targets.iter().any(|t| within(target, t))
    }

    fn stamp(&self, mut record: Record) -> Record {
        record.service = self.service.clone();
        record.hostname = self.hostname.clone();
        record.source = self.source.clone();
        record.tags = self.tags.clone();
        record
    }
}

/// Whether `target` is `module` or one of its submodules.
fn within(target: &str, module: &str) -> bool {
    target.strip_prefix(module).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

thread_local! {
    /// Set while this thread is inside the layer: anything logged from in there (a metrics
    /// recorder, say) is not shipped, so the layer never re-enters itself.
    static IN_LAYER: Cell<bool> = const { Cell::new(false) };
}

/// Resets [`IN_LAYER`] even if shipping panics.
struct Entered;

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = IN_LAYER.try_with(|inside| inside.set(false));
    }
}

/// The fields a span recorded, kept in its extensions.
struct SpanFields(Fields);

/// The layer: turns each event into a record and hands it to the client with `try_send`.
///
/// Made by [`ShipperBuilder::layer`](crate::ShipperBuilder::layer) (with the guard that owns
/// the client) or by [`ShipperLayer::for_handle`] for a client of your own.
pub struct ShipperLayer {
    handle: Handle,
    settings: LayerSettings,
    counters: Arc<Counters>,
    /// Ack tokens, when the shipper's worker reads the acks (they would pile up otherwise).
    tokens: Option<AtomicU64>,
    started: Instant,
}

impl ShipperLayer {
    /// A layer feeding a client you own through `handle` (you shut the client down). Its
    /// records carry no ack token, so your client's ack stream is left alone.
    pub fn for_handle(handle: Handle, settings: LayerSettings) -> Self {
        ShipperLayer::new(handle, settings, Arc::new(Counters::default()), false)
    }

    pub(crate) fn new(
        handle: Handle,
        settings: LayerSettings,
        counters: Arc<Counters>,
        tokens: bool,
    ) -> Self {
        let tokens = tokens.then(|| AtomicU64::new(1));
        ShipperLayer { handle, settings, counters, tokens, started: Instant::now() }
    }

    /// What became of the events so far.
    pub fn stats(&self) -> ShipperStats {
        self.counters.snapshot()
    }

    fn ship<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        #[cfg(feature = "log")]
        let normalized = tracing_log::NormalizeEvent::normalized_metadata(event);
        #[cfg(feature = "log")]
        let (metadata, from_log) = match &normalized {
            Some(metadata) => (metadata, true),
            None => (event.metadata(), false),
        };
        #[cfg(not(feature = "log"))]
        let (metadata, from_log) = (event.metadata(), false);
        if self.settings.excludes(metadata) {
            return;
        }
        self.counters.event();
        let mut fields = Fields::default();
        event.record(&mut FieldVisitor { fields: &mut fields, skip_log_fields: from_log });
        let mut span_names = Vec::new();
        let mut span_fields = Fields::default();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                span_names.push(span.name());
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    span_fields.merge(fields);
                }
            }
        }
        let level = *metadata.level();
        let mut content = String::with_capacity(256);
        EventJson { level: level.as_str(), logger: metadata.target(), fields, span_names, span_fields }
            .write(&mut content);
        let record = self.settings.stamp(Record::new(now_ms(), content).with_status(status(level)));
        match self.send(record) {
            Ok(()) => {
                self.counters.queued();
                self.announce_drops();
            }
            Err(cause) => self.counters.dropped(cause),
        }
    }

    fn send(&self, mut record: Record) -> Result<(), DropCause> {
        if let Some(tokens) = &self.tokens {
            record.ack_token = Some(tokens.fetch_add(1, Ordering::Relaxed));
        }
        // The refused record comes back and is freed here: nothing waits, nothing piles up.
        self.handle.try_send(record).map_err(|error| match error {
            TrySendError::Full(_) => DropCause::Full,
            TrySendError::Halted { .. } => DropCause::Halted,
            TrySendError::Closed(_) => DropCause::Closed,
        })
    }

    /// After a successful send: one record telling how many events were dropped since the
    /// last such notice, at most once per interval (one thread wins the race to send it).
    fn announce_drops(&self) {
        if self.counters.unannounced.load(Ordering::Relaxed) == 0 {
            return;
        }
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1;
        let last = self.counters.last_notice.load(Ordering::Relaxed);
        let interval = u64::try_from(self.settings.notice_interval.as_millis()).unwrap_or(u64::MAX);
        if last != 0 && now.saturating_sub(last) < interval {
            return;
        }
        if self.counters.last_notice.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed).is_err()
        {
            return;
        }
        let count = self.counters.unannounced.swap(0, Ordering::AcqRel);
        if count == 0 {
            return;
        }
        let mut fields = Fields::default();
        fields.set(
            "message",
            FieldValue::Str(format!(
                "{count} events were dropped because the log shipper could not queue them (buffer \
                 full or client halted); the {DROPPED_EVENTS_METRIC} metric counts them"
            )),
        );
        fields.set("dropped_events", FieldValue::Int(count.into()));
        let mut content = String::with_capacity(256);
        EventJson {
            level: Level::WARN.as_str(),
            logger: env!("CARGO_CRATE_NAME"),
            fields,
            span_names: Vec::new(),
            span_fields: Fields::default(),
        }
        .write(&mut content);
        let record = self.settings.stamp(Record::new(now_ms(), content).with_status(status(Level::WARN)));
        match self.send(record) {
            Ok(()) => self.counters.notice_sent(),
            // Announced with the next notice instead.
            Err(_) => {
                self.counters.unannounced.fetch_add(count, Ordering::Relaxed);
            }
        }
    }
}

/// `Record::status`: the level in lower case.
fn status(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Wall-clock milliseconds since the Unix epoch (negative before it).
fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

impl<S> Layer<S> for ShipperLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut FieldVisitor { fields: &mut fields, skip_log_fields: false });
        if !fields.is_empty() {
            span.extensions_mut().replace(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &tracing_core::span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(SpanFields(fields)) => values.record(&mut FieldVisitor { fields, skip_log_fields: false }),
            None => {
                let mut fields = Fields::default();
                values.record(&mut FieldVisitor { fields: &mut fields, skip_log_fields: false });
                extensions.replace(SpanFields(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let reentered = IN_LAYER.try_with(|inside| inside.replace(true)).unwrap_or(true);
        if reentered {
            return;
        }
        let _entered = Entered;
        self.ship(event, &ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_whole_modules_only() {
        assert!(within("h2", "h2"));
        assert!(within("h2::codec", "h2"));
        assert!(!within("h2o", "h2"));
        assert!(!within("my_h2", "h2"));
    }

    #[test]
    fn levels_become_lower_case_statuses() {
        assert_eq!(status(Level::WARN), "warn");
        assert_eq!(status(Level::TRACE), "trace");
        assert!(now_ms() > 1_600_000_000_000);
    }
}
