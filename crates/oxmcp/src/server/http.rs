//! Serving a router over Streamable HTTP.

use std::future::Future;
use std::net::SocketAddr;

use axum::serve::ListenerExt;
use tokio::net::ToSocketAddrs;

use super::Router;
use crate::transport::http::server::{HttpConfig, McpService};

/// The path [`Router::serve_http`] serves MCP on.
pub const MCP_PATH: &str = "/mcp";

impl Router<()> {
    /// Turns the router into a Streamable HTTP endpoint (both eras), a `tower::Service`
    /// to mount wherever you like.
    ///
    /// The router's startup hook runs before the first request is served.
    ///
    /// ```no_run
    /// use oxmcp::server::Router;
    /// use oxmcp::transport::http::server::HttpConfig;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let mcp = Router::new().into_http_service(HttpConfig::new());
    /// let app = axum::Router::new().nest_service("/mcp", mcp);
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn into_http_service(self, config: HttpConfig) -> McpService {
        let max = self.max_in_flight;
        McpService::new(self.build(), max, config)
    }

    /// Serves the router over Streamable HTTP at `http://ADDR/mcp` until the process ends.
    ///
    /// ```no_run
    /// # async fn run() -> oxmcp::Result<()> {
    /// oxmcp::server::Router::new().serve_http("127.0.0.1:8080").await
    /// # }
    /// ```
    ///
    /// # Errors
    /// If the address cannot be bound, the startup hook fails, or serving fails.
    pub async fn serve_http(self, addr: impl ToSocketAddrs) -> crate::Result<()> {
        self.serve_http_with(addr, HttpConfig::new(), std::future::pending())
            .await
    }

    /// Like [`serve_http`](Router::serve_http), until `signal` completes: then no new
    /// connection is accepted, open streams close, the requests in flight are answered,
    /// and the shutdown hook runs.
    ///
    /// # Errors
    /// If the address cannot be bound, the startup hook fails, or serving fails.
    pub async fn serve_http_with_shutdown(
        self,
        addr: impl ToSocketAddrs,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> crate::Result<()> {
        self.serve_http_with(addr, HttpConfig::new(), signal).await
    }

    /// Like [`serve_http_with_shutdown`](Router::serve_http_with_shutdown), with settings.
    /// Unless the settings name allowed hosts, DNS-rebinding protection is on when `addr`
    /// is a loopback address and off otherwise.
    ///
    /// # Errors
    /// If the address cannot be bound, the startup hook fails, or serving fails.
    pub async fn serve_http_with(
        self,
        addr: impl ToSocketAddrs,
        config: HttpConfig,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> crate::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| crate::Error::transport("bind the HTTP listener", e))?;
        self.serve_http_on(listener, config, signal).await
    }

    /// Like [`serve_http_with`](Router::serve_http_with), on a listener already bound.
    ///
    /// # Errors
    /// If the startup hook fails, or serving fails.
    pub async fn serve_http_on(
        self,
        listener: tokio::net::TcpListener,
        config: HttpConfig,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> crate::Result<()> {
        let local = listener
            .local_addr()
            .map_err(|e| crate::Error::transport("read the listener's address", e))?;
        let service = self.into_http_service(config.for_address(local));
        let shared = service.inner.shared.clone();
        shared.hooks.start().await?;
        tracing::debug!(%local, "serving MCP over HTTP at {MCP_PATH}");
        let app = axum::Router::new().route_service(MCP_PATH, service.clone());
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let stopping = service.clone();
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            signal.await;
            stopping.shutdown();
        })
        .await;
        service.end_sessions();
        shared.hooks.stop().await;
        served.map_err(|e| crate::Error::transport("serve HTTP", e))
    }
}
