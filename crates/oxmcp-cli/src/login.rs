//! Signing in to servers that ask for OAuth: the user agent (the system browser with a
//! loopback redirect, or the URL printed with `--no-browser`) and the token cache.
//!
//! Tokens and client registrations are kept per server URL in one JSON file, readable by
//! its owner only: `$OXMCP_TOKEN_STORE` if set, else `oxmcp/tokens.json` under the user's
//! cache directory (`$XDG_CACHE_HOME` or `~/.cache`, `~/Library/Caches` on macOS,
//! `%LOCALAPPDATA%` on Windows).

use std::io::IsTerminal as _;
use std::path::PathBuf;

use oxmcp::client::oauth::{
    AgentFuture, FileStore, HeadlessAgent, LoopbackAgent, MemoryStore, OAuth, UserAgent,
};

use crate::error::CliError;

/// The environment variable that names the token file.
pub const TOKEN_STORE_ENV: &str = "OXMCP_TOKEN_STORE";

/// How to sign in when a server asks for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Login {
    /// Print the authorization URL instead of opening the browser.
    pub no_browser: bool,
    /// Stdin carries the protocol (`oxmcp connect`): never offer to paste the redirect
    /// URL there, even on a terminal (a prompt left reading stdin would take the first
    /// message).
    pub stdin_is_protocol: bool,
}

impl Login {
    /// The OAuth configuration for one connection: the authorization code flow through
    /// [`CliAgent`], tokens in the file store.
    pub async fn oauth(self) -> Result<OAuth, CliError> {
        let loopback = LoopbackAgent::bind(0)
            .await
            .map_err(|e| CliError::from(e).context("preparing the OAuth login"))?
            .open_browser(!self.no_browser);
        let oauth = OAuth::authorization_code(CliAgent {
            loopback,
            no_browser: self.no_browser,
            paste: self.no_browser && !self.stdin_is_protocol,
        })
        .client_name("oxmcp");
        Ok(match token_store_path() {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    create_private_dir(dir).map_err(|e| {
                        CliError::usage(format!(
                            "cannot create the token cache directory {}: {e} (set {TOKEN_STORE_ENV} \
                             to a writable file)",
                            dir.display()
                        ))
                    })?;
                }
                oauth.store(FileStore::new(path))
            }
            None => oauth.store(MemoryStore::new()),
        })
    }
}

/// The token file: `$OXMCP_TOKEN_STORE`, else `oxmcp/tokens.json` in the user's cache
/// directory; `None` when there is no home to put it in.
pub fn token_store_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(TOKEN_STORE_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    cache_dir().map(|dir| dir.join("oxmcp").join("tokens.json"))
}

fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        return var("LOCALAPPDATA");
    }
    if cfg!(target_os = "macos") {
        return var("HOME").map(|home| home.join("Library").join("Caches"));
    }
    var("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|home| home.join(".cache")))
}

/// Creates `dir` (and its parents); a directory created here is its owner's only (0700).
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The CLI's user agent: the redirect comes back to a loopback listener. It opens the
/// system browser, or with `--no-browser` prints the URL on stderr; on a terminal the
/// user may also paste the URL the browser was sent to (a browser on another machine),
/// unless stdin carries the protocol.
pub struct CliAgent {
    loopback: LoopbackAgent,
    no_browser: bool,
    /// Whether a URL pasted on a terminal is taken too.
    paste: bool,
}

impl UserAgent for CliAgent {
    fn redirect_uri(&self) -> String {
        self.loopback.redirect_uri()
    }

    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a> {
        Box::pin(async move {
            if self.paste && std::io::stdin().is_terminal() {
                // Whichever comes first: the redirect on loopback, or a pasted URL.
                let paste = HeadlessAgent::new(self.redirect_uri());
                return tokio::select! {
                    redirect = self.loopback.authorize(url) => redirect,
                    pasted = paste.authorize(url) => pasted,
                };
            }
            if self.no_browser {
                eprintln!("oxmcp: the server asks you to sign in; open this URL:\n\n  {url}\n");
            } else {
                eprintln!(
                    "oxmcp: the server asks you to sign in; opening your browser (if it does \
                     not open, visit this URL):\n\n  {url}\n"
                );
            }
            self.loopback.authorize(url).await
        })
    }
}
