//! A seedable random stream for plugins that sample or shuffle
//! (permutation importance, Kernel SHAP, k-fold assignment): the
//! SplitMix64 of `sluice-determ`, which the host uses too, and the shuffle
//! of a whole [`crate::Column`].
//!
//! SplitMix64 is written out in `sluice-determ` rather than taken from
//! `rand`, whose streams may change between versions: a seed must give the
//! same result on every machine and every sluice release.

pub use sluice_determ::random::{SplitMix64, shuffled_parts};

/// `column` with its rows (values and null mask together) in the order of
/// `rng.permutation(rows)`, and `rng` where that leaves it: the same
/// Fisher-Yates swaps ([`SplitMix64::shuffle`]) applied to a copy of the
/// values and of the mask, without an index vector to gather through. With
/// `SplitMix64::new(seed)` it is the host's permutation of the column for
/// `model::predict_each` ([`crate::model::Permutation`]).
pub fn shuffled(column: &crate::Column, rng: &mut SplitMix64) -> crate::Column {
    use crate::Values;
    let valid = column.valid.as_deref();
    let (values, valid) = match &column.values {
        Values::F64(v) => shuffled_parts(v, valid, rng, Values::F64),
        Values::I64(v) => shuffled_parts(v, valid, rng, Values::I64),
        Values::Bool(v) => shuffled_parts(v, valid, rng, Values::Bool),
        Values::Str(v) => shuffled_parts(v, valid, rng, Values::Str),
    };
    crate::Column {
        name: column.name.clone(),
        values,
        valid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Column;

    #[test]
    fn shuffled_puts_rows_in_the_order_of_the_permutation() {
        let n = 1000;
        let columns = [
            Column::f64("f", (0..n).map(|i| i as f64 * 0.5).collect()).with_nulls(&[3, 999]),
            Column::i64("i", (0..n as i64).collect()),
            Column::bool("b", (0..n).map(|i| i % 3 == 0).collect()).with_nulls(&[0]),
            Column::strings("s", (0..n).map(|i| format!("v{i}"))).with_nulls(&[5]),
        ];
        for column in &columns {
            let (mut a, mut b) = (SplitMix64::new(9), SplitMix64::new(9));
            let order = a.permutation(n);
            let got = shuffled(column, &mut b);
            for (row, &from) in order.iter().enumerate() {
                // Value and null mask move together (None: null).
                assert_eq!(
                    got.value_text(row),
                    column.value_text(from),
                    "{}",
                    column.name
                );
            }
            assert_ne!(got, *column, "{} was not shuffled", column.name);
            // The stream is left where the permutation leaves it.
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}
