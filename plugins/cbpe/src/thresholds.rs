//! Alert thresholds from the reference: the realized metric on each
//! reference chunk, then NannyML's `StandardDeviationThreshold`.
//!
//! Chunks are consecutive runs of `chunk_size` rows in row order; the rows
//! left over after the last full chunk form one more, smaller chunk (the
//! `incomplete='keep'` that NannyML's `SizeBasedChunker` uses when CBPE is
//! given a `chunk_size`). Chunks whose metric is undefined (NaN) are left
//! out of the mean and the standard deviation (`np.nanmean`,
//! `np.nanstd`, ddof 0). Bounds at or beyond the metric's range are set to
//! it: a lower bound `<= 0` becomes 0, an upper bound `>= 1` becomes 1.

use crate::metric::Metric;

/// The thresholds of one metric and what they were made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Mean minus `k` standard deviations, at least 0; NaN when no chunk
    /// has a defined value.
    pub lower: f64,
    /// Mean plus `k` standard deviations, at most 1; NaN likewise.
    pub upper: f64,
    /// The mean of the chunks' realized values.
    pub mean: f64,
    /// Their population standard deviation.
    pub std: f64,
    /// The realized value of each chunk, NaN where undefined.
    pub chunks: Vec<f64>,
}

impl Thresholds {
    /// Whether `value` raises no alert: inside `[lower, upper]`, or any of
    /// them undefined (NannyML's `alert` compares with NaN, which is
    /// false).
    pub fn admits(&self, value: f64) -> bool {
        !(value < self.lower || value > self.upper)
    }
}

/// The `[start, end)` row ranges of `rows` rows cut into chunks of
/// `chunk_size` (at least 1), the last one possibly smaller.
pub fn chunk_ranges(rows: usize, chunk_size: usize) -> Vec<(usize, usize)> {
    let size = chunk_size.max(1);
    (0..rows)
        .step_by(size)
        .map(|start| (start, (start + size).min(rows)))
        .collect()
}

/// The thresholds of `metric` from the labelled reference rows: `truth`
/// (the label is the positive class), `predicted`, `raw` scores.
pub fn thresholds(
    metric: Metric,
    truth: &[bool],
    predicted: &[bool],
    raw: &[f64],
    chunk_size: usize,
    std_multiplier: f64,
) -> Thresholds {
    let chunks: Vec<f64> = chunk_ranges(truth.len(), chunk_size)
        .into_iter()
        .map(|(a, b)| metric.realized(&truth[a..b], &predicted[a..b], &raw[a..b]))
        .collect();
    let defined: Vec<f64> = chunks.iter().copied().filter(|v| !v.is_nan()).collect();
    let count = defined.len() as f64;
    let mean = defined.iter().sum::<f64>() / count;
    let std = (defined.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count).sqrt();
    let mut lower = mean - std * std_multiplier;
    let mut upper = mean + std * std_multiplier;
    if lower <= 0.0 {
        lower = 0.0;
    }
    if upper >= 1.0 {
        upper = 1.0;
    }
    Thresholds {
        lower,
        upper,
        mean,
        std,
        chunks,
    }
}
