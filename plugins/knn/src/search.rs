//! The neighbour search: exact squared Euclidean distances from blocks of
//! queries to blocks of training rows, and the `k` nearest kept as they
//! come.
//!
//! A distance is `sum_j (x_j - q_j)^2` added in feature order with fused
//! multiply-adds, the same bits whatever the blocking, so the result is
//! the plain search's. The training rows are packed once in groups of
//! [`TILE_ROWS`] rows, each group's features one after the other (so a
//! tile reads its rows as one run of memory), and read in blocks of
//! [`BLOCK`] rows that [`QUERIES`] queries share while the block is in
//! cache; a tile of 4 queries x 4 rows keeps its 16 sums in registers over
//! all the features (SIMD two rows at a time). A short last group repeats
//! its last row, and a short last tile its last query; the copies'
//! distances are dropped. Each query keeps its `k` nearest in a sorted list
//! that a row enters only when it is strictly nearer than the list's last
//! (rows come in order, so among equal distances the earlier row stays
//! nearer).

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

/// `rows` rows of `d` features (row-major in `values`) in groups of
/// `WIDTH`: group `g` holds feature `j` of its row `r` at
/// `(g * d + j) * WIDTH + r`; a short last group repeats the last row.
fn pack<const WIDTH: usize>(values: &[f64], d: usize, rows: usize) -> Vec<f64> {
    let groups = rows.div_ceil(WIDTH);
    let mut packed = Vec::with_capacity(groups * d * WIDTH);
    for g in 0..groups {
        for j in 0..d {
            for r in 0..WIDTH {
                let row = (g * WIDTH + r).min(rows - 1);
                packed.push(values[row * d + j]);
            }
        }
    }
    packed
}

/// The squared distances of a tile's `TILE_QUERIES` queries (`queries`,
/// packed by [`pack`]) to its `TILE_ROWS` rows (`rows`, packed), each
/// added up in feature order.
#[cfg(not(target_arch = "wasm32"))]
fn distances_tile(rows: &[f64], queries: &[f64]) -> [[f64; TILE_ROWS]; TILE_QUERIES] {
    let mut sums = [[0.0f64; TILE_ROWS]; TILE_QUERIES];
    for (x, q) in rows
        .chunks_exact(TILE_ROWS)
        .zip(queries.chunks_exact(TILE_QUERIES))
    {
        for (sums, &q) in sums.iter_mut().zip(q) {
            for (sum, &x) in sums.iter_mut().zip(x) {
                let d = x - q;
                *sum = d.mul_add(d, *sum);
            }
        }
    }
    sums
}

/// The same tile in Wasm SIMD, written out: LLVM does not vectorize it
/// for `wasm32` (each lane is the scalar code's operation, in the same
/// order, so the sums are the same bits). The multiply-adds are relaxed
/// SIMD's, which the host compiles fused on every machine (its engine
/// makes relaxed SIMD deterministic), as `f64::mul_add` is.
#[cfg(target_arch = "wasm32")]
#[target_feature(enable = "relaxed-simd")]
fn distances_tile(rows: &[f64], queries: &[f64]) -> [[f64; TILE_ROWS]; TILE_QUERIES] {
    use core::arch::wasm32::{
        f64x2, f64x2_extract_lane, f64x2_relaxed_madd, f64x2_splat, f64x2_sub,
    };
    let zero = f64x2_splat(0.0);
    let mut sums = [[zero; TILE_ROWS / 2]; TILE_QUERIES];
    for (x, q) in rows
        .chunks_exact(TILE_ROWS)
        .zip(queries.chunks_exact(TILE_QUERIES))
    {
        let pairs = [f64x2(x[0], x[1]), f64x2(x[2], x[3])];
        for (sums, &q) in sums.iter_mut().zip(q) {
            let q = f64x2_splat(q);
            for (sum, &x) in sums.iter_mut().zip(&pairs) {
                let d = f64x2_sub(x, q);
                *sum = f64x2_relaxed_madd(d, d, *sum);
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
    /// The last's distance once `k` are found (a row must be nearer to
    /// enter), infinity before.
    worst: f64,
}

impl Nearest {
    fn new(k: usize) -> Nearest {
        Nearest {
            k,
            found: Vec::with_capacity(k + 1),
            worst: f64::INFINITY,
        }
    }

    /// Offers `row` at squared distance `d2`; rows are offered in order.
    /// Most are farther than the last found: one comparison turns them
    /// away.
    #[inline(always)]
    fn offer(&mut self, d2: f64, row: usize) {
        if d2 < self.worst || self.found.len() < self.k {
            self.enter(d2, row);
        }
    }

    #[inline(never)]
    fn enter(&mut self, d2: f64, row: usize) {
        if self.k == 0 {
            return;
        }
        if self.found.len() == self.k {
            self.found.pop();
        }
        let at = self.found.partition_point(|&(d, _)| d <= d2);
        self.found.insert(at, (d2, row));
        if self.found.len() == self.k {
            self.worst = self.found[self.k - 1].0;
        }
    }
}

/// For each query of `queries` (row-major, `d` wide), the `k` rows of
/// `points` (row-major, `d` wide) nearest to it as `(row, euclidean
/// distance)`, nearest first; equal distances in row order.
pub fn nearest_many(points: &[f64], d: usize, queries: &[f64], k: usize) -> Vec<Vec<(usize, f64)>> {
    let rows = points.len().checked_div(d).unwrap_or(0);
    let n_queries = queries.len().checked_div(d).unwrap_or(0);
    if rows == 0 || n_queries == 0 {
        return vec![Vec::new(); n_queries];
    }
    let groups = pack::<TILE_ROWS>(points, d, rows);
    let group_len = d * TILE_ROWS;
    let mut out = Vec::with_capacity(n_queries);
    for first in (0..n_queries).step_by(QUERIES) {
        let batch = QUERIES.min(n_queries - first);
        let tiles = pack::<TILE_QUERIES>(&queries[first * d..(first + batch) * d], d, batch);
        let mut nearest: Vec<Nearest> = (0..batch).map(|_| Nearest::new(k.min(rows))).collect();
        for start in (0..rows).step_by(BLOCK) {
            let len = BLOCK.min(rows - start);
            let block = &groups
                [start / TILE_ROWS * group_len..(start + len).div_ceil(TILE_ROWS) * group_len];
            for (tile, q) in tiles.chunks_exact(d * TILE_QUERIES).enumerate() {
                let q0 = tile * TILE_QUERIES;
                for (g, x) in block.chunks_exact(group_len).enumerate() {
                    let sums = distances_tile(x, q);
                    let row0 = start + g * TILE_ROWS;
                    for (t, sums) in sums.iter().enumerate().take(batch - q0) {
                        for (r, &d2) in sums.iter().enumerate().take(rows - row0) {
                            nearest[q0 + t].offer(d2, row0 + r);
                        }
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
                            .fold(0.0, |sum, t| t.mul_add(t, sum));
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
