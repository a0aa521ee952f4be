//! [`MessageChecker`]: validates the messages of one connection, working out the
//! revision and the definition of each.

use std::collections::HashMap;

use oxmcp_protocol::ProtocolVersion;
use serde_json::{Map, Value};

use crate::schemas::{schema, DefFailure, Schema};
use crate::SchemaError;

/// The `_meta` key of a modern (2026-07-28) request naming its protocol version.
const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key of a notification delivered on a 2026-07-28 `subscriptions/listen` stream.
const SUBSCRIPTION_ID_META: &str = "io.modelcontextprotocol/subscriptionId";

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the client, received by the server.
    ClientToServer,
    /// Sent by the server, received by the client.
    ServerToClient,
}

impl Direction {
    fn opposite(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }
}

/// A request still awaiting its response.
#[derive(Debug, Clone)]
struct Pending {
    method: String,
    /// The revision the request was validated against; its response uses the same.
    version: ProtocolVersion,
    /// A task-augmented request (2025-11-25), answered with `CreateTaskResult`.
    task: bool,
    /// `params._meta.progressToken`, as JSON text.
    progress_token: Option<String>,
}

/// Validates the messages of one connection, in both directions, against the
/// official schemas.
///
/// Feed it every message of the connection in the order they travel (both
/// directions: a response is validated against the result definition of the request
/// it answers, which the checker remembers by id). For each message it works out:
///
/// - the **revision**: a request whose `params._meta` names
///   `io.modelcontextprotocol/protocolVersion` is modern (2026-07-28); an `initialize`
///   request uses the revision it asks for (2025-11-25 if it asks for one the checker
///   does not know), and the `InitializeResult` answering it sets the negotiated
///   revision for the later legacy messages of the connection. Modern and legacy
///   messages may interleave; a response uses the revision of its request, a
///   notification that of the request it concerns (progress, cancellation) or else the
///   negotiated one.
/// - the **definition**: the request or notification definition of the method (e.g.
///   `tools/call` -> `CallToolRequest`), and for a response the result definition of
///   the method it answers (`CallToolResult`, `EmptyResult` for `ping`,
///   `InputRequiredResult` for a modern `resultType: "input_required"`, the generic
///   `Result` for another modern `resultType`, an extension's, ...) or the
///   error-response definitions.
///
/// A method unknown to the schema of its revision (including a known method sent in
/// the other era, such as `ping` with a modern `_meta`) is checked against the
/// generic JSON-RPC envelope only. Arrays (JSON-RPC batches) are checked element by
/// element, and are an error where the revision forbids them.
#[derive(Debug, Clone, Default)]
pub struct MessageChecker {
    /// The legacy revision the `initialize` handshake settled on.
    negotiated: Option<ProtocolVersion>,
    /// Whether a modern request has been seen.
    seen_modern: bool,
    /// Requests awaiting a response, keyed by the direction they were sent in and their id.
    pending: HashMap<(Direction, String), Pending>,
}

/// A failure inside [`MessageChecker::check`], before it is turned into a [`SchemaError`].
type Failure = (ProtocolVersion, DefFailure);

impl MessageChecker {
    /// A checker for a new connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// The revision in use: the one the `initialize` handshake negotiated, else
    /// 2026-07-28 once a modern request has been seen, else `None`.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.negotiated
            .or(self.seen_modern.then_some(ProtocolVersion::V2026_07_28))
    }

    /// Validates one JSON-RPC message (or a batch: an array of them) travelling in
    /// `direction`, and records what later messages need (pending requests, the
    /// negotiated revision).
    pub fn check(&mut self, direction: Direction, message: &Value) -> Result<(), SchemaError> {
        let result = match message {
            Value::Array(items) => self.check_batch(direction, items),
            _ => self.check_one(direction, message, ""),
        };
        result.map_err(|(version, failure)| SchemaError {
            def: failure.def,
            version,
            errors: failure.errors,
            instance: message.clone(),
        })
    }

    /// Parses `frame` as JSON and [checks](Self::check) it; text that is not JSON is
    /// an error.
    pub fn check_str(&mut self, direction: Direction, frame: &str) -> Result<(), SchemaError> {
        match serde_json::from_str::<Value>(frame) {
            Ok(message) => self.check(direction, &message),
            Err(e) => Err(SchemaError {
                def: "JSONRPCMessage".to_owned(),
                version: self.current(),
                errors: vec![format!("/: not JSON: {e}")],
                instance: Value::String(frame.to_owned()),
            }),
        }
    }

    fn check_batch(&mut self, direction: Direction, items: &[Value]) -> Result<(), Failure> {
        if items.is_empty() {
            return Err(structural(
                self.current(),
                "/: an empty array is not a JSON-RPC batch",
            ));
        }
        for (index, item) in items.iter().enumerate() {
            self.check_one(direction, item, &format!("/{index}"))?;
        }
        let modern = items.iter().any(|item| modern_version(item).is_some());
        let version = if modern {
            Some(ProtocolVersion::V2026_07_28)
        } else {
            self.negotiated
        };
        if let Some(version) = version.filter(|v| !v.supports_batching()) {
            return Err(structural(
                version,
                &format!(
                    "/: JSON-RPC batches are not allowed in MCP {version} (only in 2025-03-26)"
                ),
            ));
        }
        Ok(())
    }

    fn check_one(
        &mut self,
        direction: Direction,
        message: &Value,
        at: &str,
    ) -> Result<(), Failure> {
        let Some(object) = message.as_object() else {
            return Err(structural(
                self.current(),
                &format!("{}: a JSON-RPC message must be an object", slash(at)),
            ));
        };
        if let Some(method) = object.get("method") {
            if object.contains_key("result") || object.contains_key("error") {
                return Err(structural(
                    self.current(),
                    &format!(
                        "{}: a request or notification must not carry `result` or `error`",
                        slash(at)
                    ),
                ));
            }
            let method = method.as_str().unwrap_or_default();
            match object.get("id") {
                Some(id) => self.check_request(direction, message, object, method, id, at),
                None => self.check_notification(direction, message, object, method, at),
            }
        } else if object.contains_key("result") || object.contains_key("error") {
            self.check_response(direction, message, object, at)
        } else {
            Err(structural(
                self.current(),
                &format!(
                    "{}: neither a request (`method`, `id`), a notification (`method`) nor a \
                     response (`result` or `error`)",
                    slash(at)
                ),
            ))
        }
    }

    fn check_request(
        &mut self,
        direction: Direction,
        message: &Value,
        object: &Map<String, Value>,
        method: &str,
        id: &Value,
        at: &str,
    ) -> Result<(), Failure> {
        let params = object.get("params");
        // `initialize` exists only in the legacy era, whatever `_meta` it carries.
        let version = if method == "initialize" {
            params
                .and_then(|p| p.get("protocolVersion"))
                .and_then(Value::as_str)
                .and_then(ProtocolVersion::parse)
                .filter(|v| v.is_legacy())
                .unwrap_or(ProtocolVersion::LATEST_LEGACY)
        } else if let Some(version) = modern_version(message) {
            self.seen_modern = true;
            version
        } else if self.negotiated.is_none() && !self.initializing() && self.seen_modern {
            // A connection that has only spoken the modern era: a request without the
            // `_meta` envelope is a modern request missing it.
            ProtocolVersion::V2026_07_28
        } else {
            self.legacy()
        };
        self.pending.insert(
            (direction, id.to_string()),
            Pending {
                method: method.to_owned(),
                version,
                task: params.and_then(|p| p.get("task")).is_some(),
                progress_token: params
                    .and_then(|p| p.pointer("/_meta/progressToken"))
                    .map(Value::to_string),
            },
        );
        // The specific def first: its errors say more than the envelope's.
        let schema = schema_of(version)?;
        if let Some(def) = schema.request_def(method) {
            check(schema, def, message, at)?;
        }
        check(schema, "JSONRPCRequest", message, at)
    }

    fn check_notification(
        &mut self,
        direction: Direction,
        message: &Value,
        object: &Map<String, Value>,
        method: &str,
        at: &str,
    ) -> Result<(), Failure> {
        let params = object.get("params");
        let related = match method {
            // Progress is sent by the receiver of the request it reports on.
            "notifications/progress" => params
                .and_then(|p| p.get("progressToken"))
                .map(Value::to_string)
                .and_then(|token| {
                    self.pending.iter().find_map(|((d, _), p)| {
                        (*d == direction.opposite()
                            && p.progress_token.as_deref() == Some(token.as_str()))
                        .then_some(p.version)
                    })
                }),
            // Cancellation is sent by the sender of the request it cancels.
            "notifications/cancelled" => params
                .and_then(|p| p.get("requestId"))
                .and_then(|id| self.pending.get(&(direction, id.to_string())))
                .map(|p| p.version),
            _ => None,
        };
        let on_subscription = params
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get(SUBSCRIPTION_ID_META))
            .is_some();
        let version = if on_subscription {
            ProtocolVersion::V2026_07_28
        } else {
            related.unwrap_or_else(|| self.current())
        };
        let schema = schema_of(version)?;
        if let Some(def) = schema.notification_def(method) {
            check(schema, def, message, at)?;
        }
        check(schema, "JSONRPCNotification", message, at)
    }

    fn check_response(
        &mut self,
        direction: Direction,
        message: &Value,
        object: &Map<String, Value>,
        at: &str,
    ) -> Result<(), Failure> {
        let pending = object
            .get("id")
            .and_then(|id| self.pending.remove(&(direction.opposite(), id.to_string())));
        let mut version = pending
            .as_ref()
            .map_or_else(|| self.current(), |p| p.version);
        if object.contains_key("result") && object.contains_key("error") {
            return Err(structural(
                version,
                &format!(
                    "{}: a response must carry exactly one of `result` and `error`, not both",
                    slash(at)
                ),
            ));
        }

        if let Some(error) = object.get("error") {
            let schema = schema_of(version)?;
            if let Some(def) = error
                .get("code")
                .and_then(Value::as_i64)
                .and_then(|code| schema.error_def(code))
            {
                check(schema, def, message, at)?;
            }
            return check(schema, schema.error_envelope, message, at);
        }

        let result = &object["result"];
        let Some(pending) = pending else {
            // Answers no request we saw: only the envelope can be checked.
            let schema = schema_of(version)?;
            return check(schema, schema.result_envelope, message, at);
        };
        if pending.method == "initialize" {
            if let Some(answered) = result
                .get("protocolVersion")
                .and_then(Value::as_str)
                .and_then(ProtocolVersion::parse)
            {
                if answered.is_modern() {
                    return Err((
                        version,
                        DefFailure {
                            def: "InitializeResult".to_owned(),
                            errors: vec![format!(
                                "{at}/result/protocolVersion: MCP {answered} has no initialize \
                                 handshake; an InitializeResult must name a legacy revision"
                            )],
                        },
                    ));
                }
                // The result is written in the revision it settles on.
                version = answered;
                self.negotiated = Some(answered);
            }
        }
        let schema = schema_of(version)?;
        let Some(shape) = schema.result_shape(&pending.method) else {
            return check(schema, schema.result_envelope, message, at);
        };
        let result_type = result.get("resultType").and_then(Value::as_str);
        let input_required = version.is_modern() && result_type == Some("input_required");
        // `resultType` is an open string: another value is an extension's result (the
        // tasks extension's `"task"`), which the core schema describes only as a `Result`.
        if version.is_modern()
            && !matches!(result_type, None | Some("complete" | "input_required"))
            && schema.has_def("Result")
        {
            check(schema, "Result", result, &format!("{at}/result"))?;
            return check(schema, schema.result_envelope, message, at);
        }
        let def = if pending.task && schema.has_def("CreateTaskResult") {
            "CreateTaskResult"
        } else if input_required {
            if !shape.input_required {
                return Err((
                    version,
                    DefFailure {
                        def: shape.complete.clone(),
                        errors: vec![format!(
                            "{at}/result/resultType: `{}` cannot answer with \
                             `input_required` (no InputRequiredResult in its response)",
                            pending.method
                        )],
                    },
                ));
            }
            "InputRequiredResult"
        } else {
            shape.complete.as_str()
        };
        check(schema, def, result, &format!("{at}/result"))?;
        check(schema, schema.result_envelope, message, at)
    }

    /// Whether an `initialize` request awaits its answer.
    fn initializing(&self) -> bool {
        self.pending.values().any(|p| p.method == "initialize")
    }

    /// The legacy revision in use: negotiated, else asked for by a pending
    /// `initialize`, else the latest legacy one.
    fn legacy(&self) -> ProtocolVersion {
        self.negotiated
            .or_else(|| {
                self.pending
                    .values()
                    .find(|p| p.method == "initialize")
                    .map(|p| p.version)
            })
            .unwrap_or(ProtocolVersion::LATEST_LEGACY)
    }

    /// The revision for a message that neither names one nor relates to a request.
    fn current(&self) -> ProtocolVersion {
        if self.negotiated.is_none() && !self.initializing() && self.seen_modern {
            ProtocolVersion::V2026_07_28
        } else {
            self.legacy()
        }
    }
}

/// The modern revision a request names in `params._meta`, if it names one. A
/// version the checker does not know still marks a modern request (its peer
/// answers with `UnsupportedProtocolVersionError`); it is checked as 2026-07-28.
fn modern_version(message: &Value) -> Option<ProtocolVersion> {
    let named = message
        .get("params")?
        .get("_meta")?
        .get(PROTOCOL_VERSION_META)?;
    Some(
        named
            .as_str()
            .and_then(ProtocolVersion::parse)
            .filter(|v| v.is_modern())
            .unwrap_or(ProtocolVersion::V2026_07_28),
    )
}

fn schema_of(version: ProtocolVersion) -> Result<&'static Schema, Failure> {
    schema(version).ok_or_else(|| {
        structural(
            version,
            &format!("/: oxmcp-schema has no schema for MCP {version}"),
        )
    })
}

fn check(schema: &Schema, def: &str, value: &Value, at: &str) -> Result<(), Failure> {
    schema
        .check(def, value, at)
        .map_err(|failure| (schema.version, failure))
}

/// A message that is not well-formed JSON-RPC.
fn structural(version: ProtocolVersion, error: &str) -> Failure {
    (
        version,
        DefFailure {
            def: "JSONRPCMessage".to_owned(),
            errors: vec![error.to_owned()],
        },
    )
}

fn slash(at: &str) -> &str {
    if at.is_empty() {
        "/"
    } else {
        at
    }
}
