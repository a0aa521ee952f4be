//! A proxied `tools/call` result passes through as the back end wrote it, except what the
//! eras of the back end and the front make differ (`resultType`, the server's own `_meta`
//! key); what the proxy must check (an `outputSchema`, the shape of a result) it still
//! checks.

use oxmcp::client::Client;
use oxmcp::protocol::meta::{Meta, SERVER_INFO};
use oxmcp::protocol::result::ResultType;
use oxmcp::protocol::tools::CallToolResult;
use oxmcp::server::compose::Proxy;
use oxmcp::server::Router;
use serde_json::{json, Value};

use super::proxy::{front, pairs, proxied};
use super::text;
use crate::output_validation::hostile_server;
use crate::support::{legacy, modern};

/// A result with structured content and a `_meta` key of the tool's own.
async fn rich() -> CallToolResult {
    let mut result = CallToolResult::text("rich");
    result.structured_content = Some(json!({"n": [1, "two"], "s": "é \"q\""}));
    let mut meta = Meta::new();
    meta.insert("example.com/own".into(), json!({"k": 1}));
    result.meta = Some(meta);
    result
}

fn back_end() -> Router {
    Router::new()
        .name("back")
        .tool("plain", || async { "plain" })
        .tool("rich", rich)
}

#[tokio::test]
async fn a_result_passes_through_with_only_the_eras_members_rewritten() {
    for (front_era, back_era) in pairs() {
        let what = format!("{front_era:?} front, {back_era:?} back");
        let router = proxied(back_end(), back_era).await.name("front");
        let client = front(router, front_era).await;
        let modern_front = client.client().protocol_version().is_modern();
        for name in ["plain", "rich"] {
            let result = client.call_tool(name, json!({})).await.unwrap();
            assert_eq!(text(&result), name, "{what}");
            let meta = result.meta.clone().unwrap_or_default();
            if modern_front {
                // The front's own result: its type, and the proxy's name, not the back end's.
                assert_eq!(result.result_type, Some(ResultType::Complete), "{what}");
                assert_eq!(meta[SERVER_INFO]["name"], "front", "{what}: {meta:?}");
            } else {
                assert_eq!(result.result_type, None, "{what}");
                assert!(!meta.contains_key(SERVER_INFO), "{what}: {meta:?}");
            }
            if name == "rich" {
                assert_eq!(
                    result.structured_content,
                    Some(json!({"n": [1, "two"], "s": "é \"q\""})),
                    "{what}"
                );
                assert_eq!(meta["example.com/own"], json!({"k": 1}), "{what}");
                assert_eq!(
                    meta.len(),
                    1 + usize::from(modern_front),
                    "{what}: {meta:?}"
                );
            }
        }
    }
}

/// A proxy in front of a scripted legacy back end listing tool `t` (with `schema`) and
/// answering its calls with `result`.
async fn scripted(schema: Option<Value>, result: Value) -> Router {
    let (read, write) = hostile_server(schema, result);
    let proxy = Proxy::new();
    let client = proxy
        .client(Client::builder().era(legacy()))
        .connect_io(read, write)
        .await
        .expect("connect to the back end");
    proxy.router(client).await.expect("list the back end")
}

fn count_schema() -> Value {
    json!({
        "type": "object",
        "properties": { "count": { "type": "integer" } },
        "required": ["count"]
    })
}

#[tokio::test]
async fn a_proxied_result_is_still_checked_against_the_listed_output_schema() {
    let bad = json!({"content": [], "structuredContent": {"count": [1]}});
    for era in [legacy(), modern()] {
        let client = front(scripted(Some(count_schema()), bad.clone()).await, era).await;
        let error = client.call_tool("t", json!({})).await.unwrap_err();
        assert_eq!(error.rpc_code(), Some(-32603), "{era:?}: {error}");
        let error = error.to_string();
        assert!(error.contains("`/count`"), "{era:?}: {error}");

        // Without a schema, the same result passes through.
        let client = front(scripted(None, bad.clone()).await, era).await;
        let result = client.call_tool("t", json!({})).await.unwrap();
        assert_eq!(result.structured_content, Some(json!({"count": [1]})));
    }
}

#[tokio::test]
async fn a_back_end_result_that_is_not_a_call_tool_result_is_an_error() {
    for bad in [
        json!({"contents": []}),
        json!({"content": "text"}),
        json!({"content": [], "isError": "yes"}),
        json!({"content": [], "_meta": 1}),
    ] {
        for era in [legacy(), modern()] {
            let client = front(scripted(None, bad.clone()).await, era).await;
            let error = client.call_tool("t", json!({})).await.unwrap_err();
            assert_eq!(error.rpc_code(), Some(-32603), "{bad} {era:?}: {error}");
            let error = error.to_string();
            assert!(
                error.contains("the back end did not answer")
                    && error.contains("decode the result"),
                "{bad} {era:?}: {error}"
            );
        }
    }
}

#[tokio::test]
async fn a_back_end_result_that_is_not_complete_is_not_passed_on() {
    // The passthrough takes only complete results; any other `resultType` is read the
    // typed way, which says what is wrong with it (rather than dropping the member).
    let bad = json!({"content": [], "resultType": "bogus"});
    for era in [legacy(), modern()] {
        let client = front(scripted(None, bad.clone()).await, era).await;
        let error = client.call_tool("t", json!({})).await.unwrap_err();
        assert_eq!(error.rpc_code(), Some(-32603), "{era:?}: {error}");
        let error = error.to_string();
        assert!(
            error.contains("unsupported resultType \"bogus\""),
            "{era:?}: {error}"
        );
    }
}
