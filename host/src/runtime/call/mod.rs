//! Step calls: one fresh store and instance per call, run as a future.
//! (The one exception: the model calls of one validator or explainer call
//! share one trainer instance, a model session: see [`session`]; what a
//! session holds for `predict-replacing` is in [`held`].)
//!
//! The guest runs on a wasmtime fiber. At every epoch tick the store's
//! deadline callback either yields to the executor (the call goes on when
//! it is polled again) or, past the call's time limit, interrupts it, so a
//! step in an endless loop holds an executor thread for at most one tick at
//! a time and still ends at its limit. A metered call also yields every
//! [`FUEL_YIELD_INTERVAL`] units of fuel; yielding changes neither the fuel
//! it spends nor where it runs out.
//!
//! The epoch callback only runs while the guest runs Wasm. A guest that
//! waits inside a host call (a WASI sleep or poll, a blocking file read, a
//! long `predict-each`) is stopped by the same deadline another way: every
//! call, instantiation and model call is raced against it
//! ([`super::deadline`]), and dropped when it passes.
//!
//! Every call is async: code that is not async drives it on the tokio
//! runtime it has (`tokio::runtime::Runtime::block_on`, `#[tokio::test]`). This module is
//! not where model calls are answered ([`session`]) or where plugins are
//! loaded and compiled (the parent module).

mod held;
mod session;

use super::bindings::types;
use super::deadline::{self, Deadline, DeadlinePassed};
use super::error::{self, StepFailure, StepFailureKind};
use super::limits::StepLimits;
use super::output::StepValue;
use super::parallel::Parallel;
use super::plugin::{Plugin, World, WorldPre};
use super::sandbox::{MemoryLimitExceeded, ModelCallLimitExceeded, StepState};
use super::view::{ColumnView, RowSource, TableView};
use super::{Runtime, StepContext, StepOutput};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{ComponentNamedList, Lift, Lower};
use wasmtime::{Store, UpdateDeadline};

/// Fuel a metered call spends between two yields to the executor: about a
/// few milliseconds of guest code, like an epoch tick.
const FUEL_YIELD_INTERVAL: u64 = 10_000_000;

/// One call in flight: its fresh store, the component it instantiates and
/// who is calling.
struct StepCall<'a> {
    store: Store<StepState>,
    pre: &'a WorldPre,
    plugin: &'a Plugin,
    ctx: &'a StepContext,
    started: Instant,
    deadline: Deadline,
}

impl StepCall<'_> {
    /// Measure and check what the call returned.
    fn finish<R: StepValue>(
        self,
        result: wasmtime::Result<Result<R, types::StepError>>,
    ) -> Result<StepOutput<R>, StepFailure> {
        finish(&self.store, self.plugin, self.ctx, self.started, result)
    }
}

/// Measure and check what a call into `store` returned.
fn finish<R: StepValue>(
    store: &Store<StepState>,
    plugin: &Plugin,
    ctx: &StepContext,
    started: Instant,
    result: wasmtime::Result<Result<R, types::StepError>>,
) -> Result<StepOutput<R>, StepFailure> {
    let elapsed = started.elapsed();
    let limits = &ctx.limits;
    let fuel_used = limits
        .fuel
        .map(|fuel| fuel.saturating_sub(store.get_fuel().unwrap_or(0)));
    let state = store.data();
    let log = state.log.contents();
    let fail = |kind, log| failure(plugin, ctx, kind, log);
    match result {
        Ok(Ok(value)) => {
            let bytes = value.wire_bytes();
            if bytes > limits.output_bytes() {
                let kind = StepFailureKind::OutputTooLarge {
                    limit_mib: limits.output_mib,
                    bytes,
                    what: R::WHAT,
                };
                return Err(fail(kind, log));
            }
            let entries = value.entries();
            for (what, count, limit, field) in [
                (
                    "columns",
                    entries.columns,
                    limits.max_columns,
                    "limits.max_columns",
                ),
                (
                    "metrics, checks and attributions",
                    entries.metrics,
                    limits.max_metrics,
                    "limits.max_metrics",
                ),
            ] {
                if count > limit {
                    let kind = StepFailureKind::TooManyEntries {
                        what,
                        count,
                        limit,
                        field,
                    };
                    return Err(fail(kind, log));
                }
            }
            if let Err(message) = value.check_shape() {
                return Err(fail(StepFailureKind::InvalidOutput { message }, log));
            }
            Ok(StepOutput {
                value,
                log,
                elapsed,
                fuel_used,
            })
        }
        Ok(Err(e)) => {
            let kind = StepFailureKind::Guest {
                kind: error_kind_name(e.kind).into(),
                message: e.message,
            };
            Err(fail(kind, log))
        }
        Err(e) => {
            let kind = classify_trap(&e, state, limits);
            Err(fail(kind, log))
        }
    }
}

fn failure(plugin: &Plugin, ctx: &StepContext, kind: StepFailureKind, log: String) -> StepFailure {
    StepFailure(Box::new(error::StepFailureDetail {
        step: ctx.step.clone(),
        plugin: plugin.label(),
        sha256: plugin.sha256.clone(),
        kind,
        log,
    }))
}

/// One call of a world's export in a fresh instance: begin (store, limits,
/// WASI), instantiate, call, finish (log, limits and errors into the
/// step's outcome). A plugin of another world is an error naming both.
macro_rules! guest_call {
    ($self:ident, $plugin:ident, $ctx:ident, $world:ident, |$inst:ident, $store:ident| $call:expr) => {{
        let mut call = $self.begin($plugin, $ctx)?;
        let $store = &mut call.store;
        let result = match call.pre {
            WorldPre::$world(p) => {
                deadline::within(&call.deadline, async {
                    let $inst = p.instantiate_async(&mut *$store).await?;
                    $call.await
                })
                .await
            }
            _ => Err(wrong_world(World::$world)),
        };
        call.finish(result)
    }};
}

/// Start a call in `store`: its time limit runs from now, and a metered
/// store gets its whole fuel budget again.
fn arm(
    store: &mut Store<StepState>,
    deadline: &Deadline,
    limits: &StepLimits,
) -> wasmtime::Result<Instant> {
    let started = Instant::now();
    *deadline.lock().unwrap_or_else(|e| e.into_inner()) = started
        .checked_add(Duration::from_millis(limits.timeout_ms))
        .unwrap_or(started + Duration::from_secs(u32::MAX.into()));
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel)?;
    }
    store.set_epoch_deadline(1);
    Ok(started)
}

/// What every store of a step (and of its `parallel` workers) gets: fuel
/// yields, the memory limiter, the host-call size bound, and the time
/// limit, checked at each epoch tick against `deadline`.
pub(super) fn configure_store(
    store: &mut Store<StepState>,
    limits: &StepLimits,
    deadline: Deadline,
) -> wasmtime::Result<()> {
    if limits.fuel.is_some() {
        store.fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL))?;
    }
    store.limiter(|s| &mut s.limiter);
    // What a plugin hands back in one call is bounded by its memory
    // limit (and then by `output_mib`), not by wasmtime's 128 MiB
    // default for host calls: a 1M x 30 table is ~240 MB.
    store.set_hostcall_fuel(limits.memory_bytes());
    // Yield at every tick until the time limit has passed by the wall
    // clock, then stop the call (as `Trap::Interrupt`). Time spent
    // yielded, waiting to be polled again, counts: the limit is wall
    // time, as it was when a call held its thread.
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline::at(&deadline) {
            UpdateDeadline::Interrupt
        } else {
            // tokio's yield puts the task back only after the scheduler
            // has looked at its driver and its other queues; a plain
            // self-wake would run the step again at once, and with one
            // worker thread the others would wait tens of ticks for
            // each wake-up. Outside tokio it wakes at once.
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
    Ok(())
}

impl Runtime {
    /// A fresh store for `plugin` with the limits of `ctx`: memory, fuel,
    /// host-call size, and the time limit (armed by [`arm`]) checked at
    /// each epoch tick. Returns the instance-ready component too.
    fn new_store<'a>(
        &'a self,
        plugin: &'a Plugin,
        ctx: &StepContext,
    ) -> Result<(Store<StepState>, &'a WorldPre, Deadline), StepFailure> {
        // Before the call: nothing was logged yet.
        let refuse = |kind| failure(plugin, ctx, kind, String::new());
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
        let deadline: Deadline = Arc::new(Mutex::new(Instant::now()));
        configure_store(&mut store, &ctx.limits, deadline.clone()).map_err(|e| {
            refuse(StepFailureKind::Trap {
                message: format!("{e:#}"),
            })
        })?;
        store.data_mut().parallel = Some(Parallel::new(
            engine.clone(),
            pre.instance_pre().clone(),
            ctx.limits,
            ctx.seed,
            deadline.clone(),
            ctx.spare_slots.clone(),
        ));
        Ok((store, pre, deadline))
    }

    /// A fresh store for one call, armed.
    fn begin<'a>(
        &'a self,
        plugin: &'a Plugin,
        ctx: &'a StepContext,
    ) -> Result<StepCall<'a>, StepFailure> {
        let (mut store, pre, deadline) = self.new_store(plugin, ctx)?;
        let started = arm(&mut store, &deadline, &ctx.limits).map_err(|e| {
            failure(
                plugin,
                ctx,
                StepFailureKind::Trap {
                    message: format!("{e:#}"),
                },
                String::new(),
            )
        })?;
        Ok(StepCall {
            store,
            pre,
            plugin,
            ctx,
            started,
            deadline,
        })
    }

    /// Call `describe()` in a fresh instance (loading already did once).
    pub async fn describe(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
    ) -> Result<StepOutput<types::PluginInfo>, StepFailure> {
        let mut call = self.begin(plugin, ctx)?;
        let pre = call.pre;
        let store = &mut call.store;
        let result = deadline::within(&call.deadline, async {
            Ok(Ok(match pre {
                WorldPre::Validator(p) => {
                    p.instantiate_async(&mut *store)
                        .await?
                        .call_describe(&mut *store)
                        .await?
                }
                WorldPre::Transform(p) => {
                    p.instantiate_async(&mut *store)
                        .await?
                        .call_describe(&mut *store)
                        .await?
                }
                WorldPre::Trainer(p) => {
                    p.instantiate_async(&mut *store)
                        .await?
                        .call_describe(&mut *store)
                        .await?
                }
                WorldPre::Explainer(p) => {
                    p.instantiate_async(&mut *store)
                        .await?
                        .call_describe(&mut *store)
                        .await?
                }
            }))
        })
        .await;
        call.finish(result)
    }

    /// Calls a validator's `validate` on `data` (and `reference`) in a fresh
    /// sandbox bounded by `ctx`. The error names the step and the plugin, and
    /// says which limit was hit, what trapped or what the plugin returned.
    pub async fn validate(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &types::Table,
        reference: Option<&types::Table>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::ValidationReport>, StepFailure> {
        guest_call!(self, plugin, ctx, Validator, |i, store| i
            .call_validate(store, data, reference, params))
    }

    /// Calls a transform's `fit` on `data`: the fitted state's bytes. Errors as
    /// for [`Runtime::validate`].
    pub async fn fit(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &types::Table,
        params: &[types::Param],
    ) -> Result<StepOutput<Vec<u8>>, StepFailure> {
        guest_call!(self, plugin, ctx, Transform, |i, store| i
            .call_fit(store, data, params))
    }

    /// Calls a transform's `apply` of `state` to `data`: the transformed table.
    /// Errors as for [`Runtime::validate`].
    pub async fn apply(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        state: &[u8],
        data: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        guest_call!(self, plugin, ctx, Transform, |i, store| i
            .call_apply(store, state, data))
    }

    /// Calls a trainer's `train` on `features` and `target`: the model's bytes
    /// and metrics. Errors as for [`Runtime::validate`].
    pub async fn train(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &types::Table,
        target: &types::Column,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Trained>, StepFailure> {
        guest_call!(self, plugin, ctx, Trainer, |i, store| i
            .call_train(store, features, target, params))
    }

    /// Calls a trainer's `predict` with `model` on `features`: one row out per
    /// row in. Errors as for [`Runtime::validate`].
    pub async fn predict(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        model: &[u8],
        features: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        guest_call!(self, plugin, ctx, Trainer, |i, store| i
            .call_predict(store, model, features))
    }

    /// [`train_view`](Self::train_view) of `source`'s table and target;
    /// to a plugin that imports the contract's `rows` interface, passed
    /// without their rows, which it reads a block at a time (the table is
    /// never copied into its memory whole).
    ///
    /// # Panics
    ///
    /// When `source` has no target column: the caller checks that the
    /// step's input has one.
    pub async fn train_rows(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        source: Arc<dyn RowSource>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Trained>, StepFailure> {
        let features = source.features();
        let target = source
            .target()
            .expect("train_rows of a table with a target");
        if !plugin.reads_rows() {
            return self
                .train_view(plugin, ctx, &features, &target, params)
                .await;
        }
        let args = (&features.without_rows(), &target.rows(0..0), params);
        let rows = Some(source.clone());
        self.export_call_reading(plugin, ctx, World::Trainer, "train", args, rows)
            .await
    }

    /// [`train`](Self::train) of a table lowered from where its values
    /// already are (see [`view`](super::view)) instead of from an owned
    /// copy of them.
    pub async fn train_view(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &TableView<'_>,
        target: &ColumnView<'_>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Trained>, StepFailure> {
        self.export_call(
            plugin,
            ctx,
            World::Trainer,
            "train",
            (features, target, params),
        )
        .await
    }

    /// [`predict`](Self::predict) of a table lowered as
    /// [`train_view`](Self::train_view) lowers one.
    pub async fn predict_view(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        model: &[u8],
        features: &TableView<'_>,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        self.export_call(plugin, ctx, World::Trainer, "predict", (model, features))
            .await
    }

    /// [`validate`](Self::validate) of tables lowered as
    /// [`train_view`](Self::train_view) lowers one.
    pub async fn validate_view(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &TableView<'_>,
        reference: Option<&TableView<'_>>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::ValidationReport>, StepFailure> {
        let args = (data, reference, params);
        self.export_call(plugin, ctx, World::Validator, "validate", args)
            .await
    }

    /// [`fit`](Self::fit) of a table lowered as
    /// [`train_view`](Self::train_view) lowers one.
    pub async fn fit_view(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &TableView<'_>,
        params: &[types::Param],
    ) -> Result<StepOutput<Vec<u8>>, StepFailure> {
        self.export_call(plugin, ctx, World::Transform, "fit", (data, params))
            .await
    }

    /// [`apply`](Self::apply) to a table lowered as
    /// [`train_view`](Self::train_view) lowers one.
    pub async fn apply_view(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        state: &[u8],
        data: &TableView<'_>,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        self.export_call(plugin, ctx, World::Transform, "apply", (state, data))
            .await
    }

    /// [`explain_view`](Self::explain_view) of `source`'s table and
    /// target; to a plugin that imports the contract's `rows` interface,
    /// passed without their rows, which it reads as it needs them (see
    /// [`train_rows`](Self::train_rows)).
    pub async fn explain_rows(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        source: Arc<dyn RowSource>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Explanation>, StepFailure> {
        let features = source.features();
        let target = source.target();
        if !plugin.reads_rows() {
            return self
                .explain_view(plugin, ctx, &features, target.as_ref(), params)
                .await;
        }
        let target = target.map(|t| t.rows(0..0));
        let args = (&features.without_rows(), target.as_ref(), params);
        let rows = Some(source.clone());
        self.export_call_reading(plugin, ctx, World::Explainer, "explain", args, rows)
            .await
    }

    /// [`explain`](Self::explain) of a table lowered as
    /// [`train_view`](Self::train_view) lowers one.
    pub async fn explain_view(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &TableView<'_>,
        target: Option<&ColumnView<'_>>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Explanation>, StepFailure> {
        let args = (features, target, params);
        self.export_call(plugin, ctx, World::Explainer, "explain", args)
            .await
    }

    /// One call of the export `name` of a plugin of `world` with `args`,
    /// typed here rather than by the generated bindings (which take owned
    /// tables), in a fresh instance as [`guest_call!`] makes one.
    async fn export_call<A, R>(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        world: World,
        name: &str,
        args: A,
    ) -> Result<StepOutput<R>, StepFailure>
    where
        A: ComponentNamedList + Lower + Send + Sync,
        R: StepValue + Lift + Send + Sync + 'static,
    {
        self.export_call_reading(plugin, ctx, world, name, args, None)
            .await
    }

    /// [`export_call`](Self::export_call) whose table was passed without
    /// its rows: the plugin's `rows` import reads them from `rows`.
    async fn export_call_reading<A, R>(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        world: World,
        name: &str,
        args: A,
        rows: Option<Arc<dyn RowSource>>,
    ) -> Result<StepOutput<R>, StepFailure>
    where
        A: ComponentNamedList + Lower + Send + Sync,
        R: StepValue + Lift + Send + Sync + 'static,
    {
        let mut call = self.begin(plugin, ctx)?;
        call.store.data_mut().rows = rows;
        let store = &mut call.store;
        let pre = match (call.pre, world) {
            (WorldPre::Validator(p), World::Validator) => Some(p.instance_pre()),
            (WorldPre::Transform(p), World::Transform) => Some(p.instance_pre()),
            (WorldPre::Trainer(p), World::Trainer) => Some(p.plain.instance_pre()),
            (WorldPre::Explainer(p), World::Explainer) => Some(p.instance_pre()),
            _ => None,
        };
        let result = match pre {
            Some(pre) => {
                deadline::within(&call.deadline, async {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    let export = instance
                        .get_typed_func::<A, (Result<R, types::StepError>,)>(&mut *store, name)?;
                    Ok(export.call_async(&mut *store, args).await?.0)
                })
                .await
            }
            None => Err(wrong_world(world)),
        };
        call.finish(result)
    }

    /// Calls an explainer's `explain` on `features` (and `target`), its `model`
    /// import bound to `ctx`'s model. Errors as for [`Runtime::validate`].
    pub async fn explain(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &types::Table,
        target: Option<&types::Column>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Explanation>, StepFailure> {
        guest_call!(self, plugin, ctx, Explainer, |i, store| i
            .call_explain(store, features, target, params))
    }
}

/// Drive `call` to completion on this thread, inside a tokio context
/// (WASI's clock pollables are tokio timers): the caller's, or outside one,
/// wasmtime-wasi's own runtime. For loading, which compiles and so blocks
/// anyway; never on an async worker thread: it would hold the thread for
/// the whole call.
pub(super) fn block_on<F: std::future::Future>(call: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            let _entered = handle.enter();
            futures::executor::block_on(call)
        }
        Err(_) => wasmtime_wasi::runtime::in_tokio(call),
    }
}

fn wrong_world(expected: World) -> wasmtime::Error {
    let world = expected.to_string();
    let article = if world.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    wasmtime::Error::msg(format!("the plugin is not {article} {world}"))
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
    if e.downcast_ref::<DeadlinePassed>().is_some() {
        return StepFailureKind::Timeout {
            timeout_ms: limits.timeout_ms,
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
        message: error::error_chain(e),
    }
}
