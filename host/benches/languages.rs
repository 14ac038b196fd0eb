//! Speed per plugin language (docs/benchmarks.md):
//!
//!     ./scripts/build-plugins.sh && cargo bench -p sluice --bench languages
//!
//! For one transform per language (Rust `standardize`, C `c-robust-scale`,
//! JavaScript `js-log-transform`, Python `py-clip`):
//! 1. compile on first use (a fresh compile cache) and load from the compile
//!    cache in a second runtime (a new engine, as a second process would);
//! 2. instantiate + call overhead: `describe()` in a fresh instance, median
//!    of 30;
//! 3. throughput: `fit` then `apply` on a 1,000,000 x 10 f64 table.
//!
//! `SLUICE_BENCH_ROWS` changes the table's rows (default 1,000,000).

mod common;

use common::{ms, plugin};
use sluice::runtime::{CompileSource, Runtime, StepContext, StepLimits};
use sluice::wit;
use std::time::{Duration, Instant};

fn table(rows: usize) -> wit::Table {
    let mut state = 7u64;
    let columns = (0..10)
        .map(|c| wit::Column {
            name: format!("x{c}"),
            values: wit::Values::F64s(
                (0..rows)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        (state >> 11) as f64 / (1u64 << 53) as f64
                    })
                    .collect(),
            ),
            valid: None,
        })
        .collect();
    wit::Table { columns }
}

fn main() {
    let rows: usize = std::env::var("SLUICE_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let data = table(rows);
    let limits = StepLimits {
        memory_mib: 4096,
        timeout_ms: 1_200_000,
        ..StepLimits::default()
    };
    let ctx = StepContext::new("bench", limits, 1);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "| language | plugin | size | compile (first use) | load from cache | instantiate + describe() | fit | apply | apply throughput |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (lang, name) in [
        ("Rust", "standardize"),
        ("C", "c-robust-scale"),
        ("JavaScript", "js-log-transform"),
        ("Python", "py-clip"),
    ] {
        let path = plugin(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let cache = tempfile::tempdir().expect("temp dir");
        let first = Runtime::new(Some(cache.path().to_path_buf())).expect("runtime");
        let t = Instant::now();
        let p = first.load(&path).expect("load");
        let compile = t.elapsed();
        assert_eq!(p.compile_source, CompileSource::Compiled);
        let rt = Runtime::new(Some(cache.path().to_path_buf())).expect("runtime");
        let t = Instant::now();
        let p = rt.load(&path).expect("load");
        let cached = t.elapsed();
        assert_eq!(
            p.compile_source,
            CompileSource::Cached,
            "{name}: the second load recompiled"
        );
        let mut calls: Vec<Duration> = (0..30)
            .map(|_| {
                let t = Instant::now();
                tokio.block_on(rt.describe(&p, &ctx)).expect("describe");
                t.elapsed()
            })
            .collect();
        calls.sort();
        let t = Instant::now();
        let state = tokio
            .block_on(rt.fit(&p, &ctx, &data, &[]))
            .expect("fit")
            .value;
        let fit = t.elapsed();
        let t = Instant::now();
        let out = tokio
            .block_on(rt.apply(&p, &ctx, &state, &data))
            .expect("apply")
            .value;
        let apply = t.elapsed();
        assert_eq!(out.columns.len(), 10);
        println!(
            "| {lang} | `{name}` | {:.1} MB | {:.0} ms | {:.1} ms | {:.2} ms | {:.0} ms | {:.0} ms | {:.2} M values/s |",
            size as f64 / 1e6,
            ms(compile),
            ms(cached),
            ms(calls[calls.len() / 2]),
            ms(fit),
            ms(apply),
            (rows * 10) as f64 / apply.as_secs_f64() / 1e6
        );
    }
}
