//! The WebSocket transport at `/ws`: subprotocol `mcp`, one message per text frame.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oxmcp::server::http::HttpConfig;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::sse::router;
use super::start;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: std::net::SocketAddr, subprotocol: Option<&str>) -> Result<Socket, String> {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(subprotocol) = subprotocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", subprotocol.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => {
            assert_eq!(
                response.headers()["sec-websocket-protocol"],
                "mcp",
                "the subprotocol is confirmed"
            );
            Ok(socket)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(format!(
            "{} {}",
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The next text message (5 s at most), as JSON.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The close frame the server ends with (5 s at most).
async fn close_code(socket: &mut Socket) -> CloseCode {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_websocket_speaks_both_eras() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let mut socket = connect(server.addr, Some("mcp")).await.unwrap();
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "ws-test", "version": "1"}}}),
    )
    .await;
    assert_eq!(
        next(&mut socket).await["result"]["protocolVersion"],
        "2025-06-18"
    );
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "over WebSocket"}}}),
    )
    .await;
    let reply = next(&mut socket).await;
    assert_eq!(reply["result"]["content"][0]["text"], "over WebSocket");

    // A modern client on a socket of its own: no handshake, `_meta` on each request.
    let mut modern = connect(server.addr, Some("mcp")).await.unwrap();
    send(
        &mut modern,
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "echo", "arguments": {"text": "modern"},
            "_meta": crate::support::modern_meta()}}),
    )
    .await;
    let reply = next(&mut modern).await;
    assert_eq!(reply["result"]["content"][0]["text"], "modern", "{reply}");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_handshakes_and_frames_are_refused_with_a_reason() {
    let config = HttpConfig::new().body_limit(1024);
    let server = start(router(Arc::default()), config).await;
    let refused = connect(server.addr, None).await.unwrap_err();
    assert!(refused.starts_with("400"), "{refused}");
    assert!(refused.contains("subprotocol"), "{refused}");
    let refused = connect(server.addr, Some("graphql-ws")).await.unwrap_err();
    assert!(refused.starts_with("400"), "{refused}");

    let mut socket = connect(server.addr, Some("mcp")).await.unwrap();
    socket.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(close_code(&mut socket).await, CloseCode::Unsupported);

    let mut socket = connect(server.addr, Some("mcp")).await.unwrap();
    let big = json!({"jsonrpc": "2.0", "method": "x", "params": {"pad": "x".repeat(4096)}});
    let _ = socket.send(Message::text(big.to_string())).await;
    assert_eq!(close_code(&mut socket).await, CloseCode::Size);
}

#[tokio::test]
async fn a_peer_that_never_reads_is_closed() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    // A handshake by hand; then the peer neither reads nor answers pings.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         sec-websocket-protocol: mcp\r\n\r\n",
        server.addr.port()
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut seen)).await;
    assert!(read.is_ok(), "the server closed the connection");
    assert!(seen.starts_with(b"HTTP/1.1 101"));
    // The close frame's code: 1008 (policy: no pong).
    assert!(
        seen.windows(2).any(|w| w == [0x03, 0xf0]),
        "a close frame with code 1008"
    );
}

#[cfg(feature = "ws-client")]
#[tokio::test]
async fn connect_ws_in_both_eras_with_questions() {
    let server = start(router(Arc::default()), HttpConfig::new()).await;
    let url = format!("ws://{}/ws", server.addr);
    super::ask_in_both_eras(|builder| builder.connect_ws(url.clone())).await;
    let error = oxmcp::client::Client::builder()
        .connect_ws(format!("ws://{}/mcp", server.addr))
        .await
        .unwrap_err();
    assert!(error.http_status().is_some(), "{error}");
    server.shutdown().await;
}

/// HTTP+SSE sessions and WebSocket connections count with Streamable HTTP sessions against
/// the caps: an idle `/mcp` session makes room for them, and a full endpoint refuses all
/// three with `503` until one closes.
#[tokio::test]
async fn sse_and_websocket_connections_count_against_the_session_caps() {
    let server = start(router(Arc::default()), HttpConfig::new().max_sessions(2)).await;
    let client = server.client();
    let mut mcp = server.client();
    mcp.initialize(json!({})).await;
    let (stream, _) = super::sse::open(&client).await;
    // Full (one /mcp session, one SSE session): the idle /mcp session makes room.
    let mut socket = connect(server.addr, Some("mcp")).await.unwrap();
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
    let ended = mcp.post(&ping, &[]).await;
    assert_eq!(
        ended.status, 404,
        "the idle /mcp session was ended to make room"
    );

    // Full of connections that are never idle: everything new is refused.
    let refused = client
        .send_to("GET", "/sse", &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(refused.status, 503);
    assert!(refused.text().await.contains("too many sessions"));
    let refused = connect(server.addr, Some("mcp")).await.expect_err("full");
    assert!(refused.starts_with("503"), "{refused}");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"}}});
    let refused = server.client().post(&init, &[]).await;
    assert_eq!(refused.status, 503);

    // Closing the socket gives its place back.
    socket.close(None).await.unwrap();
    drop(socket);
    let reopened = connect_until(server.addr).await;
    drop(reopened);
    drop(stream);
    server.shutdown().await;
}

/// Connects (up to 2 s), waiting for a place to be given back.
async fn connect_until(addr: std::net::SocketAddr) -> Socket {
    for _ in 0..200 {
        if let Ok(socket) = connect(addr, Some("mcp")).await {
            return socket;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no place given back within 2 s");
}

/// A message sent in fragments, each within the limit but together over it, is refused
/// as a whole (close 1009) once the total passes the limit: fragments are not buffered
/// without bound.
#[tokio::test]
async fn a_fragmented_message_over_the_limit_is_refused() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    let server = start(router(Arc::default()), HttpConfig::new().body_limit(1024)).await;
    let mut socket = connect(server.addr, Some("mcp")).await.unwrap();
    let part = "x".repeat(600);
    let first = Frame::message(part.clone(), OpCode::Data(Data::Text), false);
    socket.send(Message::Frame(first)).await.unwrap();
    for _ in 0..3 {
        let more = Frame::message(part.clone(), OpCode::Data(Data::Continue), false);
        if socket.send(Message::Frame(more)).await.is_err() {
            break; // closed already
        }
    }
    assert_eq!(close_code(&mut socket).await, CloseCode::Size);
    server.shutdown().await;
}

/// A tool that sends 40 progress notifications before its reply: more output than input.
async fn noisy(ctx: oxmcp::server::Context) -> &'static str {
    for i in 0..40 {
        ctx.progress(oxmcp::Progress::new(f64::from(i))).await;
    }
    "done"
}

/// A client that pipelines many calls whose output outgrows their input, and pings (which
/// the connection answers itself), while reading everything, gets every reply: the server
/// keeps writing while its reading waits (the socket's reader never waits on the
/// writer's queue, which waits on the connection, which waits on the reader).
#[tokio::test]
async fn pipelined_calls_with_more_output_than_input_are_all_answered() {
    const CALLS: u64 = 400;
    let router = oxmcp::server::Router::new().tool("noisy", noisy);
    // Writes may wait up to a ping interval: a loaded test machine needs more than 100 ms.
    let config = HttpConfig::new().ws_ping_interval(Duration::from_secs(5));
    let server = crate::http_server::Server::start_router(router, config, |serve| serve).await;
    let socket = connect(server.addr, Some("mcp")).await.unwrap();
    let (mut sink, mut stream) = socket.split();
    let reader = tokio::spawn(async move {
        let mut replies = 0;
        while replies < 2 * CALLS {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    // Every response counts (a modern ping may be refused): none is lost.
                    if value.get("id").is_some() {
                        let call = value["id"].as_u64().is_some_and(|id| id <= CALLS);
                        assert!(!call || value["result"].is_object(), "{value}");
                        replies += 1;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the socket ended after {replies} replies: {other:?}"),
            }
        }
        replies
    });
    for id in 1..=CALLS {
        let mut meta = crate::support::modern_meta();
        meta["progressToken"] = json!(id);
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "noisy", "arguments": {}, "_meta": meta}});
        sink.send(Message::text(call.to_string())).await.unwrap();
        // A ping is answered by the connection itself, not by a handler of its own.
        let ping = json!({"jsonrpc": "2.0", "id": CALLS + id, "method": "ping",
            "params": {"_meta": crate::support::modern_meta()}});
        sink.send(Message::text(ping.to_string())).await.unwrap();
    }
    let replies = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("every call answered within 10 s")
        .unwrap();
    assert_eq!(replies, 2 * CALLS);
    server.shutdown().await;
}

/// A raw WebSocket server (subprotocol `mcp`) that answers `initialize` and every other
/// request of the client (with `{}`), and once the client's first ping arrives, sends
/// `count` pings to the client at once; `done` gets the count once the client has
/// answered them all.
async fn pinging_server(
    listener: tokio::net::TcpListener,
    count: usize,
    done: tokio::sync::oneshot::Sender<usize>,
) {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let (tcp, _) = listener.accept().await.unwrap();
    // The callback's error type is tungstenite's, large by its design.
    #[allow(clippy::result_large_err)]
    let confirm = |_: &Request, mut response: Response| {
        response
            .headers_mut()
            .insert("sec-websocket-protocol", "mcp".parse().unwrap());
        Ok(response)
    };
    let socket = tokio_tungstenite::accept_hdr_async(tcp, confirm)
        .await
        .unwrap();
    let (mut sink, mut stream) = socket.split();
    let (answers, mut to_send) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let writer = tokio::spawn(async move {
        while let Some(message) = to_send.recv().await {
            if message == "flood" {
                for i in 0..count {
                    let ping = json!({"jsonrpc": "2.0", "id": format!("s{i}"), "method": "ping"});
                    sink.send(Message::text(ping.to_string())).await.unwrap();
                }
                continue;
            }
            sink.send(Message::text(message.to_string())).await.unwrap();
        }
    });
    let mut answered = 0;
    let mut flooded = false;
    let mut done = Some(done);
    let read = async {
        while let Some(Ok(message)) = stream.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["id"].as_str().is_some_and(|id| id.starts_with('s')) {
                answered += 1;
                if answered == count {
                    if let Some(done) = done.take() {
                        let _ = done.send(answered);
                    }
                }
            } else if let Some(id) = value.get("id").filter(|_| value.get("method").is_some()) {
                let result = if value["method"] == "initialize" {
                    json!({"protocolVersion": "2025-11-25", "capabilities": {},
                        "serverInfo": {"name": "pinging", "version": "1"}})
                } else {
                    json!({})
                };
                let _ = answers.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
                // The client's own pings are queued: now the flood.
                if value["method"] == "ping" && !flooded {
                    flooded = true;
                    let _ = answers.send(json!("flood"));
                }
            }
        }
    };
    // Serves until the client hangs up (10 s at most).
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    writer.abort();
}

/// The client keeps sending while its reader waits for the connection: with more requests
/// of its own queued than its queue holds, and as many pings from the server, every ping
/// is answered (its reader never waits on the writer's queue, which waits on it).
#[cfg(feature = "ws-client")]
#[tokio::test]
async fn connect_ws_answers_a_ping_flood_while_its_own_requests_queue() {
    use oxmcp::client::{Client, EraChoice};
    const PINGS: usize = 3000;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (done, answered) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(pinging_server(listener, PINGS, done));
    let client = Client::builder()
        .era(EraChoice::Legacy(
            oxmcp::protocol::ProtocolVersion::V2025_11_25,
        ))
        .connect_ws(url)
        .await
        .unwrap();
    let client = Arc::new(client);
    let calls: Vec<_> = (0..3000)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.ping().await })
        })
        .collect();
    let answered = tokio::time::timeout(Duration::from_secs(10), answered)
        .await
        .expect("the server's pings answered within 10 s");
    assert_eq!(answered.unwrap(), PINGS);
    for call in calls {
        tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("every ping of the client answered")
            .unwrap()
            .unwrap();
    }
    drop(client);
    server.await.unwrap();
}

/// A peer that floods calls and never reads is disconnected, and its connection's place
/// is given back, although its handlers were waiting for room to send their output.
#[tokio::test]
async fn a_flooding_peer_that_never_reads_is_disconnected() {
    let router = oxmcp::server::Router::new().tool("noisy", noisy);
    let server = start(router, HttpConfig::new().max_sessions(1)).await;
    let socket = connect(server.addr, Some("mcp")).await.unwrap();
    // The read half is kept, never polled.
    let (mut sink, _unread) = socket.split();
    let flood = tokio::spawn(async move {
        for id in 1..=2000u64 {
            let mut meta = crate::support::modern_meta();
            meta["progressToken"] = json!(id);
            let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "noisy", "arguments": {}, "_meta": meta}});
            if sink.send(Message::text(call.to_string())).await.is_err() {
                break;
            }
        }
    });
    // The only place is free again once the server has let go of the flooding socket.
    let mut other = connect_until(server.addr).await;
    send(
        &mut other,
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping",
        "params": {"_meta": crate::support::modern_meta()}}),
    )
    .await;
    assert_eq!(next(&mut other).await["id"], 1);
    flood.abort();
    server.shutdown().await;
}
