//! Connecting over WebSocket.

use super::{Client, ClientBuilder};
use crate::error::Result;
use crate::rpc::Peer;

impl ClientBuilder {
    /// Connects to the MCP server whose WebSocket endpoint is `url` (`ws://…`, for example
    /// oxmcp's `/ws`), with the subprotocol `mcp`, in either era.
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
    /// If the URL is not a `ws://` one, the server cannot be reached, refuses the upgrade
    /// (its HTTP status is in [`Error::http_status`](crate::Error::http_status)) or the
    /// subprotocol, or no protocol revision is shared.
    pub async fn connect_ws(self, url: impl AsRef<str>) -> Result<Client> {
        let (outbound, rx) = self.outbound_channel();
        let peer = Peer::new(self.max_in_flight());
        let source = crate::transport::ws::start_ws(url.as_ref(), rx, peer.clone()).await?;
        self.connect_parts(peer, outbound, source, None).await
    }
}
