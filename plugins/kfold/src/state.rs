//! The fitted state of `kfold` ([`FoldPlan`]) and its
//! encoding (tag `KFLD`, the SDK's little-endian `codec`, every f64 exact).
//! Not for the params or the WIT glue: those are in `lib.rs`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::random::SplitMix64;
use sluice_sdk::{Params, StepError, Table, log};

use crate::{class_counts, classes_by_first_appearance, plain_folds, stratified_folds};

const TAG: [u8; 4] = *b"KFLD";
const VERSION: u8 = 1;

/// The checked params: everything `apply` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldPlan {
    pub n_splits: usize,
    pub shuffle: bool,
    pub seed: u64,
    pub stratify: Option<String>,
    pub column: String,
}

impl FoldPlan {
    pub fn from_params(params: &Params) -> Result<FoldPlan, StepError> {
        let n_splits = params.integer("n_splits")?;
        if n_splits < 2 {
            return Err(StepError::invalid_params(format!(
                "param 'n_splits' must be at least 2, got {n_splits}"
            )));
        }
        let column = params.text("column")?.trim().to_string();
        if column.is_empty() {
            return Err(StepError::invalid_params(
                "param 'column' must not be empty",
            ));
        }
        let stratify = params.text("stratify")?.trim();
        Ok(FoldPlan {
            n_splits: n_splits as usize,
            shuffle: params.flag("shuffle")?,
            // Negative seeds are fine: only the bits matter.
            seed: params.integer("seed")? as u64,
            stratify: (!stratify.is_empty()).then(|| stratify.to_string()),
            column,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.u64(self.n_splits as u64);
        w.bool(self.shuffle);
        w.u64(self.seed);
        w.str(self.stratify.as_deref().unwrap_or(""));
        w.str(&self.column);
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<FoldPlan, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let n_splits = r.u64()? as usize;
        let shuffle = r.bool()?;
        let seed = r.u64()?;
        let stratify = r.str()?;
        let column = r.str()?;
        r.finish()?;
        if n_splits < 2 || column.is_empty() {
            return Err(StepError::invalid_input("corrupt kfold state"));
        }
        Ok(FoldPlan {
            n_splits,
            shuffle,
            seed,
            stratify: (!stratify.is_empty()).then_some(stratify),
            column,
        })
    }

    /// The fold of each row of `data`.
    pub fn assign(&self, data: &Table) -> Result<Vec<i64>, StepError> {
        let rows = data.num_rows();
        if rows == 0 {
            return Ok(Vec::new());
        }
        if rows < self.n_splits {
            return Err(StepError::invalid_input(format!(
                "n_splits={} is more than the {rows} rows of the table",
                self.n_splits
            )));
        }
        let mut rng = SplitMix64::new(self.seed);
        match &self.stratify {
            None => Ok(plain_folds(
                rows,
                self.n_splits,
                self.shuffle.then_some(&mut rng),
            )),
            Some(name) => {
                let column = data.column(name)?;
                if column.has_nulls() {
                    return Err(StepError::invalid_input(format!(
                        "stratify column '{name}' has {} nulls; impute or drop them first",
                        column.null_count()
                    )));
                }
                let classes = classes_by_first_appearance(column);
                let counts = class_counts(&classes);
                if counts.iter().all(|&c| c < self.n_splits) {
                    return Err(StepError::invalid_input(format!(
                        "n_splits={} is more than the rows of every class of '{name}' \
                         (largest: {})",
                        self.n_splits,
                        counts.iter().max().unwrap_or(&0)
                    )));
                }
                if let Some(&least) = counts.iter().min().filter(|&&c| c < self.n_splits) {
                    log::warn(format!(
                        "the least populated class of '{name}' has only {least} rows, \
                         fewer than n_splits={}",
                        self.n_splits
                    ));
                }
                Ok(stratified_folds(
                    &classes,
                    self.n_splits,
                    self.shuffle.then_some(&mut rng),
                ))
            }
        }
    }
}
