//! Times `boost::fit` natively on seeded synthetic rows, for profiling the
//! trainer outside Wasm (`perf record cargo run --release -p gbt --example
//! fit_time -- ROWS FEATURES [multiclass]`). Prints the seconds, the train
//! accuracy and a checksum of the model's leaf values (equal checksums:
//! the same trees).
use gbt::boost::{self, BoostOptions, Loss};
use std::time::Instant;

/// xorshift64*: a seeded stream of uniform floats in [0, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args.get(1).map_or(200_000, |a| a.parse().unwrap());
    let features: usize = args.get(2).map_or(30, |a| a.parse().unwrap());
    let classes = if args.get(3).is_some_and(|a| a == "multiclass") {
        3
    } else {
        2
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let columns: Vec<Vec<f64>> = (0..features)
        .map(|_| (0..rows).map(|_| rng.next() * 2.0 - 1.0).collect())
        .collect();
    let weights: Vec<f64> = (0..features).map(|_| rng.next() - 0.5).collect();
    let score = |i: usize| {
        let linear: f64 = (0..features).map(|j| weights[j] * columns[j][i]).sum();
        linear + 0.5 * (columns[0][i] * columns[1][i]) + 0.3 * (rng_noise(i))
    };
    let y: Vec<usize> = (0..rows)
        .map(|i| {
            let s = score(i);
            if classes == 2 {
                usize::from(s > 0.0)
            } else if s < -0.3 {
                0
            } else if s < 0.3 {
                1
            } else {
                2
            }
        })
        .collect();
    let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let opts = BoostOptions::default();
    let start = Instant::now();
    let ensembles = if classes == 2 {
        let y: Vec<f64> = y.iter().map(|&c| c as f64).collect();
        vec![boost::fit(&refs, &y, Loss::LogLoss, &opts)]
    } else {
        boost::fit_multiclass(&refs, &y, classes, &opts)
    };
    let seconds = start.elapsed().as_secs_f64();
    let raw =
        |i: usize| -> Vec<f64> { ensembles.iter().map(|e| e.raw(|j| columns[j][i])).collect() };
    let correct = (0..rows)
        .filter(|&i| {
            let r = raw(i);
            let pred = if classes == 2 {
                usize::from(r[0] > 0.0)
            } else {
                (0..classes).fold(0, |b, k| if r[k] > r[b] { k } else { b })
            };
            pred == y[i]
        })
        .count();
    let checksum: f64 = ensembles
        .iter()
        .flat_map(|e| &e.trees)
        .flat_map(|t| &t.value)
        .map(|v| v.abs())
        .sum();
    println!(
        "rows {rows} features {features} classes {classes}: fit {seconds:.3} s, \
         train accuracy {:.4}, leaf checksum {checksum:.12}",
        correct as f64 / rows as f64
    );
}

/// Deterministic noise per row.
fn rng_noise(i: usize) -> f64 {
    let mut r = Rng(i as u64 * 0x9e37_79b9 + 1);
    r.next() - 0.5
}
