//! What the tests need installed, and where it lands: the Python SDK venvs, the npm
//! packages of the reference servers, the OpenAPI documents and the browser driver, and
//! the Debian packages (chromium, prometheus, postgresql). Each `ensure_*` installs only
//! what is missing, so a second run costs nothing.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{runs, step, Failure, Result};

/// The npm package of the reference server-everything, relative to the repository root.
pub(crate) const SERVER_EVERYTHING: &str = "interop/server-everything";

/// The npm package of the real-world OpenAPI documents the OpenAPI import is tested on,
/// relative to the repository root.
pub(crate) const OPENAPI_DOCUMENTS: &str = "interop/openapi";

/// The npm package of playwright-core, which drives the dev console in chromium for the
/// CLI's browser test, relative to the repository root.
pub(crate) const BROWSER_DRIVER: &str = "interop/browser";

/// Debian's chromium, the browser of the CLI's browser test.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// The pip requirements of the interop venv, relative to the repository root.
pub(crate) const REQUIREMENTS: &str = "interop/python/requirements.txt";

/// The Python SDK 1.x (its WebSocket transport), in a venv of its own.
pub(crate) const REQUIREMENTS_V1: &str = "interop/python-v1/requirements.txt";

/// Where the venv of the Python SDK 1.x goes, relative to the repository root.
pub(crate) const VENV_V1: &str = "target/interop/venv-v1";

/// Points the Rust interop test at the venvs' Pythons and the scripts.
pub(crate) fn with_interop_env<'a>(
    command: &'a mut Command,
    root: &Path,
    python: &Path,
) -> &'a mut Command {
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
pub(crate) fn ensure_browser(root: &Path) -> Result {
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
pub(crate) fn server_filesystem_entry(root: &Path) -> PathBuf {
    root.join(SERVER_EVERYTHING)
        .join("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
}

/// Where `npm ci` in `interop/openapi` puts GitHub's REST API description.
pub(crate) fn github_openapi(root: &Path) -> PathBuf {
    root.join(OPENAPI_DOCUMENTS)
        .join("node_modules/@octokit/openapi/generated/api.github.com.json")
}

/// Installs `@octokit/openapi` (pinned in `interop/openapi/package-lock.json`) unless it
/// is there: the OpenAPI import's tests turn GitHub's REST description into tools.
pub(crate) fn ensure_openapi_documents(root: &Path) -> Result {
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
pub(crate) fn server_everything_entry(root: &Path) -> PathBuf {
    root.join(SERVER_EVERYTHING)
        .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// Installs the reference `@modelcontextprotocol/server-everything` and `server-filesystem`
/// (pinned in `interop/server-everything/package-lock.json`) unless they are there; the
/// CLI's and the hub example's tests run them.
pub(crate) fn ensure_server_everything(root: &Path) -> Result {
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

/// Whether `python -m venv` can make a venv (with pip) here.
pub(crate) fn venv_works(python: &Path) -> bool {
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
pub(crate) fn apt_update_once() -> Result {
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
pub(crate) fn ensure_prometheus() -> Result {
    let present = |tool: &str| runs(Command::new(tool).arg("--version"));
    if present("promtool") && present("prometheus") {
        return Ok(());
    }
    apt_install(&["prometheus"])
}

/// Installs Debian packages with apt-get (CI machines run as root).
pub(crate) fn apt_install(packages: &[&str]) -> Result {
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
pub(crate) fn ensure_postgresql() -> Result {
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
pub(crate) fn install_python_venv() -> Result {
    apt_install(&["python3", "python3-venv"])
}

/// Makes sure `target/interop/venv` exists with the pinned requirements; returns its python.
pub(crate) fn ensure_venv(root: &Path) -> Result<PathBuf> {
    ensure_venv_at(root, REQUIREMENTS, "target/interop/venv")
}

/// The venv of the Python SDK 1.x (`target/interop/venv-v1`, `interop/python-v1`): its
/// python.
pub(crate) fn ensure_venv_v1(root: &Path) -> Result<PathBuf> {
    ensure_venv_at(root, REQUIREMENTS_V1, VENV_V1)
}

/// A venv at `venv` (relative to the root) with the pins of `requirements` installed.
pub(crate) fn ensure_venv_at(root: &Path, requirements_path: &str, venv: &str) -> Result<PathBuf> {
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
pub(crate) fn pinned(requirements: &Path) -> Result<Vec<(String, String)>> {
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
pub(crate) fn venv_python(venv: &Path) -> PathBuf {
    venv.join(if cfg!(windows) {
        "Scripts/python.exe"
    } else {
        "bin/python"
    })
}

/// Whether the venv's python has exactly the pinned versions.
pub(crate) fn installed(python: &Path, pins: &[(String, String)]) -> bool {
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
