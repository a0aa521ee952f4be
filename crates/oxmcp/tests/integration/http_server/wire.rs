//! A minimal raw HTTP/1.1 client: requests written by hand, responses (chunked or not)
//! and SSE events parsed by hand, so the tests see exactly what is on the wire.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oxmcp::testing::Direction;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::SchemaTap;

pub(crate) enum BodyMode {
    Length(usize),
    Chunked,
    Eof,
}

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) reader: BufReader<TcpStream>,
    pub(crate) mode: BodyMode,
    pub(crate) buf: Vec<u8>,
    pub(crate) done: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Event {
    pub(crate) id: Option<String>,
    pub(crate) data: String,
    pub(crate) retry: Option<String>,
    /// The event's type (`event:`), when it names one.
    pub(crate) event: Option<String>,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// Reads more of the decoded body into `buf`; false at its end.
    pub(crate) async fn fill(&mut self) -> bool {
        if self.done {
            return false;
        }
        match self.mode {
            BodyMode::Length(n) => {
                let mut body = vec![0; n];
                self.reader.read_exact(&mut body).await.unwrap();
                self.buf.extend(body);
                self.done = true;
                n > 0
            }
            BodyMode::Eof => {
                let mut chunk = [0u8; 4096];
                let n = self.reader.read(&mut chunk).await.unwrap_or(0);
                self.buf.extend(&chunk[..n]);
                self.done = n == 0;
                n > 0
            }
            BodyMode::Chunked => {
                let mut line = String::new();
                if self.reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                    self.done = true;
                    return false;
                }
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap(), 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
                if size == 0 {
                    self.done = true;
                    return false;
                }
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).await.unwrap();
                chunk.truncate(size);
                self.buf.extend(chunk);
                true
            }
        }
    }

    pub(crate) async fn text(mut self) -> String {
        while self.fill().await {}
        String::from_utf8(self.buf).unwrap()
    }

    pub(crate) async fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let line = String::from_utf8(line).unwrap();
                return Some(line.trim_end_matches(['\r', '\n']).to_owned());
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The next SSE event (5 s at most); `None` when the stream ended.
    pub(crate) async fn next_event(&mut self) -> Option<Event> {
        tokio::time::timeout(Duration::from_secs(5), async {
            let mut event = Event::default();
            let mut any = false;
            loop {
                let line = self.next_line().await?;
                if line.is_empty() {
                    if any {
                        return Some(event);
                    }
                    continue;
                }
                any = true;
                let (field, value) = line.split_once(':').unwrap_or((&line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => event.id = Some(value.to_owned()),
                    "data" => event.data.push_str(value),
                    "retry" => event.retry = Some(value.to_owned()),
                    "event" => event.event = Some(value.to_owned()),
                    _ => {}
                }
            }
        })
        .await
        .expect("an SSE event within 5 s")
    }
}

pub(crate) struct Client {
    pub(crate) addr: SocketAddr,
    pub(crate) tap: Arc<SchemaTap>,
    pub(crate) session: Option<String>,
    pub(crate) version: Option<String>,
}

impl Client {
    /// Sends one request; `headers` override the defaults (an empty value removes one).
    pub(crate) async fn send(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let stream = self.send_only(method, headers, body).await;
        Client::read_response(stream).await
    }

    /// Sends one request (as [`Client::send`] does) without reading the response: the
    /// caller may hang up before any comes.
    pub(crate) async fn send_only(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> TcpStream {
        self.send_only_to(method, "/mcp", headers, body).await
    }

    /// Sends one request to `target` (a path and query) and reads the response head.
    pub(crate) async fn send_to(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let stream = self.send_only_to(method, target, headers, body).await;
        Client::read_response(stream).await
    }

    /// [`Client::send_only`] to `target` (a path and query).
    pub(crate) async fn send_only_to(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> TcpStream {
        let mut all: Vec<(String, String)> = vec![
            ("host".into(), format!("127.0.0.1:{}", self.addr.port())),
            (
                "accept".into(),
                "application/json, text/event-stream".into(),
            ),
            ("connection".into(), "close".into()),
        ];
        if body.is_some() {
            all.push(("content-type".into(), "application/json".into()));
        }
        if let Some(session) = &self.session {
            all.push(("mcp-session-id".into(), session.clone()));
        }
        if let Some(version) = &self.version {
            all.push(("mcp-protocol-version".into(), version.clone()));
        }
        for (name, value) in headers {
            all.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            if !value.is_empty() {
                all.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        let mut request = format!("{method} {target} HTTP/1.1\r\n");
        for (name, value) in &all {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or("");
        request.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        stream
    }

    /// Reads the response to a request [`Client::send_only`] sent.
    pub(crate) async fn read_response(stream: TcpStream) -> Resp {
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).await.unwrap();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let find = |n: &str| headers.iter().find(|(h, _)| h == n).map(|(_, v)| v.clone());
        let mode = if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            BodyMode::Chunked
        } else if let Some(n) = find("content-length") {
            BodyMode::Length(n.parse().unwrap())
        } else {
            BodyMode::Eof
        };
        Resp {
            status,
            headers,
            reader,
            mode,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Resumes a stream after the event `last_event_id` (a `GET` with `Last-Event-ID`).
    pub(crate) async fn resume(&self, last_event_id: &str) -> Resp {
        let headers = [
            ("accept", "text/event-stream"),
            ("last-event-id", last_event_id),
        ];
        self.send("GET", &headers, None).await
    }

    /// POSTs a well-formed message (schema-checked).
    pub(crate) async fn post(&self, message: &Value, headers: &[(&str, &str)]) -> Resp {
        let body = message.to_string();
        self.tap.see(Direction::ClientToServer, &body);
        self.send("POST", headers, Some(&body)).await
    }

    /// Reads a JSON answer (schema-checked).
    pub(crate) async fn json(&self, resp: Resp) -> Value {
        assert!(
            resp.content_type().starts_with("application/json"),
            "expected JSON, got {:?}",
            resp.content_type()
        );
        let text = resp.text().await;
        self.tap.see(Direction::ServerToClient, &text);
        serde_json::from_str(&text).unwrap()
    }

    /// The next message on an SSE stream (schema-checked), skipping priming events.
    pub(crate) async fn sse_message(&self, resp: &mut Resp) -> Option<(Option<String>, Value)> {
        loop {
            let event = resp.next_event().await?;
            if event.data.trim().is_empty() {
                continue;
            }
            self.tap.see(Direction::ServerToClient, &event.data);
            return Some((event.id, serde_json::from_str(&event.data).unwrap()));
        }
    }

    /// The legacy handshake: sets the session id and version for later requests.
    pub(crate) async fn initialize(&mut self, capabilities: Value) -> Value {
        let resp = self
            .post(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": capabilities,
                    "clientInfo": {"name": "http-test", "version": "1.0.0"}
                }}),
                &[],
            )
            .await;
        assert_eq!(resp.status, 200);
        let session = resp
            .header("mcp-session-id")
            .expect("a session id")
            .to_owned();
        assert!(
            session.bytes().all(|b| (0x21..=0x7e).contains(&b)),
            "visible ASCII: {session:?}"
        );
        let result = self.json(resp).await;
        self.session = Some(session);
        self.version = Some("2025-11-25".into());
        let resp = self
            .post(
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                &[],
            )
            .await;
        assert_eq!(resp.status, 202);
        result
    }
}

pub(crate) fn call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}})
}

pub(crate) fn text_of(response: &Value) -> &str {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text result: {response}"))
}
