//! Testing servers without a transport.
//!
//! [`TestClient`] wires a real [`Client`] to a [`Router`] in the same process: every
//! message is encoded and decoded as on a real connection, in either era.
//!
//! ```
//! use oxmcp::server::{Args, Router};
//! use oxmcp::testing::TestClient;
//! # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Echo { text: String }
//! async fn echo(Args(e): Args<Echo>) -> String { e.text }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> oxmcp::Result<()> {
//! let client = TestClient::legacy(Router::new().tool("echo", echo)).await?;
//! let result = client.call_tool("echo", serde_json::json!({ "text": "hi" })).await?;
//! assert_eq!(result.is_error, None);
//! # Ok(()) }
//! ```

use std::ops::Deref;
use std::sync::Arc;

use oxmcp_protocol::ProtocolVersion;

use crate::client::{Client, ClientBuilder, EraChoice};
use crate::rpc::Outbound;
use crate::server::Router;
use crate::transport::memory::{MemorySource, Tap};

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    /// From the client to the server.
    ClientToServer,
    /// From the server to the client.
    ServerToClient,
}

/// A client connected in-process to a router. Derefs to [`Client`].
#[derive(Debug)]
pub struct TestClient {
    client: Client,
}

/// Configures a [`TestClient`].
#[must_use]
pub struct TestClientBuilder {
    router: Router,
    client: ClientBuilder,
    tap: Option<FrameTap>,
}

/// A callback that sees every frame of a test connection.
type FrameTap = Arc<dyn Fn(Direction, &str) + Send + Sync>;

impl TestClient {
    /// Connects with era detection (a modern client, since the router speaks both).
    ///
    /// # Errors
    /// If the handshake fails.
    pub async fn new(router: Router) -> crate::Result<Self> {
        Self::builder(router).connect().await
    }

    /// Connects as a legacy client (the `initialize` handshake, 2025-11-25).
    ///
    /// # Errors
    /// If the handshake fails.
    pub async fn legacy(router: Router) -> crate::Result<Self> {
        Self::builder(router)
            .era(EraChoice::Legacy(ProtocolVersion::LATEST_LEGACY))
            .connect()
            .await
    }

    /// Connects as a modern client (2026-07-28).
    ///
    /// # Errors
    /// If discovery fails.
    pub async fn modern(router: Router) -> crate::Result<Self> {
        Self::builder(router).era(EraChoice::Modern).connect().await
    }

    /// Starts configuring a test client for `router`.
    pub fn builder(router: Router) -> TestClientBuilder {
        TestClientBuilder {
            router,
            client: ClientBuilder::new().name("oxmcp-test-client"),
            tap: None,
        }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Deref for TestClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestClientBuilder {
    /// Which era the client speaks.
    pub fn era(mut self, era: EraChoice) -> Self {
        self.client = self.client.era(era);
        self
    }

    /// Adjusts the client's settings.
    pub fn client(mut self, f: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Self {
        self.client = f(self.client);
        self
    }

    /// Shows every frame crossing the connection to `tap`, before it is handled (tests
    /// validate each against the official schema this way).
    pub fn on_frame(mut self, tap: impl Fn(Direction, &str) + Send + Sync + 'static) -> Self {
        self.tap = Some(Arc::new(tap));
        self
    }

    /// Connects.
    ///
    /// # Errors
    /// If the handshake fails.
    pub async fn connect(self) -> crate::Result<TestClient> {
        let max = self.router.max_in_flight_setting();
        let server = self.router.build();
        server.hooks.start().await?;
        let (server_peer, handler) = Router::connection(&server, max);
        let (to_server, server_rx) = Outbound::channel();
        let (to_client, client_rx) = Outbound::channel();
        let tap_for = |direction: Direction| -> Option<Tap> {
            self.tap
                .clone()
                .map(|tap| Arc::new(move |frame: &str| tap(direction, frame)) as Tap)
        };
        let server_source = MemorySource {
            rx: server_rx,
            tap: tap_for(Direction::ClientToServer),
        };
        let client_source = MemorySource {
            rx: client_rx,
            tap: tap_for(Direction::ServerToClient),
        };
        tokio::spawn(async move {
            let _ = crate::transport::drive(
                server_peer,
                handler,
                server_source,
                to_client,
                std::future::pending(),
            )
            .await;
            server.hooks.stop().await;
        });
        let client_peer = crate::rpc::Peer::new(max);
        let client = self
            .client
            .connect_parts(client_peer, to_server, client_source, None)
            .await?;
        Ok(TestClient { client })
    }
}
