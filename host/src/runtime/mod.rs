//! The sandboxed component runtime.
//!
//! One [`wasmtime::Engine`] per process (component model, epoch
//! interruption, NaN canonicalization, the pooling allocator where the pool
//! can be reserved). Components are compiled once and cached on disk
//! ([`cache`]). Every step call gets a fresh `Store` and instance from the
//! plugin's `InstancePre`, with the limits of [`StepLimits`] and a WASI
//! context that grants nothing ([`sandbox`]).

pub mod bindings;
pub mod cache;
pub mod error;
pub mod limits;
pub mod plugin;
pub mod sandbox;

pub use cache::CompileSource;
pub use error::{RuntimeError, StepFailure, StepFailureKind};
pub use limits::StepLimits;
pub use plugin::{Plugin, World};

use bindings::{explainer, trainer, transform, types, validator};
use plugin::WorldPre;
use sandbox::{MemoryLimitExceeded, ModelPredictor, StepState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
}

impl StepContext {
    pub fn new(step: impl Into<String>, limits: StepLimits, seed: u64) -> Self {
        StepContext {
            step: step.into(),
            limits,
            seed,
            model: None,
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
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    let mut list = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
                    list.retain(|weak| match weak.upgrade() {
                        Some(engine) => {
                            engine.increment_epoch();
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
        let pooled = if options.pooling {
            let mut config = base_config(&options);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config()));
            Engine::new(&config)
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "pooling allocator unavailable; using on-demand allocation")
                })
                .ok()
        } else {
            None
        };
        let (engine, pooling) = match pooled {
            Some(engine) => (engine, true),
            None => (
                Engine::new(&base_config(&options))
                    .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?,
                false,
            ),
        };
        start_ticker(&engine);
        let mut linker = Linker::<StepState>::new(&engine);
        let link = |e: wasmtime::Error| RuntimeError::Engine(format!("linker: {e:#}"));
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link)?;
        bindings::host_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
            .map_err(link)?;
        bindings::model_iface::add_to_linker::<_, HasSelf<StepState>>(&mut linker, |s| s)
            .map_err(link)?;
        let cache = cache::CompileCache::new(&engine, options.cache_dir);
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                loaded: Mutex::new(HashMap::new()),
                pooling,
            }),
        })
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
        let link = |e: wasmtime::Error| RuntimeError::Link {
            path: path.to_path_buf(),
            world: world.name(),
            message: format!("{e:#}"),
        };
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(link)?;
        let pre = match world {
            World::Validator => {
                WorldPre::Validator(validator::ValidatorPre::new(instance_pre).map_err(link)?)
            }
            World::Transform => {
                WorldPre::Transform(transform::TransformPre::new(instance_pre).map_err(link)?)
            }
            World::Trainer => {
                WorldPre::Trainer(trainer::TrainerPre::new(instance_pre).map_err(link)?)
            }
            World::Explainer => {
                WorldPre::Explainer(explainer::ExplainerPre::new(instance_pre).map_err(link)?)
            }
        };
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

    /// Run one call in a fresh store and instance.
    fn invoke<R>(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        call: impl FnOnce(
            &mut Store<StepState>,
            &WorldPre,
        ) -> wasmtime::Result<Result<R, types::StepError>>,
    ) -> Result<StepOutput<R>, StepFailure> {
        let model = ctx.model.as_ref().map(|m| self.model_predictor(m, ctx));
        let mut store = Store::new(
            &self.inner.engine,
            StepState::new(&ctx.limits, ctx.seed, model),
        );
        store.limiter(|s| &mut s.limiter);
        let ticks = ctx
            .limits
            .timeout_ms
            .div_ceil(EPOCH_TICK.as_millis() as u64)
            + 1;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let start = Instant::now();
        let result = call(&mut store, &plugin.pre);
        let elapsed = start.elapsed();
        let state = store.data();
        let log = state.log.contents();
        let fail = |kind| {
            StepFailure(Box::new(error::StepFailureDetail {
                step: ctx.step.clone(),
                plugin: plugin.label(),
                sha256: plugin.sha256.clone(),
                kind,
                log: log.clone(),
            }))
        };
        match result {
            Ok(Ok(value)) => Ok(StepOutput {
                value,
                log,
                elapsed,
            }),
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
    if matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    ) {
        return StepFailureKind::Timeout {
            timeout_ms: limits.timeout_ms,
        };
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
