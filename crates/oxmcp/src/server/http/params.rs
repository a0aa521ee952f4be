//! `Mcp-Param-{Name}` headers: tool arguments a tool's `inputSchema` marks with
//! `x-mcp-header`, mirrored into headers by the client and checked here against the body.

use http::HeaderMap;
use oxmcp_protocol::jsonrpc::ErrorObject;
use serde_json::Value;

use super::body::{Arguments, Summary};
use super::service::Inner;

/// The annotated properties of a schema: the path of `properties` keys to each, and its
/// header name.
fn annotated(schema: &Value, path: &mut Vec<String>, found: &mut Vec<(Vec<String>, String)>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, property) in properties {
        path.push(key.clone());
        if let Some(name) = property.get("x-mcp-header").and_then(Value::as_str) {
            found.push((path.clone(), name.to_owned()));
        }
        annotated(property, path, found);
        path.pop();
    }
}

/// The header form of an argument value; `None` for values that are never mirrored.
fn header_form(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a header value (decoded) stands for the body value.
fn matches(header: &str, body: &Value) -> bool {
    match body {
        Value::Number(n) => match (header.parse::<f64>(), n.as_f64()) {
            (Ok(h), Some(b)) => h == b,
            _ => false,
        },
        other => header_form(other).is_some_and(|b| b == header),
    }
}

/// Checks the `Mcp-Param-*` headers of a modern `tools/call` against its arguments.
pub(crate) fn check(
    inner: &Inner,
    headers: &HeaderMap,
    request: &Summary<'_>,
) -> Result<(), ErrorObject> {
    let Some(name) = request.name.as_deref() else {
        return Ok(());
    };
    // Flagged once, when the tool was registered: most tools mirror nothing.
    let json = inner
        .shared
        .tools
        .read(name, |_, item| {
            item.header_params.then(|| item.json.clone())
        })
        .flatten();
    let Some(json) = json else {
        return Ok(());
    };
    let Ok(tool) = serde_json::from_str::<Value>(&json) else {
        return Ok(());
    };
    let mut found = Vec::new();
    annotated(
        tool.get("inputSchema").unwrap_or(&Value::Null),
        &mut Vec::new(),
        &mut found,
    );
    let parsed;
    let arguments = match request.arguments {
        None => None,
        Some(Arguments::Parsed(value)) => Some(value),
        Some(Arguments::Raw(raw)) => {
            // `null` when unreadable, as a `Value` body could not have held it either.
            parsed = serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null);
            Some(&parsed)
        }
    };
    let mismatch = |message: String| ErrorObject::new(-32020, message);
    for (path, header_name) in found {
        let value = path
            .iter()
            .try_fold(arguments, |at, key| Some(at?.get(key)))
            .flatten()
            .filter(|v| !v.is_null());
        let header = headers.get(format!("mcp-param-{header_name}").as_str());
        let Some(value) = value else { continue };
        let Some(header) = header else {
            return Err(mismatch(format!(
                "missing Mcp-Param-{header_name} header (the tool's argument {} is mirrored there)",
                path.join(".")
            )));
        };
        let Ok(text) = header.to_str() else {
            return Err(mismatch(format!(
                "Mcp-Param-{header_name} header has invalid characters"
            )));
        };
        let Some(decoded) = super::post::decode_header_value(text.trim_matches([' ', '\t'])) else {
            return Err(mismatch(format!(
                "Mcp-Param-{header_name} header is not valid =?base64?...?= encoding"
            )));
        };
        if !matches(&decoded, value) {
            return Err(mismatch(format!(
                "Mcp-Param-{header_name} header {decoded:?} does not match the argument {}",
                path.join(".")
            )));
        }
    }
    Ok(())
}
