//! Installing Node 22 and the suites, and listing their scenarios.

use super::*;

/// The major version printed by `<node> --version`, if it runs.
pub(super) fn node_major(node: &Path) -> Option<u32> {
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
pub(super) fn ensure_node(cache: &Path) -> Result<PathBuf> {
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
pub(super) fn npm_install(prefix: &Path, package: &str) -> Result {
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
pub(super) fn ensure_suite(cache: &Path, version: &str) -> Result<PathBuf> {
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
pub(super) struct Scenario {
    pub(super) name: String,
    pub(super) tags: Vec<String>,
}

impl Scenario {
    pub(super) fn extension(&self) -> bool {
        self.tags.iter().any(|t| t == "extension")
    }

    /// Applies at a dated legacy revision (anything up to 2025-11-25).
    pub(super) fn legacy(&self) -> bool {
        self.tags
            .iter()
            .any(|t| t.starts_with("2024-") || t.starts_with("2025-"))
    }

    /// Applies at 2025-03-26 and at no later revision (the back-compat scenarios).
    pub(super) fn only_2025_03_26(&self) -> bool {
        self.tags.iter().any(|t| t == "2025-03-26")
            && !self
                .tags
                .iter()
                .any(|t| t.as_str() > "2025-03-26" && t.as_str() != "extension")
    }

    /// Applies at the 2026 revision.
    pub(super) fn modern(&self) -> bool {
        self.tags.iter().any(|t| t == "2026-07-28" || t == "draft")
    }
}

pub(super) struct Catalogue {
    pub(super) server: Vec<Scenario>,
    pub(super) client: Vec<Scenario>,
    /// Scenarios against an authorization server (none in older suites).
    pub(super) authorization: Vec<Scenario>,
}

/// Runs `conformance list` and parses its `  - name [tag,tag]` lines by section.
pub(super) fn list_scenarios(node: &Path, script: &Path, version: &str) -> Result<Catalogue> {
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
        authorization: Vec::new(),
    };
    let mut section = None;
    for line in out.stdout.lines() {
        if line.starts_with("Server scenarios") {
            section = Some(Kind::Server);
        } else if line.starts_with("Client scenarios") {
            section = Some(Kind::Client);
        } else if line.starts_with("Authorization server scenarios") {
            section = Some(Kind::Authorization);
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
                Some(Kind::Authorization) => catalogue.authorization.push(scenario),
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
