//! `oxmcp install` per app on temporary config files (existing files with other servers
//! kept byte-for-byte outside the new entry, backups, --force, --dry-run, default paths),
//! and `oxmcp completions`.

mod support;

use serde_json::Value;
use support::{oxmcp, temp_dir};

/// A config someone wrote by hand: odd spacing, key order, other servers and settings.
const EXISTING: &str = r#"{
  "zeta": true,
    "mcpServers" : {
        "other": { "command": "/bin/other", "args": ["a"] },
        "remote": {"url": "https://example.com/mcp"}
    },
  "alpha": [1, 2,3]
}
"#;

/// How many bytes `before` and `after` share at their start and at their end.
fn shared(before: &str, after: &str) -> usize {
    let prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    prefix + suffix
}

#[test]
fn each_app_gets_its_own_format_and_other_entries_stay_byte_for_byte() {
    let dir = temp_dir("install");
    // Claude Code, VS Code and .mcp.json say the transport's type; the others do not.
    for (app, section, typed) in [
        ("claude-desktop", "mcpServers", false),
        ("claude-code", "mcpServers", true),
        ("cursor", "mcpServers", false),
        ("vscode", "servers", true),
        ("gemini-cli", "mcpServers", false),
        ("mcp-json", "mcpServers", true),
    ] {
        let mut expected =
            serde_json::json!({"command": "srv", "args": ["--stdio"], "env": {"KEY": "v=1"}});
        if typed {
            expected["type"] = "stdio".into();
        }
        let file = dir.join(format!("{app}.json"));
        let before = EXISTING.replace("mcpServers", section);
        std::fs::write(&file, &before).unwrap();
        let path = file.display().to_string();
        let line = [
            "install",
            app,
            "mine",
            "--env",
            "KEY=v=1",
            "--config-path",
            &path,
            "--",
            "srv",
            "--stdio",
        ];
        let run = oxmcp(line);
        assert!(run.ok().is_empty(), "{app}: {run:?}");
        assert!(run.stderr.contains("added \"mine\""), "{app}: {run:?}");
        let after = std::fs::read_to_string(&file).unwrap();
        let parsed: Value =
            serde_json::from_str(&after).unwrap_or_else(|e| panic!("{app}: {e}\n{after}"));
        assert_eq!(parsed[section]["mine"], expected, "{app}: {after}");
        assert_eq!(parsed[section]["other"]["command"], "/bin/other", "{app}");
        // Only bytes were added: the old text is a prefix and a suffix of the new one.
        assert!(shared(&before, &after) >= before.len(), "{app}: {after}");
        assert_eq!(
            std::fs::read_to_string(dir.join(format!("{app}.json.bak"))).unwrap(),
            before,
            "{app}: the backup is the old file"
        );

        // A second install of the same name is refused, the file untouched.
        let again = oxmcp(line);
        assert_eq!(again.code, Some(2), "{app}: {again:?}");
        assert!(
            again.stderr.contains("already there; --force replaces it"),
            "{again:?}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn force_replaces_dry_run_writes_nothing_and_urls_follow_each_app() {
    let dir = temp_dir("install-force");
    let file = dir.join("mcp.json");
    std::fs::write(&file, EXISTING).unwrap();
    let path = file.display().to_string();

    let replace = |extra: &[&str]| {
        let mut line = vec![
            "install",
            "cursor",
            "other",
            "--url",
            "http://127.0.0.1:3000/mcp",
        ];
        line.extend(["--config-path", &path, "--force"]);
        line.extend(extra);
        oxmcp(line)
    };
    let run = replace(&["--dry-run"]);
    assert!(run.ok().contains("(dry run: nothing written)"), "{run:?}");
    assert!(
        run.stdout
            .contains("- { \"command\": \"/bin/other\", \"args\": [\"a\"] }"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("+   \"url\": \"http://127.0.0.1:3000/mcp\""),
        "{run:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), EXISTING);
    assert!(!dir.join("mcp.json.bak").exists());

    let run = replace(&[]);
    assert!(run.stderr.contains("replaced \"other\""), "{run:?}");
    let after = std::fs::read_to_string(&file).unwrap();
    let parsed: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        parsed["mcpServers"]["other"],
        serde_json::json!({"url": "http://127.0.0.1:3000/mcp"})
    );
    assert_eq!(
        parsed["mcpServers"]["remote"]["url"],
        "https://example.com/mcp"
    );
    // Everything but the replaced value is as it was.
    let old = r#"{ "command": "/bin/other", "args": ["a"] }"#;
    assert!(
        shared(EXISTING, &after) >= EXISTING.len() - old.len(),
        "{after}"
    );

    for (app, key) in [
        ("gemini-cli", "httpUrl"),
        ("vscode", "url"),
        ("claude-code", "url"),
    ] {
        let file = dir.join(format!("{app}-http.json"));
        let path = file.display().to_string();
        oxmcp([
            "install",
            app,
            "web",
            "--url",
            "https://x.example/mcp",
            "--config-path",
            &path,
        ])
        .ok();
        let parsed: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let section = if app == "vscode" {
            "servers"
        } else {
            "mcpServers"
        };
        assert_eq!(
            parsed[section]["web"][key], "https://x.example/mcp",
            "{app}: {parsed}"
        );
    }
    let run = oxmcp([
        "install",
        "claude-desktop",
        "web",
        "--url",
        "https://x.example/mcp",
        "--config-path",
        &path,
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("stdio servers only"), "{run:?}");

    // A file that is not JSON is refused, not overwritten.
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"mcpServers\": {").unwrap();
    let run = oxmcp([
        "install",
        "cursor",
        "x",
        "--config-path",
        &broken.display().to_string(),
        "--",
        "srv",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("not valid JSON at line 1"), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "{\"mcpServers\": {"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn default_paths_follow_the_platform() {
    let home = temp_dir("install-home");
    let run_in_home = |app: &str| {
        let out = std::process::Command::new(support::OXMCP)
            .args(["install", app, "n", "--dry-run", "--", "srv"])
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("APPDATA")
            .output()
            .unwrap();
        assert!(out.status.success(), "{app}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let h = home.display().to_string();
    assert!(run_in_home("cursor").starts_with(&format!("{h}/.cursor/mcp.json")));
    assert!(run_in_home("claude-code").starts_with(&format!("{h}/.claude.json")));
    assert!(run_in_home("gemini-cli").starts_with(&format!("{h}/.gemini/settings.json")));
    assert!(run_in_home("mcp-json").starts_with(".mcp.json"));
    if cfg!(target_os = "linux") {
        assert!(run_in_home("claude-desktop")
            .starts_with(&format!("{h}/.config/Claude/claude_desktop_config.json")));
        assert!(run_in_home("vscode").starts_with(&format!("{h}/.config/Code/User/mcp.json")));
    }
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_oxmcp()"),
        ("zsh", "#compdef oxmcp"),
        ("fish", "complete -c oxmcp"),
    ] {
        let script = oxmcp(["completions", shell]);
        assert!(script.ok().contains(marker), "{shell}: {script:?}");
        assert!(
            script.stdout.contains("inspect") && script.stdout.contains("install"),
            "{shell}"
        );
    }
}
