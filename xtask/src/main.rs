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
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

mod bench;
mod conformance;
mod fuzz;
mod json;

/// Feature sets of the `oxmcp` crate checked one by one.
const FEATURE_SETS: &[&str] = &[
    "",
    "server",
    "client",
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

/// The npm package of the reference server-everything, relative to the repository root.
const SERVER_EVERYTHING: &str = "interop/server-everything";

/// The npm package of the real-world OpenAPI documents the OpenAPI import is tested on,
/// relative to the repository root.
const OPENAPI_DOCUMENTS: &str = "interop/openapi";

/// The npm package of playwright-core, which drives the dev console in chromium for the
/// CLI's browser test, relative to the repository root.
const BROWSER_DRIVER: &str = "interop/browser";

/// Debian's chromium, the browser of the CLI's browser test.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The pip requirements of the interop venv, relative to the repository root.
const REQUIREMENTS: &str = "interop/python/requirements.txt";
/// The Python SDK 1.x (its WebSocket transport), in a venv of its own.
const REQUIREMENTS_V1: &str = "interop/python-v1/requirements.txt";
/// Where the venv of the Python SDK 1.x goes, relative to the repository root.
const VENV_V1: &str = "target/interop/venv-v1";

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
            floor (cli-bench); then checks the budgets.
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

/// fmt, clippy (the workspace, then each feature set of the SDK) and the docs.
fn lints() -> Result {
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
    )
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

/// Points the Rust interop test at the venvs' Pythons and the scripts.
fn with_interop_env<'a>(command: &'a mut Command, root: &Path, python: &Path) -> &'a mut Command {
    command
        .env("OXMCP_INTEROP_PYTHON", python)
        .env("OXMCP_INTEROP_DIR", root.join("interop/python"))
        .env("OXMCP_INTEROP_PYTHON_V1", venv_python(&root.join(VENV_V1)))
        .env("OXMCP_INTEROP_V1_DIR", root.join("interop/python-v1"))
        .env("OXMCP_SERVER_EVERYTHING", server_everything_entry(root))
        .env("OXMCP_GITHUB_OPENAPI", github_openapi(root))
        .env("OXMCP_PLAYWRIGHT_DIR", root.join(BROWSER_DRIVER))
        .env("OXMCP_CHROMIUM", CHROMIUM)
        .env("OXMCP_SERVER_FILESYSTEM", server_filesystem_entry(root))
}

/// Installs Debian's `chromium` (apt) and playwright-core (pinned in
/// `interop/browser/package-lock.json`) unless they are there: the CLI's browser test
/// drives the dev console with them.
fn ensure_browser(root: &Path) -> Result {
    if !Path::new(CHROMIUM).is_file() {
        apt_update_once()?;
        step(
            "apt-get install chromium",
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null()),
        )?;
    }
    let dir = root.join(BROWSER_DRIVER);
    if dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Ok(());
    }
    step(
        "npm ci (playwright-core, interop/browser)",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir),
    )
}

/// Where the same `npm ci` puts the reference server-filesystem's entry point (the hub
/// example's tests run it).
fn server_filesystem_entry(root: &Path) -> PathBuf {
    root.join(SERVER_EVERYTHING)
        .join("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
}

/// Where `npm ci` in `interop/openapi` puts GitHub's REST API description.
fn github_openapi(root: &Path) -> PathBuf {
    root.join(OPENAPI_DOCUMENTS)
        .join("node_modules/@octokit/openapi/generated/api.github.com.json")
}

/// Installs `@octokit/openapi` (pinned in `interop/openapi/package-lock.json`) unless it
/// is there: the OpenAPI import's tests turn GitHub's REST description into tools.
fn ensure_openapi_documents(root: &Path) -> Result {
    if github_openapi(root).is_file() {
        return Ok(());
    }
    step(
        "npm ci (GitHub's OpenAPI description, interop/openapi)",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(root.join(OPENAPI_DOCUMENTS)),
    )
}

/// Where `npm ci` in `interop/server-everything` puts the reference server's entry point.
fn server_everything_entry(root: &Path) -> PathBuf {
    root.join(SERVER_EVERYTHING)
        .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// Installs the reference `@modelcontextprotocol/server-everything` and `server-filesystem`
/// (pinned in `interop/server-everything/package-lock.json`) unless they are there; the
/// CLI's and the hub example's tests run them.
fn ensure_server_everything(root: &Path) -> Result {
    if server_everything_entry(root).is_file() && server_filesystem_entry(root).is_file() {
        return Ok(());
    }
    step(
        "npm ci (the reference server-everything, interop/server-everything)",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(root.join(SERVER_EVERYTHING)),
    )
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

/// Whether `python -m venv` can make a venv (with pip) here.
fn venv_works(python: &Path) -> bool {
    let probe = env::temp_dir().join(format!("oxmcp-venv-probe-{}", std::process::id()));
    let ok = runs(
        Command::new(python)
            .args([OsStr::new("-m"), OsStr::new("venv")])
            .arg(&probe),
    );
    let _ = std::fs::remove_dir_all(&probe);
    ok
}

/// Runs `apt-get update`, once per xtask run (CI machines run as root).
fn apt_update_once() -> Result {
    static UPDATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if UPDATED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    step(
        "apt-get update",
        Command::new("apt-get").arg("update").stdin(Stdio::null()),
    )
}

/// Makes sure `promtool` and `prometheus` (Debian's `prometheus` package) are installed:
/// the metrics tests check the `/metrics` exposition with them.
fn ensure_prometheus() -> Result {
    let present = |tool: &str| runs(Command::new(tool).arg("--version"));
    if present("promtool") && present("prometheus") {
        return Ok(());
    }
    apt_install(&["prometheus"])
}

/// Installs Debian packages with apt-get (CI machines run as root).
fn apt_install(packages: &[&str]) -> Result {
    apt_update_once()?;
    step(
        &format!("apt-get install {}", packages.join(" ")),
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null()),
    )
}

/// Installs Debian's `postgresql` unless `initdb` is there: the database example's tests
/// start a real PostgreSQL (`examples/database/tests/postgres.rs`).
fn ensure_postgresql() -> Result {
    let installed = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .flatten()
            .any(|v| v.path().join("bin/initdb").is_file())
    });
    if installed {
        return Ok(());
    }
    apt_install(&["postgresql"])
}

/// Installs python3 and python3-venv with apt-get (CI machines run as root).
fn install_python_venv() -> Result {
    apt_install(&["python3", "python3-venv"])
}

/// Makes sure `target/interop/venv` exists with the pinned requirements; returns its python.
fn ensure_venv(root: &Path) -> Result<PathBuf> {
    ensure_venv_at(root, REQUIREMENTS, "target/interop/venv")
}

/// The venv of the Python SDK 1.x (`target/interop/venv-v1`, `interop/python-v1`): its
/// python.
fn ensure_venv_v1(root: &Path) -> Result<PathBuf> {
    ensure_venv_at(root, REQUIREMENTS_V1, VENV_V1)
}

/// A venv at `venv` (relative to the root) with the pins of `requirements` installed.
fn ensure_venv_at(root: &Path, requirements_path: &str, venv: &str) -> Result<PathBuf> {
    let requirements = root.join(requirements_path);
    let pins = pinned(&requirements)?;
    let venv = root.join(venv);
    let python = venv_python(&venv);

    if !runs(Command::new(&python).args(["-c", "import sys"])) {
        let base: PathBuf = env::var_os("OXMCP_PYTHON3")
            .unwrap_or_else(|| "python3".into())
            .into();
        let base = if venv_works(&base) {
            base
        } else {
            // A fresh machine may lack Python's venv module: install it from Debian.
            install_python_venv()?;
            [base, PathBuf::from("/usr/bin/python3")]
                .into_iter()
                .find(|p| venv_works(p))
                .ok_or_else(|| Failure("no Python with a working venv module".into()))?
        };
        step(
            "check Python >= 3.10",
            Command::new(&base).args([
                "-c",
                "import sys; v = sys.version_info; sys.exit(0 if v >= (3, 10) else \
                 f'the Python SDK needs Python 3.10 or newer, this is {sys.version}')",
            ]),
        )?;
        step(
            &format!("create the interop venv {}", venv.display()),
            Command::new(&base)
                .args([OsStr::new("-m"), OsStr::new("venv"), OsStr::new("--clear")])
                .arg(&venv),
        )?;
    }

    if installed(&python, &pins) {
        eprintln!(
            "\n==> interop venv: {} already installed in {}",
            pins.iter()
                .map(|(n, v)| format!("{n}=={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            venv.display()
        );
    } else {
        step(
            &format!("install {requirements_path} into {}", venv.display()),
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--progress-bar",
                    "off",
                    "-r",
                ])
                .arg(&requirements),
        )?;
        if !installed(&python, &pins) {
            return Err(Failure(format!(
                "after pip install, the venv still lacks the versions pinned in {requirements_path}"
            )));
        }
    }
    Ok(python)
}

/// The `name==version` pins of a requirements file.
fn pinned(requirements: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(requirements)
        .map_err(|e| Failure(format!("cannot read {}: {e}", requirements.display())))?;
    let pins: Vec<(String, String)> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .filter_map(|line| {
            let (name, version) = line.split_once("==")?;
            // `mcp[ws]`: the distribution is `mcp`, the extra only adds dependencies.
            let name = name.split('[').next().unwrap_or_default();
            Some((name.trim().to_owned(), version.trim().to_owned()))
        })
        .collect();
    if pins.is_empty() {
        return Err(Failure(format!(
            "{} pins nothing (expected lines like `mcp==2.3.0`)",
            requirements.display()
        )));
    }
    Ok(pins)
}

/// The python of the venv at `venv`.
fn venv_python(venv: &Path) -> PathBuf {
    venv.join(if cfg!(windows) {
        "Scripts/python.exe"
    } else {
        "bin/python"
    })
}

/// Whether the venv's python has exactly the pinned versions.
fn installed(python: &Path, pins: &[(String, String)]) -> bool {
    let checks: Vec<String> = pins
        .iter()
        .map(|(name, version)| format!("m.version({name:?}) == {version:?}"))
        .collect();
    let program = format!(
        "import importlib.metadata as m, sys\ntry:\n    ok = all([{}])\nexcept m.PackageNotFoundError:\n    ok = False\nsys.exit(0 if ok else 1)",
        checks.join(", ")
    );
    runs(Command::new(python).args(["-c", &program]))
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
