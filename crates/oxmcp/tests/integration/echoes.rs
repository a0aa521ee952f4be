//! Hostile sizes in what a peer sends: error messages quote its input cut short, and
//! resource URIs past the server's limit are refused before any matching.

use oxmcp::server::{resource, Router, Uri};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::support::{code, modern_meta, Raw};

const HUGE: usize = 4 << 20;

#[derive(Deserialize)]
struct Path {
    path: String,
}

async fn file(Uri(p): Uri<Path>) -> String {
    format!("{} bytes of path", p.path.len())
}

fn router() -> Router {
    Router::new()
        .resource_template("files://{+path}", resource(file))
        .resource("docs://readme-in-full", resource(|| async { "hello" }))
}

fn modern(id: i64, method: &str, mut params: Value) -> Value {
    params["_meta"] = modern_meta();
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The error's message is short but starts the way the input did.
fn assert_cut(response: &Value, start: &str, length: usize) {
    let message = response["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {:.300}", response.to_string()))
        .to_owned();
    assert!(
        message.len() < 1024,
        "message of {} bytes: {message:.300}",
        message.len()
    );
    assert!(
        message.contains(start),
        "{message:?} does not name {start:?}"
    );
    assert!(
        message.contains(&format!("… ({length} bytes)")),
        "{message:?} does not give the length {length}"
    );
}

#[tokio::test]
async fn error_messages_quote_huge_input_cut_short() {
    let mut raw = Raw::start(router());
    let name = format!("abcdef{}", "x".repeat(HUGE - 6));

    let method = raw.call_invalid(modern(1, &name, json!({}))).await;
    assert_eq!(code(&method), -32601);
    assert_cut(&method, "method not found: abcdefxxx", HUGE);

    let tool = raw
        .call_invalid(modern(
            2,
            "tools/call",
            json!({"name": name, "arguments": {}}),
        ))
        .await;
    assert_eq!(code(&tool), -32602);
    assert_cut(&tool, "unknown tool: abcdefxxx", HUGE);

    let prompt = raw
        .call_invalid(modern(3, "prompts/get", json!({"name": name})))
        .await;
    assert_eq!(code(&prompt), -32602);
    assert_cut(&prompt, "unknown prompt: abcdefxxx", HUGE);

    let uri = format!("nope://{name}");
    let read = raw
        .call_invalid(modern(4, "resources/read", json!({"uri": uri})))
        .await;
    assert_eq!(code(&read), -32602);
    assert_cut(&read, "resource URI too long: \"nope://abcdefxxx", HUGE + 7);

    let mut version = modern(5, "tools/list", json!({}));
    version["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!(name);
    let version = raw.call_invalid(version).await;
    assert_eq!(code(&version), -32022);
    assert_cut(&version, "unsupported protocol version `abcdefxxx", HUGE);
    assert!(version["error"]["data"].to_string().len() < 1024);

    // A decoder's message quoting a value it refused.
    let wrong_type = raw
        .call_invalid(modern(
            6,
            "completion/complete",
            json!({"ref": {"type": name}, "argument": {"name": "a", "value": "b"}}),
        ))
        .await;
    assert_eq!(code(&wrong_type), -32602);
    let message = wrong_type["error"]["message"].as_str().unwrap();
    println!("{message}");
    assert!(message.len() < 1024, "{} bytes", message.len());
    raw.finish().await;
}

#[tokio::test]
async fn unknown_uris_are_quoted_cut_short_in_message_and_data() {
    let mut raw = Raw::start(router());
    raw.initialize("2025-11-25").await;
    let uri = format!("nope://{}", "y".repeat(60_000));
    let read = raw
        .call_invalid(
            json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": uri}}),
        )
        .await;
    assert_eq!(code(&read), -32002);
    let message = read["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("resource not found: nope://yyy"),
        "{message}"
    );
    assert!(
        message.len() < 1024 && message.contains("60007 bytes"),
        "{message}"
    );
    let data_uri = read["error"]["data"]["uri"].as_str().unwrap();
    assert!(data_uri.starts_with("nope://yyy") && data_uri.len() < 1024);
    raw.finish().await;
}

fn read(id: i64, uri: &str) -> Value {
    modern(id, "resources/read", json!({ "uri": uri }))
}

#[tokio::test]
async fn resource_uris_longer_than_the_limit_are_refused() {
    // The default: 64 KiB.
    let mut raw = Raw::start(router());
    let fits = format!("files://{}", "a".repeat(64 * 1024 - 8));
    let answer = raw.call_invalid(read(1, &fits)).await;
    assert_eq!(
        answer["result"]["contents"][0]["text"],
        format!("{} bytes of path", 64 * 1024 - 8)
    );
    let over = format!("{fits}a");
    let refused = raw.call_invalid(read(2, &over)).await;
    assert_eq!(code(&refused), -32602);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("resource URI too long: \"files://aaa")
            && message.contains("… (65537 bytes); this server reads URIs of at most 65536 bytes")
            && message.len() < 1024,
        "{message}"
    );
    raw.finish().await;

    // A configured limit, for static URIs too.
    let mut raw = Raw::start(router().max_uri_length(16));
    let ok = raw.call(read(1, "files://12345678")).await;
    assert_eq!(ok["result"]["contents"][0]["text"], "8 bytes of path");
    let refused = raw.call(read(2, "files://123456789")).await;
    assert_eq!(code(&refused), -32602);
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 16 bytes"));
    let refused = raw.call(read(3, "docs://readme-in-full")).await;
    assert_eq!(code(&refused), -32602, "{refused}");
    raw.finish().await;
}
