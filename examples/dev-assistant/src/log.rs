//! Request logging: a `tower` layer around every MCP request (`Router::layer`) that writes
//! one `tracing` event per request: method, tool, caller, duration, outcome.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use oxmcp::server::auth::Auth;
use oxmcp::server::middleware::{McpRequest, McpResponse};
use tower::{Layer, Service};

/// Logs each request at `info` under the target `dev_assistant::requests`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLog;

impl<S> Layer<S> for RequestLog {
    type Service = Logged<S>;
    fn layer(&self, inner: S) -> Logged<S> {
        Logged(inner)
    }
}

/// A service whose requests are logged.
#[derive(Clone, Debug)]
pub struct Logged<S>(S);

impl<S> Service<McpRequest> for Logged<S>
where
    S: Service<McpRequest, Response = McpResponse> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = McpResponse;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<McpResponse, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: McpRequest) -> Self::Future {
        let method = request.method().to_owned();
        let name = request.name().unwrap_or("").to_owned();
        let caller = request
            .extensions()
            .get::<Auth>()
            .map_or_else(|| "-".to_owned(), |auth| auth.subject().to_owned());
        let started = Instant::now();
        let answer = self.0.call(request);
        Box::pin(async move {
            let response = answer.await?;
            tracing::info!(
                target: "dev_assistant::requests",
                %method,
                name,
                caller,
                took_ms = started.elapsed().as_millis() as u64,
                failed = response.is_failure(),
                "request"
            );
            Ok(response)
        })
    }
}
