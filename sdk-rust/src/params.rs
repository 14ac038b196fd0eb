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

/// One param a plugin accepts: name, kind, default (none means required),
/// a line of documentation, and the values it allows (choices of a text
/// param, a range of a number). The host checks a pipeline's values
/// against the allowed ones when it plans the pipeline, before any step
/// runs, and [`Params::resolve`] checks them again in the plugin.
///
/// ```
/// use sluice_sdk::ParamSpec;
///
/// let scoring = ParamSpec::text("scoring", "accuracy", "the score")
///     .choices(&["accuracy", "r2"]);
/// let rate = ParamSpec::number("learning_rate", 0.1, "shrinkage").above(0.0);
/// let depth = ParamSpec::integer("max_depth", 3, "deepest split").at_least(1.0);
/// let share = ParamSpec::number("test_size", 0.2, "holdout share").range(0.0, 1.0);
/// assert_eq!(scoring.choices, ["accuracy", "r2"]);
/// assert_eq!(rate.range.unwrap().to_string(), "> 0");
/// assert_eq!(depth.range.unwrap().to_string(), ">= 1");
/// assert_eq!(share.range.unwrap().to_string(), "between 0 and 1");
/// ```
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
    /// The values a text param may take; empty: any text.
    pub choices: Vec<String>,
    /// The range of a number or integer param (of each element of a
    /// numbers param); `None`: any value.
    pub range: Option<NumberRange>,
}

/// The values a number param may take: between `min` and `max`, each
/// bound allowed itself or not. Shown as `>= 1`, `> 0`, `between 0 and 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberRange {
    /// The lowest value, if there is one.
    pub min: Option<f64>,
    /// The highest value, if there is one.
    pub max: Option<f64>,
    /// Whether `min` itself is allowed.
    pub min_inclusive: bool,
    /// Whether `max` itself is allowed.
    pub max_inclusive: bool,
}

impl NumberRange {
    /// Whether `x` is in the range (NaN never is).
    pub fn contains(&self, x: f64) -> bool {
        let low = match self.min {
            Some(m) if self.min_inclusive => x >= m,
            Some(m) => x > m,
            None => !x.is_nan(),
        };
        let high = match self.max {
            Some(m) if self.max_inclusive => x <= m,
            Some(m) => x < m,
            None => !x.is_nan(),
        };
        low && high
    }
}

impl fmt::Display for NumberRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = |inclusive: bool, low: bool| match (inclusive, low) {
            (true, true) => ">=",
            (false, true) => ">",
            (true, false) => "<=",
            (false, false) => "<",
        };
        match (self.min, self.max) {
            (Some(lo), Some(hi)) if self.min_inclusive && self.max_inclusive => {
                write!(f, "between {lo} and {hi}")
            }
            (Some(lo), Some(hi)) => write!(
                f,
                "{} {lo} and {} {hi}",
                op(self.min_inclusive, true),
                op(self.max_inclusive, false)
            ),
            (Some(lo), None) => write!(f, "{} {lo}", op(self.min_inclusive, true)),
            (None, Some(hi)) => write!(f, "{} {hi}", op(self.max_inclusive, false)),
            (None, None) => f.write_str("any number"),
        }
    }
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
            choices: Vec::new(),
            range: None,
        }
    }

    /// Allows only these values (for a text param).
    pub fn choices(mut self, allowed: &[&str]) -> Self {
        self.choices = allowed.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Allows only values from `min` to `max`, both included.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.range = Some(NumberRange {
            min: Some(min),
            max: Some(max),
            min_inclusive: true,
            max_inclusive: true,
        });
        self
    }

    fn bound(mut self, value: f64, low: bool, inclusive: bool) -> Self {
        let mut r = self.range.unwrap_or(NumberRange {
            min: None,
            max: None,
            min_inclusive: true,
            max_inclusive: true,
        });
        if low {
            (r.min, r.min_inclusive) = (Some(value), inclusive);
        } else {
            (r.max, r.max_inclusive) = (Some(value), inclusive);
        }
        self.range = Some(r);
        self
    }

    /// Allows only values `>= min` (combines with [`ParamSpec::at_most`]
    /// and [`ParamSpec::below`]).
    pub fn at_least(self, min: f64) -> Self {
        self.bound(min, true, true)
    }

    /// Allows only values `> min`.
    pub fn above(self, min: f64) -> Self {
        self.bound(min, true, false)
    }

    /// Allows only values `<= max`.
    pub fn at_most(self, max: f64) -> Self {
        self.bound(max, false, true)
    }

    /// Allows only values `< max`.
    pub fn below(self, max: f64) -> Self {
        self.bound(max, false, false)
    }

    /// Why `value` is not allowed, if it is not: a text outside the
    /// choices, a number (or an element of numbers) outside the range.
    pub fn refuse(&self, value: &ParamValue) -> Option<String> {
        let name = &self.name;
        match value {
            ParamValue::Text(t) if !self.choices.is_empty() && !self.choices.contains(t) => {
                Some(format!(
                    "param '{name}' is \"{t}\", not one of: {}",
                    self.choices.join(", ")
                ))
            }
            ParamValue::Number(_) | ParamValue::Integer(_) | ParamValue::Numbers(_) => {
                let range = self.range?;
                let xs: Vec<f64> = match value {
                    ParamValue::Number(x) => vec![*x],
                    ParamValue::Integer(i) => vec![*i as f64],
                    ParamValue::Numbers(v) => v.clone(),
                    _ => Vec::new(),
                };
                let bad = xs.into_iter().find(|x| !range.contains(*x))?;
                Some(format!("param '{name}' is {bad}, but must be {range}"))
            }
            _ => None,
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
    /// Resolves given `(name, value)` pairs against `specs`: names, kinds,
    /// required params, and each value against its spec's choices or
    /// range. Every problem is reported in one invalid-params error, one
    /// sentence each.
    pub fn resolve(
        specs: &[ParamSpec],
        given: impl IntoIterator<Item = (String, ParamValue)>,
    ) -> Result<Params, StepError> {
        Self::resolve_with(specs, given, true)
    }

    /// [`Params::resolve`] without the check of values against choices and
    /// ranges: what a plugin's own checks of its values see when it is
    /// called without the host's plan-time check (its unit tests use it).
    pub(crate) fn resolve_with(
        specs: &[ParamSpec],
        given: impl IntoIterator<Item = (String, ParamValue)>,
        check_values: bool,
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
                Some(v) => {
                    if let Some(why) = spec.refuse(&v).filter(|_| check_values) {
                        problems.push(why);
                    }
                    slots[i] = Some(v)
                }
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
    fn choices_and_ranges_are_checked() {
        let specs = [
            ParamSpec::text("scoring", "accuracy", "score").choices(&["accuracy", "r2"]),
            ParamSpec::number("rate", 0.1, "rate")
                .above(0.0)
                .at_most(1.0),
            ParamSpec::integer("depth", 3, "depth").at_least(1.0),
            ParamSpec::numbers("qs", vec![0.5], "quantiles").range(0.0, 1.0),
        ];
        assert!(Params::resolve(&specs, Vec::new()).is_ok());
        let err = Params::resolve(
            &specs,
            given(&[
                ("scoring", ParamValue::Text("acuracy".into())),
                ("rate", ParamValue::Number(0.0)),
                ("depth", ParamValue::Integer(0)),
                ("qs", ParamValue::Numbers(vec![0.5, 1.5])),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        assert_eq!(
            err.message,
            "param 'scoring' is \"acuracy\", not one of: accuracy, r2; \
             param 'rate' is 0, but must be > 0 and <= 1; \
             param 'depth' is 0, but must be >= 1; \
             param 'qs' is 1.5, but must be between 0 and 1"
        );
        let ok = Params::resolve(
            &specs,
            given(&[
                ("rate", ParamValue::Integer(1)),
                ("depth", ParamValue::Integer(1)),
            ]),
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert!(!specs[1].range.unwrap().contains(f64::NAN));
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
