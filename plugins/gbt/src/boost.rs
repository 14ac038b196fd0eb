//! Histogram gradient boosting as scikit-learn's
//! `HistGradientBoosting{Classifier,Regressor}` does it, without missing
//! values, early stopping or monotonic constraints.
//!
//! - Binning: per feature, at most `max_bins` bins. With at most `max_bins`
//!   distinct training values the thresholds are the midpoints between
//!   consecutive distinct values; otherwise they are the
//!   `linspace(0, 100, max_bins + 1)[1:-1]` percentiles of the column
//!   (numpy's `averaged_inverted_cdf` method, as scikit-learn 1.9 uses,
//!   with numpy's floating-point index arithmetic, so the thresholds are
//!   scikit-learn's bit for bit at every training size). A value goes to
//!   the first bin whose threshold is `>=` it.
//! - Each iteration fits one tree to the loss's gradients and hessians,
//!   best-first: the leaf with the highest gain is split next, until
//!   `max_leaf_nodes` leaves. A split's gain is
//!   `G_L^2/(H_L+l2) + G_R^2/(H_R+l2) - G^2/(H+l2)`; it must be `> 0`,
//!   leave `min_samples_leaf` rows and a hessian of `1e-3` on each side.
//!   Ties go to the first feature, then the lowest bin; equal-gain leaves
//!   split in creation order. The gradient and hessian sums behind a gain
//!   are exact (fixed point, see [`grow::Fixed`]), so splits that leave the
//!   same rows or values on each side tie exactly, whatever order their
//!   histograms add them in (scikit-learn sums floats, so which of two such
//!   splits it takes depends on rounding). How a tree is grown fast
//!   (byte bin codes, histogram subtraction) is in [`grow`].
//! - A leaf's value is `-learning_rate * G / (H + l2)`; a row goes left when
//!   its value is `<=` the split bin's threshold.

/// The loss being minimized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Binary log loss on the raw (log-odds) score; targets are 0 / 1.
    LogLoss,
    /// Half squared error; the hessian is constant 1.
    SquaredError,
}

/// The boosting params.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostOptions {
    pub max_iter: usize,
    pub learning_rate: f64,
    pub max_leaf_nodes: usize,
    /// `None`: unlimited; the root is depth 0.
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub l2_regularization: f64,
    pub max_bins: usize,
}

impl Default for BoostOptions {
    fn default() -> Self {
        BoostOptions {
            max_iter: 100,
            learning_rate: 0.1,
            max_leaf_nodes: 31,
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
        }
    }
}

/// The bin thresholds of one column: at most `max_bins - 1` increasing
/// values.
pub fn bin_thresholds(values: &[f64], max_bins: usize) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    let mut thresholds: Vec<f64> = if distinct.len() <= max_bins {
        distinct.windows(2).map(|w| (w[0] + w[1]) * 0.5).collect()
    } else {
        (1..max_bins)
            .map(|k| averaged_inverted_cdf(&sorted, k, max_bins))
            .collect()
    };
    // Percentiles repeat where values do; keep each threshold once.
    thresholds.dedup();
    thresholds
}

/// `np.percentile(sorted, np.linspace(0, 100, max_bins + 1)[k],
/// method="averaged_inverted_cdf")`, in numpy's own floating point: the
/// percentile `k * (100 / max_bins)`, over 100, times `n`, minus 1 is the
/// virtual index `v`. A whole `v` (as computed, not as exact arithmetic
/// would have it) takes the midpoint of the values at `v` and `v + 1`
/// (numpy's `b - (b - a) * 0.5`), any other the value at `floor(v) + 1`;
/// indexes past either end take the end. `n * k / max_bins` computed
/// exactly differs from this for many sizes (at 450 rows and 255 bins,
/// `450 * 85 / 255 = 150` is whole, but numpy's index is not, so it takes
/// the value at 150 and not the midpoint).
fn averaged_inverted_cdf(sorted: &[f64], k: usize, max_bins: usize) -> f64 {
    let n = sorted.len();
    let step = 100.0 / max_bins as f64;
    let quantile = (k as f64 * step) / 100.0;
    let virtual_index = n as f64 * quantile - 1.0;
    if virtual_index < 0.0 {
        return sorted[0];
    }
    if virtual_index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    let below = virtual_index.floor();
    let (a, b) = (sorted[below as usize], sorted[below as usize + 1]);
    if virtual_index - below == 0.0 {
        b - (b - a) * 0.5
    } else {
        b
    }
}

/// The bin of `x`: the first threshold `>= x`, or the last bin.
pub fn bin_of(thresholds: &[f64], x: f64) -> usize {
    thresholds.partition_point(|&t| t < x)
}

/// One tree, nodes in creation order (children after their parent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    /// `None` for a leaf.
    pub feature: Vec<Option<usize>>,
    /// Go left when `x <= threshold`.
    pub threshold: Vec<f64>,
    pub left: Vec<usize>,
    pub right: Vec<usize>,
    /// A leaf's contribution to the raw score (shrinkage included).
    pub value: Vec<f64>,
}

impl Tree {
    /// The leaf value for a row whose feature `j` is `x(j)`.
    pub fn predict(&self, x: impl Fn(usize) -> f64) -> f64 {
        let mut node = 0;
        while let Some(f) = self.feature[node] {
            node = if x(f) <= self.threshold[node] {
                self.left[node]
            } else {
                self.right[node]
            };
        }
        self.value[node]
    }

    pub fn leaves(&self) -> usize {
        self.feature.iter().filter(|f| f.is_none()).count()
    }

    pub(crate) fn push_leaf(&mut self) -> usize {
        self.feature.push(None);
        self.threshold.push(0.0);
        self.left.push(0);
        self.right.push(0);
        self.value.push(0.0);
        self.feature.len() - 1
    }
}

/// Fits one tree to `grad` / `hess` on binned features (see
/// [`grow::grow`]).
pub fn grow_tree(
    codes: &[Vec<u8>],
    thresholds: &[Vec<f64>],
    grad: &[f64],
    hess: &[f64],
    opts: &BoostOptions,
) -> Tree {
    let mut raw = vec![0.0; grad.len()];
    grow::grow(
        &grow::Codes::new(codes.to_vec()),
        thresholds,
        grad,
        hess,
        opts,
        &mut raw,
    )
}

/// The boosted ensemble: `raw = baseline + sum of tree values`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    pub baseline: f64,
    pub trees: Vec<Tree>,
}

impl Ensemble {
    /// The raw score (log-odds or value) of a row.
    pub fn raw(&self, x: impl Fn(usize) -> f64 + Copy) -> f64 {
        self.baseline + self.trees.iter().map(|t| t.predict(x)).sum::<f64>()
    }
}

use crate::grow;
pub use crate::grow::{Split, best_split};
use crate::spread::{Kind, Spread};

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The training columns binned: per feature, its thresholds and each row's
/// bin.
struct Binned {
    thresholds: Vec<Vec<f64>>,
    codes: grow::Codes,
}

fn bin_columns(columns: &[&[f64]], max_bins: usize) -> Binned {
    let thresholds: Vec<Vec<f64>> = columns
        .iter()
        .map(|c| bin_thresholds(c, max_bins))
        .collect();
    let bins = columns
        .iter()
        .zip(&thresholds)
        .map(|(c, t)| c.iter().map(|&x| bin_of(t, x) as u8).collect())
        .collect();
    Binned {
        thresholds,
        codes: grow::Codes::new(bins),
    }
}

/// The fit spread over the step's workers, when it can be: its trees and
/// final raw scores, the same as a fit here would give. `None`: fit here.
fn fit_spread(
    binned: &Binned,
    y: &[f64],
    kind: Kind,
    baselines: &[f64],
    opts: &BoostOptions,
) -> Option<crate::spread::Fitted> {
    let n_bins: Vec<usize> = binned.thresholds.iter().map(|t| t.len() + 1).collect();
    let spread = Spread::start(&binned.codes, &n_bins, y, kind, baselines, opts)?;
    match spread.fit(&binned.thresholds, baselines.len(), opts) {
        Ok(fitted) => Some(fitted),
        Err(e) => {
            sluice_sdk::log::warn(format!(
                "boosting again on one core: a worker failed: {}",
                e.message
            ));
            None
        }
    }
}

/// Grows a tree on `grad` / `hess`, adds its values to `raw` and keeps it.
fn boost_once(
    binned: &Binned,
    grad: &[f64],
    hess: &[f64],
    raw: &mut [f64],
    opts: &BoostOptions,
) -> Tree {
    grow::grow(&binned.codes, &binned.thresholds, grad, hess, opts, raw)
}

/// Boosts `opts.max_iter` trees on `columns[feature][row]` and `y` (0 / 1
/// for [`Loss::LogLoss`]).
pub fn fit(columns: &[&[f64]], y: &[f64], loss: Loss, opts: &BoostOptions) -> Ensemble {
    fit_scored(columns, y, loss, opts).0
}

/// [`fit`], and the raw score of every training row as boosting left it
/// (the baseline plus each tree's value in turn), so that the train
/// score needs no second pass of every row through every tree.
pub fn fit_scored(
    columns: &[&[f64]],
    y: &[f64],
    loss: Loss,
    opts: &BoostOptions,
) -> (Ensemble, Vec<f64>) {
    let n = y.len();
    let binned = bin_columns(columns, opts.max_bins);
    let mean = y.iter().sum::<f64>() / n as f64;
    let baseline = match loss {
        Loss::LogLoss => {
            let p = mean.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
            (p / (1.0 - p)).ln()
        }
        Loss::SquaredError => mean,
    };
    let kind = match loss {
        Loss::LogLoss => Kind::LogLoss,
        Loss::SquaredError => Kind::SquaredError,
    };
    if let Some((mut trees, mut raw)) = fit_spread(&binned, y, kind, &[baseline], opts) {
        let trees = trees.pop().unwrap_or_default();
        return (Ensemble { baseline, trees }, raw.pop().unwrap_or_default());
    }
    let mut raw = vec![baseline; n];
    let mut grad = vec![0.0; n];
    let mut hess = vec![1.0; n];
    let mut trees = Vec::with_capacity(opts.max_iter);
    for _ in 0..opts.max_iter {
        for i in 0..n {
            match loss {
                Loss::LogLoss => {
                    let p = sigmoid(raw[i]);
                    grad[i] = p - y[i];
                    hess[i] = p * (1.0 - p);
                }
                Loss::SquaredError => grad[i] = raw[i] - y[i],
            }
        }
        trees.push(boost_once(&binned, &grad, &hess, &mut raw, opts));
    }
    (Ensemble { baseline, trees }, raw)
}

/// Multiclass boosting with the multinomial log loss, as scikit-learn's
/// `HistGradientBoostingClassifier` does for more than two classes: each
/// iteration computes the softmax of every row's raw scores once, then
/// grows one tree per class on that class's gradient `p_k - [y = k]` and
/// hessian `p_k (1 - p_k)`. The baselines are `ln(prior_k)` centred to sum
/// to zero (scikit-learn's symmetric multinomial logit; the centring
/// changes no probability). `y` holds class indices `0..classes`; the
/// result has one ensemble per class.
pub fn fit_multiclass(
    columns: &[&[f64]],
    y: &[usize],
    classes: usize,
    opts: &BoostOptions,
) -> Vec<Ensemble> {
    fit_multiclass_scored(columns, y, classes, opts).0
}

/// [`fit_multiclass`], and the raw scores of the training rows,
/// `raw[class][row]`, as boosting left them (see [`fit_scored`]).
pub fn fit_multiclass_scored(
    columns: &[&[f64]],
    y: &[usize],
    classes: usize,
    opts: &BoostOptions,
) -> (Vec<Ensemble>, Vec<Vec<f64>>) {
    let n = y.len();
    let binned = bin_columns(columns, opts.max_bins);
    let mut log_prior: Vec<f64> = (0..classes)
        .map(|k| {
            let share = y.iter().filter(|&&c| c == k).count() as f64 / n as f64;
            share.clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()
        })
        .collect();
    let mean = log_prior.iter().sum::<f64>() / classes as f64;
    log_prior.iter_mut().for_each(|b| *b -= mean);
    let labels: Vec<f64> = y.iter().map(|&c| c as f64).collect();
    if let Some((trees, raw)) = fit_spread(&binned, &labels, Kind::Multinomial, &log_prior, opts) {
        return (crate::spread::ensembles(&log_prior, trees), raw);
    }
    // raw[class][row]
    let mut raw: Vec<Vec<f64>> = log_prior.iter().map(|&b| vec![b; n]).collect();
    let mut grad = vec![vec![0.0; n]; classes];
    let mut hess = vec![vec![0.0; n]; classes];
    let mut trees: Vec<Vec<Tree>> = vec![Vec::with_capacity(opts.max_iter); classes];
    let mut p = vec![0.0; classes];
    for _ in 0..opts.max_iter {
        for i in 0..n {
            for (p, raw) in p.iter_mut().zip(&raw) {
                *p = raw[i];
            }
            sluice_sdk::classes::softmax(&mut p);
            for (k, &pk) in p.iter().enumerate() {
                grad[k][i] = pk - f64::from(u8::from(y[i] == k));
                hess[k][i] = pk * (1.0 - pk);
            }
        }
        for k in 0..classes {
            let tree = boost_once(&binned, &grad[k], &hess[k], &mut raw[k], opts);
            trees[k].push(tree);
        }
    }
    let ensembles = log_prior
        .into_iter()
        .zip(trees)
        .map(|(baseline, trees)| Ensemble { baseline, trees })
        .collect();
    (ensembles, raw)
}
