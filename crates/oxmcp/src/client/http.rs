//! Connecting over Streamable HTTP.

use super::{Client, ClientBuilder};
use crate::error::Result;
use crate::rpc::{Outbound, Peer};
use crate::transport::http::client::{start, HttpClientConfig};

impl ClientBuilder {
    /// Connects to the MCP endpoint at `url` over Streamable HTTP, in either era: a
    /// `server/discover` POST first, `initialize` when the server turns out to be a
    /// legacy one (see [`era`](Self::era)).
    ///
    /// ```no_run
    /// use oxmcp::client::Client;
    ///
    /// # async fn run() -> oxmcp::Result<()> {
    /// let client = Client::builder().connect_http("http://127.0.0.1:3000/mcp").await?;
    /// let tools = client.list_all_tools().await?;
    /// client.close().await?;
    /// # let _ = tools; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// If the URL is not an `http`/`https` one, the server cannot be reached, or no
    /// protocol revision is shared.
    pub async fn connect_http(self, url: impl Into<String>) -> Result<Client> {
        self.connect_http_with(HttpClientConfig::new(url)).await
    }

    /// Connects over Streamable HTTP with these settings (headers, timeouts, streams).
    ///
    /// # Errors
    /// As [`connect_http`](Self::connect_http), and if a custom header is invalid.
    pub async fn connect_http_with(self, config: HttpClientConfig) -> Result<Client> {
        let (outbound, rx) = Outbound::channel();
        let peer = Peer::new(self.max_in_flight());
        let (source, hook) = start(config, rx, peer.clone())?;
        let client = self.connect_parts(peer, outbound, source, None).await?;
        *client.inner.close_hook.lock().expect("close hook lock") = Some(hook);
        Ok(client)
    }
}
