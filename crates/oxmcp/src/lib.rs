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
//! | `server` | yes     | [`server::Router`], extractors, tool handlers; serving any byte stream ([`server::Router::serve_io`]) |
//! | `client` | yes     | [`client::Client`]; connecting over any byte stream ([`client::ClientBuilder::connect_io`]) |
//! | `stdio`  | yes     | serving on this process's stdin/stdout, and spawning a server as a child process |
//!
//! Logs go through [`tracing`]; the library never prints to stdout, which on stdio is the
//! protocol channel.

pub mod error;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) mod rpc;
#[cfg(any(feature = "server", feature = "client"))]
pub mod transport;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;
#[cfg(all(feature = "server", feature = "client"))]
pub mod testing;

pub use error::{Error, Result};
pub use oxmcp_protocol as protocol;
#[cfg(any(feature = "server", feature = "client"))]
pub use rpc::{Progress, ProgressCallback};

#[cfg(feature = "server")]
pub use schemars;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
