//! `hub-bench`: `tools/list` answered by a hub of N back ends (from its cache) against the
//! same request answered by one server listing as many tools, both over stdio, as the
//! oxmcp client sees it.
//!
//! ```text
//! hub-bench --hub HUB --server SERVER [--backends 10] [--requests 2000] [--reps 5] [--json]
//! ```
//!
//! The hub's back ends are N copies of SERVER. The one server it is compared with is
//! SERVER started with `--tools T`, T the number of tools the hub lists (`examples/echo`
//! then registers T tools), so that both answers list the same number of tools and the
//! ratio shows what the hub adds, not what a longer list costs.
//!
//! Each repetition starts both, warms them up, then times `--requests` sequential
//! `tools/list` calls of each; the median per-call latency of each and their ratio are
//! reported (with `--json`, one JSON object on stdout).

use std::process::ExitCode;
use std::time::Instant;

use oxmcp::client::Client;
use oxmcp::transport::stdio::ChildCommand;
use oxmcp_bench::cli::Args;
use oxmcp_bench::stats::median;
use serde_json::json;

const USAGE: &str =
    "usage: hub-bench --hub HUB --server SERVER [--backends 10] [--requests 2000] [--reps 5] [--json]";

/// Median microseconds per `tools/list` over `requests` sequential calls.
async fn per_call_us(client: &Client, requests: usize) -> Result<f64, String> {
    for _ in 0..requests.min(200) {
        client.list_tools(None).await.map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    for _ in 0..requests {
        client.list_tools(None).await.map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / requests as f64)
}

/// A client of the server `command` (of `program`) starts, and how many tools it lists.
async fn started(program: &str, command: ChildCommand) -> Result<(Client, usize), String> {
    let client = Client::builder()
        .connect_stdio(command)
        .await
        .map_err(|e| format!("{program}: {e}"))?;
    let tools = client.list_all_tools().await.map_err(|e| e.to_string())?;
    Ok((client, tools.len()))
}

async fn run() -> Result<(), String> {
    let args = Args::parse(
        std::env::args().skip(1),
        &["hub", "server", "backends", "requests", "reps"],
        &["json", "help"],
    )?;
    let hub: String = args.get("hub", String::new())?;
    let server: String = args.get("server", String::new())?;
    if args.switch("help") || hub.is_empty() || server.is_empty() {
        return Err(USAGE.into());
    }
    let backends = args.get("backends", 10usize)?.max(1);
    let requests = args.get("requests", 2000usize)?.max(1);
    let reps = args.get("reps", 5usize)?.max(1);
    let servers: serde_json::Map<String, serde_json::Value> = (0..backends)
        .map(|i| (format!("s{i}"), json!({ "command": server })))
        .collect();
    let config = std::env::temp_dir().join(format!("oxmcp-hub-bench-{}.json", std::process::id()));
    std::fs::write(&config, json!({ "mcpServers": servers }).to_string())
        .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let (mut single, mut many) = (Vec::new(), Vec::new());
    let mut tools = 0;
    for rep in 0..reps {
        let (through, listed) =
            started(&hub, ChildCommand::new(&hub).arg("--config").arg(&config)).await?;
        let (direct, alone) = started(
            &server,
            ChildCommand::new(&server)
                .arg("--tools")
                .arg(listed.to_string()),
        )
        .await?;
        if alone != listed {
            return Err(format!(
                "{server} --tools {listed} lists {alone} tools: it must take --tools N and list N tools"
            ));
        }
        let one = per_call_us(&direct, requests).await?;
        let all = per_call_us(&through, requests).await?;
        eprintln!(
            "  rep {} tools/list of {listed} tools: one server {one:>8.1} µs, hub of {backends} {all:>8.1} µs, ratio {:.2}",
            rep + 1,
            all / one
        );
        tools = listed;
        single.push(one);
        many.push(all);
        let _ = direct.close().await;
        let _ = through.close().await;
    }
    let _ = std::fs::remove_file(&config);
    let (one, all) = (median(&single), median(&many));
    let ratio = match (one, all) {
        (Some(one), Some(all)) if one > 0.0 => Some(all / one),
        _ => None,
    };
    eprintln!(
        "hub-bench: median tools/list one server {:.1} µs, hub of {backends} {:.1} µs, ratio {:.2}",
        one.unwrap_or(f64::NAN),
        all.unwrap_or(f64::NAN),
        ratio.unwrap_or(f64::NAN)
    );
    if args.switch("json") {
        println!(
            "{}",
            json!({
                "kind": "summary",
                "name": "hub-tools-list",
                "backends": backends,
                "tools": tools,
                "median": { "single_us": one, "hub_us": all },
                "ratio": { "hub_us": ratio },
            })
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hub-bench: {message}");
            ExitCode::FAILURE
        }
    }
}
