//! oxmcp's client against a server written with the official Python SDK, over stdio,
//! Streamable HTTP and HTTP+SSE; and against the Python SDK 1.x over WebSocket.
//!
//! Run by `cargo xtask interop`, which creates the Python environments and sets
//! `OXMCP_INTEROP_PYTHON` (the interpreter) and `OXMCP_INTEROP_DIR` (`interop/python`),
//! `OXMCP_INTEROP_PYTHON_V1` and `OXMCP_INTEROP_V1_DIR` (`interop/python-v1`) for the 1.x.
//! Without them the test says so and passes, unless `CI` is set: then it fails.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::client::{CallOptions, Client, EraChoice};
use oxmcp::protocol::content::ContentBlock;
use oxmcp::protocol::ProtocolVersion;
use oxmcp::transport::stdio::{ChildCommand, StderrMode};
use serde_json::json;

#[cfg(feature = "oauth")]
#[path = "interop/oauth.rs"]
mod oauth;

fn python_server() -> Option<ChildCommand> {
    let python = std::env::var_os("OXMCP_INTEROP_PYTHON");
    let dir = std::env::var_os("OXMCP_INTEROP_DIR");
    match (python, dir) {
        (Some(python), Some(dir)) => {
            let script = PathBuf::from(dir).join("server.py");
            Some(
                ChildCommand::new(python)
                    .arg(script)
                    .stderr(StderrMode::Capture),
            )
        }
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "OXMCP_INTEROP_PYTHON and OXMCP_INTEROP_DIR must be set in CI (run `cargo xtask interop`)"
            );
            eprintln!("interop: skipped (run `cargo xtask interop` to set up the Python SDK)");
            None
        }
    }
}

fn text(result: &oxmcp::protocol::tools::CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("")
}

async fn exercise(client: &Client) {
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["add", "echo", "slow"]);
    let add = tools.iter().find(|t| t.name == "add").unwrap();
    assert_eq!(
        serde_json::Value::Object(add.input_schema.clone())["type"],
        "object"
    );

    let sum = client
        .call_tool("add", json!({"a": 20, "b": 22}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "42");
    let echo = client
        .call_tool("echo", json!({"text": "héllo ✓"}))
        .await
        .unwrap();
    assert_eq!(text(&echo), "héllo ✓");

    let updates = Arc::new(Mutex::new(0usize));
    let seen = updates.clone();
    let slow = client
        .call_tool_with(
            "slow",
            json!({"seconds": 0.3}),
            CallOptions::new().on_progress(move |_| *seen.lock().unwrap() += 1),
        )
        .await
        .unwrap();
    assert!(!slow.is_error.unwrap_or(false), "{}", text(&slow));
    assert!(
        *updates.lock().unwrap() >= 1,
        "the Python server reports progress"
    );

    let bad = client.call_tool("add", json!({"a": "x", "b": 1})).await;
    match bad {
        Ok(r) => assert_eq!(r.is_error, Some(true)),
        Err(e) => assert!(e.rpc_error().is_some(), "{e}"),
    }
    let missing = client.call_tool("nope", json!({})).await;
    match missing {
        Ok(r) => assert_eq!(r.is_error, Some(true)),
        Err(e) => assert!(e.rpc_error().is_some(), "{e}"),
    }
}

#[tokio::test]
async fn oxmcp_client_against_python_sdk_server() {
    let Some(command) = python_server() else {
        return;
    };
    // Era detection: whatever the Python server speaks, the client must settle on it.
    let client = Client::builder()
        .name("oxmcp-interop")
        .request_timeout(Some(Duration::from_secs(30)))
        .connect_stdio(command.clone())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    eprintln!(
        "interop: auto-detected {} with {:?}",
        client.protocol_version(),
        client.server_info()
    );
    exercise(&client).await;
    let stderr = client
        .child_process()
        .map(|c| c.stderr_output())
        .unwrap_or_default();
    client
        .close()
        .await
        .unwrap_or_else(|e| panic!("close: {e}; server stderr: {stderr}"));

    // Forced legacy handshake, at each legacy revision the Python SDK accepts.
    for version in [
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_03_26,
    ] {
        let client = Client::builder()
            .era(EraChoice::Legacy(version))
            .connect_stdio(command.clone())
            .await
            .unwrap_or_else(|e| panic!("connect at {version}: {e}"));
        assert!(client.protocol_version().is_legacy());
        exercise(&client).await;
        client.close().await.unwrap();
    }
}

/// Starts `server.py --http PORT`; the child dies with the handle.
async fn python_http_server() -> Option<(tokio::process::Child, String)> {
    python_server_over("--http", "/mcp").await
}

/// Starts `server.py FLAG PORT` (`--http`, `--sse`); the child dies with the handle, and
/// the URL of `path` on it.
async fn python_server_over(flag: &str, path: &str) -> Option<(tokio::process::Child, String)> {
    python_script_over("server.py", flag, path, &[]).await
}

/// Starts `SCRIPT --http PORT ARGS` from the interop directory; the child dies with the
/// handle. Returns it and the MCP endpoint's URL.
#[cfg_attr(not(feature = "oauth"), allow(dead_code))]
async fn python_script_http(
    script: &str,
    args: &[&str],
) -> Option<(tokio::process::Child, String)> {
    python_script_over(script, "--http", "/mcp", args).await
}

/// Starts `SCRIPT FLAG PORT ARGS` from the interop directory; the child dies with the
/// handle. Returns it and the URL of `path` on it.
async fn python_script_over(
    script: &str,
    flag: &str,
    path: &str,
    args: &[&str],
) -> Option<(tokio::process::Child, String)> {
    let python = std::env::var_os("OXMCP_INTEROP_PYTHON")?;
    let dir = PathBuf::from(std::env::var_os("OXMCP_INTEROP_DIR")?);
    spawn_listening(python, dir.join(script), flag, path, args).await
}

/// Starts `python script FLAG PORT` on a free port; the child dies with the handle, and
/// the URL of `path` on it once it answers HTTP.
async fn spawn_listening(
    python: std::ffi::OsString,
    script: PathBuf,
    flag: &str,
    path: &str,
    args: &[&str],
) -> Option<(tokio::process::Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = tokio::process::Command::new(python)
        .arg(&script)
        .args([flag, &port.to_string()])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    // Ready once it answers an HTTP request (accepting TCP comes before the app is up).
    for _ in 0..300 {
        if answers_http(port).await {
            return Some((child, format!("http://127.0.0.1:{port}{path}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the Python SDK HTTP server ({}) did not start listening on port {port}",
        script.display()
    );
}

async fn answers_http(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let request =
        format!("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut head)).await,
        Ok(Ok(_)) if head.starts_with(b"HTTP/1.1 ")
    )
}

/// Connects once per era with `connect` (named `what` in failures), checks which era each
/// connection settled on (modern or not, when given), exercises the server and closes.
async fn exercise_each<F, Fut>(what: &str, eras: &[(EraChoice, Option<bool>)], connect: F)
where
    F: Fn(oxmcp::client::ClientBuilder) -> Fut,
    Fut: std::future::Future<Output = oxmcp::Result<Client>>,
{
    for &(era, modern) in eras {
        let builder = Client::builder()
            .name("oxmcp-interop")
            .era(era)
            .request_timeout(Some(Duration::from_secs(30)));
        let client = connect(builder)
            .await
            .unwrap_or_else(|e| panic!("connect {what} ({era:?}): {e} ({e:?})"));
        if let Some(modern) = modern {
            assert_eq!(
                client.protocol_version().is_modern(),
                modern,
                "{what} {era:?}"
            );
        }
        exercise(&client).await;
        client.close().await.unwrap();
    }
}

/// The eras the Python SDK 2.x servers settle on: `Auto` reaches 2026-07-28 with the
/// `server/discover` probe.
const BOTH_ERAS: [(EraChoice, Option<bool>); 2] = [
    (EraChoice::Auto, Some(true)),
    (EraChoice::Legacy(ProtocolVersion::V2025_11_25), Some(false)),
];

#[tokio::test]
async fn oxmcp_http_client_against_python_sdk_http_server() {
    if python_server().is_none() {
        return;
    }
    let (_server, url) = python_http_server().await.expect("start server.py --http");
    exercise_each("over HTTP", &BOTH_ERAS, |b| b.connect_http(url.clone())).await;
}

/// oxmcp's HTTP+SSE client (2024-11-05) against the Python SDK's `mcp.server.sse`.
#[cfg(feature = "sse-client")]
#[tokio::test]
async fn oxmcp_sse_client_against_python_sdk_sse_server() {
    if python_server().is_none() {
        return;
    }
    let (_server, url) = python_server_over("--sse", "/sse")
        .await
        .expect("start server.py --sse");
    // The SDK 2.x server also answers `server/discover` on this transport.
    exercise_each("over HTTP+SSE", &BOTH_ERAS, |b| b.connect_sse(url.clone())).await;
}

/// The oxmcp Streamable HTTP client given the URL of an HTTP+SSE-only server (the Python
/// SDK's `mcp.server.sse` at `/sse`) falls back to HTTP+SSE, as the specification's
/// backwards-compatibility section describes, and works.
#[cfg(feature = "sse-client")]
#[tokio::test]
async fn oxmcp_http_client_falls_back_to_python_sdk_sse_server() {
    if python_server().is_none() {
        return;
    }
    let (_server, url) = python_server_over("--sse", "/sse")
        .await
        .expect("start server.py --sse");
    let eras = BOTH_ERAS.map(|(era, _)| (era, None));
    exercise_each("connect_http to an SSE-only URL", &eras, |b| {
        b.connect_http(url.clone())
    })
    .await;
}

/// oxmcp's WebSocket client against the Python SDK 1.x's `mcp.server.websocket` (served
/// by `interop/python-v1/ws_server.py` with starlette and uvicorn): the SDK 1.x speaks the
/// handshake era only, so `Auto` settles on it after the `server/discover` probe.
#[cfg(feature = "ws-client")]
#[tokio::test]
async fn oxmcp_ws_client_against_python_sdk_v1_ws_server() {
    let (Some(python), Some(dir)) = (
        std::env::var_os("OXMCP_INTEROP_PYTHON_V1"),
        std::env::var_os("OXMCP_INTEROP_V1_DIR"),
    ) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "OXMCP_INTEROP_PYTHON_V1 and OXMCP_INTEROP_V1_DIR must be set in CI (run `cargo xtask interop`)"
        );
        eprintln!("interop: skipped (run `cargo xtask interop` to set up the Python SDK 1.x)");
        return;
    };
    let script = PathBuf::from(dir).join("ws_server.py");
    let (_server, url) = spawn_listening(python, script, "--port", "/ws", &[])
        .await
        .expect("start ws_server.py");
    let url = url.replacen("http://", "ws://", 1);
    let eras = [
        (EraChoice::Auto, Some(false)),
        (EraChoice::Legacy(ProtocolVersion::V2025_11_25), Some(false)),
        (EraChoice::Legacy(ProtocolVersion::V2025_06_18), Some(false)),
    ];
    exercise_each("over WebSocket", &eras, |b| b.connect_ws(url.clone())).await;
}
