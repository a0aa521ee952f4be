//! OpenAPI import: documents turned into tools, called against a live local HTTP service.

mod github;
mod hostile;
mod live;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, Response, StatusCode};
use oxmcp::protocol::content::ContentBlock;
use oxmcp::protocol::tools::CallToolResult;
use serde_json::{json, Value};

/// The text of a tool result's first content block.
fn text(result: &CallToolResult) -> String {
    match &result.content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// A local HTTP service for the imported tools to call. It answers:
/// - `/errors/big`: 500 with a 1 MiB body;
/// - `/huge`: 200 with a 64 KiB JSON body;
/// - `/slow`: never (within the test);
/// - `/private`: 401 without `Authorization: Bearer good`;
/// - `/pets/404`: 404 with a JSON error;
/// - `GET /pets`: a list of one echo;
/// - anything else: an echo of the request (method, path, query, headers, body) as JSON.
async fn service() -> SocketAddr {
    let app = axum::Router::new().fallback(answer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn answer(request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let header_of = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let json_response = |status: StatusCode, value: Value| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(value.to_string()))
            .unwrap()
    };
    match path.as_str() {
        "/errors/big" => {
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(Body::from("E".repeat(1 << 20)))
                .unwrap()
        }
        "/huge" => return json_response(StatusCode::OK, json!({"blob": "x".repeat(64 << 10)})),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return json_response(StatusCode::OK, json!({}));
        }
        "/private" if header_of("authorization").as_deref() != Some("Bearer good") => {
            return json_response(StatusCode::UNAUTHORIZED, json!({"message": "who are you?"}))
        }
        "/pets/404" => {
            return json_response(StatusCode::NOT_FOUND, json!({"message": "no such pet"}))
        }
        _ => {}
    }
    let body = to_bytes(body, 1 << 20).await.unwrap();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let echo = json!({
        "name": "echo",
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "authorization": header_of("authorization"),
        "apiKey": header_of("x-api-key"),
        "requestId": header_of("x-request-id"),
        "cookie": header_of("cookie"),
        "contentType": header_of("content-type"),
        "body": body,
    });
    if parts.method == "GET" && path == "/pets" {
        return json_response(StatusCode::OK, json!([echo]));
    }
    let status = if parts.method == "POST" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, echo)
}
