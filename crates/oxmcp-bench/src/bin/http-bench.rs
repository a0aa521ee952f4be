//! `http-bench`: MCP servers over Streamable HTTP, side by side in one run.
//!
//! `http-bench [--requests N] [--reps R] NAME=COMMAND...` where each COMMAND contains
//! `{addr}`, replaced by a free `127.0.0.1:PORT` (the server must serve `/mcp` there). The
//! first server is the baseline. For the legacy era (each client its own session) and the
//! modern stateless era, with 1 and 16 concurrent keep-alive clients, it reports the median
//! throughput, latency p50/p99 and server CPU per call (from /proc), with ratios to the
//! baseline. The load generator is raw HTTP/1.1 over TCP: no SDK, no HTTP library.

use std::time::{Duration, Instant};

use oxmcp_bench::{cli, procfs, stats};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

#[derive(Clone, Copy, PartialEq)]
enum Era {
    Legacy,
    Modern,
}

struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
    session: Option<String>,
}

impl Conn {
    async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(stream),
            host: addr.to_owned(),
            session: None,
        })
    }

    /// One POST; returns the status, the session header and the body.
    async fn post(
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
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{headers}{session}Content-Length: {}\r\n\r\n{body}",
            self.host,
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
        let (mut length, mut session) = (0usize, None);
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
                "transfer-encoding" => {
                    return Err(std::io::Error::other(
                        "chunked answers are not expected here",
                    ))
                }
                _ => {}
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, session, body))
    }
}

async fn open_client(addr: &str, era: Era) -> std::io::Result<Conn> {
    let mut conn = Conn::open(addr).await?;
    if era == Era::Legacy {
        let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"http-bench","version":"0.1"}}}"#;
        let (status, session, _) = conn.post(init, "").await?;
        if status != 200 {
            return Err(std::io::Error::other(format!(
                "initialize answered {status}"
            )));
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

async fn call(conn: &mut Conn, era: Era, id: usize) -> std::io::Result<()> {
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
    if status != 200 || !answer.windows(5).any(|w| w == b"hello") {
        return Err(std::io::Error::other(format!(
            "bad answer {status}: {}",
            String::from_utf8_lossy(&answer)
        )));
    }
    Ok(())
}

struct Sample {
    throughput: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").to_string()
}

async fn measure(
    command: &str,
    era: Era,
    clients: usize,
    requests: usize,
) -> Result<Sample, String> {
    let addr = free_addr();
    let line = command.replace("{addr}", &addr);
    let mut words = line.split_whitespace();
    let program = words.next().ok_or("empty command")?;
    let mut child = tokio::process::Command::new(program)
        .args(words)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("start {line}: {e}"))?;
    let pid = child.id().ok_or("no pid")?;
    let mut ready = false;
    for _ in 0..200 {
        if TcpStream::connect(&addr).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if !ready {
        return Err(format!("{line} did not listen"));
    }
    let per_client = requests / clients;
    let mut conns = Vec::new();
    for _ in 0..clients {
        let mut conn = open_client(&addr, era).await.map_err(|e| e.to_string())?;
        for i in 0..(per_client / 10).max(10) {
            call(&mut conn, era, i).await.map_err(|e| e.to_string())?; // warm up
        }
        conns.push(conn);
    }
    let before = procfs::stat(pid).ok_or("no /proc stat")?.own_ticks;
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let t = Instant::now();
                    call(&mut conn, era, i + 1_000_000).await?;
                    latencies.push(t.elapsed().as_nanos() as u64);
                }
                Ok::<_, std::io::Error>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(
            task.await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?,
        );
    }
    let wall = start.elapsed();
    let after = procfs::stat(pid).ok_or("no /proc stat")?.own_ticks;
    let _ = child.kill().await;
    latencies.sort_unstable();
    let total = latencies.len() as f64;
    Ok(Sample {
        throughput: total / wall.as_secs_f64(),
        p50_us: stats::percentile(&latencies, 50.0) as f64 / 1000.0,
        p99_us: stats::percentile(&latencies, 99.0) as f64 / 1000.0,
        // Clock ticks are 10 ms (CLK_TCK 100).
        cpu_us: (after - before) as f64 * 10_000.0 / total,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match cli::Args::parse(std::env::args().skip(1), &["requests", "reps"], &["json"]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("http-bench: {e}\nusage: http-bench [--requests N] [--reps R] NAME=COMMAND-with-{{addr}}...");
            std::process::exit(2);
        }
    };
    let requests: usize = args.get("requests", 16_000).unwrap_or(16_000);
    let reps: usize = args.get("reps", 3).unwrap_or(3);
    let servers: Vec<(String, String)> = args
        .positional
        .iter()
        .filter_map(|s| s.split_once('=').map(|(n, c)| (n.to_owned(), c.to_owned())))
        .collect();
    if servers.is_empty() {
        eprintln!("http-bench: name at least one NAME=COMMAND");
        std::process::exit(2);
    }
    let mut failed = false;
    for (era, era_name) in [(Era::Legacy, "legacy"), (Era::Modern, "modern")] {
        for clients in [1usize, 16] {
            let mut samples: Vec<Vec<Sample>> = servers.iter().map(|_| Vec::new()).collect();
            for _ in 0..reps {
                for (i, (name, command)) in servers.iter().enumerate() {
                    match measure(command, era, clients, requests).await {
                        Ok(s) => samples[i].push(s),
                        Err(e) => {
                            eprintln!("http-bench: {name} ({era_name}, {clients} clients): {e}");
                            failed = true;
                        }
                    }
                }
            }
            eprintln!("\nHTTP {era_name}, {clients} keep-alive client(s), {requests} calls x {reps} reps (medians, ×ratio to {}):", servers[0].0);
            eprintln!(
                "  {:<8} {:>12} {:>10} {:>10} {:>14}",
                "server", "req/s", "p50 µs", "p99 µs", "CPU µs/call"
            );
            let median = |v: &Vec<Sample>, f: fn(&Sample) -> f64| {
                stats::median(&v.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
            };
            let base = [
                median(&samples[0], |s| s.throughput),
                median(&samples[0], |s| s.p50_us),
                median(&samples[0], |s| s.p99_us),
                median(&samples[0], |s| s.cpu_us),
            ];
            for (i, (name, _)) in servers.iter().enumerate() {
                let m = [
                    median(&samples[i], |s| s.throughput),
                    median(&samples[i], |s| s.p50_us),
                    median(&samples[i], |s| s.p99_us),
                    median(&samples[i], |s| s.cpu_us),
                ];
                eprintln!(
                    "  {:<8} {:>7.0} ×{:<4.2} {:>5.1} ×{:<4.2} {:>5.1} ×{:<4.2} {:>6.2} ×{:<4.2}",
                    name,
                    m[0],
                    m[0] / base[0],
                    m[1],
                    m[1] / base[1],
                    m[2],
                    m[2] / base[2],
                    m[3],
                    m[3] / base[3]
                );
                if args.switch("json") {
                    println!(
                        "{}",
                        serde_json::json!({"bench": "http", "era": era_name, "clients": clients, "server": name,
                            "req_per_s": m[0], "p50_us": m[1], "p99_us": m[2], "cpu_us_per_call": m[3],
                            "cpu_ratio_to_baseline": m[3] / base[3]})
                    );
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
