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
use crate::{cargo, exe, root, runs, step, target_dir, Failure, Result};

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
        // The same echo server behind the oxmcp proxy, stdio on both sides.
        .arg(format!(
            "proxy={} {}",
            bin("proxy-stdio").display(),
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

/// Whether a budget is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    NotMeasured,
    /// A figure reported for reference, with no limit.
    Reported,
}

/// One budget and how oxmcp fared.
#[derive(Debug, Clone, PartialEq)]
struct Budget {
    /// What is measured, and where.
    name: String,
    /// oxmcp's figure, with its unit.
    figure: String,
    /// oxmcp's ratio to the floor, when the budget is a ratio.
    ratio: Option<f64>,
    /// The limit, as text.
    limit: String,
    /// rmcp's figure or ratio in the same setting, for reference.
    rmcp: String,
    verdict: Verdict,
}

/// A number member of a JSON object, by path (`["ratio", "p50_us"]`).
fn number(object: &Json, path: &[&str]) -> Option<f64> {
    let mut value = object;
    for key in path {
        value = value.get(key)?;
    }
    match value {
        Json::Number(n) => n.parse().ok(),
        _ => None,
    }
}

/// A string member of a JSON object.
fn text<'a>(object: &'a Json, key: &str) -> Option<&'a str> {
    object.get(key)?.as_str()
}

/// The first line with all the given string and number members.
fn find<'a>(
    lines: &'a [Json],
    strings: &[(&str, &str)],
    numbers: &[(&str, f64)],
) -> Option<&'a Json> {
    lines.iter().find(|line| {
        strings.iter().all(|(k, v)| text(line, k) == Some(v))
            && numbers.iter().all(|(k, v)| number(line, &[k]) == Some(*v))
    })
}

fn verdict(value: Option<f64>, ok: impl Fn(f64) -> bool) -> Verdict {
    match value {
        None => Verdict::NotMeasured,
        Some(v) if ok(v) => Verdict::Pass,
        Some(_) => Verdict::Fail,
    }
}

fn shown(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "-".to_owned(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0} {unit}"),
        Some(v) => format!("{v:.2} {unit}"),
    }
}

fn shown_ratio(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |r| format!("×{r:.2}"))
}

/// Checks every budget against the JSON lines of the run.
fn check(lines: &[Json]) -> Vec<Budget> {
    let mut budgets = Vec::new();
    let summary = |name: &str, era: &str, inflight: f64| {
        find(
            lines,
            &[("kind", "summary"), ("name", name), ("era", era)],
            &[("inflight", inflight)],
        )
    };
    // stdio: server CPU per call, and p50 latency at depth 1, as ratios to the floor.
    for era in ["legacy", "modern"] {
        for inflight in [1.0, 32.0] {
            let ours = summary("oxmcp", era, inflight);
            let ratio = ours.and_then(|s| number(s, &["ratio", "cpu_us_per_call"]));
            let rmcp = summary("rmcp", era, inflight)
                .and_then(|s| number(s, &["ratio", "cpu_us_per_call"]));
            // Issue 10 set ×1.15 at 32 in flight (where the per-request cost shows); at 1
            // in flight the round trip dominates and ×2.0 stays.
            let limit = if inflight > 1.0 { 1.15 } else { 2.0 };
            budgets.push(Budget {
                name: format!("stdio server CPU/call, {era}, {inflight} in flight"),
                figure: shown(
                    ours.and_then(|s| number(s, &["median", "cpu_us_per_call"])),
                    "µs",
                ),
                ratio,
                limit: format!("≤ ×{limit}"),
                rmcp: shown_ratio(rmcp),
                verdict: verdict(ratio, |r| r <= limit),
            });
        }
        let ours = summary("oxmcp", era, 1.0);
        let ratio = ours.and_then(|s| number(s, &["ratio", "p50_us"]));
        budgets.push(Budget {
            name: format!("stdio latency p50, {era}, 1 in flight"),
            figure: shown(ours.and_then(|s| number(s, &["median", "p50_us"])), "µs"),
            ratio,
            limit: "≤ ×1.5".into(),
            rmcp: shown_ratio(
                summary("rmcp", era, 1.0).and_then(|s| number(s, &["ratio", "p50_us"])),
            ),
            verdict: verdict(ratio, |r| r <= 1.5),
        });
    }
    // The proxy (stdio front, stdio back, echo behind it) at 1 in flight: its client-observed
    // latency against a direct call plus one more hop (the floor's round trip), and its own
    // CPU per call (the proxy process only) against the floor's.
    for era in ["legacy", "modern"] {
        let p50 =
            |name: &str| summary(name, era, 1.0).and_then(|s| number(s, &["median", "p50_us"]));
        let proxy = summary("proxy", era, 1.0);
        let latency = match (p50("proxy"), p50("oxmcp"), p50("floor")) {
            (Some(proxy), Some(direct), Some(hop)) => Some(proxy / (direct + hop)),
            _ => None,
        };
        budgets.push(Budget {
            name: format!("proxy latency p50 / (direct + one hop), {era}"),
            figure: shown(p50("proxy"), "µs"),
            ratio: latency,
            limit: "≤ ×1.3".into(),
            rmcp: "-".into(),
            verdict: verdict(latency, |r| r <= 1.3),
        });
        let cpu = proxy.and_then(|s| number(s, &["ratio", "cpu_us_per_call"]));
        budgets.push(Budget {
            name: format!("proxy CPU/call, {era}, 1 in flight"),
            figure: shown(
                proxy.and_then(|s| number(s, &["median", "cpu_us_per_call"])),
                "µs",
            ),
            ratio: cpu,
            limit: "≤ ×2.0".into(),
            rmcp: "-".into(),
            verdict: verdict(cpu, |r| r <= 2.0),
        });
    }
    // A hub of 10 back ends answering tools/list from its cache, against one server listing
    // as many tools (hub-bench starts it with `--tools N`).
    let hub = find(
        lines,
        &[("kind", "summary"), ("name", "hub-tools-list")],
        &[],
    );
    let ratio = hub.and_then(|s| number(s, &["ratio", "hub_us"]));
    budgets.push(Budget {
        name: "hub of 10: tools/list vs one server".into(),
        figure: shown(hub.and_then(|s| number(s, &["median", "hub_us"])), "µs"),
        ratio,
        limit: "≤ ×1.5".into(),
        rmcp: "-".into(),
        verdict: verdict(ratio, |r| r <= 1.5),
    });
    // HTTP: server CPU per call with 16 clients.
    for era in ["legacy", "modern"] {
        let http = |server: &str| {
            find(
                lines,
                &[("bench", "http"), ("server", server), ("era", era)],
                &[("clients", 16.0)],
            )
        };
        let ours = http("oxmcp");
        let ratio = ours.and_then(|s| number(s, &["cpu_ratio_to_baseline"]));
        let rmcp = http("rmcp");
        budgets.push(Budget {
            name: format!("HTTP server CPU/call, {era}, 16 clients"),
            figure: shown(ours.and_then(|s| number(s, &["cpu_us_per_call"])), "µs"),
            ratio,
            limit: "≤ ×1.25".into(),
            rmcp: if rmcp.is_some_and(|r| r.get("unsupported") == Some(&Json::Bool(true))) {
                "n/a".into()
            } else {
                shown_ratio(rmcp.and_then(|s| number(s, &["cpu_ratio_to_baseline"])))
            },
            verdict: verdict(ratio, |r| r <= 1.25),
        });
    }
    // HTTP+SSE and WebSocket: server CPU per call at 16 clients against Streamable HTTP on
    // the same listener, in the same run.
    for era in ["legacy", "modern"] {
        for transport in ["http+sse", "websocket"] {
            let row = find(
                lines,
                &[
                    ("bench", "transports"),
                    ("era", era),
                    ("transport", transport),
                ],
                &[("clients", 16.0)],
            );
            let ratio = row.and_then(|r| number(r, &["cpu_ratio_to_streamable"]));
            budgets.push(Budget {
                name: format!("{transport} server CPU/call vs Streamable HTTP, {era}, 16 clients"),
                figure: shown(row.and_then(|r| number(r, &["cpu_us_per_call"])), "µs"),
                ratio,
                limit: "≤ ×1.3".into(),
                rmcp: "n/a".into(),
                verdict: verdict(ratio, |r| r <= 1.3),
            });
        }
    }
    let idle_ws = find(lines, &[("bench", "idle-ws"), ("server", "oxmcp")], &[])
        .and_then(|l| number(l, &["rss_per_connection_bytes"]));
    budgets.push(Budget {
        name: "RSS per idle WebSocket connection".into(),
        figure: shown(idle_ws, "B"),
        ratio: None,
        limit: "≤ 4096 B".into(),
        rmcp: "n/a".into(),
        verdict: verdict(idle_ws, |b| b <= 4096.0),
    });
    // Output validation: a structured tool's call with its result checked against its
    // schema, as a ratio to the same call unchecked (in-process, one in flight).
    let validation = find(lines, &[("bench", "output-validation")], &[]);
    let ratio = validation.and_then(|l| number(l, &["ratio"]));
    budgets.push(Budget {
        name: "tools/call with output validation vs without".into(),
        figure: shown(
            validation.and_then(|l| number(l, &["ns_per_call_with"])),
            "ns",
        ),
        ratio,
        limit: "≤ ×1.25".into(),
        rmcp: "-".into(),
        verdict: verdict(ratio, |r| r <= 1.25),
    });
    overhead_budgets(lines, &mut budgets);
    // Idle stdio RSS right after the handshake: the worst median over the settings.
    let idle = |name: &str| {
        lines
            .iter()
            .filter(|l| text(l, "kind") == Some("summary") && text(l, "name") == Some(name))
            .filter_map(|l| number(l, &["median", "idle_rss_kib"]))
            .reduce(f64::max)
    };
    let ours = idle("oxmcp");
    budgets.push(Budget {
        name: "idle stdio server RSS (worst median)".into(),
        figure: shown(ours.map(|k| k / 1024.0), "MiB"),
        ratio: None,
        limit: "≤ 4 MiB".into(),
        rmcp: shown(idle("rmcp").map(|k| k / 1024.0), "MiB"),
        verdict: verdict(ours, |k| k <= 4.0 * 1024.0),
    });
    // scale-bench: RSS per idle HTTP session, tools-scale, floods.
    let scale =
        |bench: &str, server: &str| find(lines, &[("bench", bench), ("server", server)], &[]);
    let per_session = |server: &str| {
        scale("idle-sessions", server).and_then(|l| number(l, &["rss_per_session_bytes"]))
    };
    let ours = per_session("oxmcp");
    budgets.push(Budget {
        name: "RSS per idle legacy HTTP session".into(),
        figure: shown(ours, "B"),
        ratio: None,
        limit: "≤ 2048 B".into(),
        rmcp: shown(per_session("rmcp"), "B"),
        verdict: verdict(ours, |b| b <= 2048.0),
    });
    let ratio = scale("tools-scale", "oxmcp").and_then(|l| number(l, &["cpu_per_call_ratio"]));
    budgets.push(Budget {
        name: "CPU/call with 1000 tools vs 1 tool".into(),
        figure: shown_ratio(ratio),
        ratio,
        limit: "≤ ×1.1".into(),
        rmcp: "-".into(),
        verdict: verdict(ratio, |r| r <= 1.1),
    });
    for era in ["legacy", "modern"] {
        let flood = |server: &str| {
            find(
                lines,
                &[("bench", "flood"), ("server", server), ("era", era)],
                &[],
            )
        };
        let ours = flood("oxmcp");
        let answered =
            ours.and_then(|l| Some((number(l, &["answered"])?, number(l, &["requests"])?)));
        let rmcp = flood("rmcp");
        let rmcp_answered =
            rmcp.and_then(|l| Some((number(l, &["answered"])?, number(l, &["requests"])?)));
        budgets.push(Budget {
            name: format!("flood, {era}: every request answered"),
            figure: answered.map_or("-".into(), |(a, r)| format!("{a:.0}/{r:.0}")),
            ratio: None,
            limit: "all".into(),
            rmcp: rmcp_answered.map_or("-".into(), |(a, r)| format!("{a:.0}/{r:.0}")),
            verdict: match answered {
                None => Verdict::NotMeasured,
                Some((a, r)) if a == r => Verdict::Pass,
                Some(_) => Verdict::Fail,
            },
        });
        let peak = ours.and_then(|l| number(l, &["peak_rss_bytes"]));
        let mib = |b: f64| b / (1024.0 * 1024.0);
        budgets.push(Budget {
            name: format!("flood, {era}: peak RSS"),
            figure: shown(peak.map(mib), "MiB"),
            ratio: None,
            limit: "< 64 MiB".into(),
            rmcp: shown(
                rmcp.and_then(|l| number(l, &["peak_rss_bytes"])).map(mib),
                "MiB",
            ),
            verdict: verdict(peak, |b| b < 64.0 * 1024.0 * 1024.0),
        });
    }
    // The oxmcp command (issue 16): `oxmcp call` against the floor, as a ratio to the
    // floor's own start-up plus one call.
    let cli = find(lines, &[("bench", "cli")], &[]);
    let ratio = cli.and_then(|l| number(l, &["ratio"]));
    budgets.push(Budget {
        name: "oxmcp call vs the server's start-up + one call (stdio)".into(),
        figure: shown(cli.and_then(|l| number(l, &["median_ms", "call"])), "ms"),
        ratio,
        limit: "≤ ×1.5".into(),
        rmcp: "n/a".into(),
        verdict: verdict(ratio, |r| r <= 1.5),
    });
    budgets
}

/// `overhead-bench`: an authenticated call (RS256 JWT, cache warm) against the same call
/// without auth (issue 12), with the cold figure (each call a token's first
/// verification) reported; spans and metrics on against off (issue 14), over HTTP and
/// stdio. Ratios of server CPU per call, both measured in the same run.
fn overhead_budgets(lines: &[Json], budgets: &mut Vec<Budget>) {
    let cpu = |row: Option<&Json>| shown(row.and_then(|r| number(r, &["cpu_us_per_call"])), "µs");
    for era in ["legacy", "modern"] {
        let auth = find(lines, &[("bench", "auth"), ("era", era)], &[]);
        let ratio = auth.and_then(|r| number(r, &["ratio"]));
        budgets.push(Budget {
            name: format!("JWT (RS256, cache warm) CPU/call vs no auth, HTTP {era}, 16 clients"),
            figure: cpu(auth),
            ratio,
            limit: "≤ ×1.3".into(),
            rmcp: "n/a".into(),
            verdict: verdict(ratio, |r| r <= 1.3),
        });
        let cold = auth.and_then(|r| number(r, &["cold_ratio"]));
        budgets.push(Budget {
            name: format!("JWT cold (each call a new token) CPU/call vs no auth, HTTP {era}"),
            figure: shown(
                auth.and_then(|r| number(r, &["cold_cpu_us_per_call"])),
                "µs",
            ),
            ratio: cold,
            limit: "-".into(),
            rmcp: "n/a".into(),
            verdict: match cold {
                Some(_) => Verdict::Reported,
                None => Verdict::NotMeasured,
            },
        });
        for (transport, setting) in [("http", "16 clients"), ("stdio", "32 in flight")] {
            let row = find(
                lines,
                &[
                    ("bench", "observability"),
                    ("transport", transport),
                    ("era", era),
                ],
                &[],
            );
            let ratio = row.and_then(|r| number(r, &["ratio"]));
            budgets.push(Budget {
                name: format!("spans + metrics CPU/call vs none, {transport} {era}, {setting}"),
                figure: cpu(row),
                ratio,
                limit: "≤ ×1.3".into(),
                rmcp: "n/a".into(),
                verdict: verdict(ratio, |r| r <= 1.3),
            });
        }
    }
}

/// The budgets as aligned columns.
fn table(budgets: &[Budget]) -> String {
    let mut rows = vec![[
        "budget (oxmcp)".to_owned(),
        "figure".to_owned(),
        "ratio".to_owned(),
        "limit".to_owned(),
        "rmcp (reference)".to_owned(),
        "verdict".to_owned(),
    ]];
    for b in budgets {
        rows.push([
            b.name.clone(),
            b.figure.clone(),
            shown_ratio(b.ratio),
            b.limit.clone(),
            b.rmcp.clone(),
            match b.verdict {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::NotMeasured => "not measured",
                Verdict::Reported => "(reported)",
            }
            .to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::from("  ");
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(cell);
            line.push_str(&" ".repeat(width - cell.chars().count() + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_from_json_lines() {
        let lines: Vec<Json> = [
            r#"{"kind":"summary","name":"oxmcp","era":"legacy","inflight":1,"median":{"cpu_us_per_call":4.0,"p50_us":5.0,"idle_rss_kib":3000},"ratio":{"cpu_us_per_call":2.5,"p50_us":1.2}}"#,
            r#"{"kind":"summary","name":"rmcp","era":"legacy","inflight":1,"median":{"idle_rss_kib":6000},"ratio":{"cpu_us_per_call":12.0,"p50_us":7.0}}"#,
            r#"{"bench":"http","era":"modern","clients":16,"server":"oxmcp","cpu_us_per_call":10.0,"cpu_ratio_to_baseline":1.2}"#,
            r#"{"bench":"http","era":"modern","clients":16,"server":"rmcp","unsupported":true}"#,
            r#"{"bench":"flood","server":"oxmcp","era":"legacy","requests":50000,"answered":49999,"peak_rss_bytes":1000}"#,
            r#"{"bench":"transports","era":"legacy","clients":16,"transport":"websocket","cpu_us_per_call":30.0,"cpu_ratio_to_streamable":0.8}"#,
            r#"{"bench":"transports","era":"legacy","clients":16,"transport":"http+sse","cpu_us_per_call":50.0,"cpu_ratio_to_streamable":1.4}"#,
            r#"{"bench":"idle-ws","server":"oxmcp","sockets":1000,"rss_per_connection_bytes":5000.0}"#,
            r#"{"bench":"auth","era":"modern","clients":16,"cpu_us_per_call":40.0,"ratio":1.1,"cold_cpu_us_per_call":90.0,"cold_ratio":2.4}"#,
            r#"{"bench":"observability","transport":"stdio","era":"legacy","cpu_us_per_call":9.0,"ratio":1.5}"#,
        ]
        .iter()
        .map(|l| json::parse(l).unwrap())
        .collect();
        let budgets = check(&lines);
        let by_name = |name: &str| budgets.iter().find(|b| b.name == name).unwrap();
        let cpu = by_name("stdio server CPU/call, legacy, 1 in flight");
        assert_eq!((cpu.verdict, cpu.ratio), (Verdict::Fail, Some(2.5)));
        assert_eq!(cpu.rmcp, "×12.00");
        assert_eq!(
            by_name("stdio latency p50, legacy, 1 in flight").verdict,
            Verdict::Pass
        );
        assert_eq!(
            by_name("stdio server CPU/call, modern, 32 in flight").verdict,
            Verdict::NotMeasured
        );
        let http = by_name("HTTP server CPU/call, modern, 16 clients");
        assert_eq!((http.verdict, http.rmcp.as_str()), (Verdict::Pass, "n/a"));
        assert_eq!(
            by_name("idle stdio server RSS (worst median)").verdict,
            Verdict::Pass
        );
        assert_eq!(
            by_name("flood, legacy: every request answered").verdict,
            Verdict::Fail
        );
        assert_eq!(by_name("flood, legacy: peak RSS").verdict, Verdict::Pass);
        assert_eq!(
            by_name("RSS per idle legacy HTTP session").verdict,
            Verdict::NotMeasured
        );
        let ws = by_name("websocket server CPU/call vs Streamable HTTP, legacy, 16 clients");
        assert_eq!((ws.verdict, ws.ratio), (Verdict::Pass, Some(0.8)));
        assert_eq!(
            by_name("http+sse server CPU/call vs Streamable HTTP, legacy, 16 clients").verdict,
            Verdict::Fail
        );
        assert_eq!(
            by_name("http+sse server CPU/call vs Streamable HTTP, modern, 16 clients").verdict,
            Verdict::NotMeasured
        );
        assert_eq!(
            by_name("RSS per idle WebSocket connection").verdict,
            Verdict::Fail
        );
        let jwt = by_name("JWT (RS256, cache warm) CPU/call vs no auth, HTTP modern, 16 clients");
        assert_eq!((jwt.verdict, jwt.ratio), (Verdict::Pass, Some(1.1)));
        let cold = by_name("JWT cold (each call a new token) CPU/call vs no auth, HTTP modern");
        assert_eq!(
            (cold.verdict, cold.figure.as_str()),
            (Verdict::Reported, "90.00 µs")
        );
        assert_eq!(
            by_name("spans + metrics CPU/call vs none, stdio legacy, 32 in flight").verdict,
            Verdict::Fail
        );
        assert_eq!(
            by_name("spans + metrics CPU/call vs none, http legacy, 16 clients").verdict,
            Verdict::NotMeasured
        );
        assert!(table(&budgets).contains("not measured"));
    }
}
