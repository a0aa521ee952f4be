//! `proxy-stdio`: the oxmcp proxy with stdio on both sides, for `compare` (`cargo xtask
//! bench`): a call through it against a direct call to the same server.
//!
//! ```text
//! proxy-stdio COMMAND [ARG...]
//! ```

use std::process::ExitCode;

use oxmcp::client::Client;
use oxmcp::server::compose::Proxy;
use oxmcp::transport::stdio::ChildCommand;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: proxy-stdio COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    let proxy = Proxy::new();
    let served = async {
        let client = proxy
            .client(Client::builder())
            .connect_stdio(ChildCommand::new(program).args(args))
            .await?;
        proxy.router(client).await?.serve_stdio().await
    };
    match served.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proxy-stdio: {e}");
            ExitCode::FAILURE
        }
    }
}
