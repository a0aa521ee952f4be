//! The client under test for the official MCP conformance suite.
//!
//! The suite starts it once per client scenario: the scenario's name is in
//! `MCP_CONFORMANCE_SCENARIO`, its context (JSON, when it has one) in
//! `MCP_CONFORMANCE_CONTEXT`, the protocol revision in `MCP_CONFORMANCE_PROTOCOL_VERSION`
//! (0.2 suites), and the server URL is the last argument. It exits 0 when the scenario's
//! steps succeeded.
//!
//! Every connection is configured for OAuth through `oxmcp::client::oauth`, with one
//! configuration per kind of grant, chosen from the context: client credentials when the
//! context gives a client that acts for itself, a pre-registered client when it gives
//! one, a client assertion key, a workload's identity token or an enterprise user's ID
//! token when it gives those, else the authorization code flow with a Client ID Metadata
//! Document URL (dynamic registration as fallback) and DPoP where the server offers it. The user agent stands in for a browser whose user
//! approves at once: it follows the authorization URL and reads the redirect.

use std::process::ExitCode;
use std::time::Duration;

use oxmcp::client::oauth::{AgentFuture, IdentityProvider, OAuth, SigningKey, UserAgent};
use oxmcp::client::{Client, EraChoice, HttpClientConfig};
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

/// The client's Client ID Metadata Document (the suite accepts this URL as is).
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// The redirect URI registered for this client.
const REDIRECT_URI: &str = "http://localhost:3000/callback";

/// A browser whose user approves every request: it opens the authorization URL and
/// returns where the authorization server redirects to.
struct ApprovingBrowser;

impl UserAgent for ApprovingBrowser {
    fn redirect_uri(&self) -> String {
        REDIRECT_URI.to_owned()
    }

    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a> {
        Box::pin(async move {
            // Built here, once the transport has installed the TLS crypto provider.
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| oxmcp::Error::authorization(format!("no HTTP client: {e}")))?;
            let response =
                http.get(url).send().await.map_err(|e| {
                    oxmcp::Error::authorization(format!("could not open {url}: {e}"))
                })?;
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    oxmcp::Error::authorization(format!(
                        "no redirect from {url} (HTTP {})",
                        response.status()
                    ))
                })?;
            Ok(location.to_owned())
        })
    }
}

/// The OAuth configuration for the kind of grant the context calls for: the
/// credentials a deployment would be configured with.
fn oauth(context: &Value) -> Result<OAuth, oxmcp::Error> {
    let field = |name: &str| context[name].as_str().unwrap_or_default().to_owned();
    let has = |name: &str| context[name].is_string();
    Ok(if has("private_key_pem") {
        // A service with a key pair registered at the authorization server.
        let alg = context["signing_algorithm"].as_str().unwrap_or("ES256");
        let key = SigningKey::from_pem(&field("private_key_pem"), alg)?;
        OAuth::client_credentials_jwt(field("client_id"), key)
    } else if has("idp_id_token") {
        // An enterprise user signed in at their identity provider.
        let idp = IdentityProvider::new(
            field("idp_token_endpoint"),
            field("idp_client_id"),
            field("idp_id_token"),
        );
        OAuth::enterprise_managed(idp)
            .client_id(field("client_id"))
            .client_secret(field("client_secret"))
    } else if has("valid_jwt") {
        // A workload with an identity token from its platform.
        OAuth::jwt_bearer(field("client_id"), field("valid_jwt"))
    } else if context["name"].as_str() == Some("auth/client-credentials-basic") {
        OAuth::client_credentials(field("client_id"), field("client_secret"))
    } else {
        let oauth = OAuth::authorization_code(ApprovingBrowser)
            .client_name("oxmcp-conformance-client")
            .client_metadata_url(CLIENT_METADATA_URL)
            .dpop(true);
        match context["client_secret"].as_str() {
            Some(secret) => oauth.client_id(field("client_id")).client_secret(secret),
            None => oauth,
        }
    })
}

async fn connect(url: &str) -> oxmcp::Result<Client> {
    let config = HttpClientConfig::new(url).oauth(oauth(&context())?);
    Client::builder()
        .name("oxmcp-conformance-client")
        .era(era())
        .request_timeout(Some(Duration::from_secs(30)))
        .on_elicitation(accept_with_defaults)
        .connect_http_with(config)
        .await
}

/// The skills scenarios: list the skills; `no-prefetch` stops there (nothing is read
/// before a skill is needed); the `verify-*` ones load the first skill, whose `SKILL.md`
/// was tampered with, and would read its other files only if it verified.
async fn skills(client: &Client, mode: &str) -> Result<(), Box<dyn std::error::Error>> {
    let skills = client.list_skills().await?;
    if mode != "no-prefetch" {
        if let Some(entry) = skills.first() {
            let loaded = client.load_skill(entry).await?;
            if let oxmcp::skills::SkillResources::Files(files) = &loaded.entry.resources {
                for file in files.iter().filter(|f| f.uri != entry.uri) {
                    client.read_skill_file(entry, &file.uri).await?;
                }
            }
        }
    }
    Ok(())
}

fn context() -> Value {
    std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or(Value::Null)
}

async fn run(scenario: &str, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = connect(url).await?;
    if let Some(mode) = scenario.strip_prefix("sep-2640-client-") {
        let outcome = skills(&client, mode).await;
        client.close().await?;
        return outcome;
    }
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
        // The auth scenarios: a call after the listing (it may need more scopes).
        _ if has("test-tool") => {
            client.call_tool("test-tool", json!({})).await?;
        }
        // initialize, request-metadata, json-schema-ref-no-deref and the rest: connecting
        // and listing the tools is the whole scenario.
        _ => {}
    }
    client.close().await?;
    Ok(())
}
