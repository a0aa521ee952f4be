//! Middleware: [`tower`] layers at the level of MCP messages.
//!
//! Every request a server answers can pass through a stack of `tower::Layer`s, as an
//! [`McpRequest`] (its method, params, id, protocol revision and an extensions bag) that
//! becomes an [`McpResponse`]. [`Router::layer`](super::Router::layer) puts a layer around
//! every request, and [`ToolDef::layer`](super::ToolDef::layer) (likewise for prompts and
//! resources) around the calls of one item; router layers run first, around the item's.
//!
//! A layer may:
//! - look at the request and the response (log, measure, audit);
//! - answer by itself, without going further: with a protocol error
//!   ([`McpResponse::error`]) or, for a tool call, an execution error the model reads
//!   ([`McpResponse::tool_error`]);
//! - fail: a layer's error (a `tower::timeout` elapsing, a closed `Buffer`) becomes a tool
//!   execution error for a tool call and an internal error (-32603) otherwise, with the
//!   error's text;
//! - put values in the request's [extensions](McpRequest::extensions_mut), which handlers
//!   read with the [`Extension`] extractor (how an authenticated user reaches a tool).
//!
//! Stock tower middleware works unchanged: `tower::timeout::TimeoutLayer`,
//! `tower::limit::ConcurrencyLimitLayer`, `ServiceBuilder` stacks. Layers must give a
//! `Clone` service, as axum's do; wrap one that is not (`RateLimit`) in a
//! `tower::buffer::BufferLayer`.
//!
//! A router without layers pays nothing for them: requests the SDK answers itself are
//! answered on the spot, and handlers run as they would without this module.
//!
//! ```
//! use std::task::{Context as TaskContext, Poll};
//! use std::time::{Duration, Instant};
//!
//! use oxmcp::server::middleware::{McpRequest, McpResponse};
//! use oxmcp::server::{tool, Router};
//! use tower::{Layer, Service};
//!
//! /// Logs every request with how long it took and whether it failed.
//! #[derive(Clone)]
//! struct LogLayer;
//!
//! impl<S> Layer<S> for LogLayer {
//!     type Service = Log<S>;
//!     fn layer(&self, inner: S) -> Log<S> {
//!         Log(inner)
//!     }
//! }
//!
//! #[derive(Clone)]
//! struct Log<S>(S);
//!
//! impl<S> Service<McpRequest> for Log<S>
//! where
//!     S: Service<McpRequest, Response = McpResponse> + Send + 'static,
//!     S::Future: Send + 'static,
//! {
//!     type Response = McpResponse;
//!     type Error = S::Error;
//!     type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<McpResponse, S::Error>> + Send>>;
//!
//!     fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
//!         self.0.poll_ready(cx)
//!     }
//!
//!     fn call(&mut self, request: McpRequest) -> Self::Future {
//!         let what = format!("{} {}", request.method(), request.name().unwrap_or(""));
//!         let started = Instant::now();
//!         let answer = self.0.call(request);
//!         Box::pin(async move {
//!             let response = answer.await?;
//!             tracing::info!(%what, took = ?started.elapsed(), failed = response.is_failure());
//!             Ok(response)
//!         })
//!     }
//! }
//!
//! async fn slow() -> String {
//!     tokio::time::sleep(Duration::from_secs(60)).await;
//!     "done".into()
//! }
//!
//! let router: Router = Router::new()
//!     // Around every request.
//!     .layer(LogLayer)
//!     // Around the calls of one tool: past 5 s the model reads "request timed out".
//!     .tool(
//!         "slow",
//!         tool(slow).layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5))),
//!     );
//! # let _ = router;
//! ```

use std::convert::Infallible;
use std::fmt;
use std::task::{Context as TaskContext, Poll};

use futures_util::FutureExt;
use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId};
use oxmcp_protocol::ProtocolVersion;
use serde_json::value::RawValue;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

use super::error::ToolError;
use super::extract::{FromRequest, Request};
use crate::rpc::{BoxFuture, Reply};

/// The error type layers may fail with (any error that converts into it).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What runs a request once the layers let it through, given back its params and
/// extensions.
pub(crate) type Next =
    Box<dyn FnOnce(Option<Box<RawValue>>, http::Extensions) -> BoxFuture<McpResponse> + Send>;

/// A request on its way through the layers.
pub struct McpRequest {
    method: String,
    id: RequestId,
    params: Option<Box<RawValue>>,
    version: Option<ProtocolVersion>,
    extensions: http::Extensions,
    next: Option<Next>,
}

impl McpRequest {
    pub(crate) fn new(
        method: impl Into<String>,
        id: RequestId,
        params: Option<Box<RawValue>>,
        version: Option<ProtocolVersion>,
        extensions: http::Extensions,
        next: Next,
    ) -> Self {
        McpRequest {
            method: method.into(),
            id,
            params,
            version,
            extensions,
            next: Some(next),
        }
    }

    /// The JSON-RPC method, such as `tools/call`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The JSON-RPC id of the request.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// The params, as the client sent them.
    pub fn params(&self) -> Option<&RawValue> {
        self.params.as_deref()
    }

    /// The tool or prompt name (`tools/call`, `prompts/get`) or the resource URI
    /// (`resources/read`, `resources/subscribe`), when the params name one.
    pub fn name(&self) -> Option<&str> {
        #[derive(serde::Deserialize)]
        struct Named<'a> {
            #[serde(borrow, default)]
            name: Option<&'a str>,
            #[serde(borrow, default)]
            uri: Option<&'a str>,
        }
        let named: Named<'_> = serde_json::from_str(self.params()?.get()).ok()?;
        named.name.or(named.uri)
    }

    /// The protocol revision the request speaks: its own (modern era), or its session's
    /// (legacy era). `None` before a legacy session exists (`initialize`, or a request the
    /// server refuses for want of one).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// Values layers attach to the request, for the layers inside and the handler
    /// ([`Extension`]).
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// The extensions, to add to.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.extensions
    }
}

impl fmt::Debug for McpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpRequest")
            .field("method", &self.method)
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The answer to an [`McpRequest`].
#[derive(Debug, Clone)]
pub struct McpResponse {
    outcome: Outcome,
}

#[derive(Debug, Clone)]
enum Outcome {
    /// The reply: a result object as JSON text, or a JSON-RPC error.
    Reply(Reply),
    /// A tool execution error (an internal error for other methods).
    Failed(String),
}

impl McpResponse {
    /// A JSON-RPC error response.
    pub fn error(error: ErrorObject) -> Self {
        McpResponse {
            outcome: Outcome::Reply(Err(error)),
        }
    }

    /// For a tool call, a result with `isError: true` and this text, which the model reads;
    /// for any other method, an internal error (-32603) with this message.
    pub fn tool_error(message: impl fmt::Display) -> Self {
        McpResponse {
            outcome: Outcome::Failed(message.to_string()),
        }
    }

    /// The result object as JSON text, unless the request failed with a protocol error or
    /// was answered by [`McpResponse::tool_error`].
    pub fn result_json(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Reply(Ok(json)) => Some(json),
            _ => None,
        }
    }

    /// The JSON-RPC error, if the response is one.
    pub fn error_object(&self) -> Option<&ErrorObject> {
        match &self.outcome {
            Outcome::Reply(Err(error)) => Some(error),
            _ => None,
        }
    }

    /// Whether the request failed: a protocol error, or a tool result with `isError`.
    pub fn is_failure(&self) -> bool {
        #[derive(serde::Deserialize)]
        struct Flag {
            #[serde(rename = "isError", default)]
            is_error: bool,
        }
        match &self.outcome {
            Outcome::Reply(Ok(json)) => {
                serde_json::from_str::<Flag>(json).is_ok_and(|flag| flag.is_error)
            }
            Outcome::Reply(Err(_)) | Outcome::Failed(_) => true,
        }
    }

    pub(crate) fn from_reply(reply: Reply) -> Self {
        McpResponse {
            outcome: Outcome::Reply(reply),
        }
    }

    fn from_layer_error(error: BoxError) -> Self {
        McpResponse::tool_error(error)
    }

    /// The reply sent: a failure becomes a tool execution error through `tool_failure`
    /// (tool calls), an internal error otherwise.
    pub(crate) fn into_reply(self, tool_failure: Option<&dyn Fn(ToolError) -> Reply>) -> Reply {
        match self.outcome {
            Outcome::Reply(reply) => reply,
            Outcome::Failed(message) => match tool_failure {
                Some(finish) => finish(ToolError::execution(message)),
                None => Err(ErrorObject::internal(message)),
            },
        }
    }
}

/// The service every layer wraps: the requests that reach it go on to the router (or, for
/// an item's layers, to the item's handler). Layers name it as their inner service type.
#[derive(Clone)]
pub struct Endpoint {
    service: BoxCloneSyncService<McpRequest, McpResponse, BoxError>,
}

impl Endpoint {
    /// The innermost service: runs what the request carries.
    pub(crate) fn base() -> Self {
        Endpoint {
            service: BoxCloneSyncService::new(RunNext.map_err(|never: Infallible| match never {})),
        }
    }

    /// `stack` (or a bare endpoint) with `layer` around it.
    pub(crate) fn stack(stack: Option<Endpoint>, layer: impl McpLayer) -> Option<Endpoint> {
        Some(layer.wrap(stack.unwrap_or_else(Endpoint::base)))
    }

    /// `outer` around `inner`: a request goes through `outer`'s layers, then `inner`'s
    /// (a mounted router's layers around its items' own).
    pub(crate) fn nest(outer: &Endpoint, inner: Option<&Endpoint>) -> Endpoint {
        match inner {
            None => outer.clone(),
            Some(inner) => Endpoint {
                service: BoxCloneSyncService::new(Nest {
                    outer: outer.clone(),
                    inner: inner.clone(),
                }),
            },
        }
    }

    /// Runs `request` through the stack; `tool_failure` makes a tool call's failure into
    /// its reply.
    pub(crate) fn run(
        &self,
        request: McpRequest,
        tool_failure: Option<Box<dyn Fn(ToolError) -> Reply + Send>>,
    ) -> BoxFuture<Reply> {
        let service = self.service.clone();
        Box::pin(service.oneshot(request).map(move |response| {
            response
                .unwrap_or_else(McpResponse::from_layer_error)
                .into_reply(tool_failure.as_deref().map(|f| f as _))
        }))
    }
}

/// A `tower::Layer` that can go around MCP requests: one whose service takes
/// [`McpRequest`], answers [`McpResponse`], is `Clone + Send + Sync + 'static`, and fails
/// (if it can) with an error that converts into [`BoxError`]. Every such layer is one: you
/// never implement this trait, it only names the bounds.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer for MCP requests",
    note = "a layer for `.layer(..)` must be a `tower::Layer<Endpoint>` whose service takes `McpRequest`, answers `McpResponse`, is `Clone + Send + Sync + 'static`, and fails with an error that converts into `BoxError`",
    note = "a layer whose service is not `Clone` (such as `tower::limit::RateLimitLayer`) goes behind a `tower::buffer::BufferLayer`"
)]
pub trait McpLayer: sealed::Wrap {}

impl<L: sealed::Wrap> McpLayer for L {}

mod sealed {
    use super::{BoxError, Endpoint, McpRequest, McpResponse};
    use tower::util::BoxCloneSyncService;
    use tower::{Layer, Service, ServiceExt};

    /// Puts a layer around an endpoint (the working part of [`super::McpLayer`]).
    pub trait Wrap {
        fn wrap(self, inner: Endpoint) -> Endpoint;
    }

    impl<L> Wrap for L
    where
        L: Layer<Endpoint>,
        L::Service: Service<McpRequest, Response = McpResponse> + Clone + Send + Sync + 'static,
        <L::Service as Service<McpRequest>>::Error: Into<BoxError>,
        <L::Service as Service<McpRequest>>::Future: Send + 'static,
    {
        fn wrap(self, inner: Endpoint) -> Endpoint {
            let service = self.layer(inner).map_err(Into::into);
            Endpoint {
                service: BoxCloneSyncService::new(service),
            }
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Endpoint")
    }
}

impl Service<McpRequest> for Endpoint {
    type Response = McpResponse;
    type Error = BoxError;
    type Future = BoxFuture<Result<McpResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        self.service.call(request)
    }
}

/// Two stacks, one inside the other: what the outer lets through enters the inner one,
/// which then runs the request's continuation.
#[derive(Clone)]
struct Nest {
    outer: Endpoint,
    inner: Endpoint,
}

impl Service<McpRequest> for Nest {
    type Response = McpResponse;
    type Error = BoxError;
    type Future = BoxFuture<Result<McpResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        self.outer.poll_ready(cx)
    }

    fn call(&mut self, mut request: McpRequest) -> Self::Future {
        let (method, id, version) = (request.method.clone(), request.id.clone(), request.version);
        let inner = self.inner.clone();
        if let Some(run) = request.next.take() {
            request.next = Some(Box::new(move |params, extensions| {
                let request = McpRequest::new(method, id, params, version, extensions, run);
                Box::pin(
                    inner
                        .oneshot(request)
                        .map(|answer| answer.unwrap_or_else(McpResponse::from_layer_error)),
                )
            }));
        }
        self.outer.call(request)
    }
}

/// The innermost service: runs the request's continuation with its extensions.
#[derive(Clone, Copy)]
struct RunNext;

impl Service<McpRequest> for RunNext {
    type Response = McpResponse;
    type Error = Infallible;
    type Future = BoxFuture<Result<McpResponse, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: McpRequest) -> Self::Future {
        match request.next.take() {
            Some(next) => {
                let answer = next(
                    request.params.take(),
                    std::mem::take(&mut request.extensions),
                );
                Box::pin(answer.map(Ok))
            }
            None => Box::pin(std::future::ready(Ok(McpResponse::error(
                ErrorObject::internal("a layer passed on a request that had been answered"),
            )))),
        }
    }
}

/// An extractor for a value a layer put in the request's extensions.
///
/// A handler with an `Extension<T>` argument is not run when no layer added a `T`: the
/// request fails with an internal error that names the type. [`Context::extension`]
/// reads one that may be missing.
///
/// [`Context::extension`]: super::Context::extension
///
/// ```
/// use oxmcp::server::middleware::Extension;
///
/// #[derive(Clone)]
/// struct User(String);
///
/// async fn whoami(Extension(user): Extension<User>) -> String {
///     user.0
/// }
/// # let _: oxmcp::server::Router = oxmcp::server::Router::new().tool("whoami", whoami);
/// ```
#[derive(Debug, Clone)]
pub struct Extension<T>(pub T);

impl<S: Sync, T: Clone + Send + Sync + 'static> FromRequest<S> for Extension<T> {
    async fn from_request(call: &Request, _state: &S) -> Result<Self, ToolError> {
        call.context.extension::<T>().map(Extension).ok_or_else(|| {
            ToolError::internal(format!(
                "no `{}` in the request's extensions: add the layer that provides it",
                std::any::type_name::<T>()
            ))
        })
    }
}
