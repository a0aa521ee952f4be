//! Asking the client: elicitation, sampling and roots, from one handler code path in both
//! eras.
//!
//! A handler asks through its [`Context`](crate::server::Context):
//! `ctx.elicit::<T>(message)`, `ctx.elicit_url(message, url)`, `ctx.sample(params)`,
//! `ctx.list_roots()`. How the question travels depends on the client:
//!
//! - **Legacy sessions** (2025-11-25 and older): the server sends the client a JSON-RPC
//!   request (`elicitation/create`, `sampling/createMessage`, `roots/list`) while the call
//!   runs, and the handler waits for the answer.
//! - **Modern requests** (2026-07-28, multi round-trip requests): the call ends with an
//!   `InputRequiredResult` listing the questions; the client answers them and sends the
//!   request again with the answers. **The handler then runs again from the start**, and
//!   every question it asked before resolves at once with its answer.
//!
//! # Code before a question runs again
//!
//! In the modern era everything a handler does before its last question runs once per
//! round. Keep that code free of side effects (or make them idempotent), and do the work
//! that must happen once after the questions:
//!
//! ```
//! use oxmcp::server::ask::Elicitation;
//! use oxmcp::server::{Context, ToolError};
//! # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Confirm { really: bool }
//! # async fn count_files() -> usize { 3 }
//! # async fn delete_files() {}
//! async fn clean(ctx: Context) -> Result<String, ToolError> {
//!     let n = count_files().await; // runs in every round: reads only
//!     let message = format!("Delete {n} files?");
//!     match ctx.elicit::<Confirm>(message).await? {
//!         Elicitation::Accept(c) if c.really => {
//!             delete_files().await; // runs once, after the answer
//!             Ok(format!("deleted {n} files"))
//!         }
//!         _ => Ok("kept everything".into()),
//!     }
//! }
//! ```
//!
//! Answers are matched to questions by what they ask: if a question changes between rounds
//! (here, if the number of files changed), it is asked again instead of taking the old
//! answer. Questions asked concurrently (`tokio::join!`) go to the client together.
//!
//! # Request state
//!
//! Between rounds the answers travel in the result's `requestState`, signed with
//! HMAC-SHA256 by the server's [`KeyRing`], bound to the server (its name, or a configured
//! audience), to the request (method, tool name and arguments) and to a time to live (five
//! minutes by default). State that was altered, expired, sealed by another server or
//! presented on another request is refused with a `-32602` error saying which.

mod asking;
mod context;
mod error;
mod round;
mod schema;
mod seal;
mod settings;

pub use context::Question;
pub use error::AskError;
pub use seal::KeyRing;

pub(crate) use round::{salient, Driven, Retry, Round};
pub(crate) use seal::Sealer;
pub(crate) use settings::StateSettings;

#[cfg(feature = "fuzzing")]
pub(crate) use schema::{flatten, validate};
#[cfg(feature = "fuzzing")]
pub(crate) use seal::Binding;

use oxmcp_protocol::elicitation::ElicitAction;

/// What the user did with a form: filled it in (with the answer, decoded and checked
/// against the form), declined it, or dismissed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elicitation<T> {
    /// The user submitted the form.
    Accept(T),
    /// The user explicitly declined.
    Decline,
    /// The user dismissed the form without choosing.
    Cancel,
}

impl<T> Elicitation<T> {
    /// The action, as on the wire.
    pub fn action(&self) -> ElicitAction {
        match self {
            Elicitation::Accept(_) => ElicitAction::Accept,
            Elicitation::Decline => ElicitAction::Decline,
            Elicitation::Cancel => ElicitAction::Cancel,
        }
    }

    /// Whether the user submitted the form.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Elicitation::Accept(_))
    }

    /// The submitted answer, if the user submitted the form.
    pub fn accepted(self) -> Option<T> {
        match self {
            Elicitation::Accept(t) => Some(t),
            Elicitation::Decline | Elicitation::Cancel => None,
        }
    }

    /// Maps the submitted answer.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Elicitation<U> {
        match self {
            Elicitation::Accept(t) => Elicitation::Accept(f(t)),
            Elicitation::Decline => Elicitation::Decline,
            Elicitation::Cancel => Elicitation::Cancel,
        }
    }
}
