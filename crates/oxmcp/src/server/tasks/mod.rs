//! The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663): a tool call that has to
//! wait becomes a task the client polls, instead of a request held open.
//!
//! Install [`Tasks`] on the router and mark the tools that may run as tasks with
//! [`ToolDef::task`](crate::server::ToolDef::task). When a client that declared the
//! extension calls such a tool (a modern request), the server decides:
//!
//! - a call that finishes at once is answered at once (a plain result);
//! - a call that asks the client something before it starts waiting is answered with an
//!   `InputRequiredResult`, as any modern request (multi round-trip);
//! - a call that has to wait on anything else becomes a task: the client gets a
//!   `CreateTaskResult` (`resultType: "task"`, its `taskId`, status, `ttlMs`,
//!   `pollIntervalMs`) at once, and the handler goes on in the background. Questions it
//!   asks from then on park the task in `input_required`, their requests listed by
//!   `tasks/get` and answered by `tasks/update`.
//!
//! `tasks/get` reports the status and, once it is final, the tool's result (`completed`,
//! tool errors included as `isError`) or the protocol error (`failed`); `tasks/cancel`
//! stops the handler. A client that did not declare the extension gets plain results from
//! [`TaskSupport::Optional`] tools and a `-32021` error from [`TaskSupport::Required`]
//! ones; its `tasks/*` requests get `-32021` too.
//!
//! Tasks outlive the request and its connection, and belong to whoever created them: the
//! subject of the request's access token when it carries one (feature `auth`, the
//! `server::auth::Auth` of the caller; a layer cannot widen it), else the
//! [`Requester`] a layer attached, or else the connection. An
//! id of another requester's task is unknown (`-32602`), exactly like an id that never
//! existed.
//!
//! ```
//! use std::time::Duration;
//! use oxmcp::server::tasks::{TaskSupport, Tasks};
//! use oxmcp::server::{tool, Router};
//!
//! async fn render() -> String {
//!     tokio::time::sleep(Duration::from_secs(30)).await;
//!     "rendered".into()
//! }
//!
//! let router: Router = Router::new()
//!     .extension(Tasks::new().ttl(Duration::from_secs(600)))
//!     .tool("render", tool(render).task(TaskSupport::Optional));
//! # let _ = router;
//! ```

mod runtime;
mod store;
mod time;

use std::sync::Arc;
use std::time::Duration;

use oxmcp_protocol::lifecycle::ClientCapabilities;
pub use oxmcp_protocol::tools::TaskSupport;
use oxmcp_protocol::ErrorObject;

pub(crate) use runtime::{Runtime, TaskInput};
pub use store::{MemoryTaskStore, TaskRecord, TaskStore};

use super::handler::{ErasedHandler, Finish};
use super::{Context, Request, Router, ServerExtension, ToolError};
use crate::rpc::Reply;
use oxmcp_protocol::tools::CallToolResult;

/// The extension's identifier.
pub const TASKS: &str = "io.modelcontextprotocol/tasks";

/// Who a task belongs to, when a layer knows (the subject of an access token, an API
/// key's owner). Put it in the request's extensions
/// ([`McpRequest::extensions_mut`](crate::server::middleware::McpRequest::extensions_mut));
/// without one, tasks belong to the connection (the legacy session) that created them.
/// A request with a verified access token (feature `auth`) belongs to the token's subject
/// whatever requester a layer names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requester(pub String);

/// The connection a request came on, for requests without a [`Requester`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionScope(pub(crate) u64);

/// The owner of the tasks a request may see: the authenticated subject first, so that a
/// verified caller finds its tasks from any request and no one else's.
pub(crate) fn owner_of(context: &Context) -> String {
    #[cfg(feature = "auth")]
    if let Some(auth) = context.extension::<crate::server::auth::Auth>() {
        return format!("requester:{}", auth.subject());
    }
    match context.extension::<Requester>() {
        Some(Requester(subject)) => format!("requester:{subject}"),
        None => match context.extension::<ConnectionScope>() {
            Some(ConnectionScope(id)) => format!("connection:{id}"),
            None => "connection:?".to_owned(),
        },
    }
}

/// The tasks extension, installed with [`Router::extension`]; see the
/// [module documentation](self).
#[derive(Clone)]
#[must_use]
pub struct Tasks {
    store: Arc<dyn TaskStore>,
    ttl: Duration,
    poll_interval: Duration,
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks")
            .field("ttl", &self.ttl)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl Default for Tasks {
    fn default() -> Self {
        Self::new()
    }
}

impl Tasks {
    /// Tasks kept in memory ([`MemoryTaskStore`]) for an hour after their creation,
    /// polled every half second.
    pub fn new() -> Self {
        Tasks {
            store: Arc::new(MemoryTaskStore::default()),
            ttl: Duration::from_secs(3600),
            poll_interval: Duration::from_millis(500),
        }
    }

    /// Where task state is kept.
    pub fn store(mut self, store: impl TaskStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// How long a task is kept after its creation (`ttlMs`; at least 1 ms).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// How often clients should poll (`pollIntervalMs`; at least 1 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }
}

impl<S: Clone + Send + Sync + 'static> ServerExtension<S> for Tasks {
    fn id(&self) -> &str {
        TASKS
    }

    fn install(self, mut router: Router<S>) -> Router<S> {
        let runtime = Arc::new(Runtime::new(self.store, self.ttl, self.poll_interval));
        router.tasks = Some(runtime.clone());
        let get = runtime.clone();
        let update = runtime.clone();
        router
            .method("tasks/get", move |request| {
                let runtime = get.clone();
                async move { runtime.get(&request) }
            })
            .method("tasks/update", move |request| {
                let runtime = update.clone();
                async move { runtime.update(&request) }
            })
            .method("tasks/cancel", move |request| {
                let runtime = runtime.clone();
                async move { runtime.cancel(&request) }
            })
    }
}

/// Whether the request's client declared the extension (for this request, in the modern
/// era).
pub(crate) fn negotiated(context: &Context) -> bool {
    context.client_extension(TASKS).is_some()
}

/// `-32021`, naming the extension the client must declare.
pub(crate) fn missing_extension(what: &str) -> ErrorObject {
    let required = ClientCapabilities::new().with_extension(TASKS, Default::default());
    ErrorObject::missing_required_client_capability(
        format!("{what} needs the client to declare the {TASKS} extension"),
        required,
    )
}

/// A tool that may run as a task: the handler, and its [`TaskSupport`].
pub(crate) struct Tasked<S> {
    inner: Arc<dyn ErasedHandler<S, CallToolResult>>,
    support: TaskSupport,
}

impl<S: 'static> Tasked<S> {
    /// `inner`, marked with `support` unless that is `Forbidden` (or unset).
    pub(crate) fn around(
        inner: Arc<dyn ErasedHandler<S, CallToolResult>>,
        support: Option<TaskSupport>,
    ) -> Arc<dyn ErasedHandler<S, CallToolResult>> {
        match support {
            Some(support @ (TaskSupport::Optional | TaskSupport::Required)) => {
                Arc::new(Tasked { inner, support })
            }
            _ => inner,
        }
    }
}

impl<S> ErasedHandler<S, CallToolResult> for Tasked<S> {
    fn call(
        &self,
        request: Request,
        state: &S,
    ) -> crate::rpc::BoxFuture<Result<CallToolResult, ToolError>> {
        self.inner.call(request, state)
    }

    fn call_finish(
        &self,
        request: Request,
        state: &S,
        finish: Finish<CallToolResult>,
    ) -> crate::rpc::BoxFuture<Reply> {
        self.inner.call_finish(request, state, finish)
    }

    fn layers(&self) -> Option<&super::middleware::Endpoint> {
        self.inner.layers()
    }

    fn task_support(&self) -> Option<TaskSupport> {
        Some(self.support)
    }
    fn scopes(&self) -> Option<&[String]> {
        self.inner.scopes()
    }

    fn preset(&self) -> Option<&oxmcp_protocol::JsonObject> {
        self.inner.preset()
    }
}

/// Whether a modern call of a tool with `support` may become a task: the runtime to run
/// it, `None` to run it as a plain call.
///
/// # Errors
/// `-32021` for a `Required` tool whose client did not declare the extension.
pub(crate) fn admit(
    shared: &super::Shared,
    support: TaskSupport,
    context: &Context,
) -> Result<Option<Arc<Runtime>>, ErrorObject> {
    let runtime = shared.config().tasks.clone();
    if runtime.is_some() && negotiated(context) {
        return Ok(runtime);
    }
    match support {
        TaskSupport::Required if runtime.is_none() => Err(ErrorObject::internal(format!(
            "this tool runs only as a task, but the server does not install the {TASKS} extension"
        ))),
        TaskSupport::Required => Err(missing_extension("this tool")),
        _ => Ok(None),
    }
}
