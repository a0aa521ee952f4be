//! Log messages from a handler: the modern era sends them only when the request asks
//! (`io.modelcontextprotocol/logLevel`), legacy sessions follow `logging/setLevel`.

use oxmcp::protocol::logging::LoggingLevel;
use oxmcp::server::{Context, Router};
use serde_json::{json, Value};

use crate::support::{modern_meta, Raw};

async fn chatty(ctx: Context) -> &'static str {
    ctx.log(
        LoggingLevel::Info,
        Some("chatty"),
        &json!({"said": "hello"}),
    )
    .await;
    ctx.log(LoggingLevel::Debug, None, &"details").await;
    "done"
}

fn router() -> Router {
    Router::new().tool("chatty", chatty)
}

/// Reads frames until the response with `id`; returns the log levels seen before it.
async fn levels_before_result(raw: &mut Raw, id: i64) -> Vec<String> {
    let mut levels = Vec::new();
    loop {
        let frame = raw.recv().await;
        if frame["id"] == id {
            assert_eq!(frame["result"]["content"][0]["text"], "done");
            return levels;
        }
        assert_eq!(frame["method"], "notifications/message", "{frame}");
        levels.push(frame["params"]["level"].as_str().unwrap().to_owned());
    }
}

fn modern_call(id: i64, level: Option<&str>) -> Value {
    let mut meta = modern_meta();
    if let Some(level) = level {
        meta["io.modelcontextprotocol/logLevel"] = json!(level);
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"_meta": meta, "name": "chatty"}})
}

#[tokio::test]
async fn modern_requests_get_logs_only_when_they_ask() {
    let mut raw = Raw::start(router());
    raw.send(modern_call(1, None)).await;
    assert!(levels_before_result(&mut raw, 1).await.is_empty());
    raw.send(modern_call(2, Some("info"))).await;
    assert_eq!(levels_before_result(&mut raw, 2).await, ["info"]);
    raw.send(modern_call(3, Some("debug"))).await;
    assert_eq!(levels_before_result(&mut raw, 3).await, ["info", "debug"]);
    raw.finish().await;
}

#[tokio::test]
async fn legacy_sessions_follow_set_level() {
    let mut raw = Raw::start(router());
    raw.initialize("2025-11-25").await;
    let call = |id: i64| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "chatty"}});
    raw.send(call(1)).await;
    assert_eq!(levels_before_result(&mut raw, 1).await, ["info", "debug"]);
    let r = raw.call(json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "info"}})).await;
    assert_eq!(r["result"], json!({}));
    raw.send(call(3)).await;
    assert_eq!(levels_before_result(&mut raw, 3).await, ["info"]);
    raw.call(json!({"jsonrpc": "2.0", "id": 4, "method": "logging/setLevel", "params": {"level": "error"}})).await;
    raw.send(call(5)).await;
    assert!(levels_before_result(&mut raw, 5).await.is_empty());
    raw.finish().await;
}
