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

#[tokio::test]
async fn a_shorter_timeout_sent_later_fires_while_a_longer_one_waits() {
    // One sweeper enforces every deadline: it sleeps until the first request's (10 s)
    // when the second arrives with an earlier one, and must wake for that.
    let (client, out, server) = pair();
    let options = |ms| RequestOptions {
        timeout: Some(Duration::from_millis(ms)),
        ..Default::default()
    };
    let long = {
        let (client, out) = (client.clone(), out.clone());
        tokio::spawn(async move {
            let id = client.next_id();
            client
                .request(&out, id, "echo", Some(r#"{"ms":5000}"#), options(10_000))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let short = client.request(
        &out,
        client.next_id(),
        "echo",
        Some(r#"{"ms":5000}"#),
        options(50),
    );
    let err = tokio::time::timeout(Duration::from_secs(3), short)
        .await
        .expect("the short timeout fires well before the long one")
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(!long.is_finished(), "the longer request still waits");
    // The expired request was cancelled at the server; the other goes on.
    for _ in 0..200 {
        if server.in_flight() == 1 {
            client.close();
            assert!(long.await.unwrap().unwrap_err().is_closed());
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the server kept handling the request whose timeout fired");
}

#[tokio::test]
async fn progress_moves_an_idle_deadline_and_the_cap_still_holds() {
    let (client, out, _server) = pair();
    let id = client.next_id();
    let options = RequestOptions {
        timeout: Some(Duration::from_millis(100)),
        max_total: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let token = serde_json::to_string(&id).unwrap();
    let request = client.request(&out, id, "echo", Some(r#"{"ms":5000}"#), options);
    // Progress every 40 ms keeps the idle deadline ahead; the cap ends the wait anyway.
    let progress = async {
        let params = format!(r#"{{"progressToken":{token},"progress":1}}"#);
        let params = RawValue::from_string(params).unwrap();
        loop {
            tokio::time::sleep(Duration::from_millis(40)).await;
            assert!(client.route_progress(Some(&params)));
        }
    };
    let started = std::time::Instant::now();
    let err = tokio::select! {
        outcome = request => outcome.unwrap_err(),
        _ = progress => unreachable!(),
    };
    assert!(err.is_timeout(), "{err}");
    // Past the idle timeout (progress moved it), at the cap.
    assert!(started.elapsed() >= Duration::from_millis(300), "{err}");
}

#[test]
fn a_peer_used_from_a_second_runtime_still_times_its_requests_out() {
    // The first request starts the sweeper in the first runtime, which ends with it; the
    // peer lives on, and a request made from another runtime must still time out.
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    // Nothing answers: what is sent stays in the queue.
    let (out, _unread) = Outbound::channel();
    let peer = Peer::new(8);
    let options = RequestOptions {
        timeout: Some(Duration::from_millis(30)),
        ..Default::default()
    };
    let ask = |peer: &Peer| {
        let (peer, out, options) = (peer.clone(), out.clone(), options.clone());
        async move {
            let id = peer.next_id();
            tokio::time::timeout(
                Duration::from_secs(5),
                peer.request(&out, id, "echo", None, options),
            )
            .await
            .expect("the request times out rather than waiting forever")
            .unwrap_err()
        }
    };
    let first = runtime().block_on(ask(&peer));
    assert!(first.is_timeout(), "{first}");
    let second = runtime().block_on(ask(&peer));
    assert!(second.is_timeout(), "{second}");
}

#[test]
#[should_panic(expected = "timers are disabled")]
fn a_timeout_on_a_runtime_without_timers_fails_loudly() {
    // As `tokio::time::timeout` would: not a request that silently never times out.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (out, _unread) = Outbound::channel();
    let peer = Peer::new(8);
    let options = RequestOptions {
        timeout: Some(Duration::from_millis(30)),
        ..Default::default()
    };
    let id = peer.next_id();
    let _ = runtime.block_on(peer.request(&out, id, "echo", None, options));
}

/// Serves `Echo` over newline-delimited JSON in memory: the client's writer, and its reader
/// of the answers as JSON values.
fn lines_pair() -> (tokio::io::WriteHalf<tokio::io::DuplexStream>, AnswerLines) {
    use tokio::io::AsyncBufReadExt as _;
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server);
    tokio::spawn(crate::transport::lines::serve_lines(
        Peer::new(8),
        Arc::new(Echo),
        (server_read, server_write),
        crate::transport::DEFAULT_MAX_FRAME,
        std::future::pending(),
    ));
    let (client_read, client_write) = tokio::io::split(client);
    (client_write, tokio::io::BufReader::new(client_read).lines())
}

type AnswerLines =
    tokio::io::Lines<tokio::io::BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>;

/// The next answer, as JSON.
async fn next_answer(lines: &mut AnswerLines) -> serde_json::Value {
    let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .expect("an answer within 5 s")
        .unwrap()
        .expect("the connection is open");
    serde_json::from_str(&line).unwrap()
}

/// A duplicate id is refused while its request is in flight, whether ids count up (the
/// reader then skips the look into the map) or not, and free again once it is answered.
async fn duplicate_ids_are_refused_while_in_flight() {
    use tokio::io::AsyncWriteExt as _;
    let (mut write, mut lines) = lines_pair();
    let echo = |id: &str, ms: u64| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"echo\",\"params\":{{\"ms\":{ms}}}}}\n"
        )
    };
    let burst = [
        echo("5", 300),
        echo("\"a\"", 300),
        echo("5", 0),
        echo("\"a\"", 0),
        echo("3", 0),
        echo("6", 0),
    ]
    .concat();
    write.write_all(burst.as_bytes()).await.unwrap();
    let mut answered = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..4 {
        let answer = next_answer(&mut lines).await;
        match answer.get("error") {
            Some(error) => {
                assert_eq!(error["code"], -32600, "{answer}");
                assert!(error["message"]
                    .as_str()
                    .unwrap()
                    .contains("already in use"));
                refused.push(answer["id"].clone());
            }
            None => answered.push(answer["id"].clone()),
        }
    }
    // Numbers first, in order, then strings (the answers may come in any order).
    let order = |id: &serde_json::Value| (id.is_string(), id.as_i64());
    refused.sort_by_key(order);
    answered.sort_by_key(order);
    assert_eq!(refused, [serde_json::json!(5), serde_json::json!("a")]);
    assert_eq!(answered, [serde_json::json!(3), serde_json::json!(6)]);
    // The first two answer in their time; then their ids are free again.
    let mut late: Vec<_> = vec![
        next_answer(&mut lines).await["id"].clone(),
        next_answer(&mut lines).await["id"].clone(),
    ];
    late.sort_by_key(order);
    assert_eq!(late, [serde_json::json!(5), serde_json::json!("a")]);
    write.write_all(echo("5", 0).as_bytes()).await.unwrap();
    let again = next_answer(&mut lines).await;
    assert_eq!(
        (again["id"].clone(), again.get("error")),
        (serde_json::json!(5), None)
    );
}

#[tokio::test]
async fn duplicate_ids_are_refused_while_in_flight_on_one_thread() {
    duplicate_ids_are_refused_while_in_flight().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_ids_are_refused_while_in_flight_on_many_threads() {
    duplicate_ids_are_refused_while_in_flight().await;
}
