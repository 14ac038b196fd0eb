//! The drift tests, each matching the scipy / numpy computation Evidently
//! uses (see the crate docs for the exact correspondence).

use crate::special::{chi2_sf, kolmogorov_sf, norm_sf};
use std::borrow::Cow;

/// Below this many values a comparison sort beats [`sort`]'s radix passes.
const RADIX_FROM: usize = 2048;

/// `x`'s bits as a key whose unsigned order is `f64::total_cmp`'s.
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sort `v` ascending in `f64::total_cmp`'s order (numeric order for the
/// samples, which hold no NaN and no -0.0): a least-significant-digit radix
/// sort of the keys' 11-bit digits (passes where every key has the same
/// digit skipped), which on a million values is several times faster than
/// a comparison sort, inside the sandbox too.
pub fn sort(v: &mut [f64]) {
    if v.len() < RADIX_FROM {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    const PASSES: usize = 64_usize.div_ceil(BITS as usize);
    let digit = |k: u64, pass: usize| ((k >> (pass as u32 * BITS)) as usize) & (BUCKETS - 1);
    let mut keys: Vec<u64> = Vec::with_capacity(v.len());
    // Every pass's histogram in one read of the keys.
    let mut at = vec![[0usize; BUCKETS]; PASSES];
    for &x in v.iter() {
        let k = key(x);
        keys.push(k);
        for (pass, h) in at.iter_mut().enumerate() {
            h[digit(k, pass)] += 1;
        }
    }
    let mut spare = vec![0u64; keys.len()];
    for (pass, h) in at.iter_mut().enumerate() {
        if h.contains(&keys.len()) {
            continue;
        }
        let mut sum = 0;
        for c in h.iter_mut() {
            (*c, sum) = (sum, sum + *c);
        }
        for &k in &keys {
            let d = digit(k, pass);
            spare[h[d]] = k;
            h[d] += 1;
        }
        std::mem::swap(&mut keys, &mut spare);
    }
    for (x, k) in v.iter_mut().zip(keys) {
        *x = unkey(k);
    }
}

/// `values` in ascending order: the slice itself when it already is (the
/// samples are sorted once, when read), else a sorted copy.
pub fn ascending(values: &[f64]) -> Cow<'_, [f64]> {
    if values.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        Cow::Borrowed(values)
    } else {
        let mut v = values.to_vec();
        sort(&mut v);
        Cow::Owned(v)
    }
}

/// A test's outcome: the statistic and, for hypothesis tests, the p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub statistic: f64,
    pub p_value: Option<f64>,
}

/// Samples larger than this (either one) make `ks_2samp` use the asymptotic
/// distribution instead of the exact one (scipy's `MAX_AUTO_N`).
pub const KS_MAX_EXACT_N: usize = 10_000;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Two-sample two-sided Kolmogorov-Smirnov test, as
/// `scipy.stats.ks_2samp(reference, current)` with `method='auto'`: the
/// exact p-value when both samples have at most 10 000 values, else the
/// asymptotic one. Both samples must be non-empty and free of NaN.
///
/// The exact p-value is scipy's: for equal sizes the Horner-like sum of
/// `_compute_prob_outside_square`, otherwise the "inside method" recursion
/// of `_compute_outer_prob_inside_method` that computes 1 - P directly
/// (Hodges 1958; Viehmann 2021). The asymptotic p-value is the limiting
/// Kolmogorov distribution at sqrt(n·m/(n+m))·D; scipy instead evaluates
/// the finite-n distribution `kstwo.sf(D, round(n·m/(n+m)))`, so in that
/// regime the two differ slightly (by O(1/sqrt(en))).
pub fn ks_2samp(reference: &[f64], current: &[f64]) -> Outcome {
    let (n1, n2) = (reference.len(), current.len());
    assert!(n1 > 0 && n2 > 0, "ks_2samp needs non-empty samples");
    let (a, b) = (ascending(reference), ascending(current));
    // Walk both sorted samples; at every distinct value compare the ECDFs
    // in integer units of 1/lcm(n1, n2).
    let g = gcd(n1 as u64, n2 as u64);
    let lcm = (n1 as u64 / g) * n2 as u64;
    let (s1, s2) = (lcm / n1 as u64, lcm / n2 as u64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut h: u64 = 0;
    while i < n1 || j < n2 {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => unreachable!(),
        };
        while i < n1 && a[i] <= x {
            i += 1;
        }
        while j < n2 && b[j] <= x {
            j += 1;
        }
        let (c1, c2) = (i as u64 * s1, j as u64 * s2);
        h = h.max(c1.abs_diff(c2));
    }
    let d = h as f64 / lcm as f64;
    let exact = if n1.max(n2) <= KS_MAX_EXACT_N {
        ks_exact_sf(n1 as u64, n2 as u64, g, h)
    } else {
        None
    };
    let p = exact.unwrap_or_else(|| {
        let (m, n) = (n1 as f64, n2 as f64);
        let en = m * n / (m + n);
        kolmogorov_sf(en.sqrt() * d)
    });
    Outcome {
        statistic: d,
        p_value: Some(p.clamp(0.0, 1.0)),
    }
}

/// P(D >= h / lcm) for samples of sizes n1, n2 under the null, or `None`
/// when the computation is not finite (scipy then falls back to asymp).
fn ks_exact_sf(n1: u64, n2: u64, g: u64, h: u64) -> Option<f64> {
    if h == 0 {
        return Some(1.0);
    }
    let p = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside_method(n1, n2, g, h)
    };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some(p)
}

/// scipy's `_compute_prob_outside_square(n, h)`.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (nf, hf) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// scipy's `_compute_outer_prob_inside_method(m, n, g, h)`: 1 minus the
/// share of lattice paths from (0,0) to (m,n) staying strictly inside
/// |x/m - y/n| < h/lcm, computed directly as the complement.
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let (m, n, mg, ng, h) = (m as i64, n as i64, mg as i64, ng as i64, h as i64);
    let ceil_div = |a: i64, b: i64| -> i64 { a.div_euclid(b) + i64::from(a.rem_euclid(b) != 0) };
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let fj = j as f64;
            val = (a[(jj + minj - lastminj) as usize] * fi + val * fj) / (fi + fj);
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = ((maxj - minj) as usize).min(a.len());
            let to = (from + (lastlen - curlen) as usize).min(a.len());
            for v in &mut a[from..to] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

/// Population standard deviation (numpy's `np.std`, ddof 0), two-pass.
pub fn std_dev(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// `scipy.stats.wasserstein_distance(u, v)`: the area between the two
/// empirical CDFs.
pub fn wasserstein(u: &[f64], v: &[f64]) -> f64 {
    let (us, vs) = (ascending(u), ascending(v));
    let (nu, nv) = (us.len() as f64, vs.len() as f64);
    // Walk the two sorted samples as one (their merge, never built): at
    // each value x, the ECDFs' gap times the step to the next value.
    let (mut i, mut j) = (0usize, 0usize);
    let (mut a, mut b) = (0usize, 0usize);
    let next = |a: &mut usize, b: &mut usize| -> Option<f64> {
        match (us.get(*a), vs.get(*b)) {
            (Some(x), Some(y)) if x.total_cmp(y).is_le() => {
                *a += 1;
                Some(*x)
            }
            (_, Some(y)) => {
                *b += 1;
                Some(*y)
            }
            (Some(x), None) => {
                *a += 1;
                Some(*x)
            }
            (None, None) => None,
        }
    };
    let mut total = 0.0;
    let Some(mut x) = next(&mut a, &mut b) else {
        return 0.0;
    };
    while let Some(after) = next(&mut a, &mut b) {
        while i < us.len() && us[i] <= x {
            i += 1;
        }
        while j < vs.len() && vs[j] <= x {
            j += 1;
        }
        total += (i as f64 / nu - j as f64 / nv).abs() * (after - x);
        x = after;
    }
    total
}

/// Evidently's normed Wasserstein distance: W1(reference, current) divided
/// by the reference's standard deviation (ddof 0), floored at 0.001 so a
/// constant reference gives a finite value.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Outcome {
    let norm = std_dev(reference).max(0.001);
    Outcome {
        statistic: wasserstein(reference, current) / norm,
        p_value: None,
    }
}

/// Counts of each category (or bin) in the reference and current samples,
/// in one key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Counts {
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
}

impl Counts {
    pub fn totals(&self) -> (f64, f64) {
        (self.reference.iter().sum(), self.current.iter().sum())
    }
}

/// Evidently's chi-squared test: `scipy.stats.chisquare(f_obs, f_exp)` with
/// the current counts observed and the reference counts scaled to the
/// current total expected; k - 1 degrees of freedom.
///
/// A category present in the current sample but absent from the reference
/// has an expected count of 0: the statistic is +inf and the p-value 0
/// (scipy gives the same, with a warning). A single category (both samples
/// constant at the same value) has no degrees of freedom: statistic 0 and
/// p-value 1 (scipy would give NaN).
pub fn chisquare(counts: &Counts) -> Outcome {
    let (nr, nc) = counts.totals();
    let k_norm = nc / nr;
    let mut stat = 0.0;
    for (&r, &c) in counts.reference.iter().zip(&counts.current) {
        let e = r * k_norm;
        if e == 0.0 {
            if c > 0.0 {
                stat = f64::INFINITY;
            }
            continue;
        }
        stat += (c - e) * (c - e) / e;
    }
    let dof = counts.reference.len().saturating_sub(1);
    let p = if dof == 0 {
        stat = 0.0;
        1.0
    } else if stat.is_infinite() {
        0.0
    } else {
        chi2_sf(stat, dof as f64)
    };
    Outcome {
        statistic: stat,
        p_value: Some(p),
    }
}

/// Evidently's two-proportion Z-test for a binary column: the share of the
/// last category (in key order) in each sample, pooled standard error, and
/// the two-sided p-value 2·(1 - Φ(|z|)) (computed as 2·Φc(|z|) for
/// accuracy). `counts` must have one or two categories; with one (both
/// samples constant at the same value) z is 0 and the p-value 1.
pub fn z_test(counts: &Counts) -> Outcome {
    if counts.reference.len() < 2 {
        return Outcome {
            statistic: 0.0,
            p_value: Some(1.0),
        };
    }
    let (n1, n2) = counts.totals();
    let last = counts.reference.len() - 1;
    let p1 = counts.reference[last] / n1;
    let p2 = counts.current[last] / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    Outcome {
        statistic: z,
        p_value: Some(2.0 * norm_sf(z.abs())),
    }
}

/// Evidently's `get_binned_data(..., feel_zeroes=True)` step: shares of the
/// total, with empty bins set to 0.0001 (or to a millionth of the smallest
/// non-empty share when that is at most 0.0001) so logarithms stay finite.
pub fn filled_shares(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    let mut shares: Vec<f64> = counts.iter().map(|c| c / total).collect();
    let min_nonzero = shares
        .iter()
        .copied()
        .filter(|&s| s != 0.0)
        .fold(f64::INFINITY, f64::min);
    if min_nonzero.is_finite() {
        let fill = if min_nonzero <= 0.0001 {
            min_nonzero / 1e6
        } else {
            0.0001
        };
        shares
            .iter_mut()
            .filter(|s| **s == 0.0)
            .for_each(|s| *s = fill);
    }
    shares
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Plain shares of the total, as `get_binned_data(..., feel_zeroes=False)`.
fn shares(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts.iter().map(|c| c / total).collect()
}

/// `scipy.spatial.distance.jensenshannon(p, q)` (natural logarithm) of the
/// two samples' shares. Empty categories or bins keep a share of 0:
/// Evidently's jensenshannon asks `get_binned_data` for unfilled shares
/// (`feel_zeroes=False`), unlike psi.
pub fn jensenshannon(counts: &Counts) -> Outcome {
    let p = shares(&counts.reference);
    let q = shares(&counts.current);
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    let (mut left, mut right) = (0.0, 0.0);
    for (&pi, &qi) in p.iter().zip(&q) {
        let (pi, qi) = (pi / sp, qi / sq);
        let m = (pi + qi) / 2.0;
        left += rel_entr(pi, m);
        right += rel_entr(qi, m);
    }
    Outcome {
        statistic: ((left + right) / 2.0).max(0.0).sqrt(),
        p_value: None,
    }
}

/// Evidently's population stability index of the zero-filled shares:
/// Σ (r - c)·ln(r / c).
pub fn psi(counts: &Counts) -> Outcome {
    let r = filled_shares(&counts.reference);
    let c = filled_shares(&counts.current);
    Outcome {
        statistic: r
            .iter()
            .zip(&c)
            .map(|(&r, &c)| (r - c) * (r / c).ln())
            .sum(),
        p_value: None,
    }
}

/// `np.quantile(sorted, q)` with numpy's default 'linear' method, evaluated
/// the way numpy does (so edges that land on data values land exactly).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (n as f64 * q + (1.0 - q)) - 1.0;
    if virtual_index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if virtual_index < 0.0 {
        return sorted[0];
    }
    let prev = virtual_index.floor();
    let gamma = virtual_index - prev;
    let (a, b) = (sorted[prev as usize], sorted[prev as usize + 1]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Counts in `bins` quantile bins of the reference: interior edges at the
/// reference's i/bins quantiles (numpy 'linear'), duplicate edges merged,
/// the outer bins open-ended; a value equal to an edge falls in the bin to
/// its right. The reference must be non-empty.
pub fn quantile_bin_counts(reference: &[f64], current: &[f64], bins: usize) -> Counts {
    let sorted = ascending(reference);
    let mut edges: Vec<f64> = (1..bins)
        .map(|i| quantile_sorted(&sorted, i as f64 / bins as f64))
        .collect();
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    let count = |xs: &[f64]| {
        let mut c = vec![0.0; edges.len() + 1];
        for &x in xs {
            c[edges.partition_point(|&e| e <= x)] += 1.0;
        }
        c
    };
    Counts {
        reference: count(reference),
        current: count(current),
    }
}

/// Evidently's numeric binning for psi and jensenshannon (`get_binned_data`
/// on a numerical column): `np.histogram_bin_edges` of both samples
/// together with `bins="sturges"`, then `np.histogram` of each sample on
/// those edges.
///
/// Sturges: width = ptp / (log2(n) + 1) over the n combined values, then
/// ceil((max - min) / width) equal bins between the combined minimum and
/// maximum, edges `i * step + min` as `np.linspace` computes them (the last
/// edge exactly the maximum). Each bin holds `[e_i, e_i+1)`, the last one
/// also its right edge. Both samples must be non-empty.
///
/// numpy floors the width at 1 when the data has an integer dtype; the
/// plugin sees every number as f64, so an i64 column differs only when
/// ptp < log2(n) + 1, i.e. (with more than 20 distinct values) beyond
/// about 500 000 rows.
pub fn histogram_bin_counts(reference: &[f64], current: &[f64]) -> Counts {
    let all = || reference.iter().chain(current);
    let lo = all().copied().fold(f64::INFINITY, f64::min);
    let hi = all().copied().fold(f64::NEG_INFINITY, f64::max);
    let n = (reference.len() + current.len()) as f64;
    let width = (hi - lo) / (n.log2() + 1.0);
    let (first, last) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let bins = if width != 0.0 {
        ((last - first) / width).ceil() as usize
    } else {
        1
    };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..bins).map(|i| i as f64 * step + first).collect();
    edges.push(last);
    let count = |xs: &[f64]| {
        let mut c = vec![0.0; bins];
        for &x in xs {
            // Edges at or below x; 0 or bins + 1 of them are outside the
            // range, except x on the last edge, which the last bin holds.
            let at_or_below = edges.partition_point(|&e| e <= x);
            let bin = match at_or_below {
                0 => None,
                i if i <= bins => Some(i - 1),
                _ => (x == last).then_some(bins - 1),
            };
            if let Some(b) = bin {
                c[b] += 1.0;
            }
        }
        c
    };
    Counts {
        reference: count(reference),
        current: count(current),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_radix_sort_orders_as_a_comparison_sort_does() {
        // Seeded: negatives, duplicates, zeros, tiny and huge magnitudes,
        // above and below the size where the radix passes start.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in [0, 1, 5, RADIX_FROM - 1, RADIX_FROM, 50_000] {
            let mut v: Vec<f64> = (0..n)
                .map(|i| match next() % 5 {
                    0 => (next() % 7) as f64 - 3.0,
                    1 => f64::from_bits(next() >> 2) * if i % 2 == 0 { 1.0 } else { -1.0 },
                    2 => 0.0,
                    3 => (next() as f64) * 1e-300,
                    _ => (next() % 1_000_000) as f64 / 7.0 - 70_000.0,
                })
                .filter(|x: &f64| x.is_finite())
                .collect();
            let mut expected = v.clone();
            expected.sort_by(f64::total_cmp);
            sort(&mut v);
            assert_eq!(
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                expected.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{n} values"
            );
            assert!(matches!(ascending(&v), Cow::Borrowed(_)));
        }
    }
    use super::*;

    #[test]
    fn ks_identical_and_disjoint() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let o = ks_2samp(&x, &x);
        assert_eq!(o.statistic, 0.0);
        assert_eq!(o.p_value, Some(1.0));
        let o = ks_2samp(&[1.0, 2.0], &[5.0, 6.0, 7.0]);
        assert_eq!(o.statistic, 1.0);
        // 2 / C(5, 2) = 0.2
        assert!((o.p_value.unwrap() - 0.2).abs() < 1e-15);
    }

    #[test]
    fn ks_large_samples_use_the_asymptotic_distribution() {
        let a: Vec<f64> = (0..12_000).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..12_000).map(|i| i as f64 + 120.0).collect();
        let o = ks_2samp(&a, &b);
        assert!((o.statistic - 0.01).abs() < 1e-12);
        let expected = kolmogorov_sf((6000f64).sqrt() * 0.01);
        assert_eq!(o.p_value, Some(expected));
    }

    #[test]
    fn categorical_edge_cases_are_finite() {
        let one = Counts {
            reference: vec![5.0],
            current: vec![3.0],
        };
        assert_eq!(chisquare(&one).p_value, Some(1.0));
        assert_eq!(chisquare(&one).statistic, 0.0);
        assert_eq!(z_test(&one).p_value, Some(1.0));
        assert_eq!(jensenshannon(&one).statistic, 0.0);
        assert_eq!(psi(&one).statistic, 0.0);
        let new_category = Counts {
            reference: vec![5.0, 5.0, 0.0],
            current: vec![3.0, 3.0, 4.0],
        };
        let o = chisquare(&new_category);
        assert_eq!(o.statistic, f64::INFINITY);
        assert_eq!(o.p_value, Some(0.0));
        assert!(jensenshannon(&new_category).statistic.is_finite());
        assert!(psi(&new_category).statistic.is_finite());
    }

    #[test]
    fn constant_reference_wasserstein_uses_the_floor() {
        let o = wasserstein_normed(&[2.0, 2.0, 2.0], &[2.0, 3.0]);
        assert!((o.statistic - 0.5 / 0.001).abs() < 1e-9);
        assert_eq!(wasserstein_normed(&[2.0, 2.0], &[2.0]).statistic, 0.0);
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&s, 0.5), 3.0);
        assert_eq!(quantile_sorted(&s, 0.1), 1.4);
        assert_eq!(quantile_sorted(&s, 1.0), 5.0);
        assert_eq!(quantile_sorted(&s, 0.0), 1.0);
        let c = quantile_bin_counts(&s, &[0.0, 3.0, 9.0], 2);
        assert_eq!(c.reference, vec![2.0, 3.0]);
        assert_eq!(c.current, vec![1.0, 2.0]);
    }

    #[test]
    fn histogram_bins_follow_numpy_sturges() {
        // 8 values: log2(8) + 1 = 4 bins of width 2 over [0, 8]; 8 is in
        // the last bin, 2 starts the second.
        let c = histogram_bin_counts(&[0.0, 1.0, 2.0, 3.0], &[4.0, 6.0, 7.0, 8.0]);
        assert_eq!(c.reference, vec![2.0, 2.0, 0.0, 0.0]);
        assert_eq!(c.current, vec![0.0, 0.0, 1.0, 3.0]);
        // A constant sample has one bin around the value.
        let c = histogram_bin_counts(&[5.0, 5.0], &[5.0]);
        assert_eq!(c.reference, vec![2.0]);
        assert_eq!(c.current, vec![1.0]);
    }
}
