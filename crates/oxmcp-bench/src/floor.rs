//! The floor: a minimal, hand-written stdio MCP server with no SDK.
//!
//! It parses every message properly with `serde_json` (borrowing where it
//! can), echoes the exact request id back and answers just enough of MCP to be
//! benchmarked: `initialize`, `notifications/initialized`, `server/discover`,
//! `ping`, `tools/list` and `tools/call` of the one tool `echo`. Anything else
//! gets a JSON-RPC `-32601` error. Output is buffered and flushed whenever no
//! more input is buffered, i.e. before the server would block on a read.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Protocol revision the floor answers to a legacy `initialize`.
pub const LEGACY_VERSION: &str = "2025-11-25";
/// `_meta` key that marks a request of the modern (2026-07-28) era.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

const INITIALIZE_RESULT: &str = concat!(
    r#"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"#,
    r#""serverInfo":{"name":"floor-stdio","version":"0.1.0"}}"#
);
const DISCOVER_RESULT: &str = concat!(
    r#"{"resultType":"complete","supportedVersions":["2026-07-28","2025-11-25"],"#,
    r#""capabilities":{"tools":{}},"ttlMs":0,"cacheScope":"public"}"#
);
const TOOLS_LIST_RESULT: &str = concat!(
    r#"{"tools":[{"name":"echo","description":"Echo the text back","#,
    r#""inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"#,
    r#""required":["text"]}}]}"#
);

const PARSE_ERROR: i32 = -32700;
const INVALID_REQUEST: i32 = -32600;
const METHOD_NOT_FOUND: i32 = -32601;
const INVALID_PARAMS: i32 = -32602;

/// A JSON string that borrows from the input unless it contains escapes.
#[derive(Deserialize)]
#[serde(transparent)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// The envelope of any incoming JSON-RPC message.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    jsonrpc: Option<Str<'a>>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<Str<'a>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

/// `tools/call` parameters.
#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow)]
    arguments: Option<EchoArguments<'a>>,
    #[serde(rename = "_meta")]
    meta: Option<RequestMeta>,
}

/// The arguments of the `echo` tool.
#[derive(Deserialize)]
struct EchoArguments<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
}

/// The part of a request's `_meta` the floor looks at.
#[derive(Deserialize)]
struct RequestMeta {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<IgnoredAny>,
}

/// Serves MCP over `input`/`output` until `input` reaches end of file.
///
/// Responses are written to a buffer that is flushed when no more input is
/// buffered, so a pipelining client gets its answers in large writes while a
/// one-at-a-time client is never left waiting.
pub fn serve<R: Read, W: Write>(input: R, output: W) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut out = BufWriter::with_capacity(64 * 1024, output);
    let mut line = Vec::with_capacity(1024);
    loop {
        if reader.buffer().is_empty() {
            out.flush()?;
        }
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        handle_line(&line, &mut out)?;
    }
    out.flush()
}

/// Handles one line of input, writing at most one response line to `out`.
pub fn handle_line<W: Write>(line: &[u8], out: &mut W) -> io::Result<()> {
    handle_line_with(line, out, call_tool)
}

/// [`handle_line`], except that a `tools/call` request (with its raw id and params) goes
/// to `on_call`, which may answer it now or later (through [`call_tool`]).
pub fn handle_line_with<W: Write>(
    line: &[u8],
    out: &mut W,
    on_call: impl FnOnce(&mut W, &RawValue, Option<&RawValue>) -> io::Result<()>,
) -> io::Result<()> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let message: Message<'_> = match serde_json::from_slice(line) {
        Ok(message) => message,
        Err(_) => return write_error(out, None, PARSE_ERROR, "Parse error"),
    };
    let Some(method) = message.method else {
        // A response from the client (or junk without a method): nothing to answer.
        return Ok(());
    };
    let Some(id) = message.id else {
        // Notifications, `notifications/initialized` included, get no reply.
        return Ok(());
    };
    if message.jsonrpc.as_ref().map(|v| v.0.as_ref()) != Some("2.0") {
        return write_error(out, Some(id), INVALID_REQUEST, "Invalid Request");
    }
    match method.0.as_ref() {
        "initialize" => write_result(out, id, INITIALIZE_RESULT),
        "server/discover" => write_result(out, id, DISCOVER_RESULT),
        "ping" => write_result(out, id, "{}"),
        "tools/list" => write_result(out, id, TOOLS_LIST_RESULT),
        "tools/call" => on_call(out, id, message.params),
        _ => write_error(out, Some(id), METHOD_NOT_FOUND, "Method not found"),
    }
}

/// Answers a `tools/call` request with raw `id` and `params`.
pub fn call_tool<W: Write>(
    out: &mut W,
    id: &RawValue,
    params: Option<&RawValue>,
) -> io::Result<()> {
    let Some(params) = params else {
        return write_error(out, Some(id), INVALID_PARAMS, "Invalid params");
    };
    let params: CallParams<'_> = match serde_json::from_str(params.get()) {
        Ok(params) => params,
        Err(_) => return write_error(out, Some(id), INVALID_PARAMS, "Invalid params"),
    };
    if params.name.0 != "echo" {
        return write_error(out, Some(id), INVALID_PARAMS, "Unknown tool");
    }
    let Some(text) = params.arguments.and_then(|a| a.text) else {
        return write_error(out, Some(id), INVALID_PARAMS, "Missing argument: text");
    };
    let modern = params.meta.is_some_and(|m| m.protocol_version.is_some());
    out.write_all(br#"{"jsonrpc":"2.0","id":"#)?;
    out.write_all(id.get().as_bytes())?;
    out.write_all(br#","result":{"content":[{"type":"text","text":"#)?;
    serde_json::to_writer(&mut *out, text.0.as_ref())?;
    if modern {
        out.write_all(br#"}],"resultType":"complete"}}"#)?;
    } else {
        out.write_all(b"}]}}")?;
    }
    out.write_all(b"\n")
}

/// Writes a successful response whose result is the JSON text `result`.
fn write_result<W: Write>(out: &mut W, id: &RawValue, result: &str) -> io::Result<()> {
    out.write_all(br#"{"jsonrpc":"2.0","id":"#)?;
    out.write_all(id.get().as_bytes())?;
    out.write_all(br#","result":"#)?;
    out.write_all(result.as_bytes())?;
    out.write_all(b"}\n")
}

/// Writes an error response; `id` is `null` when the request's id is unknown.
pub fn write_error<W: Write>(
    out: &mut W,
    id: Option<&RawValue>,
    code: i32,
    message: &str,
) -> io::Result<()> {
    let id = id.map_or("null", RawValue::get);
    writeln!(
        out,
        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{}}}}}"#,
        serde_json::Value::from(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn answer(line: &str) -> Option<Value> {
        let mut out = Vec::new();
        handle_line(line.as_bytes(), &mut out).unwrap();
        if out.is_empty() {
            return None;
        }
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        Some(serde_json::from_slice(&out).unwrap())
    }

    #[test]
    fn initialize_and_notification() {
        let reply = answer(r#"{"jsonrpc":"2.0","id":"a b","method":"initialize","params":{}}"#);
        let reply = reply.unwrap();
        assert_eq!(reply["id"], "a b");
        assert_eq!(reply["result"]["protocolVersion"], LEGACY_VERSION);
        assert_eq!(reply["result"]["capabilities"], json!({"tools": {}}));
        assert!(answer(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).is_none());
    }

    #[test]
    fn discover_and_list() {
        let reply = answer(r#"{"jsonrpc":"2.0","id":7,"method":"server/discover"}"#).unwrap();
        assert_eq!(reply["id"], 7);
        assert_eq!(
            reply["result"]["supportedVersions"],
            json!(["2026-07-28", "2025-11-25"])
        );
        let reply = answer(r#"{"jsonrpc":"2.0","id":8,"method":"tools/list"}"#).unwrap();
        assert_eq!(reply["result"]["tools"][0]["name"], "echo");
        assert_eq!(
            reply["result"]["tools"][0]["inputSchema"]["required"],
            json!(["text"])
        );
    }

    #[test]
    fn echo_keeps_id_and_text_exactly() {
        let line = r#"{"jsonrpc":"2.0","id":1.50,"method":"tools/call","params":{"name":"echo","arguments":{"text":"h\"i\u00e9"}}}"#;
        let mut out = Vec::new();
        handle_line(line.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(r#"{"jsonrpc":"2.0","id":1.50,"#), "{text}");
        let reply: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            reply["result"],
            json!({"content": [{"type": "text", "text": "h\"ié"}]})
        );
    }

    #[test]
    fn echo_modern_adds_result_type() {
        let line = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        let reply = answer(line).unwrap();
        assert_eq!(reply["result"]["resultType"], "complete");
        assert_eq!(reply["result"]["content"][0]["text"], "x");
    }

    #[test]
    fn errors() {
        let reply = answer(r#"{"jsonrpc":"2.0","id":4,"method":"resources/list"}"#).unwrap();
        assert_eq!(reply["error"]["code"], METHOD_NOT_FOUND);
        assert_eq!(reply["id"], 4);
        let reply = answer("{nope").unwrap();
        assert_eq!(reply["error"]["code"], PARSE_ERROR);
        assert_eq!(reply["id"], Value::Null);
        let bad_tool = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x"}}"#;
        assert_eq!(answer(bad_tool).unwrap()["error"]["code"], INVALID_PARAMS);
        let no_text = r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo"}}"#;
        assert_eq!(answer(no_text).unwrap()["error"]["code"], INVALID_PARAMS);
        assert!(answer(r#"{"jsonrpc":"2.0","id":9,"result":{}}"#).is_none());
    }

    #[test]
    fn serve_flushes_everything() {
        let input = concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            "\n\n",
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}}}"#,
        );
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        let lines: Vec<Value> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["result"]["content"][0]["text"], "a");
    }
}
