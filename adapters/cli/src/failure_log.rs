//! Keeps the last warning of the client's driver (a connection refused, a host that does not
//! resolve, a status from the intake), so that `ship` can say what failed when it gives up,
//! whatever the log level shows.

use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer};

/// The last failure seen.
static LAST_FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// The layer that records the driver's warnings (add it with [`LastFailure::layer`]).
pub struct LastFailure;

impl LastFailure {
    /// The layer, filtered to the client's warnings and errors (nothing else is formatted).
    pub fn layer<S>() -> impl Layer<S>
    where
        S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        LastFailure.with_filter(Targets::new().with_target("stateful_logs_runtime", Level::WARN))
    }

    /// The last failure, as one line.
    pub fn last() -> Option<String> {
        LAST_FAILURE.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<S: Subscriber> Layer<S> for LastFailure {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut text = FailureText::default();
        event.record(&mut text);
        *LAST_FAILURE.lock().unwrap_or_else(|p| p.into_inner()) = Some(text.0);
    }
}

/// The event's message and fields as one line (`open failed: connection: tcp connect error`);
/// stream and pipeline numbers say nothing to a user and are left out.
#[derive(Default)]
struct FailureText(String);

impl Visit for FailureText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let name = field.name();
        if matches!(name, "stream" | "pipeline") {
            return;
        }
        if !self.0.is_empty() {
            self.0.push_str(": ");
        }
        if name != "message" {
            self.0.push_str(name);
            self.0.push('=');
        }
        self.0.push_str(&format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // Unquoted: `Debug` of a str would add quotes and escapes.
        self.record_debug(field, &format_args!("{value}"));
    }
}
