//! Authorization (feature `auth`) on HTTP+SSE and WebSocket: the token of `GET /sse`, of
//! each `POST /messages` and of the WebSocket upgrade goes through the protected
//! resource's gate, and its caller reaches every handler on the connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oxmcp::server::auth::{ApiKeys, Auth, ProtectedResource, INSUFFICIENT_SCOPE};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::{tool, Router};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::{start, Server};
use crate::http_server::wire::{Client, Resp};

async fn whoami(auth: Auth) -> String {
    format!("{} [{}]", auth.subject(), auth.scopes().join(" "))
}

async fn add() -> &'static str {
    "added"
}

/// A server whose keys are `k-ann` (ann, `notes:read`) and `k-bob` (bob, `notes:write`);
/// `add` needs `notes:write`.
async fn protected() -> Server {
    let keys = ApiKeys::new()
        .key("k-ann", Auth::new("ann").with_scopes(["notes:read"]))
        .key("k-bob", Auth::new("bob").with_scopes(["notes:write"]));
    let resource = ProtectedResource::new("http://127.0.0.1/mcp", keys);
    let router = Router::new()
        .name("auth-transports")
        .tool("whoami", whoami)
        .tool("add", tool(add).scopes(["notes:write"]));
    start(router, HttpConfig::new().auth(resource)).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Opens an HTTP+SSE session with `token`: the stream and its messages URL.
async fn open_sse(client: &Client, token: &str) -> (Resp, String) {
    let auth = bearer(token);
    let mut stream = client
        .send_to(
            "GET",
            "/sse",
            &[("accept", "text/event-stream"), ("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(stream.status, 200);
    let endpoint = stream.next_event().await.expect("the endpoint event");
    assert_eq!(endpoint.event.as_deref(), Some("endpoint"));
    (stream, endpoint.data)
}

async fn post_sse(client: &Client, url: &str, token: Option<&str>, message: &Value) -> Resp {
    let auth = token.map(bearer).unwrap_or_default();
    client
        .send_to(
            "POST",
            url,
            &[("authorization", &auth)],
            Some(&message.to_string()),
        )
        .await
}

/// The next `message` event of an HTTP+SSE stream.
async fn sse_message(stream: &mut Resp) -> Value {
    loop {
        let event = stream.next_event().await.expect("a message event");
        if !event.data.is_empty() {
            return serde_json::from_str(&event.data).unwrap();
        }
    }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "auth-transports", "version": "1"}}})
}

fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

fn call(id: u64, name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": {}}})
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Upgrades to WebSocket with `token`, or the refusal's status and `WWW-Authenticate`.
async fn connect_ws(server: &Server, token: Option<&str>) -> Result<Socket, (u16, String)> {
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", "mcp".parse().unwrap());
    if let Some(token) = token {
        headers.insert("authorization", bearer(token).parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err((
            response.status().as_u16(),
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
        )),
        Err(e) => panic!("{e}"),
    }
}

async fn ws_send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next text message (5 s at most), as JSON.
async fn ws_next(socket: &mut Socket) -> Value {
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

/// Initializes a WebSocket connection and calls `tool`: its reply.
async fn ws_call(socket: &mut Socket, tool: &str) -> Value {
    ws_send(socket, initialize()).await;
    assert_eq!(ws_next(socket).await["id"], 0);
    ws_send(socket, initialized()).await;
    ws_send(socket, call(1, tool)).await;
    ws_next(socket).await
}

#[tokio::test]
async fn anonymous_sse_and_websocket_callers_get_the_challenge() {
    let server = protected().await;
    let client = server.client();
    let stream = client
        .send_to("GET", "/sse", &[("accept", "text/event-stream")], None)
        .await;
    assert_eq!(stream.status, 401);
    let challenge = stream
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer resource_metadata="),
        "{challenge}"
    );

    let posted = post_sse(&client, "/messages?session_id=00", None, &call(1, "add")).await;
    assert_eq!(posted.status, 401);
    let challenge = posted
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.contains("notes:write"),
        "names the scope the message needs: {challenge}"
    );

    let (status, challenge) = connect_ws(&server, None).await.expect_err("refused");
    assert_eq!(status, 401);
    assert!(
        challenge.starts_with("Bearer resource_metadata="),
        "{challenge}"
    );
    let (status, challenge) = connect_ws(&server, Some("forged"))
        .await
        .expect_err("refused");
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_callers_token_reaches_handlers_over_sse_and_websocket() {
    let server = protected().await;
    let client = server.client();
    let (mut stream, url) = open_sse(&client, "k-ann").await;
    assert_eq!(
        post_sse(&client, &url, Some("k-ann"), &initialize())
            .await
            .status,
        202
    );
    assert_eq!(sse_message(&mut stream).await["id"], 0);
    assert_eq!(
        post_sse(&client, &url, Some("k-ann"), &initialized())
            .await
            .status,
        202
    );
    assert_eq!(
        post_sse(&client, &url, Some("k-ann"), &call(1, "whoami"))
            .await
            .status,
        202
    );
    let reply = sse_message(&mut stream).await;
    assert_eq!(
        reply["result"]["content"][0]["text"], "ann [notes:read]",
        "{reply}"
    );

    let mut socket = connect_ws(&server, Some("k-bob")).await.unwrap();
    let reply = ws_call(&mut socket, "whoami").await;
    assert_eq!(
        reply["result"]["content"][0]["text"], "bob [notes:write]",
        "{reply}"
    );
    drop(stream);
    server.shutdown().await;
}

#[tokio::test]
async fn an_sse_session_is_refused_to_another_subject() {
    let server = protected().await;
    let client = server.client();
    let (mut stream, url) = open_sse(&client, "k-ann").await;
    assert_eq!(
        post_sse(&client, &url, Some("k-ann"), &initialize())
            .await
            .status,
        202
    );
    assert_eq!(sse_message(&mut stream).await["id"], 0);
    // bob knows ann's session URL: his token is valid, but the session is not his.
    let hijack = post_sse(&client, &url, Some("k-bob"), &call(1, "add")).await;
    assert_eq!(hijack.status, 403);
    let text = hijack.text().await;
    assert!(text.contains("another subject"), "{text}");
    assert_eq!(
        post_sse(&client, &url, None, &call(2, "add")).await.status,
        401
    );
    // Nothing of theirs ran on ann's session: her next call is the next reply.
    assert_eq!(
        post_sse(&client, &url, Some("k-ann"), &initialized())
            .await
            .status,
        202
    );
    assert_eq!(
        post_sse(&client, &url, Some("k-ann"), &call(3, "whoami"))
            .await
            .status,
        202
    );
    assert_eq!(sse_message(&mut stream).await["id"], 3);
    drop(stream);
    server.shutdown().await;
}

#[tokio::test]
async fn a_scope_error_on_websocket_is_a_jsonrpc_error_on_the_socket() {
    let server = protected().await;
    let mut socket = connect_ws(&server, Some("k-ann")).await.unwrap();
    let reply = ws_call(&mut socket, "add").await;
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["error"]["code"], INSUFFICIENT_SCOPE, "{reply}");
    assert!(reply.to_string().contains("notes:write"), "{reply}");
    // The socket stays open: a call within the token's scopes still works.
    ws_send(&mut socket, call(2, "whoami")).await;
    assert_eq!(ws_next(&mut socket).await["id"], 2);
    server.shutdown().await;
}

/// `connect_ws_with` sends its headers with the upgrade: a bearer token reaches `Auth`;
/// without one, the refusal's status is in the error.
#[cfg(feature = "ws-client")]
#[tokio::test]
async fn connect_ws_with_sends_the_token_in_the_upgrade() {
    use oxmcp::client::{Client, WsClientConfig};
    let server = protected().await;
    let url = format!("ws://{}/ws", server.addr);
    let config = WsClientConfig::new(&url).header("Authorization", "Bearer k-bob");
    let client = Client::builder().connect_ws_with(config).await.unwrap();
    let out = client.call_tool("whoami", json!({})).await.unwrap();
    let out = serde_json::to_value(&out.content).unwrap();
    assert_eq!(out[0]["text"], "bob [notes:write]");
    client.close().await.unwrap();

    let error = Client::builder()
        .connect_ws(&url)
        .await
        .expect_err("refused");
    assert_eq!(error.http_status(), Some(401), "{error}");
    let bad = WsClientConfig::new(&url).header("Authorization", "line\nbreak");
    let error = Client::builder()
        .connect_ws_with(bad)
        .await
        .expect_err("bad header");
    assert!(error.to_string().contains("header"), "{error}");
    server.shutdown().await;
}

/// `wss://` speaks TLS (rustls): the first bytes on the wire are a TLS ClientHello naming
/// the host; a peer that is no TLS server is an error, not a hang.
#[cfg(feature = "ws-client")]
#[tokio::test]
async fn wss_urls_open_a_tls_connection() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut hello = vec![0; 512];
        let n = socket.read(&mut hello).await.unwrap();
        hello.truncate(n);
        hello
    });
    let url = format!("wss://localhost:{port}/ws");
    let connect = oxmcp::client::Client::builder().connect_ws(&url);
    let result = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .expect("an answer within 5 s");
    assert!(result.is_err(), "no TLS server there");
    let hello = peer.await.unwrap();
    assert_eq!(hello[0], 0x16, "a TLS handshake record: {hello:?}");
    assert!(
        hello.windows(9).any(|w| w == b"localhost"),
        "the ClientHello names the host (SNI)"
    );
}
