//! Streamable HTTP: the server (a `tower::Service`) and the client, both eras.

#[cfg(feature = "http-client")]
pub mod client;
#[cfg(feature = "http-server")]
pub mod server;
