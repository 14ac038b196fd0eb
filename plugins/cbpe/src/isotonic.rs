//! Isotonic regression of 0/1 labels on scores, as scikit-learn's
//! `IsotonicRegression(out_of_bounds="clip", increasing=True)`: the
//! calibrator NannyML's CBPE fits on the reference.
//!
//! Fitting sorts the points by score, pools scores closer than 1e-15
//! (`np.finfo(float64).resolution`, as scikit-learn's `_make_unique` does)
//! into one point whose target is the mean of their labels and whose
//! weight is their count, then runs pool-adjacent-violators: adjacent
//! blocks whose means do not increase strictly are merged into their
//! weighted mean. Predicting clips the score to the fitted range and
//! interpolates linearly between the fitted points (`scipy.interpolate.
//! interp1d`). It is not a general weighted regression: every sample
//! weighs 1.

/// A fitted isotonic calibration map: increasing `x` (the distinct scores)
/// and their fitted values `y`.
#[derive(Debug, Clone, PartialEq)]
pub struct Isotonic {
    /// The distinct reference scores, increasing.
    pub x: Vec<f64>,
    /// The fitted value at each score, non-decreasing, in `[0, 1]` for 0/1
    /// targets.
    pub y: Vec<f64>,
}

impl Isotonic {
    /// Fits the map to `scores` and their `targets` (`1.0` for the positive
    /// class, `0.0` otherwise). `None` when there are no points or a score
    /// is not finite.
    pub fn fit(scores: &[f64], targets: &[f64]) -> Option<Isotonic> {
        if scores.is_empty() || scores.iter().any(|s| !s.is_finite()) {
            return None;
        }
        // np.lexsort((y, X)): by score, then by target.
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| {
            scores[a]
                .total_cmp(&scores[b])
                .then(targets[a].total_cmp(&targets[b]))
        });

        // _make_unique: pool scores less than `eps` above the pool's first.
        let eps = 1e-15;
        let mut x = Vec::new();
        let mut sum_y = Vec::new();
        let mut weight = Vec::new();
        for &i in &order {
            match x.last() {
                Some(&current) if scores[i] - current < eps => {
                    *sum_y.last_mut().unwrap() += targets[i];
                    *weight.last_mut().unwrap() += 1.0;
                }
                _ => {
                    x.push(scores[i]);
                    sum_y.push(targets[i]);
                    weight.push(1.0);
                }
            }
        }
        let means: Vec<f64> = sum_y.iter().zip(&weight).map(|(s, w)| s / w).collect();
        let y = pool_adjacent_violators(&means, &weight);
        Some(Isotonic { x, y })
    }

    /// The calibrated value of `score`: clipped to the fitted range, then
    /// interpolated linearly between the two fitted points around it.
    pub fn predict(&self, score: f64) -> f64 {
        let n = self.x.len();
        if n == 1 {
            return self.y[0];
        }
        let t = score.clamp(self.x[0], self.x[n - 1]);
        // searchsorted(x, t, side='left'), clipped to [1, n - 1].
        let hi = self.x.partition_point(|&v| v < t).clamp(1, n - 1);
        let lo = hi - 1;
        let slope = (self.y[hi] - self.y[lo]) / (self.x[hi] - self.x[lo]);
        slope * (t - self.x[lo]) + self.y[lo]
    }
}

/// The non-decreasing sequence closest to `values` in weighted least
/// squares: adjacent blocks whose means do not increase strictly are
/// pooled into their weighted mean, as scikit-learn's (and scipy's) PAVA.
pub fn pool_adjacent_violators(values: &[f64], weights: &[f64]) -> Vec<f64> {
    // Blocks as (weighted sum, weight, number of points).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(values.len());
    for (&v, &w) in values.iter().zip(weights) {
        blocks.push((v * w, w, 1));
        while blocks.len() > 1 {
            let (s1, w1, n1) = blocks[blocks.len() - 1];
            let (s0, w0, n0) = blocks[blocks.len() - 2];
            if s0 / w0 < s1 / w1 {
                break;
            }
            blocks.pop();
            *blocks.last_mut().unwrap() = (s0 + s1, w0 + w1, n0 + n1);
        }
    }
    blocks
        .iter()
        .flat_map(|&(s, w, n)| std::iter::repeat_n(s / w, n))
        .collect()
}
