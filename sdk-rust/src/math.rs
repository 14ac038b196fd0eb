//! `exp`, `ln` and sums in plain arithmetic, for loops over many values.
//!
//! The algorithms are fdlibm's (`e_exp.c`, `e_log.c`, as musl and
//! wasi-libc had them): within one unit in the last place of the exact
//! result. They differ from `f64::exp` and `f64::ln` in three ways:
//!
//! - **No branches on the value.** Special cases (overflow, underflow,
//!   zero, negative, NaN, subnormal) are chosen by selects, so that a loop
//!   such as [`exp_in_place`] compiles to Wasm SIMD (two values per
//!   instruction) instead of one library call per value.
//! - **The same bits everywhere.** Only IEEE additions, multiplications,
//!   divisions and bit operations, in a fixed order: a plugin's native
//!   tests and its Wasm build give the same results, which the system
//!   `libm` (glibc natively, wasi-libc in Wasm) does not promise.
//! - **NaN in, NaN out**, but not necessarily the same NaN (sluice
//!   canonicalizes NaNs anyway).

// The constants are fdlibm's, digit for digit.
#![allow(clippy::excessive_precision)]

/// `1.5 * 2^52`: adding it to a float of magnitude below `2^51` rounds it to
/// an integer, held in the low bits of the sum.
const MAGIC: f64 = 6_755_399_441_055_744.0;
/// The bits of [`MAGIC`].
const MAGIC_BITS: u64 = 0x4338_0000_0000_0000;

const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const INV_LN2: f64 = std::f64::consts::LOG2_E;

/// `2^n` for an integral `n` in `[-1022, 1023]`, from its bits.
#[inline(always)]
fn pow2(n: f64) -> f64 {
    let bits = (n + MAGIC).to_bits() << 52;
    f64::from_bits(bits.wrapping_add(1023 << 52))
}

/// `e^x`, within 1 ulp, without a branch on `x`.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const P1: f64 = 1.666_666_666_666_660_190_37e-01;
    const P2: f64 = -2.777_777_777_701_559_338_42e-03;
    const P3: f64 = 6.613_756_321_437_934_361_17e-05;
    const P4: f64 = -1.653_390_220_546_525_153_90e-06;
    const P5: f64 = 4.138_136_797_057_238_460_39e-08;
    /// Above this, `e^x` overflows.
    const OVERFLOW: f64 = 7.097_827_128_933_839_730_96e+02;
    /// Below this, `e^x` rounds to 0.
    const UNDERFLOW: f64 = -7.451_332_191_019_411_084_20e+02;

    // x = k ln2 + r, |r| <= ln2 / 2, with r = hi - lo carried in two parts.
    // Outside [UNDERFLOW, OVERFLOW] (and for NaN) the arithmetic below is
    // garbage that the final selects replace.
    let k = (x * INV_LN2 + MAGIC) - MAGIC;
    let hi = x - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // y 2^k in two steps, so that 2^k need not be a normal float itself:
    // k runs from -1075 to 1024.
    let k2 = if k < -1000.0 {
        -1000.0
    } else if k > 1000.0 {
        1000.0
    } else {
        0.0
    };
    let scaled = (y * pow2(k - k2)) * pow2(k2);
    let out = if x > OVERFLOW { f64::INFINITY } else { scaled };
    let out = if x < UNDERFLOW { 0.0 } else { out };
    if x.is_nan() { x + x } else { out }
}

/// The natural logarithm, within 1 ulp, without a branch on `x`: `-inf`
/// at zero, NaN below it.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    const LG1: f64 = 6.666_666_666_666_735_130e-01;
    const LG2: f64 = 3.999_999_999_940_941_908e-01;
    const LG3: f64 = 2.857_142_874_366_239_149e-01;
    const LG4: f64 = 2.222_219_843_214_978_396e-01;
    const LG5: f64 = 1.818_357_216_161_805_012e-01;
    const LG6: f64 = 1.531_383_769_920_937_332e-01;
    const LG7: f64 = 1.479_819_860_511_658_591e-01;
    /// `2^54`, to bring a subnormal into the normal range.
    const TWO54: f64 = 1.801_439_850_948_198_4e16;

    let subnormal = x < f64::MIN_POSITIVE;
    let v = if subnormal { x * TWO54 } else { x };
    // v = 2^k m with m in [sqrt(2)/2, sqrt(2)): moving the mantissa's
    // boundary from 1 to sqrt(2)/2 (high word 0x3fe6a09e) before reading
    // the exponent.
    let bits = v.to_bits().wrapping_add((0x3ff0_0000 - 0x3fe6_a09e) << 32);
    let k_biased = bits >> 52;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e << 32));
    // k as a float, exactly, without an integer conversion (which Wasm
    // SIMD lacks for 64-bit lanes).
    let k = f64::from_bits(MAGIC_BITS.wrapping_add(k_biased)) - (MAGIC + 1023.0);
    let k = if subnormal { k - 54.0 } else { k };
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let out = s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI;
    let out = if x == f64::INFINITY { x } else { out };
    let out = if x == 0.0 { f64::NEG_INFINITY } else { out };
    if x < 0.0 || x.is_nan() { f64::NAN } else { out }
}

/// The sum of `values`, in four interleaved partial sums: four independent
/// chains of additions instead of one, which compile to Wasm SIMD (one
/// chain waits for every addition before the next). A fixed order, so the
/// same bits everywhere.
pub fn sum(values: &[f64]) -> f64 {
    sum_by(values, |x| x)
}

/// The sum of `f` over `values`, in the order of [`sum`].
#[inline(always)]
pub fn sum_by(values: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let chunks = values.chunks_exact(4);
    let tail: f64 = chunks.remainder().iter().map(|&x| f(x)).sum();
    let mut acc = [0.0; 4];
    for x in chunks {
        for i in 0..4 {
            acc[i] += f(x[i]);
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// [`exp`] of every value, in place.
pub fn exp_in_place(values: &mut [f64]) {
    for v in values {
        *v = exp(*v);
    }
}

/// [`ln`] of every value, in place.
pub fn ln_in_place(values: &mut [f64]) {
    for v in values {
        *v = ln(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SplitMix64;

    /// How many representable values apart `a` and `b` are (finite, same
    /// sign, or both zero).
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a:e} vs {b:e}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// The largest distance in ulps of `ours` from `std` over `xs`, which
    /// must be at most 1.
    fn worst_ulps(name: &str, ours: fn(f64) -> f64, std: fn(f64) -> f64, xs: &[f64]) -> u64 {
        let mut worst = 0;
        for &x in xs {
            let (got, want) = (ours(x), std(x));
            let d = ulps(got, want);
            assert!(d <= 1, "{name}({x:e}) = {got:e}, std {want:e}: {d} ulps");
            worst = worst.max(d);
        }
        worst
    }

    fn uniform(rng: &mut SplitMix64, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 200,000 values uniform in `[lo, hi)`.
    fn uniforms(rng: &mut SplitMix64, (lo, hi): (f64, f64)) -> Vec<f64> {
        (0..200_000).map(|_| uniform(rng, lo, hi)).collect()
    }

    #[test]
    fn exp_is_within_one_ulp_of_std() {
        let mut rng = SplitMix64::new(3);
        // The last range has subnormal results.
        let ranges = [
            (-745.0, 709.7),
            (-1.0, 1.0),
            (-40.0, 0.0),
            (-1e-9, 1e-9),
            (-745.1, -708.0),
        ];
        let worst = ranges
            .into_iter()
            .map(|range| worst_ulps("exp", exp, f64::exp, &uniforms(&mut rng, range)))
            .max();
        eprintln!("exp: at most {worst:?} ulps from std");
    }

    #[test]
    fn exp_edges() {
        let cases = [
            (0.0, 1.0),
            (-0.0, 1.0),
            (709.78, 709.78f64.exp()),
            (709.8, f64::INFINITY),
            (1e300, f64::INFINITY),
            (f64::INFINITY, f64::INFINITY),
            (-745.2, 0.0),
            (-1e300, 0.0),
            (f64::NEG_INFINITY, 0.0),
            (-745.1, 5e-324),
        ];
        for (x, want) in cases {
            assert_eq!(exp(x).to_bits(), want.to_bits(), "exp({x:e})");
        }
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1);
        assert!(exp(f64::NAN).is_nan());
        // Exact powers of e's neighbours of 2: e^(k ln2) for integral k.
        for k in -1074..=1023 {
            let x = k as f64 * std::f64::consts::LN_2;
            assert!(ulps(exp(x), x.exp()) <= 1, "exp({x:e})");
        }
    }

    #[test]
    fn ln_is_within_one_ulp_of_std() {
        let mut rng = SplitMix64::new(4);
        // Every binade, uniform mantissa.
        let xs: Vec<f64> = (0..300_000)
            .map(|_| {
                let e = uniform(&mut rng, -1022.0, 1023.0).floor();
                uniform(&mut rng, 1.0, 2.0) * f64::from_bits(((e as i64 + 1023) as u64) << 52)
            })
            .collect();
        let ranges = [(1.0, 2.0), (0.5, 1.5), (0.999, 1.001), (1e-310, 2.2e-308)];
        let worst = ranges
            .into_iter()
            .map(|range| worst_ulps("ln", ln, f64::ln, &uniforms(&mut rng, range)))
            .chain([worst_ulps("ln", ln, f64::ln, &xs)])
            .max();
        eprintln!("ln: at most {worst:?} ulps from std");
    }

    #[test]
    fn ln_edges() {
        let cases = [
            (1.0, 0.0),
            (2.0, std::f64::consts::LN_2),
            (std::f64::consts::E, 1.0),
            (0.0, f64::NEG_INFINITY),
            (-0.0, f64::NEG_INFINITY),
            (f64::INFINITY, f64::INFINITY),
            (f64::MAX, f64::MAX.ln()),
            (5e-324, 5e-324f64.ln()),
            (f64::MIN_POSITIVE, f64::MIN_POSITIVE.ln()),
        ];
        for (x, want) in cases {
            assert_eq!(ln(x).to_bits(), want.to_bits(), "ln({x:e})");
        }
        assert!(ln(-1.0).is_nan());
        assert!(ln(f64::NEG_INFINITY).is_nan());
        assert!(ln(f64::NAN).is_nan());
        for k in -1074i64..=1023 {
            let x = if k >= -1022 {
                f64::from_bits(((k + 1023) as u64) << 52)
            } else {
                f64::from_bits(1 << (k + 1074))
            };
            assert!(ulps(ln(x), x.ln()) <= 1, "ln(2^{k})");
        }
    }

    #[test]
    fn slices_match_the_scalar_functions() {
        let mut rng = SplitMix64::new(5);
        let xs: Vec<f64> = (0..1001).map(|_| uniform(&mut rng, -50.0, 50.0)).collect();
        let mut e = xs.clone();
        exp_in_place(&mut e);
        let mut l: Vec<f64> = xs.iter().map(|x| x.abs()).collect();
        ln_in_place(&mut l);
        for (i, x) in xs.iter().enumerate() {
            assert_eq!(e[i].to_bits(), exp(*x).to_bits());
            assert_eq!(l[i].to_bits(), ln(x.abs()).to_bits());
        }
    }
}
