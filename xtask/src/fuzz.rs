//! `cargo xtask fuzz [--time SECS] [TARGET]`: the `cargo fuzz` targets under `fuzz/`.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{root, step, Failure, Result};

/// The usage line of `fuzz`.
pub(crate) const USAGE: &str = "  \
fuzz      [--time SECS] [TARGET]: run each fuzz target under fuzz/ (or TARGET) for SECS
            seconds (default 180) with cargo-fuzz on the nightly toolchain (both installed
            if missing; skipped with the reason when that is impossible), growing the corpus
            in fuzz/corpus/<target>/ and then minimising it (`cargo fuzz cmin`). A finding
            fails the run; its input is in fuzz/artifacts/<target>/. `ci` runs each target
            for 20 s";

/// How long each target runs by default.
const DEFAULT_SECS: u64 = 180;

pub(crate) fn fuzz(args: &[&str]) -> Result {
    let mut secs = DEFAULT_SECS;
    let mut only = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--time" => {
                secs = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Failure("--time wants a number of seconds".into()))?;
            }
            target if !target.starts_with('-') && only.is_none() => only = Some(target),
            other => return Err(Failure(format!("fuzz: unknown argument {other:?}"))),
        }
    }
    run(secs, only, true)
}

/// Runs the targets (`only`: one of them) for `secs` each; `minimise`: `cmin` the corpus
/// afterwards.
pub(crate) fn run(secs: u64, only: Option<&str>, minimise: bool) -> Result {
    let dir = root().join("fuzz");
    if let Err(reason) = tools() {
        eprintln!("xtask fuzz: skipped: {reason}");
        return Ok(());
    }
    let targets = targets(&dir)?;
    let chosen: Vec<&String> = match only {
        Some(name) => {
            let found = targets
                .iter()
                .filter(|t| t.as_str() == name)
                .collect::<Vec<_>>();
            if found.is_empty() {
                return Err(Failure(format!(
                    "fuzz: no target {name:?}; the targets: {}",
                    targets.join(", ")
                )));
            }
            found
        }
        None => targets.iter().collect(),
    };
    for target in chosen {
        let corpus = format!("corpus/{target}");
        std::fs::create_dir_all(dir.join(&corpus))
            .map_err(|e| Failure(format!("fuzz: creating {corpus}: {e}")))?;
        // libFuzzer writes what it finds into the first corpus directory: the repository's
        // own when the corpus is grown (and minimised after), else a scratch directory
        // under target/, with the repository's corpus read as seeds only.
        let mut corpora = Vec::new();
        if !minimise {
            let scratch = crate::target_dir(&crate::root())
                .join("fuzz-scratch")
                .join(target);
            std::fs::create_dir_all(&scratch)
                .map_err(|e| Failure(format!("fuzz: creating {}: {e}", scratch.display())))?;
            corpora.push(scratch.display().to_string());
        }
        corpora.push(corpus.clone());
        step(
            &format!("fuzz {target} for {secs} s"),
            nightly(&dir)
                .args(["fuzz", "run", "-s", "none", target])
                .args(&corpora)
                .arg("--")
                .args([
                    format!("-max_total_time={secs}"),
                    // Any input that takes seconds is a finding (the decoders are linear).
                    "-timeout=10".to_owned(),
                    "-rss_limit_mb=2048".to_owned(),
                    "-print_final_stats=1".to_owned(),
                ]),
        )?;
        if minimise {
            step(
                &format!("fuzz cmin {target}"),
                nightly(&dir).args(["fuzz", "cmin", "-s", "none", target, &corpus]),
            )?;
        }
    }
    Ok(())
}

/// `cargo` of the nightly toolchain, in `dir`.
fn nightly(dir: &Path) -> Command {
    let mut command = Command::new("rustup");
    command.args(["run", "nightly", "cargo"]).current_dir(dir);
    command
}

/// Makes sure the nightly toolchain and cargo-fuzz are there; `Err` says why they cannot be.
fn tools() -> std::result::Result<(), String> {
    let quiet = crate::runs;
    if !quiet(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])) {
        eprintln!("xtask fuzz: installing the nightly toolchain");
        let installed = Command::new("rustup")
            .args(["toolchain", "install", "nightly", "--profile", "minimal"])
            .stdin(Stdio::null())
            .status();
        match installed {
            Ok(s) if s.success() => {}
            Ok(s) => return Err(format!("`rustup toolchain install nightly` failed ({s})")),
            Err(e) => return Err(format!("no rustup to install the nightly toolchain: {e}")),
        }
    }
    if !quiet(Command::new("rustup").args(["run", "nightly", "cargo", "fuzz", "--version"])) {
        eprintln!("xtask fuzz: installing cargo-fuzz");
        let installed = Command::new("rustup")
            .args([
                "run",
                "nightly",
                "cargo",
                "install",
                "cargo-fuzz",
                "--locked",
            ])
            .stdin(Stdio::null())
            .status();
        if !installed.is_ok_and(|s| s.success()) {
            return Err("`cargo install cargo-fuzz` failed".into());
        }
    }
    Ok(())
}

/// The targets, as `cargo fuzz list` names them.
fn targets(dir: &Path) -> Result<Vec<String>> {
    let output = nightly(dir)
        .args(["fuzz", "list"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure(format!("fuzz: cannot run `cargo fuzz list`: {e}")))?;
    if !output.status.success() {
        return Err(Failure(format!(
            "fuzz: `cargo fuzz list` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
