//! Step parameters: the schema a plugin declares and typed access to the
//! values a pipeline gives.
//!
//! A plugin declares its params with [`ParamSpec`]s in
//! [`PluginInfo`](crate::PluginInfo). Before calling the plugin the SDK
//! resolves the raw params against that schema into [`Params`]: unknown
//! names, wrong kinds and missing required params are invalid-params errors,
//! and absent params take their declared default. An integer is accepted
//! where a number is declared.

use std::fmt;

use crate::StepError;

/// The kind of a param value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A float (an integer is accepted too).
    Number,
    /// A whole number.
    Integer,
    /// A boolean.
    Flag,
    /// A string.
    Text,
    /// A list of floats.
    Numbers,
}

impl ParamKind {
    /// The name the WIT contract uses in `param-spec.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::Number => "number",
            ParamKind::Integer => "integer",
            ParamKind::Flag => "flag",
            ParamKind::Text => "text",
            ParamKind::Numbers => "numbers",
        }
    }
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One param value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A float.
    Number(f64),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Flag(bool),
    /// A string.
    Text(String),
    /// A list of floats.
    Numbers(Vec<f64>),
}

impl ParamValue {
    /// The kind this value has (an integer is [`ParamKind::Integer`] even where
    /// a number is expected).
    pub fn kind(&self) -> ParamKind {
        match self {
            ParamValue::Number(_) => ParamKind::Number,
            ParamValue::Integer(_) => ParamKind::Integer,
            ParamValue::Flag(_) => ParamKind::Flag,
            ParamValue::Text(_) => ParamKind::Text,
            ParamValue::Numbers(_) => ParamKind::Numbers,
        }
    }

    /// Converts to `kind` where the contract allows it: an integer where a
    /// number is expected. Returns `None` for any other mismatch.
    fn coerce(self, kind: ParamKind) -> Option<ParamValue> {
        match (self, kind) {
            (ParamValue::Integer(i), ParamKind::Number) => Some(ParamValue::Number(i as f64)),
            (v, k) if v.kind() == k => Some(v),
            _ => None,
        }
    }
}

/// One param a plugin accepts: name, kind, default (none means required)
/// and a line of documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// The name pipelines set it by, in `params = { ... }`.
    pub name: String,
    /// The kind of value it takes.
    pub kind: ParamKind,
    /// Its value when the pipeline does not set it; `None`: the pipeline must.
    pub default: Option<ParamValue>,
    /// One line on what it does and its unit, shown by `sluice plugin inspect`.
    pub doc: String,
}

impl ParamSpec {
    fn build(
        name: impl Into<String>,
        kind: ParamKind,
        default: Option<ParamValue>,
        doc: impl Into<String>,
    ) -> Self {
        ParamSpec {
            name: name.into(),
            kind,
            default,
            doc: doc.into(),
        }
    }

    /// A float param with a default.
    pub fn number(name: impl Into<String>, default: f64, doc: impl Into<String>) -> Self {
        Self::build(
            name,
            ParamKind::Number,
            Some(ParamValue::Number(default)),
            doc,
        )
    }

    /// A float param every pipeline must set.
    pub fn number_required(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::build(name, ParamKind::Number, None, doc)
    }

    /// An integer param with a default.
    pub fn integer(name: impl Into<String>, default: i64, doc: impl Into<String>) -> Self {
        Self::build(
            name,
            ParamKind::Integer,
            Some(ParamValue::Integer(default)),
            doc,
        )
    }

    /// An integer param every pipeline must set.
    pub fn integer_required(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::build(name, ParamKind::Integer, None, doc)
    }

    /// A boolean param with a default.
    pub fn flag(name: impl Into<String>, default: bool, doc: impl Into<String>) -> Self {
        Self::build(name, ParamKind::Flag, Some(ParamValue::Flag(default)), doc)
    }

    /// A boolean param every pipeline must set.
    pub fn flag_required(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::build(name, ParamKind::Flag, None, doc)
    }

    /// A string param with a default.
    pub fn text(
        name: impl Into<String>,
        default: impl Into<String>,
        doc: impl Into<String>,
    ) -> Self {
        Self::build(
            name,
            ParamKind::Text,
            Some(ParamValue::Text(default.into())),
            doc,
        )
    }

    /// A string param every pipeline must set.
    pub fn text_required(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::build(name, ParamKind::Text, None, doc)
    }

    /// A list-of-floats param with a default.
    pub fn numbers(name: impl Into<String>, default: Vec<f64>, doc: impl Into<String>) -> Self {
        Self::build(
            name,
            ParamKind::Numbers,
            Some(ParamValue::Numbers(default)),
            doc,
        )
    }

    /// A list-of-floats param every pipeline must set.
    pub fn numbers_required(name: impl Into<String>, doc: impl Into<String>) -> Self {
        Self::build(name, ParamKind::Numbers, None, doc)
    }

    /// Whether the param has no default.
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }
}

/// Param values resolved against a plugin's [`ParamSpec`]s: every declared
/// param has a value of its declared kind.
///
/// ```
/// use sluice_sdk::{ParamSpec, ParamValue, Params};
///
/// let specs = [
///     ParamSpec::number("c", 1.0, "inverse regularisation strength"),
///     ParamSpec::integer("max_iter", 100, "iteration limit"),
///     ParamSpec::text_required("target", "label column"),
/// ];
/// let given = vec![
///     ("c".to_string(), ParamValue::Integer(2)),
///     ("target".to_string(), ParamValue::Text("y".into())),
/// ];
/// let params = Params::resolve(&specs, given).unwrap();
/// assert_eq!(params.number("c").unwrap(), 2.0);
/// assert_eq!(params.integer("max_iter").unwrap(), 100);
/// assert_eq!(params.text("target").unwrap(), "y");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    values: Vec<(String, ParamValue)>,
}

impl Params {
    /// Resolves given `(name, value)` pairs against `specs`. Every problem
    /// is reported in one invalid-params error, one sentence each.
    pub fn resolve(
        specs: &[ParamSpec],
        given: impl IntoIterator<Item = (String, ParamValue)>,
    ) -> Result<Params, StepError> {
        let mut problems = Vec::new();
        let mut slots: Vec<Option<ParamValue>> = vec![None; specs.len()];
        // A param given with the wrong kind is reported once, not again as
        // missing.
        let mut rejected = vec![false; specs.len()];
        for (name, value) in given {
            let Some(i) = specs.iter().position(|s| s.name == name) else {
                let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                let known = if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                };
                problems.push(format!("unknown param '{name}'; known: {known}"));
                continue;
            };
            let spec = &specs[i];
            if slots[i].is_some() {
                problems.push(format!("param '{name}' is given twice"));
                continue;
            }
            let given_kind = value.kind();
            match value.coerce(spec.kind) {
                Some(v) => slots[i] = Some(v),
                None => {
                    rejected[i] = true;
                    problems.push(format!(
                        "param '{name}' must be {}, got {given_kind}",
                        with_article(spec.kind)
                    ))
                }
            }
        }
        let mut values = Vec::with_capacity(specs.len());
        for ((spec, slot), rejected) in specs.iter().zip(slots).zip(rejected) {
            match slot.or_else(|| spec.default.clone()) {
                Some(v) => values.push((spec.name.clone(), v)),
                None if rejected => {}
                None => problems.push(format!(
                    "param '{}' ({}) is required: {}",
                    spec.name, spec.kind, spec.doc
                )),
            }
        }
        if problems.is_empty() {
            Ok(Params { values })
        } else {
            Err(StepError::invalid_params(problems.join("; ")))
        }
    }

    /// The value of a declared param.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// All resolved values, in the order of the specs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The float param `name` (an integer value converts). Reading an
    /// undeclared param or one of another kind is an internal error: a bug of
    /// the plugin.
    pub fn number(&self, name: &str) -> Result<f64, StepError> {
        match self.lookup(name, ParamKind::Number)? {
            ParamValue::Number(x) => Ok(*x),
            ParamValue::Integer(i) => Ok(*i as f64),
            other => Err(wrong_kind(name, ParamKind::Number, other)),
        }
    }

    /// The integer param `name`; errors as for [`Params::number`].
    pub fn integer(&self, name: &str) -> Result<i64, StepError> {
        match self.lookup(name, ParamKind::Integer)? {
            ParamValue::Integer(i) => Ok(*i),
            other => Err(wrong_kind(name, ParamKind::Integer, other)),
        }
    }

    /// The boolean param `name`; errors as for [`Params::number`].
    pub fn flag(&self, name: &str) -> Result<bool, StepError> {
        match self.lookup(name, ParamKind::Flag)? {
            ParamValue::Flag(b) => Ok(*b),
            other => Err(wrong_kind(name, ParamKind::Flag, other)),
        }
    }

    /// The string param `name`; errors as for [`Params::number`].
    pub fn text(&self, name: &str) -> Result<&str, StepError> {
        match self.lookup(name, ParamKind::Text)? {
            ParamValue::Text(s) => Ok(s),
            other => Err(wrong_kind(name, ParamKind::Text, other)),
        }
    }

    /// The list-of-floats param `name`; errors as for [`Params::number`].
    pub fn numbers(&self, name: &str) -> Result<&[f64], StepError> {
        match self.lookup(name, ParamKind::Numbers)? {
            ParamValue::Numbers(v) => Ok(v),
            other => Err(wrong_kind(name, ParamKind::Numbers, other)),
        }
    }

    fn lookup(&self, name: &str, kind: ParamKind) -> Result<&ParamValue, StepError> {
        // Resolution gives every declared param a value, so a miss here is a
        // plugin reading a param it never declared: a bug, not bad input.
        self.get(name).ok_or_else(|| {
            StepError::internal(format!(
                "the plugin reads {} param '{name}' that its describe() does not declare",
                kind
            ))
        })
    }
}

fn with_article(kind: ParamKind) -> String {
    match kind {
        ParamKind::Integer => "an integer".to_string(),
        ParamKind::Numbers => "a list of numbers".to_string(),
        k => format!("a {k}"),
    }
}

fn wrong_kind(name: &str, expected: ParamKind, got: &ParamValue) -> StepError {
    StepError::invalid_params(format!(
        "param '{name}' must be {}, got {}",
        with_article(expected),
        got.kind()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec::number("c", 1.0, "strength"),
            ParamSpec::integer("max_iter", 100, "limit"),
            ParamSpec::flag("fit_intercept", true, "intercept"),
            ParamSpec::text_required("target", "label column"),
            ParamSpec::numbers("grid", vec![0.1, 1.0], "grid"),
        ]
    }

    fn given(pairs: &[(&str, ParamValue)]) -> Vec<(String, ParamValue)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn defaults_fill_missing() {
        let p =
            Params::resolve(&specs(), given(&[("target", ParamValue::Text("y".into()))])).unwrap();
        assert_eq!(p.number("c").unwrap(), 1.0);
        assert_eq!(p.integer("max_iter").unwrap(), 100);
        assert!(p.flag("fit_intercept").unwrap());
        assert_eq!(p.text("target").unwrap(), "y");
        assert_eq!(p.numbers("grid").unwrap(), &[0.1, 1.0]);
        assert_eq!(p.iter().count(), 5);
    }

    #[test]
    fn integer_accepted_as_number() {
        let p = Params::resolve(
            &specs(),
            given(&[
                ("c", ParamValue::Integer(3)),
                ("target", ParamValue::Text("y".into())),
            ]),
        )
        .unwrap();
        assert_eq!(p.number("c").unwrap(), 3.0);
        assert_eq!(p.get("c"), Some(&ParamValue::Number(3.0)));
    }

    #[test]
    fn unknown_param_rejected() {
        let err = Params::resolve(
            &[
                ParamSpec::number("a", 0.0, ""),
                ParamSpec::number("b", 0.0, ""),
            ],
            given(&[("x", ParamValue::Flag(true))]),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        assert_eq!(err.message, "unknown param 'x'; known: a, b");
    }

    #[test]
    fn missing_required_rejected() {
        let err = Params::resolve(&specs(), Vec::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        assert_eq!(
            err.message,
            "param 'target' (text) is required: label column"
        );
    }

    #[test]
    fn wrong_kind_names_param_and_kind() {
        let err = Params::resolve(
            &specs(),
            given(&[
                ("max_iter", ParamValue::Number(1.5)),
                ("target", ParamValue::Text("y".into())),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        assert_eq!(
            err.message,
            "param 'max_iter' must be an integer, got number"
        );

        let err =
            Params::resolve(&specs(), given(&[("target", ParamValue::Flag(true))])).unwrap_err();
        // The wrong kind is reported once, not again as "required".
        assert_eq!(err.message, "param 'target' must be a text, got flag");
    }

    #[test]
    fn several_problems_reported_together() {
        let err = Params::resolve(
            &specs(),
            given(&[
                ("zzz", ParamValue::Flag(true)),
                ("c", ParamValue::Text("big".into())),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "unknown param 'zzz'; known: c, max_iter, fit_intercept, target, grid; \
             param 'c' must be a number, got text; \
             param 'target' (text) is required: label column"
        );
    }

    #[test]
    fn duplicate_rejected() {
        let err = Params::resolve(
            &specs(),
            given(&[
                ("target", ParamValue::Text("a".into())),
                ("target", ParamValue::Text("b".into())),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.message, "param 'target' is given twice");
    }

    #[test]
    fn undeclared_read_is_internal_and_wrong_accessor_is_invalid_params() {
        let p =
            Params::resolve(&specs(), given(&[("target", ParamValue::Text("y".into()))])).unwrap();
        assert_eq!(p.number("nope").unwrap_err().kind, ErrorKind::Internal);
        let err = p.flag("c").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        assert_eq!(err.message, "param 'c' must be a flag, got number");
    }
}
