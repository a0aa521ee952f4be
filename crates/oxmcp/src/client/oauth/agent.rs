//! The user-agent step of the authorization code flow: open the authorization URL, await
//! the redirect back.

use std::future::Future;
use std::pin::Pin;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::error::{Error, Result};

/// A boxed future, for the object-safe [`UserAgent`].
pub type AgentFuture<'a> = Pin<Box<dyn Future<Output = Result<String>> + Send + 'a>>;

/// Takes the user to the authorization server and brings back the redirect.
pub trait UserAgent: Send + Sync + 'static {
    /// The redirect URI registered for this client.
    fn redirect_uri(&self) -> String;

    /// Opens `url` (the authorization request) and resolves to the full URL the
    /// authorization server redirected to (`redirect_uri` with `code`, `state`, `iss`
    /// or `error` in its query).
    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a>;
}

/// Opens the system browser and waits for the redirect on a loopback listener
/// (`http://127.0.0.1:<port>/callback`, RFC 8252 §7.3).
#[derive(Debug)]
pub struct LoopbackAgent {
    listener: TcpListener,
    port: u16,
    open_browser: bool,
}

impl LoopbackAgent {
    /// Listens on `127.0.0.1:port` (0: any free port).
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn bind(port: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            user_agent_error("could not listen for the redirect on 127.0.0.1").with_source(e)
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| user_agent_error("could not listen for the redirect").with_source(e))?
            .port();
        Ok(LoopbackAgent {
            listener,
            port,
            open_browser: true,
        })
    }

    /// Whether to launch the system browser (default `true`); when `false`, the URL is
    /// only logged (`tracing`, level info) for the user to open.
    #[must_use]
    pub fn open_browser(mut self, open: bool) -> Self {
        self.open_browser = open;
        self
    }

    async fn wait_redirect(&self) -> Result<String> {
        loop {
            let (stream, _) =
                self.listener.accept().await.map_err(|e| {
                    user_agent_error("waiting for the redirect failed").with_source(e)
                })?;
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(read.take(8192));
            if reader.read_line(&mut line).await.is_err() {
                continue;
            }
            // `GET /callback?code=..&state=.. HTTP/1.1`
            let target = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let is_callback = target.starts_with("/callback");
            let (status, body) = if is_callback {
                (
                    "200 OK",
                    "Authorization complete. You may close this window.",
                )
            } else {
                ("404 Not Found", "Not found.")
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = write.write_all(response.as_bytes()).await;
            let _ = write.shutdown().await;
            if is_callback {
                return Ok(format!("http://127.0.0.1:{}{target}", self.port));
            }
        }
    }
}

use tokio::io::AsyncReadExt as _;

impl UserAgent for LoopbackAgent {
    fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a> {
        Box::pin(async move {
            tracing::info!(%url, "open this URL to authorize");
            if self.open_browser {
                open_in_browser(url);
            }
            self.wait_redirect().await
        })
    }
}

/// Opens `url` in the system browser (`open`, `xdg-open` or the Windows URL handler),
/// detached; failures are only logged.
pub fn open_in_browser(url: &str) {
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("rundll32", vec!["url.dll,FileProtocolHandler", url])
    } else {
        ("xdg-open", vec![url])
    };
    let spawned = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        tracing::warn!(error = %e, program, "could not open a browser; open the URL yourself");
    }
}

/// For machines without a browser: writes the authorization URL to standard error and
/// reads the URL the browser was redirected to (pasted by the user) from standard input.
#[derive(Debug, Clone)]
pub struct HeadlessAgent {
    redirect_uri: String,
}

impl HeadlessAgent {
    /// With `redirect_uri` as the registered redirect URI (a page that shows its own URL,
    /// or a loopback address nothing listens on: the user copies the address bar).
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        HeadlessAgent {
            redirect_uri: redirect_uri.into(),
        }
    }
}

impl UserAgent for HeadlessAgent {
    fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }

    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a> {
        Box::pin(async move {
            let prompt = format!(
                "Open this URL to authorize:\n\n  {url}\n\nthen paste the URL you were redirected to: "
            );
            let mut stderr = tokio::io::stderr();
            let _ = stderr.write_all(prompt.as_bytes()).await;
            let _ = stderr.flush().await;
            let mut line = String::new();
            BufReader::new(tokio::io::stdin().take(16 * 1024))
                .read_line(&mut line)
                .await
                .map_err(|e| user_agent_error("could not read the redirect URL").with_source(e))?;
            let line = line.trim();
            if line.is_empty() {
                return Err(user_agent_error(
                    "no redirect URL was entered (expected the URL the browser was sent to)",
                ));
            }
            Ok(line.to_owned())
        })
    }
}

/// For authorization servers that approve without a user (a development server's
/// auto-approval such as `notes --builtin-as --auto-approve`, tests, CI): it requests the
/// authorization URL itself, without a browser and without following the redirect, and
/// returns where the server redirected to. A server that answers with a login page
/// instead gets an error that says so; use [`LoopbackAgent`] when a user signs in.
///
/// ```no_run
/// use oxmcp::client::oauth::{AutoApproveAgent, OAuth};
///
/// let agent = AutoApproveAgent::new("http://127.0.0.1:1/callback");
/// let oauth = OAuth::authorization_code(agent.clone());
/// // ... connect; then `agent.visits()` says how many authorizations there were.
/// # drop(oauth);
/// ```
#[derive(Debug, Clone)]
pub struct AutoApproveAgent {
    redirect_uri: String,
    visits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl AutoApproveAgent {
    /// With `redirect_uri` as the registered redirect URI (nothing needs to listen there).
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        AutoApproveAgent {
            redirect_uri: redirect_uri.into(),
            visits: std::sync::Arc::default(),
        }
    }

    /// How many authorization URLs this agent (and its clones) requested.
    pub fn visits(&self) -> usize {
        self.visits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl UserAgent for AutoApproveAgent {
    fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }

    fn authorize<'a>(&'a self, url: &'a str) -> AgentFuture<'a> {
        self.visits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            crate::transport::http::client::crypto_provider();
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| user_agent_error("could not build an HTTP client").with_source(e))?;
            let response = http.get(url).send().await.map_err(|e| {
                user_agent_error(format!("could not request the authorization URL {url}"))
                    .with_source(e)
            })?;
            let status = response.status();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            match location {
                Some(location) if status.is_redirection() => Ok(location.to_owned()),
                _ => Err(user_agent_error(format!(
                    "the authorization endpoint answered HTTP {status} without a redirect \
                     (expected an authorization server that approves at once; a login page \
                     needs a user: use LoopbackAgent)"
                ))),
            }
        })
    }
}

/// The user agent step failed ([`OAuthError::UserAgent`](crate::OAuthError::UserAgent)).
fn user_agent_error(message: impl Into<String>) -> Error {
    crate::OAuthError::UserAgent {
        message: message.into(),
    }
    .into()
}
