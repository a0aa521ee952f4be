//! `cargo xtask conformance`: runs the official MCP conformance suite
//! (npm `@modelcontextprotocol/conformance`) against `examples/everything` (server mode)
//! and `examples/conformance-client` (client mode). See `examples/everything/EXPECTATIONS.md`.
//!
//! Everything it installs is cached under `target/conformance/`:
//!
//! - `node22/`: the npm package `node@22`, used when the system Node is older than 22
//!   (the suite needs `fs.globSync`);
//! - `suite-<version>/`: the suite, one npm prefix per version;
//! - `results/<version>/<run>/`: the suite's output directory of each run (one
//!   `<scenario>-<timestamp>/checks.json` per scenario), next to `<run>.log`, the suite's
//!   console output; `results/<version>/everything.log` is the server's log.
//!
//! Results are read from the `checks.json` files, not from the console. A scenario fails
//! if one of its checks is `FAILURE` (in client mode also `WARNING`, or a suite exit code
//! that is not 0, which is how the suite reports a client that crashed or timed out), or
//! if it wrote no results at all. Scenarios tagged `extension` are run and reported, but
//! do not fail the command; `auth/*` client scenarios are not run.

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::json::{self, Json};
use crate::{cargo, exe, root, shown, step, target_dir, Failure, Result};

/// The suite versions we test against, oldest first.
const SUITE_VERSIONS: [&str; 2] = ["0.1.16", "0.2.0-alpha.12"];

/// The suite package.
const SUITE_PACKAGE: &str = "@modelcontextprotocol/conformance";

/// The oldest Node the suite runs on.
const NODE_MAJOR: u32 = 22;

const NPM_TIMEOUT: Duration = Duration::from_secs(600);
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// A whole `--suite all` server run.
const SUITE_RUN_TIMEOUT: Duration = Duration::from_secs(1200);
/// One scenario run on its own.
const SCENARIO_RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// The suite's own per-scenario timeout (`--timeout`, in ms), where the version has one.
const SCENARIO_TIMEOUT_MS: &str = "30000";

pub const USAGE: &str = "  conformance
            run the official MCP conformance suite (npm @modelcontextprotocol/conformance)
            against examples/everything over HTTP (server mode) and
            examples/conformance-client (client mode); installs Node 22 and the suite into
            target/conformance/ when needed; exits non-zero if a non-extension scenario fails
            options:
              --suite-version 0.1.16|0.2.0-alpha.12|all   (default: all)
              --scenario NAME                             run only this scenario
              --server-only | --client-only
              --url URL              test this running server instead of starting everything
              --client-command CMD   test this client command instead of conformance-client";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Server,
    Client,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Client => "client",
        }
    }
}

struct Options {
    versions: Vec<&'static str>,
    scenario: Option<String>,
    server: bool,
    client: bool,
    url: Option<String>,
    client_command: Option<String>,
}

fn options(args: &[&str]) -> Result<Options> {
    let mut options = Options {
        versions: SUITE_VERSIONS.to_vec(),
        scenario: None,
        server: true,
        client: true,
        url: None,
        client_command: None,
    };
    let (mut server_only, mut client_only) = (false, false);
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        match arg {
            "--suite-version" => {
                let value = args
                    .next()
                    .ok_or_else(|| Failure("--suite-version needs a value".into()))?;
                options.versions = match *value {
                    "all" => SUITE_VERSIONS.to_vec(),
                    v => vec![*SUITE_VERSIONS
                        .iter()
                        .find(|known| **known == v)
                        .ok_or_else(|| {
                            Failure(format!(
                                "unknown suite version `{v}` (known: {}, all)",
                                SUITE_VERSIONS.join(", ")
                            ))
                        })?],
                };
            }
            "--scenario" => {
                let value = args
                    .next()
                    .ok_or_else(|| Failure("--scenario needs a value".into()))?;
                options.scenario = Some((*value).to_owned());
            }
            "--url" | "--client-command" => {
                let value = args
                    .next()
                    .ok_or_else(|| Failure(format!("{arg} needs a value")))?;
                if arg == "--url" {
                    options.url = Some((*value).to_owned());
                } else {
                    options.client_command = Some((*value).to_owned());
                }
            }
            "--server-only" => server_only = true,
            "--client-only" => client_only = true,
            other => return Err(Failure(format!("conformance: unknown argument `{other}`"))),
        }
    }
    if server_only && client_only {
        return Err(Failure(
            "--server-only and --client-only exclude each other".into(),
        ));
    }
    options.server = !client_only;
    options.client = !server_only;
    Ok(options)
}

/// The entry point of `cargo xtask conformance`.
pub fn conformance(args: &[&str]) -> Result {
    let options = options(args)?;
    let root = root();
    let cache = root.join("target/conformance");
    fs::create_dir_all(&cache)
        .map_err(|e| Failure(format!("cannot create {}: {e}", cache.display())))?;

    let node = ensure_node(&cache)?;
    let mut suites = Vec::new();
    for version in &options.versions {
        let script = ensure_suite(&cache, version)?;
        let catalogue = list_scenarios(&node, &script, version)?;
        suites.push((*version, script, catalogue));
    }

    let mut report = Report::default();

    if options.server {
        if let Err(failure) = server_mode(&root, &cache, &node, &suites, &options, &mut report) {
            report.errors.push(failure.0);
        }
    }
    if options.client {
        if let Err(failure) = client_mode(&root, &cache, &node, &suites, &options, &mut report) {
            report.errors.push(failure.0);
        }
    }

    report.print();
    report.verdict()
}

// ---------------------------------------------------------------------------------------
// Node and the suite

/// The major version printed by `<node> --version`, if it runs.
fn node_major(node: &Path) -> Option<u32> {
    let out = capture(Command::new(node).arg("--version"), PROBE_TIMEOUT).ok()?;
    if !out.status.success() {
        return None;
    }
    out.stdout
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// A Node >= 22: the system one if new enough, else `node@22` from npm, cached.
fn ensure_node(cache: &Path) -> Result<PathBuf> {
    let system = PathBuf::from("node");
    match node_major(&system) {
        Some(major) if major >= NODE_MAJOR => {
            eprintln!("\n==> Node: the system node is v{major}, new enough");
            return Ok(system);
        }
        Some(major) => eprintln!(
            "\n==> Node: the system node is v{major}; the suite needs >= {NODE_MAJOR}, using npm node@{NODE_MAJOR}"
        ),
        None => eprintln!("\n==> Node: no working system node; using npm node@{NODE_MAJOR}"),
    }
    let prefix = cache.join(format!("node{NODE_MAJOR}"));
    let local = prefix.join("node_modules/node/bin").join(exe("node"));
    if node_major(&local).is_some_and(|m| m >= NODE_MAJOR) {
        eprintln!("    cached: {}", local.display());
        return Ok(local);
    }
    npm_install(&prefix, &format!("node@{NODE_MAJOR}"))?;
    match node_major(&local) {
        Some(m) if m >= NODE_MAJOR => Ok(local),
        other => Err(Failure(format!(
            "after `npm install node@{NODE_MAJOR}`, {} reports major version {other:?}",
            local.display()
        ))),
    }
}

/// `npm install --prefix <prefix> <package>`, quietly and without prompts.
fn npm_install(prefix: &Path, package: &str) -> Result {
    fs::create_dir_all(prefix)
        .map_err(|e| Failure(format!("cannot create {}: {e}", prefix.display())))?;
    let mut command = Command::new("npm");
    command
        .arg("install")
        .arg("--prefix")
        .arg(prefix)
        .arg(package)
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .env("CI", "true");
    eprintln!("\n==> npm install {package}");
    eprintln!("    $ {}", shown(&command));
    let out = capture(&mut command, NPM_TIMEOUT)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Failure(format!(
            "`{}` failed ({}):\n{}{}",
            shown(&command),
            out.status,
            out.stdout,
            out.stderr
        )))
    }
}

/// Installs the suite at `version` (cached) and returns its CLI script.
fn ensure_suite(cache: &Path, version: &str) -> Result<PathBuf> {
    let prefix = cache.join(format!("suite-{version}"));
    let package = prefix.join("node_modules").join(SUITE_PACKAGE);
    let script = package.join("dist/index.js");
    let installed = |package: &Path| {
        fs::read_to_string(package.join("package.json"))
            .ok()
            .and_then(|text| json::parse(&text).ok())
            .and_then(|manifest| manifest.get("version")?.as_str().map(str::to_owned))
    };
    if installed(&package).as_deref() == Some(version) && script.is_file() {
        eprintln!("\n==> suite {version}: cached in {}", prefix.display());
        return Ok(script);
    }
    npm_install(&prefix, &format!("{SUITE_PACKAGE}@{version}"))?;
    match installed(&package) {
        Some(v) if v == version && script.is_file() => Ok(script),
        other => Err(Failure(format!(
            "after npm install, {} holds version {other:?}, not {version}",
            package.display()
        ))),
    }
}

/// One scenario of `conformance list`, with its tags (spec versions, `draft`, `extension`).
#[derive(Clone)]
struct Scenario {
    name: String,
    tags: Vec<String>,
}

impl Scenario {
    fn extension(&self) -> bool {
        self.tags.iter().any(|t| t == "extension")
    }

    /// Applies at a dated legacy revision (anything up to 2025-11-25).
    fn legacy(&self) -> bool {
        self.tags
            .iter()
            .any(|t| t.starts_with("2024-") || t.starts_with("2025-"))
    }

    /// Applies at the 2026 revision.
    fn modern(&self) -> bool {
        self.tags.iter().any(|t| t == "2026-07-28" || t == "draft")
    }

    fn auth(&self) -> bool {
        self.name.starts_with("auth/")
    }
}

struct Catalogue {
    server: Vec<Scenario>,
    client: Vec<Scenario>,
}

/// Runs `conformance list` and parses its `  - name [tag,tag]` lines by section.
fn list_scenarios(node: &Path, script: &Path, version: &str) -> Result<Catalogue> {
    let mut command = Command::new(node);
    command.arg(script).arg("list");
    let out = capture(&mut command, PROBE_TIMEOUT)?;
    if !out.status.success() {
        return Err(Failure(format!(
            "`{}` failed ({}): {}{}",
            shown(&command),
            out.status,
            out.stdout,
            out.stderr
        )));
    }
    let mut catalogue = Catalogue {
        server: Vec::new(),
        client: Vec::new(),
    };
    let mut section = None;
    for line in out.stdout.lines() {
        if line.starts_with("Server scenarios") {
            section = Some(Kind::Server);
        } else if line.starts_with("Client scenarios") {
            section = Some(Kind::Client);
        } else if !line.starts_with(' ') && !line.trim().is_empty() {
            section = None;
        } else if let Some(item) = line.trim().strip_prefix("- ") {
            let (name, tags) = match item.split_once(" [") {
                Some((name, tags)) => (
                    name,
                    tags.trim_end_matches(']')
                        .split(',')
                        .map(|t| t.trim().to_owned())
                        .filter(|t| !t.is_empty())
                        .collect(),
                ),
                None => (item, Vec::new()),
            };
            let scenario = Scenario {
                name: name.trim().to_owned(),
                tags,
            };
            match section {
                Some(Kind::Server) => catalogue.server.push(scenario),
                Some(Kind::Client) => catalogue.client.push(scenario),
                None => {}
            }
        }
    }
    if catalogue.server.is_empty() || catalogue.client.is_empty() {
        return Err(Failure(format!(
            "suite {version}: could not parse the scenarios from `conformance list`:\n{}",
            out.stdout
        )));
    }
    Ok(catalogue)
}

// ---------------------------------------------------------------------------------------
// Planning runs

/// One invocation of the suite.
struct Run {
    /// The wire the scenarios run at, as shown in the report.
    mode: &'static str,
    /// The arguments after `server`/`client`, except `--url`/`--command`/`-o`.
    args: Vec<String>,
    /// The scenarios this invocation is expected to write results for.
    expected: Vec<Scenario>,
    /// Scenario names are run one per invocation (`--scenario`).
    single: bool,
}

/// Whether a suite version knows the 2026 wire (`--spec-version 2026-07-28`).
fn has_modern_wire(version: &str) -> bool {
    version != "0.1.16"
}

/// The suite invocations for one kind and version.
///
/// - v0.1.16: everything is legacy wire; servers run as `--suite all`.
/// - v0.2.0: servers run twice, `--suite all --spec-version 2025-11-25` and
///   `--suite all --spec-version 2026-07-28` (a scenario that applies to both eras must
///   pass on both wires), and the `extension` scenarios (which `--spec-version` filters
///   out) one by one at their default wire.
/// - Clients always run one scenario per invocation, in the same modes.
/// - `--scenario NAME` narrows every run to that scenario.
fn plan(kind: Kind, version: &str, scenarios: &[Scenario], only: Option<&str>) -> Vec<Run> {
    let chosen: Vec<Scenario> = scenarios
        .iter()
        .filter(|s| only.is_none_or(|name| s.name == name))
        .cloned()
        .collect();
    let modes: Vec<(&'static str, Vec<String>, Vec<Scenario>)> = if has_modern_wire(version) {
        let pick = |f: fn(&Scenario) -> bool| -> Vec<Scenario> {
            chosen.iter().filter(|s| f(s)).cloned().collect()
        };
        vec![
            (
                "2025-11-25",
                vec!["--spec-version".into(), "2025-11-25".into()],
                pick(|s| !s.extension() && s.legacy()),
            ),
            (
                "2026-07-28",
                vec!["--spec-version".into(), "2026-07-28".into()],
                pick(|s| !s.extension() && s.modern()),
            ),
            ("extension", Vec::new(), pick(Scenario::extension)),
        ]
    } else {
        vec![("legacy", Vec::new(), chosen.clone())]
    };
    let timeout_flag = if has_modern_wire(version) || kind == Kind::Client {
        vec!["--timeout".to_owned(), SCENARIO_TIMEOUT_MS.to_owned()]
    } else {
        Vec::new()
    };
    let mut runs = Vec::new();
    for (mode, spec, expected) in modes {
        if expected.is_empty() {
            continue;
        }
        let single = kind == Kind::Client || mode == "extension" || only.is_some();
        let mut args = spec;
        if !single {
            args.extend(["--suite".to_owned(), "all".to_owned()]);
        }
        args.extend(timeout_flag.iter().cloned());
        runs.push(Run {
            mode,
            args,
            expected,
            single,
        });
    }
    runs
}

// ---------------------------------------------------------------------------------------
// Server mode

fn server_mode(
    root: &Path,
    cache: &Path,
    node: &Path,
    suites: &[(&'static str, PathBuf, Catalogue)],
    options: &Options,
    report: &mut Report,
) -> Result {
    let mut plans = Vec::new();
    for (version, script, catalogue) in suites {
        if let Some(name) = &options.scenario {
            if !catalogue.server.iter().any(|s| &s.name == name) {
                if options.client && catalogue.client.iter().any(|s| &s.name == name) {
                    continue; // a client scenario; nothing to do in server mode
                }
                report.notes.push(format!(
                    "suite {version}: no server scenario named `{name}`"
                ));
                continue;
            }
        }
        let runs = plan(
            Kind::Server,
            version,
            &catalogue.server,
            options.scenario.as_deref(),
        );
        if !runs.is_empty() {
            plans.push((*version, script, runs));
        }
    }
    if plans.is_empty() {
        return Ok(());
    }

    let binary = match &options.url {
        Some(_) => None,
        None => {
            step(
                "build examples/everything",
                cargo().args(["build", "-p", "everything"]),
            )?;
            let binary = target_dir(root).join("debug").join(exe("everything"));
            if !binary.is_file() {
                return Err(Failure(format!(
                    "`cargo build -p everything` made no binary at {}",
                    binary.display()
                )));
            }
            Some(binary)
        }
    };

    for (version, script, runs) in plans {
        let results = cache.join("results").join(version);
        fs::create_dir_all(&results)
            .map_err(|e| Failure(format!("cannot create {}: {e}", results.display())))?;
        // A fresh server per suite version, so one version's leftovers cannot leak into
        // the other; within a version the suite itself shares one server across scenarios.
        let (server, url) = match (&binary, &options.url) {
            (Some(binary), _) => {
                let server = Server::start(root, binary, &results.join("everything.log"))?;
                let url = format!("http://127.0.0.1:{}/mcp", server.port);
                eprintln!("    everything listens on {url}");
                (Some(server), url)
            }
            (None, url) => (None, url.clone().unwrap_or_default()),
        };
        for run in runs {
            let mut target = vec!["--url".to_owned(), url.clone()];
            target.extend(run.args.iter().cloned());
            execute(
                node,
                script,
                version,
                Kind::Server,
                &run,
                &target,
                &results,
                report,
            )?;
        }
        drop(server);
    }
    Ok(())
}

/// The everything server under test; killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(root: &Path, binary: &Path, log: &Path) -> Result<Server> {
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let log_file = fs::File::create(log)
            .map_err(|e| Failure(format!("cannot create {}: {e}", log.display())))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| Failure(format!("cannot reopen {}: {e}", log.display())))?;
        let mut command = Command::new(binary);
        command
            .args(["--http", &address])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err);
        eprintln!("\n==> start the everything server");
        eprintln!("    $ {}", shown(&command));
        let child = command
            .spawn()
            .map_err(|e| Failure(format!("cannot start {}: {e}", binary.display())))?;
        let mut server = Server { child, port };
        let hint = || {
            let supports = fs::read_dir(root.join("examples/everything/src"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|f| fs::read_to_string(f.path()).is_ok_and(|t| t.contains("--http")));
            let mut hint = if supports {
                String::new()
            } else {
                "\n    examples/everything does not support `--http` yet (no `--http` in its \
                 sources): the server suites need the Streamable HTTP transport"
                    .to_owned()
            };
            hint.push_str(&format!(
                "\n    server log ({}):\n{}",
                log.display(),
                tail(&fs::read_to_string(log).unwrap_or_default(), 20)
            ));
            hint
        };
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        let socket: SocketAddr = address.parse().expect("a valid socket address");
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(Failure(format!(
                    "`{}` exited ({status}) before accepting connections on {address}{}",
                    shown(&command),
                    hint()
                )));
            }
            if TcpStream::connect_timeout(&socket, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(Failure(format!(
                    "`{}` did not accept connections on {address} within {}s{}",
                    shown(&command),
                    SERVER_START_TIMEOUT.as_secs(),
                    hint()
                )));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Failure(format!("cannot find a free port: {e}")))
}

// ---------------------------------------------------------------------------------------
// Client mode

fn client_mode(
    root: &Path,
    cache: &Path,
    node: &Path,
    suites: &[(&'static str, PathBuf, Catalogue)],
    options: &Options,
    report: &mut Report,
) -> Result {
    let mut plans = Vec::new();
    for (version, script, catalogue) in suites {
        let (auth, runnable): (Vec<Scenario>, Vec<Scenario>) =
            catalogue.client.iter().cloned().partition(Scenario::auth);
        if let Some(name) = &options.scenario {
            if auth.iter().any(|s| &s.name == name) {
                report.notes.push(format!(
                    "suite {version}: `{name}` is an auth scenario; auth client scenarios are not run yet"
                ));
                continue;
            }
            if !runnable.iter().any(|s| &s.name == name) {
                if !(options.server && catalogue.server.iter().any(|s| &s.name == name)) {
                    report.notes.push(format!(
                        "suite {version}: no client scenario named `{name}`"
                    ));
                }
                continue;
            }
        } else {
            report.excluded.push((
                format!("{version} client"),
                auth.iter().map(|s| s.name.clone()).collect(),
            ));
        }
        let runs = plan(
            Kind::Client,
            version,
            &runnable,
            options.scenario.as_deref(),
        );
        if !runs.is_empty() {
            plans.push((*version, script, runs));
        }
    }
    if plans.is_empty() {
        return Ok(());
    }

    let command_line = match &options.client_command {
        Some(command) => command.clone(),
        None => conformance_client(root)?,
    };

    for (version, script, runs) in plans {
        let results = cache.join("results").join(version);
        fs::create_dir_all(&results)
            .map_err(|e| Failure(format!("cannot create {}: {e}", results.display())))?;
        for run in runs {
            let mut target = vec!["--command".to_owned(), command_line.clone()];
            target.extend(run.args.iter().cloned());
            execute(
                node,
                script,
                version,
                Kind::Client,
                &run,
                &target,
                &results,
                report,
            )?;
        }
    }
    Ok(())
}

/// Builds `examples/conformance-client` and returns the `--command` that runs it.
fn conformance_client(root: &Path) -> Result<String> {
    let package = root.join("examples/conformance-client");
    if !package.join("Cargo.toml").is_file() {
        return Err(Failure(format!(
            "client mode: {} does not exist yet, so no client scenario was run \
             (use --server-only to skip client mode)",
            package.display()
        )));
    }
    step(
        "build examples/conformance-client",
        cargo().args(["build", "-p", "conformance-client"]),
    )?;
    let binary = target_dir(root)
        .join("debug")
        .join(exe("conformance-client"));
    if !binary.is_file() {
        return Err(Failure(format!(
            "`cargo build -p conformance-client` made no binary at {}",
            binary.display()
        )));
    }
    // The suite splits `--command` on spaces and appends the server URL.
    let command_line = binary.to_string_lossy().into_owned();
    if command_line.contains(char::is_whitespace) {
        return Err(Failure(format!(
            "the client's path must not contain spaces (the suite splits --command on them): {command_line}"
        )));
    }
    Ok(command_line)
}

// ---------------------------------------------------------------------------------------
// Running the suite and reading its results

/// Runs one planned invocation (or one per scenario if `run.single`) and records the
/// results of every expected scenario.
#[allow(clippy::too_many_arguments)]
fn execute(
    node: &Path,
    script: &Path,
    version: &'static str,
    kind: Kind,
    run: &Run,
    target: &[String],
    results: &Path,
    report: &mut Report,
) -> Result {
    let label = format!("{}-{}", kind.name(), run.mode);
    let out_dir = results.join(&label);
    let _ = fs::remove_dir_all(&out_dir);
    fs::create_dir_all(&out_dir)
        .map_err(|e| Failure(format!("cannot create {}: {e}", out_dir.display())))?;
    let log_path = results.join(format!("{label}.log"));
    let mut log = String::new();

    let batches: Vec<Vec<&Scenario>> = if run.single {
        run.expected.iter().map(|s| vec![s]).collect()
    } else {
        vec![run.expected.iter().collect()]
    };
    let mut outcome = Outcome {
        version,
        kind,
        mode: run.mode,
        scenarios: Vec::new(),
    };
    eprintln!(
        "\n==> suite {version}, {} mode, {} wire: {} scenario(s)",
        kind.name(),
        run.mode,
        run.expected.len()
    );
    for batch in batches {
        let mut command = Command::new(node);
        command.arg(script).arg(kind.name()).args(target);
        if run.single {
            command.args(["--scenario", &batch[0].name]);
        }
        command.arg("-o").arg(&out_dir);
        let timeout = if run.single {
            SCENARIO_RUN_TIMEOUT
        } else {
            SUITE_RUN_TIMEOUT
        };
        eprintln!("    $ {}", shown(&command));
        let started = Instant::now();
        let result = capture(&mut command, timeout);
        let (status, console) = match result {
            Ok(out) => {
                let status = out.status;
                (
                    if out.timed_out {
                        Err(format!(
                            "timed out after {}s and was killed",
                            timeout.as_secs()
                        ))
                    } else if status.success() {
                        Ok(())
                    } else {
                        Err(format!("exited with {status}"))
                    },
                    format!("{}{}", out.stdout, out.stderr),
                )
            }
            Err(failure) => (Err(failure.0), String::new()),
        };
        eprintln!(
            "    ... {} in {:.1}s",
            match &status {
                Ok(()) => "exit 0".to_owned(),
                Err(e) => e.clone(),
            },
            started.elapsed().as_secs_f64()
        );
        log.push_str(&format!("$ {}\n{console}\n", shown(&command)));
        let found = read_results(&out_dir, kind)?;
        for scenario in batch {
            let checks = found
                .iter()
                .find(|(name, _)| *name == scenario.name)
                .map(|(_, checks)| checks.clone());
            let mut result = ScenarioResult::new(scenario, checks);
            // In client mode the suite records a crashed or timed-out client only in its
            // exit code and console, not in checks.json.
            if kind == Kind::Client && run.single {
                if let Err(why) = &status {
                    let detail = console
                        .lines()
                        .map(|l| strip_ansi(l).trim().to_owned())
                        .filter(|l| {
                            let l = l.to_ascii_lowercase();
                            l.contains("client exited")
                                || l.contains("timed out")
                                || l.contains("timeout")
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    let explained = result
                        .checks
                        .as_ref()
                        .is_some_and(|checks| checks.iter().any(|c| failing(c, kind)));
                    if !detail.is_empty() {
                        result.process_error = Some(format!("suite {why}: {detail}"));
                    } else if !explained {
                        result.process_error = Some(format!("suite {why}"));
                    }
                }
            } else if let Err(why) = &status {
                if result.checks.is_none() {
                    result.process_error = Some(format!("suite {why}"));
                }
            }
            outcome.scenarios.push(result);
        }
    }
    fs::write(&log_path, log)
        .map_err(|e| Failure(format!("cannot write {}: {e}", log_path.display())))?;
    eprintln!("    console output: {}", log_path.display());
    report.outcomes.push(outcome);
    Ok(())
}

/// One check of a `checks.json`.
#[derive(Clone)]
struct Check {
    id: String,
    status: String,
    message: String,
}

/// Reads `<dir>/<prefix><scenario>-<timestamp>/checks.json` for every scenario directory.
fn read_results(dir: &Path, kind: Kind) -> Result<Vec<(String, Vec<Check>)>> {
    let mut found = Vec::new();
    let entries =
        fs::read_dir(dir).map_err(|e| Failure(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let file = path.join("checks.json");
        if !file.is_file() {
            continue;
        }
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = scenario_of(&dir_name, kind) else {
            continue;
        };
        let text = fs::read_to_string(&file)
            .map_err(|e| Failure(format!("cannot read {}: {e}", file.display())))?;
        let parsed = json::parse(&text)
            .map_err(|e| Failure(format!("{}: invalid JSON: {e}", file.display())))?;
        let checks = parsed
            .as_array()
            .unwrap_or_default()
            .iter()
            .map(|check| {
                let field = |k: &str| check.get(k).and_then(Json::as_str).unwrap_or_default();
                let message = [
                    check
                        .get("errorMessage")
                        .and_then(Json::as_str)
                        .map(str::to_owned),
                    check
                        .get("details")
                        .and_then(|d| d.get("message"))
                        .and_then(Json::as_str)
                        .map(str::to_owned),
                    check
                        .get("details")
                        .and_then(|d| d.get("violations"))
                        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
                        .map(Json::to_text),
                    check.get("details").map(Json::to_text),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
                let message = if message.is_empty() {
                    field("description").to_owned()
                } else {
                    message[..message.len().min(2)].join(" | ")
                };
                Check {
                    id: field("id").to_owned(),
                    status: field("status").to_owned(),
                    message,
                }
            })
            .collect();
        found.push((name, checks));
    }
    Ok(found)
}

/// The scenario name of a results folder: `server-<name>-<timestamp>` or
/// `<name>-<timestamp>`, where the timestamp looks like `2026-11-21T20-52-43-702Z`.
fn scenario_of(dir_name: &str, kind: Kind) -> Option<String> {
    const STAMP: usize = "2026-11-21T20-52-43-702Z".len();
    let bytes = dir_name.as_bytes();
    if bytes.len() <= STAMP + 1
        || !dir_name.ends_with('Z')
        || bytes[bytes.len() - STAMP - 1] != b'-'
    {
        return None;
    }
    let name = &dir_name[..dir_name.len() - STAMP - 1];
    let name = match kind {
        Kind::Server => name.strip_prefix("server-")?,
        Kind::Client => name,
    };
    Some(name.to_owned())
}

// ---------------------------------------------------------------------------------------
// The report

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Passed,
    Failed,
    Skipped,
}

struct ScenarioResult {
    name: String,
    extension: bool,
    checks: Option<Vec<Check>>,
    /// A crash or timeout of the suite process that the checks do not show.
    process_error: Option<String>,
}

impl ScenarioResult {
    fn new(scenario: &Scenario, checks: Option<Vec<Check>>) -> Self {
        ScenarioResult {
            name: scenario.name.clone(),
            extension: scenario.extension(),
            checks,
            process_error: None,
        }
    }

    fn verdict(&self, kind: Kind) -> Verdict {
        let Some(checks) = &self.checks else {
            return Verdict::Failed;
        };
        if self.process_error.is_some() || checks.iter().any(|c| failing(c, kind)) {
            Verdict::Failed
        } else if checks.iter().any(|c| c.status == "SUCCESS") {
            Verdict::Passed
        } else {
            Verdict::Skipped
        }
    }
}

/// Whether a check fails its scenario: `FAILURE`, and in client mode also `WARNING`.
fn failing(check: &Check, kind: Kind) -> bool {
    check.status == "FAILURE" || (kind == Kind::Client && check.status == "WARNING")
}

struct Outcome {
    version: &'static str,
    kind: Kind,
    mode: &'static str,
    scenarios: Vec<ScenarioResult>,
}

#[derive(Default)]
struct Report {
    outcomes: Vec<Outcome>,
    /// Scenarios deliberately not run, by group.
    excluded: Vec<(String, Vec<String>)>,
    notes: Vec<String>,
    /// Failures that stopped a mode (the server would not start, no client binary, ...).
    errors: Vec<String>,
}

impl Report {
    fn print(&self) {
        println!("\n==================== MCP conformance results ====================");
        if !self.outcomes.is_empty() {
            println!(
                "\n{:<16} {:<7} {:<11} {:>6} {:>6} {:>7}   extension (not required) p/f/s",
                "suite", "mode", "wire", "passed", "failed", "skipped"
            );
        }
        for o in &self.outcomes {
            let count = |ext: bool, v: Verdict| {
                o.scenarios
                    .iter()
                    .filter(|s| s.extension == ext && s.verdict(o.kind) == v)
                    .count()
            };
            println!(
                "{:<16} {:<7} {:<11} {:>6} {:>6} {:>7}   {}/{}/{}",
                o.version,
                o.kind.name(),
                o.mode,
                count(false, Verdict::Passed),
                count(false, Verdict::Failed),
                count(false, Verdict::Skipped),
                count(true, Verdict::Passed),
                count(true, Verdict::Failed),
                count(true, Verdict::Skipped),
            );
        }
        for o in &self.outcomes {
            let header = format!("{} {} mode, {} wire", o.version, o.kind.name(), o.mode);
            for extension in [false, true] {
                let group: Vec<&ScenarioResult> = o
                    .scenarios
                    .iter()
                    .filter(|s| s.extension == extension)
                    .collect();
                let failed: Vec<&&ScenarioResult> = group
                    .iter()
                    .filter(|s| s.verdict(o.kind) == Verdict::Failed)
                    .collect();
                let skipped: Vec<&str> = group
                    .iter()
                    .filter(|s| s.verdict(o.kind) == Verdict::Skipped)
                    .map(|s| s.name.as_str())
                    .collect();
                if extension && !group.is_empty() {
                    println!("\n--- {header}: extension scenarios (not required)");
                    for s in &group {
                        println!("  {:<8} {}", verdict_name(s.verdict(o.kind)), s.name);
                    }
                }
                if !failed.is_empty() {
                    println!(
                        "\n--- {header}: {}failing scenarios",
                        if extension { "extension " } else { "" }
                    );
                    for s in failed {
                        println!("  FAIL {}", s.name);
                        if let Some(error) = &s.process_error {
                            println!("       ! {error}");
                        }
                        match &s.checks {
                            None => println!("       ! no results written"),
                            Some(checks) => {
                                for c in checks.iter().filter(|c| failing(c, o.kind)) {
                                    println!(
                                        "       - [{}] {}: {}",
                                        c.status,
                                        c.id,
                                        one_line(&c.message)
                                    );
                                }
                            }
                        }
                    }
                }
                if !extension && !skipped.is_empty() {
                    println!("\n--- {header}: skipped (no SUCCESS and no FAILURE check)");
                    println!("  {}", skipped.join(", "));
                }
            }
            let warnings: Vec<(&str, &Check)> = o
                .scenarios
                .iter()
                .filter(|s| !s.extension)
                .flat_map(|s| {
                    s.checks
                        .iter()
                        .flatten()
                        .filter(|c| c.status == "WARNING" && o.kind == Kind::Server)
                        .map(|c| (s.name.as_str(), c))
                })
                .collect();
            if !warnings.is_empty() {
                println!("\n--- {header}: warnings (do not fail server mode)");
                for (scenario, c) in warnings {
                    println!("  {scenario}: {}: {}", c.id, one_line(&c.message));
                }
            }
        }
        for (group, names) in &self.excluded {
            if !names.is_empty() {
                println!(
                    "\n--- {group}: not run (auth scenarios, a later issue): {}",
                    names.join(", ")
                );
            }
        }
        for note in &self.notes {
            println!("\nnote: {note}");
        }
        for error in &self.errors {
            println!("\nERROR: {error}");
        }
    }

    fn verdict(&self) -> Result {
        let failed: Vec<String> = self
            .outcomes
            .iter()
            .flat_map(|o| {
                o.scenarios
                    .iter()
                    .filter(|s| !s.extension && s.verdict(o.kind) == Verdict::Failed)
                    .map(|s| format!("{} {} {}/{}", o.version, o.kind.name(), o.mode, s.name))
            })
            .collect();
        let mut problems = Vec::new();
        if !failed.is_empty() {
            problems.push(format!("{} scenario run(s) failed", failed.len()));
        }
        if !self.errors.is_empty() {
            problems.push(format!("{} error(s), see ERROR above", self.errors.len()));
        }
        if self.outcomes.is_empty() && self.errors.is_empty() {
            problems.push("no scenario was run".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Failure(problems.join("; ")))
        }
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "pass",
        Verdict::Failed => "FAIL",
        Verdict::Skipped => "skipped",
    }
}

fn one_line(text: &str) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 400 {
        format!("{}...", text.chars().take(400).collect::<String>())
    } else {
        text
    }
}

/// Removes ANSI colour escapes (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("      | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------
// Processes with a time limit

struct Captured {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Runs a command with stdin closed and its output captured; kills it (and, on Unix, its
/// process group, so the suite's child processes go too) once `timeout` has passed.
fn capture(command: &mut Command, timeout: Duration) -> Result<Captured> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command
        .spawn()
        .map_err(|e| Failure(format!("cannot run `{}`: {e}", shown(command))))?;
    // Each pipe is drained by a thread that sends its text back, so that a grandchild
    // holding a pipe open cannot make us wait forever.
    let pipe = |mut reader: Box<dyn Read + Send>| {
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = reader.read_to_end(&mut bytes);
            let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
        });
        receiver
    };
    let stdout = pipe(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = pipe(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                // The group is killed while its leader is alive, so its id is still ours.
                kill_group(&mut child);
                break child
                    .wait()
                    .map_err(|e| Failure(format!("cannot wait for `{}`: {e}", shown(command))))?;
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                kill_group(&mut child);
                return Err(Failure(format!(
                    "cannot wait for `{}`: {e}",
                    shown(command)
                )));
            }
        }
    };
    let grace = Duration::from_secs(10);
    let mut collect = |receiver: &mpsc::Receiver<String>| {
        receiver.recv_timeout(grace).unwrap_or_else(|_| {
            // Leftover processes of the group still hold the pipe (so the group, and its
            // id, still exist): end them, then take what was read.
            kill_group(&mut child);
            receiver.recv_timeout(grace).unwrap_or_default()
        })
    };
    let stdout = collect(&stdout);
    let stderr = collect(&stderr);
    Ok(Captured {
        status,
        stdout,
        stderr,
        timed_out,
    })
}

/// Kills a child started in its own process group, with everything in the group.
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_folder_names() {
        assert_eq!(
            scenario_of("server-tools-list-2026-11-21T20-52-43-536Z", Kind::Server).as_deref(),
            Some("tools-list")
        );
        assert_eq!(
            scenario_of("tools_call-2026-11-21T20-53-03-953Z", Kind::Client).as_deref(),
            Some("tools_call")
        );
        assert_eq!(scenario_of("tools_call", Kind::Client), None);
    }

    #[cfg(unix)]
    #[test]
    fn capture_kills_on_timeout() {
        let started = Instant::now();
        let out = capture(
            Command::new("sh").args(["-c", "echo hi; sleep 30 & sleep 30"]),
            Duration::from_millis(500),
        )
        .unwrap_or_else(|f| panic!("{f}"));
        assert!(out.timed_out);
        assert_eq!(out.stdout.trim(), "hi");
        assert!(started.elapsed() < Duration::from_secs(10));
        let out = capture(Command::new("sh").args(["-c", "echo ok"]), PROBE_TIMEOUT)
            .unwrap_or_else(|f| panic!("{f}"));
        assert!(!out.timed_out && out.status.success());
        assert_eq!(out.stdout.trim(), "ok");
    }

    #[test]
    fn plans_both_wires_for_v2() {
        let s = |name: &str, tags: &[&str]| Scenario {
            name: name.to_owned(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        };
        let scenarios = [
            s("ping", &["2025-06-18", "2025-11-25"]),
            s("tools-list", &["2025-11-25", "2026-07-28"]),
            s("server-stateless", &["2026-07-28"]),
            s("tasks-lifecycle", &["extension"]),
        ];
        let runs = plan(Kind::Server, "0.2.0-alpha.12", &scenarios, None);
        let names = |r: &Run| {
            r.expected
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(runs.len(), 3);
        assert_eq!(names(&runs[0]), ["ping", "tools-list"]);
        assert_eq!(names(&runs[1]), ["tools-list", "server-stateless"]);
        assert_eq!(names(&runs[2]), ["tasks-lifecycle"]);
        assert!(runs[2].single && !runs[0].single);
        let runs = plan(Kind::Server, "0.1.16", &scenarios[..2], Some("ping"));
        assert_eq!(runs.len(), 1);
        assert!(runs[0].single);
    }
}
