//! The dev console in a real browser: `tests/browser/console.mjs` drives `oxmcp dev`
//! against `examples/everything` in Debian's chromium with playwright-core (set up by
//! `cargo xtask ci` / `cargo xtask interop`: `OXMCP_PLAYWRIGHT_DIR`, `OXMCP_CHROMIUM`).
//! Screenshots go to `target/artifacts/`.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{dev_console, everything, finish, target_dir};

#[test]
fn the_console_works_in_a_headless_browser() {
    let Ok(playwright) = std::env::var("OXMCP_PLAYWRIGHT_DIR") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "OXMCP_PLAYWRIGHT_DIR must be set in CI (run `cargo xtask interop`)"
        );
        eprintln!("skipped: OXMCP_PLAYWRIGHT_DIR not set (run `cargo xtask interop`)");
        return;
    };
    let (mut console, url) = dev_console(&["--".into(), everything().display().to_string()]);
    let artifacts = target_dir().join("artifacts");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console.mjs");
    let node = std::env::var("OXMCP_NODE").unwrap_or_else(|_| "node".into());
    let driver = Command::new(node)
        .arg(script)
        .arg(url.trim())
        .arg(&artifacts)
        .env("OXMCP_PLAYWRIGHT_DIR", playwright)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let run = finish(driver, Duration::from_secs(90));
    let _ = console.kill();
    let _ = console.wait();
    assert_eq!(run.code, Some(0), "the browser test failed: {run:#?}");
    for shot in [
        "console-tool-call.png",
        "console-elicitation.png",
        "console-log.png",
    ] {
        assert!(artifacts.join(shot).is_file(), "no screenshot {shot}");
    }
}
