//! Legacy sessions: what `initialize` settled for the rest of a connection.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use oxmcp_protocol::lifecycle::{ClientCapabilities, Implementation};
use oxmcp_protocol::logging::LoggingLevel;
use oxmcp_protocol::ProtocolVersion;

const NO_LEVEL: u8 = u8::MAX;

/// The state of a legacy (handshake) session.
#[derive(Debug)]
pub(crate) struct LegacySession {
    pub(crate) version: ProtocolVersion,
    pub(crate) capabilities: ClientCapabilities,
    pub(crate) client_info: Implementation,
    initialized: AtomicBool,
    log_level: AtomicU8,
}

impl LegacySession {
    pub(crate) fn new(
        version: ProtocolVersion,
        capabilities: ClientCapabilities,
        client_info: Implementation,
    ) -> Self {
        LegacySession {
            version,
            capabilities,
            client_info,
            initialized: AtomicBool::new(false),
            log_level: AtomicU8::new(NO_LEVEL),
        }
    }

    /// Records `notifications/initialized`.
    pub(crate) fn mark_initialized(&self) {
        self.initialized.store(true, Ordering::Release);
    }

    /// Whether the client sent `notifications/initialized`.
    #[allow(dead_code)]
    pub(crate) fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    /// The level set by `logging/setLevel`, if any.
    pub(crate) fn log_level(&self) -> Option<LoggingLevel> {
        level_from_u8(self.log_level.load(Ordering::Relaxed))
    }

    /// Records `logging/setLevel`.
    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        self.log_level.store(level_to_u8(level), Ordering::Relaxed);
    }
}

const LEVELS: [LoggingLevel; 8] = [
    LoggingLevel::Debug,
    LoggingLevel::Info,
    LoggingLevel::Notice,
    LoggingLevel::Warning,
    LoggingLevel::Error,
    LoggingLevel::Critical,
    LoggingLevel::Alert,
    LoggingLevel::Emergency,
];

fn level_to_u8(level: LoggingLevel) -> u8 {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .map_or(0, |i| i as u8)
}

fn level_from_u8(n: u8) -> Option<LoggingLevel> {
    LEVELS.get(usize::from(n)).copied()
}
