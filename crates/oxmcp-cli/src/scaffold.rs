//! `oxmcp new`: a new MCP server project (a tool, a resource, a prompt, a test through the
//! in-process client, a README) that builds and passes `cargo test` as generated.

use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The files of a new project named `name`; `http` serves Streamable HTTP instead of stdio;
/// `oxmcp_path` points the `oxmcp` dependency at a local checkout.
pub fn files(name: &str, http: bool, oxmcp_path: Option<&Path>) -> Vec<(&'static str, String)> {
    let transport = if http { "\"http-server\"" } else { "\"stdio\"" };
    let source = match oxmcp_path {
        Some(dir) => format!(
            "path = {}",
            serde_json::Value::String(dir.join("crates/oxmcp").display().to_string())
        ),
        None => format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
    };
    let cargo = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
oxmcp = {{ {source}, default-features = false, features = ["server", {transport}] }}
schemars = "1"
serde = {{ version = "1", features = ["derive"] }}
tokio = {{ version = "1", features = ["rt", "macros"] }}

[dev-dependencies]
oxmcp = {{ {source}, default-features = false, features = ["server", "client", {transport}] }}
serde_json = "1"

# A project of its own, even when created inside another workspace.
[workspace]
"#
    );
    let serve = if http {
        r#"    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    eprintln!("serving MCP at http://{addr}/mcp");
    router().serve_http(addr).await"#
    } else {
        "    router().serve_stdio().await"
    };
    let main = format!(
        r#"//! The `{name}` MCP server{over}.

use {crate_name}::router;

#[tokio::main(flavor = "current_thread")]
async fn main() -> oxmcp::Result<()> {{
{serve}
}}
"#,
        over = if http {
            " over Streamable HTTP"
        } else {
            " over stdio"
        },
        crate_name = name.replace('-', "_"),
    );
    let lib = format!(
        r#"//! The `{name}` MCP server's tools, resources and prompts.

use oxmcp::server::{{prompt, resource, tool, Args, Router}};
use schemars::JsonSchema;
use serde::Deserialize;

/// Arguments of `greet`.
#[derive(Deserialize, JsonSchema)]
pub struct GreetArgs {{
    /// Who to greet.
    pub name: String,
}}

/// Greets someone.
async fn greet(Args(args): Args<GreetArgs>) -> String {{
    format!("Hello, {{}}!", args.name)
}}

/// Arguments of the `review` prompt.
#[derive(Deserialize, JsonSchema)]
pub struct ReviewArgs {{
    /// The code to review.
    pub code: String,
}}

/// Asks the model to review some code.
async fn review(Args(args): Args<ReviewArgs>) -> String {{
    format!("Please review this code:\n\n{{}}", args.code)
}}

/// Every tool, resource and prompt of the server.
pub fn router() -> Router {{
    Router::new()
        .name("{name}")
        .version(env!("CARGO_PKG_VERSION"))
        .tool("greet", tool(greet).description("Greet someone by name."))
        .resource(
            "{name}://about",
            resource(|| async {{ "{name}: an MCP server built with oxmcp." }})
                .name("about")
                .description("What this server is"),
        )
        .prompt("review", prompt(review).description("Review a piece of code."))
}}
"#
    );
    let test = format!(
        r#"//! The server through a real client, in-process, in both protocol eras.

use oxmcp::testing::TestClient;
use {crate_name}::router;

#[tokio::test]
async fn greets_serves_its_resource_and_prompt_in_both_eras() {{
    for client in [
        TestClient::legacy(router()).await.unwrap(),
        TestClient::modern(router()).await.unwrap(),
    ] {{
        let tools = client.list_all_tools().await.unwrap();
        assert_eq!(tools[0].name, "greet");
        let result = client
            .call_tool("greet", serde_json::json!({{"name": "Ada"}}))
            .await
            .unwrap();
        let text = serde_json::to_value(&result.content).unwrap();
        assert_eq!(text[0]["text"], "Hello, Ada!");
        let about = client.read_resource("{name}://about").await.unwrap();
        assert_eq!(about.contents.len(), 1);
        let prompt = client.get_prompt("review", [("code", "fn main() {{}}")]).await.unwrap();
        assert_eq!(prompt.messages.len(), 1);
    }}
}}
"#,
        crate_name = name.replace('-', "_"),
    );
    let (run, inspect) = if http {
        (
            "cargo run    # serves http://127.0.0.1:3000/mcp (ADDR=host:port to change)",
            "oxmcp inspect --url http://127.0.0.1:3000/mcp",
        )
    } else {
        ("cargo build", "oxmcp inspect -- cargo run -q")
    };
    let readme = format!(
        "# {name}\n\nAn MCP server built with [oxmcp](https://github.com/oxmcp/oxmcp): a tool \
         (`greet`), a resource (`{name}://about`) and a prompt (`review`), in `src/lib.rs`.\n\n\
         ```sh\ncargo test   # the server through a real client, in both protocol eras\n{run}\n```\n\n\
         Then look at it, or call it, with the `oxmcp` command:\n\n```sh\n{inspect}\n```\n"
    );
    vec![
        ("Cargo.toml", cargo),
        ("src/main.rs", main),
        ("src/lib.rs", lib),
        ("tests/server.rs", test),
        ("README.md", readme),
        (".gitignore", "/target\n".to_owned()),
    ]
}

/// `oxmcp new`.
pub fn new(name: &str, http: bool, oxmcp_path: Option<&Path>) -> Result<u8, CliError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphabetic());
    if !valid {
        return Err(CliError::usage(format!(
            "expected a package name (a letter, then letters, digits, - or _), got {name:?}"
        )));
    }
    let oxmcp_path = match oxmcp_path {
        Some(dir) => {
            let dir = std::fs::canonicalize(dir)
                .map_err(|e| CliError::usage(format!("--oxmcp-path {}: {e}", dir.display())))?;
            if !dir.join("crates/oxmcp/Cargo.toml").is_file() {
                return Err(CliError::usage(format!(
                    "--oxmcp-path {}: expected an oxmcp checkout (with crates/oxmcp/Cargo.toml)",
                    dir.display()
                )));
            }
            Some(dir)
        }
        None => None,
    };
    let root = PathBuf::from(name);
    if root.exists() {
        return Err(CliError::usage(format!(
            "{} already exists; choose another name or remove it",
            root.display()
        )));
    }
    for (path, text) in files(name, http, oxmcp_path.as_deref()) {
        let path = root.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!("created {name}/: cd {name} && cargo test");
    Ok(0)
}
