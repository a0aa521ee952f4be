//! Compile-fail tests: the mistakes a new user makes, and the errors they get. Each
//! `tests/ui/*.rs` is one mistake, `*_debug.rs` the same with `#[debug_handler]`; the
//! `.stderr` beside it is the error it must give.
//!
//! The dependencies are a new user's: oxmcp with its default features (no `http-server`)
//! and `macros`, and schemars 0.8 (the tests that mean schemars 1 use `oxmcp::schemars`).
//!
//! rustc words its errors a little differently from one release to the next, so the
//! snapshots hold for the toolchain they were made with: on another, the test says so and
//! checks nothing. To remake them after a toolchain bump, run
//! `TRYBUILD=overwrite cargo test -p oxmcp-macros --test compile_fail`, read the new
//! `.stderr` files, and change `SNAPSHOT_RUSTC`.

use std::process::Command;

/// The rustc release the `.stderr` snapshots were made with (`rustc --version`, up to the
/// patch number).
const SNAPSHOT_RUSTC: &str = "rustc 1.95.";

#[test]
fn compile_errors_teach() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if !version.starts_with(SNAPSHOT_RUSTC) {
        eprintln!(
            "compile_errors_teach skipped: the snapshots are of `{SNAPSHOT_RUSTC}*`, this \
             toolchain is `{}`",
            version.trim()
        );
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
