//! `oxmcp`: inspect, list, call and watch any MCP server, in either protocol era, over
//! stdio or Streamable HTTP. See `oxmcp --help`.

mod args;
mod cli;
mod commands;
mod connect;
mod dev;
mod error;
mod install;
mod interact;
mod jsonedit;
mod login;
mod record;
mod render;
mod scaffold;
mod serve;
mod target;

use std::process::ExitCode;

use crate::cli::{Command, LogFormat};
use crate::error::CliError;
use crate::render::Style;

fn main() -> ExitCode {
    // Arguments first: `--help` and `--version` start nothing.
    let cli = cli::parse();
    if let Err(e) = init_logs(cli.log_format, cli.command.logs_by_default()) {
        eprintln!("{} {e}", Style::stderr().red("error:"));
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("oxmcp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{} {e}", Style::stderr().red("error:"));
            ExitCode::from(e.code())
        }
    }
}

/// Logs on stderr (stdout is the command's output): off unless `RUST_LOG` or a log format
/// asks for them, or the command logs `by_default` (warnings and up); `--log-format`, else `OXMCP_LOG`, picks text or JSON; colour only at a
/// terminal without `NO_COLOR`.
fn init_logs(flag: Option<LogFormat>, by_default: bool) -> Result<(), String> {
    let format = match flag {
        Some(format) => Some(format),
        None => match std::env::var("OXMCP_LOG").ok().filter(|v| !v.is_empty()) {
            Some(value) => Some(
                <LogFormat as clap::ValueEnum>::from_str(&value, true)
                    .map_err(|_| format!("OXMCP_LOG=`{value}`: expected `text` or `json`"))?,
            ),
            None => None,
        },
    };
    if !by_default && format.is_none() && std::env::var_os("RUST_LOG").is_none() {
        return Ok(());
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if format == Some(LogFormat::Json) {
        logs.json().init();
    } else {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        logs.with_ansi(colour).init();
    }
    Ok(())
}

async fn run(command: Command) -> Result<u8, CliError> {
    match command {
        Command::Inspect(cli::InspectArgs { target, json }) => {
            commands::inspect(&target, json).await
        }
        Command::List(cli::ListArgs { kind, target, json }) => {
            commands::list(&target, kind, json).await
        }
        Command::Call(cli::CallArgs {
            tool,
            pairs,
            args_json,
            target,
            manner,
        }) => commands::call(&target, &tool, &pairs, args_json.as_deref(), manner).await,
        Command::Read(cli::ReadArgs {
            uri,
            target,
            manner,
        }) => commands::read(&target, &uri, manner).await,
        Command::Prompt(cli::PromptArgs {
            name,
            pairs,
            target,
            manner,
        }) => commands::prompt(&target, &name, &pairs, manner).await,
        Command::Complete(cli::CompleteArgs {
            prompt,
            template,
            argument,
            value,
            context,
            target,
            json,
        }) => {
            commands::complete(
                &target,
                prompt.as_deref(),
                template.as_deref(),
                &argument,
                &value,
                &context,
                json,
            )
            .await
        }
        Command::Ping(cli::PingArgs {
            count,
            target,
            json,
        }) => commands::ping(&target, count, json).await,
        Command::Listen(cli::ListenArgs {
            resources,
            count,
            target,
            json,
        }) => commands::listen(&target, &resources, count, json).await,
        Command::Dev(cli::DevArgs { port, open, target }) => dev::dev(&target, port, open).await,
        Command::Install(cli::InstallArgs {
            app,
            name,
            env,
            config_path,
            url,
            dry_run,
            force,
            command,
        }) => {
            let server = match url {
                Some(url) => install::Server::Http { url },
                None => install::Server::Stdio {
                    command,
                    env: env
                        .iter()
                        .map(|pair| {
                            args::split_pair(pair).map(|(k, v)| (k.to_owned(), v.to_owned()))
                        })
                        .collect::<Result<_, _>>()
                        .map_err(CliError::usage)?,
                },
            };
            install::install(app, &name, &server, config_path.as_deref(), dry_run, force)
        }
        Command::Record(cli::RecordArgs { out, command }) => record::record(&out, &command).await,
        Command::Replay(cli::ReplayArgs {
            file,
            timeout,
            json,
            command,
        }) => record::replay(&file, &command, timeout, json).await,
        Command::New(cli::NewArgs {
            name,
            http,
            oxmcp_path,
        }) => scaffold::new(&name, http, oxmcp_path.as_deref()),
        Command::Serve(cli::ServeCommand { args }) => serve::serve(&args).await,
        Command::Connect(cli::ConnectCommand { args }) => connect::connect(&args).await,
        Command::Completions(cli::CompletionsArgs { shell }) => {
            clap_complete::generate(shell, &mut cli::whole(), "oxmcp", &mut std::io::stdout());
            Ok(0)
        }
    }
}
