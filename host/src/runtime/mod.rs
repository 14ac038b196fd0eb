//! The sandboxed component runtime.
//!
//! One [`wasmtime::Engine`] per process (component model, epoch
//! interruption, NaN canonicalization, the pooling allocator where the pool
//! can be reserved). Components are compiled once and cached on disk
//! ([`cache`]). Every step call gets a fresh `Store` and instance from the
//! plugin's `InstancePre`, with the limits of [`StepLimits`] and a WASI
//! context that grants nothing ([`sandbox`]).
//!
//! Steps with a `fuel` limit run on a second engine, built the first time
//! one asks for it, that meters fuel: metering slows every call, so the
//! unmetered engine stays the default. The two engines' compiled code
//! differs, and so do their compile-cache entries (the engine hash is in
//! the key). What a call returns is measured and checked ([`output`])
//! before the host converts or stores it.

pub mod bindings;
pub mod cache;
pub mod error;
pub mod limits;
pub mod output;
pub mod plugin;
pub mod sandbox;

pub use cache::CompileSource;
pub use error::{RuntimeError, StepFailure, StepFailureKind};
pub use limits::StepLimits;
pub use plugin::{Plugin, World};

use bindings::types;
use output::StepValue;
use plugin::WorldPre;
use sandbox::{MemoryLimitExceeded, ModelCallLimitExceeded, ModelPredictor, StepState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

/// How often the epoch ticks. Time limits are rounded up to this.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// What a successful step call returns besides its value.
#[derive(Debug)]
pub struct StepOutput<T> {
    pub value: T,
    pub log: String,
    pub elapsed: Duration,
    /// Fuel the call spent, when it ran with a `fuel` limit.
    pub fuel_used: Option<u64>,
}

/// The model a validator or explainer calls through its `model` import.
#[derive(Clone)]
pub struct ModelBinding {
    pub trainer: Arc<Plugin>,
    pub model: Arc<Vec<u8>>,
    /// The limits of each call into the trainer.
    pub limits: StepLimits,
}

/// Who is calling and with what bounds.
#[derive(Clone)]
pub struct StepContext {
    pub step: String,
    pub limits: StepLimits,
    /// Seeds the step's randomness; derived from the pipeline's seed and
    /// the step id so a rerun repeats.
    pub seed: u64,
    pub model: Option<ModelBinding>,
    /// Host directories the step may read, each preopened read-only at
    /// `/grants/NAME`. Empty unless the pipeline names a grant and the
    /// tenant allows its directory.
    pub grants: Vec<Grant>,
}

/// A read-only directory granted to a step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    pub name: String,
    pub path: PathBuf,
}

impl Grant {
    /// Where the plugin sees the directory.
    pub fn guest_path(&self) -> String {
        format!("/grants/{}", self.name)
    }
}

impl StepContext {
    pub fn new(step: impl Into<String>, limits: StepLimits, seed: u64) -> Self {
        StepContext {
            step: step.into(),
            limits,
            seed,
            model: None,
            grants: Vec::new(),
        }
    }
}

/// The runtime: engine, linker, compile cache and the plugins loaded so far.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<StepState>,
    cache: cache::CompileCache,
    loaded: Mutex<HashMap<String, Arc<Plugin>>>,
    pooling: bool,
    options: RuntimeOptions,
    /// The fuel-metered engine, built on first use (or why it could not be).
    metered: OnceLock<Result<MeteredEngine, String>>,
}

/// The engine, linker and cache of steps that run with a fuel limit.
struct MeteredEngine {
    engine: Engine,
    linker: Linker<StepState>,
    cache: cache::CompileCache,
}

/// How the engine is built. The defaults are what sluice runs with; the
/// switches exist to measure what each costs (see BENCHMARKS.md).
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are cached (None: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Canonicalize NaNs after every float operation, so results are the
    /// same bits on every CPU. Default on.
    pub nan_canonicalization: bool,
    /// Use the pooling allocator when it can be reserved. Default on.
    pub pooling: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: None,
            nan_canonicalization: true,
            pooling: true,
        }
    }
}

fn base_config(options: &RuntimeOptions) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(options.nan_canonicalization)
        .parallel_compilation(true);
    config
}

/// An engine for `options`, metering fuel or not, on the pooling allocator
/// when it can be reserved; registered with the epoch ticker.
fn build_engine(options: &RuntimeOptions, fuel: bool) -> Result<(Engine, bool), RuntimeError> {
    let config = || {
        let mut config = base_config(options);
        config.consume_fuel(fuel);
        config
    };
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
fn build_linker(engine: &Engine) -> Result<Linker<StepState>, RuntimeError> {
    let mut linker = Linker::<StepState>::new(engine);
    let link = |e: wasmtime::Error| RuntimeError::Engine(format!("linker: {e:#}"));
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link)?;
    bindings::host_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
        .map_err(link)?;
    bindings::model_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
        .map_err(link)?;
    Ok(linker)
}

fn pooling_config() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    // Each memory slot reserves MAX_MEMORY_MIB of address space (not RAM).
    pool.total_component_instances(128)
        .total_core_instances(512)
        .total_memories(128)
        .total_tables(256)
        .max_memories_per_component(16)
        .max_tables_per_component(16)
        .max_core_instances_per_component(128)
        .max_component_instance_size(1 << 20)
        .max_core_instance_size(4 << 20)
        .max_memory_size(usize::try_from(limits::MAX_MEMORY_MIB << 20).unwrap_or(usize::MAX))
        .table_elements(20_000);
    pool
}

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
                }
            })
            .expect("spawn the epoch thread");
    });
}

impl Runtime {
    /// A runtime whose compile cache lives in `cache_dir` (None: no cache).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, RuntimeError> {
        Self::with_options(RuntimeOptions {
            cache_dir,
            ..RuntimeOptions::default()
        })
    }

    pub fn with_options(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let (engine, pooling) = build_engine(&options, false)?;
        let linker = build_linker(&engine)?;
        let cache = cache::CompileCache::new(&engine, options.cache_dir.clone());
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                loaded: Mutex::new(HashMap::new()),
                pooling,
                options,
                metered: OnceLock::new(),
            }),
        })
    }

    /// The fuel-metered engine, built the first time a step asks for fuel.
    fn metered_engine(&self) -> Result<&MeteredEngine, String> {
        self.inner
            .metered
            .get_or_init(|| {
                let options = &self.inner.options;
                let (engine, _) = build_engine(options, true).map_err(|e| e.to_string())?;
                let linker = build_linker(&engine).map_err(|e| e.to_string())?;
                let cache = cache::CompileCache::new(&engine, options.cache_dir.clone());
                Ok(MeteredEngine {
                    engine,
                    linker,
                    cache,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The engine and instance-ready component a call with `limits` runs on:
    /// the plugin compiled for the metered engine when there is a fuel limit.
    fn engine_for<'a>(
        &'a self,
        plugin: &'a Plugin,
        limits: &StepLimits,
    ) -> Result<(&'a Engine, &'a WorldPre), String> {
        if limits.fuel.is_none() {
            return Ok((&self.inner.engine, &plugin.pre));
        }
        let metered = self.metered_engine()?;
        let pre = plugin
            .metered
            .get_or_init(|| {
                let (component, _) = metered
                    .cache
                    .load_or_compile(&metered.engine, &plugin.sha256, &plugin.bytes, &plugin.path)
                    .map_err(|e| e.to_string())?;
                plugin::world_pre(&metered.linker, &component, plugin.world, &plugin.path)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| format!("cannot prepare the plugin for fuel metering: {e}"))?;
        Ok((&metered.engine, pre))
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Whether the pooling allocator could be reserved.
    pub fn pooling(&self) -> bool {
        self.inner.pooling
    }

    /// Load a plugin from a `.wasm` component file: check its header, world
    /// and imports, compile it (or load it from the cache) and ask it to
    /// describe itself. Loading the same bytes twice returns the same plugin.
    pub fn load(&self, path: &Path) -> Result<Arc<Plugin>, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|source| RuntimeError::ReadPlugin {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_bytes(&bytes, path)
    }

    pub fn load_bytes(&self, bytes: &[u8], path: &Path) -> Result<Arc<Plugin>, RuntimeError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        if let Some(p) = self.lock_loaded().get(&sha256) {
            return Ok(p.clone());
        }
        plugin::check_header(bytes, path)?;
        let engine = &self.inner.engine;
        let (component, compile_source) = self
            .inner
            .cache
            .load_or_compile(engine, &sha256, bytes, path)?;
        let inspected = plugin::inspect(engine, &component, path)?;
        let world = inspected.world;
        let pre = plugin::world_pre(&self.inner.linker, &component, world, path)?;
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into());
        let mut plugin = Plugin {
            path: path.to_path_buf(),
            sha256: sha256.clone(),
            world,
            info: types::PluginInfo {
                name: file_name,
                version: "?".into(),
                kind: types::StepKind::Validator,
                doc: String::new(),
                params: Vec::new(),
            },
            imports: inspected.imports,
            compile_source,
            pre,
            bytes: bytes.into(),
            metered: OnceLock::new(),
        };
        let ctx = StepContext::new("describe", StepLimits::for_describe(), 0);
        let info = self.describe_raw(&plugin, &ctx)?.value;
        if World::of_kind(info.kind) != world {
            return Err(RuntimeError::Link {
                path: path.to_path_buf(),
                world: world.name(),
                message: format!(
                    "describe() says kind {:?} but the component implements the {world} world",
                    info.kind
                ),
            });
        }
        plugin.info = info;
        let plugin = Arc::new(plugin);
        self.lock_loaded().insert(sha256, plugin.clone());
        Ok(plugin)
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Plugin>>> {
        self.inner.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run one call in a fresh store and instance, then measure and check
    /// what it returned.
    fn invoke<R: StepValue>(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        call: impl FnOnce(
            &mut Store<StepState>,
            &WorldPre,
        ) -> wasmtime::Result<Result<R, types::StepError>>,
    ) -> Result<StepOutput<R>, StepFailure> {
        let failure = |kind, log: String| {
            StepFailure(Box::new(error::StepFailureDetail {
                step: ctx.step.clone(),
                plugin: plugin.label(),
                sha256: plugin.sha256.clone(),
                kind,
                log,
            }))
        };
        // Before the call: nothing was logged yet.
        let refuse = |kind| failure(kind, String::new());
        if let Err(message) = ctx.limits.check() {
            return Err(refuse(StepFailureKind::InvalidLimits { message }));
        }
        let (engine, pre) = self
            .engine_for(plugin, &ctx.limits)
            .map_err(|message| refuse(StepFailureKind::Trap { message }))?;
        let model = ctx.model.as_ref().map(|m| self.model_predictor(m, ctx));
        let state = StepState::new(&ctx.limits, ctx.seed, model, &ctx.grants)
            .map_err(|message| refuse(StepFailureKind::InvalidLimits { message }))?;
        let mut store = Store::new(engine, state);
        if let Some(fuel) = ctx.limits.fuel {
            store.set_fuel(fuel).map_err(|e| {
                refuse(StepFailureKind::Trap {
                    message: format!("{e:#}"),
                })
            })?;
        }
        store.limiter(|s| &mut s.limiter);
        // What a plugin hands back in one call is bounded by its memory
        // limit (and then by `output_mib`), not by wasmtime's 128 MiB
        // default for host calls: a 1M x 30 table is ~240 MB.
        store.set_hostcall_fuel(ctx.limits.memory_bytes());
        let ticks = ctx
            .limits
            .timeout_ms
            .div_ceil(EPOCH_TICK.as_millis() as u64)
            + 1;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let start = Instant::now();
        let result = call(&mut store, pre);
        let elapsed = start.elapsed();
        let fuel_used = ctx
            .limits
            .fuel
            .map(|fuel| fuel.saturating_sub(store.get_fuel().unwrap_or(0)));
        let state = store.data();
        let log = state.log.contents();
        let fail = |kind| failure(kind, log.clone());
        match result {
            Ok(Ok(value)) => {
                let bytes = value.wire_bytes();
                if bytes > ctx.limits.output_bytes() {
                    return Err(fail(StepFailureKind::OutputTooLarge {
                        limit_mib: ctx.limits.output_mib,
                        bytes,
                        what: R::WHAT,
                    }));
                }
                if let Err(message) = value.check_shape() {
                    return Err(fail(StepFailureKind::InvalidOutput { message }));
                }
                Ok(StepOutput {
                    value,
                    log,
                    elapsed,
                    fuel_used,
                })
            }
            Ok(Err(e)) => Err(fail(StepFailureKind::Guest {
                kind: error_kind_name(e.kind).into(),
                message: e.message,
            })),
            Err(e) => Err(fail(classify_trap(&e, state, &ctx.limits))),
        }
    }

    /// The `model` import of a validator or explainer: each call runs the
    /// trainer's `predict` in a sandbox of its own.
    fn model_predictor(&self, binding: &ModelBinding, ctx: &StepContext) -> ModelPredictor {
        let runtime = self.clone();
        let binding = binding.clone();
        let step = format!("{} (model)", ctx.step);
        let seed = ctx.seed;
        Arc::new(move |features: types::Table| {
            let inner_ctx = StepContext::new(step.clone(), binding.limits, seed);
            match runtime.predict(&binding.trainer, &inner_ctx, &binding.model, &features) {
                Ok(out) => Ok(Ok(out.value)),
                Err(f) => Ok(Err(types::StepError {
                    kind: types::ErrorKind::Internal,
                    message: f.to_string(),
                })),
            }
        })
    }

    fn describe_raw(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
    ) -> Result<StepOutput<types::PluginInfo>, StepFailure> {
        self.invoke(plugin, ctx, |store, pre| {
            Ok(Ok(match pre {
                WorldPre::Validator(p) => p.instantiate(&mut *store)?.call_describe(store)?,
                WorldPre::Transform(p) => p.instantiate(&mut *store)?.call_describe(store)?,
                WorldPre::Trainer(p) => p.instantiate(&mut *store)?.call_describe(store)?,
                WorldPre::Explainer(p) => p.instantiate(&mut *store)?.call_describe(store)?,
            }))
        })
    }

    /// Call `describe()` in a fresh instance (loading already did once).
    pub fn describe(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
    ) -> Result<StepOutput<types::PluginInfo>, StepFailure> {
        self.describe_raw(plugin, ctx)
    }

    pub fn validate(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &types::Table,
        reference: Option<&types::Table>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::ValidationReport>, StepFailure> {
        self.invoke(plugin, ctx, |store, pre| match pre {
            WorldPre::Validator(p) => p
                .instantiate(&mut *store)?
                .call_validate(store, data, reference, params),
            _ => Err(wrong_world(World::Validator)),
        })
    }

    pub fn fit(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &types::Table,
        params: &[types::Param],
    ) -> Result<StepOutput<Vec<u8>>, StepFailure> {
        self.invoke(plugin, ctx, |store, pre| match pre {
            WorldPre::Transform(p) => p.instantiate(&mut *store)?.call_fit(store, data, params),
            _ => Err(wrong_world(World::Transform)),
        })
    }

    pub fn apply(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        state: &[u8],
        data: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        self.invoke(plugin, ctx, |store, pre| match pre {
            WorldPre::Transform(p) => p.instantiate(&mut *store)?.call_apply(store, state, data),
            _ => Err(wrong_world(World::Transform)),
        })
    }

    pub fn train(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &types::Table,
        target: &types::Column,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Trained>, StepFailure> {
        self.invoke(plugin, ctx, |store, pre| match pre {
            WorldPre::Trainer(p) => p
                .instantiate(&mut *store)?
                .call_train(store, features, target, params),
            _ => Err(wrong_world(World::Trainer)),
        })
    }

    pub fn predict(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        model: &[u8],
        features: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        self.invoke(plugin, ctx, |store, pre| match pre {
            WorldPre::Trainer(p) => p
                .instantiate(&mut *store)?
                .call_predict(store, model, features),
            _ => Err(wrong_world(World::Trainer)),
        })
    }

    pub fn explain(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &types::Table,
        target: Option<&types::Column>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Explanation>, StepFailure> {
        self.invoke(plugin, ctx, |store, pre| match pre {
            WorldPre::Explainer(p) => p
                .instantiate(&mut *store)?
                .call_explain(store, features, target, params),
            _ => Err(wrong_world(World::Explainer)),
        })
    }
}

fn wrong_world(expected: World) -> wasmtime::Error {
    wasmtime::Error::msg(format!("the plugin is not a {expected}"))
}

pub fn error_kind_name(kind: types::ErrorKind) -> &'static str {
    match kind {
        types::ErrorKind::InvalidParams => "invalid-params",
        types::ErrorKind::InvalidInput => "invalid-input",
        types::ErrorKind::Internal => "internal",
    }
}

/// Name what stopped a call: the time limit, the memory limit or a trap.
fn classify_trap(e: &wasmtime::Error, state: &StepState, limits: &StepLimits) -> StepFailureKind {
    if let Some(m) = e.downcast_ref::<MemoryLimitExceeded>() {
        return StepFailureKind::MemoryLimit {
            desired: m.desired,
            limit: m.limit,
        };
    }
    if let Some(desired) = state.limiter.exceeded {
        return StepFailureKind::MemoryLimit {
            desired,
            limit: state.limiter.max_memory,
        };
    }
    if e.downcast_ref::<ModelCallLimitExceeded>().is_some()
        || state.model_calls > state.max_model_calls
    {
        return StepFailureKind::ModelCallLimit {
            limit: state.max_model_calls,
        };
    }
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            return StepFailureKind::Timeout {
                timeout_ms: limits.timeout_ms,
            };
        }
        Some(wasmtime::Trap::OutOfFuel) => {
            return StepFailureKind::FuelExhausted {
                fuel: limits.fuel.unwrap_or(0),
            };
        }
        _ => {}
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return StepFailureKind::Trap {
            message: format!("the plugin called exit({})", exit.0),
        };
    }
    StepFailureKind::Trap {
        message: format!("{e:?}"),
    }
}
