//! The memory an idle connection holds on the server, counted allocation by allocation.
//!
//! The server runs on the test's thread (a current-thread runtime) and its clients on
//! another thread; `allocation-counter` counts only the allocations of the thread that
//! measures, so what is counted is the server's: the bytes still allocated after N more
//! connections were opened and left idle, divided by N. A first round of connections,
//! not counted, grows the tables that grow with the number of connections (the slab of
//! registered sockets, the session registry) so that N more show what one costs.
//!
//! A separate test binary, because the counting allocator replaces the global one.

use std::future::IntoFuture;
use std::sync::mpsc;
use std::time::Duration;

use futures_util::StreamExt;
use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::server::http::HttpConfig;
use oxmcp::server::Router;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Connections per measured round.
const ROUND: usize = 100;

/// What the clients open, and keep open until the test ends.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A WebSocket that has done the upgrade and sent nothing.
    Upgraded,
    /// An oxmcp WebSocket client past its `initialize` handshake (a legacy session), as
    /// `transport-bench` opens them.
    Initialized,
    /// A legacy HTTP+SSE session whose client opened the stream and sent nothing.
    SseStream,
}

type Order = (
    Kind,
    usize,
    tokio::sync::oneshot::Sender<Result<i64, String>>,
);

/// A runtime on the calling thread only.
fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The client thread: opens what it is asked to and holds it; answers with the bytes each
/// connection holds on the client's side (counted on this thread).
fn clients(addr: std::net::SocketAddr, orders: mpsc::Receiver<Order>) {
    let runtime = current_thread();
    let mut sockets = Vec::new();
    let mut sessions = Vec::new();
    let mut streams = Vec::new();
    for (kind, count, done) in orders {
        let mut result = Ok(());
        let info = allocation_counter::measure(|| {
            result = runtime.block_on(async {
                for _ in 0..count {
                    match kind {
                        Kind::Upgraded => {
                            let mut request =
                                format!("ws://{addr}/ws").into_client_request().unwrap();
                            request
                                .headers_mut()
                                .insert("sec-websocket-protocol", "mcp".parse().unwrap());
                            let (socket, _) = tokio_tungstenite::connect_async(request)
                                .await
                                .map_err(|e| format!("upgrade: {e}"))?;
                            sockets.push(socket);
                        }
                        Kind::Initialized => {
                            let client = Client::builder()
                                .name("idle-memory")
                                .era(EraChoice::Legacy(ProtocolVersion::V2025_11_25))
                                .connect_ws(format!("ws://{addr}/ws"))
                                .await
                                .map_err(|e| format!("connect_ws: {e}"))?;
                            // Answered after `notifications/initialized` was handled.
                            client.ping().await.map_err(|e| format!("ping: {e}"))?;
                            sessions.push(client);
                        }
                        Kind::SseStream => {
                            let mut tcp = tokio::net::TcpStream::connect(addr)
                                .await
                                .map_err(|e| format!("connect: {e}"))?;
                            use tokio::io::{AsyncReadExt, AsyncWriteExt};
                            let get = format!(
                            "GET /sse HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n"
                        );
                            tcp.write_all(get.as_bytes())
                                .await
                                .map_err(|e| e.to_string())?;
                            // Up to the `endpoint` event.
                            let mut seen = Vec::new();
                            while !String::from_utf8_lossy(&seen).contains("session_id=") {
                                let mut buf = [0u8; 1024];
                                let n = tcp.read(&mut buf).await.map_err(|e| e.to_string())?;
                                if n == 0 {
                                    return Err("the SSE stream closed".to_string());
                                }
                                seen.extend_from_slice(&buf[..n]);
                            }
                            streams.push(tcp);
                        }
                    }
                }
                Ok(())
            })
        });
        let _ = done.send(result.map(|()| info.bytes_current / count as i64));
    }
    // Every socket is still open: the server's side of each is served.
    runtime.block_on(async {
        for socket in &mut sockets {
            assert!(
                futures_util::FutureExt::now_or_never(socket.next()).is_none(),
                "an idle socket was closed"
            );
        }
        for client in &sessions {
            client.ping().await.expect("an idle session still answers");
        }
    });
}

/// Bytes still allocated per connection of `kind`, over [`ROUND`] more: on the server,
/// and on the client.
fn per_connection(
    runtime: &tokio::runtime::Runtime,
    orders: &mpsc::Sender<Order>,
    kind: Kind,
) -> (i64, i64) {
    let open = |count: usize| {
        let (done, opened) = tokio::sync::oneshot::channel();
        orders.send((kind, count, done)).unwrap();
        async move {
            let opened = tokio::time::timeout(Duration::from_secs(60), opened)
                .await
                .expect("the connections opened within 60 s")
                .expect("the client thread answers");
            let client = opened.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            // What the server does after the client's last message (the reply sent, its
            // buffers released) is done when it next waits.
            tokio::time::sleep(Duration::from_millis(200)).await;
            client
        }
    };
    runtime.block_on(open(ROUND / 4));
    let round = open(ROUND);
    let mut client = 0;
    let info = allocation_counter::measure(|| client = runtime.block_on(round));
    let per = info.bytes_current / ROUND as i64;
    eprintln!(
        "{kind:?}: {per} B in {:.1} allocations per idle connection on the server, {client} B on the client",
        info.count_current as f64 / ROUND as f64
    );
    (per, client)
}

#[test]
fn idle_connections_hold_little_memory() {
    let runtime = current_thread();
    let bind = tokio::net::TcpListener::bind("127.0.0.1:0");
    let listener = runtime.block_on(bind).expect("a port");
    let addr = listener.local_addr().expect("its address");
    let config = HttpConfig::new()
        .max_sessions(100_000)
        .max_sessions_per_peer(100_000);
    let serve = Router::new()
        .name("idle-memory")
        .http_on(listener)
        .config(config)
        .no_signal_handlers()
        .max_connections(100_000)
        .into_future();
    let server = runtime.spawn(serve);
    let (orders, taken) = mpsc::channel();
    let client_thread = std::thread::spawn(move || clients(addr, taken));

    let (upgraded, _) = per_connection(&runtime, &orders, Kind::Upgraded);
    let (initialized, client) = per_connection(&runtime, &orders, Kind::Initialized);
    let (sse, _) = per_connection(&runtime, &orders, Kind::SseStream);

    // The clients check that every connection is still served: the server runs meanwhile.
    drop(orders);
    let checked =
        runtime.block_on(async { tokio::task::spawn_blocking(move || client_thread.join()).await });
    checked
        .unwrap()
        .expect("every idle connection was still served");
    server.abort();
    // The budget is 4 KiB of RSS per idle WebSocket (`transport-bench`, a release build);
    // counted here in a test build, whose futures are larger.
    assert!(upgraded <= 4096, "an upgraded WebSocket holds {upgraded} B");
    assert!(
        initialized <= 4096,
        "an initialized WebSocket holds {initialized} B"
    );
    assert!(sse <= 28 * 1024, "an idle HTTP+SSE stream holds {sse} B");
    // The client's socket reads into a buffer of 16 KiB (tungstenite's default: 128 KiB).
    assert!(client <= 32 * 1024, "a connect_ws client holds {client} B");
}
