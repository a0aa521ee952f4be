//! `Context`: what a handler knows about the request it is answering.

use std::sync::{Arc, OnceLock};

use futures_util::task::AtomicWaker;

use oxmcp_protocol::jsonrpc::{ProgressToken, RequestId};
use oxmcp_protocol::lifecycle::{ClientCapabilities, Implementation};
use oxmcp_protocol::logging::LoggingLevel;
use oxmcp_protocol::ProtocolVersion;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use super::extract::Target;
use super::session::LegacySession;
use crate::error::Error;
use crate::rpc::{CancelSource as _, Outbound, Peer, Progress, RequestCancel};

/// The request a handler is answering: its id, the client that sent it, and the ways to
/// talk back while it runs (progress, log messages) or notice it was cancelled.
///
/// `Context` is an extractor: add a `ctx: Context` argument to a tool. Cloning is cheap.
///
/// ```
/// use oxmcp::server::{Args, Context};
/// use oxmcp::Progress;
/// # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Job { steps: u32 }
/// async fn run(Args(job): Args<Job>, ctx: Context) -> String {
///     for step in 0..job.steps {
///         if ctx.is_cancelled() { return "stopped".into(); }
///         ctx.progress(Progress::new(f64::from(step)).total(f64::from(job.steps))).await;
///     }
///     format!("ran {} steps for {:?}", job.steps, ctx.client_info().map(|c| c.name))
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    request_id: RequestId,
    version: ProtocolVersion,
    client: ClientRef,
    progress_token: Option<ProgressToken>,
    /// The level the request asked for (modern `_meta`); legacy sessions keep theirs.
    log_level: Option<LoggingLevel>,
    /// Whether the request was cancelled, and the token the handler may ask for: its own,
    /// or one made before it (a request that passes through middleware).
    cancel: CancelRef,
    outbound: Outbound,
    peer: Peer,
    /// What the request targets, and its raw arguments.
    aim: Aim,
    /// The target of a request that names a tool, made when first asked for.
    target: OnceLock<Target>,
    arguments: Option<Box<RawValue>>,
    /// How a modern request may open a round of questions (`None`: it may not ask).
    mrtr: Option<Mrtr>,
    /// The multi round-trip round of a modern request that asks the client questions,
    /// opened by its first question (or by a retry's state).
    round: OnceLock<Arc<super::ask::Round>>,
    /// Where the questions of a call that became a task go.
    task: OnceLock<Arc<super::tasks::TaskInput>>,
    /// Wakes whatever drives the handler when a question is left open.
    driver: AtomicWaker,
    /// What layers attached to the request.
    extensions: std::sync::Mutex<http::Extensions>,
    /// How long a legacy question waits for the client's answer.
    question_timeout: std::time::Duration,
}

/// What a request targets, as the connection names it: a tool by the name it is registered
/// under (shared with the registry, not copied per call), anything else as its [`Target`].
pub(crate) enum Aim {
    Tool(Arc<str>),
    Target(Target),
}

impl From<Target> for Aim {
    fn from(target: Target) -> Self {
        Aim::Target(target)
    }
}

/// What a modern request needs to open a round of questions on its first one.
pub(crate) struct Mrtr {
    pub(crate) shared: Arc<super::shared::Shared>,
    pub(crate) method: &'static str,
}

/// Where the client's identity and capabilities come from.
pub(crate) enum ClientRef {
    /// A legacy session, set up by `initialize`.
    Session(Arc<LegacySession>),
    /// A modern request's own `_meta`, kept raw until asked for.
    Request {
        capabilities: Option<Box<RawValue>>,
        info: Option<Box<RawValue>>,
    },
}

impl ClientRef {
    /// The capabilities the client declared (in `initialize`, or in the request's `_meta`).
    pub(crate) fn capabilities(&self) -> ClientCapabilities {
        match self {
            ClientRef::Session(s) => s.capabilities.clone(),
            ClientRef::Request { capabilities, .. } => capabilities
                .as_ref()
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .unwrap_or_default(),
        }
    }
}

pub(crate) struct ContextParts {
    pub(crate) request_id: RequestId,
    pub(crate) version: ProtocolVersion,
    pub(crate) client: ClientRef,
    pub(crate) progress_token: Option<ProgressToken>,
    pub(crate) log_level: Option<LoggingLevel>,
    pub(crate) outbound: Outbound,
    pub(crate) peer: Peer,
    pub(crate) target: Aim,
    pub(crate) arguments: Option<Box<RawValue>>,
    pub(crate) mrtr: Option<Mrtr>,
    pub(crate) extensions: http::Extensions,
    /// The request's cancellation state, if made already.
    pub(crate) cancel: Option<Arc<RequestCancel>>,
    /// How long a legacy question waits for the client's answer.
    pub(crate) question_timeout: std::time::Duration,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressParams<'a> {
    progress_token: &'a ProgressToken,
    progress: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

#[derive(Serialize)]
struct LogParams<'a, T: Serialize> {
    level: LoggingLevel,
    #[serde(skip_serializing_if = "Option::is_none")]
    logger: Option<&'a str>,
    data: &'a T,
}

/// Building a progress update, for [`Context::progress`]. (A client receives the same type
/// in its progress callback.)
impl Progress {
    /// Progress so far, without a total or a message.
    pub fn new(progress: f64) -> Self {
        Progress {
            progress,
            total: None,
            message: None,
        }
    }

    /// The total the progress grows towards.
    pub fn total(mut self, total: f64) -> Self {
        self.total = Some(total);
        self
    }

    /// A human-readable message about the progress.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// Where a context's cancellation state lives.
enum CancelRef {
    Own(RequestCancel),
    Shared(Arc<RequestCancel>),
}

impl crate::rpc::CancelSource for Inner {
    fn request_cancel(&self) -> &RequestCancel {
        match &self.cancel {
            CancelRef::Own(cancel) => cancel,
            CancelRef::Shared(cancel) => cancel,
        }
    }
}

impl Context {
    /// Where the engine finds this request's cancellation state when the request goes on
    /// in a task: the state the handler sees.
    pub(crate) fn cancel_source(&self) -> Arc<dyn crate::rpc::CancelSource> {
        self.inner.clone()
    }

    pub(crate) fn new(parts: ContextParts) -> Self {
        Context {
            inner: Arc::new(Inner {
                request_id: parts.request_id,
                version: parts.version,
                client: parts.client,
                progress_token: parts.progress_token,
                log_level: parts.log_level,
                cancel: match parts.cancel {
                    Some(shared) => CancelRef::Shared(shared),
                    None => CancelRef::Own(RequestCancel::default()),
                },
                outbound: parts.outbound,
                peer: parts.peer,
                aim: parts.target,
                target: OnceLock::new(),
                arguments: parts.arguments,
                mrtr: parts.mrtr,
                round: OnceLock::new(),
                task: OnceLock::new(),
                driver: AtomicWaker::new(),
                extensions: std::sync::Mutex::new(parts.extensions),
                question_timeout: parts.question_timeout,
            }),
        }
    }

    /// A value a layer attached to the request (see
    /// [`middleware`](crate::server::middleware)), if one of type `T` is there.
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.extensions().get::<T>().cloned()
    }

    fn extensions(&self) -> std::sync::MutexGuard<'_, http::Extensions> {
        self.inner
            .extensions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the extensions, for an item's layers to see.
    pub(crate) fn take_extensions(&self) -> http::Extensions {
        std::mem::take(&mut *self.extensions())
    }

    /// Gives the extensions back, as the item's layers left them.
    pub(crate) fn set_extensions(&self, extensions: http::Extensions) {
        *self.extensions() = extensions;
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// The protocol revision the client speaks on this request.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The client's self-reported name and version, if it sent them.
    pub fn client_info(&self) -> Option<Implementation> {
        match &self.inner.client {
            ClientRef::Session(s) => Some(s.client_info.clone()),
            ClientRef::Request { info, .. } => info
                .as_ref()
                .and_then(|raw| serde_json::from_str(raw.get()).ok()),
        }
    }

    /// The capabilities the client declared (for this request, in the modern era).
    pub fn client_capabilities(&self) -> ClientCapabilities {
        self.inner.client.capabilities()
    }

    /// The progress token the client attached, if it wants progress.
    pub fn progress_token(&self) -> Option<&ProgressToken> {
        self.inner.progress_token.as_ref()
    }

    /// Fires when the client cancels the request (or the connection closes). A handler
    /// that stops early needs no response: none is sent for a cancelled request.
    pub fn cancellation(&self) -> &CancellationToken {
        self.inner.request_cancel().token()
    }

    /// Whether the request has been cancelled (or its connection closed).
    pub fn is_cancelled(&self) -> bool {
        self.inner.request_cancel().is_cancelled() || self.inner.peer.is_closed()
    }

    /// Asks the transport to close the stream this request's messages travel on before the
    /// result is ready (SSE polling, SEP-1699). On Streamable HTTP in a legacy session the
    /// POST's SSE stream ends now; what the handler sends afterwards, its result included, is
    /// kept in the event store, and the client fetches it with `GET` and `Last-Event-ID`.
    ///
    /// Returns whether the transport supports this; stdio and in-process transports do not,
    /// and then nothing happens.
    pub fn close_stream(&self) -> bool {
        self.inner.outbound.request_close()
    }

    /// Reports progress, if the client asked for it (sent a progress token); otherwise does
    /// nothing. The progress should grow with every call.
    ///
    /// ```
    /// use oxmcp::server::Context;
    /// use oxmcp::Progress;
    ///
    /// async fn index(ctx: Context) -> String {
    ///     for done in 1..=3 {
    ///         ctx.progress(Progress::new(f64::from(done)).total(3.0).message("indexing")).await;
    ///     }
    ///     "indexed".into()
    /// }
    /// # let _ = index;
    /// ```
    pub async fn progress(&self, progress: Progress) {
        let Some(token) = &self.inner.progress_token else {
            return;
        };
        let params = ProgressParams {
            progress_token: token,
            progress: progress.progress,
            total: progress.total,
            message: progress.message.as_deref(),
        };
        self.notify("notifications/progress", &params).await;
    }

    /// Sends a log message to the client (`notifications/message`) if the client's level
    /// lets it through: in the modern era only when the request asked for logs with
    /// `io.modelcontextprotocol/logLevel`; in a legacy session, per `logging/setLevel`.
    pub async fn log<T: Serialize>(&self, level: LoggingLevel, logger: Option<&str>, data: &T) {
        if !self.wants_log(level) {
            return;
        }
        self.notify(
            "notifications/message",
            &LogParams {
                level,
                logger,
                data,
            },
        )
        .await;
    }

    /// Sends a log message without waiting (from code that cannot await).
    #[cfg(feature = "tracing-layer")]
    pub(crate) fn log_detached<T: Serialize>(&self, level: LoggingLevel, logger: &str, data: &T) {
        let params = LogParams {
            level,
            logger: Some(logger),
            data,
        };
        if let Ok(params) = serde_json::to_string(&params) {
            let frame =
                crate::rpc::frame::encode_notification("notifications/message", Some(&params));
            self.inner.outbound.send_detached(frame);
        }
    }

    /// Whether a message at `level` would reach the client.
    pub fn wants_log(&self, level: LoggingLevel) -> bool {
        let threshold = match &self.inner.client {
            ClientRef::Session(s) => s.log_level(),
            ClientRef::Request { .. } => self.inner.log_level,
        };
        match threshold {
            Some(min) => level >= min,
            // Legacy sessions that never set a level get everything; modern requests that
            // did not ask get nothing.
            None => matches!(self.inner.client, ClientRef::Session(_)),
        }
    }

    async fn notify<T: Serialize>(&self, method: &str, params: &T) {
        let Ok(params) = serde_json::to_string(params) else {
            return;
        };
        let frame = crate::rpc::frame::encode_notification(method, Some(&params));
        if let Err(e) = self.inner.outbound.send(frame).await {
            tracing::debug!(error = %e, method, "notification not sent");
        }
    }

    /// The connection's peer, for requests back to the client.
    /// How long a legacy question waits for the client's answer.
    pub(crate) fn question_timeout(&self) -> std::time::Duration {
        self.inner.question_timeout
    }

    pub(crate) fn peer(&self) -> (&Peer, &Outbound) {
        (&self.inner.peer, &self.inner.outbound)
    }

    /// Lets a modern request ask the client questions in rounds (the first call wins).
    pub(crate) fn set_round(&self, round: Arc<super::ask::Round>) {
        let _ = self.inner.round.set(round);
    }

    /// From now on, the questions of this request's handler park its task (the call became
    /// a task; the first call wins).
    pub(crate) fn set_task_input(&self, input: Arc<super::tasks::TaskInput>) {
        let _ = self.inner.task.set(input);
    }

    /// Where the questions of a call that became a task go, once it did.
    pub(crate) fn task_input(&self) -> Option<&Arc<super::tasks::TaskInput>> {
        self.inner.task.get()
    }

    /// The round of a modern request that asks questions, once one is open.
    pub(crate) fn round(&self) -> Option<&Arc<super::ask::Round>> {
        self.inner.round.get()
    }

    /// The round of a modern request that may ask questions, opened now if need be;
    /// `None` when the request may not ask.
    /// The server's shared state, for a modern request (which may ask questions).
    pub(crate) fn shared(&self) -> Option<&Arc<super::shared::Shared>> {
        self.inner.mrtr.as_ref().map(|mrtr| &mrtr.shared)
    }

    pub(crate) fn open_round(&self) -> Option<&Arc<super::ask::Round>> {
        if let Some(round) = self.inner.round.get() {
            return Some(round);
        }
        let mrtr = self.inner.mrtr.as_ref()?;
        Some(self.inner.round.get_or_init(|| {
            Arc::new(super::ask::Round::fresh(
                mrtr.shared.config().sealer.clone(),
                mrtr.method,
                self.target(),
                self.inner.arguments.as_deref(),
            ))
        }))
    }

    /// Whatever drives the handler: woken when a question is left open.
    pub(crate) fn driver(&self) -> &AtomicWaker {
        &self.inner.driver
    }

    /// What the request targets.
    pub(crate) fn target(&self) -> &Target {
        match &self.inner.aim {
            Aim::Target(target) => target,
            Aim::Tool(name) => self
                .inner
                .target
                .get_or_init(|| Target::Tool(name.as_ref().to_owned())),
        }
    }

    /// The tool, prompt or method name, or the resource URI, the request targets.
    pub(crate) fn target_name(&self) -> &str {
        match &self.inner.aim {
            Aim::Tool(name) => name,
            Aim::Target(Target::Tool(name) | Target::Prompt(name) | Target::Method(name)) => name,
            Aim::Target(Target::Resource { uri, .. }) => uri,
        }
    }

    /// The request's raw arguments.
    pub(crate) fn arguments(&self) -> Option<&RawValue> {
        self.inner.arguments.as_deref()
    }

    #[allow(dead_code)]
    pub(crate) fn closed_error() -> Error {
        Error::closed()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.inner.request_id)
            .field("protocol_version", &self.inner.version)
            .field("progress_token", &self.inner.progress_token)
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}
