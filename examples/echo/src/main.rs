//! `echo`: an ordinary oxmcp server with one tool, `echo(text) -> text`, over stdio.
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
    Router::new()
        .name("oxmcp-echo")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            "echo",
            tool(echo).description("Send the text back unchanged."),
        )
        .serve_stdio()
        .await
}
