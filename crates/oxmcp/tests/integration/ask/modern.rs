//! Modern requests (2026-07-28): questions travel in `InputRequiredResult`s and come back
//! in retries.

use std::time::Duration;

use oxmcp::server::ask::KeyRing;
use serde_json::{json, Value};

use super::{all_capabilities, meta, router, sampled, text, Runs};
use crate::support::{code, Raw};

/// A modern request of `method` with these params and capabilities.
fn request(id: i64, method: &str, mut params: Value, capabilities: Value) -> Value {
    params["_meta"] = meta(capabilities);
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn call(id: i64, tool: &str, capabilities: Value) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": {}}),
        capabilities,
    )
}

/// The same request again, with answers and the echoed state.
fn retry(mut first: Value, id: i64, responses: Value, state: &Value) -> Value {
    first["id"] = json!(id);
    first["params"]["inputResponses"] = responses;
    first["params"]["requestState"] = state.clone();
    first
}

/// The `requestState` of an input_required response.
fn state_of(response: &Value) -> Value {
    assert_eq!(
        response["result"]["resultType"], "input_required",
        "{response}"
    );
    let state = response["result"]["requestState"].clone();
    assert!(state.is_string(), "{response}");
    state
}

#[tokio::test]
async fn a_form_is_asked_then_answered_on_the_retry() {
    let runs = Runs::default();
    let mut raw = Raw::start(router(runs.clone()));
    let first = call(1, "book", json!({"elicitation": {}}));
    let response = raw.call(first.clone()).await;
    assert_eq!(response["id"], 1);
    let result = &response["result"];
    assert_eq!(
        result["inputRequests"],
        json!({"elicit-0": {"method": "elicitation/create", "params": {
            "mode": "form",
            "message": "How should we book the room?",
            "requestedSchema": {
                "type": "object",
                "properties": {
                    "guests": {"type": "integer", "description": "Number of guests.", "minimum": 1, "maximum": 8},
                    "breakfast": {"type": "boolean", "description": "Breakfast included?", "default": false},
                    "size": {"type": "string", "description": "Room size.", "enum": ["single", "double"]}
                },
                "required": ["guests"]
            }
        }}})
    );
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "ask-test"
    );
    let state = state_of(&response);

    // The retry answers (and an unknown key is ignored); the handler runs again.
    let answers = json!({
        "elicit-0": {"action": "accept", "content": {"guests": 2, "size": "double"}},
        "not-asked": {"action": "decline"}
    });
    let response = raw.call(retry(first.clone(), 2, answers, &state)).await;
    assert_eq!(response["id"], 2);
    assert_eq!(response["result"]["resultType"], "complete");
    assert_eq!(
        text(&response),
        "booked for 2 (breakfast: false, size: Some(Double))"
    );
    assert_eq!(runs.get(), 2, "the handler ran once per round");

    // Declining and cancelling are answers too.
    for (action, said) in [("decline", "declined"), ("cancel", "cancelled")] {
        let answers = json!({"elicit-0": {"action": action}});
        let response = raw.call(retry(first.clone(), 3, answers, &state)).await;
        assert_eq!(text(&response), said);
    }
    raw.finish().await;
}

#[tokio::test]
async fn questions_asked_together_come_together() {
    let mut raw = Raw::start(router(Runs::default()));
    let first = call(1, "survey", all_capabilities());
    let response = raw.call(first.clone()).await;
    let requests = &response["result"]["inputRequests"];
    assert_eq!(
        requests.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["elicit-2", "roots-1", "sample-0"]
    );
    assert_eq!(requests["sample-0"]["method"], "sampling/createMessage");
    assert_eq!(requests["sample-0"]["params"]["maxTokens"], 50);
    assert_eq!(requests["roots-1"], json!({"method": "roots/list"}));
    assert_eq!(
        requests["elicit-2"]["params"],
        json!({"mode": "url", "message": "Sign in to continue", "url": "https://auth.example.com/login"})
    );
    let state = state_of(&response);
    let answers = json!({
        "sample-0": sampled("Paris"),
        "roots-1": {"roots": [{"uri": "file:///a"}, {"uri": "file:///b", "name": "b"}]},
        "elicit-2": {"action": "accept"}
    });
    let response = raw.call(retry(first, 2, answers, &state)).await;
    assert_eq!(text(&response), "Paris | file:///a,file:///b | Accept");
    raw.finish().await;
}

#[tokio::test]
async fn questions_in_sequence_take_a_round_each_and_missing_answers_are_asked_again() {
    let mut raw = Raw::start(router(Runs::default()));
    let caps = json!({"elicitation": {"form": {}}, "sampling": {}});
    let first = call(1, "plan", caps);
    let response = raw.call(first.clone()).await;
    let asked_first = response["result"]["inputRequests"].clone();
    assert_eq!(asked_first["elicit-0"]["method"], "elicitation/create");
    let state = state_of(&response);

    // A retry without the answer: the same question again, under the same key.
    let response = raw.call(retry(first.clone(), 2, json!({}), &state)).await;
    assert_eq!(response["result"]["inputRequests"], asked_first);

    let answers = json!({"elicit-0": {"action": "accept", "content": {"guests": 3}}});
    let response = raw.call(retry(first.clone(), 3, answers, &state)).await;
    let requests = &response["result"]["inputRequests"];
    assert_eq!(
        requests.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["sample-1"]
    );
    assert_eq!(
        requests["sample-1"]["params"]["messages"][0]["content"]["text"],
        "Plan a stay for 3"
    );
    // The form's answer now travels in the state: only the new question is answered.
    let state = state_of(&response);
    let answers = json!({"sample-1": sampled("two nights")});
    let response = raw.call(retry(first, 4, answers, &state)).await;
    assert_eq!(text(&response), "test-model: two nights");
    raw.finish().await;
}

#[tokio::test]
async fn prompts_and_resources_ask_too() {
    let mut raw = Raw::start(router(Runs::default()));
    let caps = json!({"roots": {}});
    let first = request(1, "prompts/get", json!({"name": "greeting"}), caps.clone());
    let response = raw.call(first.clone()).await;
    assert_eq!(
        response["result"]["inputRequests"],
        json!({"roots-0": {"method": "roots/list"}})
    );
    let state = state_of(&response);
    let answers = json!({"roots-0": {"roots": [{"uri": "file:///x"}]}});
    let response = raw.call(retry(first, 2, answers, &state)).await;
    assert_eq!(
        response["result"]["messages"][0]["content"]["text"],
        "Hello from 1 roots"
    );

    let first = request(3, "resources/read", json!({"uri": "test://roots"}), caps);
    let response = raw.call(first.clone()).await;
    let state = state_of(&response);
    let answers = json!({"roots-0": {"roots": [{"uri": "file:///y"}]}});
    let response = raw.call(retry(first, 4, answers, &state)).await;
    assert_eq!(response["result"]["contents"][0]["text"], "file:///y");
    raw.finish().await;
}

#[tokio::test]
async fn missing_capabilities_fail_at_once() {
    let mut raw = Raw::start(router(Runs::default()));
    let response = raw.call(call(1, "book", json!({}))).await;
    assert_eq!(code(&response), -32021);
    assert_eq!(
        response["error"]["data"],
        json!({"requiredCapabilities": {"elicitation": {"form": {}}}})
    );
    assert!(response["error"]["message"]
        .as_str()
        .unwrap()
        .contains("did not declare the `elicitation` capability"));

    // URL mode needs its own capability.
    let response = raw
        .call(call(2, "sign_in", json!({"elicitation": {"form": {}}})))
        .await;
    assert_eq!(code(&response), -32021);
    assert_eq!(
        response["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {"url": {}}})
    );

    // Tools in sampling need sampling.tools.
    let response = raw
        .call(call(3, "with_tools", json!({"sampling": {}})))
        .await;
    assert_eq!(code(&response), -32021);
    assert_eq!(
        response["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {"tools": {}}})
    );

    // A type that cannot be a form is the server's mistake.
    let response = raw
        .call(call(4, "nested", json!({"elicitation": {}})))
        .await;
    assert_eq!(code(&response), -32603);
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("field `inner`"),
        "{response}"
    );
    raw.finish().await;
}

#[tokio::test]
async fn answers_that_do_not_fit_are_invalid_params() {
    let mut raw = Raw::start(router(Runs::default()));
    let first = call(1, "book", json!({"elicitation": {}}));
    let state = state_of(&raw.call(first.clone()).await);
    for (id, content, needle) in [
        (2, json!({"guests": 9}), "field `guests`: 9 is out of range"),
        (
            3,
            json!({"breakfast": true}),
            "required field `guests` is missing",
        ),
        (
            4,
            json!({"guests": 2, "size": "suite"}),
            "not one of the choices",
        ),
    ] {
        let answers = json!({"elicit-0": {"action": "accept", "content": content}});
        let response = raw.call(retry(first.clone(), id, answers, &state)).await;
        assert_eq!(code(&response), -32602, "{response}");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
    }
    // An answer of the wrong kind.
    let answers = json!({"elicit-0": {"roots": []}});
    let response = raw.call(retry(first.clone(), 5, answers, &state)).await;
    assert_eq!(code(&response), -32602, "{response}");
    // inputResponses that is not an object (not schema-valid: sent as is).
    let mut bad = retry(first, 6, json!([1]), &state);
    bad["params"]["inputResponses"] = json!([1]);
    let response = raw.call_invalid(bad).await;
    assert_eq!(code(&response), -32602);
    assert!(response["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid inputResponses"));
    raw.finish().await;
}

/// Sends `state` with a retry of `first`; returns the error message.
async fn refused(raw: &mut Raw, first: &Value, id: i64, state: &Value) -> String {
    let answers = json!({"elicit-0": {"action": "decline"}});
    let response = raw.call(retry(first.clone(), id, answers, state)).await;
    assert_eq!(code(&response), -32602, "{response}");
    response["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn tampered_and_replayed_state_is_refused() {
    let mut raw = Raw::start(router(Runs::default()));
    let first = call(1, "book", json!({"elicitation": {}}));
    let state = state_of(&raw.call(first.clone()).await);
    let sealed = state.as_str().unwrap();

    // One character of the payload changed.
    let mut parts: Vec<String> = sealed.split('.').map(str::to_owned).collect();
    let mut payload: Vec<char> = parts[2].chars().collect();
    let i = payload.len() / 2;
    payload[i] = if payload[i] == 'A' { 'B' } else { 'A' };
    parts[2] = payload.into_iter().collect();
    let message = refused(&mut raw, &first, 2, &json!(parts.join("."))).await;
    assert!(message.contains("signature does not verify"), "{message}");

    let message = refused(&mut raw, &first, 3, &json!("not-a-state")).await;
    assert!(message.contains("malformed"), "{message}");

    // The state of `book` presented on `plan`, or with other arguments.
    let mut other_tool = first.clone();
    other_tool["params"]["name"] = json!("plan");
    let message = refused(&mut raw, &other_tool, 4, &state).await;
    assert!(message.contains("different request"), "{message}");
    let mut other_args = first.clone();
    other_args["params"]["arguments"] = json!({"guests": 1});
    let message = refused(&mut raw, &other_args, 5, &state).await;
    assert!(message.contains("different request"), "{message}");
    raw.finish().await;
}

#[tokio::test]
async fn state_from_another_server_is_refused() {
    let first = call(1, "book", json!({"elicitation": {}}));
    let state_from = |router| {
        let first = first.clone();
        async move {
            let mut raw = Raw::start(router);
            let state = state_of(&raw.call(first).await);
            raw.finish().await;
            state
        }
    };
    let other_keys = state_from(
        router(Runs::default()).request_state_keys(KeyRing::new("elsewhere", [9u8; 32])),
    )
    .await;
    let other_audience =
        state_from(router(Runs::default()).request_state_audience("another-server")).await;

    let mut raw = Raw::start(router(Runs::default()));
    let message = refused(&mut raw, &first, 2, &other_keys).await;
    assert!(message.contains("key \"elsewhere\""), "{message}");
    let message = refused(&mut raw, &first, 3, &other_audience).await;
    assert!(message.contains("issued by another server"), "{message}");
    raw.finish().await;

    // Servers sharing a key ring accept each other's state (a restart, a load balancer).
    let ring = KeyRing::new("shared", [4u8; 32]);
    let state = state_from(router(Runs::default()).request_state_keys(ring.clone())).await;
    let mut raw =
        Raw::start(router(Runs::default()).request_state_keys(ring.rotate("next", [5u8; 32])));
    let response = raw
        .call(retry(
            first.clone(),
            2,
            json!({"elicit-0": {"action": "cancel"}}),
            &state,
        ))
        .await;
    assert_eq!(text(&response), "cancelled");
    raw.finish().await;
}

#[tokio::test]
async fn expired_state_is_refused() {
    let mut raw = Raw::start(router(Runs::default()).request_state_ttl(Duration::ZERO));
    let first = call(1, "book", json!({"elicitation": {}}));
    let state = state_of(&raw.call(first.clone()).await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let message = refused(&mut raw, &first, 2, &state).await;
    assert!(message.contains("expired"), "{message}");
    raw.finish().await;
}
