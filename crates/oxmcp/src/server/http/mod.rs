//! The Streamable HTTP server: one endpoint that serves both eras.
//!
//! [`McpService`] is a `tower::Service`, mountable in axum or any tower stack;
//! [`Router::serve_http`](crate::server::Router::serve_http) serves it on its own.
//!
//! Each request is routed by its `MCP-Protocol-Version` header:
//!
//! - **absent or a legacy revision** (2024-11-05 to 2025-11-25): the legacy way. `initialize`
//!   opens a session (`Mcp-Session-Id`), which later requests must name; `GET` opens the
//!   session's standalone SSE stream, `DELETE` ends it. SSE events carry ids and are kept
//!   in an [`EventStore`], so a client resumes a lost stream with `Last-Event-ID`.
//! - **anything else** (2026-07-28): the modern way. No session: every `POST` carries its
//!   own `_meta`, and its `Mcp-Method` / `Mcp-Name` headers must agree with the body.
//!
//! With the `sse-server` feature, [`McpService::sse`] gives the HTTP+SSE transport of
//! 2024-11-05 ([`SseService`]: `GET /sse`, `POST /messages?session_id=…`) for the same
//! router and settings, and [`Router::http`](crate::server::Router::http) serves it beside
//! `/mcp`.
//!
//! With the `ws-server` feature, [`McpService::ws`] gives the WebSocket transport
//! ([`WsService`], subprotocol `mcp`), served at `/ws` by `Router::http`.
//!
//! A response is JSON unless something must go out before it (progress, logs, a request to
//! the client), in which case the `POST` is answered with an SSE stream that ends after the
//! response.

#[cfg(feature = "auth")]
mod auth;
pub(crate) mod body;
mod config;
#[cfg(any(feature = "sse-server", feature = "ws-server"))]
mod connect;
mod guard;
#[cfg(feature = "sse-server")]
mod legacy_sse;
#[cfg(feature = "metrics")]
mod ops;
mod params;
mod post;
mod serve;
mod service;
mod session;
mod sse;
mod store;
mod throttle;
#[cfg(feature = "ws-server")]
mod ws;

pub use config::{
    HttpConfig, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_SESSIONS,
    DEFAULT_MAX_SESSIONS_PER_PEER, DEFAULT_MAX_STREAMS_PER_SESSION, DEFAULT_SESSION_IDLE,
};
#[cfg(any(feature = "sse-server", feature = "ws-server"))]
pub(crate) use guard::RemoteAddr;
#[cfg(feature = "sse-server")]
pub use legacy_sse::{SseService, MESSAGES_PATH, SSE_PATH};
#[cfg(feature = "metrics")]
pub use ops::{serve_operations, HEALTHZ_PATH, METRICS_PATH, READYZ_PATH};
pub use serve::{
    HttpServe, DEFAULT_GRACE, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, MCP_PATH,
};
pub use service::McpService;
pub use store::{
    EventStore, InMemoryEventStore, StoredEvent, DEFAULT_STREAM_BYTES, DEFAULT_TOTAL_BYTES,
};
#[cfg(feature = "ws-server")]
pub use ws::{WsService, SUBPROTOCOL, WS_PATH};
