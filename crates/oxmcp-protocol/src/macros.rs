//! Internal macros generating the whole-message structs (`CallToolRequest`, ...) and the
//! method-tagged enums (`ClientRequest`, ...).
//!
//! A `params` member is declared `required P` (the field is `P`) or `optional P`
//! (the field is `Option<P>`, and the member is left out when `None`).

/// The field type of a `params` member.
macro_rules! params_ty {
    (required $p:ty) => { $p };
    (optional $p:ty) => { Option<$p> };
}

/// A borrowed `Option<&P>` of a `params` field, for serializing.
macro_rules! params_ref {
    (required $e:expr) => {
        Some(&$e)
    };
    (optional $e:expr) => {
        $e.as_ref()
    };
}

/// The `params` field value from a deserialized `Option<P>`.
macro_rules! params_take {
    (required $e:expr, $err:ty) => {
        $e.ok_or_else(|| <$err as serde::de::Error>::missing_field("params"))?
    };
    (optional $e:expr, $err:ty) => {
        $e
    };
}

/// A JSON-RPC request of one method: `{jsonrpc, id, method, params}`.
macro_rules! request_message {
    (
        $(#[doc = $doc:literal])*
        $name:ident = $method:path, $kind:ident $params:ty
    ) => {
        $(#[doc = $doc])*
        ///
        /// The `method` member is implied by the type: it is written on serializing and
        /// checked on deserializing.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            /// Always `"2.0"`.
            pub jsonrpc: $crate::jsonrpc::JsonRpcVersion,
            /// The request id.
            pub id: $crate::jsonrpc::RequestId,
            /// The request's `params` member.
            pub params: params_ty!($kind $params),
        }

        impl $name {
            /// The method name of this request.
            pub const METHOD: &'static str = $method;

            /// A request with an id and params.
            pub fn new(
                id: impl Into<$crate::jsonrpc::RequestId>,
                params: params_ty!($kind $params),
            ) -> Self {
                $name { jsonrpc: $crate::jsonrpc::JsonRpcVersion, id: id.into(), params }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::serde_util::CallRef {
                    jsonrpc: Some(&self.jsonrpc),
                    id: Some(&self.id),
                    method: Self::METHOD,
                    params: params_ref!($kind self.params),
                }
                .serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let parts = $crate::serde_util::CallParts::<$params>::deserialize(d)?;
                parts.check_method::<D::Error>(Self::METHOD)?;
                Ok($name {
                    jsonrpc: parts.jsonrpc.ok_or_else(|| D::Error::missing_field("jsonrpc"))?,
                    id: parts.id.ok_or_else(|| D::Error::missing_field("id"))?,
                    params: params_take!($kind parts.params, D::Error),
                })
            }
        }
    };
}

/// A server-to-client request that 2026-07-28 embeds in an `InputRequiredResult`
/// without `jsonrpc` and `id`, while legacy revisions send it as a JSON-RPC request.
macro_rules! input_request_message {
    (
        $(#[doc = $doc:literal])*
        $name:ident = $method:path, $kind:ident $params:ty
    ) => {
        $(#[doc = $doc])*
        ///
        /// `jsonrpc` and `id` are present when it travels as a legacy JSON-RPC request
        /// and absent when it is embedded in a 2026-07-28 `InputRequiredResult`. The
        /// `method` member is implied by the type.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            /// `"2.0"` when sent as a JSON-RPC request.
            pub jsonrpc: Option<$crate::jsonrpc::JsonRpcVersion>,
            /// The request id when sent as a JSON-RPC request.
            pub id: Option<$crate::jsonrpc::RequestId>,
            /// The request's `params` member.
            pub params: params_ty!($kind $params),
        }

        impl $name {
            /// The method name of this request.
            pub const METHOD: &'static str = $method;

            /// An embedded request (no `jsonrpc`, no `id`).
            pub fn new(params: params_ty!($kind $params)) -> Self {
                $name { jsonrpc: None, id: None, params }
            }

            /// Makes it a JSON-RPC request with this id (sets `jsonrpc` too).
            pub fn with_id(mut self, id: impl Into<$crate::jsonrpc::RequestId>) -> Self {
                self.jsonrpc = Some($crate::jsonrpc::JsonRpcVersion);
                self.id = Some(id.into());
                self
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::serde_util::CallRef {
                    jsonrpc: self.jsonrpc.as_ref(),
                    id: self.id.as_ref(),
                    method: Self::METHOD,
                    params: params_ref!($kind self.params),
                }
                .serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let parts = $crate::serde_util::CallParts::<$params>::deserialize(d)?;
                parts.check_method::<D::Error>(Self::METHOD)?;
                Ok($name {
                    jsonrpc: parts.jsonrpc,
                    id: parts.id,
                    params: params_take!($kind parts.params, D::Error),
                })
            }
        }
    };
}

/// A JSON-RPC notification of one method: `{jsonrpc, method, params}`.
macro_rules! notification_message {
    (
        $(#[doc = $doc:literal])*
        $name:ident = $method:path, $kind:ident $params:ty
    ) => {
        $(#[doc = $doc])*
        ///
        /// The `method` member is implied by the type: it is written on serializing and
        /// checked on deserializing.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            /// Always `"2.0"`.
            pub jsonrpc: $crate::jsonrpc::JsonRpcVersion,
            /// The notification's `params` member.
            pub params: params_ty!($kind $params),
        }

        impl $name {
            /// The method name of this notification.
            pub const METHOD: &'static str = $method;

            /// A notification with these params.
            pub fn new(params: params_ty!($kind $params)) -> Self {
                $name { jsonrpc: $crate::jsonrpc::JsonRpcVersion, params }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::serde_util::CallRef {
                    jsonrpc: Some(&self.jsonrpc),
                    id: None,
                    method: Self::METHOD,
                    params: params_ref!($kind self.params),
                }
                .serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let parts = $crate::serde_util::CallParts::<$params>::deserialize(d)?;
                parts.check_method::<D::Error>(Self::METHOD)?;
                if parts.id.is_some() {
                    return Err(D::Error::custom("a notification has no `id`"));
                }
                Ok($name {
                    jsonrpc: parts.jsonrpc.ok_or_else(|| D::Error::missing_field("jsonrpc"))?,
                    params: params_take!($kind parts.params, D::Error),
                })
            }
        }
    };
}

/// An enum over methods: each variant holds the params of one method, and the value is
/// (de)serialized as `{"method": ..., "params": ...}` (other members are ignored).
macro_rules! method_enum {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident {
            $(
                $(#[doc = $vdoc:literal])*
                $variant:ident($kind:ident $params:ty) = $method:path
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        // Messages are short-lived values moved once or twice; boxing the big params
        // (sampling) would cost every caller a pointer chase for nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[doc = $vdoc])*
                $variant(params_ty!($kind $params)),
            )*
        }

        impl $name {
            /// The method name of this message.
            pub fn method(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $method, )*
                }
            }

            /// Every method name this enum covers.
            pub const METHODS: &'static [&'static str] = &[$($method),*];
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(
                        $name::$variant(p) => $crate::serde_util::CallRef {
                            jsonrpc: None,
                            id: None,
                            method: $method,
                            params: params_ref!($kind *p),
                        }
                        .serialize(s),
                    )*
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let raw = $crate::serde_util::RawCall::deserialize(d)?;
                $(
                    if raw.method == $method {
                        return method_enum!(@de $kind raw.params)
                            .map($name::$variant)
                            .map_err(D::Error::custom);
                    }
                )*
                Err(D::Error::custom(format_args!(
                    "unknown method `{}` for {}",
                    $crate::error::echo(&raw.method),
                    stringify!($name)
                )))
            }
        }
    };
    (@de required $e:expr) => {
        $crate::serde_util::required_params($e)
    };
    (@de optional $e:expr) => {
        $crate::serde_util::optional_params($e)
    };
}

/// A cacheable paginated list result: `{<items>, nextCursor?, resultType?, ttlMs?,
/// cacheScope?, _meta?}`.
macro_rules! list_result {
    (
        $(#[doc = $doc:literal])*
        $name:ident { $(#[doc = $fdoc:literal])* $field:ident: $item:ty }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[non_exhaustive]
        pub struct $name {
            $(#[doc = $fdoc])*
            pub $field: Vec<$item>,
            /// The cursor of the next page, if there is one.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<$crate::pagination::Cursor>,
            /// The result type (2026-07-28).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub result_type: Option<$crate::result::ResultType>,
            /// How long the client may cache this result, in milliseconds (2026-07-28).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub ttl_ms: Option<u64>,
            /// Who may share a cached copy (2026-07-28).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub cache_scope: Option<$crate::result::CacheScope>,
            /// Reserved metadata.
            #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
            pub meta: Option<$crate::meta::Meta>,
        }

        impl $name {
            /// A page of items.
            pub fn new($field: Vec<$item>) -> Self {
                $name {
                    $field,
                    next_cursor: None,
                    result_type: None,
                    ttl_ms: None,
                    cache_scope: None,
                    meta: None,
                }
            }

            /// Sets `nextCursor`.
            pub fn with_next_cursor(mut self, cursor: impl Into<$crate::pagination::Cursor>) -> Self {
                self.next_cursor = Some(cursor.into());
                self
            }

            /// Sets `resultType`.
            pub fn with_result_type(mut self, result_type: $crate::result::ResultType) -> Self {
                self.result_type = Some(result_type);
                self
            }

            /// Sets `ttlMs` and `cacheScope`.
            pub fn with_cache(mut self, ttl_ms: u64, cache_scope: $crate::result::CacheScope) -> Self {
                self.ttl_ms = Some(ttl_ms);
                self.cache_scope = Some(cache_scope);
                self
            }

            /// Sets `_meta`.
            pub fn with_meta(mut self, meta: $crate::meta::Meta) -> Self {
                self.meta = Some(meta);
                self
            }
        }
    };
}
