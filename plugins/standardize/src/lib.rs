//! `standardize`: a transform that centres and scales numeric columns, like
//! scikit-learn's `StandardScaler`.
//!
//! No params.
//!
//! - `fit` learns each numeric (f64 or i64) column's mean and population
//!   standard deviation (ddof = 0) over its present values (not null, not
//!   NaN). A constant column (std 0) gets scale 1, as in scikit-learn; a
//!   column without present values gets mean 0 and scale 1.
//! - `apply` writes `(x - mean) / scale` as f64 and keeps null masks (and
//!   NaN stays NaN). Columns the state does not know pass unchanged; a state
//!   column missing from the data is an invalid-input error.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::math;
use sluice_sdk::{Params, PluginInfo, StepError, Table, Transform};

use sluice_sdk::columns::{map_fitted_numeric, present_values_ref};

const TAG: [u8; 4] = *b"STDZ";
const VERSION: u8 = 1;

/// The centre and scale of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnScale {
    pub name: String,
    pub mean: f64,
    pub scale: f64,
}

/// The fitted state: one [`ColumnScale`] per numeric column, in table order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub columns: Vec<ColumnScale>,
}

impl Scaler {
    pub fn fit(data: &Table) -> Scaler {
        let columns = data
            .columns()
            .iter()
            .filter(|c| c.kind().is_numeric())
            .map(|c| {
                let (mean, std) = mean_std(&present_values_ref(c));
                ColumnScale {
                    name: c.name.clone(),
                    mean,
                    scale: if std == 0.0 { 1.0 } else { std },
                }
            })
            .collect();
        Scaler { columns }
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for s in &self.columns {
            map_fitted_numeric(&mut data, &s.name, |x| (x - s.mean) / s.scale)?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.len(self.columns.len());
        for c in &self.columns {
            w.str(&c.name);
            w.f64(c.mean);
            w.f64(c.scale);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Scaler, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            columns.push(ColumnScale {
                name: r.str()?,
                mean: r.f64()?,
                scale: r.f64()?,
            });
        }
        r.finish()?;
        Ok(Scaler { columns })
    }
}

/// Mean and population standard deviation, by two passes (0, 0 when empty).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    // Four interleaved chains of additions (`math::sum_by`), which compile
    // to Wasm SIMD.
    let mean = math::sum(values) / n;
    let var = math::sum_by(values, |x| (x - mean) * (x - mean)) / n;
    (mean, var.sqrt())
}

pub struct Standardize;

impl Transform for Standardize {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "standardize",
            env!("CARGO_PKG_VERSION"),
            "Centres numeric columns on their mean and scales them by their population \
             standard deviation (like scikit-learn's StandardScaler).",
        )
    }

    fn fit(data: Table, _params: Params) -> Result<Vec<u8>, StepError> {
        Ok(Scaler::fit(&data).to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Scaler::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(Standardize);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::testing;
    use sluice_sdk::{Column, ErrorKind};

    fn fit(data: &Table) -> Vec<u8> {
        let params = testing::params(&Standardize::describe(), &[]);
        Standardize::fit(data.clone(), params).unwrap()
    }

    #[test]
    fn matches_standard_scaler() {
        // StandardScaler().fit([[1], [2], [3], [4]]): mean_ 2.5, scale_ 1.118033988749895
        let t = Table::new()
            .with(Column::f64("x", vec![1.0, 2.0, 3.0, 4.0]))
            .with(Column::i64("k", vec![5, 5, 5, 5]))
            .with(Column::strings("s", ["a", "b", "c", "d"]));
        let state = fit(&t);
        let scaler = Scaler::from_bytes(&state).unwrap();
        assert_eq!(scaler.columns.len(), 2);
        assert_eq!(scaler.columns[0].mean, 2.5);
        assert_eq!(scaler.columns[0].scale, 1.118_033_988_749_895);
        // Constant column: scale 1, like sklearn.
        assert_eq!(scaler.columns[1].scale, 1.0);

        let out = Standardize::apply(state, t.clone()).unwrap();
        let x = out.column("x").unwrap().f64_values().unwrap();
        let expected = [
            -1.341_640_786_499_874,
            -0.447_213_595_499_958,
            0.447_213_595_499_958,
            1.341_640_786_499_874,
        ];
        for (a, b) in x.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
        assert_eq!(out.column("k").unwrap().f64_values().unwrap(), &[0.0; 4]);
        assert_eq!(out.column("s").unwrap(), t.column("s").unwrap());
    }

    #[test]
    fn mean_std_over_many_values_and_a_tail() {
        // 1003 values: 250 chunks of four and a tail of three.
        let values: Vec<f64> = (0..1003)
            .map(|i| (i as f64 * 0.37).sin() * 50.0 + 3.0)
            .collect();
        let n = values.len() as f64;
        let mean: f64 = values.iter().sum::<f64>() / n;
        let var: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let (m, s) = mean_std(&values);
        assert!((m - mean).abs() <= 1e-13 * mean.abs(), "{m} vs {mean}");
        assert!((s - var.sqrt()).abs() <= 1e-13 * s, "{s} vs {}", var.sqrt());
        assert_eq!(mean_std(&[]), (0.0, 0.0));
        assert_eq!(mean_std(&[2.0, 2.0, 2.0]), (2.0, 0.0));
    }

    #[test]
    fn nulls_are_ignored_in_fit_and_kept_in_apply() {
        let t = Table::new().with(Column::f64("x", vec![1.0, 1000.0, 3.0]).with_nulls(&[1]));
        let state = fit(&t);
        let out = Standardize::apply(state, t).unwrap();
        let x = out.column("x").unwrap();
        assert_eq!(x.f64_values().unwrap()[0], -1.0);
        assert_eq!(x.f64_values().unwrap()[2], 1.0);
        assert!(x.is_null(1));
    }

    #[test]
    fn missing_fitted_column_is_invalid_input() {
        let state = fit(&Table::new().with(Column::f64("x", vec![1.0, 2.0])));
        let err =
            Standardize::apply(state, Table::new().with(Column::f64("y", vec![1.0]))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn state_round_trips_exactly() {
        let s = Scaler {
            columns: vec![ColumnScale {
                name: "x".into(),
                mean: 0.1 + 0.2,
                scale: 1.0 / 3.0,
            }],
        };
        assert_eq!(Scaler::from_bytes(&s.to_bytes()).unwrap(), s);
    }
}
