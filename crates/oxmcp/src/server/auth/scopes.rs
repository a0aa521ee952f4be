//! Scopes: what each tool, prompt and resource needs, and the checks.

use crate::server::shared::Shared;

impl Shared {
    /// The scopes the target of a JSON-RPC message (a request body) needs, for a
    /// challenge.
    pub(crate) fn scopes_for_message(&self, body: &[u8]) -> Vec<String> {
        let _ = body;
        Vec::new()
    }
}
