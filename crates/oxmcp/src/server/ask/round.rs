//! The question engine of multi round-trip requests (2026-07-28).
//!
//! A modern request that asks the client something is answered in rounds. Each round runs
//! the handler from the start. A question whose answer the round knows resolves at once; one
//! it does not know is recorded, and its future never resolves. As soon as the handler stops
//! making progress with questions open, the round ends with an `InputRequiredResult` holding
//! every open question and the sealed state, and the handler future is dropped.
//!
//! Questions are matched to answers by what they ask, not by when: the n-th question with
//! given params takes the n-th answer given to such a question. Reordering unrelated
//! questions (a `select!`) is harmless, and a question whose params changed between rounds
//! (the handler read something that changed) is asked again rather than given a stale
//! answer. Wire keys are `<kind>-<n>`, numbered in the order questions were first asked
//! (`elicit-0`, `sample-1`, ...) and kept across rounds.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use oxmcp_protocol::jsonrpc::ErrorObject;
use oxmcp_protocol::mrtr::{InputRequest, InputRequiredResult};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::seal::{short_digest, Binding, Sealer};

/// What the sealed state of a round holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Carried {
    /// The next key number.
    #[serde(default)]
    n: u64,
    /// The questions of the round, in the order they were asked.
    #[serde(default)]
    q: Vec<Entry>,
}

/// One question of a round: its wire key, the digest of what it asks, and its answer
/// (`None` while open).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    k: String,
    d: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<Value>,
}

/// The members of a modern request's params that carry a retry: the answers to the
/// previous round's questions and its sealed state.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Retry<'a> {
    /// `inputResponses`, as sent.
    pub(crate) input_responses: Option<&'a RawValue>,
    /// `requestState`, as sent.
    pub(crate) request_state: Option<&'a str>,
}

/// One round of a modern request that may ask questions.
#[derive(Debug)]
pub(crate) struct Round {
    sealer: Sealer,
    method: &'static str,
    /// The request's params, for the binding of the state sealed at the end of the round.
    params: Option<Box<RawValue>>,
    state: Mutex<State>,
    /// Fires when the round has ended (its result is on its way).
    ended: CancellationToken,
}
#[derive(Debug, Default)]
struct State {
    /// The questions of the previous round, from `requestState`.
    previous: Vec<Entry>,
    /// This round's `inputResponses`.
    responses: BTreeMap<String, Value>,
    next_key: u64,
    /// The questions of this run, in call order.
    asked: Vec<Entry>,
    /// The open questions of this run, by key.
    open: Vec<(String, InputRequest)>,
    /// How often each digest was asked in this run.
    seen: HashMap<String, usize>,
    waker: Option<Waker>,
    ended: bool,
}

/// How a request run under a round ended.
#[derive(Debug)]
pub(crate) enum Driven<T> {
    /// The handler finished.
    Done(T),
    /// The handler waits on answers the client must give first.
    InputRequired(InputRequiredResult),
}

impl Round {
    /// Starts a round of a `method` request (`tools/call`, `prompts/get`,
    /// `resources/read`) from its params, which carry `requestState` and `inputResponses`
    /// from the second round on.
    ///
    /// # Errors
    /// `-32602` when `inputResponses` is not an object, or the state does not open (see
    /// [`Sealer::open`]).
    pub(crate) fn start(
        sealer: Sealer,
        method: &'static str,
        retry: Retry<'_>,
        target: &crate::server::extract::Target,
        arguments: Option<&RawValue>,
    ) -> Result<Round, ErrorObject> {
        let params = salient(target, arguments);
        let responses: BTreeMap<String, Value> = match retry.input_responses {
            Some(raw) if raw.get() != "null" => serde_json::from_str(raw.get()).map_err(|e| {
                ErrorObject::invalid_params(format!(
                    "invalid inputResponses: {} (expected an object of results, by the keys of inputRequests)",
                    crate::rpc::frame::strip_position(&e)
                ))
            })?,
            _ => BTreeMap::new(),
        };
        let carried: Carried = match retry.request_state {
            Some(sealed) => sealer
                .open(sealed, &binding(method, params.as_deref()))
                .map_err(|e| e.to_error_object())?,
            // Answers without state answer nothing we asked: ignored, as unknown keys are.
            None => Carried::default(),
        };
        Ok(Round {
            sealer,
            method,
            params,
            state: Mutex::new(State {
                previous: carried.q,
                responses,
                next_key: carried.n,
                ..State::default()
            }),
            ended: CancellationToken::new(),
        })
    }

    /// A first round (no retry), opened by the request's first question: bound to
    /// `method` and what the request targets, as [`Round::start`] binds a retry.
    pub(crate) fn fresh(
        sealer: Sealer,
        method: &'static str,
        target: &crate::server::extract::Target,
        arguments: Option<&RawValue>,
    ) -> Round {
        let params = salient(target, arguments);
        Round {
            sealer,
            method,
            params,
            state: Mutex::default(),
            ended: CancellationToken::new(),
        }
    }

    /// Ends the round: questions still waiting get no answer.
    pub(crate) fn end(&self) {
        self.ended.cancel();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer to `request`, if this round has it. Otherwise records the question as
    /// open (the round then ends asking it) and returns `None`.
    ///
    /// A question asked under a `key` of the handler's choosing is matched by that key, and
    /// also takes an answer given without any state (the key is the contract).
    pub(crate) fn answer(
        &self,
        kind: &str,
        request: InputRequest,
        key: Option<&str>,
    ) -> Option<Value> {
        if self.ended.is_cancelled() {
            return None;
        }
        let digest = short_digest(&serde_json::to_value(&request).unwrap_or_default());
        let mut state = self.lock();
        let nth = {
            let seen = state.seen.entry(digest.clone()).or_insert(0);
            *seen += 1;
            *seen - 1
        };
        let earlier = match key {
            Some(key) => state
                .previous
                .iter()
                .find(|e| e.k == key && e.d == digest)
                .cloned(),
            None => state
                .previous
                .iter()
                .filter(|e| e.d == digest)
                .nth(nth)
                .cloned(),
        };
        let (key, answer) = match (earlier, key) {
            (Some(Entry { k, a: Some(a), .. }), _) => (k, Some(a)),
            (Some(Entry { k, a: None, .. }), _) => {
                let answer = state.responses.get(&k).cloned();
                (k, answer)
            }
            (None, Some(key)) => (key.to_owned(), state.responses.get(key).cloned()),
            (None, None) => {
                let key = format!("{kind}-{}", state.next_key);
                state.next_key += 1;
                (key, None)
            }
        };
        state.asked.push(Entry {
            k: key.clone(),
            d: digest,
            a: answer.clone(),
        });
        if answer.is_none() && !state.ended {
            state.open.push((key, request));
            if let Some(waker) = &state.waker {
                waker.wake_by_ref();
            }
        }
        answer
    }

    /// Whether questions are open.
    pub(crate) fn has_open(&self) -> bool {
        !self.lock().open.is_empty()
    }

    /// Ends the round with its open questions and the sealed state.
    pub(crate) fn input_required(&self) -> InputRequiredResult {
        self.ended.cancel();
        let mut state = self.lock();
        state.ended = true;
        let carried = Carried {
            n: state.next_key,
            q: std::mem::take(&mut state.asked),
        };
        let requests = std::mem::take(&mut state.open).into_iter().collect();
        InputRequiredResult::new()
            .with_input_requests(requests)
            .with_request_state(
                self.sealer
                    .seal(&binding(self.method, self.params.as_deref()), &carried),
            )
    }

    /// Fires when the round has ended: questions still waiting (asked from a task that
    /// outlived the handler) will get no answer.
    pub(crate) fn ended(&self) -> &CancellationToken {
        &self.ended
    }

    /// Runs a request's handler in this round: its output, or the input it needs first.
    #[cfg(test)]
    pub(crate) async fn drive<F: std::future::Future>(&self, handler: F) -> Driven<F::Output> {
        use std::future::poll_fn;
        use std::pin::pin;
        use std::task::Poll;
        let mut handler = pin!(handler);
        let driven = poll_fn(|cx| {
            self.lock().waker = Some(cx.waker().clone());
            match handler.as_mut().poll(cx) {
                Poll::Ready(output) => Poll::Ready(Driven::Done(output)),
                Poll::Pending if self.has_open() => {
                    Poll::Ready(Driven::InputRequired(self.input_required()))
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        self.ended.cancel();
        driven
    }
}

/// What a request's state is bound to: the method, and the name, arguments and URI of
/// the request (absent arguments count as `{}`).
/// What a round binds its state to: the request's target and arguments, as params (what
/// an item's layers see as its params too).
pub(crate) fn salient(
    target: &crate::server::extract::Target,
    arguments: Option<&RawValue>,
) -> Option<Box<RawValue>> {
    use crate::server::extract::Target;
    #[derive(Serialize)]
    struct Salient<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        arguments: Option<&'a RawValue>,
        #[serde(skip_serializing_if = "Option::is_none")]
        uri: Option<&'a str>,
    }
    let (name, uri) = match target {
        Target::Tool(name) | Target::Prompt(name) => (Some(name.as_str()), None),
        Target::Resource { uri, .. } => (None, Some(uri.as_str())),
        Target::Method(_) => (None, None),
    };
    serde_json::value::to_raw_value(&Salient {
        name,
        arguments,
        uri,
    })
    .ok()
}

fn binding(method: &str, params: Option<&RawValue>) -> Binding {
    #[derive(Deserialize, Default)]
    struct Salient {
        #[serde(default)]
        name: Value,
        #[serde(default)]
        arguments: Value,
        #[serde(default)]
        uri: Value,
    }
    let salient: Salient = params
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_default();
    let arguments = match salient.arguments {
        Value::Null => Value::Object(serde_json::Map::new()),
        arguments => arguments,
    };
    Binding::new(
        method,
        &serde_json::json!({"name": salient.name, "arguments": arguments, "uri": salient.uri}),
    )
}

/// The retry members of `params` (tests).
#[cfg(test)]
pub(crate) fn retry_of(params: &RawValue) -> Retry<'_> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Members<'a> {
        #[serde(borrow, default)]
        input_responses: Option<&'a RawValue>,
        #[serde(borrow, default)]
        request_state: Option<&'a str>,
    }
    let members: Members<'_> = serde_json::from_str(params.get()).unwrap();
    Retry {
        input_responses: members.input_responses,
        request_state: members.request_state,
    }
}

/// [`Round::start`] from a request's raw params (tests): the target is the params' `uri`
/// for `resources/read`, its `name` otherwise.
#[cfg(test)]
pub(crate) fn start_raw(
    sealer: Sealer,
    method: &'static str,
    params: &RawValue,
) -> Result<Round, ErrorObject> {
    use crate::server::extract::Target;
    #[derive(Deserialize)]
    struct Named<'a> {
        #[serde(default)]
        name: String,
        #[serde(default)]
        uri: String,
        #[serde(borrow, default)]
        arguments: Option<&'a RawValue>,
    }
    let named: Named<'_> = serde_json::from_str(params.get()).unwrap();
    let target = match method {
        "resources/read" => Target::Resource {
            uri: named.uri,
            variables: Vec::new(),
        },
        "prompts/get" => Target::Prompt(named.name),
        _ => Target::Tool(named.name),
    };
    Round::start(sealer, method, retry_of(params), &target, named.arguments)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use oxmcp_protocol::elicitation::{ElicitRequestFormParams, RequestedSchema};
    use serde_json::json;

    use super::super::seal::{KeyRing, DEFAULT_TTL};
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(KeyRing::new("k", [3u8; 32]), "test", DEFAULT_TTL)
    }

    /// The params of a `tools/call` of `t`, with the retry members given.
    fn params(state: Option<&str>, responses: Value) -> Box<RawValue> {
        let mut p = json!({"name": "t", "arguments": {"x": 1}, "inputResponses": responses});
        if let Some(state) = state {
            p["requestState"] = json!(state);
        }
        RawValue::from_string(p.to_string()).unwrap()
    }

    fn question(message: &str) -> InputRequest {
        InputRequest::Elicit(ElicitRequestFormParams::new(message, RequestedSchema::new()).into())
    }

    fn round(state: Option<&str>, responses: Value) -> Round {
        let params = params(state, responses);
        start_raw(sealer(), "tools/call", &params).unwrap()
    }

    /// A handler asking `messages` one after the other; returns the answers.
    async fn sequential(round: &Round, messages: &[&str]) -> Driven<Vec<Value>> {
        round
            .drive(async {
                let mut answers = Vec::new();
                for m in messages {
                    match round.answer("elicit", question(m), None) {
                        Some(a) => answers.push(a),
                        None => std::future::pending::<()>().await,
                    }
                }
                answers
            })
            .await
    }

    fn input_required<T: std::fmt::Debug>(d: Driven<T>) -> InputRequiredResult {
        match d {
            Driven::InputRequired(r) => r,
            Driven::Done(v) => panic!("expected input_required, got {v:?}"),
        }
    }

    fn keys(r: &InputRequiredResult) -> Vec<String> {
        r.input_requests.as_ref().unwrap().keys().cloned().collect()
    }

    #[tokio::test]
    async fn questions_are_asked_and_answered_round_by_round() {
        let r1 = input_required(sequential(&round(None, json!({})), &["a", "b"]).await);
        assert_eq!(keys(&r1), ["elicit-0"]);
        let state1 = r1.request_state.unwrap();

        // Round 2 answers a; b is asked.
        let r2 = round(Some(&state1), json!({"elicit-0": {"action": "decline"}}));
        let r2 = input_required(sequential(&r2, &["a", "b"]).await);
        assert_eq!(keys(&r2), ["elicit-1"]);
        let state2 = r2.request_state.unwrap();

        // Round 3 answers b; a's answer comes from the state.
        let r3 = round(
            Some(&state2),
            json!({"elicit-1": {"action": "cancel"}, "stray": {"action": "accept"}}),
        );
        match sequential(&r3, &["a", "b"]).await {
            Driven::Done(answers) => {
                assert_eq!(
                    answers,
                    [json!({"action": "decline"}), json!({"action": "cancel"})]
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_missing_answer_is_asked_again_under_its_key() {
        let r1 = input_required(sequential(&round(None, json!({})), &["a"]).await);
        let state = r1.request_state.unwrap();
        let r2 =
            input_required(sequential(&round(Some(&state), json!({"other": {}})), &["a"]).await);
        assert_eq!(keys(&r2), ["elicit-0"]);
        assert_eq!(r2.input_requests, r1.input_requests);
    }

    #[tokio::test]
    async fn concurrent_questions_are_batched() {
        let rnd = round(None, json!({}));
        let ask = |m: &'static str| {
            let rnd = &rnd;
            async move {
                match rnd.answer("elicit", question(m), None) {
                    Some(a) => a,
                    None => std::future::pending().await,
                }
            }
        };
        let r = input_required(rnd.drive(async { tokio::join!(ask("a"), ask("b")) }).await);
        assert_eq!(keys(&r), ["elicit-0", "elicit-1"]);
        let state = r.request_state.unwrap();

        // Answered in one retry, even if asked in the other order.
        let rnd = round(
            Some(&state),
            json!({"elicit-0": {"action": "accept", "content": {}}, "elicit-1": {"action": "cancel"}}),
        );
        let ask = |m: &'static str| {
            let rnd = &rnd;
            async move { rnd.answer("elicit", question(m), None).unwrap() }
        };
        match rnd.drive(async { tokio::join!(ask("b"), ask("a")) }).await {
            Driven::Done((b, a)) => {
                assert_eq!(a["action"], "accept");
                assert_eq!(b["action"], "cancel");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_changed_question_is_asked_again() {
        let r1 = input_required(sequential(&round(None, json!({})), &["delete 3 files?"]).await);
        let state = r1.request_state.unwrap();
        let r2 = round(Some(&state), json!({"elicit-0": {"action": "accept"}}));
        let r2 = input_required(sequential(&r2, &["delete 4 files?"]).await);
        assert_eq!(keys(&r2), ["elicit-1"], "a new question gets a new key");
    }

    #[tokio::test]
    async fn questions_from_other_tasks_end_the_round() {
        let rnd = std::sync::Arc::new(round(None, json!({})));
        let asker = rnd.clone();
        let r = rnd
            .drive(async move {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    asker.answer("roots", InputRequest::ListRoots(None), None)
                });
                std::future::pending::<()>().await
            })
            .await;
        assert_eq!(keys(&input_required(r)), ["roots-0"]);
    }

    #[tokio::test]
    async fn a_finished_handler_wins() {
        let rnd = round(None, json!({}));
        let out = rnd
            .drive(async {
                let _ = rnd.answer("elicit", question("a"), None);
                7
            })
            .await;
        assert!(matches!(out, Driven::Done(7)));
    }

    #[test]
    fn bad_state_and_responses_are_refused() {
        let bad = params(Some("v1.k.x.y"), json!({}));
        let e = start_raw(sealer(), "tools/call", &bad).unwrap_err();
        assert_eq!(e.code, -32602);
        assert!(e.message.contains("invalid requestState"), "{}", e.message);

        // State of a call with other arguments, of another tool, of another method.
        let sealed = sealer().seal(
            &binding("tools/call", Some(&params(None, json!({})))),
            &Carried::default(),
        );
        let other_args = json!({"name": "t", "arguments": {"x": 2}, "requestState": sealed});
        let other_tool = json!({"name": "u", "arguments": {"x": 1}, "requestState": sealed});
        let same = json!({"arguments": {"x": 1}, "name": "t", "requestState": sealed});
        for (method, p, ok) in [
            ("tools/call", other_args, false),
            ("tools/call", other_tool, false),
            ("prompts/get", same.clone(), false),
            ("tools/call", same, true),
        ] {
            let raw = RawValue::from_string(p.to_string()).unwrap();
            match start_raw(sealer(), method, &raw) {
                Ok(_) => assert!(ok, "{method} {p}"),
                Err(e) => {
                    assert!(!ok, "{method} {p}: {}", e.message);
                    assert!(e.message.contains("different request"), "{}", e.message);
                }
            }
        }

        let bad = RawValue::from_string(r#"{"name": "t", "inputResponses": [1]}"#.into()).unwrap();
        let e = start_raw(sealer(), "tools/call", &bad).unwrap_err();
        assert!(
            e.message.starts_with("invalid inputResponses"),
            "{}",
            e.message
        );
    }

    #[test]
    fn missing_arguments_bind_like_empty_ones() {
        let none = RawValue::from_string(r#"{"name": "t"}"#.into()).unwrap();
        let empty = RawValue::from_string(r#"{"name": "t", "arguments": {}}"#.into()).unwrap();
        assert_eq!(
            binding("tools/call", Some(&none)),
            binding("tools/call", Some(&empty))
        );
        let uri = RawValue::from_string(r#"{"uri": "a://b"}"#.into()).unwrap();
        let other = RawValue::from_string(r#"{"uri": "a://c"}"#.into()).unwrap();
        assert_ne!(
            binding("resources/read", Some(&uri)),
            binding("resources/read", Some(&other))
        );
    }

    #[tokio::test]
    async fn named_questions_take_answers_by_their_key_even_without_state() {
        // No requestState at all: the answer under the named key is taken.
        let r = round(
            None,
            json!({"user_name": {"action": "accept", "content": {"name": "Alice"}}, "extra": {}}),
        );
        assert!(r
            .answer("elicit", question("What is your name?"), Some("user_name"))
            .is_some());
        // A generated key would not be.
        let r = round(None, json!({"elicit-0": {"action": "accept"}}));
        assert!(r
            .answer("elicit", question("What is your name?"), None)
            .is_none());
        // Unanswered, it is asked under its own key.
        let r = round(None, json!({}));
        assert!(r
            .answer("elicit", question("Why?"), Some("reason"))
            .is_none());
        assert_eq!(keys(&r.input_required()), ["reason"]);
    }
}
