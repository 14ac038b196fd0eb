//! Params as a pipeline file writes them and as the contract carries
//! them: TOML values converted to the WIT param of a declared kind, the
//! kind of a value, and a value as JSON (in run records and cache keys).
//! A leaf every layer may use: it knows the contract's types and nothing
//! of plans, plugins or runs.

use crate::wit;

/// A TOML value as a param of kind `kind` ("number", "integer", "flag",
/// "text", "numbers"), or `None` when it is not one.
pub fn convert_value(kind: &str, value: &toml::Value) -> Option<wit::ParamValue> {
    match (kind, value) {
        ("number", toml::Value::Float(f)) => Some(wit::ParamValue::Number(*f)),
        ("number", toml::Value::Integer(i)) => Some(wit::ParamValue::Number(*i as f64)),
        ("integer", toml::Value::Integer(i)) => Some(wit::ParamValue::Integer(*i)),
        ("flag", toml::Value::Boolean(b)) => Some(wit::ParamValue::Flag(*b)),
        ("text", toml::Value::String(s)) => Some(wit::ParamValue::Text(s.clone())),
        ("numbers", toml::Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                toml::Value::Float(f) => Some(*f),
                toml::Value::Integer(i) => Some(*i as f64),
                _ => None,
            })
            .collect::<Option<Vec<f64>>>()
            .map(wit::ParamValue::Numbers),
        _ => None,
    }
}

/// A param value as JSON, as runs record it and cache keys hash it.
pub fn param_json(v: &wit::ParamValue) -> serde_json::Value {
    match v {
        wit::ParamValue::Number(f) => serde_json::json!(f),
        wit::ParamValue::Integer(i) => serde_json::json!(i),
        wit::ParamValue::Flag(b) => serde_json::json!(b),
        wit::ParamValue::Text(s) => serde_json::json!(s),
        wit::ParamValue::Numbers(v) => serde_json::json!(v),
    }
}

/// The kind of a param value, as `describe()` names kinds.
pub fn value_kind(v: &wit::ParamValue) -> &'static str {
    match v {
        wit::ParamValue::Number(_) => "number",
        wit::ParamValue::Integer(_) => "integer",
        wit::ParamValue::Flag(_) => "flag",
        wit::ParamValue::Text(_) => "text",
        wit::ParamValue::Numbers(_) => "numbers",
    }
}
