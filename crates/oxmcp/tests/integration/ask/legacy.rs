//! Legacy sessions: questions are JSON-RPC requests the server sends while the call runs.

use serde_json::{json, Value};

use super::{all_capabilities, router, sampled, text, Runs};
use crate::support::{code, Raw};

/// The legacy handshake at `version`, declaring `capabilities`.
async fn initialize(raw: &mut Raw, version: &str, capabilities: Value) {
    let response = raw
        .call(
            json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
                "protocolVersion": version,
                "capabilities": capabilities,
                "clientInfo": {"name": "raw-test", "version": "1.0.0"}
            }}),
        )
        .await;
    assert_eq!(response["result"]["protocolVersion"], version);
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
}

fn call(id: i64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": {}}})
}

/// Receives the server's next request, which must be `method`.
async fn expect_request(raw: &mut Raw, method: &str) -> Value {
    let request = raw.recv().await;
    assert_eq!(request["method"], method, "{request}");
    assert!(
        request["id"].is_number() || request["id"].is_string(),
        "{request}"
    );
    request
}

async fn answer(raw: &mut Raw, request: &Value, result: Value) {
    raw.send(json!({"jsonrpc": "2.0", "id": request["id"], "result": result}))
        .await;
}

#[tokio::test]
async fn a_form_is_an_elicitation_request() {
    let runs = Runs::default();
    let mut raw = Raw::start(router(runs.clone()));
    initialize(&mut raw, "2025-11-25", json!({"elicitation": {}})).await;
    raw.send(call(1, "book")).await;
    let request = expect_request(&mut raw, "elicitation/create").await;
    let params = &request["params"];
    assert_eq!(params["mode"], "form");
    assert_eq!(params["message"], "How should we book the room?");
    assert_eq!(params["requestedSchema"]["required"], json!(["guests"]));
    assert_eq!(
        params["requestedSchema"]["properties"]["size"]["enum"],
        json!(["single", "double"])
    );
    answer(
        &mut raw,
        &request,
        json!({"action": "accept", "content": {"guests": 4, "breakfast": true}}),
    )
    .await;
    let response = raw.recv().await;
    assert_eq!(response["id"], 1);
    assert_eq!(
        text(&response),
        "booked for 4 (breakfast: true, size: None)"
    );
    assert_eq!(runs.get(), 1, "legacy handlers run once");
    raw.finish().await;
}

#[tokio::test]
async fn sampling_roots_and_url_elicitation_are_requests_too() {
    let mut raw = Raw::start(router(Runs::default()));
    initialize(&mut raw, "2025-11-25", all_capabilities()).await;
    raw.send(call(1, "survey")).await;
    // All three go out before any answer: the handler asks them together.
    let mut requests = Vec::new();
    for _ in 0..3 {
        requests.push(raw.recv().await);
    }
    let by_method = |m: &str| {
        requests
            .iter()
            .find(|r| r["method"] == m)
            .unwrap_or_else(|| panic!("no {m} in {requests:?}"))
            .clone()
    };
    let sampling = by_method("sampling/createMessage");
    let roots = by_method("roots/list");
    let url = by_method("elicitation/create");
    assert_eq!(url["params"]["mode"], "url");
    assert_eq!(url["params"]["url"], "https://auth.example.com/login");
    assert!(
        url["params"]["elicitationId"].is_string(),
        "2025-11-25 URL elicitations carry an id"
    );
    answer(&mut raw, &url, json!({"action": "decline"})).await;
    answer(&mut raw, &roots, json!({"roots": [{"uri": "file:///r"}]})).await;
    answer(&mut raw, &sampling, sampled("Paris")).await;
    let response = raw.recv().await;
    assert_eq!(text(&response), "Paris | file:///r | Decline");
    raw.finish().await;
}

#[tokio::test]
async fn sampling_with_tools_needs_the_tools_capability() {
    let mut raw = Raw::start(router(Runs::default()));
    initialize(&mut raw, "2025-11-25", json!({"sampling": {"tools": {}}})).await;
    raw.send(call(1, "with_tools")).await;
    let request = expect_request(&mut raw, "sampling/createMessage").await;
    assert_eq!(request["params"]["tools"][0]["name"], "lookup");
    answer(
        &mut raw,
        &request,
        json!({"role": "assistant", "model": "m", "stopReason": "toolUse",
               "content": {"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}}),
    )
    .await;
    assert_eq!(text(&raw.recv().await), "use lookup");
    raw.finish().await;

    let mut raw = Raw::start(router(Runs::default()));
    initialize(&mut raw, "2025-11-25", json!({"sampling": {}})).await;
    let response = raw.call(call(1, "with_tools")).await;
    assert_eq!(code(&response), -32021);
    assert_eq!(
        response["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {"tools": {}}})
    );
    raw.finish().await;
}

#[tokio::test]
async fn forms_for_2025_06_18_have_no_mode() {
    let mut raw = Raw::start(router(Runs::default()));
    initialize(&mut raw, "2025-06-18", json!({"elicitation": {}})).await;
    raw.send(call(1, "book")).await;
    let request = expect_request(&mut raw, "elicitation/create").await;
    assert!(request["params"].get("mode").is_none(), "{request}");
    // Only booleans have defaults before 2025-11-25.
    let properties = &request["params"]["requestedSchema"]["properties"];
    assert_eq!(properties["breakfast"]["default"], false);
    answer(&mut raw, &request, json!({"action": "cancel"})).await;
    assert_eq!(text(&raw.recv().await), "cancelled");
    raw.finish().await;
}

#[tokio::test]
async fn missing_capabilities_and_client_errors_fail_the_call() {
    let mut raw = Raw::start(router(Runs::default()));
    initialize(&mut raw, "2025-11-25", json!({"roots": {}})).await;
    let response = raw.call(call(1, "book")).await;
    assert_eq!(code(&response), -32021);
    assert_eq!(
        response["error"]["data"],
        json!({"requiredCapabilities": {"elicitation": {"form": {}}}})
    );

    // URL mode came with 2025-11-25.
    raw.finish().await;
    let mut raw = Raw::start(router(Runs::default()));
    initialize(
        &mut raw,
        "2025-06-18",
        json!({"elicitation": {}, "roots": {}}),
    )
    .await;
    let response = raw.call(call(1, "sign_in")).await;
    assert_eq!(code(&response), -32021);
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("2025-06-18, which has no"), "{message}");

    // A client that refuses the question: the call fails with its reason.
    raw.send(json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get",
                    "params": {"name": "greeting"}}))
        .await;
    let request = expect_request(&mut raw, "roots/list").await;
    raw.send(json!({"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": -32603, "message": "roots are private"}}))
        .await;
    let response = raw.recv().await;
    assert_eq!(response["id"], 2);
    assert_eq!(code(&response), -32603);
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("roots are private"), "{message}");

    // An answer that does not decode.
    raw.send(
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read",
                    "params": {"uri": "test://roots"}}),
    )
    .await;
    let request = expect_request(&mut raw, "roots/list").await;
    raw.send_raw(
        &json!({"jsonrpc": "2.0", "id": request["id"], "result": {"roots": 7}}).to_string(),
    )
    .await;
    let response = raw.recv().await;
    let contents = response["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(
        contents.starts_with("no roots: the client's answer to roots/list is invalid"),
        "{contents}"
    );
    raw.finish().await;
}

/// Found by fuzzing (`fuzz/` target `params`): a handler that asked the client only after
/// the client's input had ended waited for an answer that could not come, until the
/// shutdown grace period ran out and the call was cancelled without a response.
#[tokio::test]
async fn a_question_asked_after_the_input_ended_fails_at_once() {
    use std::time::Duration;

    use oxmcp::server::{tool, Context, Router};
    use tokio::io::AsyncWriteExt as _;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Name {
        #[allow(dead_code)]
        name: String,
    }
    let router = Router::new().shutdown_grace(Duration::from_secs(30)).tool(
        "late",
        tool(|ctx: Context| async move {
            // Ask once the client has hung up.
            tokio::time::sleep(Duration::from_millis(200)).await;
            match ctx.elicit::<Name>("Who are you?").await {
                Ok(_) => "answered".to_owned(),
                Err(e) => format!("no answer: {e}"),
            }
        }),
    );
    let mut raw = Raw::start(router);
    initialize(&mut raw, "2025-11-25", json!({"elicitation": {}})).await;
    raw.send(call(1, "late")).await;
    raw.writer.shutdown().await.unwrap();
    let response = loop {
        let frame = raw.recv().await;
        if frame.get("method").is_none() {
            break frame;
        }
    };
    assert_eq!(response["id"], 1, "{response}");
    let text = response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("no answer"), "{response}");
}
