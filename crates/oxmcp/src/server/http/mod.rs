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
//! A response is JSON unless something must go out before it (progress, logs, a request to
//! the client), in which case the `POST` is answered with an SSE stream that ends after the
//! response.

pub(crate) mod body;
mod config;
mod guard;
mod params;
mod post;
mod serve;
mod service;
mod session;
mod sse;
mod store;

pub use config::{
    HttpConfig, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_SESSIONS,
    DEFAULT_MAX_SESSIONS_PER_PEER, DEFAULT_SESSION_IDLE,
};
pub(crate) use guard::RemoteAddr;
pub use serve::{
    HttpServe, DEFAULT_GRACE, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, MCP_PATH,
};
pub use service::McpService;
pub use store::{
    EventStore, InMemoryEventStore, StoredEvent, DEFAULT_STREAM_BYTES, DEFAULT_TOTAL_BYTES,
};
