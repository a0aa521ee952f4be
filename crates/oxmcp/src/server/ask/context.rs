//! The questions a handler asks through its [`Context`].

use oxmcp_protocol::elicitation::{ElicitAction, ElicitRequestParams, ElicitResult};
use oxmcp_protocol::roots::Root;
use oxmcp_protocol::sampling::{CreateMessageRequestParams, CreateMessageResult};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::asking::{Asking, Channel};
use super::{AskError, Elicitation};
use crate::server::Context;

impl Context {
    fn channel(&self) -> Channel {
        if let Some(task) = self.task_input() {
            return Channel::Task(task.clone());
        }
        if self.protocol_version().is_legacy() {
            return Channel::Legacy;
        }
        match self.open_round() {
            Some(round) => Channel::Modern(round.clone()),
            None => Channel::Unavailable("this request".to_owned()),
        }
    }

    fn asking<'a>(&'a self, channel: &'a Channel) -> Asking<'a> {
        let (peer, outbound) = self.peer();
        Asking {
            version: self.protocol_version(),
            capabilities: self.client_capabilities(),
            channel,
            peer,
            outbound,
            driver: self.driver(),
            key: None,
            timeout: self.question_timeout(),
        }
    }

    /// Names the next question: in the modern era, `key` is its key in `inputRequests` (and
    /// of its answer in the retry's `inputResponses`), instead of a generated one such as
    /// `elicit-0`. Use it when clients or tests expect a known key. An answer under that
    /// key is taken even without `requestState`.
    ///
    /// ```
    /// use oxmcp::server::ask::Elicitation;
    /// use oxmcp::server::{Context, ToolError};
    /// # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Name { name: String }
    /// async fn hello(ctx: Context) -> Result<String, ToolError> {
    ///     match ctx.question("user_name").elicit::<Name>("What is your name?").await? {
    ///         Elicitation::Accept(n) => Ok(format!("Hello, {}!", n.name)),
    ///         _ => Ok("Hello, stranger!".into()),
    ///     }
    /// }
    /// ```
    pub fn question(&self, key: impl Into<String>) -> Question<'_> {
        Question {
            context: self,
            key: key.into(),
        }
    }

    /// Asks the user to fill in a form whose fields are those of `T`.
    ///
    /// The form (`requestedSchema`) comes from `T`'s JSON Schema. Elicitation forms are
    /// flat: `T` is a struct whose fields are strings (a `format` of email, uri, date or
    /// date-time, and length bounds carry over), numbers or integers (with bounds),
    /// booleans, enums of unit variants (a single choice; variants with a doc comment or
    /// `#[schemars(title = ...)]` get labelled options), or a `Vec`/set of such an enum (a
    /// multiple choice, 2025-11-25 on). `Option` fields are optional, and `#[serde(default)]`
    /// values are offered as defaults (for types that also implement `Serialize`). Any other
    /// field (a nested struct, a list of numbers, a map) makes this fail at once with an
    /// [`AskError`] naming the field.
    ///
    /// An accepted answer is checked against the form and decoded as `T`; one that does
    /// not fit is an [`AskError`] too (`-32602` with `?`).
    ///
    /// ```
    /// use oxmcp::server::ask::Elicitation;
    /// use oxmcp::server::{Context, ToolError};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Booking {
    ///     /// Number of guests.
    ///     #[schemars(range(min = 1, max = 8))]
    ///     guests: u8,
    ///     /// Breakfast included?
    ///     #[serde(default)]
    ///     breakfast: bool,
    /// }
    ///
    /// async fn book(ctx: Context) -> Result<String, ToolError> {
    ///     Ok(match ctx.elicit::<Booking>("How should we book the room?").await? {
    ///         Elicitation::Accept(b) => format!("booked for {} guests", b.guests),
    ///         Elicitation::Decline => "not booked".into(),
    ///         Elicitation::Cancel => "maybe later".into(),
    ///     })
    /// }
    /// ```
    ///
    /// In the modern era the handler runs again from the start once the client has the
    /// answer: see [the `ask` module](crate::server::ask) for what that means for code before
    /// the question.
    ///
    /// # Errors
    /// If the client did not declare the `elicitation` capability (form mode), `T` cannot be
    /// a form, the answer does not fit, or (legacy sessions) the client answered with an
    /// error or the connection closed.
    pub async fn elicit<T: JsonSchema + DeserializeOwned>(
        &self,
        message: impl Into<String>,
    ) -> Result<Elicitation<T>, AskError> {
        let message = message.into();
        let channel = self.channel();
        self.asking(&channel).elicit(message).await
    }

    /// Asks the user to open `url` (URL mode, 2025-11-25 on): for interactions that must
    /// not pass through the client, such as entering a secret or authorizing a third party.
    ///
    /// `Accept` means the user agreed to open the URL, not that the interaction there is
    /// complete; check that on your side (in the modern era, when the request comes back).
    ///
    /// # Errors
    /// If the client did not declare URL mode (`elicitation.url`), or (legacy sessions) it
    /// answered with an error or the connection closed.
    pub async fn elicit_url(
        &self,
        message: impl Into<String>,
        url: impl Into<String>,
    ) -> Result<ElicitAction, AskError> {
        let (message, url) = (message.into(), url.into());
        let channel = self.channel();
        self.asking(&channel).elicit_url(message, url).await
    }

    /// Sends an elicitation exactly as given: a form with a hand-written
    /// [`RequestedSchema`](oxmcp_protocol::elicitation::RequestedSchema), or a URL with its
    /// own `elicitationId` (legacy sessions of 2025-11-25 get a random one when it has none;
    /// the modern era has none). The content of an accepted form is not checked.
    ///
    /// # Errors
    /// As [`elicit`](Self::elicit) and [`elicit_url`](Self::elicit_url).
    pub async fn elicit_with(&self, params: ElicitRequestParams) -> Result<ElicitResult, AskError> {
        let channel = self.channel();
        self.asking(&channel).elicit_params(params).await
    }

    /// Asks the client to sample its language model.
    ///
    /// Offering tools (`params.tools`, `params.tool_choice`) needs the client's
    /// `sampling.tools` capability (2025-11-25 on); a `tool_use` answer is yours to run and
    /// send back in a further `sample` call.
    ///
    /// ```
    /// use oxmcp::protocol::{CreateMessageRequestParams, SamplingMessage};
    /// use oxmcp::server::{Context, ToolError};
    ///
    /// async fn summarize(ctx: Context) -> Result<String, ToolError> {
    ///     let params = CreateMessageRequestParams::new(
    ///         vec![SamplingMessage::user_text("Summarize MCP in one sentence.")],
    ///         200,
    ///     );
    ///     let answer = ctx.sample(params).await?;
    ///     Ok(format!("{} says: {:?}", answer.model, answer.content))
    /// }
    /// ```
    ///
    /// # Errors
    /// If the client did not declare `sampling` (or `sampling.tools` when tools are
    /// offered), the answer does not decode, or (legacy sessions) the client answered with
    /// an error or the connection closed.
    pub async fn sample(
        &self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, AskError> {
        let channel = self.channel();
        self.asking(&channel).sample(params).await
    }

    /// Asks the client for its roots: the directories and files it lets the server work in.
    ///
    /// # Errors
    /// If the client did not declare `roots`, the answer does not decode, or (legacy
    /// sessions) the client answered with an error or the connection closed.
    pub async fn list_roots(&self) -> Result<Vec<Root>, AskError> {
        let channel = self.channel();
        self.asking(&channel).list_roots().await
    }
}

/// A question with a key of the handler's choosing; see [`Context::question`].
#[derive(Debug)]
#[must_use]
pub struct Question<'a> {
    context: &'a Context,
    key: String,
}

impl Question<'_> {
    fn asking<'c>(&'c self, channel: &'c Channel) -> Asking<'c> {
        let mut asking = self.context.asking(channel);
        asking.key = Some(self.key.clone());
        asking
    }

    /// As [`Context::elicit`], under this question's key.
    ///
    /// # Errors
    /// As [`Context::elicit`].
    pub async fn elicit<T: JsonSchema + DeserializeOwned>(
        self,
        message: impl Into<String>,
    ) -> Result<Elicitation<T>, AskError> {
        let channel = self.context.channel();
        self.asking(&channel).elicit(message.into()).await
    }

    /// As [`Context::elicit_with`], under this question's key.
    ///
    /// # Errors
    /// As [`Context::elicit_with`].
    pub async fn elicit_with(self, params: ElicitRequestParams) -> Result<ElicitResult, AskError> {
        let channel = self.context.channel();
        self.asking(&channel).elicit_params(params).await
    }

    /// As [`Context::sample`], under this question's key.
    ///
    /// # Errors
    /// As [`Context::sample`].
    pub async fn sample(
        self,
        params: CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, AskError> {
        let channel = self.context.channel();
        self.asking(&channel).sample(params).await
    }

    /// As [`Context::list_roots`], under this question's key.
    ///
    /// # Errors
    /// As [`Context::list_roots`].
    pub async fn list_roots(self) -> Result<Vec<Root>, AskError> {
        let channel = self.context.channel();
        self.asking(&channel).list_roots().await
    }
}
