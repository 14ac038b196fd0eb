//! CART tree growing, following scikit-learn's `DecisionTreeClassifier`
//! (`criterion="gini"`) and `DecisionTreeRegressor`
//! (`criterion="squared_error"`) with `splitter="best"`, `max_features=None`.
//!
//! At each node, for every feature, the node's rows are sorted by the
//! feature and every boundary between two distinct values (values closer
//! than `1e-7` count as equal, as in scikit-learn) is a candidate; the
//! threshold is the midpoint `a / 2 + b / 2` (or `a` if the midpoint rounds
//! to `b`), rows with `x <= threshold` go left. A candidate leaving fewer
//! than `min_samples_leaf` rows on a side is skipped. The candidate with
//! the largest *proxy* improvement wins, computed with scikit-learn's
//! formulas (gini: `-n_l gini_l - n_r gini_r`; squared error:
//! `sum_l^2 / n_l + sum_r^2 / n_r`), so that ties compare the same way.
//!
//! **Ties** between candidates go to the first feature (column order), then
//! the lowest threshold: a candidate replaces the best only if strictly
//! better. scikit-learn visits features in a random permutation (seeded by
//! `random_state`) and keeps the first best it meets, so where two features
//! give exactly the same improvement it may pick the other one and the
//! trees (and a few predictions) can differ slightly.
//!
//! A node is a leaf when it is at `max_depth`, has fewer than
//! `min_samples_split` or `2 * min_samples_leaf` rows, its impurity is at
//! most `f64::EPSILON`, no candidate split exists (every feature constant
//! in the node), or the best split's impurity improvement is below
//! `-f64::EPSILON` (rounding only; as scikit-learn with
//! `min_impurity_decrease=0`, a split that does not improve is still made).

/// Values closer than this are one value (scikit-learn's `FEATURE_THRESHOLD`).
const FEATURE_THRESHOLD: f64 = 1e-7;

/// What a node predicts and how splits are scored.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels<'a> {
    /// Each row's class index, and the number of classes.
    Classes {
        index: &'a [usize],
        n_classes: usize,
    },
    /// Each row's value.
    Values(&'a [f64]),
}

impl Labels<'_> {
    fn width(&self) -> usize {
        match self {
            Labels::Classes { n_classes, .. } => *n_classes,
            Labels::Values(_) => 1,
        }
    }
}

/// Growth limits.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowOptions {
    /// `None`: unlimited.
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
}

impl Default for GrowOptions {
    fn default() -> Self {
        GrowOptions {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
        }
    }
}

/// A grown tree, nodes in pre-order (the root is node 0, a node's children
/// come after it).
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The split feature of each node, or `None` for a leaf.
    pub feature: Vec<Option<usize>>,
    pub threshold: Vec<f64>,
    pub left: Vec<usize>,
    pub right: Vec<usize>,
    /// `width` values per node: class proportions (classification) or the
    /// mean (regression).
    pub value: Vec<f64>,
    pub width: usize,
}

impl Tree {
    pub fn nodes(&self) -> usize {
        self.feature.len()
    }

    pub fn leaves(&self) -> usize {
        self.feature.iter().filter(|f| f.is_none()).count()
    }

    /// The longest root-to-leaf path, in edges (a lone root has depth 0).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes()];
        let mut deepest = 0;
        for i in 0..self.nodes() {
            deepest = deepest.max(depth[i]);
            if self.feature[i].is_some() {
                depth[self.left[i]] = depth[i] + 1;
                depth[self.right[i]] = depth[i] + 1;
            }
        }
        deepest
    }

    /// The leaf a row falls in. `row(j)` is the row's value of feature `j`.
    pub fn leaf(&self, row: impl Fn(usize) -> f64) -> usize {
        let mut node = 0;
        while let Some(f) = self.feature[node] {
            node = if row(f) <= self.threshold[node] {
                self.left[node]
            } else {
                self.right[node]
            };
        }
        node
    }

    /// The values of node `i`.
    pub fn node_value(&self, i: usize) -> &[f64] {
        &self.value[i * self.width..(i + 1) * self.width]
    }

    fn push(&mut self, value: Vec<f64>) -> usize {
        self.feature.push(None);
        self.threshold.push(0.0);
        self.left.push(0);
        self.right.push(0);
        self.value.extend(value);
        self.feature.len() - 1
    }
}

/// Sufficient statistics of a set of rows.
#[derive(Debug, Clone)]
struct Stats {
    n: f64,
    /// Class counts, or `[sum of y]`.
    sum: Vec<f64>,
    /// Sum of y^2 (regression only).
    sq_sum: f64,
}

impl Stats {
    fn empty(width: usize) -> Stats {
        Stats {
            n: 0.0,
            sum: vec![0.0; width],
            sq_sum: 0.0,
        }
    }

    fn add(&mut self, labels: &Labels<'_>, row: usize) {
        self.n += 1.0;
        match labels {
            Labels::Classes { index, .. } => self.sum[index[row]] += 1.0,
            Labels::Values(y) => {
                self.sum[0] += y[row];
                self.sq_sum += y[row] * y[row];
            }
        }
    }

    fn of(labels: &Labels<'_>, rows: &[usize]) -> Stats {
        let mut s = Stats::empty(labels.width());
        for &r in rows {
            s.add(labels, r);
        }
        s
    }

    /// `total - self`.
    fn rest(&self, total: &Stats) -> Stats {
        Stats {
            n: total.n - self.n,
            sum: total
                .sum
                .iter()
                .zip(&self.sum)
                .map(|(t, s)| t - s)
                .collect(),
            sq_sum: total.sq_sum - self.sq_sum,
        }
    }

    /// Gini impurity or variance, with scikit-learn's formulas.
    fn impurity(&self, classification: bool) -> f64 {
        if classification {
            let sq: f64 = self.sum.iter().map(|c| c * c).sum();
            1.0 - sq / (self.n * self.n)
        } else {
            let mean = self.sum[0] / self.n;
            self.sq_sum / self.n - mean * mean
        }
    }

    /// Class proportions or the mean.
    fn value(&self) -> Vec<f64> {
        self.sum.iter().map(|s| s / self.n).collect()
    }
}

/// The proxy improvement scikit-learn ranks candidates by.
fn proxy(left: &Stats, right: &Stats, classification: bool) -> f64 {
    if classification {
        -right.n * right.impurity(true) - left.n * left.impurity(true)
    } else {
        left.sum[0] * left.sum[0] / left.n + right.sum[0] * right.sum[0] / right.n
    }
}

struct Split {
    feature: usize,
    threshold: f64,
    /// Rows going left: the first `pos` of the node's rows sorted by
    /// `feature`.
    left_rows: Vec<usize>,
    right_rows: Vec<usize>,
}

/// The best split of `rows`, if any candidate exists.
fn best_split(
    columns: &[&[f64]],
    labels: &Labels<'_>,
    rows: &[usize],
    min_leaf: usize,
) -> Option<Split> {
    let classification = matches!(labels, Labels::Classes { .. });
    let total = Stats::of(labels, rows);
    let n = rows.len();
    let mut best: Option<(f64, usize, f64, usize)> = None; // proxy, feature, threshold, pos
    let mut best_order: Vec<usize> = Vec::new();
    let mut order: Vec<usize> = rows.to_vec();
    for (f, x) in columns.iter().enumerate() {
        order.copy_from_slice(rows);
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        if x[order[n - 1]] <= x[order[0]] + FEATURE_THRESHOLD {
            continue;
        }
        let mut left = Stats::empty(labels.width());
        let mut improved = false;
        let mut p = 0;
        while p < n {
            // Move p to the last of a run of (nearly) equal values.
            while p + 1 < n && x[order[p + 1]] <= x[order[p]] + FEATURE_THRESHOLD {
                left.add(labels, order[p]);
                p += 1;
            }
            left.add(labels, order[p]);
            p += 1;
            if p >= n {
                break;
            }
            if p < min_leaf || n - p < min_leaf {
                continue;
            }
            let right = left.rest(&total);
            let score = proxy(&left, &right, classification);
            if best.is_none_or(|b| score > b.0) {
                let (a, b) = (x[order[p - 1]], x[order[p]]);
                let mut threshold = a / 2.0 + b / 2.0;
                if threshold == b || threshold.is_infinite() {
                    threshold = a;
                }
                best = Some((score, f, threshold, p));
                improved = true;
            }
        }
        if improved {
            best_order.clone_from(&order);
        }
    }
    let (_, feature, threshold, pos) = best?;
    Some(Split {
        feature,
        threshold,
        left_rows: best_order[..pos].to_vec(),
        right_rows: best_order[pos..].to_vec(),
    })
}

/// Grows a tree on `columns` (features by column) and `labels` (at least
/// one row).
pub fn grow(columns: &[&[f64]], labels: &Labels<'_>, opts: &GrowOptions) -> Tree {
    let classification = matches!(labels, Labels::Classes { .. });
    let n_total = match labels {
        Labels::Classes { index, .. } => index.len(),
        Labels::Values(y) => y.len(),
    } as f64;
    let min_leaf = opts.min_samples_leaf.max(1);
    let min_split = opts.min_samples_split.max(2).max(2 * min_leaf);
    let mut tree = Tree {
        feature: Vec::new(),
        threshold: Vec::new(),
        left: Vec::new(),
        right: Vec::new(),
        value: Vec::new(),
        width: labels.width(),
    };
    let all: Vec<usize> = (0..n_total as usize).collect();
    let root_impurity = Stats::of(labels, &all).impurity(classification);
    // (rows, depth, impurity as computed by the parent, parent and side).
    type Pending = (Vec<usize>, usize, f64, Option<(usize, bool)>);
    let mut stack: Vec<Pending> = vec![(all, 0, root_impurity, None)];
    while let Some((rows, depth, impurity, parent)) = stack.pop() {
        let stats = Stats::of(labels, &rows);
        let node = tree.push(stats.value());
        if let Some((p, is_left)) = parent {
            if is_left {
                tree.left[p] = node;
            } else {
                tree.right[p] = node;
            }
        }
        let is_leaf = opts.max_depth.is_some_and(|m| depth >= m)
            || rows.len() < min_split
            || impurity <= f64::EPSILON;
        if is_leaf {
            continue;
        }
        let Some(split) = best_split(columns, labels, &rows, min_leaf) else {
            continue;
        };
        let left = Stats::of(labels, &split.left_rows);
        let right = left.rest(&stats);
        let (imp_left, imp_right) = (
            left.impurity(classification),
            right.impurity(classification),
        );
        let improvement = (stats.n / n_total)
            * (impurity - right.n / stats.n * imp_right - left.n / stats.n * imp_left);
        if improvement + f64::EPSILON < 0.0 {
            continue;
        }
        tree.feature[node] = Some(split.feature);
        tree.threshold[node] = split.threshold;
        // Pre-order with the left subtree first: push right, then left.
        stack.push((split.right_rows, depth + 1, imp_right, Some((node, false))));
        stack.push((split.left_rows, depth + 1, imp_left, Some((node, true))));
    }
    tree
}
