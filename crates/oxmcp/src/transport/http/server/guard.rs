//! DNS-rebinding protection (`Host`, `Origin`) and CORS.

use std::net::SocketAddr;

use http::{header, HeaderMap, HeaderValue};

use super::config::{HostCheck, HttpConfig};

/// The peer address of an HTTP connection, as [`Router::serve_http`] records it in each
/// request's extensions (axum's `ConnectInfo<SocketAddr>` is honoured too).
///
/// [`Router::serve_http`]: crate::server::Router::serve_http
#[derive(Clone, Copy, Debug)]
pub(crate) struct RemoteAddr(pub(crate) SocketAddr);

const LOOPBACK: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// Splits `host[:port]` (IPv6 in brackets) into the name and the port. Names compare
/// without regard to ASCII case (the configured lists are lowercase).
fn split_host(value: &str) -> (&str, Option<&str>) {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[') {
        match rest.split_once(']') {
            // The name keeps its brackets: `[::1]`.
            Some((ip, tail)) => (&value[..ip.len() + 2], tail.strip_prefix(':')),
            None => (value, None),
        }
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (value, None),
        }
    }
}

fn host_allowed(config: &HttpConfig, host: &str) -> bool {
    let (name, port) = split_host(host);
    let listed = || {
        config.allowed_hosts.iter().any(|allowed| {
            let (a_name, a_port) = split_host(allowed);
            a_name.eq_ignore_ascii_case(name) && (a_port.is_none() || a_port == port)
        })
    };
    match config.host_check {
        HostCheck::Off => true,
        HostCheck::Listed => listed(),
        HostCheck::Loopback => listed() || LOOPBACK.iter().any(|l| l.eq_ignore_ascii_case(name)),
    }
}

fn origin_allowed(config: &HttpConfig, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    // Lowercased as a whole (the port too, as it always was), copied only when needed.
    let origin: std::borrow::Cow<'_, str> = if origin.bytes().any(|b| b.is_ascii_uppercase()) {
        origin.to_ascii_lowercase().into()
    } else {
        origin.into()
    };
    if config.allowed_origins.iter().any(|a| *a == origin) {
        return true;
    }
    if config.host_check == HostCheck::Off {
        return config.allowed_origins.is_empty();
    }
    match origin.split_once("://") {
        Some((scheme, host)) if scheme == "http" || scheme == "https" => host_allowed(config, host),
        _ => false,
    }
}

/// Checks `Host` (or a trusted proxy's `X-Forwarded-Host`) and `Origin`; the reason when
/// the request must be refused.
pub(crate) fn check(
    config: &HttpConfig,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
) -> Result<(), String> {
    if config.host_check != HostCheck::Off {
        let forwarded = remote
            .filter(|addr| config.trusted_proxies.contains(&addr.ip()))
            .and_then(|_| headers.get("x-forwarded-host"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next());
        let host = forwarded.or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()));
        match host {
            None => return Err("missing Host header".to_owned()),
            Some(host) if !host_allowed(config, host) => {
                return Err(format!(
                    "Host {host:?} is not allowed (DNS-rebinding protection); configure HttpConfig::allowed_hosts to accept it"
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(config, origin) {
            return Err(format!(
                "Origin {origin:?} is not allowed (DNS-rebinding protection); configure HttpConfig::allowed_origins to accept it"
            ));
        }
    }
    Ok(())
}

/// Adds CORS headers for an allowed origin, when CORS is on.
pub(crate) fn cors_headers(
    config: &HttpConfig,
    origin: Option<&HeaderValue>,
    response: &mut HeaderMap,
) {
    if !config.cors {
        return;
    }
    let Some(origin) = origin else {
        return;
    };
    if !origin_allowed(config, origin.to_str().unwrap_or("")) {
        return;
    }
    response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    response.insert(header::VARY, HeaderValue::from_static("Origin"));
    response.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Mcp-Session-Id, MCP-Protocol-Version"),
    );
}

/// The extra headers of a CORS preflight answer.
pub(crate) fn preflight_headers(response: &mut HeaderMap) {
    response.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    response.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID",
        ),
    );
    response.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let config = HttpConfig::new();
        assert!(host_allowed(&config, "localhost:8080"));
        assert!(host_allowed(&config, "127.0.0.1"));
        assert!(host_allowed(&config, "[::1]:3000"));
        assert!(!host_allowed(&config, "evil.example.com"));
        assert!(origin_allowed(&config, "http://localhost:8080"));
        assert!(!origin_allowed(&config, "http://evil.example.com"));
        let config = HttpConfig::new().allowed_hosts(["mcp.example.com"]);
        assert!(host_allowed(&config, "mcp.example.com:443"));
        assert!(!host_allowed(&config, "localhost"));
        assert!(host_allowed(&config, "MCP.Example.com"));
        let config = HttpConfig::new();
        assert!(host_allowed(&config, "LocalHost:1"));
        assert!(host_allowed(&config, "[::1]"));
        assert!(!host_allowed(&config, "[::2]:80"));
        assert!(origin_allowed(&config, "HTTP://LOCALHOST:3000/"));
        let config = HttpConfig::new().allowed_origins(["https://App.example.com/"]);
        assert!(origin_allowed(&config, "https://app.EXAMPLE.com"));
        assert!(!origin_allowed(&config, "https://other.example.com"));
    }
}
