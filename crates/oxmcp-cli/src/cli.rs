//! The command line: every command, its arguments and its help.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::target::Target;

/// Inspect, call and watch any MCP server, in either protocol era, over stdio or
/// Streamable HTTP.
#[derive(Debug, Parser)]
#[command(
    name = "oxmcp",
    version,
    about,
    after_help = "\
A server is named the same way for every command:
  --url URL                      a Streamable HTTP endpoint
  --config FILE --server NAME    an entry of an mcpServers JSON file (Claude Desktop, Cursor, VS Code)
  -- CMD ARGS...                 a stdio server to start, at the end of the line

Examples:
  oxmcp inspect -- python server.py
  oxmcp list tools --url http://127.0.0.1:3000/mcp
  oxmcp call add a=1 b=2 -- ./my-server
  oxmcp read file:///notes.txt --config ~/.cursor/mcp.json --server notes

Exit status: 0 on success, 1 when the server could not be reached or answered with an
error, 2 on a usage error (bad arguments), 3 when a tool reported an error (isError)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// How diagnostics are logged on stderr when `RUST_LOG` (or this flag) turns them on:
    /// `text`, or `json` for one JSON object per line [env: OXMCP_LOG].
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// This process's command line, parsed; exits with clap's message (and status) on `--help`,
/// `--version` or a usage error.
///
/// Only the invoked command's arguments are built (see [`commands!`]). A message that lists
/// the commands (help, a missing or mistyped command) needs every command's summary, so
/// every error but `--version` is made again from the whole tree: the same message as if
/// everything had been built up front.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    let error = match command.try_get_matches_from_mut(args.iter()) {
        Ok(mut matches) => match Cli::from_arg_matches_mut(&mut matches) {
            Ok(cli) => return cli,
            Err(e) => e.format(&mut command),
        },
        Err(e) => e,
    };
    if error.kind() != clap::error::ErrorKind::DisplayVersion {
        if let Err(e) = whole().try_get_matches_from(args.iter()) {
            e.exit()
        }
    }
    error.exit()
}

/// The whole command line, every command's arguments built: for help, error messages and
/// completion scripts.
pub fn whole() -> clap::Command {
    Command::built_in_full(Cli::command())
}

/// How the command's own diagnostics (`tracing`) are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured only at a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The commands: for each, its name, its variant of [`Command`] and the struct of its
/// arguments (whose doc comment is its help).
///
/// A command's arguments are built only when it is the one invoked (clap's
/// [`clap::Command::defer`]): building the arguments of every command at each start was
/// half the instructions `oxmcp call` spent of its own (issue 16). Help and error messages
/// that list the commands are made from the whole tree (see [`parse`]).
macro_rules! commands {
    ($($name:literal => $variant:ident($args:ident),)*) => {
        /// The commands.
        #[derive(Debug)]
        pub enum Command {
            $(
                #[doc = concat!("`oxmcp ", $name, "`: see [`", stringify!($args), "`].")]
                $variant($args),
            )*
        }

        impl clap::FromArgMatches for Command {
            fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
                Self::from_arg_matches_mut(&mut matches.clone())
            }

            fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
                match matches.remove_subcommand() {
                    $(Some((name, mut sub)) if name == $name => {
                        $args::from_arg_matches_mut(&mut sub).map(Command::$variant)
                    })*
                    Some((name, _)) => Err(clap::Error::raw(
                        clap::error::ErrorKind::InvalidSubcommand,
                        format!("the subcommand '{name}' wasn't recognized"),
                    )),
                    None => Err(clap::Error::raw(
                        clap::error::ErrorKind::MissingSubcommand,
                        "a subcommand is required but one was not provided",
                    )),
                }
            }

            fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
                *self = Self::from_arg_matches(matches)?;
                Ok(())
            }
        }

        impl Command {
            /// `command` (the top level) with every command's arguments built now rather
            /// than when it is invoked: the tree help, error messages and completion
            /// scripts are made from.
            fn built_in_full(command: clap::Command) -> clap::Command {
                command$(.mut_subcommand($name, |stub| {
                    // In place (its place in the help kept); the deferred step left a no-op.
                    $args::augment_args(stub).defer(std::convert::identity)
                }))*
            }
        }

        impl Subcommand for Command {
            fn augment_subcommands(command: clap::Command) -> clap::Command {
                command$(.subcommand(clap::Command::new($name).defer($args::augment_args)))*
            }

            fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
                Self::augment_subcommands(command)
            }

            fn has_subcommand(name: &str) -> bool {
                matches!(name, $($name)|*)
            }
        }
    };
}

commands! {
    "inspect" => Inspect(InspectArgs),
    "list" => List(ListArgs),
    "call" => Call(CallArgs),
    "read" => Read(ReadArgs),
    "prompt" => Prompt(PromptArgs),
    "complete" => Complete(CompleteArgs),
    "ping" => Ping(PingArgs),
    "listen" => Listen(ListenArgs),
    "dev" => Dev(DevArgs),
    "install" => Install(InstallArgs),
    "record" => Record(RecordArgs),
    "replay" => Replay(ReplayArgs),
    "new" => New(NewArgs),
    "serve" => Serve(ServeCommand),
    "connect" => Connect(ConnectCommand),
    "completions" => Completions(CompletionsArgs),
}

/// Show everything about a server: info, era, capabilities, tools, resources, prompts.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  oxmcp inspect -- npx -y @modelcontextprotocol/server-everything
  oxmcp inspect --url http://127.0.0.1:3000/mcp --json")]
pub struct InspectArgs {
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    pub json: bool,
}

/// List the server's tools, resources, resource templates or prompts (every page).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  oxmcp list tools -- ./my-server
  oxmcp list resources --url http://127.0.0.1:3000/mcp --json")]
pub struct ListArgs {
    /// What to list.
    #[arg(value_enum)]
    pub kind: ListKind,
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Call a tool; `key=value` arguments are typed by the tool's input schema.
#[derive(Debug, Args)]
#[command(
    after_help = "Arguments: `a=1` is the number 1 when the schema says integer or \
number, the string \"1\" when it says string; arrays and objects are given as JSON \
(`tags=[\"x\",\"y\"]`). `--args` gives them all as one JSON object; `key=value` pairs override it.

Examples:
  oxmcp call add a=1 b=2 -- ./my-server
  oxmcp call search --args '{\"query\": \"rust\", \"limit\": 5}' --url http://127.0.0.1:3000/mcp
  oxmcp call greet name=Ada --json -- python server.py"
)]
pub struct CallArgs {
    /// The tool's name.
    pub tool: String,
    /// Arguments, as `key=value`.
    #[arg(value_name = "KEY=VALUE")]
    pub pairs: Vec<String>,
    /// All arguments as one JSON object.
    #[arg(long = "args", value_name = "JSON")]
    pub args_json: Option<String>,
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Output and questions.
    #[command(flatten)]
    pub manner: Manner,
}

/// Read a resource.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  oxmcp read file:///notes.txt -- ./my-server
  oxmcp read test://static-text --url http://127.0.0.1:3000/mcp --json")]
pub struct ReadArgs {
    /// The resource's URI.
    pub uri: String,
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Output and questions.
    #[command(flatten)]
    pub manner: Manner,
}

/// Get a prompt, with `key=value` arguments.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  oxmcp prompt review language=rust -- ./my-server
  oxmcp prompt greeting --json --url http://127.0.0.1:3000/mcp")]
pub struct PromptArgs {
    /// The prompt's name.
    pub name: String,
    /// Arguments, as `key=value` (prompt arguments are strings).
    #[arg(value_name = "KEY=VALUE")]
    pub pairs: Vec<String>,
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Output and questions.
    #[command(flatten)]
    pub manner: Manner,
}

/// Ask for completions of a prompt's or resource template's argument.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  oxmcp complete --prompt review language ru -- ./my-server
  oxmcp complete --template 'file:///{path}' path src/ --url http://127.0.0.1:3000/mcp
  oxmcp complete --prompt review style t --context language=rust -- ./my-server")]
pub struct CompleteArgs {
    /// The prompt whose argument to complete.
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "template",
        conflicts_with = "template"
    )]
    pub prompt: Option<String>,
    /// The resource template (its URI template) whose variable to complete.
    #[arg(long, value_name = "URI")]
    pub template: Option<String>,
    /// The argument's name.
    pub argument: String,
    /// The value typed so far.
    #[arg(default_value = "")]
    pub value: String,
    /// Arguments already resolved, as `key=value`.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Check the server answers, and show round-trip times.
#[derive(Debug, Args)]
#[command(
    after_help = "Legacy servers are sent `ping`; modern ones (2026-07-28 has no \
ping) `server/discover`.

Examples:
  oxmcp ping -- ./my-server
  oxmcp ping --count 10 --url http://127.0.0.1:3000/mcp"
)]
pub struct PingArgs {
    /// How many round trips.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Print the times as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Print the server's notifications as they come (list changes, resource updates, logs).
#[derive(Debug, Args)]
#[command(
    after_help = "With a modern server this opens a `subscriptions/listen` stream; \
with a legacy one it prints what the session receives (and subscribes to each --resource). \
It runs until interrupted, the server ends, or --count notifications were printed.

Examples:
  oxmcp listen -- ./my-server
  oxmcp listen --resource file:///notes.txt --url http://127.0.0.1:3000/mcp --json"
)]
pub struct ListenArgs {
    /// Also subscribe to updates of this resource (repeatable).
    #[arg(long = "resource", value_name = "URI")]
    pub resources: Vec<String>,
    /// Stop after this many notifications.
    #[arg(long)]
    pub count: Option<u64>,
    /// The server.
    #[command(flatten)]
    pub target: Target,
    /// Print each notification as a line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Open the dev console: a local web page with the message log and the server's tools.
#[derive(Debug, Args)]
#[command(
    after_help = "The console listens on 127.0.0.1 (a random port unless --port) and prints its \
URL, which carries an unguessable token: other local pages cannot drive it. It runs until \
interrupted.

Examples:
  oxmcp dev -- ./my-server
  oxmcp dev --port 7000 --open --url http://127.0.0.1:3000/mcp"
)]
pub struct DevArgs {
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Open the page in the browser.
    #[arg(long)]
    pub open: bool,
    /// The server.
    #[command(flatten)]
    pub target: Target,
}

/// Add a server to an app's MCP config (Claude Desktop, Claude Code, Cursor, VS Code,
/// Gemini CLI, a project's .mcp.json).
#[derive(Debug, Args)]
#[command(
    after_help = "The file is the app's default on this platform unless --config-path \
says otherwise. Every other entry and every byte outside the new one stay as they were; the \
file is replaced atomically and the old one kept as FILE.bak. An entry of the same name is \
replaced only with --force.

Examples:
  oxmcp install claude-desktop notes -- npx -y my-notes-server
  oxmcp install cursor weather --env API_KEY=xyz -- /usr/local/bin/weather-mcp
  oxmcp install vscode remote --url https://example.com/mcp --dry-run
  oxmcp install mcp-json tools --config-path ./.mcp.json -- cargo run -q -p my-server"
)]
pub struct InstallArgs {
    /// Which app's config to write.
    #[arg(value_enum)]
    pub app: crate::install::App,
    /// The entry's name.
    pub name: String,
    /// An environment variable for a stdio server, as `KEY=VALUE` (repeatable).
    #[arg(long = "env", value_name = "K=V", conflicts_with = "url")]
    pub env: Vec<String>,
    /// The config file to write instead of the app's default.
    #[arg(long, value_name = "FILE")]
    pub config_path: Option<std::path::PathBuf>,
    /// A Streamable HTTP server's URL.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "command",
        required_unless_present = "command"
    )]
    pub url: Option<String>,
    /// Print the change instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace an entry of the same name.
    #[arg(long)]
    pub force: bool,
    /// A stdio server's command and arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Sit between an app and a stdio server, passing every byte through, and write each
/// frame with its time and direction to a JSON-lines file.
#[derive(Debug, Args)]
#[command(
    after_help = "Put it in the app's config in place of the server's command.

Examples:
  oxmcp record --out session.jsonl -- python server.py
  (in an app's config: \"command\": \"oxmcp\", \"args\": [\"record\", \"--out\", \"/tmp/s.jsonl\", \"--\", \"python\", \"server.py\"])"
)]
pub struct RecordArgs {
    /// The recording to write (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub out: std::path::PathBuf,
    /// The stdio server's command and arguments, after `--`.
    #[arg(last = true, value_name = "CMD", required = true)]
    pub command: Vec<String>,
}

/// Send a recording's client frames to a server again and report where its answers
/// differ (ids and times aside): a regression test for servers.
#[derive(Debug, Args)]
#[command(after_help = "Exit status 1 when an answer differs.

Examples:
  oxmcp replay session.jsonl -- python server.py
  oxmcp replay session.jsonl --json -- ./target/debug/my-server")]
pub struct ReplayArgs {
    /// A recording made by `oxmcp record`.
    pub file: std::path::PathBuf,
    /// How long to wait for each answer.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The stdio server's command and arguments, after `--`.
    #[arg(last = true, value_name = "CMD", required = true)]
    pub command: Vec<String>,
}

/// Create a new MCP server project: a tool, a resource, a prompt, a test and a README.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  oxmcp new my-server && cd my-server && cargo test
  oxmcp new my-web-server --http
  oxmcp new my-server --oxmcp-path ~/src/oxmcp    (against a local checkout, offline)")]
pub struct NewArgs {
    /// The project's (and folder's) name.
    pub name: String,
    /// Serve Streamable HTTP instead of stdio.
    #[arg(long)]
    pub http: bool,
    /// Depend on the oxmcp checkout in DIR instead of crates.io.
    #[arg(long, value_name = "DIR")]
    pub oxmcp_path: Option<std::path::PathBuf>,
}

/// Serve a stdio server (or a whole mcpServers config, as one hub) over HTTP, or
/// over stdio.
#[derive(Debug, Args)]
#[command(
    after_help = "With --http ADDR the same listener serves Streamable HTTP at /mcp, \
HTTP+SSE at /sse and /messages, and WebSocket at /ws, in both protocol eras; where it \
listens is said on stderr. It serves until SIGTERM or Ctrl-C (requests in flight are \
answered first); status 1 when the server exits.

Examples:
  oxmcp serve --http 127.0.0.1:8080 -- python server.py
  oxmcp serve --http 0.0.0.0:8080 --api-keys keys.json -- npx -y @modelcontextprotocol/server-everything
  oxmcp serve --http 127.0.0.1:8080 --issuer https://auth.example.com --config mcp.json
  oxmcp serve --config ~/.cursor/mcp.json        (every server of the file as one, on stdio)"
)]
pub struct ServeCommand {
    /// What to serve, and how.
    #[command(flatten)]
    pub args: crate::serve::ServeArgs,
}

/// Be a stdio server that forwards to a remote one (for apps that only start local
/// processes), signing in with OAuth when it asks.
#[derive(Debug, Args)]
#[command(
    after_help = "Put it in the app's config in place of a server's command. The \
tokens of a login are cached per server (in oxmcp/tokens.json under your cache directory, or \
the file $OXMCP_TOKEN_STORE names) and refreshed.

Examples:
  oxmcp connect https://example.com/mcp
  oxmcp connect https://example.com/mcp --header 'X-Api-Key: xyz'
  (in an app's config: \"command\": \"oxmcp\", \"args\": [\"connect\", \"https://example.com/mcp\"])"
)]
pub struct ConnectCommand {
    /// The remote and how to reach it.
    #[command(flatten)]
    pub args: crate::connect::ConnectArgs,
}

/// Print a shell completion script.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  oxmcp completions bash > ~/.local/share/bash-completion/completions/oxmcp
  oxmcp completions zsh > ~/.zfunc/_oxmcp
  oxmcp completions fish > ~/.config/fish/completions/oxmcp.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl Command {
    /// Whether the command logs warnings on stderr without `RUST_LOG`: the bridges, which
    /// run unattended.
    pub fn logs_by_default(&self) -> bool {
        matches!(self, Command::Serve(_) | Command::Connect(_))
    }
}

/// How a command that may be asked questions prints and answers.
#[derive(Debug, Clone, Copy, Args)]
pub struct Manner {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Refuse the server's elicitation and sampling requests instead of asking.
    #[arg(long)]
    pub non_interactive: bool,
}

/// What `oxmcp list` lists.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListKind {
    /// Tools.
    Tools,
    /// Resources.
    Resources,
    /// Resource templates.
    Templates,
    /// Prompts.
    Prompts,
}

/// Parses a duration: `30` (seconds), `30s`, `500ms`, `2m`; `0` waits forever.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * scale < 1e9 => {
            Ok(Duration::from_secs_f64(n * scale))
        }
        _ => Err(format!(
            "expected a duration such as 30, 30s, 500ms or 2m, got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        whole().debug_assert();
    }

    #[test]
    fn only_the_invoked_command_is_built() {
        let mut command = Cli::command();
        command
            .try_get_matches_from_mut(["oxmcp", "call", "echo", "text=hi", "--", "server"])
            .expect("a valid command line");
        // A command is built when it has arguments of its own (global ones are propagated
        // to every command; `help` is clap's).
        let built: Vec<&str> = command
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .filter(|c| c.get_arguments().any(|a| !a.is_global_set()))
            .map(|c| c.get_name())
            .collect();
        assert_eq!(built, ["call"]);
        // The whole tree, for help and completions, has every command's arguments.
        let targets = whole()
            .get_subcommands()
            .filter(|c| c.get_arguments().any(|a| a.get_id() == "url"))
            .count();
        assert_eq!(targets, 11, "commands with --url after build()");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        let err = parse_duration("soon").unwrap_err();
        assert!(err.contains("expected a duration"), "{err}");
        assert!(parse_duration("-1").is_err());
    }
}
