//! `cli-bench`: the `oxmcp` command's own cost. Issue 16: `oxmcp call` against a stdio
//! server takes at most ×1.5 the wall time of the server's own start-up plus one call.
//!
//! ```text
//! cli-bench --oxmcp PATH --server PATH [--reps 20] [--json]
//! ```
//!
//! Three things are timed, in turn, `reps` times each (wall clock, medians):
//! - `server`: the server alone, driven by hand: started, sent `server/discover` and one
//!   `tools/call` of `echo`, both answers read, its stdin closed, its exit awaited;
//! - `version`: `oxmcp --version` (the command's start-up);
//! - `call`: `oxmcp call echo text=hi -- SERVER`;
//! - `process`: the server started with its stdin at end of file, so that it exits at
//!   once: what starting one process costs on this machine (exec, the dynamic loader,
//!   libc's and Rust's start-up, exit), with no request.
//!
//! `oxmcp call` starts two processes (itself, then the server) where the server alone
//! starts one, so no client in a process of its own can go below
//! `least_ratio = (server + process) / server`; where starting a process is most of what
//! the server costs (the floor, in a VM where glibc's start-up traps on CPUID), that
//! bound itself is near ×2. It is reported beside `ratio` to tell the command's own cost
//! from the machine's.
//!
//! A table goes to stderr; with `--json`, one line
//! `{"bench":"cli","reps":N,"median_ms":{"server","version","call","process"},
//! "ratio":call/server,"least_ratio":(server+process)/server}` to stdout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use oxmcp_bench::cli::Args;
use oxmcp_bench::stats::median;

const USAGE: &str = "usage: cli-bench --oxmcp PATH --server PATH [--reps 20] [--json]";

const DISCOVER: &str = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
const CALL: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cli-bench: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The server alone: start-up, the discovery and one call, exit; milliseconds.
fn server_alone(server: &str) -> Result<f64, String> {
    let started = Instant::now();
    let mut child = Command::new(server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {server}: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    for request in [DISCOVER, CALL] {
        writeln!(stdin, "{request}").map_err(|e| format!("writing to {server}: {e}"))?;
        line.clear();
        stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading from {server}: {e}"))?;
        if !line.contains("\"result\"") {
            return Err(format!("{server} answered {line:?}"));
        }
    }
    drop(stdin);
    child.wait().map_err(|e| e.to_string())?;
    Ok(started.elapsed().as_secs_f64() * 1e3)
}

/// The server started with nothing to read (it exits at end of input); milliseconds.
fn process_alone(server: &str) -> Result<f64, String> {
    let started = Instant::now();
    let status = Command::new(server)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot start {server}: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    if !status.success() {
        return Err(format!("{server} with no input exited with {status}"));
    }
    Ok(elapsed)
}

/// One run of `oxmcp` with `args`; milliseconds.
fn oxmcp(oxmcp: &str, args: &[&str]) -> Result<f64, String> {
    let started = Instant::now();
    let out = Command::new(oxmcp)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {oxmcp}: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    if !out.status.success() {
        return Err(format!(
            "oxmcp {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(elapsed)
}

fn run() -> Result<(), String> {
    let args = Args::parse(
        std::env::args().skip(1),
        &["oxmcp", "server", "reps"],
        &["json", "help"],
    )?;
    if args.switch("help") {
        eprintln!("{USAGE}");
        return Ok(());
    }
    let cli = args.value("oxmcp").ok_or("--oxmcp PATH is required")?;
    let server = args.value("server").ok_or("--server PATH is required")?;
    let reps: usize = args.get("reps", 20)?;
    let call = ["call", "echo", "text=hi", "--", server];
    // One warm-up of each (page cache), then the runs, interleaved.
    server_alone(server)?;
    process_alone(server)?;
    oxmcp(cli, &["--version"])?;
    oxmcp(cli, &call)?;
    let (mut alone, mut process, mut version, mut calls) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        alone.push(server_alone(server)?);
        process.push(process_alone(server)?);
        version.push(oxmcp(cli, &["--version"])?);
        calls.push(oxmcp(cli, &call)?);
    }
    let m = |v: &[f64]| median(v).unwrap_or(f64::NAN);
    let (alone, process, version, calls) = (m(&alone), m(&process), m(&version), m(&calls));
    let ratio = calls / alone;
    let least = (alone + process) / alone;
    eprintln!("oxmcp command, medians of {reps} runs (wall clock)");
    eprintln!("  server alone (start, discover, one call, exit)  {alone:8.2} ms");
    eprintln!("  server started and exiting at once (a process)  {process:8.2} ms  (least ratio ×{least:.2})");
    eprintln!("  oxmcp --version                                 {version:8.2} ms");
    eprintln!("  oxmcp call echo text=hi -- SERVER               {calls:8.2} ms  ×{ratio:.2}");
    if args.switch("json") {
        println!(
            "{{\"bench\":\"cli\",\"reps\":{reps},\"median_ms\":{{\"server\":{alone:.3},\
             \"version\":{version:.3},\"call\":{calls:.3},\"process\":{process:.3}}},\
             \"ratio\":{ratio:.3},\"least_ratio\":{least:.3}}}"
        );
    }
    Ok(())
}
