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
//!   are exact (fixed point, see `FixedSums`), so splits that leave the
//!   same rows or values on each side tie exactly, whatever order their
//!   histograms add them in (scikit-learn sums floats, so which of two such
//!   splits it takes depends on rounding).
//! - A leaf's value is `-learning_rate * G / (H + l2)`; a row goes left when
//!   its value is `<=` the split bin's threshold.

/// scikit-learn's `min_hessian_to_split`.
const MIN_HESSIAN: f64 = 1e-3;

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
    sorted.sort_by(f64::total_cmp);
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

    fn push_leaf(&mut self) -> usize {
        self.feature.push(None);
        self.threshold.push(0.0);
        self.left.push(0);
        self.right.push(0);
        self.value.push(0.0);
        self.feature.len() - 1
    }
}

/// The best split of a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub gain: f64,
    pub feature: usize,
    pub bin: usize,
}

/// `G^2 / (H + l2)`: minus twice the node's loss at its optimal value.
fn score(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2)
}

/// Sums of a node's gradients or hessians in fixed point, so that a sum
/// does not depend on the order its terms are added in: every value is
/// scaled by one power of two, rounded to an integer, and summed exactly
/// in `i64` (the scale leaves room for the node's row count, so no sum of
/// its rows overflows). Two splits that leave the same rows (or the same
/// values) on each side then have the same sums, bit for bit, so their
/// gains tie exactly and the documented rule picks between them, not
/// float rounding. Each term is rounded to `2^-(61 - log2 n)` of the
/// node's largest magnitude, about what a float sum of `n` terms loses
/// anyway.
struct FixedSums {
    /// The node's values (in the order of its rows), scaled and rounded.
    scaled: Vec<i64>,
    /// The power of two they were scaled by.
    scale: f64,
}

impl FixedSums {
    fn new(values: impl ExactSizeIterator<Item = f64> + Clone) -> FixedSums {
        let largest = values.clone().fold(0.0f64, |m, v| m.max(v.abs()));
        // n < 2^headroom and largest < 2^(e + 1): scaled by
        // 2^(61 - headroom - e), each term is below 2^(62 - headroom) and a
        // sum of at most n of them below 2^62.
        let headroom = i64::from(usize::BITS - values.len().leading_zeros());
        let e = ((largest.to_bits() >> 52) & 0x7ff) as i64 - 1023;
        let exponent = (61 - headroom - e).clamp(-1022, 1023);
        let scale = f64::from_bits(((exponent + 1023) as u64) << 52);
        FixedSums {
            scaled: values.map(|v| (v * scale).round() as i64).collect(),
            scale,
        }
    }

    /// A fixed-point sum back as a float (the division is exact).
    fn value(&self, sum: i64) -> f64 {
        sum as f64 / self.scale
    }
}

/// The best split of the rows `rows` over binned features `bins[feature][row]`.
pub fn best_split(
    bins: &[Vec<u16>],
    n_bins: &[usize],
    grad: &[f64],
    hess: &[f64],
    rows: &[usize],
    opts: &BoostOptions,
) -> Option<Split> {
    let l2 = opts.l2_regularization;
    let g = FixedSums::new(rows.iter().map(|&i| grad[i]));
    let h = FixedSums::new(rows.iter().map(|&i| hess[i]));
    let g_total: i64 = g.scaled.iter().sum();
    let h_total: i64 = h.scaled.iter().sum();
    let (g_all, h_all) = (g.value(g_total), h.value(h_total));
    let parent = score(g_all, h_all, l2);
    let n_all = rows.len();
    let mut best: Option<Split> = None;
    let mut hist_g: Vec<i64> = Vec::new();
    let mut hist_h: Vec<i64> = Vec::new();
    let mut hist_n = Vec::new();
    for (feature, column) in bins.iter().enumerate() {
        let nb = n_bins[feature];
        hist_g.clear();
        hist_g.resize(nb, 0);
        hist_h.clear();
        hist_h.resize(nb, 0);
        hist_n.clear();
        hist_n.resize(nb, 0usize);
        for (k, &i) in rows.iter().enumerate() {
            let b = column[i] as usize;
            hist_g[b] += g.scaled[k];
            hist_h[b] += h.scaled[k];
            hist_n[b] += 1;
        }
        let (mut gl, mut hl, mut nl) = (0i64, 0i64, 0usize);
        for bin in 0..nb.saturating_sub(1) {
            gl += hist_g[bin];
            hl += hist_h[bin];
            nl += hist_n[bin];
            let nr = n_all - nl;
            let (h_left, h_right) = (h.value(hl), h.value(h_total - hl));
            if nl < opts.min_samples_leaf || h_left < MIN_HESSIAN {
                continue;
            }
            if nr < opts.min_samples_leaf || h_right < MIN_HESSIAN {
                break;
            }
            let gain =
                score(g.value(gl), h_left, l2) + score(g.value(g_total - gl), h_right, l2) - parent;
            // Strictly greater: an exact tie keeps the earlier feature and bin.
            if gain > 0.0 && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split { gain, feature, bin });
            }
        }
    }
    best
}

/// Fits one tree to `grad` / `hess` on binned features.
pub fn grow_tree(
    bins: &[Vec<u16>],
    thresholds: &[Vec<f64>],
    grad: &[f64],
    hess: &[f64],
    opts: &BoostOptions,
) -> Tree {
    let n_bins: Vec<usize> = thresholds.iter().map(|t| t.len() + 1).collect();
    let mut tree = Tree::default();
    let l2 = opts.l2_regularization;
    let leaf_value = |rows: &[usize]| {
        let (g, h) = rows
            .iter()
            .fold((0.0, 0.0), |(g, h), &i| (g + grad[i], h + hess[i]));
        -opts.learning_rate * g / (h + l2)
    };
    // Candidate leaves: (node, depth, rows, split).
    let mut open: Vec<(usize, Vec<usize>, Split)> = Vec::new();
    let consider = |tree: &mut Tree,
                    open: &mut Vec<(usize, Vec<usize>, Split)>,
                    node: usize,
                    depth: usize,
                    rows: Vec<usize>| {
        tree.value[node] = leaf_value(&rows);
        let too_deep = opts.max_depth.is_some_and(|d| depth >= d);
        if too_deep || rows.len() < 2 * opts.min_samples_leaf {
            return;
        }
        if let Some(split) = best_split(bins, &n_bins, grad, hess, &rows, opts) {
            open.push((node, rows, split));
        }
    };
    let mut depth_of = vec![0usize];
    let root = tree.push_leaf();
    consider(
        &mut tree,
        &mut open,
        root,
        0,
        (0..grad.len()).collect::<Vec<_>>(),
    );
    let mut leaves = 1;
    while leaves < opts.max_leaf_nodes && !open.is_empty() {
        // The highest gain; the earliest node on ties.
        let mut pick = 0;
        for (k, candidate) in open.iter().enumerate() {
            let best = &open[pick];
            if candidate.2.gain > best.2.gain
                || (candidate.2.gain == best.2.gain && candidate.0 < best.0)
            {
                pick = k;
            }
        }
        let (node, rows, split) = open.swap_remove(pick);
        let column = &bins[split.feature];
        let (left_rows, right_rows): (Vec<usize>, Vec<usize>) = rows
            .iter()
            .partition(|&&i| (column[i] as usize) <= split.bin);
        let left = tree.push_leaf();
        let right = tree.push_leaf();
        tree.feature[node] = Some(split.feature);
        tree.threshold[node] = thresholds[split.feature][split.bin];
        tree.left[node] = left;
        tree.right[node] = right;
        let depth = depth_of[node] + 1;
        depth_of.extend([depth, depth]);
        leaves += 1;
        consider(&mut tree, &mut open, left, depth, left_rows);
        consider(&mut tree, &mut open, right, depth, right_rows);
    }
    tree
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

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The training columns binned: per feature, its thresholds and each row's
/// bin.
struct Binned {
    thresholds: Vec<Vec<f64>>,
    bins: Vec<Vec<u16>>,
}

fn bin_columns(columns: &[&[f64]], max_bins: usize) -> Binned {
    let thresholds: Vec<Vec<f64>> = columns
        .iter()
        .map(|c| bin_thresholds(c, max_bins))
        .collect();
    let bins = columns
        .iter()
        .zip(&thresholds)
        .map(|(c, t)| c.iter().map(|&x| bin_of(t, x) as u16).collect())
        .collect();
    Binned { thresholds, bins }
}

/// Grows a tree on `grad` / `hess`, adds its values to `raw` and keeps it.
fn boost_once(
    binned: &Binned,
    columns: &[&[f64]],
    grad: &[f64],
    hess: &[f64],
    raw: &mut [f64],
    opts: &BoostOptions,
) -> Tree {
    let tree = grow_tree(&binned.bins, &binned.thresholds, grad, hess, opts);
    for (i, r) in raw.iter_mut().enumerate() {
        *r += tree.predict(|j| columns[j][i]);
    }
    tree
}

/// Boosts `opts.max_iter` trees on `columns[feature][row]` and `y` (0 / 1
/// for [`Loss::LogLoss`]).
pub fn fit(columns: &[&[f64]], y: &[f64], loss: Loss, opts: &BoostOptions) -> Ensemble {
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
        trees.push(boost_once(&binned, columns, &grad, &hess, &mut raw, opts));
    }
    Ensemble { baseline, trees }
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
            let tree = boost_once(&binned, columns, &grad[k], &hess[k], &mut raw[k], opts);
            trees[k].push(tree);
        }
    }
    log_prior
        .into_iter()
        .zip(trees)
        .map(|(baseline, trees)| Ensemble { baseline, trees })
        .collect()
}
