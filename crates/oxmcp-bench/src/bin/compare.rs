//! `compare`: runs several stdio MCP servers side by side and reports ratios.
//!
//! ```text
//! compare [--reps 5] [--requests 20000] [--warmup W] [--inflight 1,32]
//!         [--era legacy[,modern]] [--timeout SECS] [--json] NAME=COMMAND...
//! ```
//!
//! The first server is the baseline (normally `floor=.../floor-stdio`). Tables
//! go to stderr; with `--json`, every run and every summary is one JSON object
//! per line on stdout. A server that refuses an era (its handshake answers
//! "method not found" or lacks the version) is shown as `n/a` in that era's
//! tables and does not make the run fail.

use std::process::ExitCode;
use std::time::Duration;

use oxmcp_bench::cli::Args;
use oxmcp_bench::compare::{self, Plan, Server};
use oxmcp_bench::{report, Era};

const USAGE: &str = "usage: compare [--reps 5] [--requests 20000] [--warmup W] \
[--inflight 1,32] [--era legacy[,modern]] [--timeout SECS] [--json] NAME=COMMAND...";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("compare: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let args = Args::parse(
        std::env::args().skip(1),
        &["reps", "requests", "warmup", "inflight", "era", "timeout"],
        &["json", "help"],
    )?;
    if args.switch("help") {
        eprintln!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let servers = args
        .positional
        .iter()
        .map(|s| s.parse::<Server>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if servers.is_empty() {
        return Err("no servers given".into());
    }
    let requests = args.get("requests", 20_000usize)?;
    let plan = Plan {
        servers,
        eras: args.list("era", vec![Era::Legacy])?,
        inflights: args.list("inflight", vec![1, 32])?,
        reps: args.get("reps", 5usize)?.max(1),
        requests,
        warmup: args.get("warmup", (requests / 10).clamp(100, 2_000))?,
        timeout: Duration::from_secs_f64(args.get("timeout", 30.0)?),
    };
    if plan.inflights.contains(&0) {
        return Err("--inflight values must be at least 1".into());
    }
    let json = args.switch("json");
    let groups = compare::run(&plan, |server, rep, result| match result {
        Ok(r) => {
            eprintln!(
                "  rep {} {:<12} {} inflight={:<3} {:>9} req/s  p50 {:>8} µs  cpu {:>7} µs/call  errors {}",
                rep + 1,
                server.name,
                r.era,
                r.inflight,
                report::figure(Some(r.throughput_rps)),
                report::figure(Some(r.latency.p50_us)),
                report::figure(r.cpu_us_per_call),
                r.errors
            );
            if json {
                let mut line = report::to_json(r, Some(&server.name));
                line["rep"] = (rep + 1).into();
                println!("{line}");
            }
        }
        Err(e) if e.is_unsupported() => {
            eprintln!(
                "  rep {} {:<12} n/a (era refused): {e}",
                rep + 1,
                server.name
            )
        }
        Err(e) => eprintln!("  rep {} {:<12} failed: {e}", rep + 1, server.name),
    });
    let mut clean = true;
    for group in &groups {
        eprintln!();
        eprint!("{}", compare::to_table(group, &plan));
        if json {
            for line in compare::to_json(group, &plan) {
                println!("{line}");
            }
        }
        clean &= group
            .servers
            .iter()
            .all(|s| s.errors == 0 && s.failures.is_empty());
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
