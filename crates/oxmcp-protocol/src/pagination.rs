//! Generic request params and pagination.

use serde::{Deserialize, Serialize};

use crate::meta::Meta;

/// An opaque pagination cursor.
pub type Cursor = String;

/// Params that carry nothing but `_meta` (`ping`, `server/discover`, `roots/list`, ...).
///
/// In 2026-07-28 every client request's `_meta` carries the protocol version and client
/// capabilities; see [`RequestMeta`](crate::meta::RequestMeta) for typed access.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestParams {
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl RequestParams {
    /// `{}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Params of the paginated list requests (`tools/list`, `prompts/list`, ...).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaginatedRequestParams {
    /// Where to continue: the `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl PaginatedRequestParams {
    /// The first page: `{}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `cursor`.
    pub fn with_cursor(mut self, cursor: impl Into<Cursor>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}
