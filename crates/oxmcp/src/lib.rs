//! oxmcp
