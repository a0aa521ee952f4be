//! `_meta` objects and the keys MCP reserves in them.

use serde_json::{Map, Value};

/// A `_meta` object: an open map of namespaced keys.
pub type Meta = Map<String, Value>;

/// `_meta` key of the request's protocol version (2026-07-28).
pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client's capabilities for this request (2026-07-28).
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the client's implementation info (2026-07-28).
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key of the log level the client asks for on this request (2026-07-28).
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key of the server's implementation info on results (2026-07-28).
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key that tags notifications delivered on a `subscriptions/listen` stream (2026-07-28).
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key of a request's progress token (every revision).
pub const PROGRESS_TOKEN: &str = "progressToken";
