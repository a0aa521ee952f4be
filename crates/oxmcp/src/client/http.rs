//! Connecting over Streamable HTTP.

use super::{Client, ClientBuilder};
use crate::error::Result;
use crate::rpc::Peer;
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
    /// With the `sse-client` feature, a server that refuses the handshake's `POST` with
    /// `400`, `404` or `405` is tried as an HTTP+SSE server (a `GET` expecting an
    /// `endpoint` event), as the specification's backwards-compatibility section says;
    /// when that fails too, the first error is returned.
    ///
    /// # Errors
    /// As [`connect_http`](Self::connect_http), and if a custom header is invalid.
    pub async fn connect_http_with(self, config: HttpClientConfig) -> Result<Client> {
        #[cfg(feature = "sse-client")]
        {
            // The specification's backwards compatibility: a server that refuses the
            // handshake's POST with 400, 404 or 405 may be an HTTP+SSE one.
            let fallback = (self.clone(), config.clone());
            match self.connect_streamable(config).await {
                Err(e) if matches!(e.http_status(), Some(400 | 404 | 405)) => {
                    tracing::debug!(error = %e, "Streamable HTTP refused: trying HTTP+SSE");
                    let (builder, config) = fallback;
                    builder.connect_sse_with(config).await.map_err(|sse| {
                        tracing::debug!(error = %sse, "HTTP+SSE failed too");
                        e
                    })
                }
                connected => connected,
            }
        }
        #[cfg(not(feature = "sse-client"))]
        self.connect_streamable(config).await
    }

    async fn connect_streamable(self, config: HttpClientConfig) -> Result<Client> {
        let (outbound, rx) = self.outbound_channel();
        let peer = Peer::new(self.max_in_flight());
        let (source, hook) = start(config, rx, peer.clone())?;
        let client = self.connect_parts(peer, outbound, source, None).await?;
        *client.inner.close_hook.lock().expect("close hook lock") = Some(hook);
        Ok(client)
    }
}
