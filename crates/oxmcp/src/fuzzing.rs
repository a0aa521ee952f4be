//! Entry points for coverage-guided fuzzing (feature `fuzzing`). **Unstable**: for the
//! targets under `fuzz/` in the repository only; not part of the API, may change or go
//! away in any release. Do not enable this feature in an application.
//!
//! Each function takes arbitrary bytes, runs one decoder (or a whole connection) on them
//! and **panics when an invariant breaks**: that is how a fuzzer notices. The invariants:
//! nothing panics on any input; a frame that does not decode gets a JSON-RPC error with a
//! standard code and a message; what a server writes back is valid JSON-RPC; the fast and
//! slow ways through a decoder agree; a sealed request state that was forged or tampered
//! with never opens.

use std::time::Duration;

use oxmcp_protocol::jsonrpc::{error_code, ErrorObject};
use oxmcp_protocol::ProtocolVersion;
use serde_json::Value;

use crate::rpc::frame::{self, Decoded, Message};

/// The codes a frame that does not decode may be answered with.
fn assert_frame_error(error: &ErrorObject, frame: &str) {
    assert!(
        matches!(
            error.code,
            error_code::PARSE_ERROR | error_code::INVALID_REQUEST
        ),
        "frame {frame:?} refused with code {} ({})",
        error.code,
        error.message
    );
    assert!(
        !error.message.is_empty(),
        "frame {frame:?} refused without a message"
    );
}

/// What kind of message a decode gave, for comparing two decodes of one frame.
fn kind(decoded: &Result<Message<'_>, frame::Invalid>) -> String {
    match decoded {
        Ok(Message::Request { id, method, .. }) => format!("request {id:?} {method}"),
        Ok(Message::Notification { method, .. }) => format!("notification {method}"),
        Ok(Message::Result { id, .. }) => format!("result {id:?}"),
        Ok(Message::Error { id, error }) => format!("error {id:?} {}", error.code),
        Err(invalid) => format!("invalid {:?} {}", invalid.id, invalid.error.code),
    }
}

/// The frame decoder of both eras (`rpc/frame.rs`): decodes `data` the way a server does
/// (`tools/call` and `prompts/get` params read in the envelope's pass) and the way a
/// client does (no params read); both must classify the frame the same, refusals carry a
/// parse or invalid-request code, and every error response encodes to valid JSON-RPC.
pub fn frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let server_eager = |method: &str| matches!(method, "tools/call" | "prompts/get");
    let mut slot = None;
    let eager = frame::decode_with::<crate::server::connection::params::CallParams<'_>>(
        text,
        &server_eager,
        &mut slot,
    );
    let plain = frame::decode_with::<serde::de::IgnoredAny>(text, &frame::never_eager, &mut None);
    let (eager, plain) = match (eager, plain) {
        (Decoded::Single(a), Decoded::Single(b)) => (vec![a], vec![b]),
        (Decoded::Batch(a), Decoded::Batch(b)) => (a, b),
        _ => panic!("frame {text:?}: a batch one way and not the other"),
    };
    assert_eq!(eager.len(), plain.len());
    for (a, b) in eager.iter().zip(&plain) {
        assert_eq!(
            kind(a),
            kind(b),
            "frame {text:?} decodes differently when eager"
        );
        if let Ok(Message::Request {
            params: frame::Params::Eager,
            ..
        }) = a
        {
            assert!(slot.is_some(), "eager params without a slot: {text:?}");
        }
        if let Err(invalid) = a {
            assert_frame_error(&invalid.error, text);
            for null_ids in [false, true] {
                let reply = frame::encode_error(invalid.id.as_ref(), null_ids, &invalid.error);
                assert_json_rpc(&reply);
            }
        }
    }
}

/// Panics unless `line` is one JSON-RPC message (or a batch of them) a peer may send.
fn assert_json_rpc(line: &str) {
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
    match &value {
        Value::Array(items) => {
            assert!(!items.is_empty(), "an empty batch was written");
            items.iter().for_each(|item| assert_message(item, line));
        }
        item => assert_message(item, line),
    }
}

fn assert_message(item: &Value, line: &str) {
    let object = item
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {line:?}"));
    assert_eq!(object.get("jsonrpc"), Some(&Value::from("2.0")), "{line:?}");
    let id_ok = |id: Option<&Value>| match id {
        Some(Value::String(_)) => true,
        Some(Value::Number(n)) => n.is_i64() || n.is_u64(),
        _ => false,
    };
    if let Some(method) = object.get("method") {
        assert!(
            method.is_string(),
            "a method that is not a string: {line:?}"
        );
        assert!(
            object.get("id").is_none() || id_ok(object.get("id")),
            "{line:?}"
        );
        if let Some(params) = object.get("params") {
            assert!(params.is_object(), "params not an object: {line:?}");
        }
        return;
    }
    match (object.get("result"), object.get("error")) {
        (Some(result), None) => {
            assert!(
                id_ok(object.get("id")),
                "a result without a valid id: {line:?}"
            );
            assert!(
                result.is_object(),
                "a result that is not an object: {line:?}"
            );
        }
        (None, Some(error)) => {
            let id = object.get("id");
            assert!(
                id.is_none() || id_ok(id) || id == Some(&Value::Null),
                "an error with an id that is not a request id or null: {line:?}"
            );
            assert!(
                error.get("code").is_some_and(Value::is_i64),
                "an error without an integer code: {line:?}"
            );
            assert!(
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| !m.is_empty()),
                "an error without a message: {line:?}"
            );
        }
        _ => panic!("neither a request nor a response: {line:?}"),
    }
}

/// The Streamable HTTP server's body probe (`server/http/body.rs`): its fast borrowed pass
/// and its slow pass through a `serde_json::Value` give the same summary.
#[cfg(feature = "http-server")]
pub fn http_body(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    crate::server::http::body::check_fast_path(text);
}

/// The RFC 6570 matcher (`server/uri_template.rs`). `data` is a template, a newline and a
/// URI. A template that parses matches in bounded work (the fuzzer's time limit catches a
/// superlinear match), and a match only names the template's variables.
pub fn uri_template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, uri) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(template) = crate::server::uri_template::UriTemplate::parse(template) else {
        return;
    };
    let names = template.variables();
    if let Some(vars) = template.matches(uri) {
        for (name, _) in &vars {
            assert!(
                names.contains(&name.as_str()),
                "{:?} matched {uri:?} with a variable {name:?} it does not have",
                template.as_str()
            );
        }
    }
    // A template matches the URI that is its own text when it has no expressions.
    if names.is_empty() && !template.as_str().contains('{') {
        assert!(template.matches(template.as_str()).is_some());
    }
}

/// The Streamable HTTP client's SSE parser (`transport/http/client/sse.rs`): the events of
/// a stream do not depend on how it is cut into chunks. The first byte picks the cuts.
#[cfg(feature = "http-client")]
pub fn sse(data: &[u8]) {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    use crate::transport::http::client::sse::{Event, SseItem, SseParser};
    fn parse(stream: &[u8], chunk: usize) -> Vec<Option<Event>> {
        let mut parser = SseParser::new(64);
        let mut out = Vec::new();
        for piece in stream.chunks(chunk) {
            parser.feed(piece, &mut out);
        }
        out.into_iter()
            .map(|item| match item {
                SseItem::Event(event) => {
                    assert!(event.data.len() <= 64, "an event over the limit: {event:?}");
                    Some(event)
                }
                SseItem::TooLarge => None,
            })
            .collect()
    }
    let whole = parse(stream, stream.len().max(1));
    assert_eq!(
        whole,
        parse(stream, usize::from(cut % 16) + 1),
        "the events of {stream:?} depend on the chunking"
    );
    assert_eq!(
        whole,
        parse(stream, 1),
        "fed byte by byte, {stream:?} differs"
    );
}

/// Opening a sealed request state (`server/ask/seal.rs`): `data` as a presented state
/// never opens (it would need the server's key); a state this server sealed opens back
/// to what was sealed, and with any one byte changed it does not.
pub fn sealed_state(data: &[u8]) {
    use crate::server::ask::{Binding, KeyRing, Sealer};
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let sealer = Sealer::new(
        KeyRing::new("k1", [7u8; 32]).with_previous("k0", [9u8; 32]),
        "fuzz",
        Duration::from_secs(300),
    );
    let binding = Binding::new("tools/call", &serde_json::json!({"name": "greet"}));
    let presented = String::from_utf8_lossy(data);
    if let Ok(opened) = sealer.open_at::<Value>(&presented, &binding, at) {
        panic!("a forged state opened: {presented:?} -> {opened}");
    }
    // Seal a state made of the input, check it opens, then change one byte.
    let state = Value::from(presented.as_ref());
    let sealed = sealer.seal_at(&binding, &state, at);
    assert_eq!(
        sealer.open_at::<Value>(&sealed, &binding, at).ok(),
        Some(state.clone()),
        "a sealed state did not open"
    );
    let Some((&position, rest)) = data.split_first() else {
        return;
    };
    let flip = rest.first().copied().unwrap_or(1).max(1);
    let mut tampered = sealed.clone().into_bytes();
    let i = usize::from(position) % tampered.len();
    tampered[i] ^= flip;
    let tampered = String::from_utf8_lossy(&tampered);
    match sealer.open_at::<Value>(&tampered, &binding, at) {
        Ok(opened) => panic!("a tampered state opened: {tampered:?} -> {opened}"),
        Err(e) => assert_eq!(e.to_error_object().code, error_code::INVALID_PARAMS),
    }
    // Another request, or later than the time to live: refused too.
    let other = Binding::new("tools/call", &serde_json::json!({"name": "other"}));
    assert!(sealer.open_at::<Value>(&sealed, &other, at).is_err());
    let late = at + Duration::from_secs(301);
    assert!(sealer.open_at::<Value>(&sealed, &binding, late).is_err());
}

/// Elicitation schema flattening (`server/ask/schema.rs`). `data` is JSON: a schema, or
/// `[schema, content]`. Flattening never panics; a flattened form serializes and (from
/// 2025-11-25 on, where titled choices are `oneOf`, not the legacy `enumNames`) flattens
/// again to the same form; checking `content` against it never panics.
pub fn elicitation_schema(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (schema, content) = match &value {
        Value::Array(pair) if pair.len() == 2 => (&pair[0], Some(&pair[1])),
        other => (other, None),
    };
    for version in ProtocolVersion::ALL {
        let Ok(form) = crate::server::ask::flatten(schema, version) else {
            continue;
        };
        let sent = serde_json::to_value(&form).expect("a form serializes");
        if version < ProtocolVersion::V2025_11_25 {
            continue;
        }
        let again = crate::server::ask::flatten(&sent, version)
            .unwrap_or_else(|e| panic!("the form {sent} of {schema} does not flatten: {e}"));
        assert_eq!(
            serde_json::to_value(&again).expect("a form serializes"),
            sent,
            "flattening the form of {schema} again changes it"
        );
        if let Some(Value::Object(content)) = content {
            let _ = crate::server::ask::validate(content, &form);
        }
    }
}

/// A whole server connection over newline-delimited JSON (what `serve_stdio` runs), driven
/// through the public API: a [`Router`](crate::server::Router) with a tool that takes
/// arguments, one that asks the client (elicitation), prompts with arguments and
/// completions, a resource and a resource template, served by `serve_io` on an in-memory
/// pipe. `data` is written as the client's side (both eras, any bytes); when it ends, the
/// connection must end, and every line the server wrote must be valid JSON-RPC.
pub fn server(data: &[u8]) {
    let output = serve_bytes(data);
    let text = String::from_utf8(output).expect("the server wrote UTF-8");
    for line in text.lines() {
        assert_json_rpc(line);
    }
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the last line was not ended: {text:?}"
    );
}

/// The methods [`params`] sends its params with.
const PARAMS_METHODS: [&str; 8] = [
    "tools/call",
    "prompts/get",
    "resources/read",
    "completion/complete",
    "resources/templates/list",
    "logging/setLevel",
    "resources/subscribe",
    "server/discover",
];

/// The params decoding of each method the server reads, in both eras: the first byte of
/// `data` picks the method and the era, the rest is sent as the request's `params` (for a
/// legacy session after the `initialize` handshake; a modern request carries its own
/// `_meta`, or not). The server answers the request exactly once, with a result or an
/// error, as valid JSON-RPC.
pub fn params(data: &[u8]) {
    let Some((&pick, params)) = data.split_first() else {
        return;
    };
    let Ok(params) = std::str::from_utf8(params) else {
        return;
    };
    let params = params.replace(['\n', '\r'], " ");
    let method = PARAMS_METHODS[usize::from(pick) % PARAMS_METHODS.len()];
    let legacy = pick & 0x80 != 0;
    let mut input = String::new();
    if legacy {
        input.push_str(concat!(
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","#,
            r#""capabilities":{"elicitation":{}},"clientInfo":{"name":"fuzz","version":"1"}}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "\n"
        ));
    }
    input.push_str(&format!(
        r#"{{"jsonrpc":"2.0","id":"p","method":"{method}","params":{params}}}"#
    ));
    input.push('\n');
    let output = String::from_utf8(serve_bytes(input.as_bytes())).expect("the server wrote UTF-8");
    let mut answers = 0;
    for line in output.lines() {
        assert_json_rpc(line);
        let value: Value = serde_json::from_str(line).expect("checked above");
        if value.get("method").is_some() || value.get("id") == Some(&Value::from(0)) {
            continue;
        }
        answers += 1;
    }
    assert_eq!(
        answers, 1,
        "{method} with params {params:?} got {answers} answers: {output}"
    );
}

/// Runs [`server`]'s connection on `data` and returns what the server wrote.
fn serve_bytes(data: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
    }
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let (ours, theirs) = tokio::io::duplex(1 << 16);
            let (their_read, their_write) = tokio::io::split(theirs);
            let server = tokio::spawn(fuzz_router().serve_io(their_read, their_write));
            let (mut read, mut write) = tokio::io::split(ours);
            let input = data.to_vec();
            let writer = tokio::spawn(async move {
                let _ = write.write_all(&input).await;
                let _ = write.shutdown().await;
            });
            let mut output = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut output));
            read.await
                .expect("the connection ended within 10 s of its input")
                .expect("reading the server's output");
            let _ = writer.await;
            let _ = server.await.expect("the server task did not panic");
            output
        })
    })
}

/// The router [`server`] fuzzes.
fn fuzz_router() -> crate::server::Router {
    use crate::server::{prompt, resource, tool, Args, Context, Router};

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Add {
        a: i64,
        b: i64,
    }
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Topic {
        topic: String,
        #[serde(default)]
        style: Option<String>,
    }
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Name {
        name: String,
    }

    Router::new()
        .name("fuzz")
        .shutdown_grace(Duration::from_millis(50))
        .tool(
            "add",
            tool(|Args(add): Args<Add>| async move { (add.a.wrapping_add(add.b)).to_string() })
                .description("Adds two integers"),
        )
        .tool(
            "greet",
            tool(|ctx: Context| async move {
                match ctx.elicit::<Name>("Who are you?").await {
                    Ok(crate::server::ask::Elicitation::Accept(who)) => {
                        format!("Hello, {}!", who.name)
                    }
                    Ok(other) => format!("{:?}", other.action()),
                    Err(e) => e.to_string(),
                }
            })
            .description("Asks the user's name"),
        )
        .resource(
            "fuzz://static",
            resource(|| async { "static" }).name("static"),
        )
        .resource_template(
            "fuzz://items/{id}{?q,page}",
            resource(|| async { "item" })
                .name("item")
                .complete("id", ["1", "2", "12"]),
        )
        .prompt(
            "summary",
            prompt(|Args(t): Args<Topic>| async move {
                format!("Summarise {} ({})", t.topic, t.style.unwrap_or_default())
            })
            .description("A prompt with arguments")
            .complete("topic", ["rust", "mcp"]),
        )
}
