//! Classifier and regressor score formulas with scikit-learn's conventions: log loss
//! clips probabilities to `[eps, 1 - eps]` with `eps` the machine epsilon
//! (`np.finfo(np.float64).eps`, as scikit-learn 1.9 does), ROC AUC is
//! rank-based with tied scores given their average rank. The evaluator
//! plugins (through `sluice_sdk::metrics`) and the host's hyperparameter
//! search score with these, so a score is the same bits in both. Not for
//! lining a model's output up with its labels or reporting checks: that
//! needs the SDK's tables and stays in `sluice_sdk::metrics`.

/// The clip scikit-learn's `log_loss` applies to probabilities: the
/// machine epsilon of f64, `2^-52` (`np.finfo(np.float64).eps`; before
/// scikit-learn 1.5 it was `1e-15`).
pub const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// The share of `true` entries (NaN when empty).
pub fn accuracy(correct: &[bool]) -> f64 {
    correct.iter().filter(|c| **c).count() as f64 / correct.len() as f64
}

/// The log loss of every evaluator and of the search: the mean over rows,
/// in row order, of `-ln q`, `q` the probability the model gave the row's
/// true class clipped to `[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]` (NaN when
/// empty). The other log losses here pick `q` and call this.
pub fn true_class_log_loss(q: impl IntoIterator<Item = f64>) -> f64 {
    let (mut total, mut n) = (0.0, 0usize);
    for q in q {
        total += -q.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln();
        n += 1;
    }
    total / n as f64
}

/// Mean binary log loss of the positive class's probabilities `p` for
/// labels `positive`: [`true_class_log_loss`] with `q = p` for a positive
/// row and `q = 1 - p` for a negative one (scikit-learn's `log_loss` of a
/// single column, which clips `1 - p` and not `p`).
pub fn log_loss(positive: &[bool], p: &[f64]) -> f64 {
    true_class_log_loss(
        positive
            .iter()
            .zip(p)
            .map(|(&y, &p)| if y { p } else { 1.0 - p }),
    )
}

/// Mean multiclass log loss: [`true_class_log_loss`] of `proba[i][truth[i]]`.
pub fn multiclass_log_loss(truth: &[usize], proba: &[Vec<f64>]) -> f64 {
    true_class_log_loss(truth.iter().zip(proba).map(|(&k, p)| p[k]))
}

/// [`multiclass_log_loss`] of a binary model's `p1` (the second class's
/// probability; the first's is `1 - p1`), without a vector per row: the
/// same terms in the same order, so the same bits.
pub fn binary_class_log_loss(truth: &[usize], p1: &[f64]) -> f64 {
    true_class_log_loss(
        truth
            .iter()
            .zip(p1)
            .map(|(&k, &p1)| if k == 1 { p1 } else { 1.0 - p1 }),
    )
}

/// Regression scores of `predicted` against `truth` with scikit-learn's
/// conventions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionScores {
    /// Mean squared error (`mean_squared_error`).
    pub mse: f64,
    /// Mean absolute error (`mean_absolute_error`).
    pub mae: f64,
    /// `r2_score`: `1 - SS_res / SS_tot`; with a constant target
    /// (`SS_tot = 0`) 1.0 for a perfect fit and 0.0 otherwise.
    pub r2: f64,
}

/// MSE, MAE and R² of `predicted` against `truth` (equal lengths; NaN
/// when empty), summed in row order.
pub fn regression_scores(truth: &[f64], predicted: &[f64]) -> RegressionScores {
    let n = truth.len() as f64;
    let mean = truth.iter().sum::<f64>() / n;
    let (mut ss_res, mut abs, mut ss_tot) = (0.0, 0.0, 0.0);
    for (&y, &p) in truth.iter().zip(predicted) {
        ss_res += (y - p) * (y - p);
        abs += (y - p).abs();
        ss_tot += (y - mean) * (y - mean);
    }
    let r2 = if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    };
    RegressionScores {
        mse: ss_res / n,
        mae: abs / n,
        r2,
    }
}

/// Area under the ROC curve, by the rank-sum (Mann-Whitney U) formula with
/// tied scores given their average rank. `None` when only one class is
/// present.
pub fn roc_auc(positive: &[bool], score: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let ranks = average_ranks(score);
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    let (n_pos, n_neg) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// 1-based ranks, ties sharing their average rank.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) share ranks start+1..=end.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_class_log_loss_is_multiclass_log_loss_bit_for_bit() {
        let p1: Vec<f64> = (0..1000)
            .map(|i| ((i as f64) * 0.7361).sin().abs())
            .collect();
        let truth: Vec<usize> = (0..1000).map(|i| (i * 7 % 3 == 0) as usize).collect();
        let proba: Vec<Vec<f64>> = p1.iter().map(|&p| vec![1.0 - p, p]).collect();
        let want = multiclass_log_loss(&truth, &proba);
        assert_eq!(binary_class_log_loss(&truth, &p1).to_bits(), want.to_bits());
        assert_ne!(binary_class_log_loss(&truth[1..], &p1[..999]), want);
    }

    #[test]
    fn roc_auc_matches_reference() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&y, &[0.1, 0.4, 0.35, 0.8]), Some(0.75));
        // Ties count half: roc_auc_score([0, 1], [0.5, 0.5]) == 0.5
        assert_eq!(roc_auc(&[false, true], &[0.5, 0.5]), Some(0.5));
        assert_eq!(roc_auc(&[true, true], &[0.5, 0.7]), None);
    }

    #[test]
    fn multiclass_log_loss_matches_reference() {
        // sklearn.metrics.log_loss([0, 2, 1], [[.7, .2, .1], [.1, .3, .6], [.2, .5, .3]])
        // == 0.5202159160882228
        let proba = vec![
            vec![0.7, 0.2, 0.1],
            vec![0.1, 0.3, 0.6],
            vec![0.2, 0.5, 0.3],
        ];
        let ll = multiclass_log_loss(&[0, 2, 1], &proba);
        assert!((ll - 0.520_215_916_088_222_8).abs() < 1e-12, "{ll}");
    }

    #[test]
    fn log_loss_matches_reference() {
        // sklearn.metrics.log_loss([0, 1, 1], [0.2, 0.7, 1.0]) == 0.19327283175098078
        let ll = log_loss(&[false, true, true], &[0.2, 0.7, 1.0]);
        assert!((ll - 0.193_272_831_750_981_06).abs() < 1e-12);
        // Clipping at machine epsilon keeps a confident mistake finite:
        // log_loss([1], [0.0], labels=[0, 1]) == -ln(2^-52).
        assert_eq!(log_loss(&[true], &[0.0]), 36.04365338911715);
    }

    /// Probabilities at and beyond the clip, where scikit-learn 1.9.1's
    /// `eps = np.finfo(np.float64).eps` (not 1e-15) decides the result:
    /// `log_loss(y, p)` with y = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0] and
    /// p = [0.9, 0.1, 1.0, 1.0, 1e-17, 0.9999999999999999, 0.5, 0.7, 0.0,
    /// 3e-16] is 14.628245457267013 (the same with p as two columns
    /// [1 - p, p]); `log_loss([0, 2, 1, 2, 0], proba, labels=[0, 1, 2])` of
    /// the rows below is 14.600719502021693.
    #[test]
    fn log_loss_clips_at_machine_epsilon_as_scikit_learn() {
        let y = [
            true, false, true, false, true, false, true, false, true, false,
        ];
        let p = [
            0.9,
            0.1,
            1.0,
            1.0,
            1e-17,
            0.999_999_999_999_999_9,
            0.5,
            0.7,
            0.0,
            3e-16,
        ];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b;
        let want = 14.628_245_457_267_013;
        assert!(close(log_loss(&y, &p), want), "{}", log_loss(&y, &p));
        let truth: Vec<usize> = y.iter().map(|&y| usize::from(y)).collect();
        assert!(close(binary_class_log_loss(&truth, &p), want));
        let proba: Vec<Vec<f64>> = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.2, 0.8, 0.0],
            vec![0.25, 0.5, 0.25],
            vec![0.1, 0.1, 0.8],
            vec![1e-20, 0.5, 0.5 - 1e-20],
        ];
        let ll = multiclass_log_loss(&[0, 2, 1, 2, 0], &proba);
        assert!(close(ll, 14.600_719_502_021_693), "{ll}");
    }
}
