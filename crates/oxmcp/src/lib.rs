//! # oxmcp
//!
//! The Model Context Protocol for Rust: servers and clients for every revision from
//! 2024-11-05 to 2026-07-28, legacy (handshake) and modern (stateless) eras alike.
//!
//! A tool is a plain async function whose arguments are extractors and whose return value
//! converts into a result; see [`server`]. A client connects to any MCP server and finds
//! out which era it speaks; see [`client`].
//!
//! ## Features
//!
//! | feature  | default | what it adds |
//! |----------|---------|--------------|
//! | `server` | yes     | [`server::Router`], extractors, tool handlers |
//! | `client` | yes     | [`client::Client`] |
//! | `stdio`  | yes     | the stdio transport: serve on stdin/stdout, spawn a server as a child process |
//!
//! Logs go through [`tracing`]; the library never prints to stdout, which on stdio is the
//! protocol channel.

pub mod error;
pub(crate) mod rpc;
pub mod transport;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;
#[cfg(all(feature = "server", feature = "client"))]
pub mod testing;

pub use error::{Error, Result};
pub use oxmcp_protocol as protocol;
pub use rpc::{Progress, ProgressCallback};

#[cfg(feature = "server")]
pub use schemars;
