//! Limits: request timeouts (router-wide and per tool) and the timeout of a legacy
//! question to a client that never answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxmcp::server::limits::REQUEST_TIMED_OUT;
use oxmcp::server::{tool, Context, Router, ToolError};
use serde_json::{json, Value};

use crate::support::{code, Raw};

/// What a slow handler saw: whether its future was dropped and whether its cancellation
/// token fired.
#[derive(Clone, Default)]
struct Seen {
    dropped: Arc<AtomicBool>,
    told: Arc<AtomicBool>,
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Seen {
    /// A handler that would take a minute; it records being dropped and being told.
    fn slow_tool(
        &self,
    ) -> impl Fn(Context) -> futures_util::future::BoxFuture<'static, String>
           + Clone
           + Send
           + Sync
           + 'static {
        let seen = self.clone();
        move |ctx: Context| {
            let seen = seen.clone();
            Box::pin(async move {
                let token = ctx.cancellation().clone();
                let told = seen.told.clone();
                tokio::spawn(async move {
                    token.cancelled().await;
                    told.store(true, Ordering::SeqCst);
                });
                let _guard = DropFlag(seen.dropped.clone());
                tokio::time::sleep(Duration::from_secs(60)).await;
                "finished".to_owned()
            })
        }
    }

    async fn assert_cancelled(&self) {
        for _ in 0..100 {
            if self.dropped.load(Ordering::SeqCst) && self.told.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the handler was not cancelled (dropped: {}, token fired: {})",
            self.dropped.load(Ordering::SeqCst),
            self.told.load(Ordering::SeqCst)
        );
    }
}

fn call(id: i64, name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": {}}})
}

#[tokio::test]
async fn the_router_timeout_cancels_the_handler_and_answers_that_it_timed_out() {
    let seen = Seen::default();
    let router = Router::new()
        .request_timeout(Duration::from_millis(200))
        .tool("slow", seen.slow_tool())
        .tool("quick", || async { "quick".to_owned() });
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await;
    let response = raw.call(call(1, "slow")).await;
    assert_eq!(response["id"], 1);
    assert_eq!(code(&response), REQUEST_TIMED_OUT, "{response}");
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("timed out"), "{message}");
    assert!(
        message.contains("tools/call") && message.contains("200ms"),
        "{message}"
    );
    seen.assert_cancelled().await;
    // The connection goes on: a quick call is answered as usual.
    let response = raw.call(call(2, "quick")).await;
    assert_eq!(
        response["result"]["content"][0]["text"], "quick",
        "{response}"
    );
    raw.finish().await;
}

#[tokio::test]
async fn the_router_timeout_holds_behind_router_layers_too() {
    let seen = Seen::default();
    let router = Router::new()
        .layer(tower::limit::ConcurrencyLimitLayer::new(8))
        .request_timeout(Duration::from_millis(200))
        .tool("slow", seen.slow_tool());
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await;
    let response = raw.call(call(1, "slow")).await;
    assert_eq!(code(&response), REQUEST_TIMED_OUT, "{response}");
    seen.assert_cancelled().await;
    raw.finish().await;
}

#[tokio::test]
async fn a_tool_timeout_is_a_tool_error_the_model_reads() {
    let seen = Seen::default();
    let router = Router::new()
        .tool(
            "slow",
            tool(seen.slow_tool()).timeout(Duration::from_millis(150)),
        )
        .tool(
            "quick",
            tool(|| async { "quick".to_owned() }).timeout(Duration::from_secs(5)),
        );
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await;
    let response = raw.call(call(1, "slow")).await;
    let result = &response["result"];
    assert_eq!(result["isError"], true, "{response}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("timed out") && text.contains("\"slow\""),
        "{text}"
    );
    assert!(text.contains("150ms"), "{text}");
    seen.assert_cancelled().await;
    let response = raw.call(call(2, "quick")).await;
    assert_eq!(
        response["result"]["content"][0]["text"], "quick",
        "{response}"
    );
    raw.finish().await;
}

#[tokio::test]
async fn a_legacy_question_to_a_client_that_never_answers_times_out() {
    async fn ask_roots(ctx: Context) -> Result<String, ToolError> {
        match ctx.list_roots().await {
            Ok(roots) => Ok(format!("{} roots", roots.len())),
            Err(error) => Err(ToolError::execution(error.to_string())),
        }
    }
    let router = Router::new()
        .question_timeout(Duration::from_millis(200))
        .tool("roots", ask_roots);
    let mut raw = Raw::start(router);
    let init = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {"roots": {}},
        "clientInfo": {"name": "silent", "version": "1.0.0"}
    }});
    raw.call(init).await;
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    raw.send(call(1, "roots")).await;
    let question = raw.recv().await;
    assert_eq!(question["method"], "roots/list", "{question}");
    // Never answered: the server gives up, tells the client, and the call ends.
    let cancelled = raw.recv().await;
    assert_eq!(
        cancelled["method"], "notifications/cancelled",
        "{cancelled}"
    );
    assert_eq!(cancelled["params"]["requestId"], question["id"]);
    let response = raw.recv().await;
    assert_eq!(response["id"], 1, "{response}");
    assert_eq!(response["result"]["isError"], true, "{response}");
    let text = response["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("timed out"), "{text}");
    raw.finish().await;
}

#[tokio::test]
async fn over_stdio_a_client_past_its_rate_is_told_when_to_retry() {
    use oxmcp::server::limits::{RateLimit, RATE_LIMITED};
    let router = Router::new().rate_limit(RateLimit::per_second(1.0).burst(2));
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await; // the first token
    let ping = |id: i64| json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
    let response = raw.call(ping(1)).await;
    assert!(response["result"].is_object(), "{response}");
    let response = raw.call(ping(2)).await;
    assert_eq!(code(&response), RATE_LIMITED, "{response}");
    let message = response["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("rate limit exceeded: retry in"),
        "{message}"
    );
    let wait = response["error"]["data"]["retryAfterMs"].as_u64().unwrap();
    assert!(wait > 0 && wait <= 1000, "{wait}");
    tokio::time::sleep(Duration::from_millis(wait + 20)).await;
    let response = raw.call(ping(3)).await;
    assert!(response["result"].is_object(), "a token again: {response}");
    raw.finish().await;
}

#[tokio::test]
async fn the_per_client_bound_holds_across_a_clients_requests() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let g = gate.clone();
    let hold = move || {
        let gate = g.clone();
        async move {
            gate.acquire().await.unwrap().forget();
            "done".to_owned()
        }
    };
    let router = Router::new()
        .max_concurrent_per_client(1)
        .tool("hold", hold);
    let mut raw = Raw::start(router);
    raw.initialize("2025-11-25").await;
    raw.send(call(1, "hold")).await;
    raw.send(call(2, "hold")).await;
    // One runs, one waits: the third is refused.
    let response = raw.call(call(3, "hold")).await;
    assert_eq!(response["id"], 3, "{response}");
    assert_eq!(code(&response), -32000, "{response}");
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("this client"),
        "{response}"
    );
    gate.add_permits(2);
    let mut ids = vec![
        raw.recv().await["id"].clone(),
        raw.recv().await["id"].clone(),
    ];
    ids.sort_by_key(|id| id.as_i64());
    assert_eq!(ids, [json!(1), json!(2)]);
    raw.finish().await;
}
