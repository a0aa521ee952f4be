//! What a command fails with, and its exit status.

use std::fmt;

/// Exit status of a usage error (bad arguments), as clap's.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the server could not be reached or answered with an error.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status when a tool reported an error (`isError`).
pub const EXIT_TOOL_ERROR: u8 = 3;

/// A failed command: a message for the user and an exit status.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// A usage error: the command line or a file it named is wrong.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }

    /// The server failed, or could not be reached.
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_FAILURE,
        }
    }

    /// Says what was being done when this happened.
    pub fn context(mut self, doing: impl fmt::Display) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    /// Adds a paragraph (such as a server's stderr) after the message.
    pub fn with_note(mut self, note: &str) -> Self {
        if !note.trim().is_empty() {
            self.message = format!("{}\n{}", self.message, note.trim_end());
        }
        self
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<oxmcp::Error> for CliError {
    fn from(e: oxmcp::Error) -> Self {
        let message = match e.rpc_error() {
            Some(err) => match &err.data {
                Some(data) => format!(
                    "the server answered error {}: {} ({data})",
                    err.code, err.message
                ),
                None => format!("the server answered error {}: {}", err.code, err.message),
            },
            None => e.to_string(),
        };
        CliError::failure(message)
    }
}
