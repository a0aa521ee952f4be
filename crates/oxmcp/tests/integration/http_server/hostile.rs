//! Hostile clients: slow headers and bodies, idle connections, floods, forged headers.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::text_of;
use super::{HttpConfig, Server};

/// Waits (5 s at most) until the server closes `stream`; what it sent before.
pub(super) async fn closed_by_server(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closed the connection within 5 s");
    String::from_utf8_lossy(&seen).into_owned()
}

/// Whether the server answers anything on `stream` within `wait`.
async fn answers_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut buf)).await,
        Ok(Ok(n)) if n > 0
    )
}

fn ping_request(port: u16) -> String {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\naccept: application/json, text/event-stream\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn half_a_request_line_is_not_held_forever() {
    let server = Server::start_with(HttpConfig::new(), |s| {
        s.header_timeout(Duration::from_millis(200))
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"POST /mcp HTT").await.unwrap();
    closed_by_server(&mut stream).await;
    server.shutdown().await;
}

#[tokio::test]
async fn many_idle_connections_are_closed() {
    let server = Server::start_with(HttpConfig::new(), |s| {
        s.header_timeout(Duration::from_millis(200))
    })
    .await;
    let mut idle = Vec::new();
    for i in 0..50 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // Some send a byte of a request, some nothing at all.
        if i % 2 == 0 {
            stream.write_all(b"P").await.unwrap();
        }
        idle.push(stream);
    }
    for stream in &mut idle {
        closed_by_server(stream).await;
    }
    // A keep-alive connection left idle after its answer is closed too.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(ping_request(server.addr.port()).as_bytes())
        .await
        .unwrap();
    let answer = closed_by_server(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_slow_body_gets_408() {
    let server = Server::start(HttpConfig::new().body_timeout(Duration::from_millis(300))).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\naccept: application/json\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n",
        server.addr.port()
    );
    let answer = trickled(&mut stream, &head).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within"), "{answer}");
    server.shutdown().await;
}

/// Sends `head`, then a byte of body every 50 ms for 600 ms; what the server answered
/// before it closed the connection.
pub(super) async fn trickled(stream: &mut TcpStream, head: &str) -> String {
    stream.write_all(head.as_bytes()).await.unwrap();
    let trickle = async {
        for _ in 0..100 {
            if stream.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(600), trickle).await;
    closed_by_server(stream).await
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let server = Server::start_with(HttpConfig::new(), |s| {
        s.max_connections(2).header_timeout(None)
    })
    .await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let _second = TcpStream::connect(server.addr).await.unwrap();
    // Give the server time to accept both.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third
        .write_all(ping_request(server.addr.port()).as_bytes())
        .await
        .unwrap();
    assert!(
        !answers_within(&mut third, Duration::from_millis(300)).await,
        "the third connection waits while two are open"
    );
    first.shutdown().await.unwrap();
    drop(first);
    assert!(
        answers_within(&mut third, Duration::from_secs(5)).await,
        "served once a slot is free"
    );
    drop(third);
    server.shutdown().await;
}

#[tokio::test]
async fn long_streams_outlive_the_header_timeout() {
    let server = Server::start_with(HttpConfig::new(), |s| {
        s.header_timeout(Duration::from_millis(100))
    })
    .await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let mut stream = client
        .send("GET", &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(stream.status, 200);
    stream.next_event().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.handle.add_tool("late", super::echo).unwrap();
    let (_, changed) = client.sse_message(&mut stream).await.unwrap();
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    // A slow JSON answer is not cut either (the tool sleeps 200 ms).
    let resp = client
        .post(&super::wire::call(1, "slow", json!({})), &[])
        .await;
    assert_eq!(text_of(&client.json(resp).await), "slept");
    drop(stream);
    server.shutdown().await;
}

/// As many refusals as the POST's outbound holds (1,024, the largest batch): each is
/// answered, for a client taking SSE and for one taking only JSON; a larger batch gets one
/// error that says so (it hung before: the refusals filled the outbound, drained only after
/// the batch was handled).
#[tokio::test]
async fn a_refused_batch_larger_than_the_outbound_is_answered() {
    let server = Server::start(HttpConfig::new()).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    for (n, answers) in [(1_024, 1_024), (1_100, 1)] {
        let batch: Vec<_> = (0..n)
            .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
            .collect();
        let body = serde_json::Value::from(batch).to_string();
        for accept in ["application/json, text/event-stream", "application/json"] {
            let answered = tokio::time::timeout(Duration::from_secs(10), async {
                let mut resp = client
                    .send("POST", &[("accept", accept)], Some(&body))
                    .await;
                if resp.content_type().starts_with("text/event-stream") {
                    let mut count = 0;
                    while let Some(event) = resp.next_event().await {
                        if !event.data.is_empty() {
                            count += 1;
                        }
                    }
                    count
                } else {
                    let answers: serde_json::Value =
                        serde_json::from_str(&resp.text().await).unwrap();
                    answers.as_array().map_or(1, Vec::len)
                }
            })
            .await
            .unwrap_or_else(|_| panic!("the batch is answered ({accept})"));
            assert_eq!(answered, answers, "{n} items, {accept}");
        }
    }
    server.shutdown().await;
}

/// Host and Origin values that smuggle another host (userinfo, a bad port) are refused,
/// with a text that says what was expected.
#[tokio::test]
async fn forged_hosts_and_origins_are_refused() {
    let server = Server::start(HttpConfig::new()).await;
    let client = server.client();
    let init = super::init_message().to_string();
    for host in [
        "127.0.0.1:1@evil.com",
        "localhost@evil.com",
        "localhost:80@evil.com:80",
        "127.0.0.1:8o",
        "[::1]evil.com",
    ] {
        let resp = client.send("POST", &[("host", host)], Some(&init)).await;
        assert_eq!(resp.status, 403, "{host}");
        let why = resp.text().await;
        assert!(why.contains("expected host[:port]"), "{host}: {why}");
    }
    for origin in [
        "http://127.0.0.1:1@evil.com",
        "http://localhost@evil.com",
        "http://localhost:1x",
        "javascript://localhost",
    ] {
        let resp = client
            .send("POST", &[("origin", origin)], Some(&init))
            .await;
        assert_eq!(resp.status, 403, "{origin}");
        let why = resp.text().await;
        assert!(
            why.contains("expected scheme://host[:port]"),
            "{origin}: {why}"
        );
    }
    server.shutdown().await;
}

fn initialize_as(version: &str) -> String {
    let mut message = super::init_message();
    message["params"]["protocolVersion"] = json!(version);
    message.to_string()
}

/// `MCP-Protocol-Version` must agree with `initialize`'s `protocolVersion`, then with the
/// version it negotiated; an unknown value is refused rather than taken for a modern
/// request. Each refusal says what was expected and names the supported versions.
#[tokio::test]
async fn the_protocol_version_header_is_checked_on_legacy_sessions() {
    let server = Server::start(HttpConfig::new()).await;
    let client = server.client();
    for (header, body) in [("2025-06-18", "2025-11-25"), ("2099-01-01", "2025-11-25")] {
        let resp = client
            .send(
                "POST",
                &[("mcp-protocol-version", header)],
                Some(&initialize_as(body)),
            )
            .await;
        assert_eq!(resp.status, 400, "{header} vs {body}");
        let text = resp.text().await;
        assert!(
            text.contains("does not match")
                && text.contains("supported versions: ")
                && text.contains("2025-11-25, "),
            "{text}"
        );
    }
    // Header and body agree: negotiated as usual, down to ours for a newer one.
    for (asked, negotiated) in [("2025-06-18", "2025-06-18"), ("2099-01-01", "2025-11-25")] {
        let resp = client
            .send(
                "POST",
                &[("mcp-protocol-version", asked)],
                Some(&initialize_as(asked)),
            )
            .await;
        assert_eq!(resp.status, 200, "{asked}");
        let answer: serde_json::Value = serde_json::from_str(&resp.text().await).unwrap();
        assert_eq!(answer["result"]["protocolVersion"], negotiated);
    }

    let mut client = server.client();
    client.initialize(json!({})).await;
    let list = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"});
    // An older legacy revision is taken (the official conformance suite 0.1.16 sends
    // 2025-03-26 on a 2025-11-25 session); an unknown one is not (a modern one takes the
    // modern path, which needs its own headers).
    for older in ["2025-03-26", "2025-06-18"] {
        let resp = client.post(&list, &[("mcp-protocol-version", older)]).await;
        assert_eq!(resp.status, 200, "{older}");
    }
    for wrong in ["2099-01-01", "garbage"] {
        let resp = client.post(&list, &[("mcp-protocol-version", wrong)]).await;
        assert_eq!(resp.status, 400, "{wrong}");
        let text = resp.text().await;
        assert!(
            text.contains("expected \"2025-11-25\"") && text.contains("supported versions"),
            "{text}"
        );
        let resp = client
            .send(
                "GET",
                &[
                    ("mcp-protocol-version", wrong),
                    ("accept", "text/event-stream"),
                ],
                None,
            )
            .await;
        assert_eq!(resp.status, 400, "GET {wrong}");
    }
    // No header at all is still taken (clients older than the header).
    let resp = client.post(&list, &[("mcp-protocol-version", "")]).await;
    assert_eq!(resp.status, 200);
    server.shutdown().await;
}

async fn initialize_from(server: &Server, forwarded_for: Option<&str>) -> (u16, Option<String>) {
    let client = server.client();
    let mut headers = vec![];
    if let Some(address) = forwarded_for {
        headers.push(("x-forwarded-for", address));
    }
    let resp = client
        .send("POST", &headers, Some(&super::init_message().to_string()))
        .await;
    (
        resp.status,
        resp.header("mcp-session-id").map(str::to_owned),
    )
}

async fn session_alive(server: &Server, session: &str) -> bool {
    let client = server.client();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let resp = client
        .send("POST", &[("mcp-session-id", session)], Some(&ping))
        .await;
    resp.status == 200
}

/// A flood of `initialize` does not lock newcomers out: a full table makes room by ending
/// the least recently used idle session, and one address cannot hold more than its share.
#[tokio::test]
async fn a_session_table_flood_does_not_lock_newcomers_out() {
    let server = Server::start(HttpConfig::new().max_sessions(3)).await;
    let mut flood = Vec::new();
    for _ in 0..20 {
        let (status, session) = initialize_from(&server, None).await;
        assert_eq!(status, 200, "room is made for every newcomer");
        flood.push(session.unwrap());
    }
    for (i, session) in flood.iter().enumerate() {
        let alive = session_alive(&server, session).await;
        assert_eq!(
            alive,
            i >= 17,
            "session {i}: only the three most recent are left"
        );
    }
    server.shutdown().await;

    // Per address, behind a trusted proxy: the forwarded client address counts.
    let config = HttpConfig::new()
        .max_sessions_per_peer(2)
        .trusted_proxies(["127.0.0.1".parse().unwrap()]);
    let server = Server::start(config).await;
    let (_, victim) = initialize_from(&server, Some("192.0.2.7")).await;
    let victim = victim.unwrap();
    let mut attacker = Vec::new();
    for _ in 0..10 {
        let (status, session) = initialize_from(&server, Some("198.51.100.1, 127.0.0.1")).await;
        assert_eq!(status, 200);
        attacker.push(session.unwrap());
    }
    assert!(
        session_alive(&server, &victim).await,
        "another address is untouched"
    );
    for (i, session) in attacker.iter().enumerate() {
        let alive = session_alive(&server, session).await;
        assert_eq!(alive, i >= 8, "attacker session {i}: two at most");
    }
    server.shutdown().await;
}

/// Delivered replies kept for resumption are bounded in bytes, and freed with their
/// session; an absurd Last-Event-ID is just unknown.
#[tokio::test]
async fn the_event_store_is_bounded_in_bytes_and_freed_with_the_session() {
    use oxmcp::server::http::InMemoryEventStore;
    let store =
        std::sync::Arc::new(InMemoryEventStore::default().byte_limits(64 * 1024, 256 * 1024));
    let server = Server::start(HttpConfig::new().event_store(store.clone())).await;
    let mut client = server.client();
    client.initialize(json!({})).await;
    let text = "x".repeat(50 * 1024);
    for i in 0..20 {
        let mut resp = client
            .post(
                &super::wire::call(i, "echo", json!({"text": text})),
                &[("accept", "text/event-stream")],
            )
            .await;
        let (_, answer) = client.sse_message(&mut resp).await.unwrap();
        assert_eq!(answer["id"], i);
    }
    assert!(
        store.bytes() <= 256 * 1024,
        "bounded: {} bytes kept",
        store.bytes()
    );
    let long_id = format!("{}#1", "a".repeat(16 * 1024));
    let resp = client.resume(&long_id).await;
    assert_eq!(resp.status, 404);
    let resp = client.send("DELETE", &[], None).await;
    assert_eq!(resp.status, 204);
    assert_eq!(store.bytes(), 0, "the session's events are gone with it");
    server.shutdown().await;
}
