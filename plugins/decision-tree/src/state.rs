//! The model of `decision-tree` ([`TreeModel`]) and its
//! encoding (tag `CART`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::classes::Classes;
use sluice_sdk::codec::{ByteReader, ByteWriter, TreeLinks};
use sluice_sdk::{Column, StepError, Table, classes, columns};

use crate::cart::Tree;

const TAG: [u8; 4] = *b"CART";
const VERSION: u8 = 1;

/// A trained model: what `train` stores and `predict` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeModel {
    pub features: Vec<String>,
    /// The classes of a classifier, `None` for a regressor.
    pub classes: Option<Classes>,
    pub tree: Tree,
}

impl TreeModel {
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
        let t = &self.tree;
        let feature: Vec<i64> = t
            .feature
            .iter()
            .map(|f| f.map_or(-1, |f| f as i64))
            .collect();
        let index = |v: &[usize]| v.iter().map(|&i| i as i64).collect::<Vec<i64>>();
        w.u64(t.width as u64);
        w.i64s(&feature);
        w.f64s(&t.threshold);
        w.i64s(&index(&t.left));
        w.i64s(&index(&t.right));
        w.f64s(&t.value);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<TreeModel, StepError> {
        let corrupt = |what: &str| StepError::invalid_input(format!("corrupt tree model: {what}"));
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let features = r.strs()?;
        let classes = match r.u8()? {
            0 => Some(Classes::read(&mut r)?),
            1 => None,
            _ => return Err(corrupt("unknown mode")),
        };
        let width = r.u64()? as usize;
        let feature = r.i64s()?;
        let threshold = r.f64s()?;
        let left = r.i64s()?;
        let right = r.i64s()?;
        let value = r.f64s()?;
        r.finish()?;
        let nodes = feature.len();
        if nodes == 0
            || [threshold.len(), left.len(), right.len()] != [nodes; 3]
            || Some(value.len()) != nodes.checked_mul(width)
            || width != classes.as_ref().map_or(1, Classes::len)
        {
            return Err(corrupt("node arrays differ in length"));
        }
        let links = TreeLinks::check(&feature, &left, &right, features.len(), "tree")?;
        let tree = Tree {
            feature: links.feature,
            threshold,
            left: links.left,
            right: links.right,
            value,
            width,
        };
        Ok(TreeModel {
            features,
            classes,
            tree,
        })
    }

    /// The leaf of each row, the features selected by name.
    pub fn leaves_of(&self, features: &Table) -> Result<Vec<usize>, StepError> {
        let columns = columns::model_features(features, &self.features, "decision-tree")?;
        Ok((0..features.num_rows())
            .map(|i| self.tree.leaf(|j| columns[j][i]))
            .collect())
    }

    /// `p_<class>` and `prediction` for a classifier, `prediction` for a
    /// regressor.
    pub fn predict(&self, features: &Table) -> Result<Table, StepError> {
        let leaves = self.leaves_of(features)?;
        match &self.classes {
            Some(classes) => {
                let proba: Vec<Vec<f64>> = leaves
                    .iter()
                    .map(|&leaf| self.tree.node_value(leaf).to_vec())
                    .collect();
                Ok(classes::class_outputs(classes, &proba)
                    .into_iter()
                    .collect())
            }
            None => Ok(Table::new().with(Column::f64(
                "prediction",
                leaves
                    .iter()
                    .map(|&leaf| self.tree.node_value(leaf)[0])
                    .collect(),
            ))),
        }
    }
}
