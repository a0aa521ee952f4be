//! Metrics of MCP operations (feature `metrics`), per the OpenTelemetry semantic
//! conventions for MCP, in the Prometheus text format.
//!
//! [`MetricsLayer`] is a `tracing-subscriber` layer that measures the spans of the
//! `otel` feature (every request and notification, both sides): put it in your
//! subscriber, and [`Metrics::render`] gives, in the Prometheus text exposition format:
//!
//! - `mcp_server_operation_duration_seconds` and `mcp_client_operation_duration_seconds`:
//!   histograms with the conventional buckets (0.01 s to 300 s), by `mcp_method_name`,
//!   `gen_ai_tool_name`, `gen_ai_prompt_name`, `mcp_protocol_version`,
//!   `network_transport` and `error_type` (the JSON-RPC error code, `tool_error` for a
//!   tool result with `isError`, `timeout`...);
//! - `mcp_server_session_duration_seconds` and `mcp_client_session_duration_seconds`:
//!   histograms of the sessions that ended, by `mcp_protocol_version` and
//!   `network_transport`;
//! - `mcp_server_requests_in_flight`: requests being answered now;
//! - `mcp_server_sessions_open`: legacy sessions open now;
//! - `mcp_server_streams_open`: SSE streams open now on legacy Streamable HTTP sessions
//!   (`GET` streams and streamed `POST` responses, which
//!   [`HttpConfig::max_streams_per_session`](crate::server::http::HttpConfig::max_streams_per_session) bounds);
//! - `mcp_server_rate_limited_total`: requests refused by the
//!   [rate limit](crate::server::Router::rate_limit);
//! - `mcp_server_errors_total` and `mcp_client_errors_total`: failed operations by
//!   `error_type`.
//!
//! The layer sees the spans (and the events the stream and rate-limit figures come from)
//! only if the subscriber lets them through: they are at level INFO with target
//! `oxmcp::otel` (give the layer its own filter if the rest of
//! your subscriber filters more strictly).
//!
//! ```
//! use oxmcp::metrics::{Metrics, MetricsLayer};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let metrics = Metrics::new();
//! let subscriber = tracing_subscriber::registry().with(MetricsLayer::new(metrics.clone()));
//! tracing::subscriber::with_default(subscriber, || {
//!     // ... serve; then, on a scrape:
//!     let text = metrics.render();
//!     assert!(text.contains("# TYPE mcp_server_operation_duration_seconds histogram"));
//! });
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The bucket boundaries of the operation and session duration histograms, in seconds
/// (the conventions' `ExplicitBucketBoundaries`).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// The attributes a duration is recorded by, in the order they are written.
const LABELS: [(&str, &str); 6] = [
    ("mcp.method.name", "mcp_method_name"),
    ("gen_ai.tool.name", "gen_ai_tool_name"),
    ("gen_ai.prompt.name", "gen_ai_prompt_name"),
    ("mcp.protocol.version", "mcp_protocol_version"),
    ("network.transport", "network_transport"),
    ("error.type", "error_type"),
];
const ERROR_LABEL: usize = 5;

/// The index in [`LABELS`] of the attribute `name`, if it is a label (one `match` per
/// field rather than a scan of the table).
fn label_index(name: &str) -> Option<usize> {
    let i = match name {
        "mcp.method.name" => 0,
        "gen_ai.tool.name" => 1,
        "gen_ai.prompt.name" => 2,
        "mcp.protocol.version" => 3,
        "network.transport" => 4,
        "error.type" => ERROR_LABEL,
        _ => return None,
    };
    debug_assert_eq!(LABELS[i].0, name);
    Some(i)
}

/// The hasher of the series maps: their keys are short label sets this process wrote
/// itself, so a multiply-rotate hash (FxHash's) is enough, and much cheaper per
/// observation than SipHash.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyHash = std::hash::BuildHasherDefault<KeyHasher>;

/// A set of MCP metrics, shared by the [`MetricsLayer`] that records them and whatever
/// renders them. Cloning is cheap: the clones share the figures.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    server: Family,
    client: Family,
    server_sessions: Family,
    client_sessions: Family,
    in_flight: AtomicI64,
    open_sessions: AtomicI64,
    open_streams: AtomicI64,
    rate_limited: AtomicU64,
}

/// What the server tells the [`MetricsLayer`] besides its spans: events at target
/// `oxmcp::otel`, told apart by name.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "http-server"), allow(dead_code))]
pub(crate) enum Note {
    /// A request refused by the rate limit.
    RateLimited,
    /// An SSE stream of a legacy session opened.
    StreamOpened,
    /// An SSE stream of a legacy session closed.
    StreamClosed,
}

impl Note {
    const RATE_LIMITED: &'static str = "mcp.server.rate_limited";
    const STREAM_OPENED: &'static str = "mcp.server.stream.opened";
    const STREAM_CLOSED: &'static str = "mcp.server.stream.closed";
}

/// Tells the metrics layer (if one is installed) of `what`: nothing happens unless a
/// subscriber takes events of target `oxmcp::otel`.
pub(crate) fn note(what: Note) {
    use crate::otel::TARGET;
    match what {
        Note::RateLimited => {
            tracing::event!(name: Note::RATE_LIMITED, target: TARGET, tracing::Level::INFO, "a request was refused by the rate limit")
        }
        Note::StreamOpened => {
            tracing::event!(name: Note::STREAM_OPENED, target: TARGET, tracing::Level::INFO, "an SSE stream opened")
        }
        Note::StreamClosed => {
            tracing::event!(name: Note::STREAM_CLOSED, target: TARGET, tracing::Level::INFO, "an SSE stream closed")
        }
    }
}

/// One histogram (and its error counter) by label set.
#[derive(Default)]
struct Family {
    /// Keyed by the label set as written in the exposition (`a="x",b="y"`).
    series: Mutex<HashMap<Box<str>, Histogram, KeyHash>>,
}

#[derive(Clone, Copy, Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last is +Inf.
    counts: [u64; DURATION_BUCKETS.len() + 1],
    sum: f64,
    errors: bool,
}

impl Family {
    fn observe(&self, labels: &str, seconds: f64, failed: bool) {
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(DURATION_BUCKETS.len());
        let mut series = self.series.lock().expect("metrics lock");
        let histogram = match series.get_mut(labels) {
            Some(histogram) => histogram,
            None => series.entry(labels.into()).or_default(),
        };
        histogram.counts[bucket] += 1;
        histogram.sum += seconds;
        histogram.errors |= failed;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let series = self.series.lock().expect("metrics lock");
        let mut keys: Vec<&Box<str>> = series.keys().collect();
        keys.sort();
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for key in &keys {
            let histogram = &series[*key];
            let sep = if key.is_empty() { "" } else { "," };
            let mut cumulative = 0;
            for (i, count) in histogram.counts.iter().enumerate() {
                cumulative += count;
                let le = DURATION_BUCKETS
                    .get(i)
                    .map_or("+Inf".to_owned(), |b| b.to_string());
                let _ = writeln!(out, "{name}_bucket{{{key}{sep}le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_sum{{{key}}} {}", histogram.sum);
            let _ = writeln!(out, "{name}_count{{{key}}} {cumulative}");
        }
    }

    /// Failed operations by `error_type`, from the histograms' series.
    fn render_errors(&self, out: &mut String, name: &str, help: &str) {
        let series = self.series.lock().expect("metrics lock");
        let mut by_type: HashMap<&str, u64> = HashMap::new();
        for (key, histogram) in series.iter().filter(|(_, h)| h.errors) {
            let error = key
                .split(',')
                .find_map(|kv| kv.strip_prefix("error_type="))
                .unwrap_or("\"_OTHER\"");
            *by_type.entry(error).or_default() += histogram.counts.iter().sum::<u64>();
        }
        let mut rows: Vec<_> = by_type.into_iter().collect();
        rows.sort();
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (error, count) in rows {
            let _ = writeln!(out, "{name}{{error_type={error}}} {count}");
        }
    }
}

impl Metrics {
    /// An empty set of metrics.
    pub fn new() -> Self {
        Metrics::default()
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4), as served
    /// at `/metrics` (content type [`Metrics::CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.inner.server.render(
            &mut out,
            "mcp_server_operation_duration_seconds",
            "The duration of an MCP request or notification as observed on the receiver, from the time it was received until the result or ack is sent.",
        );
        self.inner.client.render(
            &mut out,
            "mcp_client_operation_duration_seconds",
            "The duration of an MCP request or notification as observed on the sender, from the time it was sent until the response or ack is received.",
        );
        self.inner.server_sessions.render(
            &mut out,
            "mcp_server_session_duration_seconds",
            "The duration of an MCP session as observed on the server.",
        );
        self.inner.client_sessions.render(
            &mut out,
            "mcp_client_session_duration_seconds",
            "The duration of an MCP session as observed on the client.",
        );
        self.inner.server.render_errors(
            &mut out,
            "mcp_server_errors_total",
            "MCP operations this side answered that failed, by error type.",
        );
        self.inner.client.render_errors(
            &mut out,
            "mcp_client_errors_total",
            "MCP operations this side sent that failed, by error type.",
        );
        let gauge = |n: &AtomicI64| u64::try_from(n.load(Ordering::Relaxed)).unwrap_or(0);
        let inner = &self.inner;
        for (name, kind, help, value) in [
            (
                "mcp_server_requests_in_flight",
                "gauge",
                "MCP requests being answered now.",
                gauge(&inner.in_flight),
            ),
            (
                "mcp_server_sessions_open",
                "gauge",
                "MCP sessions open now (legacy sessions, every transport).",
                gauge(&inner.open_sessions),
            ),
            (
                "mcp_server_streams_open",
                "gauge",
                "SSE streams open now on legacy Streamable HTTP sessions.",
                gauge(&inner.open_streams),
            ),
            (
                "mcp_server_rate_limited_total",
                "counter",
                "MCP requests refused by the rate limit.",
                inner.rate_limited.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }

    /// The content type of [`Metrics::render`]'s text.
    pub const CONTENT_TYPE: &'static str = "text/plain; version=0.0.4; charset=utf-8";
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// A readiness check: `Err` says why the server is not ready.
type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Whether a server is ready for traffic, as `/readyz` answers it: not while it drains
/// (from [`Health::drain`], or once an HTTP server starts its graceful shutdown), nor
/// while one of its readiness checks fails. `/healthz` (alive) answers 200 regardless.
///
/// Cloning is cheap: the clones share the state.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use oxmcp::metrics::Health;
///
/// let database_up = Arc::new(AtomicBool::new(true));
/// let up = database_up.clone();
/// let health = Health::new().check(move || {
///     if up.load(Ordering::Relaxed) { Ok(()) } else { Err("the database is down".into()) }
/// });
/// assert!(health.readiness().is_ok());
/// database_up.store(false, Ordering::Relaxed);
/// assert_eq!(health.readiness().unwrap_err(), "the database is down");
/// ```
#[derive(Clone, Default)]
pub struct Health {
    inner: Arc<HealthInner>,
}

#[derive(Default)]
struct HealthInner {
    draining: AtomicBool,
    checks: Mutex<Vec<Check>>,
}

impl Health {
    /// Ready, with no checks.
    pub fn new() -> Self {
        Health::default()
    }

    /// Adds a readiness check, run on every `/readyz`: it must be quick (read a flag your
    /// own task keeps up to date rather than connect somewhere).
    pub fn check(self, check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        self.inner
            .checks
            .lock()
            .expect("health lock")
            .push(Arc::new(check));
        self
    }

    /// Marks the server as draining: `/readyz` answers 503 from now on.
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
    }

    /// Whether [`drain`](Health::drain) was called.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }

    /// `Ok` when ready; otherwise why not (draining, or the first failing check's reason).
    ///
    /// # Errors
    /// When the server drains or a check fails.
    pub fn readiness(&self) -> Result<(), String> {
        if self.is_draining() {
            return Err("draining: the server is shutting down".into());
        }
        let checks = self.inner.checks.lock().expect("health lock").clone();
        checks.iter().try_for_each(|check| check())
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Health")
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

/// A `tracing-subscriber` layer that records the MCP spans into [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Metrics,
}

impl MetricsLayer {
    /// A layer that records into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        MetricsLayer { metrics }
    }
}

/// What the layer keeps in an MCP span's extensions.
struct Measured {
    started: Instant,
    server: bool,
    /// A session's span rather than an operation's.
    session: bool,
    /// A request (it has an id), not a notification.
    request: bool,
    /// The label values given so far, one after the other in one buffer (one allocation
    /// per span rather than one per label)...
    values: String,
    /// ...and where each label's value is in it, in [`LABELS`] order.
    labels: [Option<(u32, u32)>; LABELS.len()],
}

impl Measured {
    /// The value of label `i`, if given.
    fn label(&self, i: usize) -> Option<&str> {
        let (start, end) = self.labels[i]?;
        self.values.get(start as usize..end as usize)
    }

    /// Gives label `field` (if it is one) the value `write` appends.
    fn give(&mut self, field: &Field, write: impl FnOnce(&mut String)) {
        let Some(i) = label_index(field.name()) else {
            return;
        };
        if self.values.capacity() == 0 {
            self.values.reserve(64);
        }
        let start = self.values.len();
        write(&mut self.values);
        // Label values are short; one too long to index is left out.
        if let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(self.values.len())) {
            self.labels[i] = Some((start, end));
        }
    }
}

impl Visit for Measured {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_debug(field, &value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_debug(field, &value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.give(field, |out| out.push_str(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "jsonrpc.request.id" {
            self.request = true;
        }
        self.give(field, |out| {
            let _ = write!(out, "{value:?}");
        });
    }
}

thread_local! {
    /// The label set being written, reused from call to call.
    static KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Writes `value` as a label value of the text format (backslash, quote and newline
/// escaped).
fn escape_into(out: &mut String, value: &str) {
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() != crate::otel::TARGET {
            return;
        }
        let server = matches!(meta.name(), "mcp.server" | "mcp.server.session");
        let session = meta.name().ends_with(".session");
        if server && session {
            self.metrics
                .inner
                .open_sessions
                .fetch_add(1, Ordering::Relaxed);
        }
        let mut measured = Measured {
            started: Instant::now(),
            server,
            session,
            request: false,
            values: String::new(),
            labels: Default::default(),
        };
        attrs.record(&mut measured);
        if server && measured.request {
            self.metrics.inner.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(measured);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
        let meta = event.metadata();
        if meta.target() != crate::otel::TARGET {
            return;
        }
        let inner = &self.metrics.inner;
        match meta.name() {
            Note::RATE_LIMITED => {
                inner.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            Note::STREAM_OPENED => {
                inner.open_streams.fetch_add(1, Ordering::Relaxed);
            }
            Note::STREAM_CLOSED => {
                inner.open_streams.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(measured) = span.extensions_mut().get_mut::<Measured>() {
                values.record(measured);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(measured) = span.extensions_mut().remove::<Measured>() else {
            return;
        };
        let seconds = measured.started.elapsed().as_secs_f64();
        if measured.server && measured.request {
            self.metrics.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        if measured.server && measured.session {
            self.metrics
                .inner
                .open_sessions
                .fetch_sub(1, Ordering::Relaxed);
        }
        let inner = &self.metrics.inner;
        let family = match (measured.server, measured.session) {
            (true, false) => &inner.server,
            (false, false) => &inner.client,
            (true, true) => &inner.server_sessions,
            (false, true) => &inner.client_sessions,
        };
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            key.clear();
            for (i, (_, label)) in LABELS.iter().enumerate() {
                if let Some(value) = measured.label(i) {
                    if !key.is_empty() {
                        key.push(',');
                    }
                    key.push_str(label);
                    key.push_str("=\"");
                    escape_into(&mut key, value);
                    key.push('"');
                }
            }
            family.observe(&key, seconds, measured.labels[ERROR_LABEL].is_some());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_buckets_are_cumulative() {
        let metrics = Metrics::new();
        let mut key = String::from("gen_ai_tool_name=\"");
        escape_into(&mut key, "a\"b\\c\nd");
        key.push('"');
        assert_eq!(key, r#"gen_ai_tool_name="a\"b\\c\nd""#);
        metrics.inner.server.observe(&key, 0.015, false);
        metrics.inner.server.observe(&key, 400.0, false);
        let text = metrics.render();
        assert!(text.contains(&format!(
            "mcp_server_operation_duration_seconds_bucket{{{key},le=\"0.01\"}} 0\n"
        )));
        assert!(text.contains(&format!(
            "mcp_server_operation_duration_seconds_bucket{{{key},le=\"0.02\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "mcp_server_operation_duration_seconds_bucket{{{key},le=\"300\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "mcp_server_operation_duration_seconds_bucket{{{key},le=\"+Inf\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "mcp_server_operation_duration_seconds_count{{{key}}} 2\n"
        )));
    }
}
