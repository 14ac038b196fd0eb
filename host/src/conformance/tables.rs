//! The tables the conformance suite feeds a plugin. Every table but the
//! empty one carries the target column `label` (i64, two classes), which
//! is split off for trainers and explainers.

use crate::runtime::bindings::types::{Column, Table, Values};

/// The name of the suite's target column: the one a trainer trains on
/// (`sluice plugin test --target` names another column of `--input`).
pub const TARGET: &str = "label";

fn col(name: &str, values: Values, valid: Option<Vec<bool>>) -> Column {
    Column {
        name: name.to_string(),
        values,
        valid,
    }
}

fn label(rows: usize) -> Column {
    col(
        TARGET,
        Values::I64s((0..rows as i64).map(|i| (i * 7 / 3) % 2).collect()),
        None,
    )
}

/// Eight rows of three positive f64 features and the label.
pub fn numeric() -> Table {
    let rows = 8;
    let f = |a: f64, b: f64| (0..rows).map(|i| a + b * ((i * 5 % 8) as f64)).collect();
    Table {
        columns: vec![
            col("x1", Values::F64s(f(1.0, 0.5)), None),
            col("x2", Values::F64s(f(10.0, 3.25)), None),
            col("x3", Values::F64s(f(0.125, 0.75)), None),
            label(rows),
        ],
    }
}

pub fn zero_rows() -> Table {
    Table {
        columns: vec![col("x1", Values::F64s(vec![]), None), label(0)],
    }
}

/// Every feature value null (the label too: a trainer may refuse it).
pub fn all_null() -> Table {
    let rows = 4;
    let none = Some(vec![false; rows]);
    Table {
        columns: vec![
            col("x1", Values::F64s(vec![0.0; rows]), none.clone()),
            col("x2", Values::I64s(vec![0; rows]), none.clone()),
            col(TARGET, Values::I64s(vec![0; rows]), none),
        ],
    }
}

/// A column of every type, with some nulls, and the label.
pub fn every_type() -> Table {
    let valid = Some(vec![true, false, true, true]);
    Table {
        columns: vec![
            col(
                "f",
                Values::F64s(vec![1.5, f64::NAN, -2.0, 1e300]),
                valid.clone(),
            ),
            col(
                "i",
                Values::I64s(vec![1, 0, i64::MIN, i64::MAX]),
                valid.clone(),
            ),
            col(
                "b",
                Values::Bools(vec![true, false, true, false]),
                valid.clone(),
            ),
            col(
                "s",
                Values::Strings(vec!["a".into(), String::new(), "é".into(), "z z".into()]),
                valid,
            ),
            label(4),
        ],
    }
}

/// The numeric features of `table` as strings, and its string features as
/// numbers (the label unchanged).
pub fn numbers_as_strings(table: &Table) -> Table {
    let columns = table
        .columns
        .iter()
        .map(|c| match (&c.values, c.name == TARGET) {
            (Values::F64s(v), false) => col(
                &c.name,
                Values::Strings(v.iter().map(|x| x.to_string()).collect()),
                c.valid.clone(),
            ),
            (Values::I64s(v), false) => col(
                &c.name,
                Values::Strings(v.iter().map(|x| x.to_string()).collect()),
                c.valid.clone(),
            ),
            // A string column (a user's `--input` table) as numbers.
            (Values::Strings(v), false) => col(
                &c.name,
                Values::F64s((0..v.len()).map(|i| i as f64).collect()),
                c.valid.clone(),
            ),
            _ => c.clone(),
        })
        .collect();
    Table { columns }
}

/// The features, and the label column (`TARGET`) taken out of them when
/// the table has one.
pub fn take_label(table: &Table) -> (Table, Option<Column>) {
    let target = table.columns.iter().find(|c| c.name == TARGET).cloned();
    let features = table
        .columns
        .iter()
        .filter(|c| c.name != TARGET)
        .cloned()
        .collect();
    (Table { columns: features }, target)
}

/// The features and label of [`numeric`], for training a model.
pub fn features_and_target() -> (Table, Column) {
    let (features, target) = take_label(&numeric());
    (features, target.expect("numeric() has a label"))
}

/// A label column without rows, for a trainer given a table without one.
pub fn empty_target() -> Column {
    label(0)
}

pub fn num_rows(table: &Table) -> usize {
    table.columns.first().map_or(0, |c| match &c.values {
        Values::F64s(v) => v.len(),
        Values::I64s(v) => v.len(),
        Values::Bools(v) => v.len(),
        Values::Strings(v) => v.len(),
    })
}

/// `column` with its rows in reverse order.
pub fn reversed(column: &Column) -> Column {
    fn rev<T: Clone>(v: &[T]) -> Vec<T> {
        v.iter().rev().cloned().collect()
    }
    Column {
        name: column.name.clone(),
        values: match &column.values {
            Values::F64s(v) => Values::F64s(rev(v)),
            Values::I64s(v) => Values::I64s(rev(v)),
            Values::Bools(v) => Values::Bools(rev(v)),
            Values::Strings(v) => Values::Strings(rev(v)),
        },
        valid: column.valid.as_deref().map(rev),
    }
}
