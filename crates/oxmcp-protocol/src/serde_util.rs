//! Small serde helpers shared by the wire types.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::jsonrpc::{JsonRpcVersion, RequestId};

/// The parts of a request or notification, read leniently: every member optional
/// except `method`, unknown members ignored.
#[derive(Deserialize)]
#[serde(bound = "P: Deserialize<'de>")]
pub(crate) struct CallParts<P> {
    #[serde(default)]
    pub jsonrpc: Option<JsonRpcVersion>,
    #[serde(default)]
    pub id: Option<RequestId>,
    pub method: String,
    #[serde(default)]
    pub params: Option<P>,
}

impl<P> CallParts<P> {
    /// Fails unless the method is `expected`.
    pub fn check_method<E: serde::de::Error>(&self, expected: &str) -> Result<(), E> {
        if self.method == expected {
            Ok(())
        } else {
            Err(E::custom(format_args!(
                "expected method `{expected}`, got `{}`",
                crate::error::echo(&self.method)
            )))
        }
    }
}

/// The parts of a request or notification, borrowed for serializing.
#[derive(Serialize)]
pub(crate) struct CallRef<'a, P> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jsonrpc: Option<&'a JsonRpcVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a RequestId>,
    pub method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<&'a P>,
}

/// `{method, params}` with the params kept as JSON, for method-tagged enums.
#[derive(Deserialize)]
pub(crate) struct RawCall {
    pub method: String,
    #[serde(default)]
    pub params: Option<Value>,
}

/// Deserializes required params of a method-tagged enum variant.
pub(crate) fn required_params<T: DeserializeOwned>(
    params: Option<Value>,
) -> Result<T, serde_json::Error> {
    match params {
        Some(v) => serde_json::from_value(v),
        None => Err(serde_json::Error::missing_field("params")),
    }
}

/// Deserializes optional params of a method-tagged enum variant.
pub(crate) fn optional_params<T: DeserializeOwned>(
    params: Option<Value>,
) -> Result<Option<T>, serde_json::Error> {
    params.map(serde_json::from_value).transpose()
}

/// Converts a JSON value into `T`, mapping the error into the caller's deserializer error.
pub(crate) fn from_value<T: DeserializeOwned, E: serde::de::Error>(v: Value) -> Result<T, E> {
    serde_json::from_value(v).map_err(E::custom)
}

/// The string member `key` of a JSON object, if there is one.
pub(crate) fn str_member<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Serializes an `f64` the way JavaScript does: integral values without a fraction,
/// so `50.0` is written `50` and round-trips through `serde_json::Value` unchanged.
pub(crate) fn f64_js<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if v.fract() == 0.0 && v.abs() <= MAX_SAFE {
        // Exact: the value is integral and within the range an f64 represents exactly.
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// [`f64_js`] for an optional field (only called when the value is present).
pub(crate) fn opt_f64_js<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => f64_js(v, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize)]
    struct N(#[serde(serialize_with = "super::f64_js")] f64);

    #[test]
    fn integral_floats_are_written_as_integers() {
        assert_eq!(serde_json::to_value(N(50.0)).unwrap(), json!(50));
        assert_eq!(serde_json::to_value(N(-3.0)).unwrap(), json!(-3));
        assert_eq!(serde_json::to_value(N(0.25)).unwrap(), json!(0.25));
        assert_eq!(serde_json::to_value(N(1e300)).unwrap(), json!(1e300));
        assert_eq!(serde_json::to_string(&N(2.0)).unwrap(), "2");
    }
}
