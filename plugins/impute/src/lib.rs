//! `impute`: a transform that fills missing numeric values.
//!
//! Param `strategy` (text, `mean` or `median`, default `mean`).
//!
//! - `fit` learns one statistic per numeric (f64 or i64) column over its
//!   present values; a column with none gets 0.0. A value is missing when
//!   it is null, or NaN in an f64 column (as scikit-learn's
//!   `SimpleImputer` treats NaN).
//! - `apply` fills the missing values and drops the null mask. f64 columns
//!   stay f64. An i64 column with nulls becomes f64 (the statistic is rarely
//!   a whole number); one without nulls stays i64. Non-numeric columns, and
//!   columns the state does not know, pass unchanged. A state column missing
//!   from the data is an invalid-input error.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::fitted_position;
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform, Values};

const TAG: [u8; 4] = *b"IMPT";
const VERSION: u8 = 1;

/// How a column's fill value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Mean,
    Median,
}

impl Strategy {
    pub fn parse(text: &str) -> Result<Strategy, StepError> {
        match text {
            "mean" => Ok(Strategy::Mean),
            "median" => Ok(Strategy::Median),
            other => Err(StepError::invalid_params(format!(
                "param 'strategy' must be 'mean' or 'median', got '{other}'"
            ))),
        }
    }

    /// The statistic over `values` (0.0 when empty).
    pub fn statistic(self, mut values: Vec<f64>) -> f64 {
        if values.is_empty() {
            return 0.0;
        }
        match self {
            Strategy::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Strategy::Median => {
                values.sort_by(f64::total_cmp);
                let n = values.len();
                if n % 2 == 1 {
                    values[n / 2]
                } else {
                    (values[n / 2 - 1] + values[n / 2]) / 2.0
                }
            }
        }
    }
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

/// The values of a numeric column that are neither null nor NaN.
fn present_values(c: &Column) -> Vec<f64> {
    let values: Box<dyn Iterator<Item = f64>> = match &c.values {
        Values::F64(v) => Box::new(v.iter().copied()),
        Values::I64(v) => Box::new(v.iter().map(|&x| x as f64)),
        Values::Bool(_) | Values::Str(_) => return Vec::new(),
    };
    values
        .enumerate()
        .filter(|&(i, x)| !c.is_null(i) && !x.is_nan())
        .map(|(_, x)| x)
        .collect()
}

fn fill_column(column: Column, fill: f64) -> Result<Column, StepError> {
    let (name, values, valid) = column.into_parts();
    let is_null = |i: usize| valid.as_ref().is_some_and(|v| !v[i]);
    match values {
        Values::F64(mut v) => {
            for (i, x) in v.iter_mut().enumerate() {
                if x.is_nan() || is_null(i) {
                    *x = fill;
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

pub struct Impute;

impl Transform for Impute {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "impute",
            env!("CARGO_PKG_VERSION"),
            "Fills nulls (and NaN) in numeric columns with the column's mean or median.",
        )
        .param(ParamSpec::text(
            "strategy",
            "mean",
            "statistic to fill with: mean or median",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let strategy = Strategy::parse(params.text("strategy")?)?;
        Ok(FillValues::fit(&data, strategy).to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        FillValues::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(Impute);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::{ErrorKind, ParamValue};

    fn fit(data: &Table, strategy: &str) -> Result<Vec<u8>, StepError> {
        let params = Params::resolve(
            &Impute::describe().params,
            [("strategy".to_string(), ParamValue::Text(strategy.into()))],
        )?;
        Impute::fit(data.clone(), params)
    }

    fn data() -> Table {
        Table::new()
            .with(Column::f64("x", vec![1.0, 99.0, 2.0, 10.0]).with_nulls(&[1]))
            .with(Column::i64("n", vec![1, 0, 4, 0]).with_nulls(&[1, 3]))
            .with(Column::i64("k", vec![3, 4, 5, 6]))
            .with(Column::strings("s", ["a", "b", "c", "d"]).with_nulls(&[0]))
            .with(Column::f64("empty", vec![0.0, 0.0, 0.0, 0.0]).with_nulls(&[0, 1, 2, 3]))
    }

    #[test]
    fn mean_fills_nulls_and_drops_masks() {
        let state = fit(&data(), "mean").unwrap();
        let out = Impute::apply(state, data()).unwrap();
        let x = out.column("x").unwrap();
        assert_eq!(x.f64_values().unwrap(), &[1.0, 13.0 / 3.0, 2.0, 10.0]);
        assert!(x.valid().is_none());
        // i64 with nulls becomes f64.
        let n = out.column("n").unwrap();
        assert_eq!(n.f64_values().unwrap(), &[1.0, 2.5, 4.0, 2.5]);
        assert!(n.valid().is_none());
        // i64 without nulls stays i64.
        assert_eq!(
            out.column("k").unwrap().i64_values().unwrap(),
            &[3, 4, 5, 6]
        );
        // Strings pass unchanged, mask included.
        assert_eq!(out.column("s").unwrap(), data().column("s").unwrap());
        // An all-null column fills with 0.
        assert_eq!(
            out.column("empty").unwrap().f64_values().unwrap(),
            &[0.0; 4]
        );
        assert_eq!(out.names(), data().names());
    }

    #[test]
    fn median_and_nan() {
        let t = Table::new().with(Column::f64("x", vec![5.0, f64::NAN, 1.0, 2.0, 100.0]));
        let state = fit(&t, "median").unwrap();
        let fills = FillValues::from_bytes(&state).unwrap();
        assert_eq!(fills.columns, vec![("x".to_string(), 3.5)]);
        let out = Impute::apply(state, t).unwrap();
        assert_eq!(
            out.column("x").unwrap().f64_values().unwrap(),
            &[5.0, 3.5, 1.0, 2.0, 100.0]
        );
        assert_eq!(Strategy::Median.statistic(vec![3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn unknown_columns_pass_and_missing_state_columns_fail() {
        let state = fit(&Table::new().with(Column::f64("x", vec![1.0])), "mean").unwrap();
        let extra = Table::new()
            .with(Column::f64("x", vec![0.0]).with_nulls(&[0]))
            .with(Column::f64("y", vec![7.0]).with_nulls(&[0]));
        let out = Impute::apply(state.clone(), extra).unwrap();
        assert_eq!(out.column("x").unwrap().f64_values().unwrap(), &[1.0]);
        assert!(out.column("y").unwrap().is_null(0));

        let err =
            Impute::apply(state.clone(), Table::new().with(Column::f64("y", vec![]))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.contains("'x'"), "{}", err.message);
        let err = Impute::apply(state, Table::new().with(Column::strings("x", ["a"]))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn bad_strategy_and_state_round_trip() {
        assert_eq!(
            fit(&data(), "mode").unwrap_err().kind,
            ErrorKind::InvalidParams
        );
        let fills = FillValues {
            columns: vec![("a".into(), 0.1 + 0.2), ("b".into(), -1e-300)],
        };
        assert_eq!(FillValues::from_bytes(&fills.to_bytes()).unwrap(), fills);
        assert!(FillValues::from_bytes(b"nonsense").is_err());
    }
}
