//! Whether the reference scores need calibrating: NannyML's
//! `needs_calibration` (nannyml/calibration.py), with its
//! `StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)`
//! reproduced draw for draw (numpy's MT19937, [`crate::mt19937`]).
//!
//! Scores need no calibration when the labels hold one class or the
//! scores' ROC AUC is above 0.999. Otherwise, for each of 10 stratified
//! splits an isotonic map is fitted on the 90% and applied to the 10%; the
//! 10 test parts are put end to end, sorted by score, cut into 10 bins of
//! equal count, and the expected calibration error (ECE, the
//! count-weighted mean of |mean score - share of positives| per bin) is
//! computed before and after calibration. Calibration is needed when the
//! ECE after is strictly lower.
//!
//! One difference: NannyML sorts with numpy's default `argsort`, which
//! leaves tied scores in an order that depends on the machine (a SIMD
//! sort on x86-64); here ties keep the order of the test parts (a stable
//! sort). Tied scores with different labels that straddle a bin edge move
//! between bins, so the ECEs can differ: by up to 3e-3 on the parity data
//! (`reference/README.md`), where every decision still agreed, since the
//! ECEs before and after were at least 4e-3 apart. A closer call may be
//! decided the other way.

use crate::isotonic::Isotonic;
use crate::mt19937::RandomState;
use sluice_sdk::metrics::roc_auc;

/// The ECEs before and after calibration, when the test ran that far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationTest {
    /// ECE of the raw scores of the test parts.
    pub ece_before: f64,
    /// ECE of the scores calibrated by the maps fitted on the train parts.
    pub ece_after: f64,
}

/// Why calibration is or is not needed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CalibrationVerdict {
    /// The labels hold a single class.
    SingleClass,
    /// The scores' ROC AUC is above 0.999 (NannyML skips calibration).
    NearPerfect,
    /// A class has a single row: scikit-learn's split refuses (NannyML
    /// would fail); no calibration.
    TooFewRows,
    /// The cross-validated ECE test ran.
    Tested(CalibrationTest),
}

impl CalibrationVerdict {
    /// Whether the scores should be calibrated.
    pub fn needs_calibration(&self) -> bool {
        matches!(self, CalibrationVerdict::Tested(t) if t.ece_before > t.ece_after)
    }
}

/// NannyML's test of whether `scores` benefit from isotonic calibration
/// against `positive` labels.
pub fn calibration_verdict(positive: &[bool], scores: &[f64]) -> CalibrationVerdict {
    let n = positive.len();
    let ones = positive.iter().filter(|&&p| p).count();
    if ones == 0 || ones == n {
        return CalibrationVerdict::SingleClass;
    }
    if roc_auc(positive, scores).is_some_and(|auc| auc > 0.999) {
        return CalibrationVerdict::NearPerfect;
    }
    let Some(splits) = stratified_shuffle_splits(positive, 10, 0.1, 42) else {
        return CalibrationVerdict::TooFewRows;
    };
    let target = |i: usize| if positive[i] { 1.0 } else { 0.0 };
    let mut truth = Vec::new();
    let mut before = Vec::new();
    let mut after = Vec::new();
    for (train, test) in &splits {
        let train_scores: Vec<f64> = train.iter().map(|&i| scores[i]).collect();
        let train_targets: Vec<f64> = train.iter().map(|&i| target(i)).collect();
        let Some(map) = Isotonic::fit(&train_scores, &train_targets) else {
            return CalibrationVerdict::TooFewRows;
        };
        for &i in test {
            truth.push(target(i));
            before.push(scores[i]);
            after.push(map.predict(scores[i]));
        }
    }
    let Some(edges) = bin_edges(truth.len(), 10) else {
        return CalibrationVerdict::TooFewRows;
    };
    CalibrationVerdict::Tested(CalibrationTest {
        ece_before: expected_calibration_error(&truth, &before, &edges),
        ece_after: expected_calibration_error(&truth, &after, &edges),
    })
}

/// The (train, test) row indices of scikit-learn's
/// `StratifiedShuffleSplit(n_splits, test_size, random_state=seed)` for two
/// classes (`false` sorts first, as `np.unique` puts 0 before 1). `None`
/// when scikit-learn refuses: a class with one row, or too few rows for a
/// test part holding both classes.
pub fn stratified_shuffle_splits(
    positive: &[bool],
    n_splits: usize,
    test_size: f64,
    seed: u32,
) -> Option<Vec<(Vec<usize>, Vec<usize>)>> {
    let n = positive.len();
    let n_test = (test_size * n as f64).ceil() as usize;
    let n_train = n.checked_sub(n_test)?;
    let class_indices: [Vec<usize>; 2] = [
        (0..n).filter(|&i| !positive[i]).collect(),
        (0..n).filter(|&i| positive[i]).collect(),
    ];
    let counts = [class_indices[0].len(), class_indices[1].len()];
    if counts.iter().any(|&c| c < 2) || n_train < 2 || n_test < 2 {
        return None;
    }
    let mut rng = RandomState::new(seed);
    let mut splits = Vec::with_capacity(n_splits);
    for _ in 0..n_splits {
        let n_i = approximate_mode(&counts, n_train, &mut rng);
        let remaining = [counts[0] - n_i[0], counts[1] - n_i[1]];
        let t_i = approximate_mode(&remaining, n_test, &mut rng);
        let mut train = Vec::with_capacity(n_train);
        let mut test = Vec::with_capacity(n_test);
        for class in 0..2 {
            let permutation = rng.permutation(counts[class]);
            let rows: Vec<usize> = permutation
                .iter()
                .map(|&p| class_indices[class][p])
                .collect();
            train.extend_from_slice(&rows[..n_i[class]]);
            test.extend_from_slice(&rows[n_i[class]..n_i[class] + t_i[class]]);
        }
        rng.shuffle(&mut train);
        rng.shuffle(&mut test);
        splits.push((train, test));
    }
    Some(splits)
}

/// scikit-learn's `_approximate_mode`: `n_draws` spread over the classes in
/// proportion to `counts`, the floors topped up by largest remainder, ties
/// broken by `rng.choice(..., replace=False)`.
fn approximate_mode(counts: &[usize; 2], n_draws: usize, rng: &mut RandomState) -> [usize; 2] {
    let total = (counts[0] + counts[1]) as f64;
    let continuous = counts.map(|c| c as f64 / total * n_draws as f64);
    let mut floored = continuous.map(f64::floor);
    let mut need = n_draws as f64 - (floored[0] + floored[1]);
    if need > 0.0 {
        let remainder = [continuous[0] - floored[0], continuous[1] - floored[1]];
        let mut values = remainder.to_vec();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..2).filter(|&i| remainder[i] == value).collect();
            let add_now = inds.len().min(need as usize);
            let chosen = rng.permutation(inds.len());
            for &c in &chosen[..add_now] {
                floored[inds[c]] += 1.0;
            }
            need -= add_now as f64;
            if need == 0.0 {
                break;
            }
        }
    }
    floored.map(|f| f as usize)
}

/// NannyML's `_get_bin_index_edges`: `bins` bins of `len / bins` rows (the
/// last takes the rest); with `len <= 2 bins`, `len / 2` bins. `None` when
/// fewer than 2 bins result.
pub fn bin_edges(len: usize, bins: usize) -> Option<Vec<(usize, usize)>> {
    let bins = if len <= 2 * bins { len / 2 } else { bins };
    if bins < 2 {
        return None;
    }
    let width = len / bins;
    let mut edges: Vec<usize> = (0..=len).step_by(width).collect();
    *edges.last_mut().unwrap() = len;
    Some(edges.windows(2).map(|w| (w[0], w[1])).collect())
}

/// NannyML's `_calculate_expected_calibration_error`: rows sorted by score
/// (ties in their given order), then per bin of `edges` the count-weighted
/// |mean score - mean truth|.
pub fn expected_calibration_error(truth: &[f64], scores: &[f64], edges: &[(usize, usize)]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let n = scores.len() as f64;
    edges
        .iter()
        .map(|&(lo, hi)| {
            let rows = &order[lo..hi];
            let len = rows.len() as f64;
            let mean_score = rows.iter().map(|&i| scores[i]).sum::<f64>() / len;
            let mean_truth = rows.iter().map(|&i| truth[i]).sum::<f64>() / len;
            len / n * (mean_score - mean_truth).abs()
        })
        .sum()
}
