//! Which server a command talks to, and connecting to it.
//!
//! A target is `--url URL`, `-- CMD ARGS…` or `--config FILE --server NAME`; [`Target::resolve`]
//! turns it into an [`Endpoint`], and [`Endpoint::connect`] into a [`Client`]. An HTTP
//! endpoint is connected through [`Endpoint::http_config`], the one place where
//! per-server HTTP settings (headers, and the OAuth login of a server that asks for one,
//! see [`crate::login`]) are applied.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use oxmcp::client::oauth::OAuth;
use oxmcp::client::{Client, ClientBuilder, EraChoice, HttpClientConfig};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::transport::stdio::{ChildCommand, StderrMode};
use serde_json::Value;

use crate::error::CliError;
use crate::login::Login;

/// The server a command talks to.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The server's Streamable HTTP endpoint.
    #[arg(long, value_name = "URL", conflicts_with_all = ["config", "command"], help_heading = "Server")]
    pub url: Option<String>,
    /// A JSON file with an `mcpServers` (or VS Code `servers`) object; pick the entry with --server.
    #[arg(
        long,
        value_name = "FILE",
        requires = "server",
        conflicts_with = "command",
        help_heading = "Server"
    )]
    pub config: Option<PathBuf>,
    /// The entry of --config to use.
    #[arg(
        long,
        value_name = "NAME",
        requires = "config",
        help_heading = "Server"
    )]
    pub server: Option<String>,
    /// Which protocol era to speak: auto (probe, then fall back), modern, legacy, or a
    /// legacy revision such as 2025-03-26.
    #[arg(long, value_name = "ERA", default_value = "auto", value_parser = parse_era, help_heading = "Server")]
    pub era: EraChoice,
    /// An HTTP header sent with every request, as `Name: value` (repeatable).
    #[arg(long = "header", value_name = "K:V", value_parser = parse_header, help_heading = "Server")]
    pub headers: Vec<(String, String)>,
    /// How long to wait for an answer when nothing arrives (progress resets it): 30, 30s,
    /// 500ms, 2m; 0 waits forever.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::cli::parse_duration, help_heading = "Server")]
    pub timeout: Duration,
    /// When an HTTP server asks you to sign in (OAuth), print the URL to open instead of
    /// opening the browser.
    #[arg(long, help_heading = "Server")]
    pub no_browser: bool,
    /// The stdio server to start: its command and arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// A server, resolved from a [`Target`].
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// A child process spoken to over stdio.
    Stdio {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
        /// Environment variables set for it.
        env: BTreeMap<String, String>,
    },
    /// A Streamable HTTP endpoint.
    Http {
        /// The URL.
        url: String,
        /// Headers sent with every request.
        headers: Vec<(String, String)>,
    },
}

impl Target {
    /// The server this target names.
    pub fn resolve(&self) -> Result<Endpoint, CliError> {
        if let Some(url) = &self.url {
            return Ok(Endpoint::Http {
                url: url.clone(),
                headers: self.headers.clone(),
            });
        }
        if let (Some(file), Some(name)) = (&self.config, &self.server) {
            let mut endpoint = from_config_file(file, name)?;
            if let Endpoint::Http { headers, .. } = &mut endpoint {
                headers.extend(self.headers.iter().cloned());
            }
            return Ok(endpoint);
        }
        match self.command.split_first() {
            Some((program, args)) => Ok(Endpoint::Stdio {
                program: program.clone(),
                args: args.to_vec(),
                env: BTreeMap::new(),
            }),
            None => Err(CliError::usage(
                "no server given: add --url URL, --config FILE --server NAME, or -- CMD ARGS... \
                 at the end of the line",
            )),
        }
    }

    /// The client's settings for this target: era and timeouts.
    pub fn builder(&self) -> ClientBuilder {
        let timeout = (!self.timeout.is_zero()).then_some(self.timeout);
        let mut builder = oxmcp::client::Client::builder()
            .name("oxmcp-cli")
            .version(env!("CARGO_PKG_VERSION"))
            .era(self.era)
            .request_timeout(timeout);
        if let Some(timeout) = timeout {
            builder = builder.probe_timeout(timeout.min(Duration::from_secs(5)));
        }
        builder
    }

    /// How to sign in when an HTTP server asks for OAuth.
    pub fn login(&self) -> Login {
        Login {
            no_browser: self.no_browser,
            stdin_is_protocol: false,
        }
    }
}

impl Endpoint {
    /// Connects with `builder`'s settings; an HTTP server that asks for OAuth gets the
    /// `login` (unless the user gave an `Authorization` header).
    pub async fn connect(&self, builder: ClientBuilder, login: Login) -> Result<Client, CliError> {
        match self {
            Endpoint::Stdio { program, args, env } => {
                let mut command = ChildCommand::new(program)
                    .args(args)
                    .stderr(StderrMode::Capture)
                    .shutdown_grace(Duration::from_secs(2));
                for (key, value) in env {
                    command = command.env(key, value);
                }
                builder.connect_stdio(command).await.map_err(|e| {
                    CliError::from(e).context(format!("starting and connecting to {program:?}"))
                })
            }
            Endpoint::Http { url, .. } => {
                let oauth = match self.has_authorization() {
                    true => None,
                    false => Some(login.oauth().await?),
                };
                builder
                    .connect_http_with(self.http_config(oauth))
                    .await
                    .map_err(|e| CliError::from(e).context(format!("connecting to {url}")))
            }
        }
    }

    /// Whether the user gave this HTTP endpoint its own `Authorization` header.
    fn has_authorization(&self) -> bool {
        matches!(self, Endpoint::Http { headers, .. }
            if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")))
    }

    /// The HTTP settings of an HTTP endpoint: its URL, headers, and the OAuth login used
    /// when the server answers 401.
    ///
    /// # Panics
    /// On a stdio endpoint.
    pub fn http_config(&self, oauth: Option<OAuth>) -> HttpClientConfig {
        let Endpoint::Http { url, headers } = self else {
            panic!("http_config of a stdio endpoint")
        };
        let config = headers
            .iter()
            .fold(HttpClientConfig::new(url), |c, (k, v)| {
                c.header(k.clone(), v.clone())
            });
        match oauth {
            Some(oauth) => config.oauth(oauth),
            None => config,
        }
    }
}

/// `--era`: auto, modern, legacy, or a legacy revision.
pub(crate) fn parse_era(text: &str) -> Result<EraChoice, String> {
    match text {
        "auto" => Ok(EraChoice::Auto),
        "modern" => Ok(EraChoice::Modern),
        "legacy" => Ok(EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY)),
        other => match ProtocolVersion::parse(other) {
            Some(v) if v.is_legacy() => Ok(EraChoice::Legacy(v)),
            Some(_) => Ok(EraChoice::Modern),
            None => Err(format!(
                "expected auto, modern, legacy or a protocol revision such as 2025-06-18, got {other:?}"
            )),
        },
    }
}

/// `--header`: `Name: value` or `Name:value`.
pub(crate) fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "expected a header as NAME:VALUE (such as \"Authorization: Bearer xyz\"), got {text:?}"
        )),
    }
}

/// The entry `name` of an `mcpServers` JSON file.
fn from_config_file(file: &std::path::Path, name: &str) -> Result<Endpoint, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "{} is not JSON (expected an object with \"mcpServers\"): {e}",
            file.display()
        ))
    })?;
    from_config(&config, name).map_err(|e| CliError::usage(format!("{}: {e}", file.display())))
}

/// The entry `name` of a parsed config: `mcpServers` (Claude Desktop, Cursor, Gemini CLI,
/// `.mcp.json`) or `servers` (VS Code).
pub fn from_config(config: &Value, name: &str) -> Result<Endpoint, String> {
    let servers = ["mcpServers", "servers"]
        .iter()
        .find_map(|key| config.get(key).and_then(Value::as_object))
        .ok_or("expected an object with an \"mcpServers\" (or \"servers\") object")?;
    let Some(entry) = servers.get(name) else {
        let mut names: Vec<&str> = servers.keys().map(String::as_str).collect();
        names.sort_unstable();
        return Err(format!(
            "no server named {name:?}; the file has: {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ));
    };
    let strings = |key: &str| -> Result<Vec<(String, String)>, String> {
        match entry.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(format!(
                        "server {name:?}: {key}.{k} must be a string, got {other}"
                    )),
                })
                .collect(),
            Some(other) => Err(format!(
                "server {name:?}: {key} must be an object of strings, got {other}"
            )),
        }
    };
    let url = ["url", "httpUrl", "serverUrl"]
        .iter()
        .find_map(|key| entry.get(key).and_then(Value::as_str));
    if let Some(url) = url {
        return Ok(Endpoint::Http {
            url: url.to_owned(),
            headers: strings("headers")?,
        });
    }
    let program = entry
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("server {name:?} has neither a \"command\" nor a \"url\""))?;
    let args = match entry.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| match a {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "server {name:?}: args must be strings, got {other}"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "server {name:?}: args must be an array of strings, got {other}"
            ))
        }
    };
    Ok(Endpoint::Stdio {
        program: program.to_owned(),
        args,
        env: strings("env")?.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_entries_of_every_shape() {
        let config = json!({"mcpServers": {
            "files": {"command": "npx", "args": ["-y", "fs"], "env": {"ROOT": "/tmp"}},
            "remote": {"url": "https://example.com/mcp", "headers": {"X-Key": "k"}},
            "gemini": {"httpUrl": "http://127.0.0.1:9/mcp"}
        }});
        assert_eq!(
            from_config(&config, "files").unwrap(),
            Endpoint::Stdio {
                program: "npx".into(),
                args: vec!["-y".into(), "fs".into()],
                env: [("ROOT".to_owned(), "/tmp".to_owned())].into(),
            }
        );
        assert_eq!(
            from_config(&config, "remote").unwrap(),
            Endpoint::Http {
                url: "https://example.com/mcp".into(),
                headers: vec![("X-Key".into(), "k".into())],
            }
        );
        assert!(matches!(
            from_config(&config, "gemini").unwrap(),
            Endpoint::Http { .. }
        ));
        let vscode = json!({"servers": {"a": {"type": "stdio", "command": "srv"}}});
        assert!(matches!(
            from_config(&vscode, "a").unwrap(),
            Endpoint::Stdio { .. }
        ));
    }

    #[test]
    fn config_errors_say_what_was_expected() {
        let config = json!({"mcpServers": {"b": {"command": "x"}, "a": {"args": []}}});
        let err = from_config(&config, "zzz").unwrap_err();
        assert!(
            err.contains("no server named \"zzz\"; the file has: a, b"),
            "{err}"
        );
        let err = from_config(&config, "a").unwrap_err();
        assert!(err.contains("neither a \"command\" nor a \"url\""), "{err}");
        let err = from_config(&json!({"other": {}}), "a").unwrap_err();
        assert!(err.contains("\"mcpServers\""), "{err}");
        let bad_env = json!({"mcpServers": {"a": {"command": "x", "env": {"N": 1}}}});
        let err = from_config(&bad_env, "a").unwrap_err();
        assert!(err.contains("env.N must be a string"), "{err}");
    }

    #[test]
    fn eras_and_headers() {
        assert_eq!(parse_era("auto").unwrap(), EraChoice::Auto);
        assert_eq!(
            parse_era("2025-03-26").unwrap(),
            EraChoice::Legacy(ProtocolVersion::V2025_03_26)
        );
        assert!(parse_era("old").unwrap_err().contains("expected auto"));
        assert_eq!(
            parse_header("Authorization: Bearer x").unwrap(),
            ("Authorization".into(), "Bearer x".into())
        );
        assert!(parse_header("nocolon").is_err());
    }
}
