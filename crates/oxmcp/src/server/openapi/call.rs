//! A tool call as an HTTP request, and its response as the tool's result.

use std::fmt::Write as _;
use std::time::Duration;

use oxmcp_protocol::content::ContentBlock;
use oxmcp_protocol::tools::CallToolResult;
use oxmcp_protocol::JsonObject;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::AuthHook;
use crate::server::ToolError;

/// The most of an error body a tool error quotes (bytes).
const ERROR_BODY: usize = 4096;

/// What a path parameter's value escapes: everything but RFC 3986's unreserved characters.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where the API is and how calls reach it; shared by every tool of one document.
pub(super) struct Backend {
    pub(super) client: reqwest::Client,
    pub(super) base_url: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) auth: Option<AuthHook>,
    pub(super) timeout: Duration,
    pub(super) max_response_bytes: usize,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

impl Location {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyKind {
    Json,
    Form,
    Raw,
}

/// One parameter of an operation.
pub(super) struct Param {
    /// The argument's name in the tool's input.
    pub(super) arg: String,
    /// The parameter's name on the wire.
    pub(super) name: String,
    pub(super) location: Location,
    pub(super) style: Option<String>,
    pub(super) explode: Option<bool>,
}

/// One operation of the document, as a tool calls it.
pub(super) struct Operation {
    pub(super) method: reqwest::Method,
    pub(super) path: String,
    pub(super) params: Vec<Param>,
    /// The body's argument name, media type and encoding.
    pub(super) body: Option<(String, String, BodyKind)>,
    /// With an output schema: whether the body is wrapped as `{"result": ...}`.
    pub(super) wrap_output: Option<bool>,
}

impl Backend {
    pub(super) async fn call(
        &self,
        op: &Operation,
        mut args: JsonObject,
    ) -> Result<CallToolResult, ToolError> {
        let request = self.request(op, &mut args)?;
        let request = match &self.auth {
            Some(hook) => hook(request).await?,
            None => request,
        };
        let what = format!("{} {}", op.method, op.path);
        let exchange = async {
            let response = self
                .client
                .execute(request)
                .await
                .map_err(|e| ToolError::execution(format!("{what}: {}", error_chain(&e))))?;
            let status = response.status();
            if !status.is_success() {
                let (body, _) = read(response, ERROR_BODY)
                    .await
                    .unwrap_or_else(|e| (format!("(body unreadable: {e})").into_bytes(), false));
                let body = String::from_utf8_lossy(&body);
                let more = if body.len() >= ERROR_BODY { "…" } else { "" };
                return Err(ToolError::execution(format!(
                    "{what} answered HTTP {status}: {body}{more}"
                )));
            }
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let (body, complete) = read(response, self.max_response_bytes)
                .await
                .map_err(|e| ToolError::execution(format!("{what}: {e}")))?;
            if !complete {
                return Err(ToolError::execution(format!(
                    "{what}: the response is larger than {} bytes",
                    self.max_response_bytes
                )));
            }
            Ok(result(op, status, &content_type, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(ToolError::execution(format!(
                    "{what}: no answer within {:?}",
                    self.timeout
                )))
            })
    }

    /// The HTTP request of a call.
    fn request(
        &self,
        op: &Operation,
        args: &mut JsonObject,
    ) -> Result<reqwest::Request, ToolError> {
        let mut path = op.path.clone();
        let mut query: Vec<(String, String)> = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut cookies: Vec<String> = Vec::new();
        for p in &op.params {
            let Some(value) = args.remove(&p.arg).filter(|v| !v.is_null()) else {
                if p.location == Location::Path {
                    return Err(ToolError::invalid_arguments(format!(
                        "missing required argument `{}` (path parameter)",
                        p.arg
                    )));
                }
                continue;
            };
            match p.location {
                Location::Path => {
                    let text = simple(&value);
                    // A segment of dots would be resolved away by the URL parser, reaching
                    // another path of the API than the operation's.
                    if text.is_empty() || text.bytes().all(|b| b == b'.') {
                        return Err(ToolError::invalid_arguments(format!(
                            "`{}` (path parameter) must not be empty, `.` or `..`",
                            p.arg
                        )));
                    }
                    let encoded = utf8_percent_encode(&text, PATH_VALUE).to_string();
                    path = path.replace(&format!("{{{}}}", p.name), &encoded);
                }
                Location::Query => query_pairs(p, &value, &mut query),
                Location::Header => headers.push((p.name.clone(), simple(&value))),
                Location::Cookie => cookies.push(format!("{}={}", p.name, simple(&value))),
            }
        }
        let body = match &op.body {
            Some((arg, media, kind)) => args
                .remove(arg)
                .filter(|v| !v.is_null())
                .map(|v| (media, *kind, v)),
            None => None,
        };
        if let Some(unknown) = args.keys().next() {
            let mut expected: Vec<&str> = op.params.iter().map(|p| p.arg.as_str()).collect();
            expected.extend(op.body.iter().map(|(arg, _, _)| arg.as_str()));
            return Err(ToolError::invalid_arguments(format!(
                "unknown argument `{unknown}`; expected one of: {}",
                expected.join(", ")
            )));
        }
        if let Some(open) = path.find('{') {
            let name = path[open + 1..].split('}').next().unwrap_or("");
            return Err(ToolError::invalid_arguments(format!(
                "the path `{}` has a parameter `{name}` the operation does not declare",
                op.path
            )));
        }
        let url = format!("{}{path}", self.base_url);
        let mut url = reqwest::Url::parse(&url).map_err(|e| {
            ToolError::invalid_arguments(format!("the URL `{url}` is not valid: {e}"))
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(&query);
        }
        // The call's timeout covers the body too: it is `call`'s, not reqwest's.
        let mut builder = self.client.request(op.method.clone(), url);
        for (name, value) in &self.headers {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                builder = builder.header(name, value);
            }
        }
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        if !cookies.is_empty() {
            builder = builder.header(reqwest::header::COOKIE, cookies.join("; "));
        }
        if let Some((media, kind, value)) = body {
            let bytes = match kind {
                BodyKind::Json => value.to_string(),
                BodyKind::Form => form(&value)?,
                BodyKind::Raw => match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
            };
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, media)
                .body(bytes);
        }
        builder.build().map_err(|e| {
            ToolError::invalid_arguments(format!(
                "could not build the request: {}",
                error_chain(&e)
            ))
        })
    }
}

/// A value in the `simple` style: scalars as text, arrays comma-separated, objects as
/// `key,value` pairs.
fn simple(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(simple).collect::<Vec<_>>().join(","),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| [k.clone(), simple(v)])
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// A query parameter's pairs, per its style (`form`, exploded, by default; `deepObject`;
/// `spaceDelimited`, `pipeDelimited`).
fn query_pairs(p: &Param, value: &Value, out: &mut Vec<(String, String)>) {
    let style = p.style.as_deref().unwrap_or("form");
    let explode = p.explode.unwrap_or(style == "form");
    match value {
        Value::Array(items) if explode => {
            out.extend(items.iter().map(|v| (p.name.clone(), simple(v))));
        }
        Value::Array(items) => {
            let separator = match style {
                "spaceDelimited" => " ",
                "pipeDelimited" => "|",
                _ => ",",
            };
            let joined = items.iter().map(simple).collect::<Vec<_>>().join(separator);
            out.push((p.name.clone(), joined));
        }
        Value::Object(map) if style == "deepObject" => {
            out.extend(
                map.iter()
                    .map(|(k, v)| (format!("{}[{k}]", p.name), simple(v))),
            );
        }
        Value::Object(map) if explode => {
            out.extend(map.iter().map(|(k, v)| (k.clone(), simple(v))));
        }
        other => out.push((p.name.clone(), simple(other))),
    }
}

/// A form body: an object's fields, nested values as JSON text.
fn form(value: &Value) -> Result<String, ToolError> {
    let Value::Object(map) = value else {
        return Err(ToolError::invalid_arguments(
            "the body of this operation is a form: expected an object",
        ));
    };
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in map {
        form.append_pair(k, &simple(v));
    }
    Ok(form.finish())
}

/// Reads up to `limit` bytes of a body; whether it was read whole.
async fn read(mut response: reqwest::Response, limit: usize) -> Result<(Vec<u8>, bool), String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        if body.len() + chunk.len() > limit {
            body.extend_from_slice(&chunk[..limit - body.len()]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// A success response as the tool's result.
fn result(
    op: &Operation,
    status: reqwest::StatusCode,
    content_type: &str,
    body: Vec<u8>,
) -> CallToolResult {
    if body.is_empty() {
        return CallToolResult::new(vec![ContentBlock::text(format!("HTTP {status}"))]);
    }
    let text = match String::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            let n = e.as_bytes().len();
            return CallToolResult::new(vec![ContentBlock::text(format!(
                "HTTP {status}: {n} bytes of {content_type}"
            ))]);
        }
    };
    let structured = match op.wrap_output {
        Some(wrap) => serde_json::from_str::<Value>(&text)
            .ok()
            .map(|value| match value {
                Value::Object(_) if !wrap => value,
                other => serde_json::json!({ "result": other }),
            }),
        None => None,
    };
    let mut result = CallToolResult::new(vec![ContentBlock::text(text)]);
    result.structured_content = structured;
    result
}

/// An error with its sources, which is where reqwest says what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let _ = write!(text, ": {e}");
        source = e.source();
    }
    text
}
