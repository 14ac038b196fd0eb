//! The step benchmarks of docs/benchmarks.md. Each measurement runs its baseline
//! in the same invocation and prints the ratio.
//!
//!     ./scripts/build-plugins.sh && cargo bench -p sluice --bench steps
//!
//! 1. instantiate + call of a no-op step (identity's `fit` on an empty
//!    table) with a warm compile cache, per call;
//! 2. a 1,000,000 x 10 f64 table into the identity transform's `apply` and
//!    back, against a plain memcpy of the same bytes (in and out).
//!
//! Trainers in Wasm against the same code native: benches/trainers.rs.

mod common;

use common::{Rng, f64_table, median, ms, plugin};
use sluice::runtime::{Runtime, StepContext, StepLimits};
use sluice::wit;
use std::time::{Duration, Instant};

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let cache = tempfile::tempdir().expect("temp dir");
    let rt = Runtime::new(Some(cache.path().to_path_buf())).expect("runtime");
    println!("pooling allocator: {}", rt.pooling());
    let limits = StepLimits {
        memory_mib: 2048,
        timeout_ms: 600_000,
        ..StepLimits::default()
    };
    let ctx = StepContext::new("bench", limits, 1);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    // Compile once, then load from the on-disk cache in a fresh runtime.
    let t = Instant::now();
    rt.load(&plugin("identity")).expect("load identity");
    let compile = t.elapsed();
    let rt2 = Runtime::new(Some(cache.path().to_path_buf())).expect("runtime");
    let t = Instant::now();
    let identity = rt2.load(&plugin("identity")).expect("load identity");
    let cached = t.elapsed();
    println!(
        "\n[0] load identity.wasm: compile {:.1} ms, from the compile cache {:.2} ms ({:.0}x faster)",
        ms(compile),
        ms(cached),
        compile.as_secs_f64() / cached.as_secs_f64()
    );

    // 1. No-op step.
    let empty = wit::Table { columns: vec![] };
    for _ in 0..2_000 {
        tokio
            .block_on(rt2.fit(&identity, &ctx, &empty, &[]))
            .expect("noop");
    }
    let samples: Vec<Duration> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            tokio
                .block_on(rt2.fit(&identity, &ctx, &empty, &[]))
                .expect("noop");
            t.elapsed()
        })
        .collect();
    let native: Vec<Duration> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(Vec::<u8>::new());
            t.elapsed()
        })
        .collect();
    println!(
        "[1] no-op step (fresh store + instance + WASI ctx + call): median {:.1} us, p99 {:.1} us (target p50 < 10 us, p99 < 30 us; timer overhead {:.2} us)",
        us(median(samples.clone())),
        us(percentile(samples, 0.99)),
        us(median(native))
    );

    if std::env::var("SLUICE_BENCH_ONLY").as_deref() == Ok("noop") {
        // For profiling the step overhead alone.
        for _ in 0..200_000 {
            tokio
                .block_on(rt2.fit(&identity, &ctx, &empty, &[]))
                .expect("noop");
        }
        return;
    }

    // 2. 1,000,000 x 10 f64 through identity.apply and back, vs memcpy.
    let rows = 1_000_000;
    let mut rng = Rng(7);
    let columns: Vec<Vec<f64>> = (0..10)
        .map(|_| (0..rows).map(|_| rng.next_f64()).collect())
        .collect();
    let table = f64_table(&columns, "c");
    let bytes = (rows * 10 * 8) as f64;
    let mut wasm_runs = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let out = tokio
            .block_on(rt2.apply(&identity, &ctx, &[], &table))
            .expect("identity apply");
        wasm_runs.push(t.elapsed());
        assert_eq!(out.value.columns.len(), 10);
    }
    // Baseline A: memcpy into fresh allocations, in and out (what a step
    // must do too: its guest memory and the host's result are new pages).
    let mut fresh_runs = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let copied: Vec<Vec<f64>> = columns.iter().map(|c| c.to_vec()).collect();
        let back: Vec<Vec<f64>> = copied.iter().map(|c| c.to_vec()).collect();
        std::hint::black_box(&back);
        fresh_runs.push(t.elapsed());
    }
    // Baseline B: memcpy into buffers already allocated and touched.
    let mut there: Vec<Vec<f64>> = columns.clone();
    let mut back: Vec<Vec<f64>> = columns.clone();
    let mut warm_runs = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        for (dst, src) in there.iter_mut().zip(&columns) {
            dst.copy_from_slice(src);
        }
        for (dst, src) in back.iter_mut().zip(&there) {
            dst.copy_from_slice(src);
        }
        std::hint::black_box(&back);
        warm_runs.push(t.elapsed());
    }
    let wasm_t = median(wasm_runs);
    let fresh_t = median(fresh_runs);
    let warm_t = median(warm_runs);
    let gbps = |d: Duration| 2.0 * bytes / d.as_secs_f64() / 1e9;
    println!(
        "[2] 1,000,000 x 10 f64 in and out of identity: {:.1} ms ({:.2} GB/s)\n    memcpy into fresh allocations: {:.1} ms ({:.2} GB/s) -> step/memcpy bandwidth ratio {:.2} (target >= 0.5)\n    memcpy into warm buffers:      {:.1} ms ({:.2} GB/s) -> ratio {:.2}",
        ms(wasm_t),
        gbps(wasm_t),
        ms(fresh_t),
        gbps(fresh_t),
        fresh_t.as_secs_f64() / wasm_t.as_secs_f64(),
        ms(warm_t),
        gbps(warm_t),
        warm_t.as_secs_f64() / wasm_t.as_secs_f64(),
    );
}
