//! Moves between the generated wire types and the SDK's own.
//!
//! Every conversion moves the vectors (a `Vec<f64>` changes its wrapper, not
//! its buffer), so a million-row table crosses for the cost of the
//! canonical ABI's own copy.

use crate::wit::types as wire;
use crate::{
    Check, Column, ErrorKind, Explanation, Metric, ParamSpec, ParamValue, PluginInfo, StepError,
    Table, Trained, ValidationReport, Values,
};

impl From<wire::Values> for Values {
    fn from(v: wire::Values) -> Self {
        match v {
            wire::Values::F64s(v) => Values::F64(v),
            wire::Values::I64s(v) => Values::I64(v),
            wire::Values::Bools(v) => Values::Bool(v),
            wire::Values::Strings(v) => Values::Str(v),
        }
    }
}

impl From<Values> for wire::Values {
    fn from(v: Values) -> Self {
        match v {
            Values::F64(v) => wire::Values::F64s(v),
            Values::I64(v) => wire::Values::I64s(v),
            Values::Bool(v) => wire::Values::Bools(v),
            Values::Str(v) => wire::Values::Strings(v),
        }
    }
}

impl From<wire::Column> for Column {
    fn from(c: wire::Column) -> Self {
        Column {
            name: c.name,
            values: c.values.into(),
            valid: c.valid,
        }
    }
}

impl From<Column> for wire::Column {
    fn from(c: Column) -> Self {
        wire::Column {
            name: c.name,
            values: c.values.into(),
            valid: c.valid,
        }
    }
}

impl From<wire::Table> for Table {
    fn from(t: wire::Table) -> Self {
        Table {
            columns: t.columns.into_iter().map(Column::from).collect(),
        }
    }
}

impl From<Table> for wire::Table {
    fn from(t: Table) -> Self {
        wire::Table {
            columns: t.columns.into_iter().map(wire::Column::from).collect(),
        }
    }
}

/// A copy of `table` in wire form, for an import that borrows its argument.
#[cfg(target_arch = "wasm32")]
pub(crate) fn table_to_wire_cloned(table: &Table) -> wire::Table {
    table.clone().into()
}

/// A table from the host, checked for equal column lengths.
pub(crate) fn table_in(t: wire::Table) -> Result<Table, StepError> {
    let table = Table::from(t);
    table.check_shape()?;
    Ok(table)
}

pub(crate) fn column_in(c: wire::Column) -> Result<Column, StepError> {
    let column = Column::from(c);
    if let Some(valid) = &column.valid
        && valid.len() != column.len()
    {
        return Err(StepError::invalid_input(format!(
            "column '{}' has {} rows but a validity mask of {}",
            column.name,
            column.len(),
            valid.len()
        )));
    }
    Ok(column)
}

impl From<wire::ParamValue> for ParamValue {
    fn from(v: wire::ParamValue) -> Self {
        match v {
            wire::ParamValue::Number(x) => ParamValue::Number(x),
            wire::ParamValue::Integer(x) => ParamValue::Integer(x),
            wire::ParamValue::Flag(x) => ParamValue::Flag(x),
            wire::ParamValue::Text(x) => ParamValue::Text(x),
            wire::ParamValue::Numbers(x) => ParamValue::Numbers(x),
        }
    }
}

impl From<ParamValue> for wire::ParamValue {
    fn from(v: ParamValue) -> Self {
        match v {
            ParamValue::Number(x) => wire::ParamValue::Number(x),
            ParamValue::Integer(x) => wire::ParamValue::Integer(x),
            ParamValue::Flag(x) => wire::ParamValue::Flag(x),
            ParamValue::Text(x) => wire::ParamValue::Text(x),
            ParamValue::Numbers(x) => wire::ParamValue::Numbers(x),
        }
    }
}

pub(crate) fn params_in(params: Vec<wire::Param>) -> impl Iterator<Item = (String, ParamValue)> {
    params.into_iter().map(|p| (p.name, p.value.into()))
}

impl From<ParamSpec> for wire::ParamSpec {
    fn from(s: ParamSpec) -> Self {
        wire::ParamSpec {
            name: s.name,
            kind: s.kind.as_str().to_string(),
            default: s.default.map(Into::into),
            doc: s.doc,
            choices: s.choices,
            range: s.range.map(|r| wire::NumberRange {
                min: r.min,
                max: r.max,
                min_inclusive: r.min_inclusive,
                max_inclusive: r.max_inclusive,
            }),
        }
    }
}

pub(crate) fn info_out(info: PluginInfo, kind: wire::StepKind) -> wire::PluginInfo {
    wire::PluginInfo {
        name: info.name,
        version: info.version,
        kind,
        doc: info.doc,
        params: info.params.into_iter().map(Into::into).collect(),
        metrics: info.metrics,
    }
}

impl From<StepError> for wire::StepError {
    fn from(e: StepError) -> Self {
        wire::StepError {
            kind: match e.kind {
                ErrorKind::InvalidParams => wire::ErrorKind::InvalidParams,
                ErrorKind::InvalidInput => wire::ErrorKind::InvalidInput,
                ErrorKind::Internal => wire::ErrorKind::Internal,
            },
            message: e.message,
        }
    }
}

impl From<wire::StepError> for StepError {
    fn from(e: wire::StepError) -> Self {
        StepError {
            kind: match e.kind {
                wire::ErrorKind::InvalidParams => ErrorKind::InvalidParams,
                wire::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
                wire::ErrorKind::Internal => ErrorKind::Internal,
            },
            message: e.message,
        }
    }
}

impl From<Metric> for wire::Metric {
    fn from(m: Metric) -> Self {
        wire::Metric {
            name: m.name,
            value: m.value,
        }
    }
}

fn metrics_out(metrics: Vec<Metric>) -> Vec<wire::Metric> {
    metrics.into_iter().map(Into::into).collect()
}

impl From<Check> for wire::Check {
    fn from(c: Check) -> Self {
        wire::Check {
            name: c.name,
            passed: c.passed,
            detail: c.detail,
        }
    }
}

impl From<ValidationReport> for wire::ValidationReport {
    fn from(r: ValidationReport) -> Self {
        wire::ValidationReport {
            checks: r.checks.into_iter().map(Into::into).collect(),
            metrics: metrics_out(r.metrics),
        }
    }
}

impl From<Trained> for wire::Trained {
    fn from(t: Trained) -> Self {
        wire::Trained {
            model: t.model,
            metrics: metrics_out(t.metrics),
        }
    }
}

impl From<Explanation> for wire::Explanation {
    fn from(e: Explanation) -> Self {
        wire::Explanation {
            global: e
                .global
                .into_iter()
                .map(|a| wire::Attribution {
                    feature: a.feature,
                    score: a.score,
                })
                .collect(),
            metrics: metrics_out(e.metrics),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trip_moves_buffers() {
        let xs: Vec<f64> = (0..1000).map(f64::from).collect();
        let ptr = xs.as_ptr();
        let t = Table::new()
            .with(Column::f64("x", xs).with_nulls(&[3]))
            .with(Column::strings("s", (0..1000).map(|i| i.to_string())));
        let expected = t.clone();
        let w: wire::Table = t.into();
        let back = table_in(w).unwrap();
        assert_eq!(back, expected);
        // The same allocation made the whole trip: no per-element copy.
        assert_eq!(back.columns[0].f64_values().unwrap().as_ptr(), ptr);
    }

    #[test]
    fn every_value_kind_converts() {
        for values in [
            Values::F64(vec![1.5]),
            Values::I64(vec![-2]),
            Values::Bool(vec![true]),
            Values::Str(vec!["a".into()]),
        ] {
            let w: wire::Values = values.clone().into();
            assert_eq!(Values::from(w), values);
        }
    }

    #[test]
    fn ragged_table_is_invalid_input() {
        let w = wire::Table {
            columns: vec![
                wire::Column {
                    name: "a".into(),
                    values: wire::Values::F64s(vec![1.0, 2.0]),
                    valid: None,
                },
                wire::Column {
                    name: "b".into(),
                    values: wire::Values::F64s(vec![1.0]),
                    valid: None,
                },
            ],
        };
        assert_eq!(table_in(w).unwrap_err().kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn errors_and_params_convert() {
        let e = StepError::invalid_params("bad");
        let w: wire::StepError = e.clone().into();
        assert_eq!(StepError::from(w), e);
        let spec: wire::ParamSpec = ParamSpec::integer("n", 5, "doc").into();
        assert_eq!(spec.kind, "integer");
        assert!(matches!(spec.default, Some(wire::ParamValue::Integer(5))));
        let given: Vec<_> = params_in(vec![wire::Param {
            name: "n".into(),
            value: wire::ParamValue::Integer(7),
        }])
        .collect();
        assert_eq!(given, vec![("n".to_string(), ParamValue::Integer(7))]);
    }
}
