//! `relay-stdio`: the least a stdio proxy can do, for `compare` (`cargo xtask bench`): it
//! relays bytes both ways between its own stdio and a child's, parsing nothing, with the
//! fewest system calls (a blocking read and a write each way, one thread per direction).
//!
//! ```text
//! relay-stdio COMMAND [ARG...]
//! ```
//!
//! Set beside `proxy-stdio`, it shows what the extra hop itself costs before any work: no
//! proxy can be cheaper than this.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: relay-stdio COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    match relay(&program, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("relay-stdio: {err}");
            ExitCode::FAILURE
        }
    }
}

fn relay(program: &str, args: impl Iterator<Item = String>) -> io::Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let (Some(to_back), Some(from_back)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(io::Error::other("the child's pipes are missing"));
    };
    // Plain files on duplicated descriptors: no buffering of std's own on the way.
    let front_in = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let front_out = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let down = std::thread::spawn(move || copy(from_back, front_out));
    let up = copy(front_in, to_back);
    let down = down
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the relay thread panicked")));
    child.wait()?;
    up.and(down)
}

/// Copies what `from` gives to `to` as it comes, until `from` ends (then `to` is closed).
fn copy(mut from: impl Read, mut to: impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        match to.write_all(&buf[..n]) {
            Ok(()) => {}
            // The other side went away: nothing more to relay.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}
