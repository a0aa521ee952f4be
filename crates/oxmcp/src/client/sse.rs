//! Connecting over the HTTP+SSE transport of 2024-11-05.

use super::{Client, ClientBuilder};
use crate::error::Result;
use crate::rpc::Peer;
use crate::transport::http::client::{start_sse, HttpClientConfig};

impl ClientBuilder {
    /// Connects to an HTTP+SSE server (protocol revision 2024-11-05, the transport before
    /// Streamable HTTP) whose stream is at `url` (usually ending in `/sse`): a `GET` opens
    /// the stream, whose `endpoint` event names the URL messages are `POST`ed to.
    ///
    /// [`connect_http`](Self::connect_http) falls back to this by itself when the URL it
    /// is given turns out to be an HTTP+SSE server's.
    ///
    /// ```no_run
    /// use oxmcp::client::Client;
    ///
    /// # async fn run() -> oxmcp::Result<()> {
    /// let client = Client::builder().connect_sse("http://127.0.0.1:3000/sse").await?;
    /// let tools = client.list_all_tools().await?;
    /// client.close().await?;
    /// # let _ = tools; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// If the URL is not an `http`/`https` one, the server cannot be reached, answers
    /// with an error status, sends no `endpoint` event (or one naming another origin), or
    /// no protocol revision is shared.
    pub async fn connect_sse(self, url: impl Into<String>) -> Result<Client> {
        self.connect_sse_with(HttpClientConfig::new(url)).await
    }

    /// Connects over HTTP+SSE with these settings (headers, connect timeout, largest
    /// message); the settings about Streamable HTTP's streams do not apply.
    ///
    /// # Errors
    /// As [`connect_sse`](Self::connect_sse), and if a custom header is invalid.
    pub async fn connect_sse_with(self, config: HttpClientConfig) -> Result<Client> {
        let (outbound, rx) = self.outbound_channel();
        let peer = Peer::new(self.max_in_flight());
        let source = start_sse(config, rx, peer.clone()).await?;
        self.connect_parts(peer, outbound, source, None).await
    }
}
