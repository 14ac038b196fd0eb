//! Growing one tree on binned features, as scikit-learn's and LightGBM's
//! histogram GBDTs do it:
//!
//! - Bin codes are one byte per row and feature, stored per feature and
//!   per row: a histogram is built a row at a time (LightGBM's row-wise
//!   mode), each row's gradient read once and its codes from one cache
//!   line, which is faster than a pass per feature over gathered rows.
//! - A node's histogram holds, per feature and bin, the sums of its rows'
//!   gradients and hessians and their count. The root's is built from all
//!   rows; after a split, only the child with fewer rows is built (its
//!   gradients gathered in its row order first) and the other is its
//!   parent's minus it, the histogram subtraction trick.
//! - A node's rows are a range of one index array, partitioned in place
//!   (stably) when it splits, so a leaf's rows are at hand to add its value
//!   to their raw scores without walking the tree.
//! - A constant hessian (squared error) is not summed: a bin's is its count
//!   times the constant.
//!
//! The sums are exact (fixed point, see [`Fixed`]): a histogram
//! subtracted from its parent's is bit for bit the one built from its rows,
//! and splits that leave the same rows or values on each side tie exactly
//! whatever order their rows are added in, so the documented tie rule picks
//! between them and not float rounding.

use crate::boost::{BoostOptions, Tree};

/// scikit-learn's `min_hessian_to_split`.
const MIN_HESSIAN: f64 = 1e-3;

/// The most bins a feature has (`max_bins` is at most 255).
const BINS: usize = 256;

/// One bin of a histogram, or the sums of a node: fixed-point sums of the
/// gradients and hessians of its rows, and their count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    g: i64,
    h: i64,
    n: i64,
}

impl Sums {
    fn minus(self, other: Sums) -> Sums {
        Sums {
            g: self.g - other.g,
            h: self.h - other.h,
            n: self.n - other.n,
        }
    }
}

/// A power of two that scales values into integers whose sums are exact:
/// every value is scaled and rounded to an integer, and sums of them are
/// taken exactly in `i64`. The scale leaves room for `rows` terms, so no
/// sum overflows: with `rows < 2^headroom` and the largest magnitude below
/// `2^(e + 1)`, it is `2^(61 - headroom - e)`, each term is below
/// `2^(62 - headroom)` and a sum of at most `rows` of them below `2^62`.
/// Each term is rounded to `2^-(61 - log2 rows)` of the largest magnitude,
/// about what a float sum of `rows` terms loses anyway.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fixed {
    scale: f64,
    inverse: f64,
}

impl Fixed {
    pub fn for_values(values: &[f64]) -> Fixed {
        // Not f64::max: that is a libm call in Wasm, not inlined.
        let largest = values
            .iter()
            .fold(0.0f64, |m, v| if v.abs() > m { v.abs() } else { m });
        let headroom = i64::from(usize::BITS - values.len().leading_zeros());
        let e = ((largest.to_bits() >> 52) & 0x7ff) as i64 - 1023;
        let exponent = (61 - headroom - e).clamp(-1022, 1022);
        Fixed {
            scale: f64::from_bits(((exponent + 1023) as u64) << 52),
            inverse: f64::from_bits(((1023 - exponent) as u64) << 52),
        }
    }

    /// `v` scaled and rounded (ties to even).
    pub fn to_fixed(self, v: f64) -> i64 {
        (v * self.scale).round_ties_even() as i64
    }

    /// A fixed-point sum back as a float (exact: the scale's inverse is a
    /// power of two too, a multiplication instead of a division).
    pub fn value(self, sum: i64) -> f64 {
        sum as f64 * self.inverse
    }
}

/// The best split of a node: on `feature`, rows in bins `<= bin` go left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub gain: f64,
    pub feature: usize,
    pub bin: usize,
    /// The sums of the rows that go left.
    left: Sums,
}

/// `G^2 / (H + l2)`: minus twice the node's loss at its optimal value.
fn score(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2)
}

/// A histogram: per feature, one [`Sums`] per bin.
type Histogram = Vec<[Sums; BINS]>;

/// Bin codes in both layouts: per feature, to partition a node's rows on
/// its split's feature, and per row, to build a histogram a row at a time
/// (each row's gradients read once and its codes in one cache line).
pub struct Codes {
    columns: Vec<Vec<u8>>,
    rows: Vec<u8>,
}

impl Codes {
    /// `columns[feature][row]`, every column as long.
    pub fn new(columns: Vec<Vec<u8>>) -> Codes {
        let n = columns.first().map_or(0, Vec::len);
        let mut rows = vec![0; n * columns.len()];
        for (f, column) in columns.iter().enumerate() {
            for (row, &code) in rows.chunks_exact_mut(columns.len()).zip(column) {
                row[f] = code;
            }
        }
        Codes { columns, rows }
    }

    fn features(&self) -> usize {
        self.columns.len()
    }

    /// The codes of row `i`, one per feature.
    fn row(&self, i: usize) -> &[u8] {
        let f = self.features();
        &self.rows[i * f..][..f]
    }
}

/// One tree's gradients and hessians in fixed point, and the binned rows.
struct Gradients<'a> {
    codes: &'a Codes,
    n_bins: Vec<usize>,
    fixed_g: Fixed,
    fixed_h: Fixed,
    g: Vec<i64>,
    /// `None` when every hessian is the same: then it is `h_const`.
    h: Option<Vec<i64>>,
    h_const: i64,
}

impl Gradients<'_> {
    fn new<'a>(codes: &'a Codes, n_bins: &[usize], grad: &[f64], hess: &[f64]) -> Gradients<'a> {
        let fixed_g = Fixed::for_values(grad);
        let fixed_h = Fixed::for_values(hess);
        let constant = hess.iter().all(|&h| h.to_bits() == hess[0].to_bits());
        Gradients {
            codes,
            n_bins: n_bins.to_vec(),
            fixed_g,
            fixed_h,
            g: grad.iter().map(|&v| fixed_g.to_fixed(v)).collect(),
            h: (!constant).then(|| hess.iter().map(|&v| fixed_h.to_fixed(v)).collect()),
            h_const: hess.first().map_or(0, |&v| fixed_h.to_fixed(v)),
        }
    }

    /// The sums over `rows`.
    fn sums(&self, rows: &[u32]) -> Sums {
        let g = rows.iter().map(|&i| self.g[i as usize]).sum();
        let n = rows.len() as i64;
        let h = match &self.h {
            Some(h) => rows.iter().map(|&i| h[i as usize]).sum(),
            None => n * self.h_const,
        };
        Sums { g, h, n }
    }

    /// The histogram of `rows` into `hist` (zeroed here).
    fn build(&self, rows: &[u32], hist: &mut Histogram) {
        hist.clear();
        hist.resize(self.codes.features(), [Sums::default(); BINS]);
        for &i in rows {
            let i = i as usize;
            let (g, h) = (self.g[i], self.h.as_ref().map_or(0, |h| h[i]));
            for (bins, &code) in hist.iter_mut().zip(self.codes.row(i)) {
                let bin = &mut bins[usize::from(code)];
                bin.g += g;
                bin.h += h;
                bin.n += 1;
            }
        }
        if self.h.is_none() {
            for bins in hist.iter_mut() {
                for bin in bins.iter_mut() {
                    bin.h = bin.n * self.h_const;
                }
            }
        }
    }

    /// The best split of a node with sums `total` and histogram `hist`:
    /// the highest gain `> 0` that leaves `min_samples_leaf` rows and a
    /// hessian of [`MIN_HESSIAN`] on each side; ties go to the first
    /// feature, then the lowest bin.
    fn best_split(&self, hist: &Histogram, total: Sums, opts: &BoostOptions) -> Option<Split> {
        let l2 = opts.l2_regularization;
        let (fg, fh) = (self.fixed_g, self.fixed_h);
        let parent = score(fg.value(total.g), fh.value(total.h), l2);
        let min_rows = opts.min_samples_leaf as i64;
        let mut best: Option<Split> = None;
        for (feature, bins) in hist.iter().enumerate() {
            let mut left = Sums::default();
            for (bin, sums) in bins[..self.n_bins[feature].saturating_sub(1)]
                .iter()
                .enumerate()
            {
                left = Sums {
                    g: left.g + sums.g,
                    h: left.h + sums.h,
                    n: left.n + sums.n,
                };
                let right = total.minus(left);
                if left.n < min_rows {
                    continue;
                }
                if right.n < min_rows {
                    break;
                }
                let (h_left, h_right) = (fh.value(left.h), fh.value(right.h));
                if h_left < MIN_HESSIAN {
                    continue;
                }
                if h_right < MIN_HESSIAN {
                    break;
                }
                let gain = score(fg.value(left.g), h_left, l2)
                    + score(fg.value(right.g), h_right, l2)
                    - parent;
                // Strictly greater: an exact tie keeps the earlier feature and bin.
                if gain > 0.0 && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Split {
                        gain,
                        feature,
                        bin,
                        left,
                    });
                }
            }
        }
        best
    }

    /// A leaf's contribution: `-learning_rate * G / (H + l2)`.
    fn leaf_value(&self, sums: Sums, opts: &BoostOptions) -> f64 {
        let (g, h) = (self.fixed_g.value(sums.g), self.fixed_h.value(sums.h));
        -opts.learning_rate * g / (h + opts.l2_regularization)
    }
}

/// The best split of `rows` over binned features `codes[feature][row]`
/// with `n_bins[feature]` bins, gradients and hessians scaled over `rows`.
pub fn best_split(
    codes: &[Vec<u8>],
    n_bins: &[usize],
    grad: &[f64],
    hess: &[f64],
    rows: &[usize],
    opts: &BoostOptions,
) -> Option<Split> {
    let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let codes = Codes::new(
        codes
            .iter()
            .map(|c| rows.iter().map(|&i| c[i]).collect())
            .collect(),
    );
    let grads = Gradients::new(&codes, n_bins, &pick(grad), &pick(hess));
    let all: Vec<u32> = (0..rows.len() as u32).collect();
    let mut hist = Histogram::new();
    grads.build(&all, &mut hist);
    grads.best_split(&hist, grads.sums(&all), opts)
}

/// A node that may still split: its rows `rows[start..end]`, its sums,
/// its best split and its histogram.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    sums: Sums,
    split: Split,
    hist: Histogram,
}

/// A grown tree and which rows reached each of its leaves.
pub struct Grown {
    pub tree: Tree,
    /// Row indices, the rows of each node a range of them.
    rows: Vec<u32>,
    /// Per node, its rows' range in `rows`.
    ranges: Vec<(usize, usize)>,
}

impl Grown {
    /// Adds each leaf's value to the raw scores of the rows that reached it
    /// (as `tree.predict` on those rows would: a row goes left exactly when
    /// its bin is at most the split's bin).
    pub fn add_to(&self, raw: &mut [f64]) {
        for (node, &(start, end)) in self.ranges.iter().enumerate() {
            if self.tree.feature[node].is_none() {
                let value = self.tree.value[node];
                for &i in &self.rows[start..end] {
                    raw[i as usize] += value;
                }
            }
        }
    }
}

/// Fits one tree to `grad` / `hess` on binned features `codes` whose bin
/// thresholds are `thresholds`.
///
/// Best-first: the open leaf with the highest gain splits next (the
/// earliest created on ties), until `max_leaf_nodes` leaves. A node with
/// fewer than `2 * min_samples_leaf` rows, or at `max_depth`, stays a leaf.
pub fn grow(
    codes: &Codes,
    thresholds: &[Vec<f64>],
    grad: &[f64],
    hess: &[f64],
    opts: &BoostOptions,
) -> Grown {
    let n_bins: Vec<usize> = thresholds.iter().map(|t| t.len() + 1).collect();
    let grads = Gradients::new(codes, &n_bins, grad, hess);
    let mut rows: Vec<u32> = (0..grad.len() as u32).collect();
    let mut scratch: Vec<u32> = Vec::with_capacity(rows.len());
    let mut spare: Vec<Histogram> = Vec::new();
    let mut nodes = Nodes::default();
    let may_split = |depth: usize, n: i64| {
        opts.max_depth.is_none_or(|d| depth < d) && n >= 2 * opts.min_samples_leaf as i64
    };

    let mut open: Vec<Open> = Vec::new();
    let root_sums = grads.sums(&rows);
    let root = nodes.push(grads.leaf_value(root_sums, opts), (0, rows.len()), 0);
    if may_split(0, root_sums.n) {
        let mut hist = Histogram::new();
        grads.build(&rows, &mut hist);
        if let Some(split) = grads.best_split(&hist, root_sums, opts) {
            open.push(Open {
                node: root,
                start: 0,
                end: rows.len(),
                sums: root_sums,
                split,
                hist,
            });
        }
    }
    let mut leaves = 1;
    while leaves < opts.max_leaf_nodes && !open.is_empty() {
        // The highest gain; the earliest node on ties.
        let mut pick = 0;
        for (k, candidate) in open.iter().enumerate() {
            let best = &open[pick];
            if candidate.split.gain > best.split.gain
                || (candidate.split.gain == best.split.gain && candidate.node < best.node)
            {
                pick = k;
            }
        }
        let Open {
            node,
            start,
            end,
            sums,
            split,
            mut hist,
        } = open.swap_remove(pick);
        // Stable partition of the node's rows: left first, in order.
        let column = &codes.columns[split.feature];
        let bin = split.bin as u8;
        // Branch-free: each row is written to both places and only one
        // advances (a row's side is a coin toss to the branch predictor).
        // `kept <= k`, so a row is read before its slot is overwritten.
        scratch.clear();
        scratch.resize(end - start, 0);
        let (mut kept, mut moved) = (start, 0);
        for k in start..end {
            let i = rows[k];
            let left = column[i as usize] <= bin;
            rows[kept] = i;
            scratch[moved] = i;
            kept += usize::from(left);
            moved += usize::from(!left);
        }
        rows[kept..end].copy_from_slice(&scratch[..moved]);
        let (left_sums, right_sums) = (split.left, sums.minus(split.left));
        debug_assert_eq!(kept - start, left_sums.n as usize);
        let depth = nodes.depth[node] + 1;
        let left = nodes.push(grads.leaf_value(left_sums, opts), (start, kept), depth);
        let right = nodes.push(grads.leaf_value(right_sums, opts), (kept, end), depth);
        let tree = &mut nodes.tree;
        tree.feature[node] = Some(split.feature);
        tree.threshold[node] = thresholds[split.feature][split.bin];
        tree.left[node] = left;
        tree.right[node] = right;
        leaves += 1;

        let children = [
            (left, start, kept, left_sums),
            (right, kept, end, right_sums),
        ];
        let splittable = children.map(|(_, _, _, s)| may_split(depth, s.n));
        if !splittable.iter().any(|&s| s) {
            spare.push(hist);
            continue;
        }
        // Build the smaller child; the larger is the parent minus it.
        let small = usize::from(right_sums.n < left_sums.n);
        let large = 1 - small;
        let (_, s_start, s_end, _) = children[small];
        let mut small_hist = spare.pop().unwrap_or_default();
        grads.build(&rows[s_start..s_end], &mut small_hist);
        let large_hist = if splittable[large] {
            for (parent, child) in hist.iter_mut().zip(&small_hist) {
                for (p, c) in parent.iter_mut().zip(child) {
                    *p = p.minus(*c);
                }
            }
            Some(hist)
        } else {
            spare.push(hist);
            None
        };
        let mut hists = [None, None];
        hists[small] = Some(small_hist);
        hists[large] = large_hist;
        for ((node, start, end, sums), hist) in children.into_iter().zip(hists) {
            let Some(hist) = hist else { continue };
            let split = if may_split(depth, sums.n) {
                grads.best_split(&hist, sums, opts)
            } else {
                None
            };
            match split {
                Some(split) => open.push(Open {
                    node,
                    start,
                    end,
                    sums,
                    split,
                    hist,
                }),
                None => spare.push(hist),
            }
        }
    }
    Grown {
        tree: nodes.tree,
        rows,
        ranges: nodes.ranges,
    }
}

/// The tree being grown, and per node its rows' range and its depth.
#[derive(Default)]
struct Nodes {
    tree: Tree,
    ranges: Vec<(usize, usize)>,
    depth: Vec<usize>,
}

impl Nodes {
    fn push(&mut self, value: f64, range: (usize, usize), depth: usize) -> usize {
        let node = self.tree.push_leaf();
        self.tree.value[node] = value;
        self.ranges.push(range);
        self.depth.push(depth);
        node
    }
}
