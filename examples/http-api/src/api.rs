//! The calls to the API: authenticated, rate-limited, retried, bounded.

use std::time::Duration;

use oxmcp::client::RetryPolicy;
use reqwest::{header, Method, StatusCode, Url};
use serde_json::Value;

use crate::bucket::Bucket;

/// How the API is reached.
#[derive(Debug)]
pub struct Api {
    pub http: reqwest::Client,
    /// The API's base URL (a path prefix such as `/api/v3` is kept).
    pub base: Url,
    /// The API key, read from the environment.
    pub key: Option<String>,
    /// The environment variable the key comes from (named in error messages).
    pub key_env: String,
    /// The header the key goes in: `authorization` sends `Bearer KEY`, another sends `KEY`.
    pub key_header: header::HeaderName,
    pub retry: RetryPolicy,
    pub bucket: Bucket,
    /// The longest one attempt may take, body included.
    pub timeout: Duration,
    /// The largest body read from one answer.
    pub max_bytes: usize,
    /// The most pages one listing reads.
    pub max_pages: u32,
}

/// One answer: its JSON, and the next page's URL when the API gave one.
#[derive(Debug)]
pub struct Page {
    pub value: Value,
    pub next: Option<Url>,
}

/// What an error body shows of itself at most.
const ERROR_EXCERPT: usize = 500;

impl Api {
    /// The URL of `segments` below the base URL; each segment is checked first (a name of
    /// letters, digits, `-`, `_` and `.`), so a client cannot reach another path.
    pub fn url(&self, segments: &[&str]) -> Result<Url, String> {
        for segment in segments {
            let fine = !segment.is_empty()
                && *segment != "."
                && *segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !fine {
                return Err(format!(
                    "{segment:?} is not a valid name: expected letters, digits, `-`, `_` or `.`"
                ));
            }
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| format!("the base URL {} cannot take a path", self.base))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Adds the API key to a request's headers.
    pub fn authorize(&self, headers: &mut header::HeaderMap) {
        let Some(key) = &self.key else { return };
        let value = if self.key_header == header::AUTHORIZATION {
            format!("Bearer {key}")
        } else {
            key.clone()
        };
        if let Ok(mut value) = header::HeaderValue::from_str(&value) {
            value.set_sensitive(true);
            headers.insert(self.key_header.clone(), value);
        }
    }

    /// Sends one request: waits for the rate limit, retries a connection failure, a 429
    /// (and a 503 of a GET) per the retry policy honouring `Retry-After`, and reads at most
    /// `max_bytes` of JSON.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Page, String> {
        let mut attempt = 0;
        loop {
            self.bucket.take().await;
            let answer =
                tokio::time::timeout(self.timeout, self.attempt(&method, &url, body)).await;
            let wait = match answer {
                Err(_) => {
                    return Err(format!(
                        "the API did not answer {method} {} within {} s (--timeout)",
                        url.path(),
                        self.timeout.as_secs_f64()
                    ))
                }
                Ok(Attempt::Done(page)) => return page,
                Ok(Attempt::Unreachable(why)) => match self.retry.delay(attempt, None) {
                    Some(wait) => wait,
                    None => return Err(format!("cannot reach the API at {}: {why}", self.base)),
                },
                Ok(Attempt::Busy(status, asked)) => match self.retry.delay(attempt, asked) {
                    Some(wait) => wait,
                    None => {
                        let after = asked
                            .map(|d| format!("; it asks to wait {} s", d.as_secs()))
                            .unwrap_or_default();
                        return Err(format!(
                            "the API answered {status} to {method} {} and still did after {attempt} retries{after}; try again later",
                            url.path()
                        ));
                    }
                },
            };
            tracing::info!(%method, url = %url, attempt, ?wait, "retrying the API call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<&Value>) -> Attempt {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "oxmcp-http-api");
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut request = match request.build() {
            Ok(request) => request,
            Err(e) => return Attempt::Done(Err(format!("cannot build the request: {e}"))),
        };
        self.authorize(request.headers_mut());
        let response = match self.http.execute(request).await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return Attempt::Unreachable(e.to_string()),
            Err(e) => return Attempt::Done(Err(format!("{method} {url} failed: {e}"))),
        };
        let status = response.status();
        // A 429 was refused before any work: any method may be sent again. A 503 may
        // have come after the work started: only a GET is.
        if status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE && method == Method::GET)
        {
            return Attempt::Busy(status, RetryPolicy::retry_after(response.headers()));
        }
        let next = next_link(response.headers(), url);
        let body = self.read(response).await;
        Attempt::Done(self.judge(status, url, body, next))
    }

    /// What an answer means: its JSON, or an error that says what went wrong.
    fn judge(
        &self,
        status: StatusCode,
        url: &Url,
        body: Result<Vec<u8>, String>,
        next: Option<Url>,
    ) -> Result<Page, String> {
        if status == StatusCode::UNAUTHORIZED {
            return Err(match &self.key {
                None => format!(
                    "the API refused the call (401 Unauthorized): no API key is set; put it in the environment variable {}",
                    self.key_env
                ),
                Some(_) => format!(
                    "the API refused the API key (401 Unauthorized): the key in the environment variable {} is wrong or expired",
                    self.key_env
                ),
            });
        }
        if status == StatusCode::FORBIDDEN {
            return Err(format!(
                "the API key may not do this (403 Forbidden){}",
                excerpt(&body.unwrap_or_default())
            ));
        }
        let body = body?;
        if !status.is_success() {
            return Err(format!(
                "the API answered {status} to {}{}",
                url.path(),
                excerpt(&body)
            ));
        }
        let value = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "the API's answer to {} is not JSON ({e}){}",
                url.path(),
                excerpt(&body)
            )
        })?;
        let next = match next {
            Some(next) if !same_origin(&next, &self.base) => {
                return Err(format!(
                    "the API's next page is on another server ({}): not followed, the API key is only sent to {}",
                    next.origin().ascii_serialization(),
                    self.base.origin().ascii_serialization()
                ))
            }
            next => next,
        };
        Ok(Page { value, next })
    }

    /// Reads a body of at most `max_bytes`.
    async fn read(&self, mut response: reqwest::Response) -> Result<Vec<u8>, String> {
        let over = || {
            format!(
                "the API's answer is over the limit of {} bytes (--max-response-bytes)",
                self.max_bytes
            )
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(over());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading the API's answer failed: {e}"))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(over());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// How one attempt ended.
enum Attempt {
    Done(Result<Page, String>),
    /// No connection: the API never saw the request.
    Unreachable(String),
    /// 429 or 503, with the `Retry-After` asked for.
    Busy(StatusCode, Option<Duration>),
}

/// The start of a body, for an error message.
fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_EXCERPT)]);
    let more = if body.len() > ERROR_EXCERPT {
        "..."
    } else {
        ""
    };
    format!(": {}{more}", text.trim())
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// The `rel="next"` target of a `Link` header (RFC 8288), resolved against `url`.
pub fn next_link(headers: &header::HeaderMap, url: &Url) -> Option<Url> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let next = params.split(';').any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=").is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            next.then(|| url.join(target).ok()).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_others_and_resolved() {
        let url = Url::parse("https://api.example.com/repos/a/b/issues?page=1").unwrap();
        let mut headers = header::HeaderMap::new();
        headers.insert(
            header::LINK,
            r#"<https://api.example.com/repos/a/b/issues?page=9>; rel="last", </repos/a/b/issues?page=2>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, &url).unwrap().as_str(),
            "https://api.example.com/repos/a/b/issues?page=2"
        );
        headers.insert(header::LINK, r#"<x>; rel="prev""#.parse().unwrap());
        assert_eq!(next_link(&headers, &url), None);
    }
}
