//! Connecting over WebSocket.

use super::{Client, ClientBuilder};
use crate::error::Result;
use crate::rpc::Peer;
use crate::transport::ws::WsClientConfig;

impl ClientBuilder {
    /// Connects to the MCP server whose WebSocket endpoint is `url` (`ws://…` or
    /// `wss://…`, for example oxmcp's `/ws`), with the subprotocol `mcp`, in either era.
    /// [`connect_ws_with`](ClientBuilder::connect_ws_with) takes headers (a bearer token)
    /// and limits.
    ///
    /// ```no_run
    /// use oxmcp::client::Client;
    ///
    /// # async fn run() -> oxmcp::Result<()> {
    /// let client = Client::builder().connect_ws("ws://127.0.0.1:3000/ws").await?;
    /// let tools = client.list_all_tools().await?;
    /// client.close().await?;
    /// # let _ = tools; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// If the URL is not a `ws://` or `wss://` one, the server cannot be reached (or its
    /// TLS certificate is not trusted), refuses the upgrade (its HTTP status is in
    /// [`Error::http_status`](crate::Error::http_status)) or the subprotocol, or no
    /// protocol revision is shared.
    pub async fn connect_ws(self, url: impl AsRef<str>) -> Result<Client> {
        self.connect_ws_with(WsClientConfig::new(url.as_ref()))
            .await
    }

    /// [`connect_ws`](ClientBuilder::connect_ws) with settings: headers of the upgrade
    /// request, the connect timeout, the largest message.
    ///
    /// ```no_run
    /// use oxmcp::client::{Client, WsClientConfig};
    ///
    /// # async fn run() -> oxmcp::Result<()> {
    /// let config = WsClientConfig::new("wss://mcp.example.com/ws")
    ///     .header("Authorization", "Bearer my-token");
    /// let client = Client::builder().connect_ws_with(config).await?;
    /// # let _ = client; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`connect_ws`](ClientBuilder::connect_ws), and if a header is not valid.
    pub async fn connect_ws_with(self, config: WsClientConfig) -> Result<Client> {
        let (outbound, rx) = self.outbound_channel();
        let peer = Peer::new(self.max_in_flight());
        let source = crate::transport::ws::start_ws(&config, rx, peer.clone()).await?;
        self.connect_parts(peer, outbound, source, None).await
    }
}
