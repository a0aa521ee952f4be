//! Structured output validation: the server checks its tools' `structuredContent` against
//! their `outputSchema` (a custom schema always, a derived one in debug builds); the client
//! checks results against the schema a server listed, with an error naming the failing
//! path, and survives hostile schemas.

use std::time::Duration;

use oxmcp::client::Client;
use oxmcp::protocol::tools::CallToolResult;
use oxmcp::protocol::JsonObject;
use oxmcp::server::{tool, Json, Router};
use serde_json::{json, Value};

use crate::client::{scripted_server, Script};
use crate::support::{checked, legacy, modern};

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn count_schema() -> JsonObject {
    object(json!({
        "type": "object",
        "properties": { "count": { "type": "integer" } },
        "required": ["count"]
    }))
}

fn structured(value: Value) -> CallToolResult {
    let mut result = CallToolResult::new(Vec::new());
    result.structured_content = Some(value);
    result
}

fn contract_router() -> Router {
    Router::new()
        .tool(
            "good",
            tool(|| async { structured(json!({ "count": 3 })) }).output_schema(count_schema()),
        )
        .tool(
            "bad",
            tool(|| async { structured(json!({ "count": "three" })) })
                .output_schema(count_schema()),
        )
        .tool(
            "bare",
            tool(|| async { "no structured content" }).output_schema(count_schema()),
        )
        .tool(
            "failed",
            tool(|| async {
                let mut result = CallToolResult::new(Vec::new());
                result.is_error = Some(true);
                result
            })
            .output_schema(count_schema()),
        )
}

#[tokio::test]
async fn a_tool_with_unchecked_output_answers_whatever_it_returns() {
    let router = || {
        Router::new().tool(
            "relay",
            tool(|| async { structured(json!({ "count": "three" })) })
                .output_schema(count_schema())
                .unchecked_output(),
        )
    };
    for era in [modern(), legacy()] {
        let (client, _tap) = checked(router(), era).await;
        let relayed = client.call_tool("relay", ()).await.unwrap();
        assert_eq!(
            relayed.structured_content,
            Some(json!({ "count": "three" }))
        );
    }
}

#[tokio::test]
async fn the_server_refuses_results_that_break_a_custom_schema() {
    for era in [modern(), legacy()] {
        let (client, tap) = checked(contract_router(), era).await;
        let good = client.call_tool("good", ()).await.unwrap();
        assert_eq!(good.structured_content, Some(json!({ "count": 3 })));
        // An error result carries no structured content and is not checked.
        let failed = client.call_tool("failed", ()).await.unwrap();
        assert_eq!(failed.is_error, Some(true));

        let err = client.call_tool("bad", ()).await.unwrap_err();
        assert_eq!(err.rpc_code(), Some(-32603), "{err}");
        let message = err.to_string();
        assert!(message.contains("tool `bad`"), "{message}");
        assert!(message.contains("`/count`"), "{message}");
        assert!(message.contains("integer"), "{message}");

        let err = client.call_tool("bare", ()).await.unwrap_err();
        assert_eq!(err.rpc_code(), Some(-32603), "{err}");
        assert!(err.to_string().contains("no structuredContent"), "{err}");
        tap.assert_clean();
    }
}

/// Says it is a number, serializes as a string: its derived schema and its output
/// disagree.
#[derive(schemars::JsonSchema)]
struct Liar {
    #[allow(dead_code)]
    n: u32,
}

impl serde::Serialize for Liar {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Liar", 1)?;
        s.serialize_field("n", "not a number")?;
        s.end()
    }
}

#[tokio::test]
async fn derived_schemas_are_checked_in_debug_builds() {
    let router = Router::new().tool("liar", || async { Json(Liar { n: 1 }) });
    let (client, _tap) = checked(router, modern()).await;
    let outcome = client.call_tool("liar", ()).await;
    if cfg!(debug_assertions) {
        let err = outcome.unwrap_err();
        assert_eq!(err.rpc_code(), Some(-32603), "{err}");
        assert!(err.to_string().contains("`/n`"), "{err}");
    } else {
        outcome.unwrap();
    }
}

#[test]
#[should_panic(expected = "tool `broken`: its outputSchema is not a valid JSON Schema")]
fn a_custom_schema_that_is_not_json_schema_panics_at_registration() {
    let _: Router = Router::new().tool(
        "broken",
        tool(|| async { "x" }).output_schema(object(json!({ "type": 12 }))),
    );
}

/// A legacy server that lists one tool `t` with `schema` (if given) and answers every
/// call with `result`.
async fn hostile(schema: Option<Value>, result: Value) -> Client {
    let (read, write) = hostile_server(schema, result);
    Client::builder()
        .connect_io(read, write)
        .await
        .expect("connects")
}

/// The server of [`hostile`], on the far end of an in-memory pipe: the client's ends.
pub(crate) fn hostile_server(
    schema: Option<Value>,
    result: Value,
) -> (
    tokio::io::ReadHalf<tokio::io::DuplexStream>,
    tokio::io::WriteHalf<tokio::io::DuplexStream>,
) {
    scripted_server(move |msg| {
        let id = msg["id"].clone();
        let reply = match msg["method"].as_str().unwrap_or("") {
            "server/discover" => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no"}})
            }
            "initialize" => json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "hostile", "version": "0.1"}}}),
            "tools/list" => {
                let mut tool = json!({"name": "t", "inputSchema": {"type": "object"}});
                if let Some(schema) = &schema {
                    tool["outputSchema"] = schema.clone();
                }
                json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [tool]}})
            }
            "tools/call" => json!({"jsonrpc": "2.0", "id": id, "result": result.clone()}),
            _ => return std::future::ready(Script::Ignore),
        };
        std::future::ready(Script::Reply(reply))
    })
}

#[tokio::test]
async fn the_client_checks_results_against_the_listed_schema() {
    let bad = json!({"content": [], "structuredContent": {"count": [1]}});
    let client = hostile(Some(Value::Object(count_schema())), bad.clone()).await;
    // Not listed yet: nothing to check against.
    client.call_tool("t", ()).await.unwrap();
    client.list_tools(None).await.unwrap();
    let err = client.call_tool("t", ()).await.unwrap_err().to_string();
    assert!(err.contains("tool `t`"), "{err}");
    assert!(err.contains("`/count`"), "{err}");
    assert!(err.contains("integer"), "{err}");

    let good = json!({"content": [], "structuredContent": {"count": 1}});
    let client = hostile(Some(Value::Object(count_schema())), good).await;
    client.list_all_tools().await.unwrap();
    client.call_tool("t", ()).await.unwrap();

    let missing = json!({"content": [{"type": "text", "text": "1"}]});
    let client = hostile(Some(Value::Object(count_schema())), missing).await;
    client.list_all_tools().await.unwrap();
    let err = client.call_tool("t", ()).await.unwrap_err().to_string();
    assert!(err.contains("no structuredContent"), "{err}");

    let failed = json!({"content": [], "isError": true});
    let client = hostile(Some(Value::Object(count_schema())), failed).await;
    client.list_all_tools().await.unwrap();
    assert_eq!(
        client.call_tool("t", ()).await.unwrap().is_error,
        Some(true)
    );

    // A tool listed without a schema is not checked.
    let client = hostile(None, bad).await;
    client.list_all_tools().await.unwrap();
    client.call_tool("t", ()).await.unwrap();
}

#[tokio::test]
async fn hostile_schemas_are_errors_not_panics_or_hangs() {
    let any = json!({"content": [], "structuredContent": {"a": 1}});
    // Not JSON Schema at all.
    let client = hostile(Some(json!({"type": 12})), any.clone()).await;
    client.list_all_tools().await.unwrap();
    let err = client.call_tool("t", ()).await.unwrap_err().to_string();
    assert!(err.contains("not a valid JSON Schema"), "{err}");
    // Asked again: the same error, from the schema compiled (and refused) once.
    let again = client.call_tool("t", ()).await.unwrap_err().to_string();
    assert_eq!(err, again);
    // A reference to a remote document is not fetched: the schema does not compile.
    let client = hostile(
        Some(json!({"$ref": "https://schemas.invalid/evil.json"})),
        any.clone(),
    )
    .await;
    client.list_all_tools().await.unwrap();
    let err = client.call_tool("t", ()).await.unwrap_err().to_string();
    assert!(err.contains("not a valid JSON Schema"), "{err}");
    // A schema that refers to itself.
    let recursive = json!({
        "type": "object",
        "properties": { "a": { "type": "integer" }, "next": { "$ref": "#" } }
    });
    let client = hostile(Some(recursive), any.clone()).await;
    client.list_all_tools().await.unwrap();
    client.call_tool("t", ()).await.unwrap();
    // Huge: 2 000 properties, under 20 levels of `anyOf`.
    let mut properties = serde_json::Map::new();
    for i in 0..2_000 {
        properties.insert(format!("p{i}"), json!({"type": "string", "maxLength": 8}));
    }
    properties.insert("a".into(), json!({"type": "integer"}));
    let mut deep = json!({"type": "object", "properties": properties});
    for _ in 0..20 {
        deep = any_of(deep);
    }
    let client = hostile(Some(deep), any).await;
    tokio::time::timeout(Duration::from_secs(20), async {
        client.list_all_tools().await.unwrap();
        client.call_tool("t", ()).await.unwrap();
    })
    .await
    .expect("a huge schema is listed and checked within 20 s");
}

/// `inner` as the first choice of an `anyOf`, moved in (`json!` would copy it).
fn any_of(inner: Value) -> Value {
    let mut wrapper = serde_json::Map::new();
    wrapper.insert(
        "anyOf".into(),
        Value::Array(vec![inner, json!({"type": "null"})]),
    );
    Value::Object(wrapper)
}

#[tokio::test]
async fn a_deep_and_wide_schema_is_listed_at_once_and_compiled_on_first_call() {
    // 20 000 properties under 40 levels of `anyOf`: listing reads it once (no compiling),
    // the first call compiles it.
    let mut properties = serde_json::Map::new();
    for i in 0..20_000 {
        properties.insert(format!("p{i}"), json!({"type": "string"}));
    }
    let mut deep = json!({"type": "object", "required": ["a"]});
    deep["properties"] = Value::Object(properties);
    for _ in 0..40 {
        deep = any_of(deep);
    }
    let client = hostile(
        Some(deep),
        json!({"content": [], "structuredContent": {"a": 1}}),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(20), async {
        client.list_all_tools().await.unwrap();
        client.list_all_tools().await.unwrap();
        client.call_tool("t", ()).await.unwrap();
    })
    .await
    .expect("listed and checked within 20 s");
}
