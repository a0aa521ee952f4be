//! Engine tests with two peers wired back to back in memory.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;

use super::*;
use crate::transport::memory::MemorySource;

/// Answers `echo` with its params after `params.ms` milliseconds; `fail` with an error.
struct Echo;

impl Responder for Echo {
    type Eager<'a> = serde::de::IgnoredAny;

    fn on_request(&self, method: &str, params: Option<&RawValue>, _cx: RequestCx) -> Dispatch {
        let params = params.map_or_else(|| "{}".to_owned(), |p| p.get().to_owned());
        match method {
            "echo" => Dispatch::Later(Box::pin(async move {
                let v: serde_json::Value = serde_json::from_str(&params).unwrap();
                let ms = v["ms"].as_u64().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(params)
            })),
            _ => Dispatch::Now(Err(ErrorObject::method_not_found(method))),
        }
    }

    fn on_notification(&self, _: &str, _: Option<&RawValue>, _: NotificationCx<'_>) {}
}

/// A client peer and its outbound, connected to a server peer running `Echo`.
fn pair() -> (Peer, Outbound, Peer) {
    let (to_server, server_rx) = Outbound::channel();
    let (to_client, client_rx) = Outbound::channel();
    let server = Peer::new(8);
    let client = Peer::new(8);
    tokio::spawn(crate::transport::drive(
        server.clone(),
        Arc::new(Echo),
        MemorySource {
            rx: server_rx,
            tap: None,
        },
        to_client,
        std::future::pending(),
    ));
    tokio::spawn(crate::transport::drive(
        client.clone(),
        Arc::new(Echo),
        MemorySource {
            rx: client_rx,
            tap: None,
        },
        to_server.clone(),
        std::future::pending(),
    ));
    (client, to_server, server)
}

#[tokio::test]
async fn responses_find_their_requests_out_of_order() {
    let (client, out, _server) = pair();
    let slow = client.request(
        &out,
        client.next_id(),
        "echo",
        Some(r#"{"ms":150,"n":1}"#),
        RequestOptions::default(),
    );
    let fast = client.request(
        &out,
        client.next_id(),
        "echo",
        Some(r#"{"ms":1,"n":2}"#),
        RequestOptions::default(),
    );
    let (slow, fast) = tokio::join!(slow, fast);
    assert_eq!(slow.unwrap().get(), r#"{"ms":150,"n":1}"#);
    assert_eq!(fast.unwrap().get(), r#"{"ms":1,"n":2}"#);
}

#[tokio::test]
async fn errors_come_back_as_rpc_errors() {
    let (client, out, _server) = pair();
    let err = client
        .request(
            &out,
            client.next_id(),
            "nope",
            None,
            RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.rpc_error().unwrap().code, -32601);
}

#[tokio::test]
async fn timeouts_cancel_on_the_other_side() {
    let (client, out, server) = pair();
    let options = RequestOptions {
        timeout: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    let err = client
        .request(
            &out,
            client.next_id(),
            "echo",
            Some(r#"{"ms":5000}"#),
            options,
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    for _ in 0..100 {
        if server.in_flight() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the server kept handling a request the client gave up on");
}

#[tokio::test]
async fn closing_fails_what_is_pending() {
    let (client, out, _server) = pair();
    let waiting = {
        let client = client.clone();
        let out = out.clone();
        tokio::spawn(async move {
            client
                .request(
                    &out,
                    client.next_id(),
                    "echo",
                    Some(r#"{"ms":5000}"#),
                    RequestOptions::default(),
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    client.close();
    let err = waiting.await.unwrap().unwrap_err();
    assert!(err.is_closed(), "{err}");
    let again = client
        .request(
            &out,
            client.next_id(),
            "echo",
            None,
            RequestOptions::default(),
        )
        .await;
    assert!(again.unwrap_err().is_closed());
}
