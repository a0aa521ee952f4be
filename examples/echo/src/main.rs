//! `echo`: an ordinary oxmcp server with one tool, `echo(text) -> text`, over stdio, or over
//! Streamable HTTP at `http://ADDR/mcp` with `--http ADDR`.
//!
//! With `--tools N` (N > 1) it also registers N-1 more tools, `echo_1` to `echo_{N-1}`, with
//! the same handler, so the benchmarks can compare a server with one tool and one with many.
//!
//! The benchmarks measure it against a hand-written server with no SDK. It is written
//! exactly the way the README teaches, with no benchmark-only tricks.

use oxmcp::server::{tool, Args, Router};
use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `echo`.
#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

/// Sends the text back.
async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> oxmcp::Result<()> {
    let mut router = Router::new()
        .name("oxmcp-echo")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            "echo",
            tool(echo).description("Send the text back unchanged."),
        );
    for i in 1..tool_count() {
        router = router.tool(
            &format!("echo_{i}"),
            tool(echo).description("Send the text back unchanged."),
        );
    }
    match option("--http") {
        Some(addr) => router.serve_http(addr).await,
        None => router.serve_stdio().await,
    }
}

/// The number after `--tools` (default and minimum 1).
fn tool_count() -> usize {
    option("--tools")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// The value of option `name`, if given (`NAME VALUE` or `NAME=VALUE`).
fn option(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == name {
            return args.next();
        }
        if let Some(value) = arg.strip_prefix(name).and_then(|v| v.strip_prefix('=')) {
            return Some(value.to_owned());
        }
    }
    None
}
