//! Wire types of the Model Context Protocol, every revision from 2024-11-05 to 2026-07-28.
//!
//! This crate is serde only: no async runtime, no I/O. The `oxmcp` crate builds the SDK
//! on top of it.
//!
//! One set of types covers every revision: each is the superset of its shapes across
//! revisions, with members that only some revisions have as `Option`s. Type names are
//! the definition names of the official schemas (`CallToolResult`, `ContentBlock`, ...).
//! Whole messages exist in two forms: a struct per schema message (`CallToolRequest`,
//! `ProgressNotification`, ...) and the method-tagged enums of [`message`]
//! (`ClientRequest`, `ServerNotification`, ...).

#[macro_use]
mod macros;
mod serde_util;

pub mod completion;
pub mod content;
pub mod elicitation;
pub mod error;
pub mod jsonrpc;
pub mod lifecycle;
pub mod logging;
pub mod message;
pub mod meta;
pub mod method;
pub mod mrtr;
pub mod notification;
pub mod pagination;
pub mod prompts;
pub mod resources;
pub mod result;
pub mod roots;
pub mod sampling;
pub mod subscriptions;
pub mod tasks;
pub mod tools;
pub mod version;

/// An arbitrary JSON object.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

pub use completion::*;
pub use content::*;
pub use elicitation::*;
pub use error::*;
pub use jsonrpc::{
    ErrorObject, JsonRpcBatch, JsonRpcErrorResponse, JsonRpcMessage, JsonRpcNotification,
    JsonRpcRequest, JsonRpcResultResponse, ProgressToken, RequestId,
};
pub use lifecycle::*;
pub use logging::*;
pub use message::{
    ClientNotification, ClientRequest, ServerNotification, ServerRequest, TypedNotification,
    TypedRequest, TypedResultResponse,
};
pub use meta::{Meta, NotificationMeta, RequestMeta, ResultMeta};
pub use mrtr::*;
pub use notification::*;
pub use pagination::*;
pub use prompts::*;
pub use resources::*;
pub use result::*;
pub use roots::*;
pub use sampling::*;
pub use subscriptions::*;
pub use tasks::*;
pub use tools::*;
pub use version::{Era, ProtocolVersion};
