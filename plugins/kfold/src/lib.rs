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

mod state;
#[cfg(test)]
mod tests;

use sluice_sdk::random::SplitMix64;
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform};
pub use state::FoldPlan;

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
        .param(ParamSpec::integer("n_splits", 5, "number of folds, >= 2").at_least(2.0))
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
