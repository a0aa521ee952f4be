//! The Streamable HTTP client, both eras (the server is `crate::server::http`); its
//! settings are public as [`crate::client::HttpClientConfig`].

#[cfg(feature = "http-client")]
pub(crate) mod client;
