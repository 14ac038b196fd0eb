//! Training on a table the host passed without its rows (see
//! [`sluice_sdk::rows`]): two passes, each reading the rows a block at a
//! time into buffers that are reused, instead of the whole table copied
//! into the sandbox. The model, the metrics and the errors are those of
//! the table passed whole: the Gram's sums are added up in the same row
//! blocks (a read is a multiple of them), the squared errors in row order.

use std::borrow::Cow;

use sluice_sdk::columns::{check_finite_at, numeric_values_ref};
use sluice_sdk::{Column, StepError, Table, rows};

use crate::{FitOptions, TrainReport, gram};

/// Rows a read asks for: a multiple of the Gram's row block.
const READ_ROWS: u32 = 16 * gram::BLOCK as u32;

/// One block of rows: the features' values as f64, then the target's.
struct Block {
    first_row: u64,
    table: Table,
    target: Column,
}

impl Block {
    /// The columns `[X | y]` as f64, or the error for the first (target
    /// first, then the features in order) that is not numeric or has a
    /// null in this block.
    fn values(&self) -> Result<Vec<Cow<'_, [f64]>>, StepError> {
        let y = numeric_values_ref(&self.target, "linear")?;
        let mut all = self
            .table
            .columns()
            .iter()
            .map(|c| numeric_values_ref(c, "linear"))
            .collect::<Result<Vec<_>, _>>()?;
        all.push(y);
        Ok(all)
    }
}

/// Reads every block of the `rows` rows, in order, into `each`.
fn each_block(
    rows: u64,
    mut each: impl FnMut(&Block) -> Result<(), StepError>,
) -> Result<(), StepError> {
    let mut first_row = 0;
    while first_row < rows {
        let (table, target) = rows::read(first_row, READ_ROWS)?;
        let target = target.ok_or_else(|| {
            StepError::internal("the host read the table's rows without its target's")
        })?;
        let read = target.len() as u64;
        if read == 0 || table.columns().iter().any(|c| c.len() as u64 != read) {
            return Err(StepError::internal(format!(
                "the host read {read} target rows from row {first_row} of {rows}, \
                 and features of other lengths"
            )));
        }
        each(&Block {
            first_row,
            table,
            target,
        })?;
        first_row += read;
    }
    Ok(())
}

/// [`crate::train`] of the `rows` rows read through [`rows::read`];
/// `features` and `target` are the call's arguments, without their rows.
pub(crate) fn train(
    features: &Table,
    target: &Column,
    rows: u64,
    opts: &FitOptions,
) -> Result<TrainReport, StepError> {
    if let Some(error) = kind_error(features, target) {
        // Whole, the first column with nulls or of another kind is named,
        // in order: count every column's nulls first.
        return Err(input_error(features, target, rows)?.unwrap_or(error));
    }
    if rows == 0 {
        return Err(crate::no_rows());
    }
    let d = features.num_columns();
    let mut products: Option<(gram::ShiftedProducts, Vec<f64>)> = None;
    let mut y = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
    let mut nulls = false;
    each_block(rows, |block| {
        // The kinds were checked above: a block's error is its nulls.
        let Ok(all) = block.values() else {
            nulls = true;
            return Err(StepError::internal("a block with nulls"));
        };
        let all: Vec<&[f64]> = all.iter().map(|c| c.as_ref()).collect();
        let (sums, _) = products.get_or_insert_with(|| {
            let shifts = crate::shifts(&all, opts);
            (gram::ShiftedProducts::new(shifts.clone()), shifts)
        });
        sums.add(&all);
        y.extend_from_slice(all[d]);
        Ok(())
    })
    .or_else(|e| match nulls {
        true => Err(input_error(features, target, rows)?.unwrap_or(e)),
        false => Err(e),
    })?;
    let (sums, shifts) = products.ok_or_else(crate::no_rows)?;
    let check = || first_non_finite(d, rows);
    let fit = crate::solve(sums.finish(), &shifts, y.len(), opts, check)?;
    let mut ss_res = 0.0;
    each_block(rows, |block| {
        let all = block.values()?;
        let all: Vec<&[f64]> = all.iter().map(|c| c.as_ref()).collect();
        crate::add_squared_errors(&all[..d], &fit.coef, fit.intercept, all[d], &mut ss_res);
        Ok(())
    })?;
    let metrics = crate::metrics(ss_res, &y);
    Ok(TrainReport::new(features, fit, metrics))
}

/// The error for the first column (the target first, then the features in
/// order) whose kind `linear` cannot use, from the columns without their
/// rows: their kinds are there.
fn kind_error(features: &Table, target: &Column) -> Option<StepError> {
    std::iter::once(target)
        .chain(features.columns())
        .find_map(|c| numeric_values_ref(c, "linear").err())
}

/// The error the table passed whole would have given for its nulls or
/// kinds: the first column, target first, that has nulls (counted over
/// every block) or is of a kind `linear` cannot use; `None` if there is
/// none.
fn input_error(
    features: &Table,
    target: &Column,
    rows: u64,
) -> Result<Option<StepError>, StepError> {
    let columns: Vec<&Column> = std::iter::once(target).chain(features.columns()).collect();
    let mut nulls = vec![0usize; columns.len()];
    each_block(rows, |block| {
        let read = std::iter::once(&block.target).chain(block.table.columns());
        for (count, column) in nulls.iter_mut().zip(read) {
            *count += column.null_count();
        }
        Ok(())
    })?;
    Ok(columns.iter().zip(&nulls).find_map(|(column, &n)| {
        if n > 0 {
            Some(StepError::invalid_input(format!(
                "column '{}' has {n} nulls; impute them first",
                column.name
            )))
        } else {
            numeric_values_ref(column, "linear").err()
        }
    }))
}

/// The error for the first non-finite value, as the table passed whole
/// would name it: the target's first, else the first feature's in order.
fn first_non_finite(features: usize, rows: u64) -> Result<(), StepError> {
    let count = features + 1;
    let mut found: Vec<Option<StepError>> = (0..count).map(|_| None).collect();
    each_block(rows, |block| {
        let all = block.values()?;
        let columns = std::iter::once(&block.target).chain(block.table.columns());
        // `values` has the target last.
        let values = std::iter::once(&all[count - 1]).chain(&all[..count - 1]);
        for ((slot, column), values) in found.iter_mut().zip(columns).zip(values) {
            if slot.is_none() {
                *slot = check_finite_at(column, values, block.first_row).err();
            }
        }
        Ok(())
    })?;
    match found.into_iter().flatten().next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
