//! `soak`: minutes of mixed load on one server, over stdio and Streamable HTTP at once,
//! with its RSS and open file descriptors sampled from `/proc`.
//!
//! ```text
//! soak --minutes N --server PATH [--json]
//! ```
//!
//! `PATH` is the `everything` example (it serves stdio, or `--http ADDR`). Two copies run:
//! one on a pipe, fed by one writer that mixes legacy calls (after the handshake) and
//! modern requests (`_meta` on each), progress-reporting calls and calls cancelled
//! mid-way; one over HTTP, where clients open legacy sessions, call, and drop them
//! (`DELETE`), and send modern POSTs, each on a fresh connection. It fails (exit 1) when a
//! request got no response or two (a cancelled one may get none), when RSS grew by more than
//! 25% + 8 MiB between the end of the warm-up (a fifth of the run) and the end, or when
//! the fd count is not back to its baseline once the load stops.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxmcp_bench::procfs;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"soak","version":"1"}}"#;

struct Args {
    minutes: f64,
    server: String,
    json: bool,
}

fn args() -> Args {
    let mut out = Args {
        minutes: 10.0,
        server: String::new(),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--minutes" => {
                out.minutes = it.next().and_then(|m| m.parse().ok()).expect("--minutes N")
            }
            "--server" => out.server = it.next().expect("--server PATH"),
            "--json" => out.json = true,
            other => panic!("soak: unknown argument {other:?}"),
        }
    }
    assert!(
        !out.server.is_empty(),
        "usage: soak --minutes N --server PATH [--json]"
    );
    out
}

/// Responses seen per request id; the ids cancelled on purpose.
#[derive(Default)]
struct Ledger {
    sent: Mutex<HashMap<String, bool>>,
    seen: Mutex<HashMap<String, u32>>,
}

impl Ledger {
    fn sent(&self, id: &str, cancelled: bool) {
        self.sent.lock().unwrap().insert(id.to_owned(), cancelled);
    }
    fn seen(&self, id: &str) {
        *self.seen.lock().unwrap().entry(id.to_owned()).or_default() += 1;
    }
    /// Requests sent whose id starts with `prefix` and that have no response yet.
    fn outstanding(&self, prefix: &str) -> usize {
        let sent = self.sent.lock().unwrap();
        let seen = self.seen.lock().unwrap();
        sent.keys()
            .filter(|id| id.starts_with(prefix) && !seen.contains_key(*id))
            .count()
    }

    fn responses(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The lost ones, by the first letter of their id (`s`: stdio, `h`: HTTP).
    fn lost_by_kind(&self) -> HashMap<char, usize> {
        let sent = self.sent.lock().unwrap();
        let seen = self.seen.lock().unwrap();
        let mut out = HashMap::new();
        for (id, cancelled) in sent.iter() {
            if !cancelled && !seen.contains_key(id) {
                *out.entry(id.chars().next().unwrap_or('?')).or_default() += 1;
            }
        }
        out
    }

    /// (requests, lost, duplicated).
    fn verdict(&self) -> (usize, usize, usize) {
        let sent = self.sent.lock().unwrap();
        let seen = self.seen.lock().unwrap();
        let lost = sent
            .iter()
            .filter(|(id, cancelled)| !**cancelled && !seen.contains_key(*id))
            .count();
        let duplicated = seen.values().filter(|n| **n > 1).count()
            + seen.keys().filter(|id| !sent.contains_key(*id)).count();
        (sent.len(), lost, duplicated)
    }
}

fn call(id: &str, tool: &str, modern: bool, progress: bool) -> String {
    let mut params = json!({"name": tool, "arguments": {}});
    if modern {
        params["_meta"] = serde_json::from_str(META).unwrap();
    }
    if progress {
        params["_meta"]["progressToken"] = json!(id);
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string()
}

/// The stdio half: one pipe, one writer, one reader.
async fn stdio(server: &str, ledger: Arc<Ledger>, stop: Arc<AtomicBool>) -> Child {
    let mut child = Command::new(server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the stdio server");
    let mut input = child.stdin.take().unwrap();
    let output = child.stdout.take().unwrap();
    let reader_ledger = ledger.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                eprintln!("soak: the stdio server wrote invalid JSON: {line}");
                reader_ledger.seen("<invalid>");
                continue;
            };
            if v.get("method").is_none() {
                if let Some(id) = v.get("id").and_then(Value::as_str) {
                    reader_ledger.seen(id);
                }
            }
        }
    });
    tokio::spawn(async move {
        let init = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}"#;
        ledger.sent("init", false);
        let mut frames =
            format!("{init}\n{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}}\n");
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            // Load, not a flood: at most a few hundred requests waiting on the pipe.
            if ledger.outstanding("s") > 200 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            for _ in 0..20 {
                n += 1;
                let id = format!("s{n}");
                let modern = n % 2 == 0;
                match n % 10 {
                    3 => {
                        ledger.sent(&id, false);
                        frames.push_str(&call(&id, "test_tool_with_progress", modern, true));
                    }
                    7 => {
                        ledger.sent(&id, true);
                        frames.push_str(&call(&id, "test_tool_with_progress", false, false));
                        frames.push('\n');
                        frames.push_str(
                            &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": id, "reason": "soak"}})
                            .to_string(),
                        );
                    }
                    _ => {
                        ledger.sent(&id, false);
                        frames.push_str(&call(&id, "test_simple_text", modern, false));
                    }
                }
                frames.push('\n');
            }
            if input.write_all(frames.as_bytes()).await.is_err() {
                break;
            }
            frames.clear();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Keep the pipe open: the server stays up for the final fd count.
        std::mem::forget(input);
    });
    child
}

/// One HTTP/1.1 request on a fresh connection; (status, session id, body).
async fn post(
    addr: &str,
    method: &str,
    session: Option<&str>,
    body: &str,
) -> std::io::Result<(u16, Option<String>, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!(
        "{method} /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(s) = session {
        head.push_str(&format!(
            "Mcp-Session-Id: {s}\r\nMcp-Protocol-Version: 2025-11-25\r\n"
        ));
    }
    // A modern request names its version, method and target in headers too.
    let message = serde_json::from_str::<Value>(body).unwrap_or_default();
    if message["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28" {
        head.push_str(&format!(
            "Mcp-Protocol-Version: 2026-07-28\r\nMcp-Method: {}\r\nMcp-Name: {}\r\n",
            message["method"].as_str().unwrap_or_default(),
            message["params"]["name"].as_str().unwrap_or_default()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let session = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("mcp-session-id")
            .then(|| v.trim().to_owned())
    });
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((
        status,
        session,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The ids of the responses in a JSON or SSE answer.
fn answered(body: &str, ledger: &Ledger) {
    let record = |text: &str| {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            if v.get("method").is_none() {
                if let Some(id) = v.get("id").and_then(Value::as_str) {
                    ledger.seen(id);
                }
            }
        }
    };
    if body.trim_start().starts_with('{') {
        record(body.trim());
    } else {
        for line in body.lines() {
            if let Some(data) = line.strip_prefix("data:") {
                record(data.trim());
            }
        }
    }
}

/// One HTTP client: sessions opened, used and dropped; modern POSTs.
async fn http_client(addr: String, k: usize, ledger: Arc<Ledger>, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("h{k}-{n}");
        if n % 3 == 0 {
            // A legacy session: initialize, call, delete.
            let init = json!({"jsonrpc": "2.0", "id": format!("{id}-init"), "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "soak", "version": "1"}}});
            ledger.sent(&format!("{id}-init"), false);
            let Ok((_, Some(session), body)) = post(&addr, "POST", None, &init.to_string()).await
            else {
                continue;
            };
            answered(&body, &ledger);
            let _ = post(
                &addr,
                "POST",
                Some(&session),
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            )
            .await;
            ledger.sent(&id, false);
            if let Ok((_, _, body)) = post(
                &addr,
                "POST",
                Some(&session),
                &call(&id, "test_tool_with_progress", false, true),
            )
            .await
            {
                answered(&body, &ledger);
            }
            let _ = post(&addr, "DELETE", Some(&session), "").await;
        } else {
            ledger.sent(&id, false);
            let tool = if n % 3 == 1 {
                "test_simple_text"
            } else {
                "test_tool_with_progress"
            };
            if let Ok((_, _, body)) =
                post(&addr, "POST", None, &call(&id, tool, true, n % 3 == 2)).await
            {
                answered(&body, &ledger);
            }
        }
    }
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn rss_kib(pid: u32) -> u64 {
    procfs::status_kib(pid, "VmRSS").unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let warmup = total / 5;
    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let http = Command::new(&args.server)
        .args(["--http", &addr])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the HTTP server");
    for _ in 0..100 {
        if TcpStream::connect(&addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stdio_child = stdio(&args.server, ledger.clone(), stop.clone()).await;
    let pids = [
        ("stdio", stdio_child.id().unwrap()),
        ("http", http.id().unwrap()),
    ];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base_fds: Vec<usize> = pids.iter().map(|(_, p)| fds(*p)).collect();

    let clients: Vec<_> = (0..4)
        .map(|k| tokio::spawn(http_client(addr.clone(), k, ledger.clone(), stop.clone())))
        .collect();
    let started = Instant::now();
    let mut after_warmup: Option<Vec<u64>> = None;
    let peak = AtomicU64::new(0);
    while started.elapsed() < total {
        tokio::time::sleep(Duration::from_secs(5).min(total)).await;
        let rss: Vec<u64> = pids.iter().map(|(_, p)| rss_kib(*p)).collect();
        peak.fetch_max(rss.iter().copied().max().unwrap_or(0), Ordering::Relaxed);
        if after_warmup.is_none() && started.elapsed() >= warmup {
            after_warmup = Some(rss.clone());
        }
        eprintln!(
            "soak: {:>5.0} s  rss KiB {:?}  fds {:?}",
            started.elapsed().as_secs_f64(),
            rss,
            pids.iter().map(|(_, p)| fds(*p)).collect::<Vec<_>>()
        );
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    // Let the last calls (and the sessions' cleanup) finish: until no response has come
    // for 2 s (30 s at most).
    let mut last = ledger.responses();
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = ledger.responses();
        if now == last {
            break;
        }
        last = now;
    }
    let end_rss: Vec<u64> = pids.iter().map(|(_, p)| rss_kib(*p)).collect();
    let end_fds: Vec<usize> = pids.iter().map(|(_, p)| fds(*p)).collect();
    let base_rss = after_warmup.unwrap_or_else(|| end_rss.clone());
    let (requests, lost, duplicated) = ledger.verdict();
    let mut failures = Vec::new();
    for (i, (name, _)) in pids.iter().enumerate() {
        let allowed = base_rss[i] + base_rss[i] / 4 + 8 * 1024;
        if end_rss[i] > allowed {
            failures.push(format!(
                "{name}: RSS grew from {} KiB after the warm-up to {} KiB",
                base_rss[i], end_rss[i]
            ));
        }
        if end_fds[i] > base_fds[i] {
            failures.push(format!(
                "{name}: {} fds open at the end, {} at the start",
                end_fds[i], base_fds[i]
            ));
        }
    }
    if lost > 0 {
        failures.push(format!(
            "{lost} request(s) got no response (by kind, s: stdio, h: HTTP: {:?})",
            ledger.lost_by_kind()
        ));
    }
    if duplicated > 0 {
        failures.push(format!(
            "{duplicated} response(s) duplicated or unasked for"
        ));
    }
    eprintln!(
        "soak: {requests} requests in {:.0} s; lost {lost}, duplicated {duplicated}; rss KiB after warm-up {base_rss:?}, at the end {end_rss:?}; fds at the start {base_fds:?}, at the end {end_fds:?}",
        total.as_secs_f64()
    );
    if args.json {
        println!(
            "{}",
            json!({"bench": "soak", "minutes": args.minutes, "requests": requests, "lost": lost,
                   "duplicated": duplicated, "rss_kib_after_warmup": base_rss, "rss_kib_end": end_rss,
                   "fds_start": base_fds, "fds_end": end_fds, "ok": failures.is_empty()})
        );
    }
    let _ = std::io::stdout().flush();
    drop(stdio_child);
    drop(http);
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("soak: FAIL: {f}");
        }
        std::process::exit(1);
    }
}
