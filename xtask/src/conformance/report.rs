//! Reading the suites' results and reporting them.

use super::*;

/// One check of a `checks.json`.
#[derive(Clone)]
pub(super) struct Check {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) message: String,
}

/// Reads `<dir>/<prefix><scenario>-<timestamp>/checks.json` for every scenario directory.
pub(super) fn read_results(dir: &Path, kind: Kind) -> Result<Vec<(String, Vec<Check>)>> {
    let mut found = Vec::new();
    let entries =
        fs::read_dir(dir).map_err(|e| Failure(format!("cannot read {}: {e}", dir.display())))?;
    // A scenario named `group/name` (the `auth/*` ones) writes `group/name-<timestamp>/`.
    let mut folders = Vec::new();
    for entry in entries.flatten() {
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.join("checks.json").is_file() {
            folders.push((path, dir_name));
        } else if let Ok(inner) = fs::read_dir(&path) {
            for inner in inner.flatten() {
                let name = format!("{dir_name}/{}", inner.file_name().to_string_lossy());
                folders.push((inner.path(), name));
            }
        }
    }
    for (path, dir_name) in folders {
        let file = path.join("checks.json");
        if !file.is_file() {
            continue;
        }
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
pub(super) fn scenario_of(dir_name: &str, kind: Kind) -> Option<String> {
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
        Kind::Authorization => name.strip_prefix("authorization-server-")?,
    };
    Some(name.to_owned())
}

// ---------------------------------------------------------------------------------------
// The report

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Passed,
    Failed,
    Skipped,
}

pub(super) struct ScenarioResult {
    pub(super) name: String,
    pub(super) checks: Option<Vec<Check>>,
    /// A crash or timeout of the suite process that the checks do not show.
    pub(super) process_error: Option<String>,
}

impl ScenarioResult {
    pub(super) fn new(scenario: &Scenario, checks: Option<Vec<Check>>) -> Self {
        ScenarioResult {
            name: scenario.name.clone(),
            checks,
            process_error: None,
        }
    }

    pub(super) fn verdict(&self, kind: Kind) -> Verdict {
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
pub(super) fn failing(check: &Check, kind: Kind) -> bool {
    check.status == "FAILURE" || (kind == Kind::Client && check.status == "WARNING")
}

pub(super) struct Outcome {
    pub(super) version: &'static str,
    pub(super) kind: Kind,
    pub(super) mode: &'static str,
    pub(super) scenarios: Vec<ScenarioResult>,
}

#[derive(Default)]
pub(super) struct Report {
    pub(super) outcomes: Vec<Outcome>,
    pub(super) notes: Vec<String>,
    /// Failures that stopped a mode (the server would not start, no client binary, ...).
    pub(super) errors: Vec<String>,
}

impl Report {
    pub(super) fn print(&self) {
        println!("\n==================== MCP conformance results ====================");
        if !self.outcomes.is_empty() {
            println!(
                "\n{:<16} {:<7} {:<11} {:>6} {:>6} {:>7}",
                "suite", "mode", "wire", "passed", "failed", "skipped"
            );
        }
        for o in &self.outcomes {
            let count = |v: Verdict| {
                o.scenarios
                    .iter()
                    .filter(|s| s.verdict(o.kind) == v)
                    .count()
            };
            println!(
                "{:<16} {:<7} {:<11} {:>6} {:>6} {:>7}",
                o.version,
                o.kind.name(),
                o.mode,
                count(Verdict::Passed),
                count(Verdict::Failed),
                count(Verdict::Skipped),
            );
        }
        for o in &self.outcomes {
            let header = format!("{} {} mode, {} wire", o.version, o.kind.name(), o.mode);
            let failed: Vec<&ScenarioResult> = o
                .scenarios
                .iter()
                .filter(|s| s.verdict(o.kind) == Verdict::Failed)
                .collect();
            let skipped: Vec<&str> = o
                .scenarios
                .iter()
                .filter(|s| s.verdict(o.kind) == Verdict::Skipped)
                .map(|s| s.name.as_str())
                .collect();
            if !failed.is_empty() {
                println!("\n--- {header}: failing scenarios");
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
            if !skipped.is_empty() {
                println!("\n--- {header}: skipped (no SUCCESS and no FAILURE check)");
                println!("  {}", skipped.join(", "));
            }
            let warnings: Vec<(&str, &Check)> = o
                .scenarios
                .iter()
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
        for note in &self.notes {
            println!("\nnote: {note}");
        }
        for error in &self.errors {
            println!("\nERROR: {error}");
        }
    }

    pub(super) fn verdict(&self) -> Result {
        let failed: Vec<String> = self
            .outcomes
            .iter()
            .flat_map(|o| {
                o.scenarios
                    .iter()
                    .filter(|s| s.verdict(o.kind) == Verdict::Failed)
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

pub(super) fn one_line(text: &str) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 400 {
        format!("{}...", text.chars().take(400).collect::<String>())
    } else {
        text
    }
}

/// Removes ANSI colour escapes (`ESC [ ... m`).
pub(super) fn strip_ansi(text: &str) -> String {
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

pub(super) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("      | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------
// Processes with a time limit
