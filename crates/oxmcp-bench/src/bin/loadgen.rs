//! `loadgen`: measures one stdio MCP server with raw JSON-RPC.
//!
//! ```text
//! loadgen --server "<command line>" [--era legacy|modern] [--inflight N]
//!         [--requests M] [--warmup W] [--timeout SECS] [--json]
//! ```
//!
//! Prints a table to stderr, and with `--json` one JSON object per line to stdout.

use std::process::ExitCode;
use std::time::Duration;

use oxmcp_bench::cli::Args;
use oxmcp_bench::{loadgen, report, Config, Era};

const USAGE: &str = "usage: loadgen --server \"<command line>\" [--era legacy|modern] \
[--inflight N] [--requests M] [--warmup W] [--timeout SECS] [--json]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("loadgen: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let args = Args::parse(
        std::env::args().skip(1),
        &["server", "era", "inflight", "requests", "warmup", "timeout"],
        &["json", "help"],
    )?;
    if args.switch("help") {
        eprintln!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(extra) = args.positional.first() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    let server = args.value("server").ok_or("--server is required")?;
    let defaults = Config::new(server);
    let config = Config {
        era: args.get::<Era>("era", defaults.era)?,
        inflight: args.get("inflight", defaults.inflight)?,
        requests: args.get("requests", defaults.requests)?,
        warmup: args.get("warmup", defaults.warmup)?,
        timeout: Duration::from_secs_f64(args.get("timeout", defaults.timeout.as_secs_f64())?),
        ..defaults
    };
    let report = loadgen::run(&config).map_err(|e| e.to_string())?;
    eprint!("{}", report::to_table(&report));
    if args.switch("json") {
        println!("{}", report::to_json(&report, None));
    }
    Ok(if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
