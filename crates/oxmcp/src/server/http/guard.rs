//! DNS-rebinding protection (`Host`, `Origin`) and CORS.

use std::net::{IpAddr, SocketAddr};

use http::{header, HeaderMap, HeaderValue};

use super::config::{HostCheck, HttpConfig};

/// The peer address of an HTTP connection, as [`Router::serve_http`] records it in each
/// request's extensions (axum's `ConnectInfo<SocketAddr>` is honoured too).
///
/// [`Router::serve_http`]: crate::server::Router::serve_http
#[derive(Clone, Copy, Debug)]
pub(crate) struct RemoteAddr(pub(crate) SocketAddr);

const LOOPBACK: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// A `Host` value (or an origin's host) read as an RFC 3986 authority without userinfo:
/// `name[:port]`, an IPv6 address in brackets, the port digits only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Authority<'a> {
    /// The name as written (`[::1]` keeps its brackets); compare without regard to case.
    pub(crate) name: &'a str,
    pub(crate) port: Option<u16>,
}

impl<'a> Authority<'a> {
    /// Reads `host[:port]`; `None` when it is anything else (userinfo, a path, a bad port,
    /// characters no host name has).
    pub(crate) fn parse(value: &'a str) -> Option<Self> {
        let (name, port) = if value.starts_with('[') {
            let close = value.find(']')?;
            let ip = &value[1..close];
            ip.parse::<std::net::Ipv6Addr>().ok()?;
            let tail = &value[close + 1..];
            let port = if tail.is_empty() {
                None
            } else {
                Some(tail.strip_prefix(':')?)
            };
            (&value[..=close], port)
        } else {
            let (name, port) = match value.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (value, None),
            };
            let valid = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
            if name.is_empty() || !name.bytes().all(valid) {
                return None;
            }
            (name, port)
        };
        let port = match port {
            None => None,
            Some(digits) => {
                if digits.is_empty()
                    || digits.len() > 5
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                Some(digits.parse::<u16>().ok()?)
            }
        };
        Some(Authority { name, port })
    }
}

/// Whether a well-formed host is allowed.
fn host_allowed(config: &HttpConfig, host: Authority<'_>) -> bool {
    let listed = || {
        config.allowed_hosts.iter().any(|allowed| {
            Authority::parse(allowed).is_some_and(|a| {
                a.name.eq_ignore_ascii_case(host.name) && (a.port.is_none() || a.port == host.port)
            })
        })
    };
    match config.host_check {
        HostCheck::Off => true,
        HostCheck::Listed => listed(),
        HostCheck::Loopback => {
            listed() || LOOPBACK.iter().any(|l| l.eq_ignore_ascii_case(host.name))
        }
    }
}

/// Checks a `Host` value: the reason when it is refused.
fn check_host(config: &HttpConfig, host: &str) -> Result<(), String> {
    let Some(authority) = Authority::parse(host.trim_matches([' ', '\t'])) else {
        return Err(format!(
            "malformed Host {host:?}: expected host[:port] (a name, an IPv4 address or an IPv6 address in brackets; no userinfo, the port digits only)"
        ));
    };
    if host_allowed(config, authority) {
        Ok(())
    } else {
        Err(format!(
            "Host {host:?} is not allowed (DNS-rebinding protection); configure HttpConfig::allowed_hosts to accept it"
        ))
    }
}

/// Checks an `Origin` value: the reason when it is refused.
fn check_origin(config: &HttpConfig, origin: &str) -> Result<(), String> {
    let trimmed = origin.trim_matches([' ', '\t']).trim_end_matches('/');
    // Lowercased as a whole (the port too, as it always was), copied only when needed.
    let lower: std::borrow::Cow<'_, str> = if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        trimmed.to_ascii_lowercase().into()
    } else {
        trimmed.into()
    };
    if config.allowed_origins.iter().any(|a| *a == lower) {
        return Ok(());
    }
    let not_allowed = || {
        Err(format!(
            "Origin {origin:?} is not allowed (DNS-rebinding protection); configure HttpConfig::allowed_origins to accept it"
        ))
    };
    if config.host_check == HostCheck::Off {
        return if config.allowed_origins.is_empty() {
            Ok(())
        } else {
            not_allowed()
        };
    }
    let parsed = lower
        .split_once("://")
        .filter(|(scheme, _)| *scheme == "http" || *scheme == "https")
        .and_then(|(_, authority)| Authority::parse(authority));
    match parsed {
        None => Err(format!(
            "malformed Origin {origin:?}: expected scheme://host[:port] with scheme http or https (no userinfo, no path, the port digits only)"
        )),
        Some(authority) if host_allowed(config, authority) => Ok(()),
        Some(_) => not_allowed(),
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
            .map(|v| v.to_str().unwrap_or("\u{fffd}"))
            .and_then(|v| v.split(',').next());
        let host = forwarded.or_else(|| {
            headers
                .get(header::HOST)
                .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        });
        match host {
            None => return Err("missing Host header".to_owned()),
            Some(host) => check_host(config, host)?,
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        check_origin(config, origin.to_str().unwrap_or("\u{fffd}"))?;
    }
    Ok(())
}

/// The client's address: the peer's, or behind a trusted proxy the last address of
/// `X-Forwarded-For` that is not a trusted proxy (what the proxies themselves saw).
pub(crate) fn client_ip(
    config: &HttpConfig,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
) -> Option<IpAddr> {
    let peer = remote?.ip();
    if !config.trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>())
        .collect::<Vec<_>>();
    for address in forwarded.into_iter().rev() {
        match address {
            Ok(ip) if config.trusted_proxies.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(peer)
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
    if check_origin(config, origin.to_str().unwrap_or("")).is_err() {
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

    fn host_ok(config: &HttpConfig, host: &str) -> bool {
        check_host(config, host).is_ok()
    }

    fn origin_ok(config: &HttpConfig, origin: &str) -> bool {
        check_origin(config, origin).is_ok()
    }

    #[test]
    fn hosts() {
        let config = HttpConfig::new();
        assert!(host_ok(&config, "localhost:8080"));
        assert!(host_ok(&config, "127.0.0.1"));
        assert!(host_ok(&config, "[::1]:3000"));
        assert!(!host_ok(&config, "evil.example.com"));
        assert!(origin_ok(&config, "http://localhost:8080"));
        assert!(!origin_ok(&config, "http://evil.example.com"));
        let config = HttpConfig::new().allowed_hosts(["mcp.example.com"]);
        assert!(host_ok(&config, "mcp.example.com:443"));
        assert!(!host_ok(&config, "localhost"));
        assert!(host_ok(&config, "MCP.Example.com"));
        let config = HttpConfig::new();
        assert!(host_ok(&config, "LocalHost:1"));
        assert!(host_ok(&config, "[::1]"));
        assert!(!host_ok(&config, "[::2]:80"));
        assert!(origin_ok(&config, "HTTP://LOCALHOST:3000/"));
        let config = HttpConfig::new().allowed_origins(["https://App.example.com/"]);
        assert!(origin_ok(&config, "https://app.EXAMPLE.com"));
        assert!(!origin_ok(&config, "https://other.example.com"));
        let config = HttpConfig::new().allowed_hosts(["mcp.example.com:8443"]);
        assert!(host_ok(&config, "mcp.example.com:8443"));
        assert!(!host_ok(&config, "mcp.example.com:443"));
        assert!(!host_ok(&config, "mcp.example.com"));
    }

    #[test]
    fn malformed_hosts_and_origins_are_refused_with_a_reason() {
        let config = HttpConfig::new();
        for bad in [
            "127.0.0.1:1@evil.com",
            "localhost@evil.com",
            "user@localhost",
            "localhost:80x",
            "localhost:",
            "localhost:99999",
            "localhost:+80",
            "localhost:1:2",
            "[::1]x",
            "[::1]:",
            "[::1",
            "[nope]:80",
            "local host",
            "localhost/path",
            "",
        ] {
            let why = check_host(&config, bad).expect_err(bad);
            assert!(
                why.contains("malformed Host") && why.contains("host[:port]"),
                "{bad}: {why}"
            );
        }
        for bad in [
            "http://127.0.0.1:1@evil.com",
            "http://localhost@evil.com",
            "http://localhost:80x",
            "http://localhost/path",
            "ftp://localhost",
            "localhost",
            "http://",
        ] {
            let why = check_origin(&config, bad).expect_err(bad);
            assert!(
                why.contains("malformed Origin") && why.contains("scheme://host[:port]"),
                "{bad}: {why}"
            );
        }
        assert_eq!(
            Authority::parse("[::1]:8080"),
            Some(Authority {
                name: "[::1]",
                port: Some(8080)
            })
        );
    }
}
