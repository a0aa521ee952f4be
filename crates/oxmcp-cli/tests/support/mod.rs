//! Running the `oxmcp` binary against servers: `examples/everything` over stdio and HTTP,
//! scripted servers, temporary files.

#![allow(dead_code)]

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `oxmcp` binary under test.
pub const OXMCP: &str = env!("CARGO_BIN_EXE_oxmcp");

/// What one run of `oxmcp` printed, and its exit status.
#[derive(Debug)]
pub struct Run {
    /// Exit status (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts the run succeeded and returns its stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "oxmcp failed: {self:#?}");
        &self.stdout
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// The workspace's target directory (`target/debug/deps/TEST` -> `target`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned()
}

/// `examples/everything`, built once per test run.
pub fn everything() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let target = target_dir();
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "everything"])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building examples/everything failed");
        target
            .join("debug")
            .join(format!("everything{}", std::env::consts::EXE_SUFFIX))
    })
}

/// Runs `oxmcp` with `args`, failing the test if it takes more than 30 s.
pub fn oxmcp<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let child = Command::new(OXMCP)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("oxmcp starts");
    finish(child, Duration::from_secs(30))
}

/// Waits for `child` (killing it after `limit`) and collects its output.
pub fn finish(mut child: Child, limit: Duration) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "oxmcp did not finish within {limit:?}; stderr: {}",
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `examples/everything` serving Streamable HTTP on a free loopback port; stopped on drop.
pub struct HttpServer {
    child: Child,
    /// The MCP endpoint.
    pub url: String,
}

impl HttpServer {
    /// Starts the server and waits until it accepts connections.
    pub fn start() -> HttpServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(everything())
            .args(["--http", &addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("everything starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "everything did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        HttpServer {
            child,
            url: format!("http://{addr}/mcp"),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oxmcp-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The two ways to name `examples/everything` on the command line, over stdio and over HTTP,
/// each with a label; the HTTP server lives as long as the returned guard.
pub fn targets() -> (HttpServer, Vec<(&'static str, Vec<String>)>) {
    let server = HttpServer::start();
    let stdio = vec!["--".to_owned(), everything().display().to_string()];
    let http = vec!["--url".to_owned(), server.url.clone()];
    (server, vec![("stdio", stdio), ("http", http)])
}

/// `args` followed by the target's arguments (a stdio target's `-- CMD` must come last).
pub fn with(args: &[&str], target: &[String]) -> Vec<String> {
    args.iter()
        .map(|s| s.to_string())
        .chain(target.iter().cloned())
        .collect()
}

/// One plain HTTP/1.1 request to `url` (`http://HOST/PATH`); returns the status code, the
/// raw head (status line and headers) and the body.
pub fn http(url: &str, method: &str, body: &str) -> (u16, String, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let stream = send(
        host,
        &format!(
            "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    answer(stream)
}

/// Connects to `addr` (reads time out after 10 s) and sends `request` as it is.
pub fn send(addr: &str, request: &str) -> std::net::TcpStream {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream
}

/// Reads a whole answer (the server closes the connection): the status code, the raw
/// head and the body.
pub fn answer(mut stream: std::net::TcpStream) -> (u16, String, String) {
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (status, head.to_owned(), body.to_owned())
}

/// Starts `oxmcp dev` on `target`; the process and the URL it printed
/// (`http://127.0.0.1:PORT/?token=T`).
pub fn dev_console(target: &[String]) -> (Child, String) {
    use std::io::BufRead as _;
    let mut child = Command::new(OXMCP)
        .arg("dev")
        .args(target)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("http://127.0.0.1:"), "printed {line:?}");
    (child, line.trim().to_owned())
}
