//! [`SpanLayer`]: the MCP spans straight to an OpenTelemetry tracer, without the generic
//! `tracing` → OpenTelemetry bridge.
//!
//! Each MCP span (target `oxmcp::otel`) keeps, in its extensions, what its OpenTelemetry
//! span needs: the start time (taken once), the kind, the name, the attributes (keys are
//! the fields' static names; values static strings where the field set allows, owned
//! otherwise), the status and the parent. The OpenTelemetry span is built when it is
//! first needed: at close for a span nothing looked into (most server spans), or earlier
//! when its context is asked for (a child span, a `traceparent` sent on, an activation).
//! Other spans are left alone.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::SystemTime;

use opentelemetry::trace::{
    Span as _, SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt, Tracer,
};
use opentelemetry::{Context, KeyValue, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use tracing_subscriber::Layer;

use super::{Handoff, TARGET};

/// A `tracing-subscriber` layer that turns oxmcp's MCP spans (target `oxmcp::otel`) into
/// OpenTelemetry spans of `tracer`, and leaves every other span alone. Made by
/// [`layer`]; see the [module documentation](crate::otel) for the spans, and the
/// [operations guide](crate::guide::operations) for a whole setup.
///
/// It knows the MCP spans' fixed set of fields, so it skips what a generic bridge does
/// for any span: it takes the time twice (start and end), keeps attribute values the
/// spans already own or that are static, and builds the OpenTelemetry span once, with its
/// attributes, kind, status and parent, when the span closes (or as soon as something
/// needs its context: a child span, a `traceparent` sent on, an activation).
///
/// **With `tracing-opentelemetry`.** For your own spans, install `tracing-opentelemetry`'s
/// layer as well, filtered so that it leaves the MCP spans to this one (each would export
/// them otherwise):
///
/// - an MCP span made inside one of your spans (a client call in your `agent` span) is its
///   child: when its `tracing` parent is not an MCP span, its parent is the OpenTelemetry
///   [`Context::current`], which `tracing-opentelemetry` keeps for the spans it entered;
/// - your spans made inside an MCP span (in a tool handler) are its children: while an MCP
///   span is entered this layer makes its context [current](Context::current) (context
///   activation, on by default), and `tracing-opentelemetry` takes the current context as
///   the parent of a span whose `tracing` parent it does not know. So does any
///   OpenTelemetry code of yours (an HTTP client injecting `traceparent`).
///
/// If nothing in your process reads the current OpenTelemetry context,
/// [`with_context_activation(false)`](SpanLayer::with_context_activation) saves the
/// activation on every poll of a handler.
///
/// ```
/// use opentelemetry::trace::TracerProvider as _;
/// use tracing_subscriber::filter::{LevelFilter, Targets};
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::Layer;
///
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let tracer = provider.tracer("my-server");
/// let subscriber = tracing_subscriber::registry()
///     // The MCP spans (the filter keeps other callsites as cheap as your log filter
///     // makes them: a layer without one wants every span and event).
///     .with(
///         oxmcp::otel::layer(tracer.clone())
///             .with_filter(Targets::new().with_target("oxmcp::otel", LevelFilter::INFO)),
///     )
///     // Your own spans, and not the MCP spans a second time.
///     .with(
///         tracing_opentelemetry::layer()
///             .with_tracer(tracer)
///             .with_filter(
///                 Targets::new()
///                     .with_default(LevelFilter::INFO)
///                     .with_target("oxmcp::otel", LevelFilter::OFF),
///             ),
///     );
/// tracing::subscriber::set_global_default(subscriber).unwrap();
/// ```
pub struct SpanLayer<T> {
    tracer: T,
    activate: bool,
}

/// A [`SpanLayer`] that exports the MCP spans through `tracer` (an
/// `opentelemetry_sdk::trace::SdkTracer`, or any other [`Tracer`]), with context
/// activation on.
pub fn layer<T>(tracer: T) -> SpanLayer<T>
where
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    SpanLayer {
        tracer,
        activate: true,
    }
}

impl<T> SpanLayer<T> {
    /// Whether an MCP span's OpenTelemetry context is made [current](Context::current)
    /// while the span is entered (default: yes). That is how your own spans, bridged by
    /// `tracing-opentelemetry`, and your own OpenTelemetry code continue an MCP span's
    /// trace; without it they start traces of their own. Turn it off when nothing in the
    /// process reads the current context: it costs a little on every poll of a handler.
    pub fn with_context_activation(mut self, activate: bool) -> Self {
        self.activate = activate;
        self
    }
}

impl<T> fmt::Debug for SpanLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanLayer")
            .field("activate", &self.activate)
            .finish_non_exhaustive()
    }
}

/// Where an MCP span's parent comes from.
enum Parent {
    /// A trace of its own.
    Root,
    /// A span context: another MCP span's, or a remote one (`traceparent`).
    Span(SpanContext),
    /// The OpenTelemetry context current when it was made (a span of yours).
    Context(Context),
}

impl Parent {
    fn context(&self) -> Cow<'_, Context> {
        match self {
            Parent::Root => Cow::Owned(Context::new()),
            Parent::Span(span) => Cow::Owned(Context::new().with_remote_span_context(span.clone())),
            Parent::Context(cx) => Cow::Borrowed(cx),
        }
    }
}

/// Where an MCP span's OpenTelemetry span is.
enum State<P> {
    /// Not built yet.
    Pending,
    /// Being built by a thread that let go of the extensions meanwhile.
    Starting,
    /// Built: the span, its context, and (once entered with activation) the context made
    /// current while it is entered.
    Started {
        span: P,
        context: SpanContext,
        active: Option<Context>,
    },
}

/// What the layer keeps in an MCP span's extensions.
struct Data<P> {
    start: SystemTime,
    kind: SpanKind,
    name: Cow<'static, str>,
    /// `mcp.method.name`, and where in `attributes` the span's target (the tool or
    /// prompt name) is, for the name.
    method: Option<Cow<'static, str>>,
    target: Option<usize>,
    /// The attributes given so far (all of them until the span is built, the later ones
    /// after).
    attributes: Vec<KeyValue>,
    /// `otel.status_code = ERROR`, with `otel.status_description`.
    error: bool,
    description: Option<Cow<'static, str>>,
    parent: Parent,
    state: State<P>,
}

impl<P> Data<P> {
    fn status(&mut self) -> Status {
        if self.error {
            Status::Error {
                description: self.description.take().unwrap_or_default(),
            }
        } else {
            Status::Unset
        }
    }

    /// `{mcp.method.name} {target}`, or the `tracing` name when there is no method.
    fn name_from(&mut self, fallback: &'static str) {
        let target = self
            .target
            .take()
            .and_then(|at| self.attributes.get(at))
            .map(|kv| kv.value.as_str());
        self.name = match (self.method.take(), target) {
            (Some(method), Some(target)) => {
                let mut name = String::with_capacity(method.len() + 1 + target.len());
                name.push_str(&method);
                name.push(' ');
                name.push_str(&target);
                Cow::Owned(name)
            }
            (Some(method), None) => method,
            (None, _) => Cow::Borrowed(fallback),
        };
    }
}

/// A known method name as a static string (no allocation per span).
fn known_method(value: &str) -> Option<&'static str> {
    Some(match value {
        "initialize" => "initialize",
        "ping" => "ping",
        "server/discover" => "server/discover",
        "tools/call" => "tools/call",
        "tools/list" => "tools/list",
        "prompts/get" => "prompts/get",
        "prompts/list" => "prompts/list",
        "resources/read" => "resources/read",
        "resources/list" => "resources/list",
        "resources/templates/list" => "resources/templates/list",
        "resources/subscribe" => "resources/subscribe",
        "resources/unsubscribe" => "resources/unsubscribe",
        "completion/complete" => "completion/complete",
        "logging/setLevel" => "logging/setLevel",
        "sampling/createMessage" => "sampling/createMessage",
        "elicitation/create" => "elicitation/create",
        "roots/list" => "roots/list",
        "notifications/initialized" => "notifications/initialized",
        "notifications/cancelled" => "notifications/cancelled",
        "notifications/progress" => "notifications/progress",
        "notifications/message" => "notifications/message",
        "notifications/tools/list_changed" => "notifications/tools/list_changed",
        "notifications/prompts/list_changed" => "notifications/prompts/list_changed",
        "notifications/resources/list_changed" => "notifications/resources/list_changed",
        "notifications/resources/updated" => "notifications/resources/updated",
        "notifications/roots/list_changed" => "notifications/roots/list_changed",
        _ => return None,
    })
}

/// A known value of `network.transport`, `gen_ai.operation.name`, `error.type` or
/// `otel.status_code` as a static string.
fn known_word(value: &str) -> Option<&'static str> {
    Some(match value {
        "pipe" => "pipe",
        "tcp" => "tcp",
        "execute_tool" => "execute_tool",
        "tool_error" => "tool_error",
        "timeout" => "timeout",
        "cancelled" => "cancelled",
        "closed" => "closed",
        "transport" => "transport",
        "ERROR" => "ERROR",
        _ => return None,
    })
}

fn string_value(value: Cow<'static, str>) -> Value {
    match value {
        Cow::Borrowed(s) => Value::from(s),
        Cow::Owned(s) => Value::from(s),
    }
}

/// Reads an MCP span's fields into its [`Data`].
struct Fields<'a, P>(&'a mut Data<P>);

impl<P> Fields<'_, P> {
    fn text(&mut self, field: &Field, value: Cow<'static, str>) {
        let data = &mut *self.0;
        match field.name() {
            // The name and kind come from the method, the target and the `tracing` name.
            "otel.name" | "otel.kind" => {}
            "otel.status_code" => data.error = value == "ERROR",
            "otel.status_description" => data.description = Some(value),
            "mcp.method.name" => {
                data.method = Some(value.clone());
                data.attributes
                    .push(KeyValue::new("mcp.method.name", string_value(value)));
            }
            name @ ("gen_ai.tool.name" | "gen_ai.prompt.name") => {
                data.target = Some(data.attributes.len());
                data.attributes
                    .push(KeyValue::new(name, string_value(value)));
            }
            name => data
                .attributes
                .push(KeyValue::new(name, string_value(value))),
        }
    }
}

impl<P> Visit for Fields<'_, P> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let known = match field.name() {
            "otel.name" | "otel.kind" => return,
            "mcp.method.name" => known_method(value),
            "mcp.protocol.version" => {
                oxmcp_protocol::ProtocolVersion::parse(value).map(|v| v.as_str())
            }
            "network.transport" | "gen_ai.operation.name" | "error.type" | "otel.status_code" => {
                known_word(value)
            }
            _ => None,
        };
        let value = known.map_or_else(|| Cow::Owned(value.to_owned()), Cow::Borrowed);
        self.text(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        self.0.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "otel.name" {
            return;
        }
        let mut text = Short::default();
        let _ = write!(text, "{value:?}");
        self.text(field, Cow::Owned(text.into_string()));
    }
}

/// Formats a short value (a request id, an error code) on the stack, so that its string
/// is allocated once at its length (an attribute keeps a boxed `str`: a `String` with room
/// to spare would be reallocated).
#[derive(Default)]
struct Short {
    buf: [u8; 32],
    len: usize,
    /// Once longer than `buf`.
    spill: Option<String>,
}

impl fmt::Write for Short {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match &mut self.spill {
            Some(spill) => spill.push_str(s),
            None if self.len + s.len() <= self.buf.len() => {
                self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
                self.len += s.len();
            }
            None => {
                let mut spill = String::from(self.text());
                spill.push_str(s);
                self.spill = Some(spill);
            }
        }
        Ok(())
    }
}

impl Short {
    fn text(&self) -> &str {
        // Whole `str`s were copied in: always UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn into_string(self) -> String {
        match self.spill {
            Some(spill) => spill,
            None => self.text().to_owned(),
        }
    }
}

thread_local! {
    /// The activation guards of the MCP spans entered on this thread, by span.
    static ACTIVE: RefCell<Vec<(Id, opentelemetry::ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

impl<T> SpanLayer<T>
where
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    /// Builds the OpenTelemetry span.
    fn build(
        &self,
        name: Cow<'static, str>,
        kind: SpanKind,
        start: SystemTime,
        attributes: Vec<KeyValue>,
        parent: &Parent,
    ) -> T::Span {
        let mut builder = SpanBuilder::from_name(name)
            .with_kind(kind)
            .with_start_time(start);
        builder.attributes = Some(attributes);
        self.tracer.build_with_context(builder, &parent.context())
    }

    /// The context of MCP span `span`, building its OpenTelemetry span if need be; `None`
    /// if it is not an MCP span of this layer. The tracer is called without the span's
    /// extensions locked (it may log, and a log layer reads the extensions of the spans in
    /// scope).
    fn start<S>(&self, span: &SpanRef<'_, S>) -> Option<SpanContext>
    where
        S: for<'a> LookupSpan<'a>,
    {
        let (name, kind, start, attributes, parent) = {
            let mut extensions = span.extensions_mut();
            let data = extensions.get_mut::<Data<T::Span>>()?;
            match &data.state {
                State::Started { context, .. } => return Some(context.clone()),
                State::Starting => return None,
                State::Pending => {}
            }
            data.state = State::Starting;
            (
                data.name.clone(),
                data.kind.clone(),
                data.start,
                std::mem::take(&mut data.attributes),
                std::mem::replace(&mut data.parent, Parent::Root),
            )
        };
        let built = self.build(name, kind, start, attributes, &parent);
        let context = built.span_context().clone();
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<Data<T::Span>>() {
            Some(data) => {
                data.parent = parent;
                data.state = State::Started {
                    span: built,
                    context: context.clone(),
                    active: None,
                };
            }
            // Closed meanwhile (see `on_close`): this thread ends it.
            None => {
                let mut built = built;
                built.end();
            }
        }
        Some(context)
    }

    /// The parent of a new MCP span (see [`SpanLayer`]).
    fn parent<S>(&self, attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>) -> Parent
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let ours = |id: &Id| {
            ctx.span(id)
                .and_then(|span| self.start(&span))
                .map(Parent::Span)
        };
        if let Some(parent) = attrs.parent() {
            return ours(parent).unwrap_or(Parent::Root);
        }
        if attrs.is_root() {
            return Parent::Root;
        }
        if let Some(current) = ctx.current_span().id() {
            if let Some(parent) = ours(current) {
                return parent;
            }
        }
        if Context::map_current(|cx| cx.span().span_context().is_valid()) {
            return Parent::Context(Context::current());
        }
        // Context activation off, and an MCP span further up.
        ctx.lookup_current()
            .into_iter()
            .flat_map(|span| span.scope())
            .find_map(|span| self.start(&span).map(Parent::Span))
            .unwrap_or(Parent::Root)
    }
}

impl<S, T> Layer<S> for SpanLayer<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() != TARGET {
            return;
        }
        let kind = if meta.name().starts_with("mcp.server") {
            SpanKind::Server
        } else {
            SpanKind::Client
        };
        let mut data = Data {
            start: SystemTime::now(),
            kind,
            name: Cow::Borrowed(meta.name()),
            method: None,
            target: None,
            attributes: Vec::with_capacity(attrs.fields().len()),
            error: false,
            description: None,
            parent: Parent::Root,
            state: State::<T::Span>::Pending,
        };
        let (remote, wants_context) = Handoff::take_parent();
        data.parent = match remote {
            Some(remote) => Parent::Span(remote),
            None => self.parent(attrs, &ctx),
        };
        attrs.record(&mut Fields(&mut data));
        data.name_from(meta.name());
        let Some(span) = ctx.span(id) else { return };
        span.extensions_mut().insert(data);
        if wants_context {
            Handoff::give_context(self.start(&span));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if span.metadata().target() != TARGET {
            return;
        }
        let mut extensions = span.extensions_mut();
        if let Some(data) = extensions.get_mut::<Data<T::Span>>() {
            values.record(&mut Fields(data));
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if !self.activate {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        if span.metadata().target() != TARGET {
            return;
        }
        // The context made current while the span is entered (built on the first enter,
        // with the OpenTelemetry span if it was not yet).
        let active = |span: &SpanRef<'_, S>| {
            let mut extensions = span.extensions_mut();
            let data = extensions.get_mut::<Data<T::Span>>()?;
            let parent = &data.parent;
            let State::Started {
                context, active, ..
            } = &mut data.state
            else {
                return None;
            };
            Some(
                active
                    .get_or_insert_with(|| {
                        parent.context().with_remote_span_context(context.clone())
                    })
                    .clone(),
            )
        };
        let active = match active(&span) {
            Some(active) => active,
            None if self.start(&span).is_some() => match active(&span) {
                Some(active) => active,
                None => return,
            },
            None => return,
        };
        let guard = active.attach();
        ACTIVE.with(|stack| stack.borrow_mut().push((id.clone(), guard)));
    }

    fn on_exit(&self, id: &Id, _: LayerContext<'_, S>) {
        if !self.activate {
            return;
        }
        let guard = ACTIVE.with(|stack| {
            let mut stack = stack.borrow_mut();
            let at = stack.iter().rposition(|(entered, _)| entered == id)?;
            Some(stack.remove(at).1)
        });
        drop(guard);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        if span.metadata().target() != TARGET {
            return;
        }
        let Some(mut data) = span.extensions_mut().remove::<Data<T::Span>>() else {
            return;
        };
        let end = SystemTime::now();
        let status = data.status();
        let mut built = match data.state {
            State::Pending => self.build(
                data.name,
                data.kind,
                data.start,
                data.attributes,
                &data.parent,
            ),
            State::Started { mut span, .. } => {
                if !data.attributes.is_empty() {
                    span.set_attributes(data.attributes);
                }
                span
            }
            // Closed while another thread builds it: that thread ends it.
            State::Starting => return,
        };
        if !matches!(status, Status::Unset) {
            built.set_status(status);
        }
        built.end_with_timestamp(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_value_longer_than_its_buffer_is_kept_whole() {
        let long = "é".repeat(40);
        for text in ["42", &"x".repeat(32), &long] {
            let mut short = Short::default();
            write!(short, "{text}").unwrap();
            assert_eq!(short.into_string(), text);
        }
        let mut short = Short::default();
        write!(short, "{}bcdef", "a".repeat(30)).unwrap();
        assert_eq!(short.into_string(), format!("{}bcdef", "a".repeat(30)));
    }
}
