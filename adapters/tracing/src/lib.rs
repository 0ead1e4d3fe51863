//! # stateful-logs-tracing: ship an application's own logs
//!
//! A [`tracing_subscriber::Layer`] that turns each `tracing` event (and, with the `log`
//! feature, each `log` record) into a stateful-logs [`Record`](stateful_logs::Record) and hands
//! it to a client with `try_send`, and a guard that flushes and shuts the client down.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = stateful_logs_tracing::tokio().endpoint("127.0.0.1", 4317).api_key("key").init()?;
//! tracing::info!(user = "ann", items = 3, "order placed");
//! let report = guard.shutdown(); // or let it drop at the end of main
//! if let Some(halt) = report.halted() {
//!     eprintln!("logs were not delivered: {halt}");
//! }
//! # Ok(()) }
//! ```
//!
//! With a subscriber of your own, take the layer and the guard instead:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_subscriber::layer::SubscriberExt;
//! let (layer, _guard) = stateful_logs_tracing::smol().endpoint("127.0.0.1", 4317).layer()?;
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::set_global_default(subscriber)?;
//! # Ok(()) }
//! ```
//!
//! ## What a record holds
//!
//! - `content`: one JSON object per event:
//!   `{"message":…,"level":"INFO","logger":<target>,<event fields>,"span":{…},"spans":[…]}`.
//!   Fields keep their types: integers and floats are JSON numbers (floats written as Rust's
//!   `f64` `Display` writes them, the form the spec types as a float; NaN and infinities as
//!   strings), bools are bools, strings and `?debug`/`%display` values are strings, errors
//!   are their message and causes joined by `: `. `span` holds the fields of every span in
//!   scope, merged root to leaf (an inner span's field overrides an outer one's of the same
//!   name): flat, so that `v2` can make typed columns of them (`span.request_id`); `spans`
//!   lists the span names root to leaf. An event field named `level`, `logger`, `span` or
//!   `spans` is written as `field.<name>` so that no member appears twice (a `v2` JSON log
//!   must not have duplicates). An event without a message has no `message` member.
//! - What the intake gets: with profile `v2`, the object travels as a typed JSON log (schema,
//!   columns; `span` becomes `span.<field>` columns). With `v1`, an object whose members are
//!   all strings and numbers may travel as a JSON log (`encoding.md` §9.14; the encoder picks
//!   it or the text, whichever is smaller, and with `zstd-stream` sends text by default); any
//!   other — a bool, a span (`spans` is an array) — travels as its exact text. An event
//!   without a message is text in both profiles (a JSON log needs one). Nothing is lost
//!   either way: the text parses to the same object. `v2` is the profile for structured logs.
//! - `timestamp_ms`: the wall clock when the layer saw the event.
//! - `status`: the level in lower case (`trace`, `debug`, `info`, `warn`, `error`).
//! - `service` (default: the binary's name), `hostname`, `source` and tags: from the builder.
//!
//! ## Never blocking the application
//!
//! The layer runs on the application's threads, so it only ever calls `Handle::try_send`,
//! which never waits: what the client's memory budget (`max_buffer_bytes`) cannot take is
//! refused at once, freed, and counted — [`ShipperStats`], the metric
//! [`DROPPED_EVENTS_METRIC`] (`reason` = `full`, `halted` or `closed`), and, after the next
//! event that is queued, one record "N events were dropped…" (at most one per
//! `drop_notice_interval`, 10 s). Nothing is lost silently, and the memory held is the
//! budget's. A halted client (bad key, refused profile, TLS) refuses events the same way;
//! the halt is in [`ShipperGuard::last_halt`] and the guard's [`ShipperReport`].
//!
//! ## Not logging about logging
//!
//! The client itself logs with `tracing`. The layer never ships events whose target starts
//! with `stateful_logs` (the client's crates, this one included), nor the debug and trace
//! events of the transport crates under it (`h2`, `hyper`, `tonic`, `tower`, `rustls`,
//! `async_io`, `mio`…): each shipped event would otherwise make the client log more, a loop.
//! Their info, warn and error events are shipped; [`ShipperBuilder::exclude_target`] leaves
//! out more. Anything logged from inside the layer on the same thread is not shipped either.
//! `init`'s stderr output shows all of them.
//!
//! ## The guard, and why the client has a thread of its own
//!
//! The client runs on a thread the shipper starts (`stateful-logs-shipper`): a current-thread
//! tokio runtime ([`tokio()`]) or a smol executor ([`smol()`]) owned by that thread, like
//! `tracing-appender`'s worker. The guard is dropped from wherever the program ends, often
//! inside an async runtime. Waiting there for a client that runs on the *same* runtime would
//! deadlock a current-thread runtime (its one thread is the one waiting, and
//! `block_in_place` is not allowed there) or a multi-thread runtime whose workers are all
//! busy. With a thread of its own, dropping the guard just tells that thread to shut the
//! client down and waits for its report: at most the deadline (5 s by default) plus a 2 s
//! grace, from any thread, in any runtime or none; the application's runtime may even be
//! gone already. The cost is one thread, and a client whose work (batching, compression)
//! stays off the application's threads. The limitation: dropping the guard blocks the
//! dropping thread for up to that long (an async task that drops it stalls its worker for
//! that time, once, at exit).
//!
//! The layer feeds one pipeline (one `Handle`), which keeps each thread's events in order;
//! a `pipelines(n)` client setting above 1 buys nothing here.
//!
//! To feed a client you run yourself (on your runtime, your shutdown), use
//! [`ShipperLayer::for_handle`].
//!
//! ## Examples
//!
//! `examples/tokio_app.rs` and `examples/smol_app.rs`: a program that ships its own logs,
//! shuts down cleanly and exits 1 with the halt (a refused key…) or what was left
//! undelivered. Run `stateful-logs intake --listen 127.0.0.1:4317 --api-key demo-key` first.
//!
//! ## Features
//!
//! `tokio`, `smol` (the client flavours) and `log` (`log` records through `tracing-log`: `init`
//! installs the `LogTracer`, and the layer uses each record's own target and level) are on by
//! default; pick with `default-features = false`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod error;
mod fields;
mod flavor;
mod guard;
mod layer;
mod stats;

pub use builder::ShipperBuilder;
pub use error::ShipperError;
pub use flavor::Flavor;
pub use guard::{ShipperGuard, ShipperReport};
pub use layer::{LayerSettings, ShipperLayer};
pub use stats::{DROPPED_EVENTS_METRIC, ShipperStats};

/// A shipper whose client runs on tokio (a runtime of its own, on the shipper's thread).
#[cfg(feature = "tokio")]
pub fn tokio() -> ShipperBuilder {
    ShipperBuilder::new(Flavor::Tokio)
}

/// A shipper whose client runs on smol (an executor of its own, on the shipper's thread).
#[cfg(feature = "smol")]
pub fn smol() -> ShipperBuilder {
    ShipperBuilder::new(Flavor::Smol)
}
