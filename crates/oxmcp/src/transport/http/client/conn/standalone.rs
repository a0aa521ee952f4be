//! The legacy session around the POSTs: the standalone GET stream, a new session when the
//! server forgets ours, and its DELETE at the end.

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;

use super::super::frame::{InProbe, OutProbe};
use super::{is_sse, Cursor, Shared};
use crate::error::{Error, Result};

impl Shared {
    pub(super) fn open_standalone(self: &Arc<Self>) {
        {
            let mut state = self.lock();
            if !self.config.standalone_stream || state.standalone || state.version.is_none() {
                self.ready.send_replace(true);
                return;
            }
            state.standalone = true;
        }
        let this = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = this.standalone() => {}
                _ = this.closed.cancelled() => {}
            }
        });
    }

    /// The standalone GET stream: messages that belong to no request.
    async fn standalone(&self) {
        let mut cursor = Cursor::new(self.config.default_retry);
        let mut failures = 0;
        loop {
            let sent = self
                .send(Method::GET, None, None, cursor.last_id.as_deref())
                .await;
            // Answered (or refused): requests may go out now.
            self.ready.send_replace(true);
            match sent {
                Ok(response) if response.status().is_success() && is_sse(&response) => {
                    let before = cursor.events;
                    self.read_sse(response, None, &mut cursor).await;
                    if cursor.events == before {
                        failures += 1;
                    } else {
                        failures = 0;
                    }
                }
                Ok(response) => {
                    tracing::debug!(status = %response.status(), "no standalone stream");
                    return;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "the standalone stream failed");
                    failures += 1;
                }
            }
            if failures > self.config.max_reconnects {
                return;
            }
            tokio::time::sleep(cursor.retry).await;
        }
    }

    /// Opens a new session after the server forgot `stale`: `initialize` again (its
    /// answer kept from the client), then `notifications/initialized`.
    pub(super) async fn reinitialize(self: &Arc<Self>, stale: Option<String>) -> Result<()> {
        let _guard = self.reinit.lock().await;
        let (init, n) = {
            let mut state = self.lock();
            if state.session != stale {
                return Ok(()); // another request already did
            }
            state.reinits += 1;
            state.session = None;
            (state.init.clone(), state.reinits)
        };
        let init = init.ok_or_else(|| {
            Error::protocol("the server forgot a session that was never initialized")
        })?;
        let id = Value::String(format!("oxmcp-reinitialize-{n}"));
        let mut message: Value = serde_json::from_str(&init)
            .map_err(|e| Error::serde("decode the initialize request", e))?;
        message["id"] = id.clone();
        let text = message.to_string();
        let probe = OutProbe::read(&text);
        let response = self
            .post(&probe, &text)
            .await
            .map_err(|e| e.into_error(self.config.connect_timeout))?;
        self.keep_session(&response);
        let answer = self.answer(response, &id, true).await?;
        let answer = InProbe::read(&answer);
        if answer.error.is_some() {
            return Err(Error::protocol(
                "the server refused to initialize a new session",
            ));
        }
        if let Some(version) = answer.negotiated_version() {
            self.lock().version = Some(version);
        }
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let probe = OutProbe::read(initialized);
        let _ = self.post(&probe, initialized).await;
        Ok(())
    }

    /// Ends the legacy session with DELETE (a 405 means the server keeps no sessions).
    pub(super) async fn delete_session(self: Arc<Self>) {
        if self.lock().session.is_none() {
            return;
        }
        match self.send(Method::DELETE, None, None, None).await {
            Ok(response) => {
                tracing::debug!(status = %response.status(), "deleted the session");
            }
            Err(e) => tracing::debug!(error = %e, "deleting the session failed"),
        }
    }
}
