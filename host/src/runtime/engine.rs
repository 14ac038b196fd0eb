//! Building an engine: its configuration, the pooling allocator's, the
//! linker of WASI and the contract's imports, and the epoch ticker every
//! engine is registered with.

use super::sandbox::StepState;
use super::{EPOCH_TICK, EngineFlags, RuntimeError, RuntimeOptions, bindings, deadline, limits};
use std::sync::Mutex;
use std::time::Instant;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The stack a call runs on (a fiber): wasmtime's default 512 KiB for the
/// guest (deeper recursion traps as a stack overflow) and the rest for the
/// host functions it calls. Pooled with the instances when pooling.
const ASYNC_STACK_BYTES: usize = 2 << 20;
/// The configuration of an engine, but for its instance allocator (which
/// its compiled code does not depend on): what a compiling child process
/// rebuilds.
pub(crate) fn engine_config(flags: EngineFlags) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(flags.fuel)
        // Canonical NaNs, when asked for, come from rewriting the
        // component where NaN bits can be seen (`nans`), not from
        // Cranelift's canonicalization after every float operation.
        .cranelift_nan_canonicalization(false)
        // Relaxed SIMD as the specification's deterministic choice on
        // every machine (a fused multiply-add, NaN-propagating min and
        // max, saturating truncation), not each CPU's fastest: the same
        // bits on every host. Where the CPU has FMA (every x86-64 since
        // 2013, every AArch64) the multiply-add is still one instruction.
        .relaxed_simd_deterministic(true)
        .parallel_compilation(true)
        // Async support itself is always on in wasmtime 48 (the `async`
        // feature; `Config::async_support` is a deprecated no-op).
        .async_stack_size(ASYNC_STACK_BYTES)
        // A pooled stack goes from one tenant's step to another's: zero
        // it, so nothing of one call can be read by the next even through
        // a compiler bug.
        .async_stack_zeroing(true);
    if let Some(profiler) = profiler_from_env() {
        config.profiler(profiler);
    }
    config
}

/// `SLUICE_WASM_PROFILER=perfmap` tells `perf` the names of the plugins'
/// compiled functions (wasmtime's perf map, `/tmp/perf-PID.map`), so that
/// `perf record` / `perf report` on the host show where a step spends its
/// time; see docs/benchmarks.md. Anything else, or unset: none.
fn profiler_from_env() -> Option<wasmtime::ProfilingStrategy> {
    match std::env::var("SLUICE_WASM_PROFILER").ok()?.as_str() {
        "perfmap" => Some(wasmtime::ProfilingStrategy::PerfMap),
        other => {
            tracing::warn!(
                value = other,
                "SLUICE_WASM_PROFILER is not perfmap: ignored"
            );
            None
        }
    }
}

/// An engine for `options`, metering fuel or not, on the pooling allocator
/// when it can be reserved; registered with the epoch ticker.
pub(super) fn build_engine(
    options: &RuntimeOptions,
    fuel: bool,
) -> Result<(Engine, bool), RuntimeError> {
    let config = || engine_config(options.engine_flags(fuel));
    let pooled = if options.pooling {
        let mut config = config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config()));
        Engine::new(&config)
            .inspect_err(|e| {
                tracing::warn!(error = %e, fuel, "pooling allocator unavailable; using on-demand allocation")
            })
            .ok()
    } else {
        None
    };
    let (engine, pooling) = match pooled {
        Some(engine) => (engine, true),
        None => (
            Engine::new(&config()).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?,
            false,
        ),
    };
    start_ticker(&engine);
    Ok((engine, pooling))
}

/// WASI (granting nothing, see [`sandbox`]) and the contract's imports.
pub(super) fn build_linker(engine: &Engine) -> Result<Linker<StepState>, RuntimeError> {
    let mut linker = Linker::<StepState>::new(engine);
    let link = |e: wasmtime::Error| RuntimeError::Engine(format!("linker: {e:#}"));
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link)?;
    bindings::host_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
        .map_err(link)?;
    bindings::model_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
        .map_err(link)?;
    bindings::parallel_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
        .map_err(link)?;
    bindings::rows_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
        .map_err(link)?;
    Ok(linker)
}

/// Instances (and call stacks, and linear memories) the pool holds at
/// once. 127, not 128: from 128 slots on, wasmtime 48 splits each of these
/// pools into one shard per CPU, and a thread takes slots from its own
/// shard first. A step's instances are made on whichever tokio worker runs
/// it, so with shards a step often found only slots it had never touched
/// in its worker's shard and faulted a cold slot in, while warm ones (kept
/// resident, see below) sat in the other shard. With one shard, the
/// 1M-row e2e benchmark took fewer page faults and less peak memory
/// (docs/benchmarks.md; benches/results/2026-11-27-e2e-4-direct-writes-mimalloc.md,
/// change 3). The process runs far fewer steps at once than
/// this (`Scheduler::from_env`).
const MAX_POOLED_INSTANCES: u32 = 127;

fn pooling_config() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    // Each memory slot reserves MAX_MEMORY_MIB of address space (not RAM).
    // A running call holds one stack and at least one component instance
    // (an explainer's model call: two of each), so stacks run out no sooner
    // than instances do.
    pool.async_stack_keep_resident(STACK_KEEP_RESIDENT);
    pool.total_component_instances(MAX_POOLED_INSTANCES)
        .total_stacks(MAX_POOLED_INSTANCES)
        .total_core_instances(512)
        .total_memories(MAX_POOLED_INSTANCES)
        .total_tables(256)
        .max_memories_per_component(16)
        .max_tables_per_component(16)
        .max_core_instances_per_component(128)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(4 << 20)
        .max_memory_size(usize::try_from(limits::MAX_MEMORY_MIB << 20).unwrap_or(usize::MAX))
        .table_elements(20_000);
    // A slot's linear memory stays resident when its instance ends: the
    // pages it dirtied are found with the PAGEMAP_SCAN ioctl (Linux 6.7+)
    // and zeroed (or reset to the module's data) with memset, instead of
    // being handed back to the kernel and faulted in again, page by page,
    // by the next instance. A 1M-row step lowers hundreds of MB into its
    // sandbox; on a VM whose freed memory goes back to the hypervisor,
    // each of those page faults costs a fault in the hypervisor too, and
    // keeping slots resident took most of them off the e2e benchmark
    // (docs/benchmarks.md; benches/results/2026-11-27-e2e-2-page-faults.md).
    // Slots are reused least recently
    // used first (no unused warm slots), so what stays resident is bounded
    // by the instances running at once, each up to KEEP_RESIDENT. Where the
    // ioctl is missing, the reset would be a memset of KEEP_RESIDENT bytes
    // whatever the instance touched: keep the default there.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            .max_unused_warm_slots(0);
    }
    pool
}

/// Bytes of a pooled linear memory kept resident between instances.
const KEEP_RESIDENT: usize = 1 << 30;

/// Bytes of a pooled table kept resident between instances: all of it
/// (`table_elements` x 8 bytes is 160 KB). Its dirty pages are found with
/// PAGEMAP_SCAN and reset with memset, like a linear memory's, instead of
/// madvise and a page fault per page on the next instance.
const TABLE_KEEP_RESIDENT: usize = 1 << 20;

/// Bytes at the top of a pooled call stack zeroed with memset when a call
/// ends, instead of handed back to the kernel and faulted in again by the
/// next call (the rest of the stack still is: a call rarely goes deeper).
/// With the tables kept resident, this halves the no-op step's overhead
/// and takes most of its tail off (docs/benchmarks.md).
const STACK_KEEP_RESIDENT: usize = 64 << 10;

/// The epoch ticker: one thread per process that advances every engine
/// registered with it. The list exists before the thread starts, so the
/// thread can never observe it missing.
fn start_ticker(engine: &Engine) {
    static ENGINES: Mutex<Vec<wasmtime::EngineWeak>> = Mutex::new(Vec::new());
    static TICKER: std::sync::Once = std::sync::Once::new();
    ENGINES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(engine.weak());
    TICKER.call_once(|| {
        std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(|| {
                // Tick by the wall clock, not by the count of sleeps: on a
                // loaded machine a sleep overshoots, and counting sleeps
                // would stretch every time limit with the load.
                let start = Instant::now();
                let mut ticked: u128 = 0;
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    let due = start.elapsed().as_nanos() / EPOCH_TICK.as_nanos();
                    let ticks = due.saturating_sub(ticked);
                    ticked = due;
                    let mut list = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
                    list.retain(|weak| match weak.upgrade() {
                        Some(engine) => {
                            for _ in 0..ticks {
                                engine.increment_epoch();
                            }
                            true
                        }
                        None => false,
                    });
                    drop(list);
                    // Calls waiting in a host call past their deadline.
                    deadline::wake_expired();
                }
            })
            .expect("spawn the epoch thread");
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Instance, Module, Store, UpdateDeadline};

    /// A loop's vector values survive the epoch check's call into the
    /// runtime, which (vendor/README.md) preserves every register instead
    /// of having them kept in memory: four f64x2 sums over 100 million turns
    /// come out exact while the epoch ticks under them.
    #[test]
    fn vector_values_survive_the_epoch_checks_of_a_loop() {
        let wat = r#"(module
            (func (export "sums") (param $n i32) (result f64)
                (local $a v128) (local $b v128) (local $c v128) (local $d v128)
                (loop $l
                    (local.set $a (f64x2.add (local.get $a) (v128.const f64x2 1 2)))
                    (local.set $b (f64x2.add (local.get $b) (v128.const f64x2 3 4)))
                    (local.set $c (f64x2.add (local.get $c) (v128.const f64x2 5 6)))
                    (local.set $d (f64x2.add (local.get $d) (v128.const f64x2 7 8)))
                    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
                (f64.add
                    (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $b)))
                    (f64.add (f64x2.extract_lane 0 (local.get $c)) (f64x2.extract_lane 1 (local.get $d))))))"#;
        let flags = EngineFlags {
            fuel: false,
            nan_canonicalization: true,
        };
        let engine = Engine::new(&engine_config(flags)).unwrap();
        let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let mut store = Store::new(&engine, 0u32);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut cx| {
            *cx.data_mut() += 1;
            Ok(UpdateDeadline::Continue(1))
        });
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let sums = instance
            .get_typed_func::<i32, f64>(&mut store, "sums")
            .unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        let n = 100_000_000;
        let got = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    engine.increment_epoch();
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            });
            let got = sums.call(&mut store, n).unwrap();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            got
        });
        assert_eq!(got, f64::from(n) * (1.0 + 4.0 + 5.0 + 8.0));
        assert!(*store.data() > 0, "the epoch never ticked during the loop");
    }

    /// Relaxed SIMD gives the deterministic choice of the specification,
    /// not x86's fastest one (whose truncation of a NaN is `i32::MIN`, and
    /// whose min of two zeros is its second operand).
    #[test]
    fn relaxed_simd_is_deterministic() {
        let wat = r#"(module
            (func (export "trunc") (result i32)
                (i32x4.extract_lane 0 (i32x4.relaxed_trunc_f32x4_s
                    (f32x4.splat (f32.div (f32.const 0) (f32.const 0))))))
            (func (export "min") (result i32)
                (i32.or
                    (i32x4.extract_lane 0 (f32x4.relaxed_min
                        (f32x4.splat (f32.const -0)) (f32x4.splat (f32.const 0))))
                    (i32x4.extract_lane 0 (f32x4.relaxed_min
                        (f32x4.splat (f32.const 0)) (f32x4.splat (f32.const -0))))))
            (func (export "madd") (result f64)
                (f64x2.extract_lane 0 (f64x2.relaxed_madd
                    (f64x2.splat (f64.const 0x1.0000001p0))
                    (f64x2.splat (f64.const 0x1.0000001p0))
                    (f64x2.splat (f64.const -0x1.0000002p0))))))"#;
        let flags = EngineFlags {
            fuel: false,
            nan_canonicalization: true,
        };
        let engine = Engine::new(&engine_config(flags)).unwrap();
        let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(1);
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let int = |store: &mut Store<()>, name: &str| {
            let f = instance
                .get_typed_func::<(), i32>(&mut *store, name)
                .unwrap();
            f.call(&mut *store, ()).unwrap()
        };
        assert_eq!(int(&mut store, "trunc"), 0, "a NaN truncates to 0");
        // -0 both ways: the sign bit set.
        assert_eq!(int(&mut store, "min") as u32, 0x8000_0000);
        // Fused: (1 + 2^-28)^2 - (1 + 2^-27) is 2^-56, which an unfused
        // multiply rounds away.
        let madd = instance
            .get_typed_func::<(), f64>(&mut store, "madd")
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        assert_eq!(madd, 2f64.powi(-56));
    }
}
