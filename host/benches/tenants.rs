//! 1,000 concurrent short steps from 10 tenants, through the scheduler that
//! bounds each tenant's and the process's concurrent steps, once with the
//! pooling allocator and once with on-demand allocation, in one invocation.
//!
//!     ./scripts/build-plugins.sh && cargo bench -p sluice --bench tenants
//!
//! A step is the identity transform's `fit` + `apply` on a 100 x 4 f64
//! table, each call in a fresh store and instance, awaited on the tokio
//! workers themselves (wasmtime's async calls). All 1,000 are submitted
//! at once; latency is submission to completion (so it includes queueing),
//! service time is the time inside the step's slot. Peak memory is the
//! process's resident high-water mark, reset before each mode.

use sluice::pipeline::executor::Scheduler;
use sluice::runtime::{Runtime, RuntimeOptions, StepContext, StepLimits};
use sluice::wit;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANTS: usize = 10;
const STEPS: usize = 1_000;
const TENANT_CONCURRENCY: u32 = 4;

fn table() -> wit::Table {
    let col = |name: &str, k: f64| wit::Column {
        name: name.into(),
        values: wit::Values::F64s((0..100).map(|i| i as f64 * k).collect()),
        valid: None,
    };
    wit::Table {
        columns: vec![col("a", 1.0), col("b", 0.5), col("c", 2.0), col("d", -1.0)],
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Peak resident memory since the last reset, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM (Linux >= 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Outcome {
    wall: Duration,
    latency_p50: Duration,
    latency_p99: Duration,
    service_p50: Duration,
    service_p99: Duration,
    peak_mib: f64,
    failed: usize,
}

fn run(rt: &Runtime, wasm: &Path, max_steps: usize) -> Outcome {
    let plugin = rt.load(wasm).expect("load identity");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let scheduler = Scheduler::new(max_steps);
    let input = Arc::new(table());
    reset_peak_rss();
    let started = Instant::now();
    let results: Vec<(Duration, Duration, bool)> = tokio.block_on(async {
        let mut tasks = Vec::with_capacity(STEPS);
        for i in 0..STEPS {
            let tenant = format!("tenant-{}", i % TENANTS);
            let (scheduler, rt, plugin, input) =
                (scheduler.clone(), rt.clone(), plugin.clone(), input.clone());
            tasks.push(tokio::spawn(async move {
                let submitted = Instant::now();
                let _permit = scheduler.acquire(&tenant, TENANT_CONCURRENCY).await;
                let began = Instant::now();
                let ctx = StepContext::new(format!("{tenant}-{i}"), StepLimits::default(), 1);
                let ok = match rt.fit(&plugin, &ctx, &input, &[]).await {
                    Ok(state) => rt.apply(&plugin, &ctx, &state.value, &input).await.is_ok(),
                    Err(_) => false,
                };
                (submitted.elapsed(), began.elapsed(), ok)
            }));
        }
        let mut out = Vec::with_capacity(STEPS);
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let wall = started.elapsed();
    let peak_mib = peak_rss_mib();
    let mut latency: Vec<Duration> = results.iter().map(|r| r.0).collect();
    let mut service: Vec<Duration> = results.iter().map(|r| r.1).collect();
    Outcome {
        wall,
        latency_p50: percentile(&mut latency, 0.5),
        latency_p99: percentile(&mut latency, 0.99),
        service_p50: percentile(&mut service, 0.5),
        service_p99: percentile(&mut service, 0.99),
        peak_mib,
        failed: results.iter().filter(|r| !r.2).count(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let wasm =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release/identity.wasm");
    if !wasm.is_file() {
        eprintln!(
            "{} is missing: run ./scripts/build-plugins.sh first",
            wasm.display()
        );
        std::process::exit(1);
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cache = tempfile::tempdir().expect("temp dir");
    let options = |pooling| RuntimeOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        pooling,
        ..RuntimeOptions::default()
    };
    let pooled = Runtime::with_options(options(true)).expect("runtime");
    let on_demand = Runtime::with_options(options(false)).expect("runtime");
    println!(
        "{STEPS} steps (identity fit + apply, 100 x 4 f64) from {TENANTS} tenants, \
         {TENANT_CONCURRENCY} at once per tenant, {cores} at once in the process"
    );
    // Warm both (compile cache, first-touch of the pool) before measuring.
    let _ = run(&pooled, &wasm, cores);
    let _ = run(&on_demand, &wasm, cores);
    let mut rows = Vec::new();
    for (name, rt) in [("pooling", &pooled), ("on-demand", &on_demand)] {
        assert_eq!(rt.pooling(), name == "pooling", "{name}: pool not reserved");
        let o = run(rt, &wasm, cores);
        assert_eq!(o.failed, 0, "{name}: {} steps failed", o.failed);
        println!(
            "{name:>10}: {:>8.0} steps/s  wall {:>7.1} ms  latency p50 {:>7.2} ms p99 {:>7.2} ms  \
             service p50 {:>6.3} ms p99 {:>6.3} ms  peak RSS {:>6.1} MiB",
            STEPS as f64 / o.wall.as_secs_f64(),
            ms(o.wall),
            ms(o.latency_p50),
            ms(o.latency_p99),
            ms(o.service_p50),
            ms(o.service_p99),
            o.peak_mib
        );
        rows.push(o);
    }
    println!(
        "pooling vs on-demand: throughput x{:.2}, service p50 x{:.2}",
        rows[1].wall.as_secs_f64() / rows[0].wall.as_secs_f64(),
        rows[1].service_p50.as_secs_f64() / rows[0].service_p50.as_secs_f64()
    );
}
