//! Shared helpers: schema-checked connections, a raw JSON-RPC peer, sample routers.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmcp::client::EraChoice;
use oxmcp::server::Router;
use oxmcp::testing::{Direction, TestClient};
use oxmcp_schema::MessageChecker;
use serde_json::{json, Value};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};

/// Validates every frame it sees against the official schema; collects the failures.
#[derive(Default)]
pub struct SchemaTap {
    checker: Mutex<MessageChecker>,
    failures: Mutex<Vec<String>>,
    seen: Mutex<usize>,
}

impl SchemaTap {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn see(&self, direction: Direction, frame: &str) {
        let dir = match direction {
            Direction::ClientToServer => oxmcp_schema::Direction::ClientToServer,
            _ => oxmcp_schema::Direction::ServerToClient,
        };
        *self.seen.lock().unwrap() += 1;
        if let Err(e) = self.checker.lock().unwrap().check_str(dir, frame) {
            self.failures
                .lock()
                .unwrap()
                .push(format!("{e}\n  frame: {frame}"));
        }
    }

    /// Panics listing every frame that failed validation; also checks frames were seen.
    pub fn assert_clean(&self) {
        let failures = self.failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "{} frame(s) failed schema validation:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(*self.seen.lock().unwrap() > 0, "no frame was validated");
    }
}

/// A test client whose every frame is schema-checked.
pub async fn checked(router: Router, era: EraChoice) -> (TestClient, Arc<SchemaTap>) {
    let tap = SchemaTap::new();
    let seen = tap.clone();
    let client = TestClient::builder(router)
        .era(era)
        .on_frame(move |d, f| seen.see(d, f))
        .connect()
        .await
        .expect("connect");
    (client, tap)
}

pub fn legacy() -> EraChoice {
    EraChoice::Legacy(oxmcp::protocol::ProtocolVersion::V2025_11_25)
}

pub fn modern() -> EraChoice {
    EraChoice::Modern
}

/// The modern per-request `_meta`.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1.0.0"}
    })
}

/// A raw JSON-RPC peer talking to a router over an in-memory newline-delimited pipe.
pub struct Raw {
    pub writer: WriteHalf<DuplexStream>,
    pub lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    pub tap: Arc<SchemaTap>,
    pub server: tokio::task::JoinHandle<oxmcp::Result<()>>,
}

impl Raw {
    pub fn start(router: Router) -> Raw {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (their_read, their_write) = tokio::io::split(theirs);
        let server = tokio::spawn(router.serve_io(their_read, their_write));
        let (read, writer) = tokio::io::split(ours);
        Raw {
            writer,
            lines: BufReader::new(read).lines(),
            tap: SchemaTap::new(),
            server,
        }
    }

    /// Sends a frame as is (it may be deliberately broken: it is not validated).
    pub async fn send_raw(&mut self, frame: &str) {
        self.writer.write_all(frame.as_bytes()).await.unwrap();
        self.writer.write_all(b"\n").await.unwrap();
        self.writer.flush().await.unwrap();
    }

    /// Sends a well-formed message (validated like every frame).
    pub async fn send(&mut self, message: Value) {
        let frame = message.to_string();
        self.tap.see(Direction::ClientToServer, &frame);
        self.send_raw(&frame).await;
    }

    /// The next frame from the server (5 s at most), validated.
    pub async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("the server answered within 5 s")
            .unwrap()
            .expect("the connection is open");
        self.tap.see(Direction::ServerToClient, &line);
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("server sent invalid JSON {line:?}: {e}"))
    }

    /// Asserts nothing arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(line) = tokio::time::timeout(wait, self.lines.next_line()).await {
            panic!("expected silence, got {line:?}");
        }
    }

    /// Sends a deliberately invalid message (not validated) and returns the next frame.
    pub async fn call_invalid(&mut self, message: Value) -> Value {
        self.send_raw(&message.to_string()).await;
        self.recv().await
    }

    /// Sends a request and returns the next frame.
    pub async fn call(&mut self, message: Value) -> Value {
        self.send(message).await;
        self.recv().await
    }

    /// The legacy handshake at `version`; returns the initialize result.
    pub async fn initialize(&mut self, version: &str) -> Value {
        let response = self
            .call(
                json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "raw-test", "version": "1.0.0"}
                }}),
            )
            .await;
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        response["result"].clone()
    }

    /// Closes the client side and waits for the server to finish.
    pub async fn finish(self) {
        let Raw {
            mut writer,
            lines,
            tap,
            server,
        } = self;
        writer.shutdown().await.unwrap();
        drop(lines);
        let _ = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("server ended");
        tap.assert_clean();
    }
}

/// The error code of a response (panics if it is not an error).
pub fn code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {response}"))
}
