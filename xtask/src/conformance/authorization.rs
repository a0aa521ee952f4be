//! Authorization mode: the suite's authorization server scenarios
//! (`conformance authorization`) against `examples/auth-server-conformance`, the built-in
//! authorization server approving every request. The suite prints an authorization URL
//! for a person to open in a browser; [`browse`] plays the browser: it GETs the URL and
//! follows the redirect to the suite's callback.

use std::io::Write;

use super::*;

/// The client the example registers (a public client; its loopback redirect URI's port
/// may vary, so the suite's callback port is accepted).
const CLIENT_ID: &str = "conformance-client";

pub(super) fn authorization_mode(
    root: &Path,
    cache: &Path,
    node: &Path,
    suites: &[(&'static str, PathBuf, Catalogue)],
    options: &Options,
    report: &mut Report,
) -> Result {
    let mut plans = Vec::new();
    for (version, script, catalogue) in suites {
        let expected: Vec<Scenario> = catalogue
            .authorization
            .iter()
            .filter(|s| options.scenario.as_ref().is_none_or(|name| &s.name == name))
            .cloned()
            .collect();
        if !expected.is_empty() {
            plans.push((*version, script, expected));
        }
    }
    if plans.is_empty() || options.url.is_some() {
        return Ok(());
    }
    step(
        "build examples/auth-server-conformance",
        cargo().args(["build", "-p", "auth-server-conformance"]),
    )?;
    let binary = target_dir(root)
        .join("debug")
        .join(exe("auth-server-conformance"));
    for (version, script, expected) in plans {
        let results = cache.join("results").join(version);
        fs::create_dir_all(&results)
            .map_err(|e| Failure(format!("cannot create {}: {e}", results.display())))?;
        let server = Server::start(root, &binary, &results.join("auth-server.log"))?;
        let issuer = format!("http://127.0.0.1:{}", server.port);
        let callback = free_port()?.to_string();
        // The suite runs its scenarios in order, each seeing the ones before (the code
        // grant reads the metadata scenario's result), so it always runs them all.
        let run = Run {
            mode: "oauth",
            args: Vec::new(),
            expected,
            single: false,
        };
        let target: Vec<String> = [
            "--url",
            &issuer,
            "--client-id",
            CLIENT_ID,
            "--resource",
            &format!("{issuer}/mcp"),
            "--port",
            &callback,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        execute(
            node,
            script,
            version,
            Kind::Authorization,
            &run,
            &target,
            &results,
            report,
        )?;
        drop(server);
    }
    Ok(())
}

/// Watches the suite's output for the authorization URL and plays the browser: GET it,
/// then GET where it redirects (the suite's callback on loopback).
pub(super) fn browse(line: &str) {
    if !(line.starts_with("http://127.0.0.1:") && line.contains("/authorize?")) {
        return;
    }
    let url = line.trim().to_owned();
    // The suite starts its callback server after printing the URL.
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        let outcome = http_get(&url).and_then(|location| match location {
            Some(next) => http_get(&next).map(|_| ()),
            None => Err(format!("{url} answered without a redirect")),
        });
        if let Err(e) = outcome {
            eprintln!("    browser step failed: {e}");
        }
    });
}

/// A plain HTTP/1.1 GET of an `http://127.0.0.1:PORT/...` URL; returns the `Location`
/// header of the answer, if any.
fn http_get(url: &str) -> std::result::Result<Option<String>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let address: SocketAddr = host
        .parse()
        .map_err(|_| format!("expected a loopback IP and port, got `{host}`"))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10))
        .map_err(|e| format!("cannot connect to {host}: {e}"))?;
    let timeout = Some(Duration::from_secs(30));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("cannot send to {host}: {e}"))?;
    let mut answer = Vec::new();
    let _ = stream.take(1 << 20).read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    Ok(head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    }))
}
