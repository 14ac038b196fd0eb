//! A seedable random stream for plugins that sample or shuffle
//! (permutation importance, Kernel SHAP, k-fold assignment).
//!
//! SplitMix64 is written out here rather than taken from `rand`, whose
//! streams may change between versions: a seed must give the same result
//! on every machine and every sluice release.

/// SplitMix64: a tiny, well-mixed, seedable generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (n > 0), by rejection, so without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        loop {
            let x = self.next_u64();
            // The zone is `u64::MAX - u64::MAX % n`, at least
            // `u64::MAX - (n - 1)`: a draw below that is in it without the
            // division that computes it (a draw at or above it is as good
            // as never made).
            if x <= u64::MAX - n || x < u64::MAX - u64::MAX % n {
                return x % n;
            }
        }
    }

    /// Shuffles `items` uniformly in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A uniformly random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }

    /// `k` distinct values of `0..n`, uniformly (a partial Fisher-Yates).
    pub fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in 0..k.min(n) {
            let j = i + self.below((n - i) as u64) as usize;
            p.swap(i, j);
        }
        p.truncate(k.min(n));
        p
    }
}

/// `column` with its rows (values and null mask together) in the order of
/// `rng.permutation(rows)`, and `rng` where that leaves it: the same
/// Fisher-Yates swaps ([`SplitMix64::shuffle`]) applied to a copy of the
/// values and of the mask, without an index vector to gather through. With
/// `SplitMix64::new(seed)` it is the host's permutation of the column for
/// `model::predict_each` ([`crate::model::Permutation`]).
pub fn shuffled(column: &crate::Column, rng: &mut SplitMix64) -> crate::Column {
    use crate::Values;
    let valid = column.valid.as_deref();
    let (values, valid) = match &column.values {
        Values::F64(v) => shuffled_parts(v, valid, rng, Values::F64),
        Values::I64(v) => shuffled_parts(v, valid, rng, Values::I64),
        Values::Bool(v) => shuffled_parts(v, valid, rng, Values::Bool),
        Values::Str(v) => shuffled_parts(v, valid, rng, Values::Str),
    };
    crate::Column {
        name: column.name.clone(),
        values,
        valid,
    }
}

/// A column's values and null mask, copied and put in the order of
/// `rng.permutation(rows)` together (the very swaps of
/// [`SplitMix64::shuffle`], the mask's from a copy of the stream as it
/// was), the values wrapped by `wrap`; `rng` is left where the values'
/// shuffle leaves it. [`shuffled`] and the host's permutation for
/// `model.predict-each` are both this.
pub fn shuffled_parts<T: Clone, V>(
    values: &[T],
    valid: Option<&[bool]>,
    rng: &mut SplitMix64,
    wrap: impl FnOnce(Vec<T>) -> V,
) -> (V, Option<Vec<bool>>) {
    fn swapped<T: Clone>(v: &[T], rng: &mut SplitMix64) -> Vec<T> {
        let mut v = v.to_vec();
        rng.shuffle(&mut v);
        v
    }
    let valid = valid.map(|m| swapped(m, &mut rng.clone()));
    (wrap(swapped(values, rng)), valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Column;

    /// `below` accepts exactly the draws the plain rejection test
    /// (`x < u64::MAX - u64::MAX % n`) accepts, so streams do not change.
    #[test]
    fn below_accepts_what_the_rejection_test_accepts() {
        let mut r = SplitMix64::new(99);
        let ns = [
            1,
            2,
            3,
            7,
            1000,
            1 << 33,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        for n in ns {
            let zone = u64::MAX - u64::MAX % n;
            let edges = [0, zone.saturating_sub(1), zone, u64::MAX - n, u64::MAX];
            for x in edges.into_iter().chain((0..1000).map(|_| r.next_u64())) {
                let fast = x <= u64::MAX - n || x < zone;
                assert_eq!(fast, x < zone, "n {n}, x {x}");
            }
        }
    }

    #[test]
    fn splitmix_reference_values() {
        // The published SplitMix64 sequence for seed 1234567.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
        let mut p = SplitMix64::new(0).permutation(10);
        assert_ne!(p, (0..10).collect::<Vec<_>>());
        p.sort_unstable();
        assert_eq!(p, (0..10).collect::<Vec<_>>());
        let mut s = SplitMix64::new(3).sample(10, 4);
        assert_eq!(s.len(), 4);
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 4);
        let u = SplitMix64::new(9).next_f64();
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn shuffled_puts_rows_in_the_order_of_the_permutation() {
        let n = 1000;
        let columns = [
            Column::f64("f", (0..n).map(|i| i as f64 * 0.5).collect()).with_nulls(&[3, 999]),
            Column::i64("i", (0..n as i64).collect()),
            Column::bool("b", (0..n).map(|i| i % 3 == 0).collect()).with_nulls(&[0]),
            Column::strings("s", (0..n).map(|i| format!("v{i}"))).with_nulls(&[5]),
        ];
        for column in &columns {
            let (mut a, mut b) = (SplitMix64::new(9), SplitMix64::new(9));
            let order = a.permutation(n);
            let got = shuffled(column, &mut b);
            for (row, &from) in order.iter().enumerate() {
                // Value and null mask move together (None: null).
                assert_eq!(
                    got.value_text(row),
                    column.value_text(from),
                    "{}",
                    column.name
                );
            }
            assert_ne!(got, *column, "{} was not shuffled", column.name);
            // The stream is left where the permutation leaves it.
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}
