//! The sandboxed component runtime.
//!
//! One [`wasmtime::Engine`] per process (component model, epoch
//! interruption, NaN canonicalization, the pooling allocator where the pool
//! can be reserved). A component is checked against [`CompileLimits`]
//! before anything compiles it ([`compile_limits`]), compiled once, in a
//! child process bounded in memory and time ([`compiler`]), and cached on
//! disk ([`cache`]). Every step call gets a fresh `Store` and instance from
//! the plugin's `InstancePre`, with the limits of [`StepLimits`] and a WASI
//! context that grants nothing (`sandbox`). The model calls of one
//! validator or explainer call go to one trainer instance of their own,
//! kept for that call only (a model session, in `call`).
//!
//! Calls are async only ([`Runtime::apply`] and the others, in `call`):
//! the guest runs on a wasmtime fiber and yields to the caller's executor
//! at every epoch tick, so a long step holds no thread while others wait,
//! and is still stopped at its time limit. Code that is not async drives
//! them on a tokio runtime of its own.
//!
//! Steps with a `fuel` limit run on a second engine, built the first time
//! one asks for it, that meters fuel: metering slows every call, so the
//! unmetered engine stays the default. The two engines' compiled code
//! differs, and so do their compile-cache entries (the engine hash is in
//! the key). What a call returns is measured and checked ([`output`])
//! before the host converts or stores it.

pub mod bindings;
pub mod cache;
mod call;
pub mod compile_limits;
pub mod compiler;
mod deadline;
mod engine;
pub mod error;
mod grant;
pub mod limits;
pub mod nans;
pub mod output;
mod parallel;
pub mod plugin;
pub(crate) mod sandbox;
pub mod view;

pub use cache::CompileSource;
pub use compile_limits::CompileLimits;
pub use compiler::{Compiler, EngineFlags};
pub(crate) use engine::engine_config;
use engine::{build_engine, build_linker};
pub use error::{RuntimeError, StepFailure, StepFailureKind};
pub use grant::{Grant, OpenedDir};
pub use limits::StepLimits;
pub use plugin::{Plugin, World};

use bindings::types;
use plugin::WorldPre;
use sandbox::StepState;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wasmtime::Engine;
use wasmtime::component::Linker;

/// How often the epoch ticks. A running step yields to the executor at
/// every tick, and its time limit is checked then, so limits are rounded up
/// to this.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);
/// What a successful step call returns besides its value.
#[derive(Debug)]
pub struct StepOutput<T> {
    /// What the call returned, checked.
    pub value: T,
    /// The step's log, as bounded by its limits.
    pub log: String,
    /// Wall-clock time of the call.
    pub elapsed: Duration,
    /// Fuel the call spent, when it ran with a `fuel` limit.
    pub fuel_used: Option<u64>,
}

/// The model a validator or explainer calls through its `model` import.
#[derive(Clone)]
pub struct ModelBinding {
    /// The trainer the model came from, which answers the calls.
    pub trainer: Arc<Plugin>,
    /// The model's bytes, as the trainer returned them.
    pub model: Arc<Vec<u8>>,
    /// The limits of each call into the trainer.
    pub limits: StepLimits,
    /// Asked for a step slot to spare before `predict-replacing-each` runs
    /// requests in a spare model session, a second instance of the trainer
    /// (the slot is held while it runs); `None` runs every request in one
    /// instance.
    pub spare_sessions: Option<SpareSessionSlots>,
}

/// Hands out a slot for one spare model session: one more instance of the
/// trainer, next to the step's own, that answers a share of a
/// `predict-replacing-each` call. The slot is a guard that frees it when
/// dropped; `None` when the tenant or the process has none to spare.
pub type SpareSessionSlots = Arc<dyn Fn() -> Option<Box<dyn Send>> + Send + Sync>;

/// Who is calling and with what bounds.
#[derive(Clone)]
pub struct StepContext {
    /// The step's id, named in failures.
    pub step: String,
    /// Its sandbox limits.
    pub limits: StepLimits,
    /// Seeds the step's randomness; derived from the pipeline's seed and
    /// the step id so a rerun repeats.
    pub seed: u64,
    /// The model its `model` import calls (validators and explainers).
    pub model: Option<ModelBinding>,
    /// Host directories the step may read, each preopened read-only at
    /// `/grants/NAME`. Empty unless the pipeline names a grant and the
    /// tenant allows its directory.
    pub grants: Vec<Grant>,
    /// Asked for step slots to spare at the step's first `parallel` call:
    /// one more worker per slot (held until the call ends); `None`: one
    /// worker.
    pub spare_slots: Option<SpareSessionSlots>,
}

impl StepContext {
    /// A context with no model and no grant.
    pub fn new(step: impl Into<String>, limits: StepLimits, seed: u64) -> Self {
        StepContext {
            step: step.into(),
            limits,
            seed,
            model: None,
            grants: Vec::new(),
            spare_slots: None,
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
/// switches exist to measure what each costs (see docs/benchmarks.md).
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are cached (None: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Canonicalize NaNs after every float operation, so results are the
    /// same bits on every CPU. Default on.
    pub nan_canonicalization: bool,
    /// Use the pooling allocator when it can be reserved. Default on.
    pub pooling: bool,
    /// Where components are compiled. Default: in this process (a library
    /// cannot know that its executable is `sluice`); the `sluice` command
    /// compiles in a bounded child of itself ([`Compiler::this_executable`]).
    pub compiler: Compiler,
    /// The bounds of compiling a plugin that [`Runtime::load`] applies
    /// ([`Runtime::load_within`] takes others, e.g. a tenant's).
    pub compile_limits: CompileLimits,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: None,
            nan_canonicalization: true,
            pooling: true,
            compiler: Compiler::InProcess,
            compile_limits: CompileLimits::default(),
        }
    }
}

impl RuntimeOptions {
    fn engine_flags(&self, fuel: bool) -> EngineFlags {
        EngineFlags {
            fuel,
            nan_canonicalization: self.nan_canonicalization,
        }
    }
}

impl Runtime {
    /// A runtime whose compile cache lives in `cache_dir` (None: no cache).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, RuntimeError> {
        Self::with_options(RuntimeOptions {
            cache_dir,
            ..RuntimeOptions::default()
        })
    }

    /// A runtime with these options: its engine (and pooling allocator, where
    /// it can be reserved), linker and compile cache. An error if wasmtime
    /// cannot build the engine.
    pub fn with_options(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let (engine, pooling) = build_engine(&options, false)?;
        let linker = build_linker(&engine)?;
        let cache = cache::CompileCache::new(
            &engine,
            options.engine_flags(false),
            options.cache_dir.clone(),
        );
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
                let cache = cache::CompileCache::new(
                    &engine,
                    options.engine_flags(true),
                    options.cache_dir.clone(),
                );
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
                let how = cache::Compile {
                    compiler: &self.inner.options.compiler,
                    flags: self.inner.options.engine_flags(true),
                    limits: &plugin.compile_limits,
                };
                let (component, _) = metered
                    .cache
                    .load_or_compile(
                        &metered.engine,
                        &plugin.sha256,
                        &plugin.bytes,
                        &plugin.path,
                        &how,
                    )
                    .map_err(|e| e.to_string())?;
                plugin::world_pre(&metered.linker, &component, plugin.world, &plugin.path)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| format!("cannot prepare the plugin for fuel metering: {e}"))?;
        Ok((&metered.engine, pre))
    }

    /// Whether float operations canonicalize NaNs (see
    /// [`RuntimeOptions::nan_canonicalization`]).
    pub fn nan_canonicalization(&self) -> bool {
        self.inner.options.nan_canonicalization
    }

    /// The unmetered wasmtime engine every plugin is compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Whether the pooling allocator could be reserved.
    pub fn pooling(&self) -> bool {
        self.inner.pooling
    }

    /// Load a plugin from a `.wasm` component file: check its header, its
    /// size, functions, world and imports (the runtime's
    /// [`RuntimeOptions::compile_limits`]), compile it (or load it from the
    /// cache) and ask it to describe itself. Loading the same bytes twice
    /// returns the same plugin.
    pub fn load(&self, path: &Path) -> Result<Arc<Plugin>, RuntimeError> {
        self.load_within(path, &self.inner.options.compile_limits)
    }

    /// [`Runtime::load`] under `limits` (a tenant's, say).
    pub fn load_within(
        &self,
        path: &Path,
        limits: &CompileLimits,
    ) -> Result<Arc<Plugin>, RuntimeError> {
        use std::io::Read;
        let read = |source| RuntimeError::ReadPlugin {
            path: path.to_path_buf(),
            source,
        };
        // The size is checked before the file is read whole.
        let file = std::fs::File::open(path).map_err(read)?;
        limits.check_size(file.metadata().map_err(read)?.len(), path)?;
        let mut bytes = Vec::new();
        file.take(limits.plugin_bytes().saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(read)?;
        self.load_bytes_within(&bytes, path, limits)
    }

    /// Loads a plugin from its bytes under the runtime's own compile limits
    /// (`path` names it in errors and records).
    pub fn load_bytes(&self, bytes: &[u8], path: &Path) -> Result<Arc<Plugin>, RuntimeError> {
        self.load_bytes_within(bytes, path, &self.inner.options.compile_limits)
    }

    /// [`Runtime::load_bytes`] under `limits`. The limits, the world and
    /// the imports are checked every time, before the plugin is compiled
    /// or found loaded or cached, so whether a plugin is refused never
    /// depends on what was loaded before.
    pub fn load_bytes_within(
        &self,
        bytes: &[u8],
        path: &Path,
        limits: &CompileLimits,
    ) -> Result<Arc<Plugin>, RuntimeError> {
        plugin::check_header(bytes, path)?;
        let inspected = plugin::inspect(compile_limits::survey(bytes, limits, path)?, path)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        if let Some(p) = self.lock_loaded().get(&sha256) {
            return Ok(p.clone());
        }
        let engine = &self.inner.engine;
        let how = cache::Compile {
            compiler: &self.inner.options.compiler,
            flags: self.inner.options.engine_flags(false),
            limits,
        };
        let (component, compile_source) = self
            .inner
            .cache
            .load_or_compile(engine, &sha256, bytes, path, &how)?;
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
                metrics: Vec::new(),
            },
            imports: inspected.imports,
            compile_source,
            pre,
            bytes: bytes.into(),
            compile_limits: *limits,
            metered: OnceLock::new(),
        };
        let ctx = StepContext::new("describe", StepLimits::for_describe(), 0);
        // Loading compiles, so it is blocking anyway: describe() runs to
        // completion on this thread.
        let info = call::block_on(self.describe(&plugin, &ctx))?.value;
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
}
