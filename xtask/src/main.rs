//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: format check, clippy, docs, tests, then `interop`; what `.ci/run` runs.
//! - `interop`: checks oxmcp against the official Python SDK (see `interop/python/README.md`)
//!   and, over Streamable HTTP, the official TypeScript SDK client (`interop/typescript`).
//! - `bench`: the benchmarks side by side (floor, oxmcp, rmcp) and the budget check
//!   (see `bench.rs`).
//! - `conformance`: runs the official MCP conformance suite against `examples/everything`
//!   and `examples/conformance-client` (see `conformance.rs`).
//!
//! Every step runs as a subprocess that inherits stdout and stderr; the first failing
//! step stops the run with a message naming it, and a non-zero exit status.

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

mod bench;
mod conformance;
mod fuzz;
mod install;
mod json;

use install::*;

/// Feature sets of the `oxmcp` crate checked one by one.
const FEATURE_SETS: &[&str] = &[
    "",
    "server",
    "client",
    "output-validation",
    "server,output-validation",
    "client,output-validation",
    "server,stdio",
    "client,stdio",
    "server,client",
    "http-server",
    "http-client",
    "oauth",
    "sse-server",
    "sse-client",
    "ws-server",
    "ws-client",
    "macros",
    "auth-server",
    "auth",
    "server,otel",
    "client,otel",
    "server,metrics",
    "http-server,metrics",
    "openapi",
    "skills",
    "server,skills",
    "client,skills",
];

const USAGE_HEAD: &str = "\
usage: cargo xtask <command>

commands:
  ci        cargo fmt --check, clippy -D warnings, doc -D warnings, test, interop, each fuzz
            target for 20 s, then conformance
  test      what ci runs after the lints (installs, test, interop, fuzz, conformance)
  bench     build in release and measure oxmcp against the no-SDK floor, with rmcp as a
            reference peer, side by side: in-process dispatch, stdio at 1 and 32 requests
            in flight, Streamable HTTP with 1 and 16 keep-alive clients (both eras),
            HTTP+SSE and WebSocket against Streamable HTTP (transport-bench: CPU per call
            at 16 clients, RSS per idle WebSocket), scale-bench (idle sessions, 1000
            tools, floods), and the oxmcp command's --version and one call against the
            floor (cli-bench), what a JWT verifier and spans + metrics cost a server
            (overhead-bench); then checks the budgets. `--only STEP,..` runs some steps
            (dispatch, stdio, hub, cli, http, transports, overhead, scale, soak).
            JSON lines go to <target>/bench/results.jsonl. `--quick`: fewer, shorter
            repetitions; `--strict`: exit non-zero when a budget fails or is not measured.
            Then the soak test: `--soak-minutes N` (default 10) of mixed load on the
            everything server (both eras, stdio and HTTP, progress, cancellations, sessions
            opened and dropped), failing on lost or duplicated responses, RSS growth after
            the warm-up or fds left open; `--soak-only` runs just that
  interop   set up the Python SDK venvs (target/interop/venv, and venv-v1 for the SDK
            1.x), run the Python SDK client against examples/quickstart and
            examples/everything in both eras (stdio, and everything over Streamable HTTP
            and HTTP+SSE too), the TypeScript SDK client against everything over
            Streamable HTTP, HTTP+SSE and WebSocket (npm ci in interop/typescript), the
            SDK 1.x websocket_client against everything over WebSocket, both SDKs'
            OAuth clients against `notes --builtin-as --auto-approve alice`, then
            `cargo test -p oxmcp --test interop`; then the oxmcp CLI against the Python
            SDK's server and the reference server-everything (npm ci in
            interop/server-everything): `cargo test -p oxmcp-cli --test foreign`; and the
            dev console in Debian's chromium (apt) driven by playwright-core (npm ci in
            interop/browser): `cargo test -p oxmcp-cli --test browser`, screenshots in
            <target>/artifacts
{CONFORMANCE}

environment:
  OXMCP_PYTHON3      the Python used to create the venv (default: python3)
  CARGO_TARGET_DIR   honoured when locating target/debug/{quickstart,everything}";

/// The usage text, with the `conformance` entry filled in.
fn usage() -> String {
    USAGE_HEAD.replace(
        "{CONFORMANCE}",
        &format!("{}\n{}", conformance::USAGE, fuzz::USAGE),
    )
}

/// A failed step.
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T = ()> = std::result::Result<T, Failure>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let started = std::time::Instant::now();
    if on_ci() {
        lean_builds();
    }
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ci"] => ci(),
        ["test"] => tests(),
        ["interop"] => interop(),
        ["bench", rest @ ..] => bench::bench(rest),
        ["conformance", rest @ ..] => conformance::conformance(rest),
        ["fuzz", rest @ ..] => fuzz::fuzz(rest),
        ["help" | "-h" | "--help"] => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => {
            eprintln!(
                "xtask: {} passed in {:.0} s",
                args[0],
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("xtask: FAILED: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of this crate's folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in a folder of the repository")
        .to_path_buf()
}

/// The cargo that runs us, so nested builds use the same toolchain.
fn cargo() -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Announces and runs one step; its output goes straight to ours.
fn step(name: &str, command: &mut Command) -> Result {
    eprintln!("\n==> {name}");
    eprintln!("    $ {}", shown(command));
    let started = std::time::Instant::now();
    let status = command.stdin(Stdio::null()).status();
    eprintln!(
        "<== {name}: {} in {:.1} s",
        match &status {
            Ok(s) if s.success() => "ok",
            _ => "FAILED",
        },
        started.elapsed().as_secs_f64()
    );
    if on_ci() {
        eprintln!("    {}", disk_report());
    }
    let status = status.map_err(|e| {
        Failure(format!(
            "step `{name}`: cannot run `{}`: {e}",
            shown(command)
        ))
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!(
            "step `{name}` failed ({status}): `{}`",
            shown(command)
        )))
    }
}

/// A command line as a person would type it, with the environment it sets.
fn shown(command: &Command) -> String {
    let mut parts: Vec<String> = command
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    parts.push(quoted(&command.get_program().to_string_lossy()));
    parts.extend(command.get_args().map(|a| quoted(&a.to_string_lossy())));
    parts.join(" ")
}

/// Quotes a shell word that needs it.
fn quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Everything CI runs: the lints, then [`tests`].
fn ci() -> Result {
    lints()?;
    tests()
}

/// Whether this is a CI run: `CI` set, and not to `0` or `false`.
fn on_ci() -> bool {
    env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// CI builds everything once, from nothing, on a machine with little disk. Incremental
/// caches and debug info would only fill it: a test binary with full debug info is about
/// 360 MB, and there are some sixty of them plus the examples. Panic messages still name
/// the file and line; only debugger-grade backtraces are lost. Children (the generated
/// project `oxmcp new` tests, the fuzz and conformance builds) inherit the setting.
fn lean_builds() {
    env::set_var("CARGO_INCREMENTAL", "0");
    env::set_var("CARGO_PROFILE_DEV_DEBUG", "0");
}

/// Free disk space and the size of the target directory, printed after each step on CI:
/// when a step runs out of space, the log shows which step grew what.
fn disk_report() -> String {
    let target = target_dir(&root());
    let output = |command: &mut Command| {
        command
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    // `df -Pk`: a header line, then `fs blocks used available capacity mount`, in KiB.
    let free = output(Command::new("df").arg("-Pk").arg(root()))
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3)?.parse::<u64>().ok());
    let used = output(Command::new("du").arg("-sk").arg(&target))
        .split_whitespace()
        .next()
        .and_then(|kib| kib.parse::<u64>().ok());
    let gib = |kib: Option<u64>| match kib {
        Some(kib) => format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)),
        None => "?".to_owned(),
    };
    format!("disk: {} free, target {}", gib(free), gib(used))
}

/// fmt, clippy (the workspace, then each feature set of the SDK) and the docs.
fn lints() -> Result {
    // On CI the lints build into a folder of their own, removed once they pass: the test
    // build cannot reuse check-only artifacts, so they would only take disk.
    let scratch = on_ci().then(|| target_dir(&root()).join("lints"));
    let cargo = || {
        let mut command = cargo();
        if let Some(dir) = &scratch {
            command.env("CARGO_TARGET_DIR", dir);
        }
        command
    };
    step("cargo fmt", cargo().args(["fmt", "--all", "--check"]))?;
    step(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // Each feature set of the SDK must build warning-free on its own, not only in the
    // union that the workspace build sees.
    for features in FEATURE_SETS {
        step(
            &format!("cargo clippy -p oxmcp --features [{features}]"),
            cargo().args([
                "clippy",
                "-p",
                "oxmcp",
                "--no-default-features",
                "--features",
                features,
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    step(
        "cargo doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-Dwarnings"),
    )?;
    if let Some(dir) = scratch {
        // Best effort: a folder left behind costs disk, not correctness.
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}

/// What CI runs after the lints: the installs, every test, the interop clients, the fuzz
/// targets briefly and the conformance suite.
fn tests() -> Result {
    // The Python SDK is set up first, so the workspace tests include the Rust interop test
    // (oxmcp's client against the Python SDK's server) rather than skipping it.
    let root = root();
    let python = ensure_venv(&root)?;
    ensure_venv_v1(&root)?;
    ensure_server_everything(&root)?;
    ensure_openapi_documents(&root)?;
    ensure_browser(&root)?;
    ensure_prometheus()?;
    ensure_postgresql()?;
    step(
        "cargo test",
        with_interop_env(cargo().args(["test", "--workspace"]), &root, &python),
    )?;
    python_clients(&root, &python)?;
    // Each fuzz target briefly: what a change broke in a decoder shows at once.
    fuzz::run(20, None, false)?;
    // The official conformance suite, both versions, server and client scenarios.
    eprintln!("\n==> conformance");
    conformance::conformance(&[])
}

fn interop() -> Result {
    let root = root();
    let python = ensure_venv(&root)?;
    ensure_venv_v1(&root)?;
    python_clients(&root, &python)?;
    step(
        "oxmcp client vs Python SDK server",
        with_interop_env(
            cargo().args(["test", "-p", "oxmcp", "--test", "interop"]),
            &root,
            &python,
        ),
    )?;
    ensure_browser(&root)?;
    step(
        "oxmcp dev in a headless chromium",
        with_interop_env(
            cargo().args(["test", "-p", "oxmcp-cli", "--test", "browser"]),
            &root,
            &python,
        ),
    )?;
    ensure_server_everything(&root)?;
    step(
        "oxmcp CLI vs Python SDK server and the reference server-everything",
        with_interop_env(
            cargo().args(["test", "-p", "oxmcp-cli", "--test", "foreign"]),
            &root,
            &python,
        ),
    )?;
    step(
        "the hub example vs the Python SDK server and the reference server-filesystem",
        with_interop_env(
            cargo().args(["test", "-p", "hub", "--test", "foreign"]),
            &root,
            &python,
        ),
    )
}

/// The official Python SDK's client against examples/quickstart and examples/everything,
/// in both eras, over stdio; then the official SDK clients over Streamable HTTP.
fn python_clients(root: &Path, python: &Path) -> Result {
    let quickstart = build_example(root, "quickstart")?;
    let everything = build_example(root, "everything")?;
    let scripts = root.join("interop/python");
    let runs = [
        ("quickstart", "client_vs_server.py", &quickstart),
        ("everything", "everything_client.py", &everything),
    ];
    for (server, script, binary) in runs {
        for era in ["legacy", "modern"] {
            step(
                &format!("Python SDK client vs {server}, {era} era"),
                Command::new(python)
                    .arg(scripts.join(script))
                    .args(["--era", era, "--"])
                    .arg(binary)
                    .current_dir(root),
            )?;
        }
    }
    http_clients(root, python, &everything)
}

/// The official Python SDK client (both eras) and TypeScript SDK client against
/// `everything --http` over Streamable HTTP; the Python SDK's `sse_client` and the
/// TypeScript SDK's `SSEClientTransport` against its HTTP+SSE transport (`/sse`), and the
/// TypeScript SDK's `WebSocketClientTransport` and the Python SDK 1.x's `websocket_client`
/// against its WebSocket (`/ws`).
fn http_clients(root: &Path, python: &Path, everything: &Path) -> Result {
    let server = HttpServer::start(root, everything, &[])?;
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    for era in ["legacy", "modern"] {
        step(
            &format!("Python SDK client vs everything over Streamable HTTP, {era} era"),
            Command::new(python)
                .arg(root.join("interop/python/everything_client.py"))
                .args(["--era", era, "--url", &url])
                .current_dir(root),
        )?;
    }
    // The same server's HTTP+SSE transport of 2024-11-05, through the SDK's `sse_client`.
    let sse = format!("http://127.0.0.1:{}/sse", server.port);
    for era in ["legacy", "modern"] {
        step(
            &format!("Python SDK sse_client vs everything over HTTP+SSE, {era} era"),
            Command::new(python)
                .arg(root.join("interop/python/everything_client.py"))
                .args(["--era", era, "--sse", &sse])
                .current_dir(root),
        )?;
    }
    let typescript = root.join("interop/typescript");
    step(
        "npm ci (the TypeScript SDK, interop/typescript)",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&typescript),
    )?;
    step(
        "TypeScript SDK client vs everything over Streamable HTTP",
        Command::new("node")
            .args(["client.mjs", &url])
            .current_dir(&typescript),
    )?;
    step(
        "TypeScript SDK SSEClientTransport vs everything over HTTP+SSE",
        Command::new("node")
            .args(["client.mjs", "--transport", "sse", &sse])
            .current_dir(&typescript),
    )?;
    let ws = format!("ws://127.0.0.1:{}/ws", server.port);
    step(
        "TypeScript SDK WebSocketClientTransport vs everything over WebSocket",
        Command::new("node")
            .args(["client.mjs", "--transport", "websocket", &ws])
            .current_dir(&typescript),
    )?;
    step(
        "Python SDK 1.x websocket_client vs everything over WebSocket",
        Command::new(venv_python(&root.join(VENV_V1)))
            .arg(root.join("interop/python-v1/ws_client.py"))
            .arg(&ws)
            .current_dir(root),
    )?;
    oauth_clients(root, python)
}

/// The official Python SDK client (with `mcp.client.auth`, both eras) and TypeScript SDK
/// client (with an `OAuthClientProvider`) complete the authorization code flow against
/// `notes --builtin-as --auto-approve alice` and call `add_note`; the browser step follows
/// the authorization URL, which the auto-approving login redirects at once.
fn oauth_clients(root: &Path, python: &Path) -> Result {
    let notes = build_example(root, "notes")?;
    let server = HttpServer::start(root, &notes, &["--builtin-as", "--auto-approve", "alice"])?;
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    for mode in ["legacy", "2026-07-28"] {
        step(
            &format!("Python SDK OAuth client vs notes --builtin-as, {mode}"),
            Command::new(python)
                .arg(root.join("interop/python/notes_oauth.py"))
                .args(["--mode", mode, "--url", &url])
                .current_dir(root),
        )?;
    }
    step(
        "TypeScript SDK OAuth client vs notes --builtin-as",
        Command::new("node")
            .args(["notes_oauth.mjs", &url])
            .current_dir(root.join("interop/typescript")),
    )
}

/// `<example> --http 127.0.0.1:<free port> <args>`, killed when dropped.
struct HttpServer {
    child: std::process::Child,
    port: u16,
}

impl HttpServer {
    fn start(root: &Path, binary: &Path, args: &[&str]) -> Result<HttpServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| Failure(format!("cannot find a free port: {e}")))?;
        let address = format!("127.0.0.1:{port}");
        let mut command = Command::new(binary);
        command
            .args(["--http", &address])
            .args(args)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let name = binary.file_stem().unwrap_or_default().to_string_lossy();
        eprintln!("\n==> start {name} over Streamable HTTP");
        eprintln!("    $ {}", shown(&command));
        let child = command
            .spawn()
            .map_err(|e| Failure(format!("cannot start {}: {e}", binary.display())))?;
        let mut server = HttpServer { child, port };
        let socket = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(Failure(format!(
                    "`{}` exited ({status}) before accepting connections",
                    shown(&command)
                )));
            }
            let wait = std::time::Duration::from_millis(200);
            if std::net::TcpStream::connect_timeout(&socket, wait).is_ok() {
                return Ok(server);
            }
            if std::time::Instant::now() > deadline {
                return Err(Failure(format!(
                    "`{}` did not accept connections on {address} within 30s",
                    shown(&command)
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds `examples/<name>` (a package of the same name) and returns its debug binary.
fn build_example(root: &Path, name: &str) -> Result<PathBuf> {
    step(
        &format!("build examples/{name}"),
        cargo().args(["build", "-p", name]),
    )
    .map_err(|f| Failure(format!("{f} (the interop checks need examples/{name})")))?;
    let binary = target_dir(root).join("debug").join(exe(name));
    if !binary.is_file() {
        return Err(Failure(format!(
            "`cargo build -p {name}` made no binary at {}",
            binary.display()
        )));
    }
    Ok(binary)
}

/// Whether a quiet probe command runs and succeeds.
fn runs(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", env::consts::EXE_SUFFIX)
}
