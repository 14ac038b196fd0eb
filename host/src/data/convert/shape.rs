//! The shape of an untrusted table: every column as long as the first,
//! every mask one entry per row, names non-empty and unique.

use std::collections::HashMap;

use crate::data::DataError;
use crate::wit::{Column, Table, Values};

/// Checks lengths and names; returns the number of rows. The runtime
/// calls it on every table a plugin returns, before anything else.
pub fn check_shape(table: &Table) -> Result<usize, DataError> {
    let Some(first) = table.columns.first() else {
        return Ok(0);
    };
    let expected = values_len(&first.values);
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(table.columns.len());
    for (position, column) in table.columns.iter().enumerate() {
        if column.name.is_empty() {
            return Err(DataError::EmptyColumnName { position });
        }
        if let Some(&first) = seen.get(column.name.as_str()) {
            return Err(DataError::DuplicateColumn {
                column: column.name.clone(),
                first,
                second: position,
            });
        }
        seen.insert(&column.name, position);
        check_length(column, &first.name, expected)?;
    }
    Ok(expected)
}

/// Checks that `column` and its mask have `expected` rows, as the first
/// column (named `first`) has.
pub(super) fn check_length(column: &Column, first: &str, expected: usize) -> Result<(), DataError> {
    let actual = values_len(&column.values);
    if actual != expected {
        return Err(DataError::ColumnLength {
            column: column.name.clone(),
            actual,
            first: first.to_owned(),
            expected,
        });
    }
    if let Some(valid) = &column.valid
        && valid.len() != actual
    {
        return Err(DataError::ValidLength {
            column: column.name.clone(),
            rows: actual,
            valid: valid.len(),
        });
    }
    Ok(())
}

pub(super) fn values_len(values: &Values) -> usize {
    match values {
        Values::F64s(v) => v.len(),
        Values::I64s(v) => v.len(),
        Values::Bools(v) => v.len(),
        Values::Strings(v) => v.len(),
    }
}
