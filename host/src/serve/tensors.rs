//! Request values into the model's feature table, and its predictions out.
//!
//! Every protocol's body is first read into named columns of [`Scalar`]s
//! (JSON numbers, booleans, strings and nulls, or the Open Inference
//! Protocol's binary tensors), then [`conform`]ed to the version's input
//! schema: each feature column found by name and cast to the type the
//! model was trained on (an integer where a float is expected, `1.0` where
//! an integer is), with an error naming the column and the row of the
//! first value that cannot be. Columns the model does not use are kept
//! aside, so a caller can have them echoed beside the predictions.

use super::error::ApiError;
use crate::wit;
use serde_json::Value;

/// One value of a request, before it is checked against the schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A missing value (JSON null; an empty CSV field).
    Null,
    /// A number with a fraction or exponent (or a binary FP tensor's).
    F64(f64),
    /// A whole number.
    I64(i64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Str(String),
}

impl Scalar {
    /// A JSON value as a scalar; arrays and objects are not scalars.
    pub fn from_json(value: &Value) -> Option<Scalar> {
        Some(match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Scalar::I64(i),
                None => Scalar::F64(n.as_f64()?),
            },
            Value::String(s) => Scalar::Str(s.clone()),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }

    fn describe(&self) -> String {
        match self {
            Scalar::Null => "null".into(),
            Scalar::F64(x) => format!("{x}"),
            Scalar::I64(i) => format!("{i}"),
            Scalar::Bool(b) => format!("{b}"),
            Scalar::Str(s) => format!("{:?}", truncate(s)),
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_owned()
    } else {
        format!("{}...", s.chars().take(40).collect::<String>())
    }
}

/// A named column of a request.
#[derive(Debug, Clone)]
pub struct RawColumn {
    /// The column's name in the request.
    pub name: String,
    /// One value per row.
    pub values: Vec<Scalar>,
}

/// The feature table for a model's `schema` (name, type), from `columns`
/// in any order, and the columns the schema does not name (kept in their
/// order, to be echoed back if asked). Every column must have the same
/// number of rows.
pub fn conform(
    schema: &[(String, String)],
    columns: Vec<RawColumn>,
) -> Result<(wit::Table, Vec<RawColumn>), ApiError> {
    let rows = columns.first().map(|c| c.values.len()).unwrap_or(0);
    if let Some(c) = columns.iter().find(|c| c.values.len() != rows) {
        return Err(ApiError::bad_request(format!(
            "input `{}` has {} rows where `{}` has {rows}: every column needs one value per row",
            c.name,
            c.values.len(),
            columns[0].name
        )));
    }
    let mut by_name: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, c) in columns.iter().enumerate() {
        if by_name.insert(c.name.clone(), i).is_some() {
            return Err(ApiError::bad_request(format!(
                "input `{}` is given twice",
                c.name
            )));
        }
    }
    let missing: Vec<&str> = schema
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !by_name.contains_key(*n))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "the request lacks {} feature column(s) the model needs: {}",
            missing.len(),
            missing.join(", ")
        )));
    }
    let mut slots: Vec<Option<RawColumn>> = columns.into_iter().map(Some).collect();
    let mut features = Vec::with_capacity(schema.len());
    for (name, kind) in schema {
        let column = slots[by_name[name]].take().expect("taken once");
        features.push(cast(&column, kind)?);
    }
    let extra = slots.into_iter().flatten().collect();
    Ok((wit::Table { columns: features }, extra))
}

/// `column` as a WIT column of `kind` (`f64`, `i64`, `bool` or `string`).
fn cast(column: &RawColumn, kind: &str) -> Result<wit::Column, ApiError> {
    let n = column.values.len();
    let mut valid = vec![true; n];
    let wrong = |row: usize, v: &Scalar| {
        ApiError::bad_request(format!(
            "column `{}` row {row}: {} is not a {}",
            column.name,
            v.describe(),
            match kind {
                "f64" => "number",
                "i64" => "whole number",
                "bool" => "boolean",
                "string" => "string",
                other => other,
            }
        ))
    };
    let values = match kind {
        "f64" => {
            let mut out = Vec::with_capacity(n);
            for (row, v) in column.values.iter().enumerate() {
                out.push(match v {
                    Scalar::F64(x) => *x,
                    Scalar::I64(i) => *i as f64,
                    Scalar::Null => {
                        valid[row] = false;
                        0.0
                    }
                    other => return Err(wrong(row, other)),
                });
            }
            wit::Values::F64s(out)
        }
        "i64" => {
            let mut out = Vec::with_capacity(n);
            for (row, v) in column.values.iter().enumerate() {
                out.push(match v {
                    Scalar::I64(i) => *i,
                    Scalar::F64(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => *x as i64,
                    Scalar::Bool(b) => i64::from(*b),
                    Scalar::Null => {
                        valid[row] = false;
                        0
                    }
                    other => return Err(wrong(row, other)),
                });
            }
            wit::Values::I64s(out)
        }
        "bool" => {
            let mut out = Vec::with_capacity(n);
            for (row, v) in column.values.iter().enumerate() {
                out.push(match v {
                    Scalar::Bool(b) => *b,
                    Scalar::I64(0) => false,
                    Scalar::I64(1) => true,
                    Scalar::Null => {
                        valid[row] = false;
                        false
                    }
                    other => return Err(wrong(row, other)),
                });
            }
            wit::Values::Bools(out)
        }
        "string" => {
            let mut out = Vec::with_capacity(n);
            for (row, v) in column.values.iter().enumerate() {
                out.push(match v {
                    Scalar::Str(s) => s.clone(),
                    Scalar::Null => {
                        valid[row] = false;
                        String::new()
                    }
                    other => return Err(wrong(row, other)),
                });
            }
            wit::Values::Strings(out)
        }
        other => {
            return Err(ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "feature `{}` has type {other}, which serving cannot build",
                    column.name
                ),
            ));
        }
    };
    Ok(wit::Column {
        name: column.name.clone(),
        values,
        valid: valid.iter().any(|v| !v).then_some(valid),
    })
}

/// The rows of a WIT column as JSON values (null where a value is null;
/// a float that JSON cannot hold, NaN or infinite, is null too).
pub fn column_json(column: &wit::Column) -> Vec<Value> {
    fn each<T>(values: &[T], valid: Option<&Vec<bool>>, json: impl Fn(&T) -> Value) -> Vec<Value> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| match valid {
                Some(valid) if !valid[i] => Value::Null,
                _ => json(v),
            })
            .collect()
    }
    let valid = column.valid.as_ref();
    match &column.values {
        wit::Values::F64s(v) => each(v, valid, |x| {
            serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number)
        }),
        wit::Values::I64s(v) => each(v, valid, |x| Value::from(*x)),
        wit::Values::Bools(v) => each(v, valid, |x| Value::from(*x)),
        wit::Values::Strings(v) => each(v, valid, |x| Value::from(x.as_str())),
    }
}

/// The rows of a request column as JSON values, as they came.
pub fn raw_json(column: &RawColumn) -> Vec<Value> {
    column
        .values
        .iter()
        .map(|v| match v {
            Scalar::Null => Value::Null,
            Scalar::F64(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Scalar::I64(i) => Value::from(*i),
            Scalar::Bool(b) => Value::from(*b),
            Scalar::Str(s) => Value::from(s.as_str()),
        })
        .collect()
}

/// The OIP datatype of a request column echoed back: INT64, FP64, BOOL
/// or BYTES, by what its values are.
pub fn raw_type(column: &RawColumn) -> &'static str {
    let (mut ints, mut floats, mut bools, mut strings) = (false, false, false, false);
    for v in &column.values {
        match v {
            Scalar::Null => {}
            Scalar::I64(_) => ints = true,
            Scalar::F64(_) => floats = true,
            Scalar::Bool(_) => bools = true,
            Scalar::Str(_) => strings = true,
        }
    }
    match (ints, floats, bools, strings) {
        (_, _, _, true) | (true, _, true, _) | (_, true, true, _) => "BYTES",
        (_, true, false, false) => "FP64",
        (true, false, false, false) => "INT64",
        (false, false, true, false) => "BOOL",
        (false, false, false, false) => "BYTES",
    }
}

/// The request columns the model does not use that the caller asked to
/// have echoed (`passthrough`: a list of names, or `true` for all of
/// them); an error names one that is not in the request.
pub fn passthrough(
    parameters: &serde_json::Map<String, Value>,
    extra: &[RawColumn],
) -> Result<Vec<RawColumn>, ApiError> {
    match parameters.get("passthrough") {
        None | Some(Value::Null | Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Bool(true)) => Ok(extra.to_vec()),
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| {
                let name = name.as_str().ok_or_else(|| {
                    ApiError::bad_request("passthrough: give a list of column names")
                })?;
                extra.iter().find(|c| c.name == name).cloned().ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "passthrough: `{name}` is not a column of the request the model leaves unused"
                    ))
                })
            })
            .collect(),
        Some(_) => Err(ApiError::bad_request(
            "passthrough: give a list of column names, or true for all unused columns",
        )),
    }
}

/// The number of rows of a table (0 without columns).
pub fn rows(table: &wit::Table) -> usize {
    table.columns.first().map_or(0, |c| match &c.values {
        wit::Values::F64s(v) => v.len(),
        wit::Values::I64s(v) => v.len(),
        wit::Values::Bools(v) => v.len(),
        wit::Values::Strings(v) => v.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, values: Vec<Scalar>) -> RawColumn {
        RawColumn {
            name: name.into(),
            values,
        }
    }

    fn schema() -> Vec<(String, String)> {
        vec![("x".into(), "f64".into()), ("n".into(), "i64".into())]
    }

    #[test]
    fn columns_are_ordered_by_the_schema_and_cast_to_its_types() {
        let (table, extra) = conform(
            &schema(),
            vec![
                col("id", vec![Scalar::Str("a".into()), Scalar::Str("b".into())]),
                col("n", vec![Scalar::F64(2.0), Scalar::Null]),
                col("x", vec![Scalar::I64(1), Scalar::F64(0.5)]),
            ],
        )
        .unwrap();
        assert_eq!(table.columns[0].name, "x");
        assert!(matches!(&table.columns[0].values, wit::Values::F64s(v) if v == &[1.0, 0.5]));
        assert!(matches!(&table.columns[1].values, wit::Values::I64s(v) if v == &[2, 0]));
        assert_eq!(table.columns[1].valid, Some(vec![true, false]));
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].name, "id");
    }

    #[test]
    fn a_value_that_cannot_be_cast_is_named_by_column_and_row() {
        let err = conform(
            &schema(),
            vec![
                col("x", vec![Scalar::F64(1.0), Scalar::Str("one".into())]),
                col("n", vec![Scalar::I64(1), Scalar::I64(2)]),
            ],
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains("column `x` row 1"), "{}", err.message);
        let err = conform(
            &schema(),
            vec![
                col("x", vec![Scalar::F64(1.0)]),
                col("n", vec![Scalar::F64(1.5)]),
            ],
        )
        .unwrap_err();
        assert!(
            err.message.contains("1.5 is not a whole number"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_columns_and_ragged_rows_are_refused_by_name() {
        let err = conform(&schema(), vec![col("x", vec![Scalar::F64(1.0)])]).unwrap_err();
        assert!(
            err.message
                .contains("lacks 1 feature column(s) the model needs: n"),
            "{}",
            err.message
        );
        let err = conform(
            &schema(),
            vec![
                col("x", vec![Scalar::F64(1.0)]),
                col("n", vec![Scalar::I64(1), Scalar::I64(2)]),
            ],
        )
        .unwrap_err();
        assert!(
            err.message.contains("`n` has 2 rows where `x` has 1"),
            "{}",
            err.message
        );
    }
}
