//! Multi round-trip requests (2026-07-28): a `tools/call`, `prompts/get` or
//! `resources/read` may be answered with `resultType: "input_required"`. The client
//! answers its input requests with its handlers, then retries the request under a new id
//! with the same params plus `inputResponses` and the `requestState` echoed verbatim.

use std::collections::BTreeMap;

use oxmcp_protocol::method::{PROMPTS_GET, RESOURCES_READ, TOOLS_CALL};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::handlers::Refusal;
use super::{CallOptions, Client};
use crate::error::{Error, Result};

/// The default bound on input rounds of one call.
pub(crate) const DEFAULT_MAX_INPUT_ROUNDS: usize = 8;

/// The methods a server may answer with `input_required`.
const MRTR_METHODS: [&str; 3] = [TOOLS_CALL, PROMPTS_GET, RESOURCES_READ];

/// What a result said it is.
enum Outcome {
    Complete,
    /// A task (the tasks extension) a `tools/call` started, for the caller to follow.
    Task,
    InputRequired(InputRequired),
}

/// An `InputRequiredResult`, with each input request's params kept raw until a handler
/// decodes them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputRequired {
    #[serde(default)]
    input_requests: Option<BTreeMap<String, RawInputRequest>>,
    #[serde(default)]
    request_state: Option<String>,
}

#[derive(Deserialize)]
struct RawInputRequest {
    method: String,
    #[serde(default)]
    params: Option<Box<RawValue>>,
}

/// A request's complete result (or the task a `tools/call` started): taken by the
/// caller's `pass` as it is, or as the server wrote it.
pub(super) enum Classified<T> {
    Passed(T),
    Result(Box<RawValue>),
}

/// What the retry carries.
#[derive(Default)]
struct Retry {
    input_responses: Option<Map<String, Value>>,
    request_state: Option<String>,
}

impl Client {
    /// Sends a request and returns its complete result, answering input rounds on the way.
    pub(super) async fn request_raw(
        &self,
        method: &str,
        params: impl Into<super::OutParams>,
        options: CallOptions,
    ) -> Result<Box<RawValue>> {
        let never = |_: &RawValue| None::<std::convert::Infallible>;
        match self
            .request_classified(method, params, options, never)
            .await?
        {
            Classified::Result(raw) => Ok(raw),
            Classified::Passed(never) => match never {},
        }
    }

    /// [`Client::request_raw`], where a result is first offered to
    /// `pass`, which takes it as it is (`Some`) only if it is complete (no `resultType`, or
    /// `"complete"`); else (`None`) it is read here as usual: input rounds, a task.
    pub(super) async fn request_classified<T>(
        &self,
        method: &str,
        params: impl Into<super::OutParams>,
        options: CallOptions,
        pass: impl Fn(&RawValue) -> Option<T>,
    ) -> Result<Classified<T>> {
        let params = params.into();
        let max_rounds = self.inner.max_input_rounds;
        let mut retry = Retry::default();
        let mut round = 0;
        loop {
            // What this round adds to the params (nothing in the first).
            let mut extra = Map::new();
            if let Some(responses) = retry.input_responses.take() {
                extra.insert("inputResponses".into(), Value::Object(responses));
            }
            if let Some(state) = retry.request_state.take() {
                extra.insert("requestState".into(), Value::String(state));
            }
            let raw = self.send_once(method, &params, extra, &options).await?;
            if let Some(passed) = pass(&raw) {
                return Ok(Classified::Passed(passed));
            }
            let required = match classify(&raw, method)? {
                Outcome::Complete | Outcome::Task => return Ok(Classified::Result(raw)),
                Outcome::InputRequired(required) => required,
            };
            if !(self.inner.version.is_modern() && MRTR_METHODS.contains(&method)) {
                return Err(Error::protocol(format!(
                    "the server answered {method} with resultType \"input_required\", which only \
                     tools/call, prompts/get and resources/read may do (2026-07-28)"
                )));
            }
            if round == max_rounds {
                return Err(Error::protocol(format!(
                    "the server still required input after {max_rounds} rounds of {method} \
                     (raise the bound with ClientBuilder::max_input_rounds)"
                )));
            }
            round += 1;
            retry = Retry {
                input_responses: match required.input_requests {
                    Some(requests) if !requests.is_empty() => {
                        Some(self.fulfil(method, requests, &options).await?)
                    }
                    _ => None,
                },
                request_state: required.request_state,
            };
        }
    }

    /// Answers every input request of one round, concurrently.
    /// Answers the server's input requests with the client's handlers: the
    /// `inputResponses` of the retry (or of `tasks/update`), by key.
    pub(super) async fn fulfil_raw(
        &self,
        origin: &str,
        requests: &RawValue,
        options: &CallOptions,
    ) -> Result<Map<String, Value>> {
        let requests: BTreeMap<String, RawInputRequest> = serde_json::from_str(requests.get())
            .map_err(|e| Error::serde("decode the task's inputRequests", e))?;
        self.fulfil(origin, requests, options).await
    }

    async fn fulfil(
        &self,
        origin: &str,
        requests: BTreeMap<String, RawInputRequest>,
        options: &CallOptions,
    ) -> Result<Map<String, Value>> {
        let mut answers = Vec::with_capacity(requests.len());
        for (key, request) in requests {
            let answer = self
                .inner
                .handlers
                .answer(&request.method, request.params.as_deref())
                .map_err(|refusal| refused(origin, &key, &request.method, refusal))?;
            let method = request.method;
            answers.push(async move {
                match answer.await {
                    Ok(result) => Ok((key, result)),
                    Err(error) => Err(Error::handler(
                        format!("answering input request {key:?} ({method}) of {origin}"),
                        error,
                    )),
                }
            });
        }
        let all = futures_util::future::try_join_all(answers);
        let never = tokio_util::sync::CancellationToken::new();
        let cancel = options.cancel.as_ref().unwrap_or(&never);
        let answers = tokio::select! {
            answers = all => answers?,
            _ = cancel.cancelled() => return Err(Error::cancelled()),
            _ = self.inner.peer.closed().cancelled() => return Err(Error::closed()),
        };
        Ok(answers.into_iter().collect())
    }
}

/// A result's `resultType`, if it has one.
///
/// An object whose text does not name the member has none, and is not read again (a
/// legacy server's results): the name could only hide behind `\u` escapes, and a text
/// with any is read.
pub(super) fn result_type(raw: &RawValue) -> Result<Option<std::borrow::Cow<'_, str>>> {
    let text = raw.get().as_bytes();
    if text.first() == Some(&b'{')
        && memchr::memmem::find(text, b"\"resultType\"").is_none()
        && memchr::memmem::find(text, b"\\u").is_none()
    {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Peek<'a> {
        #[serde(rename = "resultType", borrow, default)]
        result_type: Option<std::borrow::Cow<'a, str>>,
    }
    let peek: Peek<'_> =
        serde_json::from_str(raw.get()).map_err(|e| Error::serde("decode the result", e))?;
    Ok(peek.result_type)
}

/// Reads a result's `resultType`.
fn classify(raw: &RawValue, method: &str) -> Result<Outcome> {
    match result_type(raw)?.as_deref() {
        None | Some("complete") => Ok(Outcome::Complete),
        Some("task") if method == TOOLS_CALL => Ok(Outcome::Task),
        Some("input_required") => serde_json::from_str(raw.get())
            .map(Outcome::InputRequired)
            .map_err(|e| Error::serde("decode the input_required result", e)),
        Some(other) => Err(Error::protocol(format!("unsupported resultType {other:?}"))),
    }
}

/// The error for an input request no handler answers.
fn refused(origin: &str, key: &str, method: &str, refusal: Refusal) -> Error {
    match refusal {
        Refusal::NoHandler(what) => Error::unsupported(format!(
            "the server asked for {method} (input request {key:?} of {origin}) and this client \
             has no {what} handler (set one with ClientBuilder::on_{})",
            match what {
                "roots" => "roots or ClientBuilder::roots",
                other => other,
            }
        )),
        Refusal::UnknownMethod => Error::protocol(format!(
            "input request {key:?} of {origin} has method {method:?}, which is not \
             sampling/createMessage, elicitation/create or roots/list"
        )),
        Refusal::BadParams(e) => Error::protocol(format!(
            "input request {key:?} ({method}) of {origin} has invalid params: {}",
            crate::rpc::frame::strip_position(&e)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peeked(text: &str) -> Result<Option<String>> {
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        result_type(&raw).map(|t| t.map(|t| t.into_owned()))
    }

    #[test]
    fn the_result_type_is_found_however_the_result_is_written() {
        assert_eq!(peeked(r#"{"content":[]}"#).unwrap(), None);
        assert_eq!(
            peeked(r#"{"resultType":"task"}"#).unwrap().as_deref(),
            Some("task")
        );
        // The name written with escapes, or only in a string: read, not guessed.
        let escaped = r#"{"result\u0054ype":"input_required"}"#;
        assert_eq!(peeked(escaped).unwrap().as_deref(), Some("input_required"));
        let quoted = r#"{"content":[{"type":"text","text":"\"resultType\""}]}"#;
        assert_eq!(peeked(quoted).unwrap(), None);
        // What is not an object is read as before.
        assert!(peeked("1").is_err());
    }
}
