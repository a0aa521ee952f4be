//! `http-bench`: MCP servers over Streamable HTTP, side by side in one run.
//!
//! `http-bench [--requests N] [--reps R] NAME=COMMAND...` where each COMMAND contains
//! `{addr}`, replaced by a free `127.0.0.1:PORT` (the server must serve `/mcp` there). The
//! first server is the baseline. For the legacy era (each client its own session) and the
//! modern stateless era, with 1 and 16 concurrent keep-alive clients, it reports the median
//! throughput, latency p50/p99 and server CPU per call (from /proc), with ratios to the
//! baseline. The load generator is raw HTTP/1.1 over TCP: no SDK, no HTTP library. Answers
//! may be JSON or an SSE stream (chunked). A server that refuses an era (an HTTP 4xx to its
//! handshake or calls) is reported as `n/a` for that era, not as a failure.

use std::time::{Duration, Instant};

use oxmcp_bench::rawhttp::{call, free_addr, open_client, wait_listening, Failure};
use oxmcp_bench::{cli, procfs, stats, Era};

struct Sample {
    throughput: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
}

async fn measure(
    command: &str,
    era: Era,
    clients: usize,
    requests: usize,
) -> Result<Sample, Failure> {
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
    wait_listening(&addr)
        .await
        .map_err(|e| format!("{line}: {e}"))?;
    let per_client = requests / clients;
    let mut conns = Vec::new();
    for _ in 0..clients {
        let mut conn = open_client(&addr, era, "").await?;
        for i in 0..(per_client / 10).max(10) {
            call(&mut conn, era, i).await?; // warm up
        }
        conns.push(conn);
    }
    let before = procfs::cpu_sample(pid).ok_or("no /proc stat")?;
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
                Ok::<_, Failure>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let wall = start.elapsed();
    let after = procfs::cpu_sample(pid).ok_or("no /proc stat")?;
    // SIGTERM first, so a server (or a profiler wrapping it) can end on its own terms.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    latencies.sort_unstable();
    let total = latencies.len() as f64;
    // Nanosecond per-thread counters when they account for all the time, else clock ticks.
    let cpu = procfs::cpu_delta(&before, &after, procfs::clk_tck());
    Ok(Sample {
        throughput: total / wall.as_secs_f64(),
        p50_us: stats::percentile(&latencies, 50.0) as f64 / 1000.0,
        p99_us: stats::percentile(&latencies, 99.0) as f64 / 1000.0,
        cpu_us: cpu.seconds * 1e6 / total,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match cli::Args::parse(std::env::args().skip(1), &["requests", "reps"], &["json"]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("http-bench: {e}\nusage: http-bench [--requests N] [--reps R] [--json] NAME=COMMAND-with-{{addr}}...");
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
    let json = args.switch("json");
    let mut failed = false;
    for (era, era_name) in [(Era::Legacy, "legacy"), (Era::Modern, "modern")] {
        for clients in [1usize, 16] {
            let mut samples: Vec<Vec<Sample>> = servers.iter().map(|_| Vec::new()).collect();
            let mut unsupported: Vec<Option<String>> = servers.iter().map(|_| None).collect();
            for _ in 0..reps {
                for (i, (name, command)) in servers.iter().enumerate() {
                    if unsupported[i].is_some() {
                        continue;
                    }
                    match measure(command, era, clients, requests).await {
                        Ok(s) => samples[i].push(s),
                        Err(Failure::Unsupported(e)) => {
                            eprintln!("http-bench: {name} ({era_name}): unsupported: {e}");
                            unsupported[i] = Some(e);
                        }
                        Err(Failure::Failed(e)) => {
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
            let medians = |v: &Vec<Sample>| {
                [
                    median(v, |s| s.throughput),
                    median(v, |s| s.p50_us),
                    median(v, |s| s.p99_us),
                    median(v, |s| s.cpu_us),
                ]
            };
            let base = medians(&samples[0]);
            for (i, (name, _)) in servers.iter().enumerate() {
                if let Some(reason) = &unsupported[i] {
                    eprintln!("  {name:<8} n/a (does not serve this era)");
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"bench": "http", "era": era_name, "clients": clients, "server": name,
                                "unsupported": true, "error": reason})
                        );
                    }
                    continue;
                }
                let m = medians(&samples[i]);
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
                if json {
                    let finite = |v: f64| v.is_finite().then_some(v);
                    println!(
                        "{}",
                        serde_json::json!({"bench": "http", "era": era_name, "clients": clients, "server": name,
                            "baseline": servers[0].0, "requests": requests, "reps": reps, "runs": samples[i].len(),
                            "req_per_s": finite(m[0]), "p50_us": finite(m[1]), "p99_us": finite(m[2]),
                            "cpu_us_per_call": finite(m[3]),
                            "p50_ratio_to_baseline": finite(m[1] / base[1]),
                            "cpu_ratio_to_baseline": finite(m[3] / base[3])})
                    );
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
