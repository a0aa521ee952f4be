//! Validates MCP messages against the official JSON schemas.
