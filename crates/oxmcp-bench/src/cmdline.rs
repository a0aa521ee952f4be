//! Turning a `--server "<command line>"` string into a [`Command`].
//!
//! Simple command lines (words, quotes, backslash escapes) are split here and
//! spawned directly, so the measured child is the server itself. Anything that
//! needs a shell (pipes, variables, globs, `VAR=value` prefixes, ...) runs as
//! `sh -c 'exec <line>'`; the `exec` keeps a single process where possible, and
//! the measurements cover the whole process tree anyway.

use std::process::Command;

/// Characters that make a command line need a real shell.
const SHELL_SPECIAL: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '{', '}', '~', '#', '\n',
];

/// Builds the command for `line`; errors on an empty line or unbalanced quotes.
pub fn command(line: &str) -> Result<Command, String> {
    let words = split(line)?;
    let Some((program, args)) = words.split_first() else {
        return Err("empty server command line".to_owned());
    };
    if needs_shell(line, program) {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("exec {line}"));
        return Ok(cmd);
    }
    let mut cmd = Command::new(program);
    cmd.args(args);
    Ok(cmd)
}

/// Whether `line` (whose first word is `program`) must be run by `sh`.
fn needs_shell(line: &str, program: &str) -> bool {
    line.contains(SHELL_SPECIAL) || program.contains('=')
}

/// Splits `line` into words the way `sh` would for plain words and quotes.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unbalanced ' in {line:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unbalanced \" in {line:?}")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unbalanced \" in {line:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_and_quotes() {
        let words = split(r#" node  'my server.js' --x="a \"b\"" c\ d '' "#).unwrap();
        assert_eq!(words, ["node", "my server.js", r#"--x=a "b""#, "c d", ""]);
        assert!(split("a 'b").is_err());
        assert!(split("a \"b").is_err());
        assert!(command("   ").is_err());
    }

    #[test]
    fn shell_only_when_needed() {
        let direct = command("/bin/cat -u").unwrap();
        assert_eq!(direct.get_program(), "/bin/cat");
        let shell = command("RUST_LOG=off server").unwrap();
        assert_eq!(shell.get_program(), "sh");
        let args: Vec<_> = shell.get_args().collect();
        assert_eq!(args, ["-c", "exec RUST_LOG=off server"]);
        assert_eq!(command("server 2>/dev/null").unwrap().get_program(), "sh");
    }
}
