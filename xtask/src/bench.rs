//! `cargo xtask bench`: every benchmark side by side in one run, then the budget check.
//!
//! The `oxmcp` command is timed too (`cli-bench`: `--version`, one call against the
//! floor). The servers: the no-SDK floor (`floor-stdio`, `floor-http`), oxmcp (`examples/echo`)
//! and rmcp (`oxmcp-bench`'s `rmcp_echo` example, a dev-dependency of the bench crate
//! only) as a reference peer. Every step runs with `--json`: its tables go to the
//! terminal (stderr) and its JSON lines are appended to `<target>/bench/results.jsonl`,
//! which each run starts afresh. At the end the budgets are checked against those lines
//! and printed as a table; a missed budget prints FAIL but only fails the command with
//! `--strict` (CI does not run the benchmarks; the machine is usually noisy).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::json::{self, Json};

mod budgets;

use crate::{cargo, exe, root, runs, step, target_dir, Failure, Result};
use budgets::{check, table, Budget, Verdict};

/// The steps `--only` can name, in the order they run.
const STEPS: [&str; 9] = [
    "dispatch",
    "stdio",
    "hub",
    "cli",
    "http",
    "transports",
    "overhead",
    "scale",
    "soak",
];

/// `cargo xtask bench [--quick] [--strict] [--soak-minutes N] [--soak-only] [--only STEP,..]`.
pub fn bench(args: &[&str]) -> Result {
    let mut soak_minutes = "10".to_owned();
    let mut only: Vec<String> = Vec::new();
    let mut flags = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--soak-minutes" => {
                soak_minutes = rest
                    .next()
                    .filter(|m| m.parse::<f64>().is_ok_and(|m| m > 0.0))
                    .ok_or_else(|| Failure("--soak-minutes wants a number of minutes".into()))?
                    .to_string();
            }
            "--only" => {
                let list = rest
                    .next()
                    .ok_or_else(|| Failure(format!("--only wants steps: {}", STEPS.join(","))))?;
                for name in list.split(',') {
                    if !STEPS.contains(&name) {
                        return Err(Failure(format!(
                            "--only: no step {name:?} (expected some of {})",
                            STEPS.join(",")
                        )));
                    }
                    only.push(name.to_owned());
                }
            }
            "--quick" | "--strict" | "--soak-only" => flags.push(*arg),
            unknown => {
                return Err(Failure(format!(
                    "bench: unknown argument {unknown:?} (expected --quick, --strict, \
                     --soak-minutes N, --soak-only, --only STEP,..)"
                )))
            }
        }
    }
    // Every step, or only those of `--only` (and their builds).
    let wanted = |step: &str| only.is_empty() || only.iter().any(|s| s == step);
    let any = |steps: &[&str]| steps.iter().any(|s| wanted(s));
    let args = flags.as_slice();
    if args.contains(&"--soak-only") {
        return soak(&soak_minutes);
    }
    let quick = args.contains(&"--quick");
    let strict = args.contains(&"--strict");
    let (requests, reps) = if quick { ("5000", "3") } else { ("20000", "5") };
    let root = root();
    let target = target_dir(&root);
    let results = target.join("bench").join("results.jsonl");
    fs::create_dir_all(target.join("bench")).map_err(|e| {
        Failure(format!(
            "cannot create {}: {e}",
            target.join("bench").display()
        ))
    })?;
    match fs::remove_file(&results) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Failure(format!("cannot remove {}: {e}", results.display()))),
    }

    step(
        "build the benchmarks in release",
        cargo().args(["build", "--release", "-p", "oxmcp-bench"]),
    )?;
    // On its own, so that it is built with its own features only: built with the bench
    // crate, cargo would unify oxmcp's features (the client too) into the echo binary.
    if any(&["stdio", "hub", "http", "scale"]) {
        step(
            "build the echo server in release",
            cargo().args(["build", "--release", "-p", "echo"]),
        )?;
    }
    if wanted("hub") {
        step(
            "build the hub in release",
            cargo().args(["build", "--release", "-p", "hub"]),
        )?;
    }
    if any(&["stdio", "http", "scale"]) {
        step(
            "build the rmcp reference server in release",
            cargo().args([
                "build",
                "--release",
                "-p",
                "oxmcp-bench",
                "--example",
                "rmcp_echo",
            ]),
        )?;
    }
    // On its own too: the command as users install it.
    if wanted("cli") {
        step(
            "build the oxmcp command in release",
            cargo().args(["build", "--release", "-p", "oxmcp-cli"]),
        )?;
    }
    let release = target.join("release");
    let bin = |name: &str| release.join(exe(name));
    let echo = bin("echo");
    let rmcp = release.join("examples").join(exe("rmcp_echo"));

    let mut run = Runner {
        results: &results,
        failed: Vec::new(),
    };
    if wanted("dispatch") {
        run.step(
            "in-process dispatch",
            Command::new(bin("dispatch")).args(["--requests", requests, "--reps", reps, "--json"]),
        );
    }
    // One CPU for server and load generator alike: on a shared 2-core machine, letting the
    // scheduler split them makes single-request latency swing by several times.
    let pin = runs(Command::new("taskset").args(["-c", "0", "true"]));
    let mut compare = on_one_cpu(pin, &bin("compare"));
    compare
        .args([
            "--reps",
            reps,
            "--requests",
            requests,
            "--inflight",
            "1,32",
            "--era",
            "legacy,modern",
            "--json",
        ])
        .arg(format!("floor={}", bin("floor-stdio").display()))
        .arg(format!("oxmcp={}", echo.display()))
        .arg(format!("rmcp={}", rmcp.display()))
        // The floor's own answers on an event loop with the handler off the reader (what
        // that structure costs), and with a minimal typed SDK's per-request work on top
        // (what an SDK that does nothing else would cost): see `floor-async-stdio`.
        .arg(format!(
            "async-floor={}",
            bin("floor-async-stdio").display()
        ))
        .arg(format!(
            "typed-floor={} --typed",
            bin("floor-async-stdio").display()
        ))
        // The same echo server behind the oxmcp proxy, stdio on both sides.
        .arg(format!(
            "proxy={} {}",
            bin("proxy-stdio").display(),
            echo.display()
        ))
        // And behind a bare byte relay: what the extra hop costs before any work.
        .arg(format!(
            "relay={} {}",
            bin("relay-stdio").display(),
            echo.display()
        ));
    if wanted("stdio") {
        run.step("stdio round trips", &mut compare);
    }
    if wanted("hub") {
        run.step(
            "tools/list: a hub of 10 back ends vs one server (hub-bench)",
            Command::new(bin("hub-bench"))
                .args(["--reps", reps, "--backends", "10", "--json"])
                .args(["--requests", if quick { "500" } else { "2000" }])
                .arg("--hub")
                .arg(bin("hub"))
                .arg("--server")
                .arg(&echo),
        );
    }
    if wanted("cli") {
        run.step(
            "the oxmcp command: --version, and a call against the floor",
            Command::new(bin("cli-bench"))
                .args(["--reps", if quick { "10" } else { "30" }, "--json"])
                .arg("--oxmcp")
                .arg(bin("oxmcp"))
                .arg("--server")
                .arg(bin("floor-stdio")),
        );
    }
    if wanted("http") {
        run.step(
            "Streamable HTTP round trips",
            Command::new(bin("http-bench"))
                .args(["--requests", requests, "--reps", reps, "--json"])
                .arg(format!("floor={} {{addr}}", bin("floor-http").display()))
                .arg(format!("oxmcp={} --http {{addr}}", echo.display()))
                .arg(format!("rmcp={} --http {{addr}}", rmcp.display())),
        );
    }
    // HTTP+SSE and WebSocket against Streamable HTTP, one listener, 16 clients each; then
    // the memory of idle WebSocket connections. Pinned like the others.
    let mut transports = on_one_cpu(pin, &bin("transport-bench"));
    transports.args([
        "--requests",
        requests,
        "--reps",
        reps,
        "--idle",
        if quick { "500" } else { "1000" },
        "--json",
    ]);
    if wanted("transports") {
        run.step("HTTP+SSE and WebSocket vs Streamable HTTP", &mut transports);
    }
    // What a JWT verifier (RS256, cache warm, and cold) and spans + metrics cost a
    // server: CPU per call against the same server without them, 16 HTTP clients and
    // stdio. Pinned like the others.
    let mut overhead = on_one_cpu(pin, &bin("overhead-bench"));
    overhead.args(["--requests", requests, "--reps", reps, "--json"]);
    overhead.args(["--cold", if quick { "800" } else { "1600" }]);
    if wanted("overhead") {
        run.step(
            "auth (JWT) and observability (spans + metrics) overhead",
            &mut overhead,
        );
    }
    let scale = bin("scale-bench");
    if wanted("scale") && scale.is_file() {
        // Pinned as well: the 1-vs-1000 tools ratio swung by ±10% with the server and its
        // load generator free to move between the two CPUs.
        let mut command = on_one_cpu(pin, &scale);
        if quick {
            command.arg("--quick");
        }
        command
            .arg("--json")
            .arg("--echo")
            .arg(&echo)
            .arg("--rmcp")
            .arg(&rmcp);
        run.step("sessions, tools and floods (scale-bench)", &mut command);
    } else if wanted("scale") {
        eprintln!(
            "\n==> sessions, tools and floods: skipped, {} was not built",
            scale.display()
        );
    }

    // Last: minutes of mixed load, both eras, stdio and HTTP; fails the bench on a lost or
    // duplicated response, RSS growth after the warm-up or fds left open.
    let soaked = if wanted("soak") {
        soak(&soak_minutes)
    } else {
        Ok(())
    };

    let lines = read_lines(&results);
    // With --only, the budgets of the steps left out are not shown.
    let budgets: Vec<Budget> = check(&lines)
        .into_iter()
        .filter(|b| only.is_empty() || b.verdict != Verdict::NotMeasured)
        .collect();
    eprintln!("\n==> budgets (medians; ratios to the floor measured in the same run)");
    eprintln!("    JSON lines of every step: {}", results.display());
    eprint!("{}", table(&budgets));
    let missed = budgets
        .iter()
        .filter(|b| !matches!(b.verdict, Verdict::Pass | Verdict::Reported))
        .count();
    soaked?;
    if !run.failed.is_empty() {
        return Err(Failure(format!(
            "bench steps failed: {}",
            run.failed.join("; ")
        )));
    }
    if strict && missed > 0 {
        return Err(Failure(format!(
            "{missed} budget(s) failed or not measured (--strict)"
        )));
    }
    if missed > 0 {
        eprintln!("xtask: {missed} budget(s) failed or not measured (exit 0: not --strict)");
    }
    Ok(())
}

/// The soak test (`oxmcp-bench`'s `soak`) on the `everything` example, built in release.
fn soak(minutes: &str) -> Result {
    step(
        "build the soak load and the everything server in release",
        cargo().args(["build", "--release", "-p", "oxmcp-bench", "--bin", "soak"]),
    )?;
    step(
        "build the everything server in release",
        cargo().args(["build", "--release", "-p", "everything"]),
    )?;
    let release = target_dir(&root()).join("release");
    step(
        &format!("soak: {minutes} min of mixed load, stdio and HTTP, both eras"),
        Command::new(release.join(exe("soak")))
            .args(["--minutes", minutes, "--server"])
            .arg(release.join(exe("everything"))),
    )
}

/// Runs bench steps with stdout appended to the results file; a failed step is
/// recorded and the run goes on, so one broken server does not hide the others.
struct Runner<'a> {
    results: &'a Path,
    failed: Vec<String>,
}

impl Runner<'_> {
    fn step(&mut self, name: &str, command: &mut Command) {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.results);
        let outcome = match file {
            Ok(file) => step(name, command.stdout(file)),
            Err(e) => Err(Failure(format!(
                "cannot open {}: {e}",
                self.results.display()
            ))),
        };
        if let Err(failure) = outcome {
            eprintln!("xtask: {failure}; going on with the other steps");
            self.failed.push(name.to_owned());
        }
    }
}

/// The JSON objects of the results file, skipping lines that are not JSON.
fn read_lines(path: &PathBuf) -> Vec<Json> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| json::parse(l).ok())
        .collect()
}

/// `program`, run on CPU 0 only (with whatever it starts) when `pin` is set.
fn on_one_cpu(pin: bool, program: &std::path::Path) -> Command {
    if pin {
        let mut command = Command::new("taskset");
        command.args(["-c", "0"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}
