//! The model of `gbt` ([`GbtModel`]) and its
//! encoding (tag `HGBT`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use boost::{Ensemble, Tree};
use sluice_sdk::classes::Classes;
use sluice_sdk::codec::{ByteReader, ByteWriter, TreeLinks};
use sluice_sdk::{Column, StepError, Table, classes, columns};

use crate::boost;

const TAG: [u8; 4] = *b"HGBT";
/// Binary and regression models written before multiclass support: one
/// ensemble.
const VERSION_SINGLE: u8 = 1;
/// Any number of ensembles (one per class for multiclass).
const VERSION: u8 = 2;

/// A trained model: what `train` stores and `predict` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct GbtModel {
    pub features: Vec<String>,
    /// The classes of a classifier, `None` for a regressor.
    pub classes: Option<Classes>,
    /// Regression and two classes: one ensemble (the raw score is the value
    /// or the log-odds of the second class). More classes: one per class.
    pub ensembles: Vec<Ensemble>,
}

impl GbtModel {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.strs(&self.features);
        match &self.classes {
            Some(classes) => {
                w.u8(0);
                classes.write(&mut w);
            }
            None => w.u8(1),
        }
        w.u64(self.ensembles.len() as u64);
        for ensemble in &self.ensembles {
            write_ensemble(&mut w, ensemble);
        }
        w.finish()
    }

    /// Reads a model of version 2, or a single-ensemble one of version 1.
    pub fn from_bytes(bytes: &[u8]) -> Result<GbtModel, StepError> {
        let version = if bytes.len() > 4 && bytes[..4] == TAG && bytes[4] == VERSION_SINGLE {
            VERSION_SINGLE
        } else {
            VERSION
        };
        let mut r = ByteReader::new(bytes, TAG, version)?;
        let features = r.strs()?;
        let classes = match r.u8()? {
            0 => Some(Classes::read(&mut r)?),
            1 => None,
            _ => return Err(corrupt("unknown mode")),
        };
        let expected = match &classes {
            Some(c) if c.len() < 2 => return Err(corrupt("a classifier needs two classes")),
            Some(c) if c.len() > 2 => c.len(),
            _ => 1,
        };
        let count = if version == VERSION_SINGLE {
            1
        } else {
            r.u64()?
        };
        if count != expected as u64 {
            return Err(corrupt(
                "the number of ensembles does not match the classes",
            ));
        }
        let ensembles = (0..count)
            .map(|_| read_ensemble(&mut r, features.len()))
            .collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        Ok(GbtModel {
            features,
            classes,
            ensembles,
        })
    }

    /// The raw scores of each row, `raw[ensemble][row]`, the features
    /// selected by name.
    pub fn raw_scores(&self, features: &Table) -> Result<Vec<Vec<f64>>, StepError> {
        let columns = columns::model_features(features, &self.features, "gbt")?;
        let rows = features.num_rows();
        Ok(self
            .ensembles
            .iter()
            .map(|e| raw_by_blocks(e, &columns, rows))
            .collect())
    }

    /// `p_<class>` and `prediction` for a classifier, `prediction` for a
    /// regressor.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        let mut raw = self.raw_scores(features)?;
        match &self.classes {
            Some(classes) => {
                let proba = probabilities(&raw);
                Ok(classes::class_outputs(classes, &proba)
                    .into_iter()
                    .collect())
            }
            None => Ok(Table::new().with(Column::f64("prediction", raw.remove(0)))),
        }
    }
}

/// Rows predicted together by [`raw_by_blocks`]: 128 rows of 30 features
/// are 30 KiB, in L1 beside a tree.
const PREDICT_BLOCK: usize = 128;

/// [`boost::Ensemble::raw`] of every row, the same bits: each row's leaf
/// values added in tree order from `-0.0` (as `Iterator::sum` adds), then
/// the baseline (addition commutes). But a block of rows at a time,
/// copied row by row, runs through one tree before the next: the tree's
/// nodes and the rows' values stay in cache, where a row at a time read
/// every tree and a value from each of the columns for every row.
fn raw_by_blocks<C: AsRef<[f64]>>(e: &boost::Ensemble, columns: &[C], rows: usize) -> Vec<f64> {
    let d = columns.len();
    let mut sums = vec![-0.0; rows];
    let mut block = vec![0.0; PREDICT_BLOCK * d];
    for start in (0..rows).step_by(PREDICT_BLOCK) {
        let len = PREDICT_BLOCK.min(rows - start);
        for (j, column) in columns.iter().enumerate() {
            for (r, &x) in column.as_ref()[start..start + len].iter().enumerate() {
                block[r * d + j] = x;
            }
        }
        let sums = &mut sums[start..start + len];
        for tree in &e.trees {
            for (r, sum) in sums.iter_mut().enumerate() {
                let row = &block[r * d..(r + 1) * d];
                *sum += tree.predict(|j| row[j]);
            }
        }
    }
    for sum in &mut sums {
        *sum += e.baseline;
    }
    sums
}

/// Class probabilities, `proba[row][class]`, from raw scores
/// `raw[ensemble][row]`: the sigmoid of the one binary score, or the
/// softmax of one score per class.
pub(crate) fn probabilities(raw: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let rows = raw.first().map_or(0, Vec::len);
    (0..rows)
        .map(|i| {
            if let [binary] = raw {
                let p = boost::sigmoid(binary[i]);
                vec![1.0 - p, p]
            } else {
                let mut p: Vec<f64> = raw.iter().map(|r| r[i]).collect();
                classes::softmax(&mut p);
                p
            }
        })
        .collect()
}

fn corrupt(what: &str) -> StepError {
    StepError::invalid_input(format!("corrupt gbt model: {what}"))
}

fn write_ensemble(w: &mut ByteWriter, ensemble: &Ensemble) {
    w.f64(ensemble.baseline);
    w.u64(ensemble.trees.len() as u64);
    let index = |v: &[usize]| v.iter().map(|&i| i as i64).collect::<Vec<i64>>();
    for t in &ensemble.trees {
        let feature: Vec<i64> = t
            .feature
            .iter()
            .map(|f| f.map_or(-1, |f| f as i64))
            .collect();
        w.i64s(&feature);
        w.f64s(&t.threshold);
        w.i64s(&index(&t.left));
        w.i64s(&index(&t.right));
        w.f64s(&t.value);
    }
}

/// Reads one ensemble, checking every index against `n_features` and the
/// node count.
fn read_ensemble(r: &mut ByteReader<'_>, n_features: usize) -> Result<Ensemble, StepError> {
    let baseline = r.f64()?;
    let n_trees = r.u64()?;
    let mut trees = Vec::new();
    for _ in 0..n_trees {
        let feature = r.i64s()?;
        let threshold = r.f64s()?;
        let left = r.i64s()?;
        let right = r.i64s()?;
        let value = r.f64s()?;
        let nodes = feature.len();
        if nodes == 0 || [threshold.len(), left.len(), right.len(), value.len()] != [nodes; 4] {
            return Err(corrupt("node arrays differ in length"));
        }
        let links = TreeLinks::check(&feature, &left, &right, n_features, "gbt")?;
        let tree = Tree {
            feature: links.feature,
            threshold,
            left: links.left,
            right: links.right,
            value,
        };
        trees.push(tree);
    }
    Ok(Ensemble { baseline, trees })
}
