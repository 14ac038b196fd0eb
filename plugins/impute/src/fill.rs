//! One column's fill: learning it (the most frequent value, the `constant`
//! param parsed for the column's kind) and filling a column's missing
//! values with it. Not for the state's encoding: that is [`crate::state`].

use sluice_sdk::columns::present_values;
use sluice_sdk::{Column, StepError, ValueKind, Values};

use crate::{DEFAULT_STRING_FILL, Strategy};

/// The most frequent value of ascending `sorted`, the first (smallest) of
/// the most frequent on a tie; `None` when empty. `same` says whether two
/// neighbours count as one value.
pub(crate) fn most_frequent_sorted<T: Clone>(
    sorted: &[T],
    same: impl Fn(&T, &T) -> bool,
) -> Option<T> {
    let mut best: Option<(usize, usize)> = None; // (start, count)
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start + 1;
        while end < sorted.len() && same(&sorted[start], &sorted[end]) {
            end += 1;
        }
        if best.is_none_or(|(_, count)| end - start > count) {
            best = Some((start, end - start));
        }
        start = end;
    }
    best.map(|(i, _)| sorted[i].clone())
}

/// One column's fill, of the column's own kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    F64(f64),
    I64(i64),
    Bool(bool),
    Str(String),
}

impl Fill {
    pub(crate) fn code(&self) -> u8 {
        match self {
            Fill::F64(_) => 0,
            Fill::I64(_) => 1,
            Fill::Bool(_) => 2,
            Fill::Str(_) => 3,
        }
    }

    /// The kind of column the fill was learned for, as an error names it.
    fn kind_name(&self) -> &'static str {
        match self {
            Fill::F64(_) | Fill::I64(_) => "numeric",
            Fill::Bool(_) => "bool",
            Fill::Str(_) => "string",
        }
    }

    /// The fill of `strategy` for column `c`. `fill_value` is the raw
    /// `fill_value` param (used by `Constant` only).
    pub fn learn(c: &Column, strategy: Strategy, fill_value: &str) -> Result<Fill, StepError> {
        match strategy {
            Strategy::Mean | Strategy::Median => {
                Ok(Fill::F64(strategy.statistic(present_values(c))))
            }
            Strategy::MostFrequent => Ok(most_frequent(c)),
            Strategy::Constant => constant(c, fill_value),
        }
    }
}

/// The most frequent present value of `c` (the smallest on a tie), or the
/// kind's zero when it has none.
fn most_frequent(c: &Column) -> Fill {
    let present = |i: usize| !c.is_null(i);
    match &c.values {
        Values::F64(v) => {
            let mut xs: Vec<f64> = v
                .iter()
                .enumerate()
                .filter(|&(i, x)| present(i) && !x.is_nan())
                .map(|(_, &x)| x)
                .collect();
            xs.sort_by(f64::total_cmp);
            // -0.0 and 0.0 are one value (they sort next to each other).
            Fill::F64(most_frequent_sorted(&xs, |a, b| a == b).unwrap_or(0.0))
        }
        Values::I64(v) => {
            let mut xs: Vec<i64> = v
                .iter()
                .enumerate()
                .filter(|&(i, _)| present(i))
                .map(|(_, &x)| x)
                .collect();
            xs.sort_unstable();
            Fill::I64(most_frequent_sorted(&xs, |a, b| a == b).unwrap_or(0))
        }
        Values::Bool(v) => {
            let (mut trues, mut falses) = (0usize, 0usize);
            for (i, &b) in v.iter().enumerate() {
                if present(i) {
                    if b {
                        trues += 1;
                    } else {
                        falses += 1;
                    }
                }
            }
            // false < true, so false wins a tie (and an all-null column).
            Fill::Bool(trues > falses)
        }
        Values::Str(v) => {
            let mut xs: Vec<&String> = v
                .iter()
                .enumerate()
                .filter(|&(i, _)| present(i))
                .map(|(_, s)| s)
                .collect();
            xs.sort_unstable();
            Fill::Str(
                most_frequent_sorted(&xs, |a, b| a == b)
                    .cloned()
                    .unwrap_or_default(),
            )
        }
    }
}

/// The `constant` fill for column `c` from the `fill_value` param.
fn constant(c: &Column, fill_value: &str) -> Result<Fill, StepError> {
    let name = &c.name;
    let invalid = |what: &str| {
        StepError::invalid_params(format!(
            "param 'fill_value' '{fill_value}' is not {what}, which {} column '{name}' needs",
            c.kind()
        ))
    };
    match c.kind() {
        ValueKind::Str => Ok(Fill::Str(if fill_value.is_empty() {
            DEFAULT_STRING_FILL.to_string()
        } else {
            fill_value.to_string()
        })),
        ValueKind::Bool => match fill_value.trim() {
            "" | "false" | "0" => Ok(Fill::Bool(false)),
            "true" | "1" => Ok(Fill::Bool(true)),
            _ => Err(invalid("a bool (true, false, 1 or 0)")),
        },
        ValueKind::I64 | ValueKind::F64 => {
            let text = fill_value.trim();
            if text.is_empty() {
                return Ok(match c.kind() {
                    ValueKind::I64 => Fill::I64(0),
                    _ => Fill::F64(0.0),
                });
            }
            if c.kind() == ValueKind::I64
                && let Ok(k) = text.parse::<i64>()
            {
                return Ok(Fill::I64(k));
            }
            match text.parse::<f64>() {
                Ok(x) if x.is_nan() => Err(invalid("a number other than NaN")),
                Ok(x) if c.kind() == ValueKind::I64 => {
                    Ok(whole_i64(x).map(Fill::I64).unwrap_or(Fill::F64(x)))
                }
                Ok(x) => Ok(Fill::F64(x)),
                Err(_) => Err(invalid("a number")),
            }
        }
    }
}

/// `x` as an i64 when it is a whole number in i64's range.
fn whole_i64(x: f64) -> Option<i64> {
    // 2^63 is exactly representable; i64's range is [-2^63, 2^63).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (x.fract() == 0.0 && (-LIMIT..LIMIT).contains(&x)).then_some(x as i64)
}

/// An integer whose order is `f64::total_cmp`'s order of `x` (the same
/// bit trick `total_cmp` uses); [`from_total_order_key`] undoes it.
pub(crate) fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The f64 whose [`total_order_key`] is `key` (the flip is its own inverse:
/// it never changes the sign bit it depends on).
pub(crate) fn from_total_order_key(key: i64) -> f64 {
    f64::from_bits((key ^ ((((key >> 63) as u64) >> 1) as i64)) as u64)
}

pub(crate) fn fill_column(column: Column, fill: f64) -> Result<Column, StepError> {
    let (name, values, valid) = column.into_parts();
    let is_null = |i: usize| valid.as_ref().is_some_and(|v| !v[i]);
    match values {
        Values::F64(mut v) => {
            // Selects, not branches, in loops that compile to Wasm SIMD.
            match &valid {
                None => {
                    for x in v.iter_mut() {
                        *x = if x.is_nan() { fill } else { *x };
                    }
                }
                Some(mask) => {
                    for (x, &ok) in v.iter_mut().zip(mask) {
                        *x = if x.is_nan() || !ok { fill } else { *x };
                    }
                }
            }
            Ok(Column::f64(name, v))
        }
        Values::I64(v) if valid.as_ref().is_some_and(|m| m.contains(&false)) => {
            let filled = v
                .iter()
                .enumerate()
                .map(|(i, &x)| if is_null(i) { fill } else { x as f64 })
                .collect();
            Ok(Column::f64(name, filled))
        }
        Values::I64(v) => Ok(Column::i64(name, v)),
        other => Err(StepError::invalid_input(format!(
            "column '{name}' was numeric when fitted but is {} now",
            other.kind()
        ))),
    }
}

/// Fills the missing values of `column` with `fill` and drops its mask.
pub(crate) fn fill_typed(column: Column, fill: &Fill) -> Result<Column, StepError> {
    match (fill, column.kind()) {
        (Fill::F64(x), _) => fill_column(column, *x),
        (Fill::I64(k), ValueKind::F64) => fill_column(column, *k as f64),
        (Fill::I64(k), ValueKind::I64) => {
            let (name, values, valid) = column.into_parts();
            let Values::I64(mut v) = values else {
                unreachable!("kind checked above")
            };
            if let Some(valid) = valid {
                for (x, ok) in v.iter_mut().zip(valid) {
                    if !ok {
                        *x = *k;
                    }
                }
            }
            Ok(Column::i64(name, v))
        }
        (Fill::Bool(b), ValueKind::Bool) => {
            let (name, values, valid) = column.into_parts();
            let Values::Bool(mut v) = values else {
                unreachable!("kind checked above")
            };
            if let Some(valid) = valid {
                for (x, ok) in v.iter_mut().zip(valid) {
                    if !ok {
                        *x = *b;
                    }
                }
            }
            Ok(Column::bool(name, v))
        }
        (Fill::Str(s), ValueKind::Str) => {
            let (name, values, valid) = column.into_parts();
            let Values::Str(mut v) = values else {
                unreachable!("kind checked above")
            };
            if let Some(valid) = valid {
                for (x, ok) in v.iter_mut().zip(valid) {
                    if !ok {
                        x.clone_from(s);
                    }
                }
            }
            Ok(Column::new(name, Values::Str(v)))
        }
        (fill, kind) => Err(StepError::invalid_input(format!(
            "column '{}' was {} when fitted but is {kind} now",
            column.name,
            fill.kind_name()
        ))),
    }
}
