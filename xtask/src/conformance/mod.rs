//! `cargo xtask conformance`: runs the official MCP conformance suite
//! (npm `@modelcontextprotocol/conformance`) against `examples/everything` (server mode),
//! `examples/conformance-client` (client mode) and `examples/auth-server-conformance`
//! (authorization mode, the suite's authorization server scenarios, run with server mode).
//! See `examples/everything/EXPECTATIONS.md`.
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
//! if it wrote no results at all. Scenarios tagged `extension` (tasks, skills, the OAuth
//! extensions of the `auth/*` client scenarios) run and count like the others: every
//! scenario is required.

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::json::{self, Json};

mod authorization;
mod install;
mod process;
mod report;
mod run;

use crate::{cargo, exe, root, shown, step, target_dir, Failure, Result};
use authorization::*;
use install::*;
use process::*;
use report::*;
use run::*;

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
            against examples/everything over HTTP (server mode),
            examples/auth-server-conformance (the authorization server scenarios, with
            server mode) and examples/conformance-client (client mode); installs Node 22 and the suite into
            target/conformance/ when needed; exits non-zero if a required scenario fails
            (every scenario is required, extensions included)
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
    /// The suite's `authorization` command: scenarios against an authorization server.
    Authorization,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Authorization => "authorization",
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
    if options.server {
        if let Err(failure) =
            authorization_mode(&root, &cache, &node, &suites, &options, &mut report)
        {
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
        assert_eq!(
            scenario_of(
                "authorization-server-authorization-code-grant-2026-12-06T04-37-16-468Z",
                Kind::Authorization
            )
            .as_deref(),
            Some("authorization-code-grant")
        );
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
