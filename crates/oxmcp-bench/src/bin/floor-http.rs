//! `floor-http ADDR`: a minimal hand-written MCP server over HTTP with no SDK, the practical
//! speed limit for `http-bench`. A bare hyper server: each POST body is parsed as JSON and
//! answered (initialize with a session id header, notifications with 202, `tools/call` of
//! `echo`, `server/discover`); nothing is kept between requests.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

fn answer(body: &[u8], modern: bool) -> Response<Full<Bytes>> {
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Full::new(Bytes::new()))
            .unwrap();
    };
    let Some(id) = message.get("id").cloned() else {
        return Response::builder()
            .status(StatusCode::ACCEPTED)
            .body(Full::new(Bytes::new()))
            .unwrap();
    };
    let method = message["method"].as_str().unwrap_or_default();
    let mut session = false;
    let result = match method {
        "initialize" => {
            session = true;
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                   "serverInfo": {"name": "floor-http", "version": "0.1.0"}})
        }
        "server/discover" => json!({"resultType": "complete", "supportedVersions": ["2026-07-28"],
                                    "capabilities": {"tools": {}}, "ttlMs": 0, "cacheScope": "private"}),
        "tools/call" => {
            let text = message["params"]["arguments"]["text"].clone();
            let mut result = json!({"content": [{"type": "text", "text": text}]});
            if modern {
                result["resultType"] = json!("complete");
            }
            result
        }
        _ => {
            let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}});
            return json_response(&error, false);
        }
    };
    json_response(
        &json!({"jsonrpc": "2.0", "id": id, "result": result}),
        session,
    )
}

fn json_response(value: &Value, session: bool) -> Response<Full<Bytes>> {
    let mut response = Response::builder().header("content-type", "application/json");
    if session {
        response = response.header("mcp-session-id", "floor-session");
    }
    response
        .body(Full::new(Bytes::from(
            serde_json::to_vec(value).unwrap_or_default(),
        )))
        .unwrap()
}

async fn serve(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let modern = request
        .headers()
        .get("mcp-protocol-version")
        .is_some_and(|v| v == "2026-07-28");
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    Ok(answer(&body, modern))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, hyper::service::service_fn(serve))
                .await;
        });
    }
}
