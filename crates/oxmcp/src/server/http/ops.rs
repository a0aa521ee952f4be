//! `/metrics`, `/healthz` and `/readyz` (feature `metrics`): beside the MCP endpoint of
//! [`HttpServe`](super::HttpServe), or on an address of their own for a server whose MCP
//! traffic is not HTTP ([`serve_operations`]).

use std::future::Future;

use axum::body::Body;
use http::{header, Response, StatusCode};
use tokio::net::TcpListener;

use crate::metrics::{Health, Metrics};

/// The operations endpoints' paths.
pub const METRICS_PATH: &str = "/metrics";
/// Answers 200 while the process serves at all.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Answers 200 when ready for traffic, 503 while draining or a readiness check fails.
pub const READYZ_PATH: &str = "/readyz";

/// What answers the operations endpoints.
#[derive(Clone, Default)]
pub(crate) struct Ops {
    pub(crate) metrics: Metrics,
    pub(crate) health: Health,
}

impl Ops {
    /// The answer to a request for `path`, if it is one of the operations endpoints.
    pub(crate) fn answer(&self, path: &str) -> Option<Response<Body>> {
        let response = match path {
            METRICS_PATH => reply(StatusCode::OK, Metrics::CONTENT_TYPE, self.metrics.render()),
            HEALTHZ_PATH => reply(StatusCode::OK, "text/plain", "ok\n".into()),
            READYZ_PATH => match self.health.readiness() {
                Ok(()) => reply(StatusCode::OK, "text/plain", "ready\n".into()),
                Err(reason) => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("not ready: {reason}\n"),
                ),
            },
            _ => return None,
        };
        Some(response)
    }
}

fn reply(status: StatusCode, content_type: &'static str, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until `stop` completes (then
/// `/readyz` says draining for the connections still open): for a server whose MCP
/// traffic is stdio. Other paths get 404.
///
/// ```no_run
/// use oxmcp::metrics::{Health, Metrics};
/// use oxmcp::server::http::serve_operations;
///
/// # async fn run() -> oxmcp::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9464").await.unwrap();
/// let (metrics, health) = (Metrics::new(), Health::new());
/// tokio::spawn(serve_operations(listener, metrics, health, std::future::pending()));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// If the listener fails.
pub async fn serve_operations(
    listener: TcpListener,
    metrics: Metrics,
    health: Health,
    stop: impl Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let ops = Ops { metrics, health };
    let drained = ops.health.clone();
    let app = axum::Router::new().fallback(move |request: http::Request<Body>| {
        let ops = ops.clone();
        async move {
            ops.answer(request.uri().path()).unwrap_or_else(|| {
                reply(
                    StatusCode::NOT_FOUND,
                    "text/plain",
                    format!("not found: the endpoints are {METRICS_PATH}, {HEALTHZ_PATH} and {READYZ_PATH}\n"),
                )
            })
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stop.await;
            drained.drain();
        })
        .await
        .map_err(|e| crate::Error::transport("serve the operations endpoints", e))
}
