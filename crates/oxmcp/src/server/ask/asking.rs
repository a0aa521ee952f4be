//! The questions themselves: capability checks, the request each era sends, and decoding
//! the answer.

use std::sync::Arc;

use oxmcp_protocol::elicitation::{
    ElicitAction, ElicitRequestFormParams, ElicitRequestParams, ElicitRequestURLParams,
    ElicitResult, ElicitationMode,
};
use oxmcp_protocol::lifecycle::{
    ClientCapabilities, ElicitationCapability, RootsCapability, SamplingCapability,
};
use oxmcp_protocol::mrtr::InputRequest;
use oxmcp_protocol::roots::{ListRootsResult, Root};
use oxmcp_protocol::sampling::{CreateMessageRequestParams, CreateMessageResult};
use oxmcp_protocol::{method, ProtocolVersion};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::round::Round;
use super::{schema, AskError, Elicitation};
use crate::rpc::{Outbound, Peer};

/// How a request's questions reach the client.
#[derive(Debug, Clone)]
pub(crate) enum Channel {
    /// A legacy session: as JSON-RPC requests on the request's own outbound.
    Legacy,
    /// A modern request that may end with `InputRequiredResult`.
    Modern(Arc<Round>),
    /// A call that became a task: its questions park the task until `tasks/update`
    /// answers them.
    Task(Arc<crate::server::tasks::TaskInput>),
    /// A request that may not ask anything (its method has no multi round-trip form).
    Unavailable(String),
}

/// Everything a question needs from the request's context.
pub(crate) struct Asking<'a> {
    pub(crate) version: ProtocolVersion,
    pub(crate) capabilities: ClientCapabilities,
    pub(crate) channel: &'a Channel,
    pub(crate) peer: &'a Peer,
    pub(crate) outbound: &'a Outbound,
    /// Whatever drives the handler: woken when a question is left open, so the round ends.
    pub(crate) driver: &'a futures_util::task::AtomicWaker,
    /// The key the handler chose for this question, if any.
    pub(crate) key: Option<String>,
    /// How long a legacy question waits for the answer.
    pub(crate) timeout: std::time::Duration,
}

impl Asking<'_> {
    /// Asks `request`; the client's result as JSON.
    async fn ask(
        &self,
        kind: &'static str,
        method: &'static str,
        request: InputRequest,
    ) -> Result<Value, AskError> {
        match self.channel {
            Channel::Unavailable(method) => Err(AskError::unavailable(method.clone())),
            Channel::Modern(round) => match round.answer(kind, request, self.key.as_deref()) {
                Some(answer) => Ok(answer),
                // The round ends asking it, and this future is dropped with the handler;
                // unless it runs in a task of its own, which learns the request has ended.
                None => {
                    self.driver.wake();
                    round.ended().cancelled().await;
                    Err(AskError::ended(method))
                }
            },
            Channel::Task(task) => task.ask(kind, method, request, self.key.as_deref()).await,
            Channel::Legacy => {
                let params = params_of(&request).map(|p| p.to_string());
                let raw = self
                    .peer
                    .request(
                        self.outbound,
                        self.peer.next_id(),
                        method,
                        params.as_deref(),
                        crate::rpc::RequestOptions {
                            max_total: Some(self.timeout),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| AskError::failed(method, e))?;
                serde_json::from_str(raw.get())
                    .map_err(|e| AskError::invalid_response(method, e.to_string()))
            }
        }
    }

    /// Asks the user to fill in the form of `T`.
    pub(crate) async fn elicit<T: JsonSchema + DeserializeOwned>(
        &self,
        message: String,
    ) -> Result<Elicitation<T>, AskError> {
        self.check_elicitation(ElicitationMode::Form)?;
        let form = schema::form_schema::<T>(self.version)
            .map_err(|reason| AskError::schema(std::any::type_name::<T>(), reason))?;
        let mut params = ElicitRequestFormParams::new(message, form.clone());
        if self.version >= ProtocolVersion::V2025_11_25 {
            params = params.with_explicit_mode();
        }
        let result = self.elicit_params(params.into()).await?;
        let content = match result.action {
            ElicitAction::Decline => return Ok(Elicitation::Decline),
            ElicitAction::Cancel => return Ok(Elicitation::Cancel),
            ElicitAction::Accept => result.content.unwrap_or_default(),
        };
        let invalid = |reason: String| {
            AskError::invalid_response(method::ELICITATION_CREATE, format!("content: {reason}"))
        };
        schema::validate(&content, &form).map_err(invalid)?;
        serde_path_to_error::deserialize(Value::Object(content))
            .map(Elicitation::Accept)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = crate::rpc::frame::strip_position(e.inner());
                invalid(if path == "." {
                    inner
                } else {
                    format!("{path}: {inner}")
                })
            })
    }

    /// Asks the user to open `url`.
    pub(crate) async fn elicit_url(
        &self,
        message: String,
        url: String,
    ) -> Result<ElicitAction, AskError> {
        let params = ElicitRequestURLParams::new(message, url);
        Ok(self.elicit_params(params.into()).await?.action)
    }

    /// Sends an elicitation as given (after the capability check).
    pub(crate) async fn elicit_params(
        &self,
        params: ElicitRequestParams,
    ) -> Result<ElicitResult, AskError> {
        self.check_elicitation(params.mode())?;
        let params = match params {
            ElicitRequestParams::Url(mut url) => {
                if self.version.is_modern() {
                    // 2026-07-28 dropped the id; the request state ties answers to questions.
                    url.elicitation_id = None;
                } else if url.elicitation_id.is_none() {
                    url.elicitation_id = Some(random_id());
                }
                ElicitRequestParams::Url(url)
            }
            form => form,
        };
        let answer = self
            .ask(
                "elicit",
                method::ELICITATION_CREATE,
                InputRequest::Elicit(params),
            )
            .await?;
        decode(method::ELICITATION_CREATE, answer)
    }

    fn check_elicitation(&self, mode: ElicitationMode) -> Result<(), AskError> {
        let declared = self.capabilities.elicitation.as_ref();
        let (supported, first, required, what) = match mode {
            ElicitationMode::Form => (
                declared.is_some_and(ElicitationCapability::supports_form),
                ProtocolVersion::V2025_06_18,
                if self.version >= ProtocolVersion::V2025_11_25 {
                    ElicitationCapability::new().with_form()
                } else {
                    ElicitationCapability::new()
                },
                "`elicitation` capability (form mode)",
            ),
            ElicitationMode::Url => (
                declared.is_some_and(ElicitationCapability::supports_url),
                ProtocolVersion::V2025_11_25,
                ElicitationCapability::new().with_url(),
                "`elicitation.url` capability (URL mode)",
            ),
        };
        let required = ClientCapabilities::new().with_elicitation(required);
        self.require(supported, first, required, what, "ask the user for input")
    }

    /// Asks the client to sample its language model.
    pub(crate) async fn sample(
        &self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, AskError> {
        let declared = self.capabilities.sampling.as_ref();
        let required = ClientCapabilities::new().with_sampling(SamplingCapability::new());
        self.require(
            declared.is_some(),
            ProtocolVersion::V2024_11_05,
            required,
            "`sampling` capability",
            "sample its language model",
        )?;
        if params.tools.is_some() || params.tool_choice.is_some() {
            let required =
                ClientCapabilities::new().with_sampling(SamplingCapability::new().with_tools());
            self.require(
                declared.is_some_and(|s| s.tools.is_some()),
                ProtocolVersion::V2025_11_25,
                required,
                "`sampling.tools` capability",
                "offer tools to its language model",
            )?;
        }
        let answer = self
            .ask(
                "sample",
                method::SAMPLING_CREATE_MESSAGE,
                InputRequest::CreateMessage(params),
            )
            .await?;
        decode(method::SAMPLING_CREATE_MESSAGE, answer)
    }

    /// Asks the client for its roots.
    pub(crate) async fn list_roots(&self) -> Result<Vec<Root>, AskError> {
        let required = ClientCapabilities::new().with_roots(RootsCapability::new());
        self.require(
            self.capabilities.roots.is_some(),
            ProtocolVersion::V2024_11_05,
            required,
            "`roots` capability",
            "list its roots",
        )?;
        let answer = self
            .ask("roots", method::ROOTS_LIST, InputRequest::ListRoots(None))
            .await?;
        decode::<ListRootsResult>(method::ROOTS_LIST, answer).map(|r| r.roots)
    }

    /// Fails unless the client declared a capability its protocol revision has.
    fn require(
        &self,
        declared: bool,
        since: ProtocolVersion,
        required: ClientCapabilities,
        capability: &str,
        action: &str,
    ) -> Result<(), AskError> {
        let version = self.version;
        if version < since {
            return Err(AskError::missing_capability(
                format!("the server cannot {action}: the client speaks protocol revision {version}, which has no {capability} ({since} or later)"),
                required,
            ));
        }
        if !declared {
            return Err(AskError::missing_capability(
                format!("the server cannot {action}: the client did not declare the {capability}"),
                required,
            ));
        }
        Ok(())
    }
}

/// The params of an input request.
fn params_of(request: &InputRequest) -> Option<Value> {
    serde_json::to_value(request)
        .ok()
        .and_then(|mut v| v.get_mut("params").map(Value::take))
}

fn decode<T: DeserializeOwned>(method: &'static str, answer: Value) -> Result<T, AskError> {
    serde_path_to_error::deserialize(answer).map_err(|e| {
        let path = e.path().to_string();
        let inner = crate::rpc::frame::strip_position(e.inner());
        AskError::invalid_response(
            method,
            if path == "." {
                inner
            } else {
                format!("{path}: {inner}")
            },
        )
    })
}

/// A fresh elicitation id (2025-11-25 URL mode requires one).
fn random_id() -> String {
    format!("{:032x}", crate::server::random_u128())
}

#[cfg(test)]
#[path = "asking_tests.rs"]
mod tests;
