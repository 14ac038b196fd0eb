//! The trained model (`LogisticModel`) and its encoding (tag `LOGR`:
//! version 2, any number of classes; version 1, binary models written
//! before multinomial support, still loads), with the probabilities and
//! labels `predict` returns. Not for fitting: that is [`crate::binary`] and
//! [`crate::softmax`]; nor for a model held with a table: [`crate::held`].

use std::borrow::Cow;

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, StepError, Table, Values, columns};

use crate::{Classes, binary, numeric_feature, softmax};

const TAG: [u8; 4] = *b"LOGR";
/// Binary models written before multinomial support: one coefficient vector.
const VERSION_BINARY: u8 = 1;
/// Any number of classes: a coefficient vector and an intercept per row.
const VERSION: u8 = 2;

/// A trained model: what `train` stores and `predict` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    pub features: Vec<String>,
    pub classes: Classes,
    /// Two classes: one row, the decision function of the second class (as
    /// scikit-learn's `coef_` of shape `(1, d)`). More: one row per class.
    pub coef: Vec<Vec<f64>>,
    /// One per row of `coef`.
    pub intercept: Vec<f64>,
}

impl LogisticModel {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        self.classes.write(&mut w);
        w.u64(self.coef.len() as u64);
        for row in &self.coef {
            w.f64s(row);
        }
        w.f64s(&self.intercept);
        w.finish()
    }

    /// Reads a model of version 2, or a binary one of version 1.
    pub fn from_bytes(bytes: &[u8]) -> Result<LogisticModel, StepError> {
        let corrupt =
            |what: &str| StepError::invalid_input(format!("corrupt logreg model: {what}"));
        let model = if bytes.len() > 4 && bytes[..4] == TAG && bytes[4] == VERSION_BINARY {
            let mut r = ByteReader::new(bytes, TAG, VERSION_BINARY)?;
            let model = LogisticModel {
                features: r.strs()?,
                classes: Classes::read(&mut r)?,
                coef: vec![r.f64s()?],
                intercept: vec![r.f64()?],
            };
            r.finish()?;
            if model.classes.len() != 2 {
                return Err(corrupt("a version 1 model has exactly two classes"));
            }
            model
        } else {
            let mut r = ByteReader::new(bytes, TAG, VERSION)?;
            let features = r.strs()?;
            let classes = Classes::read(&mut r)?;
            let rows = r.u64()?;
            if rows > classes.len() as u64 {
                return Err(corrupt("more coefficient rows than classes"));
            }
            let coef = (0..rows).map(|_| r.f64s()).collect::<Result<_, _>>()?;
            let model = LogisticModel {
                features,
                classes,
                coef,
                intercept: r.f64s()?,
            };
            r.finish()?;
            model
        };
        let k = model.classes.len();
        let rows = if k == 2 { 1 } else { k };
        if k < 2 || model.coef.len() != rows || model.intercept.len() != rows {
            return Err(corrupt("coefficient rows do not match the classes"));
        }
        if model.coef.iter().any(|w| w.len() != model.features.len()) {
            return Err(corrupt("coefficients and features differ in number"));
        }
        Ok(model)
    }

    /// The model's features, found by name in `features`.
    fn feature_columns<'t>(&self, features: &'t Table) -> Result<Vec<Cow<'t, [f64]>>, StepError> {
        columns::model_features(features, &self.features, "logreg")
    }

    /// [`Self::feature_columns`] without the check for non-finite values,
    /// which the caller must make some other way.
    fn feature_columns_unscanned<'t>(
        &self,
        features: &'t Table,
    ) -> Result<Vec<Cow<'t, [f64]>>, StepError> {
        self.features
            .iter()
            .map(|name| {
                let column = features
                    .get(name)
                    .ok_or_else(|| StepError::invalid_input(String::new()))?;
                match column.values() {
                    Values::F64(v) if !column.has_nulls() => Ok(Cow::Borrowed(v.as_slice())),
                    _ => numeric_feature(column),
                }
            })
            .collect()
    }

    /// The probability of each class for each row, `proba[row][class]`.
    pub fn predict_proba(&self, features: &Table) -> Result<Vec<Vec<f64>>, StepError> {
        let columns = self.feature_columns(features)?;
        let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
        Ok(probabilities(
            &refs,
            &self.coef,
            &self.intercept,
            features.num_rows(),
        ))
    }

    /// `p_<class>` for every class and `prediction`.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        if self.coef.len() == 1 {
            // Binary: the same values as `class_outputs` of
            // `predict_proba`, by column, without a vector per row.
            // The features are checked for non-finite values through the
            // scores: a NaN or infinite value makes its row's score
            // non-finite, and only then (or on any other problem) are the
            // columns checked one by one, for the same error the checked
            // path gives. One pass over the scores instead of one over
            // every value.
            let z = match self.feature_columns_unscanned(features) {
                Ok(columns) => {
                    let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
                    let rows = features.num_rows();
                    Some(binary::decision(
                        &refs,
                        &self.coef[0],
                        self.intercept[0],
                        rows,
                    ))
                }
                Err(_) => None,
            };
            let z = match z {
                Some(z) if z.iter().all(|z| z.is_finite()) => z,
                _ => {
                    let columns = self.feature_columns(features)?;
                    let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
                    let rows = features.num_rows();
                    binary::decision(&refs, &self.coef[0], self.intercept[0], rows)
                }
            };
            return Ok(self.binary_outputs(z));
        }
        // By class, without a vector per row: the columns
        // `class_outputs` makes of `predict_proba`.
        let columns = self.feature_columns(features)?;
        let refs: Vec<&[f64]> = columns.iter().map(AsRef::as_ref).collect();
        let rows = features.num_rows();
        let proba = softmax::proba_by_class(&refs, &self.coef, &self.intercept, rows);
        let best = softmax::best_class(&proba, rows);
        let mut out: Vec<Column> = self
            .classes
            .texts()
            .iter()
            .zip(proba)
            .map(|(text, p)| Column::f64(format!("p_{text}"), p))
            .collect();
        out.push(self.classes.column(&best));
        Ok(out.into_iter().collect())
    }

    /// What a binary model's `predict` returns for the scores `z`.
    pub(crate) fn binary_outputs(&self, z: Vec<f64>) -> Table {
        let p1 = binary::sigmoids(&z);
        let p0: Vec<f64> = p1.iter().map(|p| 1.0 - p).collect();
        let best: Vec<usize> = p0
            .iter()
            .zip(&p1)
            .map(|(a, b)| usize::from(b > a))
            .collect();
        let texts = self.classes.texts();
        Table::new()
            .with(Column::f64(format!("p_{}", texts[0]), p0))
            .with(Column::f64(format!("p_{}", texts[1]), p1))
            .with(self.classes.column(&best))
    }

    /// The `prediction` column [`LogisticModel::binary_outputs`] gives for
    /// finite scores `z`, without the probabilities: the second class
    /// where `p_1 > p_0`, which is `z > 0` away from zero; within
    /// [`LABEL_BY_SIGMOID`] of it the probabilities are computed, as
    /// there `exp(-z)` may round to 1 and `p_1` to 0.5.
    pub(crate) fn binary_labels(&self, z: &[f64]) -> Column {
        self.classes.column(&Self::labels_of(z))
    }

    /// The class index [`LogisticModel::binary_labels`] picks for each
    /// score.
    pub(crate) fn labels_of(z: &[f64]) -> Vec<usize> {
        let mut best: Vec<usize> = z.iter().map(|&z| usize::from(z > 0.0)).collect();
        let near: Vec<usize> = (0..z.len())
            .filter(|&i| z[i].abs() <= LABEL_BY_SIGMOID)
            .collect();
        if !near.is_empty() {
            let p1 = binary::sigmoids(&near.iter().map(|&i| z[i]).collect::<Vec<_>>());
            for (&i, p1) in near.iter().zip(p1) {
                best[i] = usize::from(p1 > 1.0 - p1);
            }
        }
        best
    }
}

/// Scores this close to 0 get their label from the probabilities (see
/// [`LogisticModel::binary_labels`]); beyond it `p_1` is at least 0.5 +
/// 2e-7 or below 0.5, so the sign decides.
pub(crate) const LABEL_BY_SIGMOID: f64 = 1e-6;

/// Class probabilities from one coefficient row (binary: sigmoid of the
/// second class's decision) or one per class (softmax).
pub(crate) fn probabilities(
    columns: &[&[f64]],
    coef: &[Vec<f64>],
    intercept: &[f64],
    rows: usize,
) -> Vec<Vec<f64>> {
    if coef.len() == 1 {
        binary::sigmoids(&binary::decision(columns, &coef[0], intercept[0], rows))
            .into_iter()
            .map(|p| vec![1.0 - p, p])
            .collect()
    } else {
        softmax::predict_proba(columns, coef, intercept, rows)
    }
}
