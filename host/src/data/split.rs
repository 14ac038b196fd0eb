//! Seeded train/holdout splits.
//!
//! The shuffle is a Fisher-Yates driven by splitmix64, written out here
//! rather than taken from `rand`, whose streams may change between
//! versions: a run's seed must give the same split on every machine and
//! every sluice release.

use std::collections::BTreeMap;

use arrow::array::UInt64Array;
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;

use super::DataError;

/// Splits `batch` into `(train, holdout)`.
///
/// `round(rows * holdout_fraction)` randomly chosen rows go to the holdout;
/// with `stratify`, each class of that column (its values rendered as text,
/// nulls as the empty string) is split on its own, classes in sorted order,
/// so both parts keep the class proportions. Rows keep their original order
/// within each part. The same batch, fraction and seed always give the same
/// split. A very small table or class may leave a part empty.
pub fn split_holdout(
    batch: &RecordBatch,
    holdout_fraction: f64,
    seed: u64,
    stratify: Option<&str>,
) -> Result<(RecordBatch, RecordBatch), DataError> {
    let in_holdout = holdout_mask(batch, holdout_fraction, seed, stratify)?;
    let (holdout, train): (Vec<u64>, Vec<u64>) =
        (0..batch.num_rows() as u64).partition(|&row| in_holdout[row as usize]);
    Ok((take(batch, train)?, take(batch, holdout)?))
}

/// Which rows [`split_holdout`] puts in the holdout.
pub fn holdout_mask(
    batch: &RecordBatch,
    holdout_fraction: f64,
    seed: u64,
    stratify: Option<&str>,
) -> Result<Vec<bool>, DataError> {
    if !(holdout_fraction > 0.0 && holdout_fraction < 1.0) {
        return Err(DataError::HoldoutFraction {
            fraction: holdout_fraction,
        });
    }
    let mut rng = SplitMix64(seed);
    let mut in_holdout = vec![false; batch.num_rows()];
    for mut group in groups(batch, stratify)? {
        let take = (group.len() as f64 * holdout_fraction).round() as usize;
        rng.shuffle(&mut group);
        for &row in &group[..take.min(group.len())] {
            in_holdout[row] = true;
        }
    }
    Ok(in_holdout)
}

/// The rows of `batch` dealt into `folds` folds for cross-validation: the
/// fold of each row.
///
/// The rows (with `stratify`, each class of that column on its own, classes
/// in sorted order as in [`split_holdout`]) are shuffled and dealt round
/// robin, each class starting at the fold where the previous one stopped,
/// so fold sizes differ by at most one row and every fold keeps the class
/// proportions, as scikit-learn's `StratifiedKFold` aims to. The same
/// batch, fold count and seed always give the same folds.
pub fn assign_folds(
    batch: &RecordBatch,
    folds: usize,
    seed: u64,
    stratify: Option<&str>,
) -> Result<Vec<usize>, DataError> {
    assert!(folds > 0, "at least one fold");
    let mut rng = SplitMix64(seed);
    let mut fold_of = vec![0; batch.num_rows()];
    let mut next = 0;
    for mut group in groups(batch, stratify)? {
        rng.shuffle(&mut group);
        for row in group {
            fold_of[row] = next;
            next = (next + 1) % folds;
        }
    }
    Ok(fold_of)
}

/// The row groups a split works on: every row, or each class of column
/// `stratify` (its values rendered as text, nulls as the empty string) in
/// sorted order.
fn groups(batch: &RecordBatch, stratify: Option<&str>) -> Result<Vec<Vec<usize>>, DataError> {
    let rows = batch.num_rows();
    let Some(name) = stratify else {
        return Ok(vec![(0..rows).collect()]);
    };
    let Some(index) = batch.schema().index_of(name).ok() else {
        let available = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(DataError::MissingColumn {
            column: name.to_owned(),
            available,
        });
    };
    let column = batch.column(index);
    let mut classes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for row in 0..rows {
        let key = if column.is_null(row) {
            String::new()
        } else {
            array_value_to_string(column, row).map_err(|source| DataError::Arrow {
                action: "rendering the stratification column",
                source,
            })?
        };
        classes.entry(key).or_default().push(row);
    }
    Ok(classes.into_values().collect())
}

/// The rows `rows` of `batch`, in that order.
pub fn take(batch: &RecordBatch, rows: Vec<u64>) -> Result<RecordBatch, DataError> {
    arrow::compute::take_record_batch(batch, &UInt64Array::from(rows)).map_err(|source| {
        DataError::Arrow {
            action: "selecting the rows of a split",
            source,
        }
    })
}

/// Sebastiano Vigna's splitmix64: tiny, fast, and fixed forever.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (multiply-shift; the bias is below 2^-32 for
    /// any table that fits in memory).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next()) * bound as u128) >> 64) as usize
    }

    /// A number in `[0, 1)` with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use std::sync::Arc;

    fn batch(rows: i64) -> RecordBatch {
        let ids: Vec<i64> = (0..rows).collect();
        let labels: Vec<&str> = (0..rows)
            .map(|i| if i % 4 == 0 { "rare" } else { "common" })
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("label", DataType::Utf8, false),
            ])),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(labels)),
            ],
        )
        .unwrap()
    }

    fn ids(batch: &RecordBatch) -> Vec<i64> {
        batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn splitmix_matches_reference() {
        // First outputs for seed 1234567 from Vigna's reference C code.
        let mut rng = SplitMix64(1234567);
        assert_eq!(rng.next(), 6457827717110365317);
        assert_eq!(rng.next(), 3203168211198807973);
    }

    #[test]
    fn split_is_deterministic_ordered_and_complete() {
        let data = batch(100);
        let (train, holdout) = split_holdout(&data, 0.2, 7, None).unwrap();
        assert_eq!((train.num_rows(), holdout.num_rows()), (80, 20));
        let (train2, holdout2) = split_holdout(&data, 0.2, 7, None).unwrap();
        assert_eq!((ids(&train), ids(&holdout)), (ids(&train2), ids(&holdout2)));
        let (_, other) = split_holdout(&data, 0.2, 8, None).unwrap();
        assert_ne!(ids(&holdout), ids(&other), "another seed, another split");

        let (t, h) = (ids(&train), ids(&holdout));
        assert!(t.is_sorted() && h.is_sorted());
        let mut all: Vec<i64> = t.into_iter().chain(h).collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn stratified_split_keeps_proportions() {
        let data = batch(103); // 26 rare, 77 common
        let (train, holdout) = split_holdout(&data, 0.3, 42, Some("label")).unwrap();
        let count = |b: &RecordBatch, class: &str| {
            let labels = b.column(1).as_string::<i32>();
            (0..labels.len())
                .filter(|&i| labels.value(i) == class)
                .count()
        };
        assert_eq!(count(&holdout, "rare"), 8); // round(26 * 0.3)
        assert_eq!(count(&holdout, "common"), 23); // round(77 * 0.3)
        assert_eq!(count(&train, "rare"), 18);
        assert_eq!(count(&train, "common"), 54);
        assert!(ids(&holdout).is_sorted());
    }

    #[test]
    fn bad_fraction_and_missing_column_error() {
        let data = batch(10);
        for fraction in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(matches!(
                split_holdout(&data, fraction, 1, None),
                Err(DataError::HoldoutFraction { .. })
            ));
        }
        let err = split_holdout(&data, 0.5, 1, Some("target")).unwrap_err();
        assert!(err.to_string().contains("`target`") && err.to_string().contains("id, label"));
    }

    #[test]
    fn folds_are_balanced_stratified_and_seeded() {
        let data = batch(103); // 26 rare (rows 0, 4, ...), 77 common
        let folds = assign_folds(&data, 5, 9, Some("label")).unwrap();
        assert_eq!(folds.len(), 103);
        let mut sizes = [0usize; 5];
        let mut rare = [0usize; 5];
        for (row, &f) in folds.iter().enumerate() {
            sizes[f] += 1;
            if row % 4 == 0 {
                rare[f] += 1;
            }
        }
        // 103 rows over 5 folds: 21, 21, 21, 20, 20 in some order.
        assert_eq!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap(), 1);
        assert_eq!(sizes.iter().sum::<usize>(), 103);
        // 26 rare rows: 5 or 6 in every fold.
        assert!(rare.iter().all(|&r| r == 5 || r == 6), "{rare:?}");
        assert_eq!(folds, assign_folds(&data, 5, 9, Some("label")).unwrap());
        assert_ne!(folds, assign_folds(&data, 5, 10, Some("label")).unwrap());
        // Unstratified folds are balanced too, and differ from stratified.
        let plain = assign_folds(&data, 4, 9, None).unwrap();
        let mut sizes = [0usize; 4];
        plain.iter().for_each(|&f| sizes[f] += 1);
        assert_eq!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap(), 1);
        assert!(assign_folds(&data, 3, 1, Some("nope")).is_err());
    }
}
