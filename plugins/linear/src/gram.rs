//! One pass over the columns `X` for the normal equations: the products
//! `S' S` of the shifted columns `S = X - shifts` and their sums `S' 1`,
//! taken over blocks of rows. A block of every column is shifted into a
//! small buffer that stays in cache, beside a column of ones (whose
//! products with the others are the sums), and its products are added up
//! in tiles of 4 x 2 column pairs kept in registers, two rows at a time
//! (one SIMD lane each). Each block's two lane sums are added to the total
//! in row-block order: a fixed order, so the same bits whatever the
//! machine, and no copy of the shifted table is ever made.
//!
//! With the first row as the shifts, the centred products follow without
//! a second pass: for `C = X - mean(X)` and `d = mean(S)`,
//! `C' C = S' S - n d d'`. Shifting by a value of the column keeps the
//! cancellation of that subtraction small (the shifted values are of the
//! order of the column's spread, not of its offset), as centring does.

/// Rows per block: 32 columns x 256 rows x 8 bytes = 64 KiB.
pub const BLOCK: usize = 256;
/// A tile: products of this many columns with [`TILE_B`] others.
const TILE_A: usize = 4;
const TILE_B: usize = 2;

/// The sums over rows `0..len` (even) of `a[t][r] * b[u][r]`, in two
/// interleaved partial sums (even and odd rows) added at the end.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn tile(a: [&[f64]; TILE_A], b: [&[f64]; TILE_B], len: usize) -> [[f64; TILE_B]; TILE_A] {
    let mut acc = [[[0.0f64; 2]; TILE_B]; TILE_A];
    for r in (0..len).step_by(2) {
        for (acc, a) in acc.iter_mut().zip(&a) {
            for (acc, b) in acc.iter_mut().zip(&b) {
                acc[0] += a[r] * b[r];
                acc[1] += a[r + 1] * b[r + 1];
            }
        }
    }
    acc.map(|row| row.map(|[even, odd]| even + odd))
}

/// The same tile in Wasm SIMD, written out (LLVM does not vectorize it
/// for `wasm32`): each lane is the scalar code's operation, in the same
/// order, so the sums are the same bits.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn tile(a: [&[f64]; TILE_A], b: [&[f64]; TILE_B], len: usize) -> [[f64; TILE_B]; TILE_A] {
    use core::arch::wasm32::{f64x2, f64x2_add, f64x2_extract_lane, f64x2_mul, f64x2_splat};
    // The rows in pairs, walked by iterators: indexing would check the
    // bounds of every column twice a turn, and Cranelift does not hoist
    // those checks out of the loop.
    fn pairs(c: &[f64], len: usize) -> &[[f64; 2]] {
        c[..len].as_chunks::<2>().0
    }
    let [a0, a1, a2, a3] = a.map(|c| pairs(c, len));
    let [b0, b1] = b.map(|c| pairs(c, len));
    let mut acc = [[f64x2_splat(0.0); TILE_B]; TILE_A];
    let rows = a0.iter().zip(a1).zip(a2).zip(a3).zip(b0.iter().zip(b1));
    for ((((x0, x1), x2), x3), (y0, y1)) in rows {
        let bs = [y0, y1].map(|y| f64x2(y[0], y[1]));
        for (acc, x) in acc.iter_mut().zip([x0, x1, x2, x3]) {
            let av = f64x2(x[0], x[1]);
            for (acc, &bv) in acc.iter_mut().zip(&bs) {
                *acc = f64x2_add(*acc, f64x2_mul(av, bv));
            }
        }
    }
    acc.map(|row| row.map(|v| f64x2_extract_lane::<0>(v) + f64x2_extract_lane::<1>(v)))
}

/// What [`shifted_products`] returns for `m` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Products {
    /// The sum of each shifted column.
    pub sums: Vec<f64>,
    /// `S' S`, row-major `m x m`, symmetric.
    pub products: Vec<f64>,
}

/// The sums and products of `S[j] = columns[j] - shifts[j]`; every column
/// as long as the first.
pub fn shifted_products(columns: &[&[f64]], shifts: &[f64]) -> Products {
    let mut sums = ShiftedProducts::new(shifts.to_vec());
    sums.add(columns);
    sums.finish()
}

/// [`shifted_products`] of a table given a block of rows at a time: the
/// same bits, so long as every block but the last has a multiple of
/// [`BLOCK`] rows (the sums are added up in the same row blocks, in the
/// same order).
pub struct ShiftedProducts {
    shifts: Vec<f64>,
    padded: usize,
    buf: Vec<f64>,
    total: Vec<f64>,
}

impl ShiftedProducts {
    /// Nothing added yet, for `shifts.len()` columns shifted by `shifts`.
    pub fn new(shifts: Vec<f64>) -> Self {
        // The columns, then the column of ones, padded with zeros to whole
        // tiles: the padding adds nothing.
        let padded = (shifts.len() + 1).next_multiple_of(TILE_A);
        ShiftedProducts {
            shifts,
            padded,
            buf: vec![0.0; padded * BLOCK],
            total: vec![0.0; padded * padded],
        }
    }

    /// Adds the rows of `columns` (as many as there are shifts, every one
    /// as long as the first).
    pub fn add(&mut self, columns: &[&[f64]]) {
        let ShiftedProducts {
            shifts,
            padded,
            buf,
            total,
        } = self;
        let padded = *padded;
        let ones = shifts.len();
        let n = columns.first().map_or(0, |c| c.len());
        for start in (0..n).step_by(BLOCK) {
            let len = (n - start).min(BLOCK);
            let even = len.next_multiple_of(2);
            for (j, (column, &shift)) in columns.iter().zip(shifts.iter()).enumerate() {
                let row = &mut buf[j * BLOCK..j * BLOCK + even];
                for (b, &x) in row.iter_mut().zip(&column[start..start + len]) {
                    *b = x - shift;
                }
                row[len..].fill(0.0);
            }
            let row = &mut buf[ones * BLOCK..ones * BLOCK + even];
            row[..len].fill(1.0);
            row[len..].fill(0.0);
            let col = |j: usize| &buf[j * BLOCK..j * BLOCK + even];
            for jt in (0..padded).step_by(TILE_A) {
                // The tiles that hold a pair (j, k <= j) of columns jt..jt + 4.
                for kt in (0..jt + TILE_A).step_by(TILE_B) {
                    let sums = tile(
                        std::array::from_fn(|t| col(jt + t)),
                        std::array::from_fn(|u| col(kt + u)),
                        even,
                    );
                    for (t, row) in sums.iter().enumerate() {
                        for (u, &s) in row.iter().enumerate() {
                            total[(jt + t) * padded + kt + u] += s;
                        }
                    }
                }
            }
        }
    }

    /// The sums and products of every row added.
    pub fn finish(self) -> Products {
        let m = self.shifts.len();
        let (padded, total) = (self.padded, self.total);
        let mut products = vec![0.0; m * m];
        for j in 0..m {
            for k in 0..=j {
                let v = total[j * padded + k];
                products[j * m + k] = v;
                products[k * m + j] = v;
            }
        }
        let sums = (0..m).map(|j| total[m * padded + j]).collect();
        Products { sums, products }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_plain_sums_and_products_of_shifted_columns() {
        // Odd lengths and counts: a last block shorter than the others, an
        // odd row, columns that do not fill a tile, and 3 columns, whose
        // column of ones fills the tile.
        for (n, m) in [
            (0, 3),
            (1, 1),
            (7, 5),
            (BLOCK * 2 + 3, 7),
            (BLOCK, 4),
            (9, 3),
        ] {
            let columns: Vec<Vec<f64>> = (0..m)
                .map(|j| {
                    (0..n)
                        .map(|i| ((i * 31 + j * 17) % 23) as f64 * 0.5 - (j as f64))
                        .collect()
                })
                .collect();
            let shifts: Vec<f64> = (0..m).map(|j| j as f64 * 1.5 - 2.0).collect();
            let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            let Products { sums, products } = shifted_products(&refs, &shifts);
            let close = |got: f64, plain: f64, what: &str| {
                assert!(
                    (got - plain).abs() <= 1e-9 * plain.abs().max(1.0),
                    "n {n}, m {m}, {what}: {got} against {plain}"
                )
            };
            for j in 0..m {
                let plain: f64 = (0..n).map(|i| columns[j][i] - shifts[j]).sum();
                close(sums[j], plain, &format!("sum {j}"));
                for k in 0..m {
                    let plain: f64 = (0..n)
                        .map(|i| (columns[j][i] - shifts[j]) * (columns[k][i] - shifts[k]))
                        .sum();
                    close(products[j * m + k], plain, &format!("({j}, {k})"));
                }
            }
        }
    }
}
