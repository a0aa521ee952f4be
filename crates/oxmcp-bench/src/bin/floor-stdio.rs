//! `floor-stdio`: the no-SDK stdio MCP server that marks the practical speed limit.
//!
//! Reads newline-delimited JSON-RPC from stdin and answers on stdout until
//! stdin closes; see [`oxmcp_bench::floor`] for what it answers.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("floor-stdio: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> io::Result<()> {
    // Plain files on duplicated descriptors: std's stdin and stdout add their own
    // buffering (and line buffering on stdout), the floor does its own.
    let input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    oxmcp_bench::floor::serve(input, output)
}
