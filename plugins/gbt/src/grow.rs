//! Growing one tree on binned features, as scikit-learn's and LightGBM's
//! histogram GBDTs do it:
//!
//! - Bin codes are one byte per row and feature, stored per feature and
//!   per row: a histogram is built a row at a time (LightGBM's row-wise
//!   mode), each row's gradient and hessian (side by side) read once and
//!   its codes from one cache line, a block of rows fetched ahead of being
//!   added (see `accumulate`).
//! - A node's histogram holds, per feature and bin, the sums of its rows'
//!   gradients and hessians and their count. The root's is built from all
//!   rows; after a split, only the child with fewer rows is built and the
//!   other is its parent's minus it, the histogram subtraction trick.
//! - A node's rows are a range of one index array, partitioned in place
//!   (stably) when it splits, so a leaf's rows are at hand to add its value
//!   to their raw scores without walking the tree.
//! - A constant hessian (squared error) is summed like any other: the
//!   sums are integers, so a bin's is exactly its count times it.
//!
//! The sums are exact (fixed point, see [`Fixed`]): a histogram
//! subtracted from its parent's is bit for bit the one built from its rows,
//! and splits that leave the same rows or values on each side tie exactly
//! whatever order their rows are added in, so the documented tie rule picks
//! between them and not float rounding.

use crate::boost::{BoostOptions, Tree};
use std::ops::Range;

/// scikit-learn's `min_hessian_to_split`.
const MIN_HESSIAN: f64 = 1e-3;

/// The most bins a feature has (`max_bins` is at most 255).
pub(crate) const BINS: usize = 256;

/// One bin of a histogram, or the sums of a node: fixed-point sums of the
/// gradients and hessians of its rows, and their count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub(crate) g: i64,
    pub(crate) h: i64,
    pub(crate) n: i64,
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
    pub(crate) scale: f64,
    pub(crate) inverse: f64,
}

impl Fixed {
    pub fn for_values(values: &[f64]) -> Fixed {
        // Not f64::max: that is a libm call in Wasm, not inlined.
        let largest = values
            .iter()
            .fold(0.0f64, |m, v| if v.abs() > m { v.abs() } else { m });
        Fixed::for_largest(largest, values.len())
    }

    /// The scale for `rows` values whose largest magnitude is `largest`.
    pub fn for_largest(largest: f64, rows: usize) -> Fixed {
        let headroom = i64::from(usize::BITS - rows.leading_zeros());
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
    pub(crate) left: Sums,
}

/// `G^2 / (H + l2)`: minus twice the node's loss at its optimal value.
fn score(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2)
}

/// A histogram: per feature, one [`Sums`] per bin.
pub(crate) type Histogram = Vec<[Sums; BINS]>;

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

    pub(crate) fn features(&self) -> usize {
        self.columns.len()
    }

    /// The codes per feature.
    pub(crate) fn columns(&self) -> &[Vec<u8>] {
        &self.columns
    }

    /// The codes of row `i`, one per feature.
    fn row(&self, i: usize) -> &[u8] {
        let f = self.features();
        &self.rows[i * f..][..f]
    }
}

/// Rows fetched ahead at a time by [`accumulate`]: their codes (30
/// features: 32 KiB of cache lines) and gradient pairs (16 KiB) stay in
/// L1.
const GATHER: usize = 1024;

/// The histogram of `rows` over features `features` into `hist` (zeroed
/// here, one entry per feature of the range), from their fixed-point
/// gradient and hessian pairs `gh` (side by side: one cache line per row).
///
/// A node's rows are spread over the whole table: at a million rows the
/// codes and pairs do not fit in cache, and a loop that reads a row and
/// adds it to 30 bins waits for each row's memory in turn. So
/// [`GATHER`] rows at a time, the rows' pairs are first copied into a
/// small buffer and their codes touched (a loop of independent loads,
/// whose misses overlap), then added from cache. (Copying the codes would
/// be a `memory.copy` per row in Wasm, a call into the host.) The same
/// additions in the same order.
pub(crate) fn accumulate(
    codes: &Codes,
    gh: &[[i64; 2]],
    rows: &[u32],
    features: Range<usize>,
    hist: &mut Histogram,
) {
    hist.clear();
    hist.resize(features.len(), [Sums::default(); BINS]);
    if features.is_empty() {
        return;
    }
    let (first, last) = (features.start, features.end - 1);
    let mut gathered = [[0i64; 2]; GATHER];
    for chunk in rows.chunks(GATHER) {
        let mut touched = 0u8;
        for (&i, pair) in chunk.iter().zip(gathered.iter_mut()) {
            let row = codes.row(i as usize);
            touched ^= row[first] ^ row[last];
            *pair = gh[i as usize];
        }
        std::hint::black_box(touched);
        for (&i, &[gi, hi]) in chunk.iter().zip(&gathered) {
            let row = &codes.row(i as usize)[features.clone()];
            for (bins, &code) in hist.iter_mut().zip(row) {
                let bin = &mut bins[usize::from(code)];
                bin.g += gi;
                bin.h += hi;
                bin.n += 1;
            }
        }
    }
}

/// What turns a node's sums into gains and values: the fixed-point scales
/// of one tree's gradients and hessians, and each feature's bin count.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scales {
    pub(crate) fixed_g: Fixed,
    pub(crate) fixed_h: Fixed,
    pub(crate) n_bins: Vec<usize>,
}

impl Scales {
    /// The best split of a node with sums `total` and histogram `hist` of
    /// the features from `first` on: the highest gain `> 0` that leaves
    /// `min_samples_leaf` rows and a hessian of [`MIN_HESSIAN`] on each
    /// side; ties go to the first feature, then the lowest bin.
    pub(crate) fn best_split(
        &self,
        hist: &Histogram,
        first: usize,
        total: Sums,
        opts: &BoostOptions,
    ) -> Option<Split> {
        let l2 = opts.l2_regularization;
        let (fg, fh) = (self.fixed_g, self.fixed_h);
        let parent = score(fg.value(total.g), fh.value(total.h), l2);
        let min_rows = opts.min_samples_leaf as i64;
        let mut best: Option<Split> = None;
        for (j, bins) in hist.iter().enumerate() {
            let feature = first + j;
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
    pub(crate) fn leaf_value(&self, sums: Sums, opts: &BoostOptions) -> f64 {
        let (g, h) = (self.fixed_g.value(sums.g), self.fixed_h.value(sums.h));
        -opts.learning_rate * g / (h + opts.l2_regularization)
    }
}

/// Whether a node at `depth` with `n` rows may split.
pub(crate) fn may_split(opts: &BoostOptions, depth: usize, n: i64) -> bool {
    opts.max_depth.is_none_or(|d| depth < d) && n >= 2 * opts.min_samples_leaf as i64
}

/// What finds a tree's splits: here ([`LocalSplitter`]) or by the step's
/// workers (`crate::spread`). Node ids come in creation order: the root is
/// 0, a split's children the next two.
pub(crate) trait Splitter {
    /// The sums of all rows (the root), and its best split when it `may`
    /// split (else `None`).
    fn root(&mut self, may: impl Fn(i64) -> bool) -> (Sums, Option<Split>);
    /// The tree's scales (known once `root` has run).
    fn scales(&self) -> &Scales;
    /// Node `node` (whose rows' sums are `sums`) splits on `split` into
    /// `left` and `right`: the best split of each child that `may` split
    /// (`[left, right]`).
    #[allow(clippy::too_many_arguments)]
    fn split(
        &mut self,
        node: usize,
        sums: Sums,
        split: &Split,
        left: usize,
        right: usize,
        may: [bool; 2],
    ) -> [Option<Split>; 2];
}

/// One tree's rows, their fixed-point gradients and the histograms of the
/// open nodes over features `features`: the whole split search of a tree,
/// or (in a worker) the part of it over one block of features.
pub(crate) struct LocalSplitter<C> {
    codes: C,
    scales: Scales,
    opts: BoostOptions,
    features: Range<usize>,
    /// Each row's fixed-point gradient and hessian.
    gh: Vec<[i64; 2]>,
    /// Row indices, the rows of each node a range of them (partitioned
    /// stably as nodes split).
    rows: Vec<u32>,
    scratch: Vec<u32>,
    /// Per node, its rows' range in `rows`.
    ranges: Vec<(usize, usize)>,
    /// Per node, its histogram while it may still split.
    hists: Vec<Option<Histogram>>,
    spare: Vec<Histogram>,
}

impl<C: std::ops::Deref<Target = Codes>> LocalSplitter<C> {
    /// The split search over `features` of a tree fitted to `grad` /
    /// `hess` (all rows), scaled by `scales`.
    pub(crate) fn new(
        codes: C,
        scales: Scales,
        opts: &BoostOptions,
        features: Range<usize>,
        grad: &[f64],
        hess: &[f64],
    ) -> LocalSplitter<C> {
        let (fg, fh) = (scales.fixed_g, scales.fixed_h);
        let n = grad.len();
        LocalSplitter {
            codes,
            scales,
            opts: opts.clone(),
            features,
            gh: grad
                .iter()
                .zip(hess)
                .map(|(&g, &h)| [fg.to_fixed(g), fh.to_fixed(h)])
                .collect(),
            rows: (0..n as u32).collect(),
            scratch: Vec::with_capacity(n),
            ranges: Vec::new(),
            hists: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The sums over `rows`.
    fn sums(&self, rows: &[u32]) -> Sums {
        let g = rows.iter().map(|&i| self.gh[i as usize][0]).sum();
        let h = rows.iter().map(|&i| self.gh[i as usize][1]).sum();
        Sums {
            g,
            h,
            n: rows.len() as i64,
        }
    }

    fn build(&mut self, node: usize) -> Histogram {
        let (start, end) = self.ranges[node];
        let mut hist = self.spare.pop().unwrap_or_default();
        let rows = &self.rows[start..end];
        accumulate(
            &self.codes,
            &self.gh,
            rows,
            self.features.clone(),
            &mut hist,
        );
        hist
    }

    /// The best split of `node` over this splitter's features. The
    /// histogram is kept for the node's split: with a block of the
    /// features, another block may have the node's best split.
    fn search(&mut self, node: usize, sums: Sums, hist: Histogram) -> Option<Split> {
        let found = self
            .scales
            .best_split(&hist, self.features.start, sums, &self.opts);
        if self.hists.len() <= node {
            self.hists.resize_with(node + 1, || None);
        }
        self.hists[node] = Some(hist);
        found
    }

    /// Each leaf's value added to the raw scores of the rows that reached
    /// it (as `tree.predict` on those rows would: a row goes left exactly
    /// when its bin is at most the split's bin).
    pub(crate) fn add_leaves(&self, tree: &Tree, raw: &mut [f64]) {
        for (node, &(start, end)) in self.ranges.iter().enumerate() {
            if tree.feature[node].is_none() {
                let value = tree.value[node];
                for &i in &self.rows[start..end] {
                    raw[i as usize] += value;
                }
            }
        }
    }
}

impl<C: std::ops::Deref<Target = Codes>> Splitter for LocalSplitter<C> {
    fn scales(&self) -> &Scales {
        &self.scales
    }

    fn root(&mut self, may: impl Fn(i64) -> bool) -> (Sums, Option<Split>) {
        self.ranges = vec![(0, self.rows.len())];
        let sums = self.sums(&self.rows);
        if !may(sums.n) {
            return (sums, None);
        }
        let hist = self.build(0);
        (sums, self.search(0, sums, hist))
    }

    fn split(
        &mut self,
        node: usize,
        sums: Sums,
        split: &Split,
        left: usize,
        right: usize,
        may: [bool; 2],
    ) -> [Option<Split>; 2] {
        let (start, end) = self.ranges[node];
        // Stable partition of the node's rows: left first, in order.
        // Branch-free: each row is written to both places and only one
        // advances (a row's side is a coin toss to the branch predictor).
        // `kept <= k`, so a row is read before its slot is overwritten.
        let column = &self.codes.columns[split.feature];
        let bin = split.bin as u8;
        let (rows, scratch) = (&mut self.rows, &mut self.scratch);
        scratch.clear();
        scratch.resize(end - start, 0);
        let (mut kept, mut moved) = (start, 0);
        for k in start..end {
            let i = rows[k];
            let goes_left = column[i as usize] <= bin;
            rows[kept] = i;
            scratch[moved] = i;
            kept += usize::from(goes_left);
            moved += usize::from(!goes_left);
        }
        rows[kept..end].copy_from_slice(&scratch[..moved]);
        debug_assert_eq!(kept - start, split.left.n as usize);
        debug_assert_eq!((left, right), (self.ranges.len(), self.ranges.len() + 1));
        self.ranges.push((start, kept));
        self.ranges.push((kept, end));
        let mut parent = self.hists.get_mut(node).and_then(Option::take);
        let sums = [split.left, sums.minus(split.left)];
        let mut found = [None, None];
        if !may.iter().any(|&m| m) {
            self.spare.extend(parent);
            return found;
        }
        // Build the smaller child; the larger is the parent minus it.
        let small = usize::from(sums[1].n < sums[0].n);
        let large = 1 - small;
        let children = [left, right];
        let small_hist = self.build(children[small]);
        if may[large]
            && let Some(mut hist) = parent.take()
        {
            for (p, c) in hist.iter_mut().zip(&small_hist) {
                for (p, c) in p.iter_mut().zip(c) {
                    *p = p.minus(*c);
                }
            }
            found[large] = self.search(children[large], sums[large], hist);
        }
        self.spare.extend(parent);
        if may[small] {
            found[small] = self.search(children[small], sums[small], small_hist);
        } else {
            self.spare.push(small_hist);
        }
        found
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
    let (grad, hess) = (pick(grad), pick(hess));
    let scales = scales_for(&grad, &hess, n_bins.to_vec());
    let features = 0..codes.features();
    let mut local = LocalSplitter::new(&codes, scales, opts, features, &grad, &hess);
    local.root(|_| true).1
}

/// The scales of a tree fitted to `grad` / `hess` over features with
/// `n_bins` bins.
pub(crate) fn scales_for(grad: &[f64], hess: &[f64], n_bins: Vec<usize>) -> Scales {
    Scales {
        fixed_g: Fixed::for_values(grad),
        fixed_h: Fixed::for_values(hess),
        n_bins,
    }
}

/// Fits one tree to `grad` / `hess` on binned features `codes` whose bin
/// thresholds are `thresholds`, and adds its leaves' values to `raw`.
pub fn grow(
    codes: &Codes,
    thresholds: &[Vec<f64>],
    grad: &[f64],
    hess: &[f64],
    opts: &BoostOptions,
    raw: &mut [f64],
) -> Tree {
    let scales = scales_for(grad, hess, thresholds.iter().map(|t| t.len() + 1).collect());
    let features = 0..codes.features();
    let mut local = LocalSplitter::new(codes, scales, opts, features, grad, hess);
    let tree = grow_with(&mut local, thresholds, opts);
    local.add_leaves(&tree, raw);
    tree
}

/// A node that may still split: its sums and its best split.
struct Open {
    node: usize,
    sums: Sums,
    split: Split,
}

/// Grows one tree with `splitter` (here or spread over workers).
///
/// Best-first: the open leaf with the highest gain splits next (the
/// earliest created on ties), until `max_leaf_nodes` leaves. A node with
/// fewer than `2 * min_samples_leaf` rows, or at `max_depth`, stays a leaf.
pub(crate) fn grow_with(
    splitter: &mut impl Splitter,
    thresholds: &[Vec<f64>],
    opts: &BoostOptions,
) -> Tree {
    let mut nodes = Nodes::default();
    let mut open: Vec<Open> = Vec::new();
    let (root_sums, root_split) = splitter.root(|n| may_split(opts, 0, n));
    let scales = splitter.scales().clone();
    let root = nodes.push(scales.leaf_value(root_sums, opts), 0);
    if let Some(split) = root_split {
        open.push(Open {
            node: root,
            sums: root_sums,
            split,
        });
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
        let Open { node, sums, split } = open.swap_remove(pick);
        let children_sums = [split.left, sums.minus(split.left)];
        let depth = nodes.depth[node] + 1;
        let left = nodes.push(scales.leaf_value(children_sums[0], opts), depth);
        let right = nodes.push(scales.leaf_value(children_sums[1], opts), depth);
        let tree = &mut nodes.tree;
        tree.feature[node] = Some(split.feature);
        tree.threshold[node] = thresholds[split.feature][split.bin];
        tree.left[node] = left;
        tree.right[node] = right;
        leaves += 1;
        let may = children_sums.map(|s| may_split(opts, depth, s.n));
        let found = splitter.split(node, sums, &split, left, right, may);
        for ((child, sums), split) in [left, right].into_iter().zip(children_sums).zip(found) {
            if let Some(split) = split {
                open.push(Open {
                    node: child,
                    sums,
                    split,
                });
            }
        }
    }
    nodes.tree
}

/// The tree being grown, and each node's depth.
#[derive(Default)]
struct Nodes {
    tree: Tree,
    depth: Vec<usize>,
}

impl Nodes {
    fn push(&mut self, value: f64, depth: usize) -> usize {
        let node = self.tree.push_leaf();
        self.tree.value[node] = value;
        self.depth.push(depth);
        node
    }
}
