//! A raw HTTP/1.1 MCP client over TCP for the HTTP benchmarks: no SDK, no HTTP library,
//! so it costs the server nothing it would not cost with any client. Answers may be JSON
//! or an SSE stream (chunked).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::Era;

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

/// One keep-alive connection to `/mcp`, with its legacy session once opened.
pub struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
    session: Option<String>,
    /// Header lines (each ending in `\r\n`) sent with every request, such as
    /// `Authorization: Bearer ...\r\n`.
    pub headers: String,
}

impl Conn {
    /// Connects to `addr` (`HOST:PORT`).
    pub async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(stream),
            host: addr.to_owned(),
            session: None,
            headers: String::new(),
        })
    }

    /// One POST; returns the status, the session header and the body.
    pub async fn post(
        &mut self,
        body: &str,
        headers: &str,
    ) -> std::io::Result<(u16, Option<String>, Vec<u8>)> {
        let session = self
            .session
            .as_ref()
            .map(|s| format!("Mcp-Session-Id: {s}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{}{headers}{session}Content-Length: {}\r\n\r\n{body}",
            self.host,
            self.headers,
            body.len()
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut session, mut chunked) = (0usize, None, false);
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "mcp-session-id" => session = Some(value.trim().to_owned()),
                "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
        let body = if chunked {
            self.chunked_body().await?
        } else {
            let mut body = vec![0u8; length];
            self.stream.read_exact(&mut body).await?;
            body
        };
        Ok((status, session, body))
    }

    /// Reads a `Transfer-Encoding: chunked` body to its last chunk (servers that answer
    /// a POST with an SSE stream end it after the response).
    async fn chunked_body(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let size = line.trim_end().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size.trim(), 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk size line {line:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    line.clear();
                    if self.stream.read_line(&mut line).await? == 0 || line.trim_end().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.stream.read_exact(&mut body[start..]).await?;
            line.clear();
            self.stream.read_line(&mut line).await?; // the CRLF after the chunk
        }
    }
}

/// Why a measurement failed.
pub enum Failure {
    /// The server refused the era (an HTTP error status to the handshake or a call):
    /// reported as `n/a`, not as a failure of the run.
    Unsupported(String),
    /// Anything else: no connection, a broken answer, a crash.
    Failed(String),
}

impl Failure {
    /// The message, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            Failure::Unsupported(m) | Failure::Failed(m) => m,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Failed(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Failed(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::Failed(message.to_owned())
    }
}

/// Refusals by HTTP status: the server does not serve this era.
fn refused(status: u16, what: &str, answer: &[u8]) -> Failure {
    let message = format!(
        "{what} answered {status}: {}",
        String::from_utf8_lossy(&answer[..answer.len().min(300)])
    );
    if (400..500).contains(&status) {
        Failure::Unsupported(message)
    } else {
        Failure::Failed(message)
    }
}

/// A connection to `addr` ready for calls in `era` (a legacy session opened), sending
/// `headers` with every request.
pub async fn open_client(addr: &str, era: Era, headers: &str) -> Result<Conn, Failure> {
    let mut conn = Conn::open(addr).await?;
    conn.headers = headers.to_owned();
    if era == Era::Legacy {
        let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"http-bench","version":"0.1"}}}"#;
        let (status, session, answer) = conn.post(init, "").await?;
        if status != 200 {
            return Err(refused(status, "initialize", &answer));
        }
        conn.session = session;
        conn.post(
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "MCP-Protocol-Version: 2025-11-25\r\n",
        )
        .await?;
    }
    Ok(conn)
}

/// One `tools/call echo {"text":"hello"}`, checked to come back.
pub async fn call(conn: &mut Conn, era: Era, id: usize) -> Result<(), Failure> {
    let (body, headers) = match era {
        Era::Legacy => (
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hello"}}}}}}"#
            ),
            "MCP-Protocol-Version: 2025-11-25\r\n",
        ),
        Era::Modern => (
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{{META},"name":"echo","arguments":{{"text":"hello"}}}}}}"#
            ),
            "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: echo\r\n",
        ),
    };
    let (status, _, answer) = conn.post(&body, headers).await?;
    if status != 200 {
        return Err(refused(status, "tools/call", &answer));
    }
    if !answer.windows(5).any(|w| w == b"hello") {
        return Err(Failure::Failed(format!(
            "bad answer {status}: {}",
            String::from_utf8_lossy(&answer)
        )));
    }
    Ok(())
}

/// A free `127.0.0.1:PORT`.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").to_string()
}

/// Waits (up to 5 s) until something listens on `addr`.
pub async fn wait_listening(addr: &str) -> Result<(), String> {
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(format!("nothing listens on {addr}"))
}

/// This very program started again as an HTTP server, `--serve ADDR` and `args` on a
/// free address, listening when returned; killed when dropped.
pub struct SelfServer {
    child: tokio::process::Child,
    /// Its process id.
    pub pid: u32,
    /// Its `HOST:PORT`.
    pub addr: String,
}

impl SelfServer {
    /// Starts it and waits until it listens.
    pub async fn start(args: &[String]) -> Result<SelfServer, String> {
        let addr = free_addr();
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = tokio::process::Command::new(exe)
            .args(["--serve", &addr])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("start the server: {e}"))?;
        let pid = child.id().ok_or("no pid")?;
        wait_listening(&addr).await?;
        Ok(SelfServer { child, pid, addr })
    }
}

impl Drop for SelfServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
