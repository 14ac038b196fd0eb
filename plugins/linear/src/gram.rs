//! The centred cross products `C' C` of columns `C = X - mean(X)`, taken
//! over blocks of rows: a block of every column is centred into a small
//! buffer that stays in cache, and its products are added up in tiles of
//! 4 x 2 column pairs kept in registers, two rows at a time (one SIMD lane
//! each). Each block's two lane sums are added to the total in row-block
//! order: a fixed order, so the same bits whatever the machine, and no
//! copy of the centred table is ever made.

/// Rows per block: 32 columns x 256 rows x 8 bytes = 64 KiB.
const BLOCK: usize = 256;
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

/// `C' C` (row-major, `m x m`, symmetric) for `C[j] = columns[j] -
/// means[j]`; every column as long as the first.
pub fn centred_gram(columns: &[&[f64]], means: &[f64]) -> Vec<f64> {
    let m = columns.len();
    let n = columns.first().map_or(0, |c| c.len());
    // Columns padded with zeros to whole tiles; they add nothing.
    let padded = m.next_multiple_of(TILE_A);
    let mut buf = vec![0.0; padded * BLOCK];
    let mut total = vec![0.0; padded * padded];
    for start in (0..n).step_by(BLOCK) {
        let len = (n - start).min(BLOCK);
        let even = len.next_multiple_of(2);
        for (j, (column, &mean)) in columns.iter().zip(means).enumerate() {
            let row = &mut buf[j * BLOCK..j * BLOCK + even];
            for (b, &x) in row.iter_mut().zip(&column[start..start + len]) {
                *b = x - mean;
            }
            row[len..].fill(0.0);
        }
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
    let mut gram = vec![0.0; m * m];
    for j in 0..m {
        for k in 0..=j {
            let v = total[j * padded + k];
            gram[j * m + k] = v;
            gram[k * m + j] = v;
        }
    }
    gram
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_plain_products_of_centred_columns() {
        // Odd lengths and counts: a last block shorter than the others, an
        // odd row, columns that do not fill a tile.
        for (n, m) in [(0, 3), (1, 1), (7, 5), (BLOCK * 2 + 3, 7), (BLOCK, 4)] {
            let columns: Vec<Vec<f64>> = (0..m)
                .map(|j| {
                    (0..n)
                        .map(|i| ((i * 31 + j * 17) % 23) as f64 * 0.5 - (j as f64))
                        .collect()
                })
                .collect();
            let means: Vec<f64> = columns
                .iter()
                .map(|c| c.iter().sum::<f64>() / n.max(1) as f64)
                .collect();
            let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            let gram = centred_gram(&refs, &means);
            for j in 0..m {
                for k in 0..m {
                    let plain: f64 = (0..n)
                        .map(|i| (columns[j][i] - means[j]) * (columns[k][i] - means[k]))
                        .sum();
                    let got = gram[j * m + k];
                    assert!(
                        (got - plain).abs() <= 1e-9 * plain.abs().max(1.0),
                        "n {n}, m {m}, ({j}, {k}): {got} against {plain}"
                    );
                }
            }
        }
    }
}
