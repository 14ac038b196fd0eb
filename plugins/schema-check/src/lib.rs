//! `schema-check`: a validator for a table's shape.
//!
//! Params:
//! - `columns` (text, default `""`): comma-separated `name:type`, type one
//!   of `f64`, `i64`, `bool`, `string`. Each listed column must exist with
//!   that type. One check `column:<name>` each.
//! - `ranges` (text, default `""`): `col=lo..hi;col2=lo..hi`. The non-null
//!   values of each column must lie in `[lo, hi]` (either end may be left
//!   out: `x=0..`). One check `range:<name>` each; NaN counts as outside.
//! - `max_null_fraction` (number, default 0.0): the largest share of nulls
//!   any column may have. One check `nulls:<name>` per column of the table.
//! - `min_rows` (integer, default 1): one check `rows`.
//!
//! Metrics: `rows`, `columns`, `null_cells`. Malformed param text is an
//! invalid-params error naming the fragment.

use sluice_sdk::metrics::round6;
use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, ValidationReport, Validator,
    ValueKind, Values,
};

/// A column the schema requires, with its type.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRule {
    pub name: String,
    pub kind: ValueKind,
}

/// A closed interval the non-null values of a column must lie in.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeRule {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
}

/// Everything `schema-check` checks, parsed from its params.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub columns: Vec<ColumnRule>,
    pub ranges: Vec<RangeRule>,
    pub max_null_fraction: f64,
    pub min_rows: i64,
}

impl Schema {
    pub fn from_params(params: &Params) -> Result<Schema, StepError> {
        let max_null_fraction = params.number("max_null_fraction")?;
        if !(0.0..=1.0).contains(&max_null_fraction) {
            return Err(StepError::invalid_params(format!(
                "param 'max_null_fraction' must lie in [0, 1], got {max_null_fraction}"
            )));
        }
        let min_rows = params.integer("min_rows")?;
        if min_rows < 0 {
            return Err(StepError::invalid_params(format!(
                "param 'min_rows' must not be negative, got {min_rows}"
            )));
        }
        Ok(Schema {
            columns: parse_columns(params.text("columns")?)?,
            ranges: parse_ranges(params.text("ranges")?)?,
            max_null_fraction,
            min_rows,
        })
    }
}

/// Parses `name:type, name2:type2`.
pub fn parse_columns(text: &str) -> Result<Vec<ColumnRule>, StepError> {
    let mut rules = Vec::new();
    for fragment in text.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let Some((name, kind)) = fragment.rsplit_once(':') else {
            return Err(StepError::invalid_params(format!(
                "param 'columns': '{fragment}' is not name:type"
            )));
        };
        let (name, kind) = (name.trim(), kind.trim());
        if name.is_empty() {
            return Err(StepError::invalid_params(format!(
                "param 'columns': '{fragment}' has no column name"
            )));
        }
        let Some(kind) = ValueKind::parse(kind) else {
            return Err(StepError::invalid_params(format!(
                "param 'columns': '{fragment}' has unknown type '{kind}'; \
                 use f64, i64, bool or string"
            )));
        };
        rules.push(ColumnRule {
            name: name.to_string(),
            kind,
        });
    }
    Ok(rules)
}

/// Parses `col=lo..hi; col2=lo..` (an end left out is unbounded).
pub fn parse_ranges(text: &str) -> Result<Vec<RangeRule>, StepError> {
    let mut rules = Vec::new();
    for fragment in text.split(';').map(str::trim).filter(|f| !f.is_empty()) {
        let bad =
            |why: &str| StepError::invalid_params(format!("param 'ranges': '{fragment}' {why}"));
        let (name, range) = fragment
            .rsplit_once('=')
            .ok_or_else(|| bad("is not col=lo..hi"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("has no column name"));
        }
        let (lo, hi) = range
            .split_once("..")
            .ok_or_else(|| bad("is not col=lo..hi"))?;
        let bound = |s: &str, open: f64| -> Result<f64, StepError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(open);
            }
            match s.parse::<f64>() {
                Ok(v) if !v.is_nan() => Ok(v),
                _ => Err(bad(&format!("has '{s}', which is not a number"))),
            }
        };
        let lo = bound(lo, f64::NEG_INFINITY)?;
        let hi = bound(hi, f64::INFINITY)?;
        if lo > hi {
            return Err(bad("has its low end above its high end"));
        }
        rules.push(RangeRule {
            name: name.to_string(),
            lo,
            hi,
        });
    }
    Ok(rules)
}

/// Runs every rule of `schema` against `data`.
pub fn check(data: &Table, schema: &Schema) -> ValidationReport {
    let mut report = ValidationReport::new();
    let rows = data.num_rows();

    report.check(
        "rows",
        rows as i64 >= schema.min_rows,
        format!("{rows} rows, minimum {}", schema.min_rows),
    );

    for rule in &schema.columns {
        let name = format!("column:{}", rule.name);
        match data.get(&rule.name) {
            None => report.check(
                name,
                false,
                format!("missing; columns: {}", data.names().join(", ")),
            ),
            Some(c) if c.kind() == rule.kind => report.check(name, true, format!("{}", rule.kind)),
            Some(c) => report.check(
                name,
                false,
                format!("is {}, expected {}", c.kind(), rule.kind),
            ),
        }
    }

    for rule in &schema.ranges {
        let name = format!("range:{}", rule.name);
        match data.get(&rule.name) {
            None => report.check(
                name,
                false,
                format!("missing; columns: {}", data.names().join(", ")),
            ),
            Some(c) => {
                let (passed, detail) = range_check(c, rule);
                report.check(name, passed, detail);
            }
        }
    }

    let mut null_cells = 0;
    for c in data.columns() {
        let nulls = c.null_count();
        null_cells += nulls;
        let fraction = if rows == 0 {
            0.0
        } else {
            nulls as f64 / rows as f64
        };
        report.check(
            format!("nulls:{}", c.name()),
            fraction <= schema.max_null_fraction,
            format!(
                "{nulls} nulls in {rows} rows (fraction {}), maximum {}",
                round6(fraction),
                schema.max_null_fraction
            ),
        );
    }

    report.metric("rows", rows as f64);
    report.metric("columns", data.num_columns() as f64);
    report.metric("null_cells", null_cells as f64);
    report
}

fn range_check(column: &Column, rule: &RangeRule) -> (bool, String) {
    let values: Vec<f64> = match &column.values {
        Values::F64(v) => v.clone(),
        Values::I64(v) => v.iter().map(|&x| x as f64).collect(),
        Values::Bool(_) | Values::Str(_) => {
            return (
                false,
                format!("is {}, a range needs f64 or i64", column.kind()),
            );
        }
    };
    let (mut checked, mut outside) = (0usize, 0usize);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, &x) in values.iter().enumerate() {
        if column.is_null(i) {
            continue;
        }
        checked += 1;
        // NaN fails both comparisons, so it counts as outside.
        if !(x >= rule.lo && x <= rule.hi) {
            outside += 1;
        }
        min = min.min(x);
        max = max.max(x);
    }
    let bounds = format!("[{}, {}]", rule.lo, rule.hi);
    let observed = if checked == 0 {
        "no non-null values".to_string()
    } else {
        format!("observed min {min}, max {max}")
    };
    if outside == 0 {
        (
            true,
            format!("all {checked} non-null values in {bounds}; {observed}"),
        )
    } else {
        (
            false,
            format!("{outside} of {checked} non-null values outside {bounds}; {observed}"),
        )
    }
}

pub struct SchemaCheck;

impl Validator for SchemaCheck {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "schema-check",
            env!("CARGO_PKG_VERSION"),
            "Checks a table's columns and types, value ranges, null fractions and row count.",
        )
        .metrics(&["rows", "columns", "null_cells"])
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated name:type (f64, i64, bool, string) that must exist",
        ))
        .param(ParamSpec::text(
            "ranges",
            "",
            "col=lo..hi;col2=lo..hi: non-null values must lie within (an end may be left out)",
        ))
        .param(
            ParamSpec::number(
                "max_null_fraction",
                0.0,
                "largest share of nulls allowed in any column",
            )
            .range(0.0, 1.0),
        )
        .param(ParamSpec::integer("min_rows", 1, "fewest rows allowed").at_least(0.0))
    }

    fn validate(
        data: Table,
        _reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError> {
        let schema = Schema::from_params(&params)?;
        Ok(check(&data, &schema))
    }
}

sluice_sdk::export_validator!(SchemaCheck);

#[cfg(test)]
mod tests;
