//! `oxmcp new`: the generated projects (stdio and HTTP) pass their own `cargo test`,
//! offline, against this checkout.

mod support;

use std::process::Command;

use support::{temp_dir, OXMCP};

#[test]
fn generated_projects_pass_their_tests_offline() {
    let dir = temp_dir("new");
    let checkout = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    // One target folder for both projects and for every run: dependencies build once.
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("scaffold");
    for (name, flags) in [("stdio-server", &[][..]), ("web-server", &["--http"][..])] {
        let made = Command::new(OXMCP)
            .current_dir(&dir)
            .args(["new", name, "--oxmcp-path", checkout])
            .args(flags)
            .output()
            .unwrap();
        assert!(made.status.success(), "{name}: {made:?}");
        let project = dir.join(name);
        for file in [
            "Cargo.toml",
            "src/main.rs",
            "src/lib.rs",
            "tests/server.rs",
            "README.md",
        ] {
            assert!(project.join(file).is_file(), "{name}: {file}");
        }
        let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
        assert!(
            readme.contains("cargo test") && readme.contains("oxmcp inspect"),
            "{readme}"
        );
        let test = Command::new(env!("CARGO"))
            .current_dir(&project)
            .args(["test", "--offline", "-q"])
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            test.status.success(),
            "{name}: cargo test failed:\n{}\n{}",
            String::from_utf8_lossy(&test.stdout),
            String::from_utf8_lossy(&test.stderr)
        );
    }
    let again = Command::new(OXMCP)
        .current_dir(&dir)
        .args(["new", "stdio-server"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_names_and_paths_are_refused() {
    let dir = temp_dir("new-bad");
    for (args, expected) in [
        (vec!["new", "9lives"], "expected a package name"),
        (vec!["new", "a/b"], "expected a package name"),
        (
            vec!["new", "ok", "--oxmcp-path", "/"],
            "expected an oxmcp checkout",
        ),
    ] {
        let out = Command::new(OXMCP)
            .current_dir(&dir)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "{args:?}: {out:?}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
