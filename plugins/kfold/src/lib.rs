//! `kfold`: a transform that learns nothing and adds a fold-assignment
//! column, with the semantics of scikit-learn's `KFold` and
//! `StratifiedKFold`.
//!
//! Params: `n_splits` (integer, 5, at least 2), `shuffle` (flag, true),
//! `seed` (integer, 0), `stratify` (text, `""`: the column whose classes
//! every fold keeps in proportion; empty for plain k-fold), `column` (text,
//! `"fold"`: the name of the added i64 column, values `0..n_splits`).
//!
//! - `fit` checks the params (and that `stratify` names a column of the
//!   data) and stores them; nothing is learned from the rows.
//! - `apply` assigns each row of the table it is given to a fold and
//!   returns the table with the fold column appended; the other columns are
//!   unchanged. The host applies a transform to the train and the holdout
//!   part separately, so each part gets folds of its own.
//!
//! Fold sizes are scikit-learn's exactly:
//!
//! - Plain: the first `rows % n_splits` folds get `rows / n_splits + 1`
//!   rows, the others `rows / n_splits`. Without `shuffle` the folds are
//!   contiguous runs in row order (`KFold(shuffle=False)` exactly); with it,
//!   rows are dealt to those fold sizes in a seeded random order.
//! - Stratified: classes are numbered by first appearance, the rows sorted
//!   by class and dealt round-robin to the folds, which fixes how many rows
//!   of each class each fold gets; then each class's rows (in row order)
//!   take that class's fold labels, shuffled when `shuffle` is on. Without
//!   `shuffle` that is `StratifiedKFold(shuffle=False)` exactly.
//!
//! With `shuffle`, the fold *membership counts* (per fold, and per fold and
//! class) match scikit-learn's for any seed, but not which rows land in
//! which fold: the permutation comes from [`SplitMix64`], not numpy's
//! generator, so `seed` and `random_state` are not interchangeable. The
//! same seed and table always give the same assignment.
//!
//! Errors: fewer rows than `n_splits` (an empty table gets an empty
//! column); stratifying when every class has fewer rows than `n_splits`
//! (scikit-learn's condition; a smaller class than that only logs a
//! warning); a stratify column with nulls; a column already named like the
//! fold column.
//!
//! The host keeps a dataset's declared `target` out of every transform, so
//! `stratify` can name any column a transform sees, but not that target.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::random::SplitMix64;
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform, log};

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

/// `KFold`: fold sizes `rows / n_splits (+1 for the first rows % n_splits)`,
/// contiguous, or dealt in random order when `rng` is given.
pub fn plain_folds(rows: usize, n_splits: usize, rng: Option<&mut SplitMix64>) -> Vec<i64> {
    let mut folds = Vec::with_capacity(rows);
    for fold in 0..n_splits {
        let size = rows / n_splits + usize::from(fold < rows % n_splits);
        folds.extend(std::iter::repeat_n(fold as i64, size));
    }
    if let Some(rng) = rng {
        rng.shuffle(&mut folds);
    }
    folds
}

/// `StratifiedKFold`: `classes[row]` numbered by first appearance.
pub fn stratified_folds(
    classes: &[usize],
    n_splits: usize,
    mut rng: Option<&mut SplitMix64>,
) -> Vec<i64> {
    let counts = class_counts(classes);
    // Rows sorted by class, dealt round-robin: position p goes to fold
    // p % n_splits. allocation[k][fold] counts class k's rows per fold.
    let mut allocation = vec![vec![0usize; n_splits]; counts.len()];
    let mut position = 0;
    for (k, &count) in counts.iter().enumerate() {
        for p in position..position + count {
            allocation[k][p % n_splits] += 1;
        }
        position += count;
    }
    let mut labels: Vec<Vec<i64>> = allocation
        .iter()
        .map(|per_fold| {
            per_fold
                .iter()
                .enumerate()
                .flat_map(|(fold, &n)| std::iter::repeat_n(fold as i64, n))
                .collect()
        })
        .collect();
    if let Some(rng) = rng.as_mut() {
        for l in &mut labels {
            rng.shuffle(l);
        }
    }
    let mut next = vec![0usize; counts.len()];
    classes
        .iter()
        .map(|&k| {
            next[k] += 1;
            labels[k][next[k] - 1]
        })
        .collect()
}

/// Each row's class, classes numbered in order of first appearance (of the
/// value's text), as `StratifiedKFold` numbers them.
pub fn classes_by_first_appearance(column: &Column) -> Vec<usize> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    (0..column.len())
        .map(|i| {
            let text = column.value_text(i).unwrap_or_default();
            let next = seen.len();
            *seen.entry(text).or_insert(next)
        })
        .collect()
}

fn class_counts(classes: &[usize]) -> Vec<usize> {
    let mut counts = vec![0; classes.iter().max().map_or(0, |m| m + 1)];
    for &k in classes {
        counts[k] += 1;
    }
    counts
}

pub struct KFold;

impl Transform for KFold {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "kfold",
            env!("CARGO_PKG_VERSION"),
            "Adds a seeded k-fold assignment column (scikit-learn KFold / StratifiedKFold \
             fold sizes); learns nothing.",
        )
        .param(ParamSpec::integer("n_splits", 5, "number of folds, >= 2"))
        .param(ParamSpec::flag(
            "shuffle",
            true,
            "deal rows to folds in seeded random order (false: contiguous runs in row order)",
        ))
        .param(ParamSpec::integer("seed", 0, "seed of the shuffle"))
        .param(ParamSpec::text(
            "stratify",
            "",
            "column whose classes every fold keeps in proportion; empty: plain k-fold",
        ))
        .param(ParamSpec::text(
            "column",
            "fold",
            "name of the added i64 column (values 0 ..n_splits-1)",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let plan = FoldPlan::from_params(&params)?;
        if let Some(name) = &plan.stratify {
            data.column(name)?;
        }
        Ok(plan.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        let plan = FoldPlan::from_bytes(&state)?;
        if data.contains(&plan.column) {
            return Err(StepError::invalid_input(format!(
                "the data already has a column '{}'; choose another name with param 'column'",
                plan.column
            )));
        }
        let folds = plan.assign(&data)?;
        Ok(data.with(Column::i64(plan.column.clone(), folds)))
    }
}

sluice_sdk::export_transform!(KFold);

#[cfg(test)]
mod tests;
