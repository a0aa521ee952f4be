//! Protocol revisions and their eras.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The era a protocol revision belongs to.
///
/// Legacy revisions (2025-11-25 and older) open a session with an `initialize`
/// handshake; modern revisions (2026-07-28 and later) carry version, client
/// identity and capabilities in every request's `_meta` and keep no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// Handshake-based revisions: `initialize`, sessions, server-to-client requests.
    Legacy,
    /// Stateless revisions: per-request `_meta`, `server/discover`, multi round-trip requests.
    Modern,
}

/// A revision of the Model Context Protocol that oxmcp speaks.
///
/// Revisions are ordered by date, so `v >= ProtocolVersion::V2025_06_18` asks
/// "does this revision have what 2025-06-18 introduced".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// 2024-11-05, the first published revision.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP, JSON-RPC batching, tool annotations, audio content.
    V2025_03_26,
    /// 2025-06-18: structured tool output, elicitation, titles, resource links; no batching.
    V2025_06_18,
    /// 2025-11-25: icons, URL elicitation, sampling with tools, tool-name rules.
    V2025_11_25,
    /// 2026-07-28: stateless, per-request `_meta`, `server/discover`, multi round-trip requests.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every revision, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];
    /// The newest revision.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;
    /// The newest revision of the legacy (handshake) era.
    pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// The revision's date string as it appears on the wire, e.g. `"2025-11-25"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a wire date string; `None` for a revision oxmcp does not know.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The era of this revision.
    pub const fn era(self) -> Era {
        match self {
            ProtocolVersion::V2026_07_28 => Era::Modern,
            _ => Era::Legacy,
        }
    }

    /// Whether this revision uses the `initialize` handshake.
    pub const fn is_legacy(self) -> bool {
        matches!(self.era(), Era::Legacy)
    }

    /// Whether this revision is stateless with per-request `_meta`.
    pub const fn is_modern(self) -> bool {
        matches!(self.era(), Era::Modern)
    }

    /// Whether JSON-RPC batches (arrays of messages) are allowed: 2025-03-26 only.
    pub const fn supports_batching(self) -> bool {
        matches!(self, ProtocolVersion::V2025_03_26)
    }

    /// Whether a failed argument check of `tools/call` is reported as a tool
    /// execution error (`isError: true`) rather than a JSON-RPC error (2025-11-25 onward).
    pub fn argument_errors_are_execution_errors(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// The error code for "resource not found": `-32002` up to 2025-11-25, `-32602` after.
    pub fn resource_not_found_code(self) -> i64 {
        if self.is_modern() {
            crate::jsonrpc::error_code::INVALID_PARAMS
        } else {
            crate::jsonrpc::error_code::RESOURCE_NOT_FOUND
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`ProtocolVersion`] from a string oxmcp does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVersion(pub String);

impl fmt::Display for UnknownVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown protocol version `{}`",
            crate::error::echo(&self.0)
        )
    }
}

impl std::error::Error for UnknownVersion {}

impl FromStr for ProtocolVersion {
    type Err = UnknownVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(UnknownVersion(s.into_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_revision() {
        for v in ProtocolVersion::ALL {
            assert_eq!(ProtocolVersion::parse(v.as_str()), Some(v));
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<ProtocolVersion>(&json).unwrap(), v);
        }
        assert_eq!(ProtocolVersion::parse("1900-01-01"), None);
        assert!("2099-01-01".parse::<ProtocolVersion>().is_err());
    }

    #[test]
    fn eras_and_rules() {
        assert!(ProtocolVersion::V2025_11_25.is_legacy());
        assert!(ProtocolVersion::V2026_07_28.is_modern());
        assert!(ProtocolVersion::V2025_03_26.supports_batching());
        assert!(!ProtocolVersion::V2025_06_18.supports_batching());
        assert!(ProtocolVersion::V2024_11_05 < ProtocolVersion::V2025_03_26);
        assert_eq!(
            ProtocolVersion::V2026_07_28.resource_not_found_code(),
            -32602
        );
        assert_eq!(
            ProtocolVersion::V2025_11_25.resource_not_found_code(),
            -32002
        );
    }
}
