//! idle-sessions: RSS growth per idle legacy HTTP session, over raw HTTP/1.1.

use super::*;

/// A server process killed when dropped.
pub(super) struct Server(pub(super) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn free_addr() -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string())
}

/// Starts `path --http ADDR` and waits until it listens.
pub(super) fn start_http(path: &str, addr: &str) -> Result<Server, String> {
    let mut command = cmdline::command(&format!("{path} --http {addr}"))?;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {path}: {e}"))?;
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return Ok(server);
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            return Err(format!("{path} --http exited: {status}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    Err(format!("{path} did not listen on {addr}"))
}

/// A raw HTTP/1.1 keep-alive connection.
pub(super) struct Conn {
    pub(super) addr: String,
    pub(super) stream: Option<BufReader<TcpStream>>,
    /// The loopback address it connects from (the server caps sessions per peer address,
    /// so thousands of sessions need several; any 127/8 address works on Linux).
    pub(super) source: Option<std::net::Ipv4Addr>,
}

/// What came back for one POST.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) session: Option<String>,
    pub(super) body: Vec<u8>,
}

impl Conn {
    pub(super) fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_owned(),
            stream: None,
            source: None,
        }
    }

    /// A new connection to the server, from `source` if set.
    fn connect(&self) -> std::io::Result<TcpStream> {
        let Some(source) = self.source else {
            return TcpStream::connect(&self.addr);
        };
        let target: std::net::SocketAddr = self
            .addr
            .parse()
            .map_err(|e| std::io::Error::other(format!("{}: {e}", self.addr)))?;
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.bind(&std::net::SocketAddr::from((source, 0)).into())?;
        socket.connect(&target.into())?;
        Ok(socket.into())
    }

    /// One POST to `/mcp`. Understands `Content-Length` and chunked bodies (SSE); stops
    /// reading an SSE body after the first JSON-RPC response in it, dropping the connection.
    pub(super) fn post(&mut self, body: &str, headers: &str) -> std::io::Result<Answer> {
        if self.stream.is_none() {
            let stream = self.connect()?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            self.stream = Some(BufReader::new(stream));
        }
        let result = self.exchange(body, headers);
        if result.as_ref().map_or(true, |(_, reusable)| !reusable) {
            self.stream = None;
        }
        result.map(|(answer, _)| answer)
    }

    pub(super) fn exchange(
        &mut self,
        body: &str,
        headers: &str,
    ) -> std::io::Result<(Answer, bool)> {
        let stream = self.stream.as_mut().expect("connected");
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        stream.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked, mut session, mut close) = (None, false, None, false);
        loop {
            line.clear();
            if stream.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("connection closed in the headers"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "mcp-session-id" => session = Some(value.to_owned()),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        let mut reusable = !close;
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line)?;
                let size =
                    usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                        .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    line.clear();
                    stream.read_line(&mut line)?; // the empty line after the last chunk
                    break;
                }
                let start = body.len();
                body.resize(start + size + 2, 0);
                stream.read_exact(&mut body[start..])?;
                body.truncate(start + size);
                if has_sse_response(&body) {
                    reusable = false; // the stream may go on: do not wait for its end
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            stream.read_exact(&mut body)?;
        } else if status != 202 && status != 204 {
            stream.read_to_end(&mut body)?;
            reusable = false;
        }
        Ok((
            Answer {
                status,
                session,
                body,
            },
            reusable,
        ))
    }
}

/// Whether an SSE body holds a complete event with a JSON-RPC response.
pub(super) fn has_sse_response(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let complete = match text.rfind("\n\n") {
        Some(end) => &text[..end],
        None => return false,
    };
    complete.lines().any(|line| {
        line.strip_prefix("data:")
            .and_then(|data| serde_json::from_str::<Value>(data.trim()).ok())
            .is_some_and(|v| v.get("result").is_some() || v.get("error").is_some())
    })
}

/// Opens one legacy session; returns its id.
pub(super) fn open_session(conn: &mut Conn) -> Result<String, String> {
    let init = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{LEGACY_VERSION}","capabilities":{{}},"clientInfo":{{"name":"scale-bench","version":"0.1"}}}}}}"#
    );
    let answer = conn
        .post(&init, "")
        .map_err(|e| format!("initialize: {e}"))?;
    if answer.status != 200 {
        return Err(format!(
            "initialize answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    let id = answer
        .session
        .ok_or("initialize answered without an Mcp-Session-Id")?;
    let headers = format!("Mcp-Session-Id: {id}\r\nMCP-Protocol-Version: {LEGACY_VERSION}\r\n");
    let answer = conn
        .post(
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            &headers,
        )
        .map_err(|e| format!("notifications/initialized: {e}"))?;
    if !(200..300).contains(&answer.status) {
        return Err(format!(
            "notifications/initialized answered {}",
            answer.status
        ));
    }
    Ok(id)
}

/// Checks that a session still answers `tools/list`.
pub(super) fn session_alive(conn: &mut Conn, id: &str) -> Result<(), String> {
    let headers = format!("Mcp-Session-Id: {id}\r\nMCP-Protocol-Version: {LEGACY_VERSION}\r\n");
    let answer = conn
        .post(
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#,
            &headers,
        )
        .map_err(|e| format!("tools/list: {e}"))?;
    let body = String::from_utf8_lossy(&answer.body);
    if answer.status != 200 || !body.contains("\"tools\"") {
        return Err(format!(
            "session {id} no longer answers tools/list ({}): {body}",
            answer.status
        ));
    }
    Ok(())
}

pub(super) struct IdleResult {
    pub(super) total: usize,
    /// RSS growth per session after the warm-up round, in bytes.
    pub(super) per_session: f64,
    pub(super) first_round_per_session: f64,
    /// Per measured round, growth per session in bytes.
    pub(super) slopes: Vec<f64>,
    pub(super) base_kib: u64,
    /// RSS after each round, in KiB.
    pub(super) rss_kib: Vec<u64>,
}

pub(super) fn idle_sessions(
    path: &str,
    rounds: usize,
    settings: &Settings,
) -> Result<IdleResult, String> {
    let addr = free_addr()?;
    let server = start_http(path, &addr)?;
    let pid = server.0.id();
    let settle = Duration::from_millis(if settings.quick { 200 } else { 400 });
    let rss = || procfs::status_kib(pid, "VmRSS").ok_or_else(|| "server gone".to_owned());
    let mut conns: Vec<Conn> = (0..OPENERS).map(|_| Conn::new(&addr)).collect();
    // One session, so the server has served a request before the baseline.
    let first = open_session(&mut conns[0])?;
    thread::sleep(settle);
    let base_kib = rss()?;
    let mut rss_kib = Vec::new();
    let mut ids = vec![first];
    for round in 0..rounds {
        // Each opener, each round, from an address of its own: the server caps the
        // sessions of one peer address (1,000 by default), as it should.
        for (i, conn) in conns.iter_mut().enumerate() {
            conn.source = Some(std::net::Ipv4Addr::new(
                127,
                1,
                round as u8 + 1,
                i as u8 + 1,
            ));
            conn.stream = None;
        }
        let opened: Vec<Result<Vec<String>, String>> = thread::scope(|scope| {
            let handles: Vec<_> = conns
                .iter_mut()
                .enumerate()
                .map(|(i, conn)| {
                    let share = (i + 1) * ROUND / OPENERS - i * ROUND / OPENERS;
                    scope.spawn(move || (0..share).map(|_| open_session(conn)).collect())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("opener panicked".into())))
                .collect()
        });
        for batch in opened {
            ids.extend(batch?);
        }
        thread::sleep(settle);
        rss_kib.push(rss()?);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(format!("{} session ids repeated", ids.len() - unique.len()));
    }
    // The oldest and the newest session must both still be served.
    session_alive(&mut conns[0], &ids[0])?;
    session_alive(&mut conns[0], &ids[ids.len() - 1])?;
    drop(server);
    let bytes = |kib: u64| kib as f64 * 1024.0;
    let slopes: Vec<f64> = rss_kib
        .windows(2)
        .map(|w| (bytes(w[1]) - bytes(w[0])) / ROUND as f64)
        .collect();
    let measured = (rounds - 1) * ROUND;
    Ok(IdleResult {
        total: rounds * ROUND,
        per_session: (bytes(rss_kib[rounds - 1]) - bytes(rss_kib[0])) / measured.max(1) as f64,
        first_round_per_session: (bytes(rss_kib[0]) - bytes(base_kib)) / ROUND as f64,
        slopes,
        base_kib,
        rss_kib,
    })
}

// ---------------------------------------------------------------------------------------
// Stdio clients: tools/list and floods.
