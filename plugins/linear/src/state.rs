//! The model of `linear` ([`LinearModel`]) and its
//! encoding (tag `LINR`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, StepError, Table, columns};

use crate::linear_predict;

const TAG: [u8; 4] = *b"LINR";
const VERSION: u8 = 1;

/// A trained model: what `train` stores and `predict` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    pub features: Vec<String>,
    pub coef: Vec<f64>,
    pub intercept: f64,
}

impl LinearModel {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        w.f64s(&self.coef);
        w.f64(self.intercept);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<LinearModel, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let model = LinearModel {
            features: r.strs()?,
            coef: r.f64s()?,
            intercept: r.f64()?,
        };
        r.finish()?;
        if model.coef.len() != model.features.len() {
            return Err(StepError::invalid_input(
                "corrupt linear model: coefficients and features differ in number",
            ));
        }
        Ok(model)
    }

    /// `X w + b` for each row, the features selected by name.
    pub fn predict_values(&self, features: &Table) -> Result<Vec<f64>, StepError> {
        let columns = columns::model_features(features, &self.features, "linear")?;
        let refs: Vec<&[f64]> = columns.iter().map(|c| &c[..]).collect();
        Ok(linear_predict(
            &refs,
            &self.coef,
            self.intercept,
            features.num_rows(),
        ))
    }

    /// The `prediction` column.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        Ok(Table::new().with(Column::f64("prediction", self.predict_values(features)?)))
    }
}
