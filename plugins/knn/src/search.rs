//! The neighbour search: exact squared Euclidean distances from blocks of
//! queries to blocks of training rows, and the `k` nearest kept as they
//! come.
//!
//! A distance is `sum_j (x_j - q_j)^2` added in feature order, the same
//! bits whatever the blocking, so the result is the plain search's. The
//! training rows are read column-major, in blocks of [`BLOCK`] rows that
//! [`QUERIES`] queries share while the block is in cache; within a block,
//! tiles of 4 queries x 4 rows keep their 16 sums in registers over all
//! the features (SIMD two rows at a time). Each query keeps its `k`
//! nearest in a sorted list that a row enters only when it is strictly
//! nearer than the list's last (rows come in order, so among equal
//! distances the earlier row stays nearer).

/// Queries whose distances are taken together.
const QUERIES: usize = 8;
/// Training rows per block: a block of every column (30 x 512 x 8 bytes)
/// stays in L2 while the `QUERIES` queries run over it.
const BLOCK: usize = 512;
/// A tile: the distances of this many queries to this many consecutive
/// rows are added up in registers, feature by feature, each row pair a
/// SIMD lane pair.
const TILE_QUERIES: usize = 4;
const TILE_ROWS: usize = 4;

/// The squared distances of `TILE_QUERIES` queries (feature `j` of query
/// `t` is `query(t, j)`) to rows `i..i + TILE_ROWS` of `block` (one slice
/// per feature), each added up in feature order.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn distances_tile(
    block: &[&[f64]],
    i: usize,
    query: impl Fn(usize, usize) -> f64,
) -> [[f64; TILE_ROWS]; TILE_QUERIES] {
    let mut sums = [[0.0f64; TILE_ROWS]; TILE_QUERIES];
    for (j, column) in block.iter().enumerate() {
        let x: &[f64; TILE_ROWS] = column[i..i + TILE_ROWS].try_into().expect("a tile of rows");
        for (t, sums) in sums.iter_mut().enumerate() {
            let q = query(t, j);
            for (sum, &x) in sums.iter_mut().zip(x) {
                let d = x - q;
                *sum += d * d;
            }
        }
    }
    sums
}

/// The same tile in Wasm SIMD, written out: LLVM does not vectorize it
/// for `wasm32` (each lane is the scalar code's operation, in the same
/// order, so the sums are the same bits).
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn distances_tile(
    block: &[&[f64]],
    i: usize,
    query: impl Fn(usize, usize) -> f64,
) -> [[f64; TILE_ROWS]; TILE_QUERIES] {
    use core::arch::wasm32::{
        f64x2, f64x2_add, f64x2_extract_lane, f64x2_mul, f64x2_splat, f64x2_sub,
    };
    let zero = f64x2_splat(0.0);
    let mut sums = [[zero; TILE_ROWS / 2]; TILE_QUERIES];
    for (j, column) in block.iter().enumerate() {
        let x: &[f64; TILE_ROWS] = column[i..i + TILE_ROWS].try_into().expect("a tile of rows");
        let pairs = [f64x2(x[0], x[1]), f64x2(x[2], x[3])];
        for (t, sums) in sums.iter_mut().enumerate() {
            let q = f64x2_splat(query(t, j));
            for (sum, &x) in sums.iter_mut().zip(&pairs) {
                let d = f64x2_sub(x, q);
                *sum = f64x2_add(*sum, f64x2_mul(d, d));
            }
        }
    }
    sums.map(|s| {
        [
            f64x2_extract_lane::<0>(s[0]),
            f64x2_extract_lane::<1>(s[0]),
            f64x2_extract_lane::<0>(s[1]),
            f64x2_extract_lane::<1>(s[1]),
        ]
    })
}

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
    for first in (0..n_queries).step_by(QUERIES) {
        let batch = QUERIES.min(n_queries - first);
        let query = |q: usize, j: usize| queries[(first + q) * d + j];
        let mut nearest: Vec<Nearest> = (0..batch).map(|_| Nearest::new(k.min(rows))).collect();
        for start in (0..rows).step_by(BLOCK) {
            let len = BLOCK.min(rows - start);
            let block: Vec<&[f64]> = columns.iter().map(|c| &c[start..start + len]).collect();
            for q0 in (0..batch).step_by(TILE_QUERIES) {
                // A short last tile repeats its last query (and drops the
                // copies' distances).
                let qs: [usize; TILE_QUERIES] = std::array::from_fn(|t| (q0 + t).min(batch - 1));
                let mut i = 0;
                while i + TILE_ROWS <= len {
                    let tile = distances_tile(&block, i, |t, j| query(qs[t], j));
                    for (t, sums) in tile.iter().enumerate().take(batch - q0) {
                        for (r, &d2) in sums.iter().enumerate() {
                            nearest[q0 + t].offer(d2, start + i + r);
                        }
                    }
                    i += TILE_ROWS;
                }
                for i in i..len {
                    for t in 0..TILE_QUERIES.min(batch - q0) {
                        let d2 = block.iter().enumerate().fold(0.0, |sum, (j, c)| {
                            let x = c[i] - query(qs[t], j);
                            sum + x * x
                        });
                        nearest[q0 + t].offer(d2, start + i);
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every distance and its tie order as a plain sort gives them, over
    /// sizes that leave partial blocks, tiles and query batches, with
    /// duplicate rows (exact ties).
    #[test]
    fn blocked_search_is_the_plain_search() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 1000) as f64 / 100.0
        };
        for (rows, d, queries, k) in [
            (1037, 7, 13, 5),
            (3, 2, 1, 5),
            (515, 1, 9, 1),
            (64, 30, 4, 64),
        ] {
            let mut points: Vec<f64> = (0..rows * d).map(|_| next()).collect();
            // Row 1 repeats row 0, row 5 repeats row 2: exact ties.
            let (row0, row2) = (points[..d].to_vec(), points[2 * d..3 * d].to_vec());
            points[d..2 * d].copy_from_slice(&row0);
            if rows > 5 {
                points[5 * d..6 * d].copy_from_slice(&row2);
            }
            let mut query: Vec<f64> = (0..queries * d).map(|_| next()).collect();
            query[..d].copy_from_slice(&row0);
            let found = nearest_many(&points, d, &query, k);
            assert_eq!(found.len(), queries);
            for (q, found) in found.iter().enumerate() {
                let mut plain: Vec<(f64, usize)> = (0..rows)
                    .map(|i| {
                        let d2 = (0..d)
                            .map(|j| points[i * d + j] - query[q * d + j])
                            .map(|t| t * t)
                            .sum::<f64>();
                        (d2, i)
                    })
                    .collect();
                plain.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let want: Vec<(usize, f64)> = plain
                    .iter()
                    .take(k)
                    .map(|&(d2, i)| (i, d2.sqrt()))
                    .collect();
                assert_eq!(found, &want, "rows {rows} d {d} query {q}");
            }
        }
    }
}
