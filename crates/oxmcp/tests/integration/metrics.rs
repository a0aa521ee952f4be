//! Metrics (feature `metrics`): `/metrics`, `/healthz` and `/readyz` beside the MCP
//! endpoint, checked by real consumers: `promtool check metrics` reads the exposition,
//! and a real Prometheus scrapes it and counts the calls made.
//!
//! `promtool` and `prometheus` come from Debian's `prometheus` package (`cargo xtask ci`
//! installs it); without them (outside CI) those checks are skipped with a message.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use oxmcp::client::Client;
use oxmcp::metrics::{Health, Metrics, MetricsLayer};
use oxmcp::server::{tool, Router, ToolError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing_subscriber::layer::SubscriberExt;

async fn echo() -> &'static str {
    "echoed"
}

async fn broken() -> Result<String, ToolError> {
    Err(ToolError::execution("it broke"))
}

/// A plain `GET`: the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The path of `tool` when it is installed; `None` (and a message) when it is not, which
/// only CI treats as a failure.
fn installed(tool: &str) -> Option<&'static str> {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let path = format!("{dir}/{tool}");
        if std::path::Path::new(&path).exists() {
            return Some(Box::leak(path.into_boxed_str()));
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{tool} is not installed (Debian package `prometheus`; `cargo xtask ci` installs it)"
    );
    eprintln!("skipped: {tool} is not installed (Debian package `prometheus`)");
    None
}

/// Checks an exposition with `promtool check metrics` (when installed).
pub(crate) async fn promtool_check(text: &str) {
    let Some(promtool) = installed("promtool") else {
        return;
    };
    let mut check = tokio::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .await
        .unwrap();
    let out = check.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Queries a Prometheus until `query` answers a sample whose value is `want`.
async fn wait_for_value(prometheus: SocketAddr, query: &str, want: &str) -> Result<(), String> {
    let encoded: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(prometheus).await {
            let request = format!(
                "GET /api/v1/query?query={encoded} HTTP/1.1\r\nHost: {prometheus}\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(request.as_bytes()).await.is_ok() {
                last.clear();
                let _ = stream.read_to_string(&mut last).await;
                if last.contains(&format!(",\"{want}\"]")) {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(last)
}

#[tokio::test]
async fn metrics_count_the_calls_and_real_prometheus_reads_them() {
    let metrics = Metrics::new();
    let subscriber = tracing_subscriber::registry().with(MetricsLayer::new(metrics.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);

    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let up = healthy.clone();
    let health = Health::new().check(move || {
        if up.load(std::sync::atomic::Ordering::SeqCst) {
            Ok(())
        } else {
            Err("the database is down".into())
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = Router::new()
        .tool("echo", echo)
        .tool("broken", tool(broken));
    let server = tokio::spawn(
        router
            .http_on(listener)
            .metrics(metrics.clone())
            .health(health.clone())
            .no_signal_handlers()
            .shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );

    // A legacy session, so that the sessions gauge has one to count.
    let client = Client::builder()
        .era(crate::support::legacy())
        .connect_http(format!("http://{addr}/mcp"))
        .await
        .unwrap();
    for _ in 0..3 {
        client.call_tool("echo", ()).await.unwrap();
    }
    let failed = client.call_tool("broken", ()).await.unwrap();
    assert_eq!(failed.is_error, Some(true));

    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    let echo_count = text
        .lines()
        .find(|l| {
            l.starts_with("mcp_server_operation_duration_seconds_count{")
                && l.contains("gen_ai_tool_name=\"echo\"")
        })
        .unwrap_or_else(|| panic!("no echo series in {text}"));
    assert!(echo_count.ends_with(" 3"), "{echo_count}");
    assert!(
        echo_count.contains("mcp_method_name=\"tools/call\""),
        "{echo_count}"
    );
    assert!(
        echo_count.contains("network_transport=\"tcp\""),
        "{echo_count}"
    );
    assert!(
        text.contains("mcp_server_operation_duration_seconds_bucket{")
            && text.contains("le=\"300\"}")
            && text.contains("le=\"+Inf\"}"),
        "{text}"
    );
    assert!(
        text.contains("mcp_server_errors_total{error_type=\"tool_error\"} 1"),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("mcp_client_operation_duration_seconds_count{")
                && l.contains("gen_ai_tool_name=\"echo\"")
                && l.ends_with(" 3")
        ),
        "{text}"
    );
    assert!(text.contains("mcp_server_sessions_open 1"), "{text}");
    assert!(text.contains("mcp_server_requests_in_flight 0"), "{text}");

    // promtool accepts the exposition as it is.
    promtool_check(&text).await;

    // A real Prometheus scrapes the endpoint and counts the calls.
    if let Some(prometheus) = installed("prometheus") {
        let dir = std::env::temp_dir().join(format!("oxmcp-prometheus-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: oxmcp\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{addr}']\n"
            ),
        )
        .unwrap();
        let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut child = tokio::process::Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let found = wait_for_value(
            web,
            "sum(mcp_server_operation_duration_seconds_count{mcp_method_name=\"tools/call\",gen_ai_tool_name=\"echo\"})",
            "3",
        )
        .await;
        // Stopped by its own handle (its PID), whatever the outcome.
        let _ = child.kill().await;
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(last) = found {
            panic!("Prometheus never counted 3 calls of echo; last answer: {last}");
        }
    }

    // Health: alive always; ready until a check fails or the server drains.
    assert_eq!(get(addr, "/healthz").await.0, 200);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("the database is down"), "{body}");
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    health.drain();
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("draining"), "{body}");

    // Sessions: the legacy session's end gives the session durations on both sides.
    client.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let (_, text) = get(addr, "/metrics").await;
        if text.contains("mcp_server_sessions_open 0") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for side in ["server", "client"] {
        assert!(
            text.lines().any(|l| l
                .starts_with(&format!("mcp_{side}_session_duration_seconds_count{{"))
                && l.contains("mcp_protocol_version=\"2025-11-25\"")
                && l.ends_with(" 1")),
            "{side}: {text}"
        );
    }
    assert!(text.contains("mcp_server_sessions_open 0"), "{text}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn stdio_servers_serve_the_endpoints_on_an_address_of_their_own() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let health = Health::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(oxmcp::server::http::serve_operations(
        listener,
        Metrics::new(),
        health.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE mcp_server_operation_duration_seconds histogram"));
    assert_eq!(get(addr, "/readyz").await.0, 200);
    assert_eq!(get(addr, "/elsewhere").await.0, 404);
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    assert!(health.is_draining());
}
