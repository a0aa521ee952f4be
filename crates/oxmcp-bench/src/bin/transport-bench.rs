//! `transport-bench`: oxmcp's server over Streamable HTTP, HTTP+SSE and WebSocket, in one
//! run, on one listener (`/mcp`, `/sse` with `/messages`, `/ws`).
//!
//! `transport-bench [--requests N] [--reps R] [--idle N] [--json]` starts itself as the
//! server (`--serve ADDR`: an `echo` tool, served by `Router::serve_http` with the caps
//! raised so the idle sockets all fit) and, per era, drives it with 16 concurrent oxmcp
//! clients of each transport (the load generator's CPU is not counted): the median server
//! CPU per `tools/call` (from /proc) over R runs, and its ratio to the Streamable HTTP
//! figure of the same run. Then the memory of an idle WebSocket connection: the server's
//! RSS growth over N more idle sockets (each past its `initialize` handshake), after a
//! first round that warms the allocator. JSON lines (`--json`) go to stdout, tables to
//! stderr.

use std::future::IntoFuture;
use std::time::Duration;

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::server::http::HttpConfig;
use oxmcp::server::{tool, Args, Router};
use oxmcp_bench::rawhttp::SelfServer;
use oxmcp_bench::{cli, procfs, stats};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

const CLIENTS: usize = 16;

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Streamable,
    Sse,
    Ws,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Streamable => "streamable-http",
            Transport::Sse => "http+sse",
            Transport::Ws => "websocket",
        }
    }

    async fn connect(self, addr: &str, era: EraChoice) -> oxmcp::Result<Client> {
        let builder = Client::builder().name("transport-bench").era(era);
        match self {
            Transport::Streamable => builder.connect_http(format!("http://{addr}/mcp")).await,
            Transport::Sse => builder.connect_sse(format!("http://{addr}/sse")).await,
            Transport::Ws => builder.connect_ws(format!("ws://{addr}/ws")).await,
        }
    }
}

/// The server's RSS.
fn rss_kib(server: &SelfServer) -> Result<u64, String> {
    procfs::status_kib(server.pid, "VmRSS").ok_or_else(|| "the server is gone".into())
}

async fn call(client: &Client) -> Result<(), String> {
    let out = client
        .call_tool("echo", json!({"text": "hello"}))
        .await
        .map_err(|e| e.to_string())?;
    if serde_json::to_string(&out.content).is_ok_and(|t| t.contains("hello")) {
        Ok(())
    } else {
        Err("a wrong answer".into())
    }
}

/// Server CPU µs per call with [`CLIENTS`] clients of `transport` making `requests` calls.
async fn cpu_per_call(
    transport: Transport,
    era: EraChoice,
    requests: usize,
) -> Result<f64, String> {
    let server = SelfServer::start(&[]).await?;
    let per_client = requests / CLIENTS;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = transport
            .connect(&server.addr, era)
            .await
            .map_err(|e| format!("{}: connect: {e}", transport.name()))?;
        for _ in 0..(per_client / 10).max(10) {
            call(&client).await?; // warm up
        }
        clients.push(client);
    }
    let clients: Vec<_> = clients
        .into_iter()
        .map(|client| async move {
            for _ in 0..per_client {
                call(&client).await?;
            }
            Ok::<_, String>(client)
        })
        .collect();
    let (cpu, _clients) =
        procfs::cpu_per_call_while(server.pid, per_client * CLIENTS, clients).await?;
    Ok(cpu)
}

/// Bytes of server RSS per idle WebSocket connection: the growth over `count` sockets
/// opened after a first round of `count / 4` (which warms the allocator).
async fn idle_ws(count: usize) -> Result<(f64, u64, u64), String> {
    let server = SelfServer::start(&[]).await?;
    let era = EraChoice::Legacy(ProtocolVersion::V2025_11_25);
    let open = |n: usize| {
        let addr = server.addr.clone();
        async move {
            let mut sockets = Vec::with_capacity(n);
            for _ in 0..n {
                let client = Transport::Ws
                    .connect(&addr, era)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                sockets.push(client);
            }
            Ok::<_, String>(sockets)
        }
    };
    let settle = || tokio::time::sleep(Duration::from_millis(500));
    let warm = open((count / 4).max(1)).await?;
    settle().await;
    let before = rss_kib(&server)?;
    let idle = open(count).await?;
    settle().await;
    let after = rss_kib(&server)?;
    // Every socket is still served.
    call(&warm[0]).await?;
    call(&idle[idle.len() - 1]).await?;
    let per = (after as f64 - before as f64) * 1024.0 / count as f64;
    Ok((per, before, after))
}

fn serve(addr: String) -> ! {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let config = HttpConfig::new()
        .max_sessions(1_000_000)
        .max_sessions_per_peer(1_000_000);
    let router = Router::new()
        .name("transport-bench")
        .tool("echo", tool(echo).description("Send the text back."));
    let result = runtime.block_on(router.http(addr).config(config).into_future());
    if let Err(e) = result {
        eprintln!("transport-bench --serve: {e}");
        std::process::exit(1);
    }
    std::process::exit(0)
}

fn main() {
    let mut raw = std::env::args().skip(1);
    if let (Some(flag), Some(addr)) = (raw.next(), raw.next()) {
        if flag == "--serve" {
            serve(addr);
        }
    }
    let args = match cli::Args::parse(
        std::env::args().skip(1),
        &["requests", "reps", "idle"],
        &["json"],
    ) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("transport-bench: {e}\nusage: transport-bench [--requests N] [--reps R] [--idle N] [--json]");
            std::process::exit(2);
        }
    };
    let requests: usize = args.get("requests", 16_000).unwrap_or(16_000);
    let reps: usize = args.get("reps", 3).unwrap_or(3);
    let idle: usize = args.get("idle", 1_000).unwrap_or(1_000);
    let json = args.switch("json");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let failed = runtime.block_on(run(requests, reps, idle, json));
    if failed {
        std::process::exit(1);
    }
}

async fn run(requests: usize, reps: usize, idle: usize, json: bool) -> bool {
    let mut failed = false;
    let transports = [Transport::Streamable, Transport::Sse, Transport::Ws];
    for (era, era_name) in [
        (EraChoice::Legacy(ProtocolVersion::V2025_11_25), "legacy"),
        (EraChoice::Modern, "modern"),
    ] {
        let mut samples: Vec<Vec<f64>> = transports.iter().map(|_| Vec::new()).collect();
        for _ in 0..reps {
            for (i, transport) in transports.iter().enumerate() {
                match cpu_per_call(*transport, era, requests).await {
                    Ok(cpu) => samples[i].push(cpu),
                    Err(e) => {
                        eprintln!("transport-bench: {} ({era_name}): {e}", transport.name());
                        failed = true;
                    }
                }
            }
        }
        let medians: Vec<f64> = samples
            .iter()
            .map(|s| stats::median(s).unwrap_or(f64::NAN))
            .collect();
        eprintln!(
            "\nserver CPU per call, {era_name}, {CLIENTS} clients, {requests} calls x {reps} reps (medians, ×ratio to Streamable HTTP):"
        );
        for (i, transport) in transports.iter().enumerate() {
            let ratio = medians[i] / medians[0];
            eprintln!(
                "  {:<16} {:>7.2} µs  ×{ratio:.2}",
                transport.name(),
                medians[i]
            );
            if json {
                let finite = |v: f64| v.is_finite().then_some(v);
                println!(
                    "{}",
                    json!({"bench": "transports", "era": era_name, "clients": CLIENTS,
                        "transport": transport.name(), "requests": requests, "reps": reps,
                        "runs": samples[i].len(), "cpu_us_per_call": finite(medians[i]),
                        "cpu_ratio_to_streamable": finite(ratio)})
                );
            }
        }
    }
    match idle_ws(idle).await {
        Ok((per, before, after)) => {
            eprintln!(
                "\nidle WebSocket connections: {per:.0} B of server RSS each ({idle} sockets: {before} KiB -> {after} KiB)"
            );
            if json {
                println!(
                    "{}",
                    json!({"bench": "idle-ws", "server": "oxmcp", "sockets": idle,
                        "rss_before_kib": before, "rss_after_kib": after,
                        "rss_per_connection_bytes": per})
                );
            }
        }
        Err(e) => {
            eprintln!("transport-bench: idle WebSocket connections: {e}");
            failed = true;
        }
    }
    failed
}
