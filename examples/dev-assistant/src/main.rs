//! `dev-assistant`: the course's capstone (chapter 22). A development workspace as tools:
//! its files, code search, git, and allow-listed commands.
//!
//! ```text
//! dev-assistant --root DIR [--allow CMD]... [--command-timeout SECS] [--max-output BYTES]
//!               [--max-file-size BYTES]
//!               [--http ADDR --issuer ISS [--jwks PATH_OR_URL] [--audience AUD]]
//! ```
//!
//! Tools: `read_file {path}`, `list_directory {path}`, `search_code {pattern, path?, glob?,
//! case_insensitive?, max_matches?}` (ripgrep's crates: `.gitignore` respected, binary files
//! skipped), `git_status`, `git_diff {path?, staged?}`, `git_log {max_count?}` (gitoxide, no
//! `git` binary; the root must be the repository's top), and `run_command {command, args?,
//! cwd?}` for the programs `--allow` names: no shell, the directory below the root, a
//! timeout that kills the command's process group, output capped per stream, an environment
//! reduced to `PATH`, `HOME`, `LANG`, `LC_ALL` and `TERM`.
//!
//! Paths are relative to the root; the filesystem example's checks refuse absolute paths,
//! `..`, backslashes, percent-encoding and links that lead outside.
//!
//! Over HTTP (`http://ADDR/mcp`) every request needs a JWT access token from `--issuer`
//! (keys from `--jwks`, a file or URL, else discovered from the issuer; audience
//! `http://ADDR/mcp` unless `--audience`) with the scope `dev:read`, and `dev:run` for
//! `run_command`; each request is logged (method, tool,
//! caller, duration, outcome) under the target `dev_assistant::requests`.

mod command;
mod files;
mod git;
mod log;
// The filesystem example's path checks, shared as source: that example is a program, not
// a library.
#[allow(dead_code)]
#[path = "../../filesystem/src/paths.rs"]
mod paths;
mod search;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use oxmcp::server::auth::{Cached, Jwks, JwtVerifier, ProtectedResource, ScopePolicy};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::{tool, Router, State, ToolError};

use paths::Root;

/// The workspace and its limits, shared by every tool.
pub struct Workspace {
    root: Root,
    /// The programs `run_command` may run.
    allow: Vec<String>,
    command_timeout: Duration,
    /// The most bytes of output a tool returns (per stream for commands).
    max_output: usize,
    /// The largest file `read_file` returns.
    max_file: u64,
}

type St = State<Arc<Workspace>>;

fn execution(message: String) -> ToolError {
    ToolError::execution(message)
}

/// The command line.
struct Options {
    root: PathBuf,
    allow: Vec<String>,
    command_timeout: u64,
    max_output: usize,
    max_file: u64,
    http: Option<String>,
    issuer: Option<String>,
    jwks: Option<String>,
    audience: Option<String>,
}

const USAGE: &str = "usage: dev-assistant --root DIR [--allow CMD]... [--command-timeout SECS] \
[--max-output BYTES] [--max-file-size BYTES] [--http ADDR --issuer ISS [--jwks PATH_OR_URL] [--audience AUD]]";

fn options() -> Result<Options, String> {
    let mut root = None;
    let mut options = Options {
        root: PathBuf::new(),
        allow: Vec::new(),
        command_timeout: 30,
        max_output: 64 << 10,
        max_file: 1 << 20,
        http: None,
        issuer: None,
        jwks: None,
        audience: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {v:?}"))
        };
        match flag.as_str() {
            "--root" => root = Some(PathBuf::from(value)),
            "--allow" => options.allow.push(value),
            "--command-timeout" => options.command_timeout = number(&value)?.max(1),
            "--max-output" => options.max_output = number(&value)? as usize,
            "--max-file-size" => options.max_file = number(&value)?,
            "--http" => options.http = Some(value),
            "--issuer" => options.issuer = Some(value),
            "--jwks" => options.jwks = Some(value),
            "--audience" => options.audience = Some(value),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    options.root = root.ok_or_else(|| format!("--root is required\n{USAGE}"))?;
    if options.http.is_none() && (options.issuer.is_some() || options.jwks.is_some()) {
        return Err(format!("--issuer and --jwks are for --http\n{USAGE}"));
    }
    Ok(options)
}

/// The scopes over HTTP: `dev:read` for the tools that only look, `dev:run` (which
/// implies it) for `run_command`.
const SCOPES: [&str; 2] = ["dev:read", "dev:run"];

fn router(workspace: Arc<Workspace>) -> Router {
    Router::new()
        .name("dev-assistant")
        .scope_policy(
            ScopePolicy::new()
                .default_scopes(["dev:read"])
                .implies("dev:run", ["dev:read"]),
        )
        .version(env!("CARGO_PKG_VERSION"))
        .instructions(
            "A development workspace: read and search its files, look at its git state, run \
             the allowed commands. Paths are relative to the workspace root, with `/`.",
        )
        .layer(log::RequestLog)
        .tool(
            "read_file",
            tool(files::read_file)
                .description("Reads a text file of the workspace")
                .read_only(),
        )
        .tool(
            "list_directory",
            tool(files::list_directory)
                .description("Lists a directory of the workspace (directories end in `/`, links in `@`)")
                .read_only(),
        )
        .tool(
            "search_code",
            tool(search::search_code)
                .description(
                    "Searches the workspace's files for a regex, as ripgrep does (.gitignore respected); \
                     one `path:line: text` per match",
                )
                .read_only(),
        )
        .tool(
            "git_status",
            tool(git::git_status)
                .description("The workspace's git status: staged, unstaged and untracked files")
                .read_only(),
        )
        .tool(
            "git_diff",
            tool(git::git_diff)
                .description("A unified diff of the unstaged changes (or the staged ones with staged: true)")
                .read_only(),
        )
        .tool(
            "git_log",
            tool(git::git_log)
                .description("The latest commits of HEAD, newest first: id, date, author, summary")
                .read_only(),
        )
        .tool(
            "run_command",
            tool(command::run_command)
                .description(
                    "Runs an allowed program (no shell) in a directory of the workspace, with a timeout; \
                     returns its exit code, stdout and stderr (capped)",
                )
                .scopes(["dev:run"]),
        )
        .with_state(workspace)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,dev_assistant::requests=info".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dev-assistant: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let options = options()?;
    let root = Root::new(&options.root, None)
        .map_err(|e| format!("--root {}: {e}", options.root.display()))?;
    let workspace = Arc::new(Workspace {
        root,
        allow: options.allow,
        command_timeout: Duration::from_secs(options.command_timeout),
        max_output: options.max_output,
        max_file: options.max_file,
    });
    let router = router(workspace);
    let Some(addr) = options.http else {
        return router.serve_stdio().await.map_err(|e| e.to_string());
    };
    // A server that runs commands is never served over HTTP without authentication.
    let issuer = options.issuer.ok_or_else(|| {
        format!("--http needs --issuer ISS (and --jwks PATH_OR_URL unless the issuer publishes its keys)\n{USAGE}")
    })?;
    let resource = format!("http://{addr}/mcp");
    let keys = match &options.jwks {
        Some(source) => Jwks::from_path_or_url(source).map_err(|e| format!("--jwks: {e}"))?,
        None => Jwks::discover(&issuer),
    };
    let audience = options.audience.unwrap_or_else(|| resource.clone());
    let verifier = Cached::new(JwtVerifier::new(keys, &issuer).audience(audience));
    let protected = ProtectedResource::new(&resource, verifier)
        .authorization_server(issuer)
        .scopes_supported(SCOPES);
    router
        .http(addr)
        .config(HttpConfig::new().auth(protected))
        .await
        .map_err(|e| e.to_string())
}
