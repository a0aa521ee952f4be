//! Client features against scripted fake servers on an in-memory pipe: answering the
//! server's questions (legacy requests and modern multi round-trip requests), typed
//! notifications, `subscriptions/listen`, and the typed methods of the server surface.
//!
//! The fake servers are scripts, independent of oxmcp's server. Every frame they read
//! (the client's) and write is validated against the official schema.

mod legacy;
mod listen;
mod methods;
mod mrtr;
mod real_server;

use std::sync::Arc;
use std::time::Duration;

use oxmcp::client::{Client, ClientBuilder, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::testing::Direction;
use serde_json::{json, Value};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};

use crate::support::SchemaTap;

/// The server end of a client connection, driven by the test.
pub struct Fake {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    write: WriteHalf<DuplexStream>,
    pub tap: Arc<SchemaTap>,
}

impl Fake {
    /// The next frame from the client (5 s at most), validated.
    pub async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("the client sent a frame within 5 s")
            .expect("read from the client")
            .expect("the client is connected");
        self.tap.see(Direction::ClientToServer, &line);
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("invalid JSON {line:?}: {e}"))
    }

    /// The next frame, which must be a request for `method`.
    pub async fn recv_request(&mut self, method: &str) -> Value {
        let frame = self.recv().await;
        assert_eq!(
            frame["method"], method,
            "expected a {method} request: {frame}"
        );
        assert!(frame.get("id").is_some(), "a request has an id: {frame}");
        frame
    }

    /// The next frame, which must be a notification of `method`.
    pub async fn recv_notification(&mut self, method: &str) -> Value {
        let frame = self.recv().await;
        assert_eq!(frame["method"], method, "expected {method}: {frame}");
        assert!(
            frame.get("id").is_none(),
            "a notification has no id: {frame}"
        );
        frame
    }

    /// Asserts the client sends nothing for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(line) = tokio::time::timeout(wait, self.lines.next_line()).await {
            panic!("expected silence from the client, got {line:?}");
        }
    }

    /// Sends a frame to the client, validated.
    pub async fn send(&mut self, message: Value) {
        let frame = message.to_string();
        self.tap.see(Direction::ServerToClient, &frame);
        self.write
            .write_all(format!("{frame}\n").as_bytes())
            .await
            .expect("write to the client");
        self.write.flush().await.unwrap();
    }

    /// Answers `request` with `result`.
    pub async fn reply(&mut self, request: &Value, result: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": request["id"], "result": result}))
            .await;
    }

    /// Answers `request` with an error.
    pub async fn reply_error(&mut self, request: &Value, code: i64, message: &str) {
        self.send(json!({"jsonrpc": "2.0", "id": request["id"],
                         "error": {"code": code, "message": message}}))
            .await;
    }

    /// Sends a notification.
    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a server-to-client request (legacy) and returns the client's response.
    pub async fn ask(&mut self, id: &str, method: &str, params: Value) -> Value {
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            request["params"] = params;
        }
        self.send(request).await;
        let response = self.recv().await;
        assert_eq!(response["id"], id, "a response to {method}: {response}");
        response
    }

    /// Checks every frame seen so far was valid.
    pub fn assert_clean(&self) {
        self.tap.assert_clean();
    }
}

/// A client and its fake server, connected over an in-memory pipe with `handshake`
/// played by the fake. Returns the client, the fake and the client's first request
/// (`initialize` or `server/discover`).
async fn connect(builder: ClientBuilder, era: EraChoice) -> (Client, Fake, Value) {
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let (read, write) = tokio::io::split(theirs);
    let mut fake = Fake {
        lines: BufReader::new(read).lines(),
        write,
        tap: SchemaTap::new(),
    };
    let (client_read, client_write) = tokio::io::split(ours);
    let connecting = builder.era(era).connect_io(client_read, client_write);
    let handshake = async {
        if era == EraChoice::Modern {
            let discover = fake.recv_request("server/discover").await;
            fake.reply(
                &discover,
                json!({
                    "resultType": "complete",
                    "supportedVersions": ["2026-07-28"],
                    "capabilities": server_capabilities(),
                    "ttlMs": 0,
                    "cacheScope": "public",
                    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "1"}}
                }),
            )
            .await;
            discover
        } else {
            let initialize = fake.recv_request("initialize").await;
            fake.reply(
                &initialize,
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": server_capabilities(),
                    "serverInfo": {"name": "fake", "version": "1"}
                }),
            )
            .await;
            fake.recv_notification("notifications/initialized").await;
            initialize
        }
    };
    let (client, first) = tokio::join!(connecting, handshake);
    (client.expect("the client connects"), fake, first)
}

fn server_capabilities() -> Value {
    json!({
        "tools": {"listChanged": true},
        "resources": {"subscribe": true, "listChanged": true},
        "prompts": {"listChanged": true},
        "logging": {},
        "completions": {}
    })
}

/// A client of the legacy era (2025-11-25) and its fake server; also returns the
/// `initialize` request.
pub async fn legacy(builder: ClientBuilder) -> (Client, Fake, Value) {
    connect(builder, EraChoice::Legacy(ProtocolVersion::V2025_11_25)).await
}

/// A client of the modern era (2026-07-28) and its fake server; also returns the
/// `server/discover` request.
pub async fn modern(builder: ClientBuilder) -> (Client, Fake, Value) {
    connect(builder, EraChoice::Modern).await
}

/// A modern result: `resultType: "complete"` added to `result`.
pub fn complete(mut result: Value) -> Value {
    result["resultType"] = json!("complete");
    result
}

/// A modern cacheable result (lists, `resources/read`): `complete` plus cache hints.
pub fn cacheable(result: Value) -> Value {
    let mut result = complete(result);
    result["ttlMs"] = json!(0);
    result["cacheScope"] = json!("private");
    result
}

/// Waits for the next item of a channel (2 s at most).
pub async fn next<T>(rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .expect("an item within 2 s")
        .expect("the channel is open")
}
