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

mod flood;
mod sessions;
mod tools;

use flood::*;
use sessions::*;
use tools::*;

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
