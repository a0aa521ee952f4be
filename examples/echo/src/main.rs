//! `echo`: an ordinary oxmcp server with one tool, `echo(text) -> text`, over stdio, or over
//! Streamable HTTP at `http://ADDR/mcp` with `--http ADDR`.
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
    let router = Router::new()
        .name("oxmcp-echo")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            "echo",
            tool(echo).description("Send the text back unchanged."),
        );
    match http_address() {
        Some(addr) => router.serve_http(addr).await,
        None => router.serve_stdio().await,
    }
}

/// The address after `--http`, if given (`--http ADDR` or `--http=ADDR`).
fn http_address() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--http" {
            return args.next();
        }
        if let Some(addr) = arg.strip_prefix("--http=") {
            return Some(addr.to_owned());
        }
    }
    None
}
