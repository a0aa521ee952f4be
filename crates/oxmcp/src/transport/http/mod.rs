//! The Streamable HTTP client, both eras (the server is [`crate::server::http`]).

#[cfg(feature = "http-client")]
pub mod client;
