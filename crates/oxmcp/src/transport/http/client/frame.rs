//! What the transport reads from the frames it carries: enough to set the HTTP headers
//! and to route answers, without decoding the whole message.

use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use oxmcp_protocol::meta::PROTOCOL_VERSION;

/// An outgoing message, as far as the transport cares.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OutProbe {
    /// The request id (`None` for notifications; responses have one but no method).
    #[serde(default)]
    pub(crate) id: Option<Value>,
    /// The method of a request or notification.
    #[serde(default)]
    pub(crate) method: Option<String>,
    #[serde(default)]
    pub(crate) params: Option<OutParams>,
}

/// The params fields mirrored into headers.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OutParams {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    uri: Option<Value>,
    #[serde(default, rename = "_meta")]
    meta: Option<serde_json::Map<String, Value>>,
    /// `tools/call`: the arguments, some mirrored into `Mcp-Param-*` headers.
    #[serde(default)]
    pub(crate) arguments: Option<serde_json::Map<String, Value>>,
    /// `notifications/cancelled`: the request cancelled.
    #[serde(default, rename = "requestId")]
    pub(crate) request_id: Option<Value>,
}

impl OutProbe {
    /// Reads a frame; a frame that is not a JSON object probes as empty.
    pub(crate) fn read(text: &str) -> OutProbe {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Whether this is a request (it expects an answer).
    pub(crate) fn is_request(&self) -> bool {
        self.method.is_some() && self.id.is_some()
    }

    /// The protocol version the body's `_meta` names (modern requests).
    pub(crate) fn meta_version(&self) -> Option<&str> {
        self.params
            .as_ref()?
            .meta
            .as_ref()?
            .get(PROTOCOL_VERSION)?
            .as_str()
    }

    /// The value of the `Mcp-Name` header: `params.name` of `tools/call` and
    /// `prompts/get`, `params.uri` of `resources/read`.
    pub(crate) fn mcp_name(&self) -> Option<&str> {
        let params = self.params.as_ref()?;
        match self.method.as_deref()? {
            "tools/call" | "prompts/get" => params.name.as_ref()?.as_str(),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                params.uri.as_ref()?.as_str()
            }
            _ => None,
        }
    }
}

/// An incoming message, as far as the transport cares.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InProbe {
    #[serde(default)]
    pub(crate) id: Option<Value>,
    #[serde(default)]
    pub(crate) method: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) result: Option<Value>,
    #[serde(default)]
    pub(crate) error: Option<IgnoredAny>,
}

impl InProbe {
    /// Reads a frame; anything unreadable probes as empty.
    pub(crate) fn read(text: &str) -> InProbe {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Whether this answers the request `id`.
    pub(crate) fn answers(&self, id: &Value) -> bool {
        self.method.is_none()
            && (self.result.is_some() || self.error.is_some())
            && self.id.as_ref() == Some(id)
    }

    /// The `protocolVersion` of an `initialize` result.
    pub(crate) fn negotiated_version(&self) -> Option<String> {
        self.result
            .as_ref()?
            .get("protocolVersion")?
            .as_str()
            .map(str::to_owned)
    }
}

/// A header value for `value`: plain when it is printable ASCII without surrounding
/// whitespace, otherwise the Base64 sentinel `=?base64?…?=` of its UTF-8 bytes.
pub(crate) fn header_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ');
    if plain {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", base64(value.as_bytes()))
    }
}

/// Standard Base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `Mcp-Param-{Name}` headers of each tool: `(argument, Name)` pairs.
pub(crate) type ToolHeaders = HashMap<String, Vec<(String, String)>>;

/// Reads the `x-mcp-header` annotations of a `tools/list` answer. Tools whose annotations
/// are invalid are dropped from the answer (the specification forbids calling them);
/// returns the headers and, when some tool was dropped, the answer rewritten.
pub(crate) fn tool_headers(answer: &str) -> (ToolHeaders, Option<String>) {
    let mut headers = ToolHeaders::new();
    let Ok(mut message) = serde_json::from_str::<Value>(answer) else {
        return (headers, None);
    };
    let Some(tools) = message
        .get_mut("result")
        .and_then(|r| r.get_mut("tools"))
        .and_then(Value::as_array_mut)
    else {
        return (headers, None);
    };
    let before = tools.len();
    tools.retain(|tool| {
        let Some(name) = tool.get("name").and_then(Value::as_str) else {
            return true;
        };
        let properties = tool
            .get("inputSchema")
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object);
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (argument, schema) in properties.into_iter().flatten() {
            let Some(header) = schema.get("x-mcp-header") else {
                continue;
            };
            let valid = header.as_str().filter(|h| {
                is_token(h)
                    && matches!(
                        schema.get("type").and_then(Value::as_str),
                        Some("string" | "integer" | "boolean")
                    )
                    && !pairs.iter().any(|(_, seen)| seen.eq_ignore_ascii_case(h))
            });
            match valid {
                Some(h) => pairs.push((argument.clone(), h.to_owned())),
                None => {
                    tracing::warn!(tool = name, "dropped a tool with an invalid x-mcp-header");
                    return false;
                }
            }
        }
        if !pairs.is_empty() {
            headers.insert(name.to_owned(), pairs);
        }
        true
    });
    let rewritten = (tools.len() != before).then(|| message.to_string());
    (headers, rewritten)
}

/// An HTTP field-name token (RFC 9110 `1*tchar`).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The `Mcp-Param-*` value of an argument: strings (encoded when needed), integers and
/// booleans; `None` for null and anything else.
pub(crate) fn param_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(header_value(s)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Sets the `id` of a JSON-RPC error to that of the request it answers: servers send
/// HTTP errors without an id, or with a made-up one (`"server-error"`).
pub(crate) fn with_id(mut message: Value, id: &Value) -> Value {
    if let Some(object) = message.as_object_mut() {
        object.insert("id".into(), id.clone());
        object
            .entry("jsonrpc")
            .or_insert_with(|| Value::String("2.0".into()));
    }
    message
}

/// Whether `message` is a JSON-RPC error response (a recognized error body).
pub(crate) fn is_rpc_error(message: &Value) -> bool {
    message
        .get("error")
        .and_then(|e| e.get("code"))
        .is_some_and(Value::is_i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_values() {
        assert_eq!(header_value("get_weather"), "get_weather");
        assert_eq!(header_value("file:///a%20b"), "file:///a%20b");
        assert_eq!(header_value(""), "");
        assert_eq!(header_value(" x"), "=?base64?IHg=?=");
        assert_eq!(
            header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(header_value("a\tb"), "=?base64?YQli?=");
    }

    #[test]
    fn x_mcp_headers() {
        let answer = json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": [
            {"name": "ok", "inputSchema": {"type": "object", "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "n": {"type": "integer", "x-mcp-header": "N"},
                "q": {"type": "string"}
            }}},
            {"name": "bad", "inputSchema": {"type": "object", "properties": {
                "x": {"type": "number", "x-mcp-header": "X"}
            }}},
            {"name": "dup", "inputSchema": {"type": "object", "properties": {
                "a": {"type": "string", "x-mcp-header": "MyField"},
                "b": {"type": "string", "x-mcp-header": "myfield"}
            }}},
            {"name": "space", "inputSchema": {"type": "object", "properties": {
                "a": {"type": "string", "x-mcp-header": "My Region"}
            }}}
        ]}});
        let (headers, rewritten) = tool_headers(&answer.to_string());
        let mut ok = headers["ok"].clone();
        ok.sort();
        assert_eq!(
            ok,
            vec![("n".into(), "N".into()), ("region".into(), "Region".into())]
        );
        let rewritten: Value = serde_json::from_str(&rewritten.unwrap()).unwrap();
        assert_eq!(rewritten["result"]["tools"].as_array().unwrap().len(), 1);
        assert_eq!(param_value(&json!(42)), Some("42".into()));
        assert_eq!(param_value(&json!(false)), Some("false".into()));
        assert_eq!(param_value(&json!(3.5)), None);
        assert_eq!(param_value(&Value::Null), None);
    }

    #[test]
    fn probes() {
        let p = OutProbe::read(
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        assert!(p.is_request());
        assert_eq!(p.mcp_name(), Some("file:///x"));
        assert_eq!(p.meta_version(), Some("2026-07-28"));
        let r =
            InProbe::read(r#"{"jsonrpc":"2.0","id":3,"result":{"protocolVersion":"2025-11-25"}}"#);
        assert!(r.answers(&Value::from(3)));
        assert_eq!(r.negotiated_version().as_deref(), Some("2025-11-25"));
    }
}
