use std::sync::Arc;

use oxmcp_protocol::mrtr::InputRequiredResult;
use oxmcp_protocol::sampling::SamplingMessage;
use oxmcp_protocol::tools::Tool;
use oxmcp_protocol::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::super::round::{start_raw, Driven};
use super::super::seal::{KeyRing, Sealer, DEFAULT_TTL};
use super::*;
use crate::rpc::{Dispatch, NotificationCx, RequestCx, Responder};

#[derive(Deserialize, JsonSchema, Debug, PartialEq)]
struct Login {
    /// Your GitHub login.
    name: String,
    #[serde(default)]
    remember: bool,
}

const MODERN: ProtocolVersion = ProtocolVersion::V2026_07_28;

fn caps(v: Value) -> ClientCapabilities {
    serde_json::from_value(v).unwrap()
}

struct Fixture {
    peer: Peer,
    outbound: Outbound,
    rx: tokio::sync::mpsc::Receiver<crate::rpc::OutFrame>,
}

fn fixture() -> Fixture {
    let (outbound, rx) = Outbound::channel();
    Fixture {
        peer: Peer::new(4),
        outbound,
        rx,
    }
}

/// Tests drive handlers themselves; nothing listens to this.
static NO_DRIVER: futures_util::task::AtomicWaker = futures_util::task::AtomicWaker::new();

fn sealer() -> Sealer {
    Sealer::new(KeyRing::new("k", [5u8; 32]), "test", DEFAULT_TTL)
}

fn modern_round(state: Option<&str>, responses: Value) -> Channel {
    let mut params = json!({"name": "login", "inputResponses": responses});
    if let Some(state) = state {
        params["requestState"] = json!(state);
    }
    let params = RawValue::from_string(params.to_string()).unwrap();
    Channel::Modern(Arc::new(
        start_raw(sealer(), "tools/call", &params).unwrap(),
    ))
}

fn asking<'a>(
    f: &'a Fixture,
    channel: &'a Channel,
    version: ProtocolVersion,
    c: Value,
) -> Asking<'a> {
    Asking {
        version,
        capabilities: caps(c),
        channel,
        peer: &f.peer,
        outbound: &f.outbound,
        driver: &NO_DRIVER,
        key: None,
        timeout: crate::server::limits::DEFAULT_QUESTION_TIMEOUT,
    }
}

async fn drive<T: std::fmt::Debug>(
    channel: &Channel,
    fut: impl std::future::Future<Output = T>,
) -> Driven<T> {
    let Channel::Modern(round) = channel else {
        panic!("not modern")
    };
    round.drive(fut).await
}

fn input_required<T: std::fmt::Debug>(d: Driven<T>) -> InputRequiredResult {
    match d {
        Driven::InputRequired(r) => r,
        Driven::Done(v) => panic!("expected input_required, got {v:?}"),
    }
}

#[tokio::test]
async fn modern_elicitation_takes_two_rounds() {
    let f = fixture();
    let channel = modern_round(None, json!({}));
    let a = asking(&f, &channel, MODERN, json!({"elicitation": {}}));
    let r = input_required(drive(&channel, a.elicit::<Login>("Who are you?".into())).await);
    let wire = serde_json::to_value(&r).unwrap();
    assert_eq!(wire["resultType"], "input_required");
    assert_eq!(
        wire["inputRequests"],
        json!({"elicit-0": {"method": "elicitation/create", "params": {
            "mode": "form", "message": "Who are you?",
            "requestedSchema": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "description": "Your GitHub login."},
                "remember": {"type": "boolean", "default": false}
            }}
        }}})
    );
    let state = r.request_state.unwrap();

    let channel = modern_round(
        Some(&state),
        json!({"elicit-0": {"action": "accept", "content": {"name": "octocat"}}}),
    );
    let a = asking(&f, &channel, MODERN, json!({"elicitation": {}}));
    match drive(&channel, a.elicit::<Login>("Who are you?".into())).await {
        Driven::Done(Ok(Elicitation::Accept(login))) => assert_eq!(
            login,
            Login {
                name: "octocat".into(),
                remember: false
            }
        ),
        other => panic!("{other:?}"),
    }

    // Declined and cancelled forms.
    for (action, expected) in [
        ("decline", Elicitation::Decline),
        ("cancel", Elicitation::Cancel),
    ] {
        let channel = modern_round(Some(&state), json!({"elicit-0": {"action": action}}));
        let a = asking(&f, &channel, MODERN, json!({"elicitation": {}}));
        match drive(&channel, a.elicit::<Login>("Who are you?".into())).await {
            Driven::Done(Ok(e)) => assert_eq!(e, expected),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_answers_are_invalid_responses() {
    let f = fixture();
    let channel = modern_round(None, json!({}));
    let a = asking(&f, &channel, MODERN, json!({"elicitation": {}}));
    let state = input_required(drive(&channel, a.elicit::<Login>("?".into())).await)
        .request_state
        .unwrap();
    for (answer, needle) in [
        (json!({"action": "maybe"}), "unknown variant"),
        (
            json!({"action": "accept", "content": {}}),
            "required field `name` is missing",
        ),
        (
            json!({"action": "accept", "content": {"name": 5}}),
            "field `name`: expected a string",
        ),
    ] {
        let channel = modern_round(Some(&state), json!({ "elicit-0": answer }));
        let a = asking(&f, &channel, MODERN, json!({"elicitation": {}}));
        match drive(&channel, a.elicit::<Login>("?".into())).await {
            Driven::Done(Err(e)) => {
                assert!(e.is_invalid_response(), "{e}");
                assert!(e.to_string().contains(needle), "{e}");
                assert_eq!(e.to_error_object().code, -32602);
            }
            other => panic!("{answer}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn capabilities_are_checked_before_asking() {
    let mut f = fixture();
    let channel = modern_round(None, json!({}));
    let a = asking(&f, &channel, MODERN, json!({}));
    let e = a.elicit::<Login>("?".into()).await.unwrap_err();
    assert_eq!(
        e.required_capabilities(),
        Some(&caps(json!({"elicitation": {"form": {}}})))
    );
    assert_eq!(e.to_error_object().code, -32021);
    assert!(e.to_string().contains("did not declare"), "{e}");

    let a = asking(&f, &channel, MODERN, json!({"elicitation": {"form": {}}}));
    let e = a
        .elicit_url("Sign in".into(), "https://x.test/".into())
        .await
        .unwrap_err();
    assert_eq!(
        e.required_capabilities(),
        Some(&caps(json!({"elicitation": {"url": {}}})))
    );
    // URL-only clients get no forms.
    let a = asking(&f, &channel, MODERN, json!({"elicitation": {"url": {}}}));
    assert!(a
        .elicit::<Login>("?".into())
        .await
        .unwrap_err()
        .is_missing_capability());

    let a = asking(&f, &channel, MODERN, json!({}));
    let e = a.list_roots().await.unwrap_err();
    assert_eq!(e.required_capabilities(), Some(&caps(json!({"roots": {}}))));
    let e = a.sample(sampling()).await.unwrap_err();
    assert_eq!(
        e.required_capabilities(),
        Some(&caps(json!({"sampling": {}})))
    );
    let a = asking(&f, &channel, MODERN, json!({"sampling": {}}));
    let with_tools = sampling().with_tools(vec![Tool::new("t", JsonObject::new())]);
    let e = a.sample(with_tools.clone()).await.unwrap_err();
    assert_eq!(
        e.required_capabilities(),
        Some(&caps(json!({"sampling": {"tools": {}}})))
    );

    // Older revisions lack the feature whatever they declare.
    let legacy = Channel::Legacy;
    let a = asking(
        &f,
        &legacy,
        ProtocolVersion::V2025_03_26,
        json!({"elicitation": {}}),
    );
    let e = a.elicit::<Login>("?".into()).await.unwrap_err();
    assert!(e.to_string().contains("2025-03-26, which has no"), "{e}");
    let a = asking(
        &f,
        &legacy,
        ProtocolVersion::V2025_06_18,
        json!({"sampling": {"tools": {}}}),
    );
    assert!(a
        .sample(with_tools)
        .await
        .unwrap_err()
        .is_missing_capability());
    let a = asking(
        &f,
        &legacy,
        ProtocolVersion::V2025_06_18,
        json!({"elicitation": {"url": {}}}),
    );
    assert!(a
        .elicit_url("m".into(), "https://x.test/".into())
        .await
        .unwrap_err()
        .is_missing_capability());
    // Nothing was sent.
    assert!(f.rx.try_recv().is_err());
}

#[tokio::test]
async fn unrepresentable_forms_fail_at_call_time() {
    #[derive(Deserialize, JsonSchema, Debug)]
    #[allow(dead_code)]
    struct Deep {
        inner: Login,
    }
    let f = fixture();
    let channel = modern_round(None, json!({}));
    let a = asking(&f, &channel, MODERN, json!({"elicitation": {}}));
    let e = a.elicit::<Deep>("?".into()).await.unwrap_err();
    assert!(e.is_unsupported_schema());
    assert!(e.to_string().contains("field `inner`"), "{e}");
}

#[tokio::test]
async fn questions_are_refused_where_they_cannot_be_asked() {
    let f = fixture();
    let channel = Channel::Unavailable("completion/complete".into());
    let a = asking(&f, &channel, MODERN, json!({"roots": {}}));
    let e = a.list_roots().await.unwrap_err();
    assert!(
        e.to_string()
            .contains("while answering completion/complete"),
        "{e}"
    );
}

fn sampling() -> CreateMessageRequestParams {
    CreateMessageRequestParams::new(vec![SamplingMessage::user_text("2+2?")], 10)
}

#[tokio::test]
async fn modern_questions_asked_together_are_batched() {
    let f = fixture();
    let c = json!({"sampling": {}, "roots": {}, "elicitation": {"url": {}}});
    let channel = modern_round(None, json!({}));
    let a = asking(&f, &channel, MODERN, c.clone());
    let r = input_required(
        drive(&channel, async {
            tokio::join!(
                a.sample(sampling()),
                a.list_roots(),
                a.elicit_url("Sign in".into(), "https://x.test/login".into())
            )
        })
        .await,
    );
    let wire = serde_json::to_value(&r).unwrap();
    let requests = &wire["inputRequests"];
    assert_eq!(requests["sample-0"]["method"], "sampling/createMessage");
    assert_eq!(requests["roots-1"], json!({"method": "roots/list"}));
    assert_eq!(
        requests["elicit-2"]["params"],
        json!({"mode": "url", "message": "Sign in", "url": "https://x.test/login"})
    );

    let state = r.request_state.unwrap();
    let channel = modern_round(
        Some(&state),
        json!({
            "sample-0": {"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "m"},
            "roots-1": {"roots": [{"uri": "file:///src", "name": "src"}]},
            "elicit-2": {"action": "accept"}
        }),
    );
    let a = asking(&f, &channel, MODERN, c);
    match drive(&channel, async {
        tokio::join!(
            a.sample(sampling()),
            a.list_roots(),
            a.elicit_url("Sign in".into(), "https://x.test/login".into())
        )
    })
    .await
    {
        Driven::Done((Ok(sampled), Ok(roots), Ok(action))) => {
            assert_eq!(sampled.model, "m");
            assert_eq!(roots, vec![Root::new("file:///src").with_name("src")]);
            assert_eq!(action, ElicitAction::Accept);
        }
        other => panic!("{other:?}"),
    }
}

/// Answers nothing: the tests feed responses by hand.
struct Silent;

impl Responder for Silent {
    type Eager<'a> = serde::de::IgnoredAny;

    fn on_request(&self, method: &str, _: Option<&RawValue>, _: RequestCx) -> Dispatch {
        Dispatch::Now(Err(oxmcp_protocol::ErrorObject::method_not_found(method)))
    }
    fn on_notification(&self, _: &str, _: Option<&RawValue>, _: NotificationCx<'_>) {}
}

#[tokio::test]
async fn legacy_questions_are_requests() {
    let mut f = fixture();
    let channel = Channel::Legacy;
    let peer = f.peer.clone();
    let outbound = f.outbound.clone();
    let c = json!({"elicitation": {"form": {}, "url": {}}, "roots": {}});
    let version = ProtocolVersion::V2025_11_25;
    let task = {
        let (peer, outbound, channel, c) =
            (peer.clone(), outbound.clone(), channel.clone(), c.clone());
        tokio::spawn(async move {
            let a = Asking {
                version,
                capabilities: caps(c),
                channel: &channel,
                peer: &peer,
                outbound: &outbound,
                driver: &NO_DRIVER,
                key: None,
                timeout: crate::server::limits::DEFAULT_QUESTION_TIMEOUT,
            };
            let login = a.elicit::<Login>("Who?".into()).await;
            let url = a
                .elicit_url("Sign in".into(), "https://x.test/".into())
                .await;
            let roots = a.list_roots().await;
            (login, url, roots)
        })
    };
    let handler = Arc::new(Silent);
    let answer = |frame: &str, result: Value| {
        let request: Value = serde_json::from_str(frame).unwrap();
        let response = json!({"jsonrpc": "2.0", "id": request["id"], "result": result});
        (request, response.to_string())
    };
    let frame = f.rx.recv().await.unwrap().text;
    let (request, response) = answer(
        &frame,
        json!({"action": "accept", "content": {"name": "ada", "remember": true}}),
    );
    assert_eq!(request["method"], "elicitation/create");
    assert_eq!(request["params"]["mode"], "form");
    peer.handle_frame(&response, &handler, &outbound).await;

    let frame = f.rx.recv().await.unwrap().text;
    let (request, response) = answer(&frame, json!({"action": "decline"}));
    assert_eq!(request["params"]["mode"], "url");
    assert_eq!(
        request["params"]["elicitationId"].as_str().map(str::len),
        Some(32)
    );
    peer.handle_frame(&response, &handler, &outbound).await;

    let frame = f.rx.recv().await.unwrap().text;
    let request: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(request["method"], "roots/list");
    assert!(request.get("params").is_none());
    let error = json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -1, "message": "no roots for you"}});
    peer.handle_frame(&error.to_string(), &handler, &outbound)
        .await;

    let (login, url, roots) = task.await.unwrap();
    assert_eq!(
        login.unwrap(),
        Elicitation::Accept(Login {
            name: "ada".into(),
            remember: true
        })
    );
    assert_eq!(url.unwrap(), ElicitAction::Decline);
    let e = roots.unwrap_err();
    assert_eq!(e.client_error().map(|e| e.code), Some(-1));
}

#[tokio::test]
async fn legacy_2025_06_18_forms_have_no_mode() {
    let mut f = fixture();
    let channel = Channel::Legacy;
    let (peer, outbound) = (f.peer.clone(), f.outbound.clone());
    let task = tokio::spawn(async move {
        let a = Asking {
            version: ProtocolVersion::V2025_06_18,
            capabilities: caps(json!({"elicitation": {}})),
            channel: &channel,
            peer: &peer,
            outbound: &outbound,
            driver: &NO_DRIVER,
            key: None,
            timeout: crate::server::limits::DEFAULT_QUESTION_TIMEOUT,
        };
        a.elicit::<Login>("Who?".into()).await
    });
    let frame = f.rx.recv().await.unwrap().text;
    let request: Value = serde_json::from_str(&frame).unwrap();
    assert!(request["params"].get("mode").is_none(), "{request}");
    assert!(
        request["params"]["requestedSchema"]["properties"]["remember"]["default"] == json!(false)
    );
    let response = json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "cancel"}});
    f.peer
        .handle_frame(&response.to_string(), &Arc::new(Silent), &f.outbound)
        .await;
    assert_eq!(task.await.unwrap().unwrap(), Elicitation::Cancel);
}

#[tokio::test]
async fn a_task_that_outlives_the_request_learns_it_ended() {
    let f = fixture();
    let channel = modern_round(None, json!({}));
    let (peer, outbound) = (f.peer.clone(), f.outbound.clone());
    let task_channel = channel.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let r = drive(&channel, async move {
        tokio::spawn(async move {
            let a = Asking {
                version: MODERN,
                capabilities: caps(json!({"roots": {}})),
                channel: &task_channel,
                peer: &peer,
                outbound: &outbound,
                driver: &NO_DRIVER,
                key: None,
                timeout: crate::server::limits::DEFAULT_QUESTION_TIMEOUT,
            };
            let _ = tx.send(a.list_roots().await);
        });
        std::future::pending::<()>().await
    })
    .await;
    assert_eq!(
        input_required(r)
            .input_requests
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["roots-0"]
    );
    let e = rx.await.unwrap().unwrap_err();
    assert!(e.is_closed(), "{e}");
    assert!(e.to_string().contains("the request has ended"), "{e}");
}
