//! The built-in authorization server, configured the way `cargo xtask conformance` runs the
//! suite's authorization server scenarios against it:
//!
//! ```text
//! auth-server-conformance --http 127.0.0.1:PORT [--auto-approve SUBJECT] [--client ID=REDIRECT_URI]...
//! ```
//!
//! The issuer is `http://ADDR`. Every authorization request is approved as SUBJECT
//! (default `conformance-user`), so the suite's browser step is one GET of the
//! authorization URL. Without `--client`, one public client `conformance-client` is
//! registered with the redirect URI `http://127.0.0.1/callback` (any port, RFC 8252).

use oxmcp::auth_server::{AuthorizationServer, AutoApprove, Client};

fn usage() -> ! {
    eprintln!(
        "usage: auth-server-conformance --http ADDR [--auto-approve SUBJECT] [--client ID=REDIRECT_URI]..."
    );
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut addr = None;
    let mut subject = "conformance-user".to_owned();
    let mut clients = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--http" => addr = Some(value()),
            "--auto-approve" => subject = value(),
            "--client" => {
                let value = value();
                let Some((id, redirect)) = value.split_once('=') else {
                    usage()
                };
                clients.push(Client::public(id, [redirect]));
            }
            _ => usage(),
        }
    }
    let Some(addr) = addr else { usage() };
    if clients.is_empty() {
        clients.push(Client::public(
            "conformance-client",
            ["http://127.0.0.1/callback"],
        ));
    }
    let mut builder =
        AuthorizationServer::builder(format!("http://{addr}")).login(AutoApprove::new(subject));
    for client in clients {
        builder = builder.client(client);
    }
    let server = builder.build().unwrap_or_else(|e| {
        eprintln!("auth-server-conformance: {e}");
        std::process::exit(1)
    });
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("auth-server-conformance: cannot listen on {addr}: {e}");
            std::process::exit(1)
        });
    eprintln!("authorization server {} listening", server.issuer());
    if let Err(e) = axum::serve(listener, server.router()).await {
        eprintln!("auth-server-conformance: {e}");
        std::process::exit(1)
    }
}
