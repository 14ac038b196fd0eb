//! A seedable random stream for plugins that sample or shuffle
//! (permutation importance, Kernel SHAP, k-fold assignment) and for the
//! host's permutation of a column (`model.predict-each`).
//!
//! SplitMix64 is written out here rather than taken from `rand`, whose
//! streams may change between versions: a seed must give the same result
//! on every machine and every sluice release.

/// SplitMix64: a tiny, well-mixed, seedable generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream started at `seed`: the same seed gives the same values on
    /// every machine and every release.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits (the state advances by one step).
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

/// A column's values and null mask, copied and put in the order of
/// `rng.permutation(rows)` together (the very swaps of
/// [`SplitMix64::shuffle`], the mask's from a copy of the stream as it
/// was), the values wrapped by `wrap`; `rng` is left where the values'
/// shuffle leaves it. The SDK's `random::shuffled` and the host's
/// permutation for `model.predict-each` are both this.
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
    fn shuffled_parts_moves_values_and_mask_together() {
        let values: Vec<u32> = (0..100).collect();
        let valid: Vec<bool> = (0..100).map(|i| i % 7 != 0).collect();
        let (mut a, mut b) = (SplitMix64::new(5), SplitMix64::new(5));
        let order = a.permutation(100);
        let (got, mask) = shuffled_parts(&values, Some(&valid), &mut b, |v| v);
        let mask = mask.unwrap();
        for (row, &from) in order.iter().enumerate() {
            assert_eq!((got[row], mask[row]), (values[from], valid[from]));
        }
        assert_ne!(got, values);
        // The stream is left where the permutation leaves it.
        assert_eq!(a.next_u64(), b.next_u64());
        let (_, none) = shuffled_parts(&values, None, &mut b, |v| v);
        assert!(none.is_none());
    }
}
