//! Modern servers ask inside results (`input_required`); the client answers with its
//! handlers and retries the request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::client::{CallOptions, Client, ClientBuilder};
use oxmcp::protocol::{
    CreateMessageResult, ElicitAction, ElicitResult, ErrorObject, Role, Root,
    SamplingMessageContent,
};
use oxmcp::Progress;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{cacheable, complete, modern, Fake};

fn sampling_request() -> Value {
    json!({"method": "sampling/createMessage", "params": {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}],
        "maxTokens": 20
    }})
}

fn elicitation_request() -> Value {
    json!({"method": "elicitation/create", "params": {
        "mode": "form",
        "message": "Your name?",
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
    }})
}

fn input_required(requests: Option<Value>, state: Option<&str>) -> Value {
    let mut result = json!({"resultType": "input_required"});
    if let Some(requests) = requests {
        result["inputRequests"] = requests;
    }
    if let Some(state) = state {
        result["requestState"] = json!(state);
    }
    result
}

fn tool_result(text: &str) -> Value {
    complete(json!({"content": [{"type": "text", "text": text}]}))
}

/// A client that answers sampling, elicitation and roots.
fn answering() -> ClientBuilder {
    Client::builder()
        .on_sampling(|_| async {
            Ok(CreateMessageResult::new(
                Role::Assistant,
                SamplingMessageContent::text("Paris"),
                "test-model",
            ))
        })
        .on_elicitation(|_| async {
            let mut content = serde_json::Map::new();
            content.insert("name".into(), json!("Ada"));
            Ok(ElicitResult::accept(content))
        })
        .roots(vec![Root::new("file:///repo")])
}

/// The params of `request` without `_meta`, `inputResponses` and `requestState`.
fn base_params(request: &Value) -> Value {
    let mut params = request["params"].clone();
    let map = params.as_object_mut().unwrap();
    map.remove("_meta");
    map.remove("inputResponses");
    map.remove("requestState");
    params
}

#[tokio::test]
async fn input_rounds_are_answered_and_the_request_retried() {
    let (client, mut fake, discover) = modern(answering()).await;
    assert_eq!(
        discover["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"],
        json!({"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {}})
    );
    let call = client.call_tool("book", json!({"city": "Paris"}));
    let serve = async {
        // Round 1: two input requests and a state.
        let first = fake.recv_request("tools/call").await;
        assert!(first["params"].get("inputResponses").is_none());
        assert!(first["params"].get("requestState").is_none());
        fake.reply(
            &first,
            input_required(
                Some(json!({"capital": sampling_request(), "who": elicitation_request()})),
                Some("state-1 {\"opaque\": true}"),
            ),
        )
        .await;
        // The retry: a new id, the same params, both answers, the state echoed exactly.
        let second = fake.recv_request("tools/call").await;
        assert_ne!(second["id"], first["id"]);
        assert_eq!(base_params(&second), base_params(&first));
        assert_eq!(
            second["params"]["inputResponses"],
            json!({
                "capital": {"role": "assistant", "content": {"type": "text", "text": "Paris"},
                            "model": "test-model"},
                "who": {"action": "accept", "content": {"name": "Ada"}}
            })
        );
        assert_eq!(
            second["params"]["requestState"],
            "state-1 {\"opaque\": true}"
        );
        assert_eq!(
            second["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        // Round 2: a state alone: the client retries at once, with no inputResponses.
        fake.reply(&second, input_required(None, Some("state-2")))
            .await;
        let third = fake.recv_request("tools/call").await;
        assert!(third["params"].get("inputResponses").is_none(), "{third}");
        assert_eq!(third["params"]["requestState"], "state-2");
        // Round 3: a request without state: the retry carries no requestState.
        fake.reply(
            &third,
            input_required(Some(json!({"roots": {"method": "roots/list"}})), None),
        )
        .await;
        let fourth = fake.recv_request("tools/call").await;
        assert!(fourth["params"].get("requestState").is_none(), "{fourth}");
        assert_eq!(
            fourth["params"]["inputResponses"],
            json!({"roots": {"roots": [{"uri": "file:///repo"}]}})
        );
        let ids: Vec<_> = [&first, &second, &third, &fourth]
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        fake.reply(&fourth, tool_result("booked")).await;
        ids
    };
    let (result, ids) = tokio::join!(call, serve);
    let result = result.expect("the call completes");
    assert_eq!(result.content[0].as_text(), Some("booked"));
    let distinct: std::collections::HashSet<String> = ids.iter().map(Value::to_string).collect();
    assert_eq!(distinct.len(), 4, "every round has its own id: {ids:?}");
    fake.assert_clean();
}

#[tokio::test]
async fn prompts_and_resources_take_input_rounds_too() {
    let (client, mut fake, _) = modern(answering()).await;
    let get = client.get_prompt("greet", [("style", "warm")]);
    let serve = async {
        let first = fake.recv_request("prompts/get").await;
        fake.reply(
            &first,
            input_required(Some(json!({"who": elicitation_request()})), Some("p")),
        )
        .await;
        let retry = fake.recv_request("prompts/get").await;
        assert_eq!(retry["params"]["arguments"], json!({"style": "warm"}));
        assert_eq!(retry["params"]["requestState"], "p");
        assert_eq!(retry["params"]["inputResponses"]["who"]["action"], "accept");
        fake.reply(
            &retry,
            complete(json!({"messages": [
                {"role": "user", "content": {"type": "text", "text": "Hello Ada"}}
            ]})),
        )
        .await;
    };
    let (prompt, ()) = tokio::join!(get, serve);
    assert_eq!(
        prompt.unwrap().messages[0].content.as_text(),
        Some("Hello Ada")
    );

    let read = client.read_resource("file:///secret.txt");
    let serve = async {
        let first = fake.recv_request("resources/read").await;
        fake.reply(
            &first,
            input_required(Some(json!({"ok": elicitation_request()})), Some("r")),
        )
        .await;
        let retry = fake.recv_request("resources/read").await;
        assert_eq!(retry["params"]["uri"], "file:///secret.txt");
        assert_eq!(retry["params"]["requestState"], "r");
        fake.reply(
            &retry,
            cacheable(json!({"contents": [{"uri": "file:///secret.txt", "text": "42"}]})),
        )
        .await;
    };
    let (read, ()) = tokio::join!(read, serve);
    assert_eq!(read.unwrap().contents[0].uri(), "file:///secret.txt");
    fake.assert_clean();
}

#[tokio::test]
async fn the_number_of_rounds_is_bounded() {
    let (client, mut fake, _) = modern(answering().max_input_rounds(2)).await;
    let call = client.call_tool("loop", ());
    let serve = async {
        for round in 0..3 {
            let request = fake.recv_request("tools/call").await;
            fake.reply(
                &request,
                input_required(None, Some(&format!("round-{round}"))),
            )
            .await;
        }
        // No fourth attempt.
        fake.expect_silence(Duration::from_millis(200)).await;
    };
    let (result, ()) = tokio::join!(call, serve);
    let err = result.unwrap_err();
    assert!(err.is_protocol(), "{err}");
    assert!(err.to_string().contains("after 2 rounds"), "{err}");
    fake.assert_clean();
}

#[tokio::test]
async fn input_required_is_refused_where_it_does_not_belong() {
    let (client, mut fake, _) = modern(answering()).await;
    let list = client.list_tools(None);
    let serve = async {
        let request = fake.recv_request("tools/list").await;
        // Not valid for tools/list, so the tap is not asserted in this test.
        fake.reply(&request, input_required(None, Some("x"))).await;
        fake.expect_silence(Duration::from_millis(100)).await;
    };
    let (result, ()) = tokio::join!(list, serve);
    let err = result.unwrap_err();
    assert!(
        err.is_protocol() && err.to_string().contains("tools/list"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_handler_fails_the_call_without_retrying() {
    // Only elicitation: the server asks for sampling as well (which it should not).
    let builder = Client::builder()
        .on_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Decline)) });
    let (client, mut fake, _) = modern(builder).await;
    let call = client.call_tool("needs-llm", ());
    let serve = async {
        let request = fake.recv_request("tools/call").await;
        fake.reply(
            &request,
            input_required(
                Some(json!({"llm": sampling_request(), "who": elicitation_request()})),
                Some("s"),
            ),
        )
        .await;
        fake.expect_silence(Duration::from_millis(200)).await;
    };
    let (result, ()) = tokio::join!(call, serve);
    let err = result.unwrap_err();
    assert!(err.is_unsupported(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("sampling/createMessage") && text.contains("on_sampling"),
        "{text}"
    );
    fake.assert_clean();
}

#[tokio::test]
async fn a_failing_handler_fails_the_call() {
    let builder =
        Client::builder().on_sampling(|_| async { Err(ErrorObject::new(-1, "the user refused")) });
    let (client, mut fake, _) = modern(builder).await;
    let call = client.call_tool("needs-llm", ());
    let serve = async {
        let request = fake.recv_request("tools/call").await;
        fake.reply(
            &request,
            input_required(Some(json!({"llm": sampling_request()})), None),
        )
        .await;
        fake.expect_silence(Duration::from_millis(100)).await;
    };
    let (result, ()) = tokio::join!(call, serve);
    let err = result.unwrap_err();
    assert_eq!(err.handler_error().map(|e| e.code), Some(-1), "{err}");
    assert!(err.to_string().contains("\"llm\""), "{err}");
    fake.assert_clean();
}

/// Sends progress for `request` under the token it gave.
async fn progress(fake: &mut Fake, request: &Value, value: f64) {
    let token = request["params"]["_meta"]["progressToken"].clone();
    assert!(!token.is_null(), "the request asks for progress: {request}");
    fake.notify(
        "notifications/progress",
        json!({"progressToken": token, "progress": value}),
    )
    .await;
}

#[tokio::test]
async fn progress_and_timeouts_carry_across_rounds() {
    // The elicitation takes longer than the idle timeout: time in handlers (a user
    // typing) does not count against it.
    let builder = Client::builder().on_elicitation(|_| async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(ElicitResult::new(ElicitAction::Accept))
    });
    let (client, mut fake, _) = modern(builder).await;
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let options = CallOptions::new()
        .timeout(Duration::from_millis(250))
        .on_progress(move |p| sink.lock().unwrap().push(p));
    let call = client.call_tool_with("slow", (), options);
    let serve = async {
        let first = fake.recv_request("tools/call").await;
        progress(&mut fake, &first, 1.0).await;
        fake.reply(
            &first,
            input_required(Some(json!({"ok": elicitation_request()})), Some("s")),
        )
        .await;
        let second = fake.recv_request("tools/call").await;
        // Each round has its own progress token: its own request id.
        assert_eq!(
            second["params"]["_meta"]["progressToken"], second["id"],
            "{second}"
        );
        assert_ne!(
            second["params"]["_meta"]["progressToken"],
            first["params"]["_meta"]["progressToken"]
        );
        progress(&mut fake, &second, 2.0).await;
        fake.reply(&second, tool_result("done")).await;
    };
    let (result, ()) = tokio::join!(call, serve);
    assert_eq!(result.unwrap().content[0].as_text(), Some("done"));
    let seen: Vec<f64> = seen.lock().unwrap().iter().map(|p| p.progress).collect();
    assert_eq!(seen, [1.0, 2.0]);
    fake.assert_clean();
}

#[tokio::test]
async fn cancellation_covers_the_handlers_and_every_round() {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&started);
    let builder = Client::builder().on_elicitation(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { std::future::pending().await }
    });
    let (client, mut fake, _) = modern(builder).await;
    let cancel = CancellationToken::new();
    let call = client.call_tool_with("stuck", (), CallOptions::new().cancel_on(cancel.clone()));
    let serve = async {
        let request = fake.recv_request("tools/call").await;
        fake.reply(
            &request,
            input_required(Some(json!({"q": elicitation_request()})), Some("s")),
        )
        .await;
        // The user never answers; the caller gives up.
        while started.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
        // The first round was answered, so there is nothing to cancel on the server.
        fake.expect_silence(Duration::from_millis(100)).await;
    };
    let (result, ()) = tokio::join!(call, serve);
    assert!(result.unwrap_err().is_cancelled());

    // Cancelling while a retry is in flight tells the server about that retry.
    let cancel = CancellationToken::new();
    let options = CallOptions::new().cancel_on(cancel.clone());
    let call = client.call_tool_with("slow", (), options);
    let serve = async {
        let first = fake.recv_request("tools/call").await;
        fake.reply(&first, input_required(None, Some("again")))
            .await;
        let retry = fake.recv_request("tools/call").await;
        assert_eq!(retry["params"]["requestState"], "again");
        cancel.cancel();
        let cancelled = fake.recv_notification("notifications/cancelled").await;
        assert_eq!(cancelled["params"]["requestId"], retry["id"]);
    };
    let (result, ()) = tokio::join!(call, serve);
    assert!(result.unwrap_err().is_cancelled());
    fake.assert_clean();
}
