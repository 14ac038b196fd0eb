//! The neighbour search: exact squared Euclidean distances from blocks of
//! queries to blocks of training rows, and the `k` nearest kept as they
//! come.
//!
//! A distance is `sum_j (x_j - q_j)^2` added in feature order, the same
//! bits whatever the blocking, so the result is the plain search's. The
//! training rows are read column-major: for one feature, a block of rows
//! is a contiguous run that SIMD takes two at a time, and it is read once
//! for [`QUERIES`] queries while it sits in L1. Each query keeps its `k`
//! nearest in a sorted list that a row enters only when it is strictly
//! nearer than the list's last (rows come in order, so among equal
//! distances the earlier row stays nearer).

/// Queries whose distances are taken together.
const QUERIES: usize = 8;
/// Training rows per block: `QUERIES` accumulators of this many rows and
/// one block of a column stay in L1 (8 x 512 x 8 bytes = 32 KiB).
const BLOCK: usize = 512;

/// The `k` nearest, sorted by (squared distance, row).
struct Nearest {
    k: usize,
    found: Vec<(f64, usize)>,
}

impl Nearest {
    fn new(k: usize) -> Nearest {
        Nearest {
            k,
            found: Vec::with_capacity(k + 1),
        }
    }

    /// Offers `row` at squared distance `d2`; rows are offered in order.
    fn offer(&mut self, d2: f64, row: usize) {
        if self.found.len() == self.k {
            match self.found.last() {
                Some(&(worst, _)) if d2 < worst => {}
                _ => return,
            }
            self.found.pop();
        }
        let at = self.found.partition_point(|&(d, _)| d <= d2);
        self.found.insert(at, (d2, row));
    }
}

/// For each query of `queries` (row-major, `d` wide), the `k` rows of
/// `points` (row-major, `d` wide) nearest to it as `(row, euclidean
/// distance)`, nearest first; equal distances in row order.
pub fn nearest_many(points: &[f64], d: usize, queries: &[f64], k: usize) -> Vec<Vec<(usize, f64)>> {
    let rows = points.len().checked_div(d).unwrap_or(0);
    let n_queries = queries.len().checked_div(d).unwrap_or(0);
    let columns: Vec<Vec<f64>> = (0..d)
        .map(|j| (0..rows).map(|i| points[i * d + j]).collect())
        .collect();
    let mut out = Vec::with_capacity(n_queries);
    let mut acc = vec![0.0f64; QUERIES * BLOCK];
    for first in (0..n_queries).step_by(QUERIES) {
        let batch = QUERIES.min(n_queries - first);
        let query = |q: usize, j: usize| queries[(first + q) * d + j];
        let mut nearest: Vec<Nearest> = (0..batch).map(|_| Nearest::new(k.min(rows))).collect();
        for start in (0..rows).step_by(BLOCK) {
            let len = BLOCK.min(rows - start);
            acc.fill(0.0);
            for (j, column) in columns.iter().enumerate() {
                let block = &column[start..start + len];
                for (q, sums) in acc.chunks_exact_mut(BLOCK).take(batch).enumerate() {
                    let qj = query(q, j);
                    for (sum, &x) in sums[..len].iter_mut().zip(block) {
                        let t = x - qj;
                        *sum += t * t;
                    }
                }
            }
            for (sums, nearest) in acc.chunks_exact(BLOCK).zip(&mut nearest) {
                for (i, &d2) in sums[..len].iter().enumerate() {
                    nearest.offer(d2, start + i);
                }
            }
        }
        out.extend(nearest.into_iter().map(|n| {
            n.found
                .into_iter()
                .map(|(d2, i)| (i, d2.sqrt()))
                .collect::<Vec<_>>()
        }));
    }
    out
}
