//! Serving a router over Streamable HTTP: [`Router::serve_http`] and its builder,
//! [`HttpServe`].

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{HttpConfig, McpService};
use crate::server::ready::into_ready as ready_router;
use crate::server::{ReadyToServe, Router};

/// The path [`Router::serve_http`] serves MCP on.
pub const MCP_PATH: &str = "/mcp";

/// How long [`HttpServe`] lets requests in flight finish once asked to stop, by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// How long a connection may take to send a request's headers, by default (see
/// [`HttpServe::header_timeout`]).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How many connections [`HttpServe`] keeps open at once, by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Serving over HTTP: like [`Router::serve_stdio`], defined on every `Router<S>` but
/// bounded by [`ReadyToServe`], so that forgetting `.with_state(...)` gets an error that
/// says so.
impl<S> Router<S> {
    /// Turns the router into a Streamable HTTP endpoint (both eras), a `tower::Service`
    /// to mount wherever you like.
    ///
    /// The router's startup hook runs before the first request is served. Connection
    /// limits (header timeout, connection cap) are the server's business then; see
    /// [`HttpServe`] for the ones it applies when it serves by itself.
    ///
    /// ```no_run
    /// use oxmcp::server::Router;
    /// use oxmcp::server::http::HttpConfig;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let mcp = Router::new().into_http_service(HttpConfig::new());
    /// let app = axum::Router::new().nest_service("/mcp", mcp);
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn into_http_service(self, config: HttpConfig) -> McpService
    where
        Self: ReadyToServe,
    {
        let router = ready_router(self);
        let max = router.max_in_flight;
        let config = match router.given_limits() {
            Some(limits) => limits.apply_http(config),
            None => config,
        };
        McpService::new(router.build(), max, config)
    }

    /// Serves the router over Streamable HTTP at `http://ADDR/mcp` with the defaults,
    /// until `SIGTERM` or Ctrl-C: then it stops gracefully (see [`HttpServe`]) and returns
    /// `Ok`. For settings, use [`Router::http`].
    ///
    /// ```no_run
    /// # async fn run() -> oxmcp::Result<()> {
    /// oxmcp::server::Router::new().serve_http("127.0.0.1:8080").await
    /// # }
    /// ```
    ///
    /// # Errors
    /// If the address cannot be bound, the startup hook fails, or serving fails.
    pub async fn serve_http(self, addr: impl ToSocketAddrs) -> crate::Result<()>
    where
        Self: ReadyToServe,
    {
        let listener = bind(addr).await?;
        self.http_on(listener).await
    }

    /// Serves the router over Streamable HTTP at `http://ADDR/mcp`, with settings: a
    /// builder, run by awaiting it.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use oxmcp::server::Router;
    /// use oxmcp::server::http::HttpConfig;
    ///
    /// # async fn run() -> oxmcp::Result<()> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// # drop(stop);
    /// Router::new()
    ///     .http("0.0.0.0:8080")
    ///     .config(HttpConfig::new().allowed_hosts(["mcp.example.com"]))
    ///     .grace(Duration::from_secs(30))
    ///     .shutdown(async move {
    ///         let _ = stopped.await;
    ///     })
    ///     .await
    /// # }
    /// ```
    pub fn http<A: ToSocketAddrs + Send + 'static>(self, addr: A) -> HttpServe
    where
        Self: ReadyToServe,
    {
        HttpServe::new(ready_router(self), Box::pin(bind(addr)))
    }

    /// Like [`http`](Router::http), on a listener already bound.
    pub fn http_on(self, listener: TcpListener) -> HttpServe
    where
        Self: ReadyToServe,
    {
        HttpServe::new(
            ready_router(self),
            Box::pin(std::future::ready(Ok(listener))),
        )
    }
}

async fn bind(addr: impl ToSocketAddrs) -> crate::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| crate::Error::transport("bind the HTTP listener", e))
}

/// A router about to be served over Streamable HTTP (at `/mcp`), from [`Router::http`]
/// or [`Router::http_on`]. Awaiting it serves until asked to stop. With the `sse-server`
/// feature, the same listener also serves the HTTP+SSE transport of 2024-11-05 at `/sse`
/// and `/messages` (see `SseService`).
///
/// By default it stops on `SIGTERM` or Ctrl-C (`SIGINT`); [`shutdown`](HttpServe::shutdown)
/// adds a future of your own, [`no_signal_handlers`](HttpServe::no_signal_handlers) leaves
/// the signals alone. Stopping is graceful: no new connection is accepted, standalone
/// streams close, the requests in flight (their SSE replies included) are answered within
/// the [`grace`](HttpServe::grace) period, idle connections close, legacy sessions end,
/// the router's shutdown hook runs, and the future returns `Ok`.
///
/// The settings of the MCP endpoint itself (hosts, bodies, sessions) are an
/// [`HttpConfig`]; those of the connections (which only the server that accepts them can
/// enforce, so they are not in [`HttpConfig`], which a mounted service uses too) are
/// set here: [`header_timeout`](HttpServe::header_timeout) and
/// [`max_connections`](HttpServe::max_connections).
#[must_use = "an HttpServe does nothing until awaited"]
pub struct HttpServe {
    router: Router<()>,
    listener: BoxFuture<crate::Result<TcpListener>>,
    config: HttpConfig,
    shutdown: Option<BoxFuture<()>>,
    signals: bool,
    grace: Duration,
    header_timeout: Option<Duration>,
    max_connections: usize,
    /// Routes of the application's own, served beside MCP ([`HttpServe::routes`]).
    routes: Option<axum::Router>,
    /// `/metrics`, `/healthz` and `/readyz`, when asked for.
    #[cfg(feature = "metrics")]
    ops: Option<super::ops::Ops>,
}

impl std::fmt::Debug for HttpServe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServe")
            .field("config", &self.config)
            .field("signals", &self.signals)
            .field("grace", &self.grace)
            .field("header_timeout", &self.header_timeout)
            .field("max_connections", &self.max_connections)
            .field("routes", &self.routes.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpServe {
    fn new(router: Router<()>, listener: BoxFuture<crate::Result<TcpListener>>) -> Self {
        HttpServe {
            router,
            listener,
            config: HttpConfig::new(),
            shutdown: None,
            signals: true,
            grace: DEFAULT_GRACE,
            header_timeout: Some(DEFAULT_HEADER_TIMEOUT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            routes: None,
            #[cfg(feature = "metrics")]
            ops: None,
        }
    }

    /// Also serves `routes`, an axum app of your own (an authorization server, a login
    /// page, a status page), on the same listener, under the same connection rules: the
    /// header and idle timeout, the connection cap, and the graceful stop that lets their
    /// requests in flight finish too. Their request bodies are read first, within the
    /// endpoint's [`HttpConfig::body_limit`] and [`HttpConfig::body_timeout`] (`413` and
    /// `408` past them), so a slow or endless body cannot hold a connection.
    ///
    /// The MCP paths come first: [`MCP_PATH`], the Protected Resource Metadata (feature
    /// `auth`), the HTTP+SSE and WebSocket paths (their features) and the operations
    /// routes ([`metrics`](HttpServe::metrics)); every other path goes to `routes`,
    /// `404` included. Handlers may read the peer's address with
    /// `axum::extract::ConnectInfo<std::net::SocketAddr>`. Calling it again merges the
    /// routes.
    ///
    /// ```no_run
    /// use axum::routing::get;
    /// use oxmcp::server::Router;
    ///
    /// # async fn run() -> oxmcp::Result<()> {
    /// let status = axum::Router::new().route("/status", get(|| async { "up" }));
    /// Router::new().http("127.0.0.1:8080").routes(status).await
    /// # }
    /// ```
    pub fn routes(mut self, routes: axum::Router) -> Self {
        self.routes = Some(match self.routes.take() {
            Some(before) => before.merge(routes),
            None => routes,
        });
        self
    }

    /// Also serves `/metrics` (these metrics in the Prometheus text format), `/healthz` and `/readyz` on the same listener (feature
    /// `metrics`). `/readyz` answers 503 once the server starts shutting down.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.ops.get_or_insert_with(Default::default).metrics = metrics;
        self
    }

    /// What `/readyz` answers by (and serves `/metrics`, `/healthz` and `/readyz` as
    /// [`metrics`](HttpServe::metrics) does). Feature `metrics`.
    #[cfg(feature = "metrics")]
    pub fn health(mut self, health: crate::metrics::Health) -> Self {
        self.ops.get_or_insert_with(Default::default).health = health;
        self
    }

    /// The endpoint's settings. Unless they name allowed hosts, DNS-rebinding protection
    /// is on when the listener is on a loopback address and off otherwise.
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// Also stops (gracefully) when `signal` completes.
    pub fn shutdown(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Installs no handler for `SIGTERM` and Ctrl-C: only the [`shutdown`](HttpServe::shutdown)
    /// future (if any) stops the server, and the signals keep their usual effect.
    pub fn no_signal_handlers(mut self) -> Self {
        self.signals = false;
        self
    }

    /// How long requests in flight may take to finish once stopping began (default 10 s);
    /// connections still open after it are closed.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How long a connection may take to send a request's headers (default 30 s), counted
    /// from when it opened or its previous response ended: so this is also how long an idle
    /// keep-alive connection is kept. Connections over time are closed. Request bodies
    /// have their own deadline, [`HttpConfig::body_timeout`]; responses (long SSE streams
    /// included) have none. `None` turns the timeout off.
    pub fn header_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.header_timeout = timeout.into();
        self
    }

    /// How many connections are served at once (default 512); beyond it, new ones wait
    /// in the listener's backlog until one closes. Keep it under the process's file
    /// descriptor limit.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    async fn run(mut self) -> crate::Result<()> {
        if let Some(limits) = self.router.given_limits() {
            limits.apply_serve(
                &mut self.grace,
                &mut self.header_timeout,
                &mut self.max_connections,
            );
        }
        let listener = self.listener.await?;
        let local = listener
            .local_addr()
            .map_err(|e| crate::Error::transport("read the listener's address", e))?;
        let service = self
            .router
            .into_http_service(self.config.for_address(local));
        let shared = service.inner.shared.clone();
        shared.hooks.start().await?;
        tracing::debug!(%local, "serving MCP over HTTP at {MCP_PATH}");

        let user = self.shutdown;
        let signals = self.signals;
        let mut stop = pin!(async move {
            let user = async move {
                match user {
                    Some(user) => user.await,
                    None => std::future::pending().await,
                }
            };
            if signals {
                tokio::select! {
                    () = user => {}
                    () = crate::server::signal::terminate() => {}
                }
            } else {
                user.await;
            }
        });

        #[cfg(feature = "metrics")]
        let ops = self.ops.map(Arc::new);
        let routes = self.routes;
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let connections = TaskTracker::new();
        let stopping = CancellationToken::new();
        let force = CancellationToken::new();
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                () = &mut stop => break,
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut stop => break,
            };
            let (tcp, remote) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection that died in the backlog:
                    // wait a little instead of spinning.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        () = &mut stop => break,
                    }
                }
            };
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
            let service = service.clone();
            let routes = routes.clone();
            #[cfg(feature = "metrics")]
            let ops = ops.clone();
            let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
                let service = service.clone();
                let routes = routes.clone();
                #[cfg(feature = "metrics")]
                let ops = ops.clone();
                async move {
                    #[cfg(feature = "metrics")]
                    if let Some(answer) = ops
                        .as_ref()
                        .and_then(|ops| ops.answer(request.uri().path()))
                    {
                        return Ok(answer);
                    }
                    Ok::<_, Infallible>(route(&service, routes.as_ref(), remote, request).await)
                }
            });
            // Upgrades are served (WebSocket); without a `101` answer, nothing changes.
            let connection = http
                .serve_connection(TokioIo::new(tcp), handler)
                .with_upgrades();
            let stopping = stopping.clone();
            let force = force.clone();
            connections.spawn(async move {
                let _slot = slot;
                let mut connection = pin!(connection);
                let ended = tokio::select! {
                    ended = connection.as_mut() => Some(ended),
                    () = stopping.cancelled() => None,
                };
                let ended = match ended {
                    Some(ended) => ended,
                    None => {
                        // Finish the request in flight, then close.
                        connection.as_mut().graceful_shutdown();
                        tokio::select! {
                            ended = connection.as_mut() => ended,
                            () = force.cancelled() => Ok(()),
                        }
                    }
                };
                if let Err(e) = ended {
                    tracing::debug!(%remote, error = %e, "HTTP connection ended with an error");
                }
            });
        }
        drop(listener);
        #[cfg(feature = "metrics")]
        if let Some(ops) = &ops {
            ops.health.drain();
        }
        tracing::debug!("stopping: no new connections");
        stopping.cancel();
        service.shutdown();
        connections.close();
        if tokio::time::timeout(self.grace, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(grace = ?self.grace, "connections still open after the grace period: closing them");
            force.cancel();
            connections.wait().await;
        }
        service.end_sessions();
        shared.hooks.stop().await;
        Ok(())
    }
}

impl IntoFuture for HttpServe {
    type Output = crate::Result<()>;
    type IntoFuture = BoxFuture<crate::Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// One request of a served connection: MCP at [`MCP_PATH`] (and the HTTP+SSE paths with
/// `sse-server`), the application's `routes` elsewhere, else `404`.
async fn route(
    service: &McpService,
    routes: Option<&axum::Router>,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Response<Body> {
    #[cfg(feature = "auth")]
    if let Some(resource) = &service.inner.config.auth {
        if request.uri().path() == resource.metadata_path() {
            return resource.metadata_response(request.method());
        }
    }
    #[cfg(feature = "sse-server")]
    if matches!(request.uri().path(), super::SSE_PATH | super::MESSAGES_PATH) {
        let mut request = request;
        request
            .extensions_mut()
            .insert(crate::server::http::RemoteAddr(remote));
        return service.sse().handle(request).await;
    }
    #[cfg(feature = "ws-server")]
    if request.uri().path() == super::WS_PATH {
        let mut request = request;
        request
            .extensions_mut()
            .insert(crate::server::http::RemoteAddr(remote));
        return service.ws().handle(request).await;
    }
    if request.uri().path() != MCP_PATH {
        if let Some(routes) = routes {
            return extra(service, routes, remote, request).await;
        }
        let mut response = Response::new(Body::from(format!(
            "not found: the MCP endpoint is {MCP_PATH}"
        )));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    }
    // The address goes straight in, not through the request's extensions (a map each).
    service.handle_from(request, Some(remote)).await
}

/// A request for the application's own routes: its body read within the endpoint's limits
/// first, the peer's address in `ConnectInfo`.
async fn extra(
    service: &McpService,
    routes: &axum::Router,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Response<Body> {
    let (mut parts, body) = request.into_parts();
    let body = match super::service::read_limited(&service.inner.config, body).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    parts.extensions.insert(axum::extract::ConnectInfo(remote));
    let request = Request::from_parts(parts, Body::from(body));
    match tower::ServiceExt::oneshot(routes.clone(), request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
