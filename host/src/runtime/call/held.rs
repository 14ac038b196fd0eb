//! What a model session holds for `predict-replacing`: the held table's
//! shape to check requests against, the permutations of its columns
//! (`predict-each`'s `permute`), and the columns swapped in and the
//! outputs picked from the trainer's answer. Pure functions on WIT tables:
//! no store, no trainer instance (those are [`super::session`]'s).

use super::super::bindings::types;
use super::super::sandbox::PredictRequest;

pub(super) fn not_held() -> types::StepError {
    types::StepError {
        kind: types::ErrorKind::InvalidInput,
        message: "predict-replacing: no table is held (call hold first; a model call that \
                  failed drops what was held)"
            .into(),
    }
}

/// The names and rows of a held table, to check what `predict-replacing`
/// sends before the trainer sees it.
pub(super) struct HeldShape {
    names: Vec<String>,
    rows: usize,
}

impl HeldShape {
    pub(super) fn of(table: &types::Table) -> HeldShape {
        HeldShape {
            names: table.columns.iter().map(|c| c.name.clone()).collect(),
            rows: table.columns.first().map_or(0, column_rows),
        }
    }

    /// Where each column goes; the messages are the SDK's
    /// (`sluice_sdk::check_replacing`).
    pub(super) fn check(&self, columns: &[types::Column]) -> Result<Vec<usize>, types::StepError> {
        let invalid = |message: String| types::StepError {
            kind: types::ErrorKind::InvalidInput,
            message: format!("predict-replacing: {message}"),
        };
        let mut at = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let Some(j) = self.names.iter().position(|n| *n == column.name) else {
                return Err(invalid(format!(
                    "column '{}' is not in the held table",
                    column.name
                )));
            };
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(invalid(format!("column '{}' is given twice", column.name)));
            }
            let rows = column_rows(column);
            if rows != self.rows {
                return Err(invalid(format!(
                    "column '{}' has {rows} rows, the held table has {}",
                    column.name, self.rows
                )));
            }
            at.push(j);
        }
        Ok(at)
    }
}

fn column_rows(column: &types::Column) -> usize {
    match &column.values {
        types::Values::F64s(v) => v.len(),
        types::Values::I64s(v) => v.len(),
        types::Values::Bools(v) => v.len(),
        types::Values::Strings(v) => v.len(),
    }
}

/// The held columns `permute` names, each with its rows in the order of
/// its seed's permutation (the WIT `permutation`: the SDK's
/// `SplitMix64::new(seed).shuffle`, the null mask moved with the values).
/// An invalid-input error names a column that is not held, or one named
/// twice (in `permute`, or in `permute` and `replace`).
fn permuted(
    held: &types::Table,
    permute: &[(String, u64)],
    replace: &[types::Column],
) -> Result<Vec<types::Column>, types::StepError> {
    let invalid = |message: String| types::StepError {
        kind: types::ErrorKind::InvalidInput,
        message: format!("predict-each: {message}"),
    };
    let mut out = Vec::with_capacity(permute.len());
    for (i, (name, seed)) in permute.iter().enumerate() {
        let Some(column) = held.columns.iter().find(|c| c.name == *name) else {
            return Err(invalid(format!(
                "column '{name}' to permute is not in the held table"
            )));
        };
        if permute[..i].iter().any(|(n, _)| n == name) || replace.iter().any(|c| c.name == *name) {
            return Err(invalid(format!("column '{name}' is given twice")));
        }
        out.push(permute_column(column, *seed));
    }
    Ok(out)
}

/// `column` permuted by `seed` (see [`permuted`]): the SDK's own
/// shuffle of a column's parts.
fn permute_column(column: &types::Column, seed: u64) -> types::Column {
    use sluice_determ::random::{SplitMix64, shuffled_parts};
    use types::Values;
    let rng = &mut SplitMix64::new(seed);
    let valid = column.valid.as_deref();
    let (values, valid) = match &column.values {
        Values::F64s(v) => shuffled_parts(v, valid, rng, Values::F64s),
        Values::I64s(v) => shuffled_parts(v, valid, rng, Values::I64s),
        Values::Bools(v) => shuffled_parts(v, valid, rng, Values::Bools),
        Values::Strings(v) => shuffled_parts(v, valid, rng, Values::Strings),
    };
    types::Column {
        name: column.name.clone(),
        values,
        valid,
    }
}

/// The columns `request` puts in place of held ones (its replacements,
/// then its permutations of `held`'s columns) and the outputs it asks for;
/// or the explainer's error in it.
pub(super) fn resolve(
    held: &types::Table,
    request: PredictRequest,
) -> Result<(Vec<types::Column>, Vec<String>), types::StepError> {
    let PredictRequest {
        replace,
        permute,
        outputs,
    } = request;
    check_outputs(&outputs)?;
    let permuted = permuted(held, &permute, &replace)?;
    Ok((replace.into_iter().chain(permuted).collect(), outputs))
}

/// An output asked for twice is the explainer's error, found before the
/// trainer is called (one that fails drops its session and what it held).
fn check_outputs(outputs: &[String]) -> Result<(), types::StepError> {
    match (1..outputs.len()).find(|&i| outputs[..i].contains(&outputs[i])) {
        Some(i) => Err(types::StepError {
            kind: types::ErrorKind::InvalidInput,
            message: format!("output '{}' is asked for twice", outputs[i]),
        }),
        None => Ok(()),
    }
}

/// The columns of `predictions` named in `outputs`, in that order (all
/// when it is empty); the messages are the SDK's
/// (`sluice_sdk::select_outputs`).
pub(super) fn select_outputs(
    mut predictions: types::Table,
    outputs: &[String],
) -> Result<types::Table, types::StepError> {
    if outputs.is_empty() {
        return Ok(predictions);
    }
    check_outputs(outputs)?;
    let mut picked = Vec::with_capacity(outputs.len());
    for name in outputs {
        let Some(j) = predictions.columns.iter().position(|c| c.name == *name) else {
            let have: Vec<&str> = predictions
                .columns
                .iter()
                .chain(&picked)
                .map(|c: &types::Column| c.name.as_str())
                .collect();
            return Err(types::StepError {
                kind: types::ErrorKind::InvalidInput,
                message: format!(
                    "the model's predictions have no column '{name}'; they have: {}",
                    have.join(", ")
                ),
            });
        };
        picked.push(predictions.columns.swap_remove(j));
    }
    Ok(types::Table { columns: picked })
}

/// `table` with `columns` swapped in at `at`; swapping again with what
/// this returns puts it back.
pub(super) fn swap_columns(
    table: &mut types::Table,
    at: &[usize],
    columns: Vec<types::Column>,
) -> Vec<types::Column> {
    at.iter()
        .zip(columns)
        .map(|(&j, column)| std::mem::replace(&mut table.columns[j], column))
        .collect()
}
