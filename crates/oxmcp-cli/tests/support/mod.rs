//! Running the `oxmcp` binary against servers: `examples/everything` over stdio and HTTP,
//! scripted servers, temporary files.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
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
    PATH.get_or_init(|| example("everything"))
}

/// `examples/notes`, built once per test run.
pub fn notes() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| example("notes"))
}

/// Builds the example `name` into the workspace's target directory; its path.
fn example(name: &str) -> PathBuf {
    let target = target_dir();
    let mut cargo = Command::new(env!("CARGO"));
    // Without the variables cargo sets for this test crate (`CARGO_PKG_*`...): build
    // scripts that watch them (ring's) would run again, and rebuild all that depends on
    // them, at every test run and at the next `cargo test`. The user's settings
    // (`CARGO_INCREMENTAL`, `CARGO_PROFILE_*`...) stay.
    const SET_FOR_THE_TEST: [&str; 8] = [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if SET_FOR_THE_TEST.iter().any(|set| key.starts_with(set)) {
            cargo.env_remove(&*key);
        }
    }
    let status = cargo
        .args(["build", "-q", "-p", name])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building examples/{name} failed");
    target
        .join("debug")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The text of a tool result's first content block.
#[track_caller]
pub fn text(result: &impl serde::Serialize) -> String {
    let value = serde_json::to_value(result).unwrap();
    value["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {value}"))
        .to_owned()
}

/// Runs `oxmcp` with `args`, failing the test if it takes more than 30 s.
pub fn oxmcp<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let child = oxmcp_command(args).spawn().expect("oxmcp starts");
    finish(child, Duration::from_secs(30))
}

/// `oxmcp ARGS…` without colour, stdin empty, stdout and stderr piped.
pub fn oxmcp_command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(OXMCP);
    command
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
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
    /// Starts `examples/everything --http ADDR` and waits until it accepts connections.
    pub fn start() -> HttpServer {
        HttpServer::start_program(everything(), &[], &[])
    }

    /// Starts `program --http ADDR ARGS…` with the environment variables `env`, and waits
    /// until it accepts connections.
    pub fn start_program(program: &Path, args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(program)
            .args(["--http", &addr])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {addr}",
                program.display()
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

/// A running `oxmcp serve --http 127.0.0.1:0 …`; killed on drop.
pub struct Bridge {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Everything it wrote on stderr so far.
    stderr: Arc<Mutex<String>>,
}

impl Bridge {
    /// Starts `oxmcp serve --http 127.0.0.1:0 ARGS…` and waits until it says where it
    /// listens.
    pub fn start(args: &[String]) -> Bridge {
        let mut child = oxmcp_command(["serve", "--http", "127.0.0.1:0"])
            .args(args)
            .spawn()
            .expect("oxmcp starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let seen = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let url = &line[at + "listening on ".len()..];
                    let base = url.split("/mcp").next().unwrap().to_owned();
                    let _ = tx.send(base);
                }
                seen.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not listen: {}", stderr.lock().unwrap()));
        Bridge {
            child,
            base,
            stderr,
        }
    }

    /// The MCP endpoint.
    pub fn url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// Sends the signal `name` (TERM, KILL...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the bridge to exit (at most `limit`).
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread has the last lines once the pipe closes.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not exit within {limit:?}: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
