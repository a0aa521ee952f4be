//! `oxmcp serve`: a real stdio server (`examples/everything`) behind the bridge, reached by
//! the oxmcp client over Streamable HTTP in both eras, HTTP+SSE and WebSocket; its
//! questions relayed; API keys required; its death reported; SIGTERM drains.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use oxmcp::auth_server::SigningKey;
use oxmcp::client::{CallOptions, Client, ClientBuilder, EraChoice, HttpClientConfig};
use oxmcp::protocol::{
    CreateMessageResult, ElicitRequestParams, ElicitResult, ProtocolVersion, Role,
    SamplingMessageContent,
};
use oxmcp::transport::stdio::ChildCommand;
use serde_json::json;
use support::{everything, http, oxmcp, temp_dir, text, Bridge, OXMCP};

/// `-- everything`.
fn everything_command() -> Vec<String> {
    vec!["--".into(), everything().display().to_string()]
}

/// A client that answers elicitation (as octocat) and sampling (Paris).
fn answering(era: EraChoice) -> ClientBuilder {
    Client::builder()
        .era(era)
        .request_timeout(Some(Duration::from_secs(20)))
        .on_elicitation(|request| async move {
            assert!(matches!(request, ElicitRequestParams::Form(_)));
            let mut answers = serde_json::Map::new();
            answers.insert("username".into(), "octocat".into());
            answers.insert("email".into(), "octocat@example.com".into());
            Ok(ElicitResult::accept(answers))
        })
        .on_sampling(|_| async move {
            Ok(CreateMessageResult::new(
                Role::Assistant,
                SamplingMessageContent::text("Paris"),
                "test-model",
            ))
        })
}

/// Lists and calls through `client`: a plain tool, one that elicits and one that samples.
async fn exercise(client: &Client, label: &str) {
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"test_simple_text"), "{label}: {names:?}");
    let result = client.call_tool("test_simple_text", json!({})).await;
    assert!(
        text(&result.unwrap()).contains("simple text"),
        "{label}: plain call"
    );
    let result = client
        .call_tool("test_elicitation", json!({"message": "who are you?"}))
        .await
        .unwrap();
    let said = text(&result);
    assert!(
        said.contains("action=accept") && said.contains("octocat"),
        "{label}: elicitation relayed: {said}"
    );
    let result = client
        .call_tool("test_sampling", json!({"prompt": "capital of France?"}))
        .await
        .unwrap();
    assert_eq!(text(&result), "LLM response: Paris", "{label}: sampling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_server_is_served_over_every_http_transport_in_both_eras() {
    let mut bridge = Bridge::start(&everything_command());
    for (label, era) in [
        ("modern", EraChoice::Modern),
        ("legacy", EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY)),
    ] {
        let client = answering(era).connect_http(bridge.url()).await.unwrap();
        assert_eq!(
            client.protocol_version().is_modern(),
            label == "modern",
            "{label}"
        );
        exercise(&client, label).await;
        client.close().await.unwrap();
    }
    // The 2024-11-05 HTTP+SSE transport and WebSocket, on the same listener.
    let legacy = Client::builder()
        .era(EraChoice::Legacy(ProtocolVersion::V2024_11_05))
        .connect_sse(format!("{}/sse", bridge.base))
        .await
        .unwrap();
    let result = legacy.call_tool("test_simple_text", json!({})).await;
    assert!(text(&result.unwrap()).contains("simple text"), "HTTP+SSE");
    legacy.close().await.unwrap();
    let ws_url = format!("{}/ws", bridge.base.replace("http://", "ws://"));
    let ws = answering(EraChoice::Auto)
        .connect_ws(&ws_url)
        .await
        .unwrap();
    exercise(&ws, "websocket").await;
    ws.close().await.unwrap();

    bridge.signal("TERM");
    let status = bridge.wait(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{}", bridge.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_api_keys_a_request_without_a_key_gets_401() {
    let dir = temp_dir("serve-keys");
    let keys = dir.join("keys.json");
    std::fs::write(
        &keys,
        r#"{"s3cret-key": {"sub": "alice", "scopes": ["mcp"]}}"#,
    )
    .unwrap();
    let mut args = vec!["--api-keys".to_owned(), keys.display().to_string()];
    args.extend(everything_command());
    let bridge = Bridge::start(&args);

    let (status, head, _) = http(
        &bridge.url(),
        "POST",
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    assert_eq!(status, 401, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    let refused = Client::builder().connect_http(bridge.url()).await;
    assert!(refused.is_err(), "a client without a key is refused");

    let config = HttpClientConfig::new(bridge.url()).header("Authorization", "Bearer s3cret-key");
    let client = Client::builder().connect_http_with(config).await.unwrap();
    let result = client.call_tool("test_simple_text", json!({})).await;
    assert!(text(&result.unwrap()).contains("simple text"));
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_issuer_a_jwt_for_this_endpoint_signed_by_its_keys_is_required() {
    let key = SigningKey::generate_es256().unwrap();
    let dir = temp_dir("serve-jwt");
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, json!({"keys": [key.public_jwk()]}).to_string()).unwrap();
    let issuer = "https://issuer.example";
    let mut args = vec![
        "--jwks".to_owned(),
        jwks.display().to_string(),
        "--issuer".to_owned(),
        issuer.to_owned(),
    ];
    args.extend(everything_command());
    let bridge = Bridge::start(&args);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bearer = |audience: &str| {
        let claims =
            json!({"iss": issuer, "aud": audience, "sub": "alice", "iat": now, "exp": now + 300});
        format!("Bearer {}", key.sign_jwt("at+jwt", &claims))
    };

    // The Protected Resource Metadata names the issuer.
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", bridge.base);
    let (status, _, body) = http(&metadata, "GET", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(issuer), "{body}");
    // The audience is this endpoint: a token for another resource is refused.
    let elsewhere = HttpClientConfig::new(bridge.url())
        .header("Authorization", bearer("https://elsewhere.example/mcp"));
    assert!(Client::builder()
        .connect_http_with(elsewhere)
        .await
        .is_err());
    let here = HttpClientConfig::new(bridge.url()).header("Authorization", bearer(&bridge.url()));
    let client = Client::builder().connect_http_with(here).await.unwrap();
    let result = client.call_tool("test_simple_text", json!({})).await;
    assert!(text(&result.unwrap()).contains("simple text"));
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_death_of_the_server_is_reported_and_ends_serve() {
    let dir = temp_dir("serve-death");
    let pid_file = dir.join("pid");
    let script = format!(
        "echo $$ > '{}'; exec '{}'",
        pid_file.display(),
        everything().display()
    );
    let mut bridge = Bridge::start(&["--".into(), "sh".into(), "-c".into(), script]);
    let client = Client::builder().connect_http(bridge.url()).await.unwrap();
    client.list_all_tools().await.unwrap();
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let killed = Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = bridge.wait(Duration::from_secs(15));
    let stderr = bridge.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("exited (signal: 9") && stderr.contains("stopping"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_call_in_flight_finish() {
    let mut bridge = Bridge::start(&everything_command());
    let client = Client::builder().connect_http(bridge.url()).await.unwrap();
    // The first progress report says the call is running at the back end: stop then.
    let pid = bridge.child.id();
    let signalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let once = signalled.clone();
    let options = CallOptions::new().on_progress(move |_| {
        if !once.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    });
    let result = client
        .call_tool_with("test_tool_with_progress", json!({}), options)
        .await
        .unwrap();
    assert!(signalled.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(text(&result), "Progress test completed");
    let status = bridge.wait(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{}", bridge.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_config_is_served_on_stdio() {
    let dir = temp_dir("serve-hub");
    let config = dir.join("mcp.json");
    let entry = json!({"mcpServers": {"every": {"command": everything().display().to_string()}}});
    std::fs::write(&config, entry.to_string()).unwrap();
    let command =
        ChildCommand::new(OXMCP).args(["serve", "--config", &config.display().to_string()]);
    for era in [
        EraChoice::Modern,
        EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY),
    ] {
        let client = answering(era).connect_stdio(command.clone()).await.unwrap();
        let tools = client.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert!(names.contains(&"every_test_simple_text"), "{names:?}");
        let result = client
            .call_tool("every_test_elicitation", json!({"message": "who?"}))
            .await
            .unwrap();
        assert!(text(&result).contains("octocat"), "{}", text(&result));
        client.close().await.unwrap();
    }
}

#[test]
fn usage_errors_say_what_was_expected() {
    let run = oxmcp(["serve"]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("--config"), "{run:#?}");
    let run = oxmcp(["serve", "--api-keys", "k.json", "--", "x"]);
    assert_eq!(run.code, Some(2), "auth needs --http: {run:#?}");
    let run = oxmcp(["serve", "--http", "256.0.0.1:1", "--", "x"]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("cannot listen on"), "{run:#?}");
    let dir = temp_dir("serve-usage");
    let keys = dir.join("keys.json");
    std::fs::write(&keys, "[1]").unwrap();
    let run = oxmcp([
        "serve",
        "--http",
        "127.0.0.1:0",
        "--api-keys",
        &keys.display().to_string(),
        "--",
        "x",
    ]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("--api-keys"), "{run:#?}");
    assert!(run.stdout.is_empty(), "nothing on stdout: {run:#?}");
}

#[test]
fn a_server_that_cannot_start_fails_with_status_1() {
    let dir = temp_dir("serve-nostart");
    let missing = dir.join("no-such-server").display().to_string();
    for front in [&["--http", "127.0.0.1:0"][..], &[]] {
        let mut args = vec!["serve"];
        args.extend(front);
        args.extend(["--", &missing]);
        let run = oxmcp(&args);
        assert_eq!(run.code, Some(1), "{run:#?}");
        assert!(
            run.stderr.contains("starting and connecting to"),
            "{run:#?}"
        );
        assert!(run.stdout.is_empty(), "{run:#?}");
    }
}
