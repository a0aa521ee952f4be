//! Tools through the Router and extractors, in both eras, every frame schema-checked.

use std::sync::{Arc, Mutex};

use oxmcp::client::EraChoice;
use oxmcp::protocol::ProtocolVersion;
use oxmcp::server::{tool, Args, Context, Json, Router, State, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::support::{checked, code, legacy, modern, modern_meta, Raw};

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// First term.
    a: i64,
    /// Second term.
    b: i64,
}

async fn add(Args(args): Args<AddArgs>) -> String {
    (args.a + args.b).to_string()
}

#[derive(Serialize, JsonSchema)]
struct Weather {
    city: String,
    temperature_c: f64,
}

#[derive(Deserialize, JsonSchema)]
struct City {
    city: String,
}

async fn weather(Args(q): Args<City>) -> Json<Weather> {
    Json(Weather {
        city: q.city,
        temperature_c: 12.5,
    })
}

/// Fails with a mix of errors through `?`: a `ToolError` keeps its channel in the box, any
/// other error is an execution error.
async fn fail(Args(mode): Args<Mode>) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    match mode.mode.as_str() {
        "execution" => Err(ToolError::execution("the date must be in the future"))?,
        "protocol" => Err(ToolError::protocol(-32001, "backend unavailable"))?,
        "io" => Err(std::io::Error::other("disk on fire"))?,
        _ => Ok("fine".into()),
    }
}

#[derive(Deserialize, JsonSchema)]
struct Mode {
    mode: String,
}

async fn panics() -> String {
    panic!("boom")
}

async fn who(ctx: Context) -> String {
    let client = ctx.client_info().map(|c| c.name).unwrap_or_default();
    format!("{client} {}", ctx.protocol_version())
}

#[derive(Clone)]
struct Counter(Arc<Mutex<u32>>);

async fn count(State(counter): State<Counter>) -> u32 {
    let mut n = counter.0.lock().unwrap();
    *n += 1;
    *n
}

async fn numbers() -> Json<Vec<u8>> {
    Json(vec![1, 2, 3])
}

fn router() -> Router {
    Router::new()
        .tool(
            "add",
            tool(add)
                .title("Add")
                .description("Add two integers.")
                .read_only(),
        )
        .tool("weather", weather)
        .tool("fail", fail)
        .tool("panics", panics)
        .tool("who", who)
        .tool("count", count)
        .tool("numbers", numbers)
        .with_state(Counter(Arc::new(Mutex::new(0))))
}

fn text(result: &oxmcp::protocol::tools::CallToolResult) -> String {
    match &result.content[0] {
        oxmcp::protocol::content::ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[tokio::test]
async fn tools_are_listed_in_order_with_schemas_from_types() {
    for era in [legacy(), modern()] {
        let (client, tap) = checked(router(), era).await;
        let tools = client.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["add", "weather", "fail", "panics", "who", "count", "numbers"]
        );
        let add = &tools[0];
        assert_eq!(add.title.as_deref(), Some("Add"));
        assert_eq!(add.description.as_deref(), Some("Add two integers."));
        assert_eq!(add.annotations.as_ref().unwrap().read_only_hint, Some(true));
        let schema = Value::Object(add.input_schema.clone());
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["a"]["type"], "integer");
        assert_eq!(schema["properties"]["b"]["description"], "Second term.");
        assert_eq!(schema["required"], json!(["a", "b"]));
        assert!(schema["$schema"].as_str().unwrap().contains("2020-12"));
        assert!(add.output_schema.is_none());
        let weather = &tools[1];
        let output = Value::Object(
            weather
                .output_schema
                .clone()
                .expect("Json<T> gives an output schema"),
        );
        assert_eq!(output["properties"]["temperature_c"]["type"], "number");
        // Tools without arguments still have an object schema.
        assert_eq!(
            Value::Object(tools[3].input_schema.clone())["type"],
            "object"
        );
        // A non-object output is wrapped, schema and value alike.
        let numbers = Value::Object(tools[6].output_schema.clone().unwrap());
        assert_eq!(numbers["type"], "object");
        assert_eq!(numbers["properties"]["result"]["type"], "array");
        tap.assert_clean();
    }
}

#[tokio::test]
async fn calls_return_text_and_structured_content() {
    for era in [legacy(), modern()] {
        let (client, tap) = checked(router(), era).await;
        let sum = client
            .call_tool("add", json!({"a": 40, "b": 2}))
            .await
            .unwrap();
        assert_eq!(text(&sum), "42");
        assert_eq!(sum.is_error, None);
        let w = client
            .call_tool("weather", json!({"city": "Lima"}))
            .await
            .unwrap();
        assert_eq!(
            w.structured_content,
            Some(json!({"city": "Lima", "temperature_c": 12.5}))
        );
        let echoed: Value = serde_json::from_str(&text(&w)).unwrap();
        assert_eq!(echoed, json!({"city": "Lima", "temperature_c": 12.5}));
        let n = client.call_tool("numbers", ()).await.unwrap();
        assert_eq!(n.structured_content, Some(json!({"result": [1, 2, 3]})));
        tap.assert_clean();
    }
}

#[tokio::test]
async fn invalid_arguments_name_the_field() {
    for era in [legacy(), modern()] {
        let (client, tap) = checked(router(), era).await;
        let r = client
            .call_tool("add", json!({"a": 1, "b": "two"}))
            .await
            .unwrap();
        assert_eq!(r.is_error, Some(true));
        assert_eq!(
            text(&r),
            r#"invalid arguments: b: invalid type: string "two", expected i64"#
        );
        let r = client.call_tool("add", json!({"a": 1})).await.unwrap();
        assert_eq!(text(&r), "invalid arguments: missing field `b`");
        tap.assert_clean();
    }
    // Before 2025-11-25 the same mistake is a JSON-RPC error.
    let (client, tap) = checked(router(), EraChoice::Legacy(ProtocolVersion::V2025_06_18)).await;
    let err = client
        .call_tool("add", json!({"a": 1, "b": "two"}))
        .await
        .unwrap_err();
    let rpc = err.rpc_error().expect("a JSON-RPC error");
    assert_eq!(rpc.code, -32602);
    assert!(rpc.message.contains("b: invalid type"), "{}", rpc.message);
    tap.assert_clean();
}

#[tokio::test]
async fn tool_errors_take_the_chosen_channel() {
    for era in [legacy(), modern()] {
        let (client, tap) = checked(router(), era).await;
        let r = client
            .call_tool("fail", json!({"mode": "execution"}))
            .await
            .unwrap();
        assert_eq!(
            (r.is_error, text(&r)),
            (Some(true), "the date must be in the future".to_owned())
        );
        let r = client
            .call_tool("fail", json!({"mode": "io"}))
            .await
            .unwrap();
        assert_eq!(
            (r.is_error, text(&r)),
            (Some(true), "disk on fire".to_owned())
        );
        let e = client
            .call_tool("fail", json!({"mode": "protocol"}))
            .await
            .unwrap_err();
        assert_eq!(e.rpc_error().unwrap().code, -32001);
        let e = client.call_tool("panics", ()).await.unwrap_err();
        assert_eq!(e.rpc_error().unwrap().code, -32603);
        let e = client.call_tool("no_such_tool", ()).await.unwrap_err();
        assert_eq!(e.rpc_error().unwrap().code, -32602);
        assert!(e.rpc_error().unwrap().message.contains("no_such_tool"));
        // The connection survives all of it.
        assert_eq!(
            text(
                &client
                    .call_tool("add", json!({"a": 1, "b": 1}))
                    .await
                    .unwrap()
            ),
            "2"
        );
        tap.assert_clean();
    }
}

#[tokio::test]
async fn context_and_state_extractors() {
    let (client, tap) = checked(router(), legacy()).await;
    assert_eq!(
        text(&client.call_tool("who", ()).await.unwrap()),
        "oxmcp-test-client 2025-11-25"
    );
    assert_eq!(text(&client.call_tool("count", ()).await.unwrap()), "1");
    assert_eq!(text(&client.call_tool("count", ()).await.unwrap()), "2");
    tap.assert_clean();
    let (client, tap) = checked(router(), modern()).await;
    assert_eq!(
        text(&client.call_tool("who", ()).await.unwrap()),
        "oxmcp-test-client 2026-07-28"
    );
    tap.assert_clean();
}

#[tokio::test]
async fn arguments_that_are_not_an_object_are_rejected() {
    let mut raw = Raw::start(router());
    let r = raw
        .call_invalid(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"_meta": modern_meta(), "name": "add", "arguments": [1, 2]}}))
        .await;
    assert_eq!(r["result"]["isError"], true);
    let r = raw
        .call_invalid(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"_meta": modern_meta()}}))
        .await;
    assert_eq!(code(&r), -32602);
    raw.finish().await;
}

#[test]
#[should_panic(expected = "registered already")]
fn duplicate_names_panic() {
    let _: Router = Router::new().tool("add", add).tool("add", add);
}

#[test]
#[should_panic(expected = "invalid tool name")]
fn bad_names_panic() {
    let _: Router = Router::new().tool("add numbers", add);
}

async fn two_args(Args(_a): Args<AddArgs>, Args(_b): Args<City>) -> String {
    String::new()
}

#[test]
#[should_panic(expected = "only one argument that decodes")]
fn two_argument_decoders_panic() {
    let _: Router = Router::new().tool("two", two_args);
}

async fn scalar(Args(n): Args<u32>) -> String {
    n.to_string()
}

#[test]
#[should_panic(expected = "must be a JSON object")]
fn scalar_arguments_panic() {
    let _: Router = Router::new().tool("scalar", scalar);
}
