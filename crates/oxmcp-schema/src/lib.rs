//! Validates MCP messages against the official JSON schemas.
//!
//! A test helper: every integration test of the SDK runs the messages it sees
//! through a [`MessageChecker`], which works out the protocol revision and the
//! schema definition of each message and validates it against the official
//! schema of that revision (embedded in this crate, one per revision in
//! [`ProtocolVersion::ALL`]). [`validate_def`] validates a value against one
//! named definition.
//!
//! Validation follows each schema's own draft (draft-07 with `definitions` up to
//! 2025-06-18, 2020-12 with `$defs` after), with one deliberate strictness on top: the
//! `format` keywords (`uri`, `uri-template`) are asserted in every revision, so a
//! resource `uri` must be an absolute RFC 3986 URI (`memo://a`, `file:///a`, `data:...`;
//! not `relative/path` nor one with spaces).
//!
//! ```
//! use oxmcp_protocol::ProtocolVersion;
//! use oxmcp_schema::{Direction, MessageChecker};
//! use serde_json::json;
//!
//! let mut checker = MessageChecker::new();
//! checker
//!     .check_str(
//!         Direction::ClientToServer,
//!         r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
//!     )
//!     .unwrap();
//! // The answer lacks `serverInfo`, which 2025-06-18 requires.
//! let err = checker
//!     .check(
//!         Direction::ServerToClient,
//!         &json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-06-18", "capabilities": {}}}),
//!     )
//!     .unwrap_err();
//! assert_eq!(err.def, "InitializeResult");
//! assert!(err.to_string().contains("serverInfo"));
//! assert_eq!(checker.version(), Some(ProtocolVersion::V2025_06_18));
//! ```

use std::fmt;

use oxmcp_protocol::ProtocolVersion;
use serde_json::Value;

mod checker;
mod schemas;

pub use checker::{Direction, MessageChecker};

/// A value that does not match a definition of an MCP schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// The definition the value failed, e.g. `CallToolResult`, or `JSONRPCMessage` for
    /// a message that is not well-formed JSON-RPC.
    pub def: String,
    /// The revision whose schema was used.
    pub version: ProtocolVersion,
    /// One line per error: the JSON pointer of the offending part of [`instance`](Self::instance)
    /// (`/` for the whole of it), a colon, and what is wrong there.
    pub errors: Vec<String>,
    /// The value checked: for [`MessageChecker`] the whole message (or the frame text,
    /// for a frame that is not JSON).
    pub instance: Value,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "does not match `{}` of the MCP {} schema:",
            self.def, self.version
        )?;
        for error in &self.errors {
            // Nested lines (explanations of a failed `anyOf`) come indented already.
            if error.starts_with(' ') {
                writeln!(f, "    {error}")?;
            } else {
                writeln!(f, "  - {error}")?;
            }
        }
        let instance = serde_json::to_string_pretty(&self.instance)
            .unwrap_or_else(|_| self.instance.to_string());
        write!(f, "instance:\n{instance}")
    }
}

impl std::error::Error for SchemaError {}

/// Validates `value` against the definition `def` (e.g. `"CallToolResult"`) of the
/// schema of `version`.
///
/// A name the schema does not define is an error too. Validators are compiled on
/// first use and cached for the life of the process, so this is cheap to call often.
pub fn validate_def(version: ProtocolVersion, def: &str, value: &Value) -> Result<(), SchemaError> {
    let Some(schema) = schemas::schema(version) else {
        return Err(SchemaError {
            def: def.to_owned(),
            version,
            errors: vec![format!("oxmcp-schema has no schema for MCP {version}")],
            instance: value.clone(),
        });
    };
    schema.check(def, value, "").map_err(|failure| SchemaError {
        def: failure.def,
        version,
        errors: failure.errors,
        instance: value.clone(),
    })
}
