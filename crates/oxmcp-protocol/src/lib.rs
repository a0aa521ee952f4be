//! Wire types of the Model Context Protocol, every revision from 2024-11-05 to 2026-07-28.
//!
//! This crate is serde only: no async runtime, no I/O. The `oxmcp` crate builds the SDK
//! on top of it.

pub mod jsonrpc;
pub mod meta;
pub mod version;

pub use jsonrpc::{ErrorObject, JsonRpcMessage, RequestId};
pub use version::{Era, ProtocolVersion};
