//! The same Rust trainer code in Wasm against native, per trainer: the
//! figure of issue 24 point 4 (docs/benchmarks.md).
//!
//!     ./scripts/build-plugins.sh && cargo bench -p sluice --bench trainers
//!
//! Each trainer trains on the same seeded rows (binary classification;
//! `linear` regresses the 0 / 1 labels) five times each way: as its plugin in a pooling runtime with NaN
//! canonicalization on (the default), in one with it off, and natively
//! (the plugin's crate linked into this benchmark, called through the
//! same `Trainer` trait). It prints the medians, the ratios to native,
//! and whether the model bytes equal native's. With canonicalization on
//! they are equal for code that calls no libm function: a trainer that
//! calls `exp` or `ln` (gbt's sigmoid) gets Rust's libm in Wasm and the
//! system's natively, which may round differently in the last bit.
//! `SLUICE_BENCH_ONLY=gbt,logreg,linear` runs a subset;
//! `SLUICE_BENCH_ROWS=N` sets the rows of every trainer.

mod common;

use common::{Rng, f64_table, median, ms, plugin};
use sluice::runtime::{Runtime, RuntimeOptions, StepContext, StepLimits};
use sluice::wit;
use sluice_sdk::Trainer;
use std::time::{Duration, Instant};

/// Seeded rows: `features` uniform columns in [-2, 2) and a 0 / 1 label
/// drawn from the logistic of a random linear score.
fn rows(rows: usize, features: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<i64>) {
    let mut rng = Rng(seed);
    let weights: Vec<f64> = (0..features).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
    let cols: Vec<Vec<f64>> = (0..features)
        .map(|_| (0..rows).map(|_| rng.next_f64() * 4.0 - 2.0).collect())
        .collect();
    let y = (0..rows)
        .map(|r| {
            let z: f64 = (0..features).map(|j| cols[j][r] * weights[j]).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            i64::from(rng.next_f64() < p)
        })
        .collect();
    (cols, y)
}

struct Engines {
    tokio: tokio::runtime::Runtime,
    canonical: Runtime,
    plain: Runtime,
    ctx: StepContext,
}

const RUNS: usize = 5;

/// Trains `T` (plugin `name`) on `n` x `features` rows each way.
fn compare<T: Trainer>(e: &Engines, name: &str, n: usize, features: usize) {
    let only = std::env::var("SLUICE_BENCH_ONLY").unwrap_or_default();
    if !only.is_empty() && !only.split(',').any(|o| o == name) {
        return;
    }
    let n = std::env::var("SLUICE_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(n);
    let (cols, y) = rows(n, features, 11);
    let table = f64_table(&cols, "x");
    let target = wit::Column {
        name: "y".into(),
        values: wit::Values::I64s(y.clone()),
        valid: None,
    };
    let in_wasm = |rt: &Runtime| {
        let trainer = rt.load(&plugin(name)).expect("load the plugin");
        let mut times = Vec::new();
        let mut model = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = e
                .tokio
                .block_on(rt.train(&trainer, &e.ctx, &table, &target, &[]))
                .expect("train in Wasm");
            times.push(t.elapsed());
            model = out.value.model;
        }
        (median(times), model)
    };
    let (wasm, wasm_model) = in_wasm(&e.canonical);
    let (plain, _) = in_wasm(&e.plain);
    let sdk_table = cols
        .iter()
        .enumerate()
        .fold(sluice_sdk::Table::new(), |t, (i, c)| {
            t.with(sluice_sdk::Column::f64(format!("x{i}"), c.clone()))
        });
    let sdk_target = sluice_sdk::Column::i64("y", y);
    let mut native_runs = Vec::new();
    let mut native_model = Vec::new();
    for _ in 0..RUNS {
        let (t_in, y_in) = (sdk_table.clone(), sdk_target.clone());
        let params =
            sluice_sdk::Params::resolve(&T::describe().params, Vec::new()).expect("params");
        let t = Instant::now();
        let out = T::train(t_in, y_in, params).expect("native train");
        native_runs.push(t.elapsed());
        native_model = out.model;
    }
    let native = median(native_runs);
    let ratio = |d: Duration| d.as_secs_f64() / native.as_secs_f64();
    println!(
        "{name}, {n} x {features} (median of {RUNS}): Wasm {:.1} ms, native {:.1} ms, ratio {:.2}x (target <= 1.5x)\n    without NaN canonicalization: Wasm {:.1} ms, ratio {:.2}x; model bytes equal to native: {}",
        ms(wasm),
        ms(native),
        ratio(wasm),
        ms(plain),
        ratio(plain),
        wasm_model == native_model
    );
}

fn main() {
    let cache = tempfile::tempdir().expect("temp dir");
    let engine = |nan_canonicalization| {
        Runtime::with_options(RuntimeOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            nan_canonicalization,
            ..RuntimeOptions::default()
        })
        .expect("runtime")
    };
    let limits = StepLimits {
        memory_mib: 2048,
        timeout_ms: 600_000,
        ..StepLimits::default()
    };
    let e = Engines {
        tokio: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime"),
        canonical: engine(true),
        plain: engine(false),
        ctx: StepContext::new("bench", limits, 1),
    };
    compare::<logreg::LogReg>(&e, "logreg", 20_000, 20);
    compare::<gbt::Gbt>(&e, "gbt", 50_000, 30);
    compare::<linear::Linear>(&e, "linear", 200_000, 30);
}
