//! Integration tests of the oxmcp SDK: one binary, one module per concern.
//!
//! Every frame that crosses a connection in these tests is validated against the official
//! JSON schema of the revision it speaks (see `support`).

mod support;

mod ask;
#[cfg(feature = "auth")]
mod auth;
#[cfg(feature = "auth-server")]
mod auth_server;
mod cache;
mod client;
mod client_features;
#[cfg(feature = "http-client")]
mod client_frames;
#[cfg(feature = "stdio")]
mod client_stdio;
mod compose;
mod echoes;
mod extensions;
mod features;
#[cfg(all(feature = "http-server", feature = "http-client"))]
mod head_of_line;
#[cfg(feature = "http-client")]
mod http_client;
#[cfg(feature = "http-server")]
mod http_server;
mod lifecycle;
mod limits;
mod logging;
#[cfg(all(feature = "metrics", feature = "http-server", feature = "http-client"))]
mod metrics;
mod middleware;
#[cfg(all(feature = "oauth", feature = "http-server"))]
mod oauth;
#[cfg(feature = "openapi")]
mod openapi;
#[cfg(feature = "otel")]
mod otel;
#[cfg(feature = "output-validation")]
mod output_validation;
mod questions;
mod rpc;
mod runtime_registry;
mod tools;
#[cfg(feature = "http-server")]
mod transports;
