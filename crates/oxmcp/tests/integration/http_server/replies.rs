//! How the server learns what became of a request: the HTTP status of a reply follows the
//! error code the engine answered with (not a reading of the reply's text), and a client
//! that hangs up on a modern POST cancels its handler (through the engine, not a made-up
//! `notifications/cancelled`).

use std::sync::Arc;
use std::time::Duration;

use oxmcp::server::http::HttpConfig;
use oxmcp::server::{Args, Context, Router, State, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::wire::{call, text_of, Client, Resp};
use super::{error_code, modern_call, modern_headers, Server};
use crate::support::modern_meta;

#[derive(Deserialize, JsonSchema)]
struct Fail {
    code: i64,
}

/// Answers with a JSON-RPC error of the code asked for (from the handler's own task).
async fn fail(Args(args): Args<Fail>) -> Result<String, ToolError> {
    Err(ToolError::protocol(args.code, "failed as asked"))
}

/// What a waiting handler went through.
#[derive(Clone, Default)]
struct Probe {
    started: Arc<Notify>,
    cancelled: Arc<Notify>,
    release: Arc<Notify>,
}

/// Notifies `cancelled` when dropped with its token cancelled: the engine stops a cancelled
/// handler by dropping it, with its context's token cancelled first.
struct Stopped {
    token: CancellationToken,
    cancelled: Arc<Notify>,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.token.is_cancelled() {
            self.cancelled.notify_one();
        }
    }
}

/// Reports progress (when asked for), then waits until released or cancelled.
async fn wait(State(probe): State<Probe>, ctx: Context) -> &'static str {
    let _stopped = Stopped {
        token: ctx.cancellation().clone(),
        cancelled: probe.cancelled.clone(),
    };
    ctx.progress(oxmcp::Progress::new(1.0).message("waiting"))
        .await;
    probe.started.notify_one();
    tokio::select! {
        () = ctx.cancellation().cancelled() => "cancelled",
        () = probe.release.notified() => "released",
    }
}

async fn start(probe: &Probe) -> Server {
    let router = Router::new()
        .name("replies-test")
        .tool("fail", fail)
        .tool("wait", wait)
        .with_state(probe.clone());
    Server::start_router(router, HttpConfig::new(), |serve| serve).await
}

/// Waits (5 s at most) for `notify`, saying what was expected otherwise.
async fn expect(notify: &Notify, what: &str) {
    tokio::time::timeout(Duration::from_secs(5), notify.notified())
        .await
        .unwrap_or_else(|_| panic!("{what} within 5 s"));
}

#[tokio::test]
async fn modern_error_replies_get_the_status_their_code_calls_for() {
    let probe = Probe::default();
    let server = start(&probe).await;
    let client = server.client();
    let headers = modern_headers("tools/call", Some("fail"));

    // Errors a handler answers with, from its own task.
    for (code, status) in [
        (-32601, 404),
        (-32700, 400),
        (-32600, 400),
        (-32602, 400),
        (-32020, 400),
        (-32021, 400),
        (-32022, 400),
        (-32603, 200),
        (-32000, 200),
        (-32002, 200),
        (1, 200),
    ] {
        let resp = client
            .post(&modern_call(1, "fail", json!({ "code": code })), &headers)
            .await;
        assert_eq!(resp.status, status, "code {code}");
        let answer = client.json(resp).await;
        assert_eq!(error_code(&answer), code);
        assert_eq!(answer["id"], 1);
    }

    // Errors the SDK answers with at once: bad params, a message that is not valid
    // JSON-RPC (an unknown method, 404, is in `modern_requests_and_their_validation`).
    let bad_cursor = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list",
        "params": {"cursor": "not a cursor", "_meta": modern_meta()}});
    let bad_version = json!({"jsonrpc": "1.0", "id": 4, "method": "tools/list",
        "params": {"_meta": modern_meta()}});
    for (message, method, status, code) in [
        (bad_cursor, "tools/list", 400, -32602),
        (bad_version, "tools/list", 400, -32600),
    ] {
        let resp = client
            .send(
                "POST",
                &modern_headers(method, None),
                Some(&message.to_string()),
            )
            .await;
        assert_eq!(resp.status, status, "{message}");
        let answer: Value = serde_json::from_str(&resp.text().await).unwrap();
        assert_eq!(error_code(&answer), code, "{message}");
        assert_eq!(answer["id"], message["id"]);
    }

    // A result is 200, whatever its text says (here, an error result whose message
    // quotes what looks like a JSON-RPC error).
    let text = r#"{"error":{"code":-32601}} \u0065rror"#;
    let resp = client
        .post(
            &json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
                "name": "fail", "arguments": {"code": text}, "_meta": modern_meta()}}),
            &headers,
        )
        .await;
    assert_eq!(
        resp.status, 200,
        "a tool's invalid arguments are its result"
    );
    let answer = client.json(resp).await;
    assert_eq!(answer["result"]["isError"], true);
    server.shutdown().await;
}

/// (A failed `initialize`, the one legacy error that is not 200, is covered by
/// `a_failed_initialize_creates_no_session`.)
#[tokio::test]
async fn legacy_error_replies_are_200() {
    let probe = Probe::default();
    let server = start(&probe).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    for code in [-32601, -32602, -32600, -32603, 1] {
        let resp = client
            .post(&call(1, "fail", json!({ "code": code })), &[])
            .await;
        assert_eq!(resp.status, 200, "code {code}");
        assert_eq!(error_code(&client.json(resp).await), code);
    }
    let resp = client
        .post(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "nope/nothing"}),
            &[],
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(error_code(&client.json(resp).await), -32601);

    server.shutdown().await;
}

/// A modern `tools/call` of `wait`, with a progress token when `progress` is set.
fn modern_wait(progress: bool) -> Value {
    let mut message = modern_call(1, "wait", json!({}));
    if progress {
        message["params"]["_meta"]["progressToken"] = json!("p");
    }
    message
}

#[tokio::test]
async fn a_modern_client_hanging_up_on_its_sse_stream_cancels_the_handler() {
    let probe = Probe::default();
    let server = start(&probe).await;
    let client = server.client();
    let mut resp = client
        .post(
            &modern_wait(true),
            &modern_headers("tools/call", Some("wait")),
        )
        .await;
    assert!(resp.content_type().starts_with("text/event-stream"));
    let (_, progress) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(progress["method"], "notifications/progress");
    expect(&probe.started, "the handler started").await;
    drop(resp);
    expect(&probe.cancelled, "the handler saw its cancellation").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_modern_client_hanging_up_before_its_json_answer_cancels_the_handler() {
    let probe = Probe::default();
    let server = start(&probe).await;
    let client = server.client();
    let mut headers = modern_headers("tools/call", Some("wait"));
    headers.push(("accept", "application/json"));
    let stream = client
        .send_only("POST", &headers, Some(&modern_wait(false).to_string()))
        .await;
    expect(&probe.started, "the handler started").await;
    drop(stream);
    expect(&probe.cancelled, "the handler saw its cancellation").await;
    server.shutdown().await;
}

/// Opens a legacy session and calls `wait` with a progress token: the POST's stream, past
/// the progress, and the id of that event.
async fn legacy_wait(client: &mut Client, id: i64) -> (Resp, String) {
    client.initialize(json!({})).await;
    let mut message = call(id, "wait", json!({}));
    message["params"]["_meta"] = json!({"progressToken": "p"});
    let mut resp = client.post(&message, &[]).await;
    assert!(resp.content_type().starts_with("text/event-stream"));
    let (last, progress) = client.sse_message(&mut resp).await.unwrap();
    assert_eq!(progress["method"], "notifications/progress");
    (resp, last.expect("events carry ids"))
}

#[tokio::test]
async fn a_legacy_client_cancels_with_notifications_cancelled() {
    let probe = Probe::default();
    let server = start(&probe).await;
    let mut client = server.client();
    let (mut resp, _) = legacy_wait(&mut client, 7).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "no longer needed"}});
    assert_eq!(client.post(&cancel, &[]).await.status, 202);
    expect(&probe.cancelled, "the handler saw its cancellation").await;
    assert!(
        client.sse_message(&mut resp).await.is_none(),
        "the stream ends with no response"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_legacy_client_hanging_up_does_not_cancel_the_handler() {
    let probe = Probe::default();
    let server = start(&probe).await;
    let mut client = server.client();
    let (resp, last) = legacy_wait(&mut client, 8).await;
    expect(&probe.started, "the handler started").await;
    drop(resp);
    // Disconnecting is no cancellation in the legacy revisions: the client may resume.
    probe.release.notify_one();
    let mut resumed = client.resume(&last).await;
    assert_eq!(resumed.status, 200);
    let (_, result) = client.sse_message(&mut resumed).await.unwrap();
    assert_eq!(result["id"], 8);
    assert_eq!(text_of(&result), "released");
    server.shutdown().await;
}
