//! `impute`: a transform that fills missing values, as scikit-learn's
//! `SimpleImputer`.
//!
//! Params:
//!
//! - `strategy` (text, default `mean`): `mean`, `median`, `most_frequent`
//!   or `constant`.
//! - `fill_value` (text, default `""`): the fill of the `constant`
//!   strategy; ignored by the others.
//!
//! A value is missing when it is null, or NaN in an f64 column (as
//! scikit-learn's `SimpleImputer` treats NaN).
//!
//! `mean` and `median`:
//!
//! - `fit` learns one statistic per numeric (f64 or i64) column over its
//!   present values; a column with none gets 0.0.
//! - `apply` fills the missing values and drops the null mask. f64 columns
//!   stay f64. An i64 column with nulls becomes f64 (the statistic is rarely
//!   a whole number); one without nulls stays i64. Non-numeric columns pass
//!   unchanged, mask included.
//!
//! `most_frequent` and `constant` fill every column, f64, i64, string and
//! bool, and drop its null mask:
//!
//! - `most_frequent` learns each column's most frequent present value; on a
//!   tie the smallest value wins (numeric order for numbers, byte-wise, i.e.
//!   code-point, order for strings, `false < true`), as scikit-learn. A
//!   column with no present value gets 0 (f64 or i64), `""` (string) or
//!   `false` (bool); scikit-learn would drop it instead.
//! - `constant` fills with `fill_value`. An empty `fill_value` means 0 for
//!   numeric columns, `"missing_value"` for string columns (scikit-learn's
//!   default) and `false` for bool columns. Otherwise it is parsed for each
//!   numeric column (surrounding spaces ignored; a whole number keeps an
//!   i64 column i64, another number such as `2.5` turns an i64 column with
//!   nulls into f64, as the mean does), used as-is for string columns, and
//!   must be `true`/`1` or `false`/`0` for bool columns. A fill value that
//!   does not parse for a column, or is NaN, is an invalid-params error
//!   naming the column.
//! - i64 columns stay i64 when the fill is a whole number; f64 columns stay
//!   f64.
//!
//! In `apply`, columns the state does not know pass unchanged. A state
//! column missing from the data, or whose kind changed (numeric, string,
//! bool) since `fit`, is an invalid-input error.
//!
//! State format: tag `IMPT`. Version 1 (written by `mean` and `median`,
//! unchanged from earlier releases) holds one f64 per numeric column;
//! version 2 (written by `most_frequent` and `constant`) holds a typed fill
//! per column. Both versions are read.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{fitted_position, present_values};
use sluice_sdk::{
    Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform, ValueKind, Values,
};

const TAG: [u8; 4] = *b"IMPT";
/// The state version of numeric fills ([`FillValues`]).
const VERSION: u8 = 1;
/// The state version of typed fills ([`TypedFills`]).
const VERSION_TYPED: u8 = 2;

/// The string fill of the `constant` strategy when `fill_value` is empty.
pub const DEFAULT_STRING_FILL: &str = "missing_value";

/// How a column's fill value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Mean,
    Median,
    MostFrequent,
    Constant,
}

impl Strategy {
    pub fn parse(text: &str) -> Result<Strategy, StepError> {
        match text {
            "mean" => Ok(Strategy::Mean),
            "median" => Ok(Strategy::Median),
            "most_frequent" => Ok(Strategy::MostFrequent),
            "constant" => Ok(Strategy::Constant),
            other => Err(StepError::invalid_params(format!(
                "param 'strategy' must be 'mean', 'median', 'most_frequent' or 'constant', \
                 got '{other}'"
            ))),
        }
    }

    /// Whether the strategy fills every column kind (with a typed state)
    /// rather than numeric columns only.
    pub fn is_typed(self) -> bool {
        matches!(self, Strategy::MostFrequent | Strategy::Constant)
    }

    /// The statistic over `values` (0.0 when empty). `MostFrequent` is the
    /// most frequent value (the smallest on a tie); `Constant` is 0.0, the
    /// numeric fill of an empty `fill_value`.
    pub fn statistic(self, mut values: Vec<f64>) -> f64 {
        if values.is_empty() {
            return 0.0;
        }
        match self {
            Strategy::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Strategy::Median => {
                // The middle of the sorted values, found by selection (linear
                // time) instead of a sort; the same values bit for bit.
                // Selection runs on integer keys in `f64::total_cmp`'s order
                // (integer compares are cheaper), in the same buffer.
                let n = values.len();
                let mut keys: Vec<i64> = values.into_iter().map(total_order_key).collect();
                let (below, &mut middle, _) = keys.select_nth_unstable(n / 2);
                let middle = from_total_order_key(middle);
                if n % 2 == 1 {
                    middle
                } else {
                    let before = below
                        .iter()
                        .copied()
                        .max()
                        .expect("n is even and at least 2");
                    (from_total_order_key(before) + middle) / 2.0
                }
            }
            Strategy::MostFrequent => {
                values.sort_by(f64::total_cmp);
                most_frequent_sorted(&values, |a, b| a == b).unwrap_or(0.0)
            }
            Strategy::Constant => 0.0,
        }
    }
}

/// The most frequent value of ascending `sorted`, the first (smallest) of
/// the most frequent on a tie; `None` when empty. `same` says whether two
/// neighbours count as one value.
fn most_frequent_sorted<T: Clone>(sorted: &[T], same: impl Fn(&T, &T) -> bool) -> Option<T> {
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

/// The fill value learned for each numeric column, in table order.
#[derive(Debug, Clone, PartialEq)]
pub struct FillValues {
    pub columns: Vec<(String, f64)>,
}

impl FillValues {
    pub fn fit(data: &Table, strategy: Strategy) -> FillValues {
        let columns = data
            .columns()
            .iter()
            .filter(|c| c.kind().is_numeric())
            .map(|c| (c.name.clone(), strategy.statistic(present_values(c))))
            .collect();
        FillValues { columns }
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (name, fill) in &self.columns {
            let i = fitted_position(&data, name)?;
            let column = std::mem::replace(&mut data.columns[i], Column::f64("", Vec::new()));
            data.columns[i] = fill_column(column, *fill)?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.len(self.columns.len());
        for (name, fill) in &self.columns {
            w.str(name);
            w.f64(*fill);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<FillValues, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            columns.push((r.str()?, r.f64()?));
        }
        r.finish()?;
        Ok(FillValues { columns })
    }
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
    fn code(&self) -> u8 {
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

/// The typed fill learned for each column, in table order (state version 2).
#[derive(Debug, Clone, PartialEq)]
pub struct TypedFills {
    pub columns: Vec<(String, Fill)>,
}

impl TypedFills {
    /// Fills for every column with `MostFrequent` or `Constant`; for numeric
    /// columns only with `Mean` or `Median`.
    pub fn fit(
        data: &Table,
        strategy: Strategy,
        fill_value: &str,
    ) -> Result<TypedFills, StepError> {
        let columns = data
            .columns()
            .iter()
            .filter(|c| strategy.is_typed() || c.kind().is_numeric())
            .map(|c| Ok((c.name.clone(), Fill::learn(c, strategy, fill_value)?)))
            .collect::<Result<_, StepError>>()?;
        Ok(TypedFills { columns })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (name, fill) in &self.columns {
            let i = fitted_position(&data, name)?;
            let column = std::mem::replace(&mut data.columns[i], Column::f64("", Vec::new()));
            data.columns[i] = fill_typed(column, fill)?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION_TYPED);
        w.len(self.columns.len());
        for (name, fill) in &self.columns {
            w.str(name);
            w.u8(fill.code());
            match fill {
                Fill::F64(x) => w.f64(*x),
                Fill::I64(k) => w.i64(*k),
                Fill::Bool(b) => w.bool(*b),
                Fill::Str(s) => w.str(s),
            }
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<TypedFills, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION_TYPED)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = r.str()?;
            let fill = match r.u8()? {
                0 => Fill::F64(r.f64()?),
                1 => Fill::I64(r.i64()?),
                2 => Fill::Bool(r.bool()?),
                3 => Fill::Str(r.str()?),
                code => {
                    return Err(StepError::invalid_input(format!(
                        "IMPT blob has unknown fill kind {code} for column '{name}'"
                    )));
                }
            };
            columns.push((name, fill));
        }
        r.finish()?;
        Ok(TypedFills { columns })
    }
}

/// A fitted state of either version.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Version 1: `mean` and `median`.
    Numeric(FillValues),
    /// Version 2: `most_frequent` and `constant`.
    Typed(TypedFills),
}

impl State {
    pub fn fit(data: &Table, strategy: Strategy, fill_value: &str) -> Result<State, StepError> {
        if strategy.is_typed() {
            Ok(State::Typed(TypedFills::fit(data, strategy, fill_value)?))
        } else {
            Ok(State::Numeric(FillValues::fit(data, strategy)))
        }
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        match self {
            State::Numeric(fills) => fills.apply(data),
            State::Typed(fills) => fills.apply(data),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            State::Numeric(fills) => fills.to_bytes(),
            State::Typed(fills) => fills.to_bytes(),
        }
    }

    /// Reads a state of version 1 or 2.
    pub fn from_bytes(bytes: &[u8]) -> Result<State, StepError> {
        match bytes.get(4) {
            Some(&VERSION_TYPED) if bytes[..4] == TAG => {
                Ok(State::Typed(TypedFills::from_bytes(bytes)?))
            }
            Some(&v) if bytes[..4] == TAG && v != VERSION => {
                Err(StepError::invalid_input(format!(
                    "IMPT blob has format version {v}, this plugin reads versions \
                 {VERSION} and {VERSION_TYPED}"
                )))
            }
            _ => Ok(State::Numeric(FillValues::from_bytes(bytes)?)),
        }
    }
}

/// An integer whose order is `f64::total_cmp`'s order of `x` (the same
/// bit trick `total_cmp` uses); [`from_total_order_key`] undoes it.
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The f64 whose [`total_order_key`] is `key` (the flip is its own inverse:
/// it never changes the sign bit it depends on).
fn from_total_order_key(key: i64) -> f64 {
    f64::from_bits((key ^ ((((key >> 63) as u64) >> 1) as i64)) as u64)
}

fn fill_column(column: Column, fill: f64) -> Result<Column, StepError> {
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
fn fill_typed(column: Column, fill: &Fill) -> Result<Column, StepError> {
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

pub struct Impute;

impl Transform for Impute {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "impute",
            env!("CARGO_PKG_VERSION"),
            "Fills nulls (and NaN) with the column's mean or median (numeric columns), or its \
             most frequent value or a constant (every column), as scikit-learn's SimpleImputer.",
        )
        .param(ParamSpec::text(
            "strategy",
            "mean",
            "how to fill: mean or median (numeric columns only), most_frequent (smallest on a \
             tie; 0, \"\" or false for an all-null column) or constant (fill_value; every column)",
        ))
        .param(ParamSpec::text(
            "fill_value",
            "",
            "the constant strategy's fill, parsed per column kind; empty means 0 (numeric), \
             \"missing_value\" (string) or false (bool)",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let strategy = Strategy::parse(params.text("strategy")?)?;
        let fill_value = params.text("fill_value")?;
        Ok(State::fit(&data, strategy, fill_value)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        State::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(Impute);

#[cfg(test)]
mod tests;
