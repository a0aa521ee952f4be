//! How a server seals the `requestState` of its multi round-trip requests.

use std::time::Duration;

use super::seal::{KeyRing, Sealer, DEFAULT_TTL};
use crate::server::Router;

/// The sealing settings a router collects.
#[derive(Debug, Clone, Default)]
pub(crate) struct StateSettings {
    keys: Option<KeyRing>,
    audience: Option<String>,
    ttl: Option<Duration>,
}

impl StateSettings {
    /// The sealer of a server named `server_name`.
    pub(crate) fn sealer(&self, server_name: &str) -> Sealer {
        Sealer::new(
            self.keys.clone().unwrap_or_else(KeyRing::process_default),
            self.audience
                .clone()
                .unwrap_or_else(|| server_name.to_owned()),
            self.ttl.unwrap_or(DEFAULT_TTL),
        )
    }
}

impl<S> Router<S> {
    /// The keys that sign the `requestState` of multi round-trip requests (2026-07-28),
    /// for servers whose requests may come back to another process (a restart, a load
    /// balancer): give every process the same ring. Default: a random key per process.
    pub fn request_state_keys(mut self, keys: KeyRing) -> Self {
        self.request_state.keys = Some(keys);
        self
    }

    /// Who the `requestState` is for: state sealed for another audience is refused.
    /// Default: the server's name. Servers that share keys but must not accept each
    /// other's state use distinct audiences.
    pub fn request_state_audience(mut self, audience: impl Into<String>) -> Self {
        self.request_state.audience = Some(audience.into());
        self
    }

    /// How long a `requestState` stays valid, that is, how long a client has to answer
    /// the questions of one round (default 5 minutes).
    pub fn request_state_ttl(mut self, ttl: Duration) -> Self {
        self.request_state.ttl = Some(ttl);
        self
    }
}
