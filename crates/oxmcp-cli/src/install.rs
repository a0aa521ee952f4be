//! `oxmcp install`: adds a server to an app's MCP config file, in that app's format, at
//! its platform default path; atomically, with a backup, keeping every other byte.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde_json::{json, Map, Value};

use crate::error::CliError;
use crate::jsonedit::{self, Change};

/// The apps `oxmcp install` writes configs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum App {
    /// Claude Desktop (`claude_desktop_config.json`, stdio servers).
    ClaudeDesktop,
    /// Claude Code, user scope (`~/.claude.json`).
    ClaudeCode,
    /// Cursor (`~/.cursor/mcp.json`).
    Cursor,
    /// VS Code, user profile (`mcp.json` in the user settings folder, key `servers`).
    Vscode,
    /// Gemini CLI (`~/.gemini/settings.json`).
    GeminiCli,
    /// A project's `.mcp.json` in the current folder.
    McpJson,
}

/// The server to install.
#[derive(Debug, Clone, PartialEq)]
pub enum Server {
    /// A command run over stdio.
    Stdio {
        /// Program and arguments.
        command: Vec<String>,
        /// Environment variables.
        env: Vec<(String, String)>,
    },
    /// A Streamable HTTP endpoint.
    Http {
        /// The URL.
        url: String,
    },
}

impl App {
    /// The key of the servers object in this app's file.
    fn section(self) -> &'static str {
        match self {
            App::Vscode => "servers",
            _ => "mcpServers",
        }
    }

    /// The app's config file on this platform.
    pub fn default_path(self) -> Result<PathBuf, CliError> {
        let home = || {
            std::env::var_os("HOME")
                .or_else(|| std::env::var_os("USERPROFILE"))
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| {
                    CliError::usage("no home folder (HOME is not set); give --config-path FILE")
                })
        };
        // Where desktop apps keep their settings: ~/Library/Application Support on macOS,
        // %APPDATA% on Windows, $XDG_CONFIG_HOME or ~/.config elsewhere.
        let app_config = || -> Result<PathBuf, CliError> {
            if cfg!(target_os = "macos") {
                return Ok(home()?.join("Library/Application Support"));
            }
            if cfg!(windows) {
                if let Some(appdata) = std::env::var_os("APPDATA") {
                    return Ok(PathBuf::from(appdata));
                }
            }
            match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
                Some(dir) => Ok(PathBuf::from(dir)),
                None => Ok(home()?.join(".config")),
            }
        };
        Ok(match self {
            App::ClaudeDesktop => app_config()?.join("Claude/claude_desktop_config.json"),
            App::ClaudeCode => home()?.join(".claude.json"),
            App::Cursor => home()?.join(".cursor/mcp.json"),
            App::Vscode => app_config()?.join("Code/User/mcp.json"),
            App::GeminiCli => home()?.join(".gemini/settings.json"),
            App::McpJson => PathBuf::from(".mcp.json"),
        })
    }

    /// The entry for `server` in this app's format, its members in the order people
    /// write them.
    pub fn entry(self, server: &Server) -> Result<Vec<(&'static str, Value)>, CliError> {
        let typed = matches!(self, App::ClaudeCode | App::Vscode | App::McpJson);
        match server {
            Server::Stdio { command, env } => {
                let (program, args) = command
                    .split_first()
                    .ok_or_else(|| CliError::usage("no command after --"))?;
                let mut entry = Vec::new();
                if typed {
                    entry.push(("type", json!("stdio")));
                }
                entry.push(("command", json!(program)));
                entry.push(("args", json!(args)));
                if !env.is_empty() {
                    let env: Map<String, Value> =
                        env.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                    entry.push(("env", Value::Object(env)));
                }
                Ok(entry)
            }
            Server::Http { url } => match self {
                App::ClaudeDesktop => Err(CliError::usage(
                    "Claude Desktop's config file takes stdio servers only; add a remote \
                     server in its Settings (Connectors), or install a stdio bridge with -- CMD",
                )),
                App::GeminiCli => Ok(vec![("httpUrl", json!(url))]),
                App::Cursor => Ok(vec![("url", json!(url))]),
                _ => Ok(vec![("type", json!("http")), ("url", json!(url))]),
            },
        }
    }
}

/// An entry as pretty JSON, two-space indents, its members in order.
fn entry_text(entry: &[(&str, Value)]) -> String {
    let members: Vec<String> = entry
        .iter()
        .map(|(key, value)| {
            let value = serde_json::to_string_pretty(value).unwrap_or_default();
            format!("  {}: {}", json!(key), value.replace('\n', "\n  "))
        })
        .collect();
    format!("{{\n{}\n}}", members.join(",\n"))
}

/// `oxmcp install`.
pub fn install(
    app: App,
    name: &str,
    server: &Server,
    config_path: Option<&Path>,
    dry_run: bool,
    force: bool,
) -> Result<u8, CliError> {
    let path = match config_path {
        Some(path) => path.to_owned(),
        None => app.default_path()?,
    };
    let entry = entry_text(&app.entry(server)?);
    let before = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(CliError::failure(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let (after, change) = jsonedit::upsert(
        before.as_deref().unwrap_or(""),
        app.section(),
        name,
        &entry,
        force,
    )
    .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    if dry_run {
        println!("{} (dry run: nothing written)", path.display());
        if let Change::Replaced(old) = &change {
            for line in old.lines() {
                println!("- {line}");
            }
        }
        println!("+ \"{name}\": {}", entry.lines().next().unwrap_or(""));
        for line in entry.lines().skip(1) {
            println!("+ {line}");
        }
        return Ok(0);
    }
    let backup = before
        .as_ref()
        .map(|text| write_backup(&path, text))
        .transpose()?;
    write_atomically(&path, &after)?;
    let verb = match change {
        Change::Added => "added",
        Change::Replaced(_) => "replaced",
    };
    eprintln!(
        "{verb} {name:?} in {}{}",
        path.display(),
        backup
            .map(|b| format!(" (backup: {})", b.display()))
            .unwrap_or_default()
    );
    Ok(0)
}

/// Keeps the file's current text beside it as `FILE.bak`.
fn write_backup(path: &Path, text: &str) -> Result<PathBuf, CliError> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".bak");
    let backup = path.with_file_name(name);
    std::fs::write(&backup, text).map_err(|e| {
        CliError::failure(format!("cannot write the backup {}: {e}", backup.display()))
    })?;
    Ok(backup)
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`: readers see
/// the old file or the new one, never half of one. Keeps the file's permissions.
fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let fail = |what: &str, e: std::io::Error| {
        CliError::failure(format!("cannot {what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail("create the folder of", e))?;
    }
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".oxmcp-{}.tmp", std::process::id()));
    let temp = path.with_file_name(name);
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(fail("write", e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_app_s_entry_format() {
        let stdio = Server::Stdio {
            command: vec!["srv".into(), "--x".into()],
            env: vec![("K".into(), "v".into())],
        };
        assert_eq!(
            entry_text(&App::Cursor.entry(&stdio).unwrap()),
            "{\n  \"command\": \"srv\",\n  \"args\": [\n    \"--x\"\n  ],\n  \"env\": {\n    \"K\": \"v\"\n  }\n}"
        );
        let object = |app: App, server: &Server| -> Value {
            serde_json::from_str(&entry_text(&app.entry(server).unwrap())).unwrap()
        };
        assert_eq!(
            object(App::Vscode, &stdio),
            json!({"type": "stdio", "command": "srv", "args": ["--x"], "env": {"K": "v"}})
        );
        let http = Server::Http {
            url: "https://x/mcp".into(),
        };
        assert_eq!(
            object(App::GeminiCli, &http),
            json!({"httpUrl": "https://x/mcp"})
        );
        assert_eq!(
            object(App::ClaudeCode, &http),
            json!({"type": "http", "url": "https://x/mcp"})
        );
        let err = App::ClaudeDesktop.entry(&http).unwrap_err();
        assert!(err.to_string().contains("stdio servers only"), "{err}");
        assert_eq!(App::Vscode.section(), "servers");
    }
}
