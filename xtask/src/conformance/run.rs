//! Planning and running the suites: the server under test, the client under test.

use super::*;

/// One invocation of the suite.
pub(super) struct Run {
    /// The wire the scenarios run at, as shown in the report.
    pub(super) mode: &'static str,
    /// The arguments after `server`/`client`, except `--url`/`--command`/`-o`.
    pub(super) args: Vec<String>,
    /// The scenarios this invocation is expected to write results for.
    pub(super) expected: Vec<Scenario>,
    /// Scenario names are run one per invocation (`--scenario`).
    pub(super) single: bool,
}

/// Whether a suite version knows the 2026 wire (`--spec-version 2026-07-28`).
pub(super) fn has_modern_wire(version: &str) -> bool {
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
pub(super) fn plan(
    kind: Kind,
    version: &str,
    scenarios: &[Scenario],
    only: Option<&str>,
) -> Vec<Run> {
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
                pick(|s| !s.extension() && s.legacy() && !s.only_2025_03_26()),
            ),
            // The 2025-03-26 back-compat scenarios apply at that revision only.
            (
                "2025-03-26",
                vec!["--spec-version".into(), "2025-03-26".into()],
                pick(|s| !s.extension() && s.only_2025_03_26()),
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

pub(super) fn server_mode(
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
                if (options.client && catalogue.client.iter().any(|s| &s.name == name))
                    || catalogue.authorization.iter().any(|s| &s.name == name)
                {
                    continue; // another mode's scenario; nothing to do in server mode
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
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) port: u16,
}

impl Server {
    pub(super) fn start(root: &Path, binary: &Path, log: &Path) -> Result<Server> {
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
        eprintln!(
            "\n==> start {}",
            binary.file_name().unwrap_or_default().to_string_lossy()
        );
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
pub(super) fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Failure(format!("cannot find a free port: {e}")))
}

// ---------------------------------------------------------------------------------------
// Client mode

pub(super) fn client_mode(
    root: &Path,
    cache: &Path,
    node: &Path,
    suites: &[(&'static str, PathBuf, Catalogue)],
    options: &Options,
    report: &mut Report,
) -> Result {
    let mut plans = Vec::new();
    for (version, script, catalogue) in suites {
        let runnable = &catalogue.client;
        if let Some(name) = &options.scenario {
            if !runnable.iter().any(|s| &s.name == name) {
                let elsewhere = catalogue.server.iter().chain(&catalogue.authorization);
                if !(options.server && elsewhere.clone().any(|s| &s.name == name)) {
                    report.notes.push(format!(
                        "suite {version}: no client scenario named `{name}`"
                    ));
                }
                continue;
            }
        }
        let runs = plan(Kind::Client, version, runnable, options.scenario.as_deref());
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
pub(super) fn conformance_client(root: &Path) -> Result<String> {
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
pub(super) fn execute(
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
        let result = match kind {
            // The suite prints the authorization URL and waits for the browser.
            Kind::Authorization => capture_watching(&mut command, timeout, browse),
            _ => capture(&mut command, timeout),
        };
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
