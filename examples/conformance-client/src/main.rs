//! The client under test for the official MCP conformance suite.
//!
//! The suite starts it once per client scenario: the scenario's name is in
//! `MCP_CONFORMANCE_SCENARIO`, its context (JSON, when it has one) in
//! `MCP_CONFORMANCE_CONTEXT`, the protocol revision in `MCP_CONFORMANCE_PROTOCOL_VERSION`
//! (0.2 suites), and the server URL is the last argument. It exits 0 when the scenario's
//! steps succeeded.

use std::process::ExitCode;
use std::time::Duration;

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::elicitation::{ElicitAction, ElicitRequestParams, ElicitResult};
use oxmcp::protocol::{ErrorObject, ProtocolVersion};
use serde_json::{json, Map, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Colour only for a person at a terminal: hosts write server stderr to log files.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let Some(url) = std::env::args().skip(1).last() else {
        eprintln!("usage: conformance-client <server url>  (scenario in MCP_CONFORMANCE_SCENARIO)");
        return ExitCode::from(2);
    };
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    match run(&scenario, &url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance-client: scenario {scenario:?} failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Which era the suite asks for.
fn era() -> EraChoice {
    match std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION")
        .ok()
        .as_deref()
        .and_then(ProtocolVersion::parse)
    {
        Some(v) if v.is_modern() => EraChoice::Modern,
        Some(v) => EraChoice::Legacy(v),
        None => EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY),
    }
}

/// Accepts every form, filling each field with its schema default (or a value of its type).
async fn accept_with_defaults(params: ElicitRequestParams) -> Result<ElicitResult, ErrorObject> {
    let params = serde_json::to_value(&params).unwrap_or_default();
    let mut content = Map::new();
    if let Some(properties) = params["requestedSchema"]["properties"].as_object() {
        for (name, field) in properties {
            let value = match field.get("default") {
                Some(default) => default.clone(),
                None => match field["type"].as_str() {
                    Some("boolean") => json!(true),
                    Some("integer") | Some("number") => json!(0),
                    Some("array") => json!([]),
                    _ => field["enum"]
                        .get(0)
                        .cloned()
                        .unwrap_or_else(|| json!("conformance")),
                },
            };
            content.insert(name.clone(), value);
        }
    }
    let mut result = ElicitResult::new(ElicitAction::Accept);
    result.content = Some(content);
    Ok(result)
}

async fn connect(url: &str) -> oxmcp::Result<Client> {
    Client::builder()
        .name("oxmcp-conformance-client")
        .era(era())
        .request_timeout(Some(Duration::from_secs(30)))
        .on_elicitation(accept_with_defaults)
        .connect_http(url)
        .await
}

fn context() -> Value {
    std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or(Value::Null)
}

async fn run(scenario: &str, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = connect(url).await?;
    let tools = client.list_all_tools().await?;
    let has = |name: &str| tools.iter().any(|t| t.name == name);
    match scenario {
        "tools_call" => {
            client
                .call_tool("add_numbers", json!({"a": 5, "b": 3}))
                .await?;
        }
        "elicitation-sep1034-client-defaults" => {
            client
                .call_tool("test_client_elicitation_defaults", json!({}))
                .await?;
        }
        "sse-retry" => {
            client.call_tool("test_reconnection", json!({})).await?;
        }
        "sep-2322-client-request-state" => {
            for tool in [
                "test_mrtr_echo_state",
                "test_mrtr_no_state",
                "test_mrtr_unrelated",
                "test_mrtr_no_result_type",
            ] {
                client.call_tool(tool, json!({})).await?;
            }
        }
        "http-standard-headers" => {
            for tool in tools.iter().map(|t| t.name.clone()) {
                let _ = client.call_tool(&tool, json!({})).await;
            }
            for resource in client.list_all_resources().await? {
                let _ = client.read_resource(&resource.uri).await;
            }
            for prompt in client.list_all_prompts().await? {
                let _ = client.get_prompt(&prompt.name, ()).await;
            }
        }
        "http-custom-headers" => {
            for call in context()["toolCalls"].as_array().into_iter().flatten() {
                let name = call["name"].as_str().unwrap_or_default();
                client.call_tool(name, call["arguments"].clone()).await?;
            }
        }
        "http-invalid-tool-headers" if has("valid_tool") => {
            client
                .call_tool("valid_tool", json!({"region": "us-west1"}))
                .await?;
        }
        "json-schema-2020-12-preservation" => {
            if let Some(tool) = tools.iter().find(|t| t.name == "json_schema_2020_12_tool") {
                let schema = Value::Object(tool.input_schema.clone());
                client
                    .call_tool("json_schema_echo", json!({ "schema": schema }))
                    .await?;
            }
        }
        // initialize, request-metadata, json-schema-ref-no-deref and the rest: connecting
        // and listing the tools is the whole scenario.
        _ => {}
    }
    client.close().await?;
    Ok(())
}
