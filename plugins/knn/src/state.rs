//! The model of `knn` ([`Targets`], [`KnnModel`]) and its
//! encoding (tag `KNNB`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::classes::Classes;
use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, StepError, Table, classes, columns};

use crate::{Weights, row_major, weigh};

const TAG: [u8; 4] = *b"KNNB";
const VERSION: u8 = 1;

/// The training targets.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// The classes and each training row's class index.
    Classes { classes: Classes, index: Vec<usize> },
    /// Each training row's value.
    Values(Vec<f64>),
}

/// A trained model: the training rows and their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnModel {
    pub features: Vec<String>,
    pub k: usize,
    pub weights: Weights,
    /// The training rows, row-major: row `i` is
    /// `points[i * d..(i + 1) * d]` with `d = features.len()`.
    pub points: Vec<f64>,
    pub targets: Targets,
}

impl KnnModel {
    pub fn rows(&self) -> usize {
        match &self.targets {
            Targets::Classes { index, .. } => index.len(),
            Targets::Values(v) => v.len(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        w.u64(self.k as u64);
        w.u8(match self.weights {
            Weights::Uniform => 0,
            Weights::Distance => 1,
        });
        w.f64s(&self.points);
        match &self.targets {
            Targets::Classes { classes, index } => {
                w.u8(0);
                classes.write(&mut w);
                let index: Vec<i64> = index.iter().map(|&i| i as i64).collect();
                w.i64s(&index);
            }
            Targets::Values(v) => {
                w.u8(1);
                w.f64s(v);
            }
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<KnnModel, StepError> {
        let corrupt = |what: &str| StepError::invalid_input(format!("corrupt knn model: {what}"));
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let features = r.strs()?;
        let k = r.u64()? as usize;
        let weights = match r.u8()? {
            0 => Weights::Uniform,
            1 => Weights::Distance,
            _ => return Err(corrupt("unknown weights")),
        };
        let points = r.f64s()?;
        let targets = match r.u8()? {
            0 => {
                let classes = Classes::read(&mut r)?;
                let index = r
                    .i64s()?
                    .into_iter()
                    .map(|i| usize::try_from(i).ok().filter(|&i| i < classes.len()))
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| corrupt("class index out of range"))?;
                Targets::Classes { classes, index }
            }
            1 => Targets::Values(r.f64s()?),
            _ => return Err(corrupt("unknown target kind")),
        };
        r.finish()?;
        let model = KnnModel {
            features,
            k,
            weights,
            points,
            targets,
        };
        if model.points.len() != model.rows() * model.features.len() {
            return Err(corrupt("points and targets differ in number"));
        }
        if model.k == 0 || model.k > model.rows() {
            return Err(corrupt("k out of range"));
        }
        Ok(model)
    }

    /// The query rows (the model's features, selected by name) row-major.
    fn query_points(&self, features: &Table) -> Result<Vec<f64>, StepError> {
        let columns = columns::model_features(features, &self.features, "knn")?;
        Ok(row_major(&columns, features.num_rows()))
    }

    /// The neighbour weights of each query row: `(training row, weight)`,
    /// nearest first.
    fn neighbour_weights(&self, features: &Table) -> Result<Vec<Vec<(usize, f64)>>, StepError> {
        let d = self.features.len();
        let queries = self.query_points(features)?;
        Ok(crate::spread::nearest(&self.points, d, &queries, self.k)
            .iter()
            .map(|found| weigh(found, self.weights))
            .collect())
    }

    /// Class probabilities per query row (classifier only).
    pub fn predict_proba(&self, features: &Table) -> Result<Vec<Vec<f64>>, StepError> {
        let Targets::Classes { classes, index } = &self.targets else {
            return Err(StepError::invalid_input(
                "this knn model is a regressor; it has no class probabilities",
            ));
        };
        let weights = self.neighbour_weights(features)?;
        Ok(weights
            .iter()
            .map(|neighbours| {
                let mut p = vec![0.0; classes.len()];
                let mut total = 0.0;
                for &(row, w) in neighbours {
                    p[index[row]] += w;
                    total += w;
                }
                p.iter_mut().for_each(|p| *p /= total);
                p
            })
            .collect())
    }

    /// The (weighted) mean target of the neighbours (regressor only).
    pub fn predict_values(&self, features: &Table) -> Result<Vec<f64>, StepError> {
        let Targets::Values(y) = &self.targets else {
            return Err(StepError::invalid_input(
                "this knn model is a classifier; it predicts classes",
            ));
        };
        let weights = self.neighbour_weights(features)?;
        Ok(weights
            .iter()
            .map(|neighbours| {
                let (sum, total) = neighbours
                    .iter()
                    .fold((0.0, 0.0), |(s, t), &(row, w)| (s + w * y[row], t + w));
                sum / total
            })
            .collect())
    }

    /// `p_<class>` and `prediction` for a classifier, `prediction` for a
    /// regressor.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        match &self.targets {
            Targets::Classes { classes, .. } => {
                let proba = self.predict_proba(features)?;
                Ok(classes::class_outputs(classes, &proba)
                    .into_iter()
                    .collect())
            }
            Targets::Values(_) => {
                Ok(Table::new().with(Column::f64("prediction", self.predict_values(features)?)))
            }
        }
    }
}
