//! A `tracing` layer that sends a handler's events to the client as MCP log messages.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use oxmcp_protocol::logging::LoggingLevel;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};

use super::context::Context;

tokio::task_local! {
    /// The request whose handler runs in this task.
    static CURRENT: Context;
}

/// Whether a layer exists: handlers are only scoped when one does.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Runs `future` as the handler of `context`'s request, so the layer can find it.
pub(crate) fn scope<F: std::future::Future>(
    context: Context,
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    let enabled = ENABLED.load(Ordering::Relaxed);
    async move {
        if enabled {
            CURRENT.scope(context, future).await
        } else {
            future.await
        }
    }
}

/// Forwards `tracing` events emitted while a handler runs to that request's client, as
/// `notifications/message` log messages, honouring the client's level (the modern
/// per-request `logLevel`, or a legacy session's `logging/setLevel`).
///
/// Events outside handlers are left to your other layers. The logger name is the event's
/// target; the data is `{"message": ..., <other fields>}`.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// tracing_subscriber::registry().with(oxmcp::server::ClientLogLayer::new()).init();
/// ```
#[derive(Debug)]
pub struct ClientLogLayer {
    _private: (),
}

impl ClientLogLayer {
    /// A layer; from now on handlers run with their request in reach of it.
    pub fn new() -> Self {
        ENABLED.store(true, Ordering::Relaxed);
        ClientLogLayer { _private: () }
    }
}

impl Default for ClientLogLayer {
    fn default() -> Self {
        Self::new()
    }
}

fn level(level: &Level) -> LoggingLevel {
    match *level {
        Level::ERROR => LoggingLevel::Error,
        Level::WARN => LoggingLevel::Warning,
        Level::INFO => LoggingLevel::Info,
        _ => LoggingLevel::Debug,
    }
}

#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.0.insert(field.name().to_owned(), Value::String(text));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
}

impl<S: Subscriber> Layer<S> for ClientLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let level = level(event.metadata().level());
        let _ = CURRENT.try_with(|context| {
            if !context.wants_log(level) {
                return;
            }
            let mut fields = Fields::default();
            event.record(&mut fields);
            context.log_detached(level, event.metadata().target(), &Value::Object(fields.0));
        });
    }
}
