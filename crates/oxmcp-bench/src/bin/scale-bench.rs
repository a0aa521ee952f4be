//! `scale-bench`: how a server scales with sessions, tools and floods of requests.
//!
//! `scale-bench [--quick] [--json] --echo PATH_TO_ECHO [--rmcp PATH_TO_RMCP_ECHO]`
//!
//! - **idle-sessions**: serves `PATH --http ADDR`, opens legacy sessions over raw HTTP/1.1
//!   (`initialize` then `notifications/initialized`, nothing else) and reads the server's
//!   `VmRSS` after each round of 1,000. The first round is a warm-up (the runtime's and the
//!   allocator's first allocations are not per-session cost); the figure is the slope from
//!   then on: RSS growth per session while sessions accumulate.
//! - **tools-scale** (oxmcp only): `PATH --tools 1` against `PATH --tools 1000` over stdio,
//!   alternately: server CPU per `tools/call echo` (the load generator of
//!   [`oxmcp_bench::loadgen`]) and per full `tools/list` (following `nextCursor`).
//! - **flood**: over stdio, 50,000 `tools/call echo` written without waiting for any
//!   answer while a reader collects them; every id must be answered exactly once. Reports
//!   the server's peak RSS (`VmHWM`). Legacy (after `initialize`) and modern (`_meta` on
//!   every request) eras.
//!
//! The optional `--rmcp` server (legacy era only) gets idle-sessions and the legacy flood,
//! for reference; its failures are reported and skipped. Human tables go to stderr; with
//! `--json`, one JSON line per result goes to stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use oxmcp_bench::loadgen::{self, Era, ECHO_TEXT, LEGACY_VERSION, MODERN_VERSION};
use oxmcp_bench::{cli, cmdline, procfs, stats};
use serde::Deserialize;
use serde_json::{json, Value};

/// Sessions per round of the idle-sessions bench.
const ROUND: usize = 1_000;
/// Requests of a flood.
const FLOOD: usize = 50_000;
/// Keep-alive connections opening sessions in parallel.
const OPENERS: usize = 4;

const USAGE: &str =
    "usage: scale-bench [--quick] [--json] --echo PATH_TO_ECHO [--rmcp PATH_TO_RMCP_ECHO]";

struct Settings {
    quick: bool,
    json: bool,
}

impl Settings {
    fn emit(&self, line: Value) {
        if self.json {
            println!("{line}");
        }
    }
}

fn main() {
    let args = match cli::Args::parse(
        std::env::args().skip(1),
        &["echo", "rmcp"],
        &["quick", "json"],
    ) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("scale-bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let Some(echo) = args.value("echo").map(str::to_owned) else {
        eprintln!("scale-bench: --echo is required\n{USAGE}");
        std::process::exit(2);
    };
    if !args.positional.is_empty() {
        eprintln!(
            "scale-bench: unexpected arguments {:?}\n{USAGE}",
            args.positional
        );
        std::process::exit(2);
    }
    let rmcp = args.value("rmcp").map(str::to_owned);
    let settings = Settings {
        quick: args.switch("quick"),
        json: args.switch("json"),
    };
    let mut failed = false;

    // Idle sessions.
    let rounds = if settings.quick { 2 } else { 4 };
    eprintln!(
        "\nidle legacy HTTP sessions: RSS growth per session, rounds of {ROUND} (the first is a warm-up)"
    );
    eprintln!(
        "  {:<8} {:>10} {:>16} {:>16} {:>12}",
        "server", "sessions", "B/session", "first round", "base RSS"
    );
    let mut servers = vec![("oxmcp", echo.clone())];
    if let Some(rmcp) = &rmcp {
        servers.push(("rmcp", rmcp.clone()));
    }
    for (name, path) in &servers {
        match idle_sessions(path, rounds, &settings) {
            Ok(result) => {
                eprintln!(
                    "  {:<8} {:>10} {:>16.0} {:>16.0} {:>9} KiB",
                    name,
                    result.total,
                    result.per_session,
                    result.first_round_per_session,
                    result.base_kib
                );
                eprintln!(
                    "           RSS after each round (KiB): {:?}",
                    result.rss_kib
                );
                settings.emit(json!({
                    "bench": "idle-sessions", "server": name, "sessions": ROUND,
                    "rss_per_session_bytes": result.per_session,
                    "measured_sessions": result.total - ROUND,
                    "warmup_sessions": ROUND,
                    "total_sessions": result.total,
                    "first_round_rss_per_session_bytes": result.first_round_per_session,
                    "round_slopes_bytes": result.slopes,
                    "base_rss_bytes": result.base_kib * 1024,
                    "rss_after_rounds_bytes": result.rss_kib.iter().map(|k| k * 1024).collect::<Vec<_>>(),
                    "budget_bytes": 2048,
                }));
            }
            Err(e) => {
                eprintln!("  {name:<8} error: {e}");
                settings.emit(json!({"bench": "idle-sessions", "server": name, "error": e}));
                failed |= *name == "oxmcp";
            }
        }
    }

    // Tools scale.
    match tools_scale(&echo, &settings) {
        Ok(result) => {
            eprintln!(
                "\n1 tool vs 1000 tools (oxmcp, stdio, legacy; medians of {} reps, alternating):",
                result.reps
            );
            eprintln!(
                "  {:<8} {:>16} {:>18} {:>14}",
                "tools", "CPU µs/call", "CPU µs/tools/list", "list bytes"
            );
            eprintln!(
                "  {:<8} {:>16.2} {:>18.1} {:>14}",
                1, result.call_us[0], result.list_us[0], result.list_bytes[0]
            );
            eprintln!(
                "  {:<8} {:>16.2} {:>18.1} {:>14}",
                1000, result.call_us[1], result.list_us[1], result.list_bytes[1]
            );
            eprintln!(
                "  per-call CPU ratio 1000/1: ×{:.3} (budget ≤ ×1.10); median of per-rep ratios ×{:.3}",
                result.ratio, result.ratio_of_reps
            );
            settings.emit(json!({
                "bench": "tools-scale", "server": "oxmcp", "tools": 1000,
                "cpu_per_call_ratio": result.ratio,
                "cpu_per_call_ratio_median_of_reps": result.ratio_of_reps,
                "cpu_us_per_call_1": result.call_us[0],
                "cpu_us_per_call_1000": result.call_us[1],
                "list_cpu_us_1": result.list_us[0],
                "list_cpu_us_1000": result.list_us[1],
                "list_bytes_1": result.list_bytes[0],
                "list_bytes_1000": result.list_bytes[1],
                "list_pages_1000": result.list_pages,
                "reps": result.reps,
                "budget_ratio": 1.1,
            }));
        }
        Err(e) => {
            eprintln!("\ntools-scale error: {e}");
            settings.emit(json!({"bench": "tools-scale", "server": "oxmcp", "error": e}));
            failed = true;
        }
    }

    // Floods.
    eprintln!("\nflood: {FLOOD} tools/call written without waiting (stdio)");
    eprintln!(
        "  {:<8} {:<7} {:>9} {:>6} {:>6} {:>6} {:>12} {:>10} {:>9}",
        "server", "era", "answered", "lost", "dupes", "bad", "peak RSS", "idle RSS", "req/s"
    );
    let mut floods = vec![
        ("oxmcp", echo.clone(), Era::Legacy),
        ("oxmcp", echo.clone(), Era::Modern),
    ];
    if let Some(rmcp) = &rmcp {
        floods.push(("rmcp", rmcp.clone(), Era::Legacy));
    }
    for (name, path, era) in floods {
        match flood(&path, era, FLOOD) {
            Ok(r) => {
                eprintln!(
                    "  {:<8} {:<7} {:>9} {:>6} {:>6} {:>6} {:>8} KiB {:>6} KiB {:>9.0}",
                    name,
                    era.as_str(),
                    r.answered,
                    r.lost,
                    r.duplicates,
                    r.bad,
                    r.peak_kib,
                    r.idle_kib,
                    r.rate
                );
                if let Some(e) = &r.first_error {
                    eprintln!("           first problem: {e}");
                }
                settings.emit(json!({
                    "bench": "flood", "server": name, "era": era.as_str(), "requests": FLOOD,
                    "answered": r.answered, "lost": r.lost, "duplicates": r.duplicates,
                    "bad": r.bad, "peak_rss_bytes": r.peak_kib * 1024,
                    "idle_rss_bytes": r.idle_kib * 1024, "wall_s": r.wall.as_secs_f64(),
                    "req_per_s": r.rate, "first_error": r.first_error,
                    "budget_peak_rss_bytes": 64 * 1024 * 1024,
                }));
                failed |= name == "oxmcp" && r.lost > 0;
            }
            Err(e) => {
                eprintln!("  {name:<8} {:<7} error: {e}", era.as_str());
                settings.emit(
                    json!({"bench": "flood", "server": name, "era": era.as_str(), "error": e}),
                );
                failed |= name == "oxmcp";
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// Idle sessions over HTTP.

/// A server process killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string())
}

/// Starts `path --http ADDR` and waits until it listens.
fn start_http(path: &str, addr: &str) -> Result<Server, String> {
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
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

/// What came back for one POST.
struct Answer {
    status: u16,
    session: Option<String>,
    body: Vec<u8>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    /// One POST to `/mcp`. Understands `Content-Length` and chunked bodies (SSE); stops
    /// reading an SSE body after the first JSON-RPC response in it, dropping the connection.
    fn post(&mut self, body: &str, headers: &str) -> std::io::Result<Answer> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr)?;
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

    fn exchange(&mut self, body: &str, headers: &str) -> std::io::Result<(Answer, bool)> {
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
fn has_sse_response(body: &[u8]) -> bool {
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
fn open_session(conn: &mut Conn) -> Result<String, String> {
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
fn session_alive(conn: &mut Conn, id: &str) -> Result<(), String> {
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

struct IdleResult {
    total: usize,
    /// RSS growth per session after the warm-up round, in bytes.
    per_session: f64,
    first_round_per_session: f64,
    /// Per measured round, growth per session in bytes.
    slopes: Vec<f64>,
    base_kib: u64,
    /// RSS after each round, in KiB.
    rss_kib: Vec<u64>,
}

fn idle_sessions(path: &str, rounds: usize, settings: &Settings) -> Result<IdleResult, String> {
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
    for _ in 0..rounds {
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

/// A server on pipes.
struct Pipes {
    server: Server,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Pipes {
    fn spawn(command_line: &str) -> Result<Pipes, String> {
        let mut command = cmdline::command(command_line)?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {command_line}: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("no pipes".into());
        };
        Ok(Pipes {
            server: Server(child),
            stdin,
            stdout: BufReader::with_capacity(256 * 1024, stdout),
        })
    }

    fn pid(&self) -> u32 {
        self.server.0.id()
    }

    fn send(&mut self, message: &str) -> Result<(), String> {
        self.stdin
            .write_all(format!("{message}\n").as_bytes())
            .map_err(|e| format!("writing to the server: {e}"))
    }

    /// The next response (skipping server requests and notifications).
    fn response(&mut self) -> Result<Value, String> {
        let mut line = Vec::new();
        loop {
            line.clear();
            match self.stdout.read_until(b'\n', &mut line) {
                Ok(0) => return Err("the server closed stdout".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("reading from the server: {e}")),
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let value: Value = serde_json::from_slice(&line).map_err(|e| {
                format!("unparseable line ({e}): {}", String::from_utf8_lossy(&line))
            })?;
            if value.get("method").is_none() {
                return Ok(value);
            }
        }
    }

    /// The legacy handshake.
    fn initialize(&mut self) -> Result<(), String> {
        self.send(&format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{LEGACY_VERSION}","capabilities":{{}},"clientInfo":{{"name":"scale-bench","version":"0.1"}}}}}}"#
        ))?;
        let answer = self.response()?;
        if answer.get("result").is_none() {
            return Err(format!("initialize failed: {answer}"));
        }
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
    }

    /// One full `tools/list`, following `nextCursor`: (pages, bytes of results, tools).
    fn list_tools(&mut self, id: &mut u64) -> Result<(usize, usize, usize), String> {
        let (mut pages, mut bytes, mut tools) = (0, 0, 0);
        let mut cursor: Option<String> = None;
        loop {
            *id += 1;
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            self.send(
                &json!({"jsonrpc": "2.0", "id": *id, "method": "tools/list", "params": params})
                    .to_string(),
            )?;
            let answer = self.response()?;
            let result = answer
                .get("result")
                .ok_or_else(|| format!("tools/list failed: {answer}"))?;
            pages += 1;
            bytes += result.to_string().len();
            tools += result
                .get("tools")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match result.get("nextCursor").and_then(Value::as_str) {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok((pages, bytes, tools)),
            }
        }
    }
}

struct ListFigures {
    cpu_us: f64,
    bytes: usize,
    pages: usize,
}

/// CPU per full `tools/list` of `echo --tools N`.
fn list_cost(echo: &str, tools: usize, lists: usize) -> Result<ListFigures, String> {
    let mut pipes = Pipes::spawn(&format!("{echo} --tools {tools}"))?;
    pipes.initialize()?;
    let mut id = 0;
    let (pages, bytes, count) = pipes.list_tools(&mut id)?;
    if count != tools {
        return Err(format!("tools/list listed {count} tools, expected {tools}"));
    }
    for _ in 0..lists / 10 {
        pipes.list_tools(&mut id)?; // warm-up
    }
    let before = procfs::cpu_sample(pipes.pid()).ok_or("no /proc sample")?;
    for _ in 0..lists {
        pipes.list_tools(&mut id)?;
    }
    let after = procfs::cpu_sample(pipes.pid()).ok_or("no /proc sample")?;
    let delta = procfs::cpu_delta(&before, &after, procfs::clk_tck());
    Ok(ListFigures {
        cpu_us: delta.seconds * 1e6 / lists as f64,
        bytes,
        pages,
    })
}

struct ToolsResult {
    reps: usize,
    /// Median CPU per call, 1 tool then 1000 tools.
    call_us: [f64; 2],
    list_us: [f64; 2],
    list_bytes: [usize; 2],
    list_pages: usize,
    ratio: f64,
    ratio_of_reps: f64,
}

fn tools_scale(echo: &str, settings: &Settings) -> Result<ToolsResult, String> {
    let reps = if settings.quick { 5 } else { 9 };
    let counts = [1usize, 1000];
    let mut calls: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut lists: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut list_bytes = [0; 2];
    let mut list_pages = 0;
    for rep in 0..reps {
        // ABBA order, so a drift of the machine's speed hits both alike.
        let order: [usize; 2] = if rep % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let mut config = loadgen::Config::new(format!("{echo} --tools {}", counts[i]));
            config.era = Era::Legacy;
            config.inflight = 16;
            config.requests = if settings.quick { 60_000 } else { 200_000 };
            config.warmup = 5_000;
            let report = loadgen::run(&config).map_err(|e| e.to_string())?;
            if report.errors > 0 {
                return Err(format!(
                    "{} errors with {} tools: {:?}",
                    report.errors, counts[i], report.first_error
                ));
            }
            calls[i].push(report.cpu_us_per_call.ok_or("no CPU figure")?);
            let list = list_cost(echo, counts[i], if settings.quick { 300 } else { 1_000 })?;
            lists[i].push(list.cpu_us);
            list_bytes[i] = list.bytes;
            if i == 1 {
                list_pages = list.pages;
            }
        }
    }
    let median = |v: &[f64]| stats::median(v).unwrap_or(f64::NAN);
    let ratios: Vec<f64> = calls[1]
        .iter()
        .zip(&calls[0])
        .map(|(many, one)| many / one)
        .collect();
    let call_us = [median(&calls[0]), median(&calls[1])];
    Ok(ToolsResult {
        reps,
        call_us,
        list_us: [median(&lists[0]), median(&lists[1])],
        list_bytes,
        list_pages,
        ratio: call_us[1] / call_us[0],
        ratio_of_reps: median(&ratios),
    })
}

struct FloodResult {
    answered: usize,
    lost: usize,
    duplicates: usize,
    bad: usize,
    peak_kib: u64,
    idle_kib: u64,
    wall: Duration,
    rate: f64,
    first_error: Option<String>,
}

/// Any message from the server, as far as the flood reader cares.
#[derive(Deserialize)]
struct Incoming<'a> {
    id: Option<u64>,
    method: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    result: Option<&'a serde_json::value::RawValue>,
    error: Option<serde::de::IgnoredAny>,
}

/// Writes `count` echo calls without waiting and checks each id is answered exactly once.
fn flood(path: &str, era: Era, count: usize) -> Result<FloodResult, String> {
    let mut pipes = Pipes::spawn(path)?;
    let pid = pipes.pid();
    if era == Era::Legacy {
        pipes.initialize()?;
    } else {
        pipes.send(&format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"server/discover","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"{MODERN_VERSION}","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
        ))?;
        let answer = pipes.response()?;
        if answer.get("result").is_none() {
            return Err(format!("server/discover failed: {answer}"));
        }
    }
    thread::sleep(Duration::from_millis(100));
    let idle_kib = procfs::status_kib(pid, "VmRSS").unwrap_or(0);
    let meta = match era {
        Era::Legacy => String::new(),
        Era::Modern => format!(
            r#","_meta":{{"io.modelcontextprotocol/protocolVersion":"{MODERN_VERSION}","io.modelcontextprotocol/clientCapabilities":{{}}}}"#
        ),
    };
    let Pipes {
        server,
        mut stdin,
        mut stdout,
    } = pipes;
    let progress = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writer = thread::spawn(move || -> Result<ChildStdin, String> {
        let mut buf = Vec::with_capacity(128 * 1024);
        for id in 1..=count {
            buf.extend_from_slice(
                format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{ECHO_TEXT}"}}{meta}}}}}"#
                )
                .as_bytes(),
            );
            buf.push(b'\n');
            if buf.len() >= 64 * 1024 || id == count {
                stdin
                    .write_all(&buf)
                    .map_err(|e| format!("writing request {id}: {e}"))?;
                buf.clear();
            }
        }
        Ok(stdin)
    });
    let reader_progress = Arc::clone(&progress);
    let reader = thread::spawn(move || {
        let mut seen = vec![0u8; count];
        let (mut responses, mut bad) = (0usize, 0usize);
        let mut first_error = None;
        let mut line = Vec::with_capacity(1024);
        while responses < count {
            line.clear();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) => {
                    first_error.get_or_insert(format!(
                        "the server closed stdout after {responses} responses"
                    ));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(format!("reading: {e}"));
                    break;
                }
            }
            let message: Incoming<'_> = match serde_json::from_slice(&line) {
                Ok(m) => m,
                Err(e) => {
                    bad += 1;
                    first_error.get_or_insert(format!(
                        "unparseable ({e}): {}",
                        String::from_utf8_lossy(&line)
                    ));
                    continue;
                }
            };
            if message.method.is_some() {
                continue;
            }
            responses += 1;
            reader_progress.fetch_add(1, Ordering::Relaxed);
            let Some(index) = message
                .id
                .and_then(|id| usize::try_from(id).ok())
                .filter(|id| (1..=count).contains(id))
            else {
                bad += 1;
                first_error.get_or_insert(format!(
                    "response with an unknown id: {}",
                    String::from_utf8_lossy(&line)
                ));
                continue;
            };
            seen[index - 1] = seen[index - 1].saturating_add(1);
            let good = message.error.is_none()
                && message.result.is_some_and(|r| {
                    r.get().contains(ECHO_TEXT) && !r.get().contains("\"isError\":true")
                });
            if !good {
                bad += 1;
                first_error.get_or_insert(format!(
                    "not an echo result: {}",
                    String::from_utf8_lossy(&line)
                ));
            }
        }
        (seen, bad, first_error)
    });
    // Watch: give up after 20 s without a response.
    let mut last = 0;
    let mut since = Instant::now();
    let mut server = server;
    while !reader.is_finished() {
        thread::sleep(Duration::from_millis(20));
        let now = progress.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() > Duration::from_secs(20) {
            let _ = server.0.kill();
            break;
        }
    }
    let wall = started.elapsed();
    let peak_kib = procfs::status_kib(pid, "VmHWM").unwrap_or(0);
    let (seen, bad, mut first_error) = reader.join().map_err(|_| "reader panicked")?;
    if seen.contains(&0) {
        // Unanswered requests: the writer may be stuck on a server that stopped reading.
        let _ = server.0.kill();
    }
    match writer.join() {
        Ok(Ok(stdin)) => drop(stdin),
        Ok(Err(e)) => {
            first_error.get_or_insert(e);
        }
        Err(_) => {
            first_error.get_or_insert("writer panicked".into());
        }
    }
    drop(server);
    let answered = seen.iter().filter(|&&n| n >= 1).count();
    let duplicates = seen.iter().map(|&n| usize::from(n.saturating_sub(1))).sum();
    Ok(FloodResult {
        answered,
        lost: count - answered,
        duplicates,
        bad,
        peak_kib,
        idle_kib,
        wall,
        rate: answered as f64 / wall.as_secs_f64(),
        first_error,
    })
}
