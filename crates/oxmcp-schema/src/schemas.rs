//! The embedded schemas, what they say about methods, and compiled validators.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use oxmcp_protocol::ProtocolVersion;
use serde_json::Value;

/// The schema text of a revision, embedded at build time.
fn schema_text(version: ProtocolVersion) -> Option<&'static str> {
    Some(match version {
        ProtocolVersion::V2024_11_05 => include_str!("../schemas/2024-11-05/schema.json"),
        ProtocolVersion::V2025_03_26 => include_str!("../schemas/2025-03-26/schema.json"),
        ProtocolVersion::V2025_06_18 => include_str!("../schemas/2025-06-18/schema.json"),
        ProtocolVersion::V2025_11_25 => include_str!("../schemas/2025-11-25/schema.json"),
        ProtocolVersion::V2026_07_28 => include_str!("../schemas/2026-07-28/schema.json"),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// What a method is answered with, as far as the schema tells.
#[derive(Debug, Clone)]
pub(crate) struct ResultShape {
    /// The result def of a completed request, e.g. `CallToolResult`.
    pub(crate) complete: String,
    /// Whether the method may answer with `InputRequiredResult` (2026-07-28).
    pub(crate) input_required: bool,
}

/// One revision's schema document, its method tables and its validator cache.
pub(crate) struct Schema {
    pub(crate) version: ProtocolVersion,
    doc: Value,
    /// `definitions` (draft-07) or `$defs` (2020-12).
    defs_key: &'static str,
    /// JSON-RPC request method -> request def (`tools/call` -> `CallToolRequest`).
    requests: HashMap<String, String>,
    /// Notification method -> notification def.
    notifications: HashMap<String, String>,
    /// Request method -> what answers it.
    results: HashMap<String, ResultShape>,
    /// JSON-RPC error code -> the error-response def specific to it (`-32022` ->
    /// `UnsupportedProtocolVersionError`).
    error_codes: HashMap<i64, String>,
    /// The envelope of a successful response.
    pub(crate) result_envelope: &'static str,
    /// The envelope of an error response.
    pub(crate) error_envelope: &'static str,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

/// A failure to validate against one def: the def's name and the errors,
/// each already rendered as `instance path: message`.
#[derive(Debug)]
pub(crate) struct DefFailure {
    pub(crate) def: String,
    pub(crate) errors: Vec<String>,
}

static SCHEMAS: [OnceLock<Option<Schema>>; ProtocolVersion::ALL.len()] =
    [const { OnceLock::new() }; ProtocolVersion::ALL.len()];

/// The schema of `version`, parsed on first use; `None` for a revision this
/// crate has no schema for.
pub(crate) fn schema(version: ProtocolVersion) -> Option<&'static Schema> {
    let index = ProtocolVersion::ALL.iter().position(|v| *v == version)?;
    SCHEMAS[index]
        .get_or_init(|| schema_text(version).map(|text| Schema::parse(version, text)))
        .as_ref()
}

impl Schema {
    fn parse(version: ProtocolVersion, text: &str) -> Schema {
        let doc: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("embedded schema of MCP {version} is not JSON: {e}"));
        let defs_key = if doc.get("$defs").is_some() {
            "$defs"
        } else {
            "definitions"
        };
        let defs = doc[defs_key]
            .as_object()
            .unwrap_or_else(|| panic!("embedded schema of MCP {version} has no {defs_key}"));

        let self_enveloped = self_enveloped(defs);
        let mut requests = HashMap::new();
        let mut notifications = HashMap::new();
        let mut error_codes = HashMap::new();
        // Defs naming one method each; the unions (`ClientRequest`, ...) are skipped, even
        // where a union of one (2026-07-28's `ClientNotification`) looks like a single def.
        let unions = [
            "ClientRequest",
            "ServerRequest",
            "ClientNotification",
            "ServerNotification",
        ];
        for (name, def) in defs {
            if unions.contains(&name.as_str()) {
                continue;
            }
            let props = def.get("properties");
            if let Some(method) = props
                .and_then(|p| p.get("method"))
                .and_then(|m| m.get("const"))
                .and_then(Value::as_str)
            {
                let has_id = props.and_then(|p| p.get("id")).is_some();
                if name.ends_with("Request") {
                    // Older schemas define requests as `{method, params}` and wrap them in
                    // `JSONRPCRequest`; newer ones include `id`/`jsonrpc`. A request def without
                    // `id` in a schema whose requests carry one is not a JSON-RPC message (the
                    // input requests that 2026-07-28 embeds in `InputRequiredResult`).
                    if has_id || !self_enveloped {
                        requests.insert(method.to_owned(), name.clone());
                    }
                } else if name.ends_with("Notification") {
                    notifications.insert(method.to_owned(), name.clone());
                }
            }
            if let Some(code) = props
                .and_then(|p| p.get("error"))
                .and_then(error_code_const)
            {
                error_codes.insert(code, name.clone());
            }
        }

        let mut results = HashMap::new();
        for (method, request_def) in &requests {
            let base = request_def.trim_end_matches("Request");
            let complete = [format!("{base}Result"), "EmptyResult".to_owned()]
                .into_iter()
                .find(|d| defs.contains_key(d))
                .unwrap_or_else(|| "Result".to_owned());
            // 2026-07-28 names the responses of most methods, e.g. `CallToolResultResponse`,
            // whose `result` is `anyOf [InputRequiredResult, CallToolResult]`.
            let input_required = defs
                .get(&format!("{base}ResultResponse"))
                .and_then(|d| d.pointer("/properties/result/anyOf"))
                .and_then(Value::as_array)
                .is_some_and(|branches| {
                    branches.iter().any(|b| {
                        b.get("$ref")
                            .and_then(Value::as_str)
                            .is_some_and(|r| r.ends_with("/InputRequiredResult"))
                    })
                });
            results.insert(
                method.clone(),
                ResultShape {
                    complete,
                    input_required,
                },
            );
        }

        let result_envelope = if defs.contains_key("JSONRPCResultResponse") {
            "JSONRPCResultResponse"
        } else {
            "JSONRPCResponse"
        };
        let error_envelope = if defs.contains_key("JSONRPCErrorResponse") {
            "JSONRPCErrorResponse"
        } else {
            "JSONRPCError"
        };
        error_codes.retain(|_, def| def != error_envelope);

        Schema {
            version,
            doc,
            defs_key,
            requests,
            notifications,
            results,
            error_codes,
            result_envelope,
            error_envelope,
            validators: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn has_def(&self, def: &str) -> bool {
        self.doc[self.defs_key].get(def).is_some()
    }

    pub(crate) fn request_def(&self, method: &str) -> Option<&str> {
        self.requests.get(method).map(String::as_str)
    }

    pub(crate) fn notification_def(&self, method: &str) -> Option<&str> {
        self.notifications.get(method).map(String::as_str)
    }

    pub(crate) fn result_shape(&self, method: &str) -> Option<&ResultShape> {
        self.results.get(method)
    }

    pub(crate) fn error_def(&self, code: i64) -> Option<&str> {
        self.error_codes.get(&code).map(String::as_str)
    }

    /// The compiled validator of `def`, compiled on first use.
    fn validator(&self, def: &str) -> Result<Arc<Validator>, String> {
        if let Some(v) = lock(&self.validators).get(def) {
            return Ok(v.clone());
        }
        if !self.has_def(def) {
            return Err(format!(
                "the MCP {} schema has no definition `{def}`",
                self.version
            ));
        }
        // The whole document with a root `$ref` to the def: every `#/...` reference inside
        // resolves against the document, under the draft its `$schema` names. Compiled
        // outside the lock; two threads racing compile twice and keep one.
        let mut root = self.doc.clone();
        root["$ref"] = Value::String(format!("#/{}/{def}", self.defs_key));
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("cannot compile `{def}` of MCP {}: {e}", self.version))?;
        let validator = Arc::new(validator);
        lock(&self.validators)
            .entry(def.to_owned())
            .or_insert_with(|| validator.clone());
        Ok(validator)
    }

    /// Validates `value` against `def`; on failure the errors' instance paths are
    /// prefixed with `path` (the place of `value` inside the message).
    pub(crate) fn check(&self, def: &str, value: &Value, path: &str) -> Result<(), DefFailure> {
        let validator = self.validator(def).map_err(|e| DefFailure {
            def: def.to_owned(),
            errors: vec![e],
        })?;
        if validator.is_valid(value) {
            return Ok(());
        }
        let mut errors = Vec::new();
        for error in validator.iter_errors(value) {
            render(&error, path, "", &mut errors);
        }
        if errors.is_empty() {
            errors.push(format!("{}: invalid", display_path(path, "")));
        }
        Err(DefFailure {
            def: def.to_owned(),
            errors,
        })
    }
}

/// Whether the schema's request defs carry `id`/`jsonrpc` themselves (2025-11-25 on).
fn self_enveloped(defs: &serde_json::Map<String, Value>) -> bool {
    defs.get("PingRequest")
        .or_else(|| defs.get("CallToolRequest"))
        .and_then(|d| d.pointer("/properties/id"))
        .is_some()
}

/// The `const` error code an error-response def pins, if any.
fn error_code_const(error: &Value) -> Option<i64> {
    if let Some(code) = error
        .pointer("/properties/code/const")
        .and_then(Value::as_i64)
    {
        return Some(code);
    }
    error.get("allOf")?.as_array()?.iter().find_map(|part| {
        part.pointer("/properties/code/const")
            .and_then(Value::as_i64)
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn display_path(prefix: &str, path: &str) -> String {
    let full = format!("{prefix}{path}");
    if full.is_empty() {
        "/".to_owned()
    } else {
        full
    }
}

/// Renders one validation error as `path: message`; a failed `anyOf`/`oneOf`
/// also explains why its closest alternative did not match.
fn render(error: &ValidationError<'_>, prefix: &str, indent: &str, out: &mut Vec<String>) {
    let path = display_path(prefix, error.instance_path.as_str());
    out.push(format!("{indent}{path}: {}", shorten(&error.to_string())));
    let context = match &error.kind {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => return,
    };
    // The closest alternative: one that doesn't reject a discriminating `const`
    // (such as `"type": "image"`) and otherwise has the fewest errors.
    let best = context
        .iter()
        .enumerate()
        .filter(|(_, errors)| !errors.is_empty())
        .min_by_key(|(_, errors)| {
            let rejects_const = errors.iter().any(|e| {
                matches!(
                    e.kind,
                    ValidationErrorKind::Constant { .. } | ValidationErrorKind::Enum { .. }
                )
            });
            (rejects_const, errors.len())
        });
    if let Some((index, errors)) = best {
        let nested = format!("{indent}    ");
        out.push(format!(
            "{indent}  closest alternative (#{index} of {}) fails with:",
            context.len()
        ));
        for e in errors {
            render(e, prefix, &nested, out);
        }
    }
}

/// Keeps an error message readable when it quotes a large instance.
fn shorten(message: &str) -> String {
    const MAX: usize = 400;
    if message.chars().count() <= MAX {
        return message.to_owned();
    }
    let head: String = message.chars().take(220).collect();
    let tail: Vec<char> = message.chars().rev().take(150).collect();
    let tail: String = tail.into_iter().rev().collect();
    format!("{head} … {tail}")
}
