//! Step calls: one fresh store and instance per call, run as a future.
//! (The one exception: the model calls of one validator or explainer call
//! share one trainer instance, a [`ModelSession`].)
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
//! Each `*_async` method has a blocking twin (`apply` for `apply_async`)
//! that polls the same future to completion on the calling thread, for
//! tests, the conformance suite and other code that is not async. Never
//! call a blocking twin on an async executor's worker thread: it would hold
//! the thread for the whole call.

use super::bindings::holding_trainer::HoldingTrainer as HoldingTrainerBindings;
use super::bindings::trainer::Trainer as TrainerBindings;
use super::bindings::types;
use super::deadline::{self, Deadline, DeadlinePassed, OwnedTasks};
use super::error::{self, StepFailure, StepFailureKind};
use super::limits::StepLimits;
use super::output::StepValue;
use super::plugin::{Plugin, World, WorldPre};
use super::sandbox::{
    MemoryLimitExceeded, ModelCall, ModelCallLimitExceeded, ModelPredictor, ModelReply,
    PredictRequest, StepState,
};
use super::{ModelBinding, Runtime, StepContext, StepOutput};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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

/// The trainer instance that answers one validator or explainer call's
/// `model` import: instantiated at the first model call and kept for the
/// next ones of the same call (same tenant, step and model), so the
/// trainer's linear memory is not built and faulted in again for every
/// call. Each call still runs with the trainer's full limits (time, fuel,
/// output); a call that fails drops the instance, and the next call gets
/// a fresh one. Nothing outlives the calling step's call.
struct ModelSession {
    store: Store<StepState>,
    trainer: SessionTrainer,
    deadline: Deadline,
}

/// The session's trainer instance, and what `hold` left with it.
enum SessionTrainer {
    /// A trainer without the `holding` export: the host keeps the held
    /// table and calls `predict` on it with the new columns swapped in.
    Plain {
        trainer: TrainerBindings,
        held: Option<types::Table>,
    },
    /// A trainer that holds the table itself: only the new columns cross.
    /// The host keeps the table's shape to check requests against, and
    /// the table (shared, not copied) to permute columns of.
    Holding {
        trainer: HoldingTrainerBindings,
        held: Option<(HeldShape, Arc<types::Table>)>,
    },
}

/// The model sessions of one step call: its own, the spare ones of
/// `predict-replacing-each` with the generation of the table they hold,
/// and that table (trainers that export `holding` only).
#[derive(Default)]
struct ModelSessions {
    primary: Option<ModelSession>,
    spare: Vec<(ModelSession, u64)>,
    held: Option<Arc<types::Table>>,
    /// Counts the step's `hold` calls: a spare session holding an older
    /// table holds the new one before it answers.
    generation: u64,
}

/// One request's answer of `predict-replacing-each`, by its index.
type Answer = (usize, Result<types::Table, types::StepError>);

/// A spare session to keep and the answers of its chunk.
type SpareChunk = (Option<(ModelSession, u64)>, Vec<Answer>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn internal(message: String) -> types::StepError {
    types::StepError {
        kind: types::ErrorKind::Internal,
        message,
    }
}

/// The session a model call leaves (none after a call the trainer
/// failed) and its answer, or the message of whatever went wrong.
fn answer_of(
    r: Result<ModelAnswer, StepFailure>,
) -> (Option<ModelSession>, Result<Option<types::Table>, String>) {
    match r {
        Ok((open, Ok(Ok(t)))) => (open, Ok(t)),
        Ok((open, Ok(Err(e)))) => (open, Err(e.message)),
        Ok((open, Err(e))) => (open, Err(format!("{e:#}"))),
        Err(f) => (None, Err(f.to_string())),
    }
}

/// The session to keep and the answer of one model call.
type ModelAnswer = (
    Option<ModelSession>,
    wasmtime::Result<Result<Option<types::Table>, types::StepError>>,
);

fn some<E>(r: Result<types::Table, E>) -> Result<Option<types::Table>, E> {
    r.map(Some)
}

fn not_held() -> types::StepError {
    types::StepError {
        kind: types::ErrorKind::InvalidInput,
        message: "predict-replacing: no table is held (call hold first; a model call that \
                  failed drops what was held)"
            .into(),
    }
}

/// The names and rows of a held table, to check what `predict-replacing`
/// sends before the trainer sees it.
struct HeldShape {
    names: Vec<String>,
    rows: usize,
}

impl HeldShape {
    fn of(table: &types::Table) -> HeldShape {
        HeldShape {
            names: table.columns.iter().map(|c| c.name.clone()).collect(),
            rows: table.columns.first().map_or(0, column_rows),
        }
    }

    /// Where each column goes; the messages are the SDK's
    /// (`sluice_sdk::check_replacing`).
    fn check(&self, columns: &[types::Column]) -> Result<Vec<usize>, types::StepError> {
        let invalid = |message: String| types::StepError {
            kind: types::ErrorKind::InvalidInput,
            message: format!("predict-replacing: {message}"),
        };
        let mut at = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let Some(j) = self.names.iter().position(|n| *n == column.name) else {
                return Err(invalid(format!(
                    "column '{}' is not in the held table",
                    column.name
                )));
            };
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(invalid(format!("column '{}' is given twice", column.name)));
            }
            let rows = column_rows(column);
            if rows != self.rows {
                return Err(invalid(format!(
                    "column '{}' has {rows} rows, the held table has {}",
                    column.name, self.rows
                )));
            }
            at.push(j);
        }
        Ok(at)
    }
}

fn column_rows(column: &types::Column) -> usize {
    match &column.values {
        types::Values::F64s(v) => v.len(),
        types::Values::I64s(v) => v.len(),
        types::Values::Bools(v) => v.len(),
        types::Values::Strings(v) => v.len(),
    }
}

/// The held columns `permute` names, each with its rows in the order of
/// its seed's permutation (the WIT `permutation`: the SDK's
/// `SplitMix64::new(seed).shuffle`, the null mask moved with the values).
/// An invalid-input error names a column that is not held, or one named
/// twice (in `permute`, or in `permute` and `replace`).
fn permuted(
    held: &types::Table,
    permute: &[(String, u64)],
    replace: &[types::Column],
) -> Result<Vec<types::Column>, types::StepError> {
    let invalid = |message: String| types::StepError {
        kind: types::ErrorKind::InvalidInput,
        message: format!("predict-each: {message}"),
    };
    let mut out = Vec::with_capacity(permute.len());
    for (i, (name, seed)) in permute.iter().enumerate() {
        let Some(column) = held.columns.iter().find(|c| c.name == *name) else {
            return Err(invalid(format!(
                "column '{name}' to permute is not in the held table"
            )));
        };
        if permute[..i].iter().any(|(n, _)| n == name) || replace.iter().any(|c| c.name == *name) {
            return Err(invalid(format!("column '{name}' is given twice")));
        }
        out.push(permute_column(column, *seed));
    }
    Ok(out)
}

/// `column` permuted by `seed` (see [`permuted`]): the SDK's own
/// shuffle of a column's parts.
fn permute_column(column: &types::Column, seed: u64) -> types::Column {
    use sluice_determ::random::{SplitMix64, shuffled_parts};
    use types::Values;
    let rng = &mut SplitMix64::new(seed);
    let valid = column.valid.as_deref();
    let (values, valid) = match &column.values {
        Values::F64s(v) => shuffled_parts(v, valid, rng, Values::F64s),
        Values::I64s(v) => shuffled_parts(v, valid, rng, Values::I64s),
        Values::Bools(v) => shuffled_parts(v, valid, rng, Values::Bools),
        Values::Strings(v) => shuffled_parts(v, valid, rng, Values::Strings),
    };
    types::Column {
        name: column.name.clone(),
        values,
        valid,
    }
}

/// The columns `request` puts in place of held ones (its replacements,
/// then its permutations of `held`'s columns) and the outputs it asks for;
/// or the explainer's error in it.
fn resolve(
    held: &types::Table,
    request: PredictRequest,
) -> Result<(Vec<types::Column>, Vec<String>), types::StepError> {
    let PredictRequest {
        replace,
        permute,
        outputs,
    } = request;
    check_outputs(&outputs)?;
    let permuted = permuted(held, &permute, &replace)?;
    Ok((replace.into_iter().chain(permuted).collect(), outputs))
}

/// An output asked for twice is the explainer's error, found before the
/// trainer is called (one that fails drops its session and what it held).
fn check_outputs(outputs: &[String]) -> Result<(), types::StepError> {
    match (1..outputs.len()).find(|&i| outputs[..i].contains(&outputs[i])) {
        Some(i) => Err(types::StepError {
            kind: types::ErrorKind::InvalidInput,
            message: format!("output '{}' is asked for twice", outputs[i]),
        }),
        None => Ok(()),
    }
}

/// The columns of `predictions` named in `outputs`, in that order (all
/// when it is empty); the messages are the SDK's
/// (`sluice_sdk::select_outputs`).
fn select_outputs(
    mut predictions: types::Table,
    outputs: &[String],
) -> Result<types::Table, types::StepError> {
    if outputs.is_empty() {
        return Ok(predictions);
    }
    check_outputs(outputs)?;
    let mut picked = Vec::with_capacity(outputs.len());
    for name in outputs {
        let Some(j) = predictions.columns.iter().position(|c| c.name == *name) else {
            let have: Vec<&str> = predictions
                .columns
                .iter()
                .chain(&picked)
                .map(|c: &types::Column| c.name.as_str())
                .collect();
            return Err(types::StepError {
                kind: types::ErrorKind::InvalidInput,
                message: format!(
                    "the model's predictions have no column '{name}'; they have: {}",
                    have.join(", ")
                ),
            });
        };
        picked.push(predictions.columns.swap_remove(j));
    }
    Ok(types::Table { columns: picked })
}

/// `table` with `columns` swapped in at `at`; swapping again with what
/// this returns puts it back.
fn swap_columns(
    table: &mut types::Table,
    at: &[usize],
    columns: Vec<types::Column>,
) -> Vec<types::Column> {
    at.iter()
        .zip(columns)
        .map(|(&j, column)| std::mem::replace(&mut table.columns[j], column))
        .collect()
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
        let trap = |e: wasmtime::Error| {
            refuse(StepFailureKind::Trap {
                message: format!("{e:#}"),
            })
        };
        if ctx.limits.fuel.is_some() {
            store
                .fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL))
                .map_err(trap)?;
        }
        store.limiter(|s| &mut s.limiter);
        // What a plugin hands back in one call is bounded by its memory
        // limit (and then by `output_mib`), not by wasmtime's 128 MiB
        // default for host calls: a 1M x 30 table is ~240 MB.
        store.set_hostcall_fuel(ctx.limits.memory_bytes());
        // Yield at every tick until the time limit has passed by the wall
        // clock, then stop the call (as `Trap::Interrupt`). Time spent
        // yielded, waiting to be polled again, counts: the limit is wall
        // time, as it was when a call held its thread.
        let deadline: Deadline = Arc::new(Mutex::new(Instant::now()));
        let read = deadline.clone();
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline::at(&read) {
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

    /// The `model` import of a validator or explainer: the trainer's
    /// `predict` (and `hold`, `predict-replacing`) in a sandbox of its own,
    /// one [`ModelSession`] for all the model calls of this step call, and
    /// for `predict-replacing-each`, more sessions side by side when
    /// [`ModelBinding::helpers`] hands out slots.
    fn model_predictor(&self, binding: &ModelBinding, ctx: &StepContext) -> ModelPredictor {
        let runtime = self.clone();
        let binding = binding.clone();
        let inner_ctx = StepContext::new(format!("{} (model)", ctx.step), binding.limits, ctx.seed);
        let sessions: Arc<Mutex<ModelSessions>> = Arc::default();
        Arc::new(move |call: ModelCall| {
            let (runtime, binding, ctx) = (runtime.clone(), binding.clone(), inner_ctx.clone());
            let sessions = sessions.clone();
            Box::pin(async move {
                if let ModelCall::PredictEach(requests) = call {
                    let out = runtime
                        .model_each(&sessions, &binding, &ctx, requests)
                        .await;
                    return Ok(out.map(ModelReply::Tables));
                }
                // Kept for the spare sessions of predict-replacing-each
                // (trainers that hold the table themselves only).
                let keep = match &call {
                    ModelCall::Hold(t) if binding.trainer.exports_holding() => Some(t.clone()),
                    _ => None,
                };
                // The calls of one step come one after another; a session
                // taken out and not put back (a failed call) is dropped,
                // and what it held with it.
                let open = lock(&sessions).primary.take();
                let (trainer, model) = (&*binding.trainer, &binding.model[..]);
                let is_hold = matches!(call, ModelCall::Hold(_));
                match runtime.model_call(open, trainer, model, &ctx, call).await {
                    Ok((open, out)) => {
                        let mut s = lock(&sessions);
                        s.primary = open;
                        if is_hold {
                            s.generation += 1;
                            s.held = keep.filter(|_| matches!(out, Ok(Ok(_))));
                        }
                        out.map(|r| r.map(|t| t.map_or(ModelReply::Held, ModelReply::Table)))
                    }
                    Err(f) => {
                        // The failed session is dropped, and what it held.
                        lock(&sessions).held = None;
                        Ok(Err(types::StepError {
                            kind: types::ErrorKind::Internal,
                            message: f.to_string(),
                        }))
                    }
                }
            })
        })
    }

    /// `predict-replacing-each`: the requests in order, in contiguous
    /// chunks, the first in the step's session and each other one in a
    /// spare session (holding the same table) on a task of its own, for
    /// as many slots as [`ModelBinding::helpers`] hands out (up to one per
    /// core). Without slots, outside tokio, or for a trainer the host
    /// holds the table for, all in the step's session.
    async fn model_each(
        &self,
        sessions: &Arc<Mutex<ModelSessions>>,
        binding: &ModelBinding,
        ctx: &StepContext,
        requests: Vec<PredictRequest>,
    ) -> Result<Vec<types::Table>, types::StepError> {
        let n = requests.len();
        let (held, generation) = {
            let s = lock(sessions);
            (s.held.clone(), s.generation)
        };
        let mut slots = Vec::new();
        if let (Some(grant), Some(_), Ok(_)) = (
            &binding.helpers,
            &held,
            tokio::runtime::Handle::try_current(),
        ) {
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            while slots.len() + 1 < cores.min(n) {
                match grant() {
                    Some(slot) => slots.push(slot),
                    None => break,
                }
            }
        }
        let per_chunk = n.div_ceil(slots.len() + 1).max(1);
        let mut chunks: Vec<Vec<(usize, PredictRequest)>> = Vec::new();
        for (i, request) in requests.into_iter().enumerate() {
            if i % per_chunk == 0 {
                chunks.push(Vec::new());
            }
            chunks.last_mut().expect("pushed above").push((i, request));
        }
        let mut chunks = chunks.into_iter();
        let first = chunks.next().unwrap_or_default();
        // Aborted if this call is dropped at the step's deadline.
        let mut tasks = OwnedTasks::default();
        if let Some(held) = &held {
            for chunk in chunks.by_ref() {
                let spare = lock(sessions).spare.pop();
                let (runtime, binding, ctx) = (self.clone(), binding.clone(), ctx.clone());
                let held = held.clone();
                tasks.push(tokio::spawn(async move {
                    runtime
                        .spare_chunk(spare, &binding, &ctx, held, generation, chunk)
                        .await
                }));
            }
        }
        // The step's own session: the first chunk (every chunk without
        // spare sessions).
        let open = lock(sessions).primary.take();
        let mine = first.into_iter().chain(chunks.flatten()).collect();
        let (open, mut answers) = self.answer_chunk(open, binding, ctx, mine).await;
        if open.is_none() && answers.iter().any(|(_, a)| a.is_err()) {
            // The failed session is dropped, and what it held.
            lock(sessions).held = None;
        }
        lock(sessions).primary = open;
        for task in tasks.join().await {
            match task {
                Ok((spare, out)) => {
                    if let Some(spare) = spare {
                        lock(sessions).spare.push(spare);
                    }
                    answers.extend(out);
                }
                Err(e) => answers.push((n, Err(internal(format!("a model task failed: {e}"))))),
            }
        }
        drop(slots);
        answers.sort_by_key(|(i, _)| *i);
        if let Some((_, Err(e))) = answers.iter().find(|(_, a)| a.is_err()) {
            return Err(e.clone());
        }
        if answers.len() != n {
            return Err(internal(format!(
                "{} of {n} requests answered",
                answers.len()
            )));
        }
        answers.into_iter().map(|(_, a)| a).collect()
    }

    /// One chunk of `predict-replacing-each` in a spare session, which
    /// first holds the table if it holds an older one (or none). Returns
    /// the session to keep and the answers, as [`Self::answer_chunk`].
    async fn spare_chunk(
        &self,
        spare: Option<(ModelSession, u64)>,
        binding: &ModelBinding,
        ctx: &StepContext,
        held: Arc<types::Table>,
        generation: u64,
        chunk: Vec<(usize, PredictRequest)>,
    ) -> SpareChunk {
        let mut session = match spare {
            Some((session, g)) if g == generation => Some(session),
            _ => None,
        };
        if session.is_none() {
            let (trainer, model) = (&*binding.trainer, &binding.model[..]);
            let hold = ModelCall::Hold(held);
            let (open, out) = answer_of(self.model_call(None, trainer, model, ctx, hold).await);
            if let Err(m) = out {
                let i = chunk.first().map_or(0, |(i, _)| *i);
                return (None, vec![(i, Err(internal(format!("request {i}: {m}"))))]);
            }
            session = open;
        }
        let (session, answers) = self.answer_chunk(session, binding, ctx, chunk).await;
        (session.map(|s| (s, generation)), answers)
    }

    /// `predict-replacing` of each request of `chunk` in `session`, in
    /// order, up to the first that fails (named by its index). Returns the
    /// session to keep (none after a call the trainer failed) and the
    /// answers.
    async fn answer_chunk(
        &self,
        mut session: Option<ModelSession>,
        binding: &ModelBinding,
        ctx: &StepContext,
        chunk: Vec<(usize, PredictRequest)>,
    ) -> (Option<ModelSession>, Vec<Answer>) {
        let (trainer, model) = (&*binding.trainer, &binding.model[..]);
        let mut answers = Vec::with_capacity(chunk.len());
        for (i, request) in chunk {
            let call = ModelCall::PredictReplacing(request);
            let (open, out) = answer_of(self.model_call(session, trainer, model, ctx, call).await);
            session = open;
            let out = out.and_then(|t| t.ok_or_else(|| "the model answered no table".to_string()));
            let failed = out.is_err();
            answers.push((i, out.map_err(|m| internal(format!("request {i}: {m}")))));
            if failed {
                break;
            }
        }
        (session, answers)
    }

    /// One model call in the session's trainer instance, or in a new one
    /// when there is no session yet. Returns the session to keep (none
    /// after a call the trainer failed) and the call's answer: an error in
    /// the explainer's request (a column not held) is the explainer's, and
    /// leaves the session as it was.
    async fn model_call(
        &self,
        session: Option<ModelSession>,
        plugin: &Plugin,
        model: &[u8],
        ctx: &StepContext,
        call: ModelCall,
    ) -> Result<ModelAnswer, StepFailure> {
        let trap = |e: wasmtime::Error, log: String| {
            failure(
                plugin,
                ctx,
                StepFailureKind::Trap {
                    message: format!("{e:#}"),
                },
                log,
            )
        };
        let (mut session, started) = match session {
            Some(mut session) => {
                session.store.data().log.clear();
                let started = arm(&mut session.store, &session.deadline, &ctx.limits)
                    .map_err(|e| trap(e, String::new()))?;
                (session, started)
            }
            None => {
                let (mut store, pre, deadline) = self.new_store(plugin, ctx)?;
                let started =
                    arm(&mut store, &deadline, &ctx.limits).map_err(|e| trap(e, String::new()))?;
                let WorldPre::Trainer(pres) = pre else {
                    return Err(trap(wrong_world(World::Trainer), String::new()));
                };
                let instantiated = deadline::within(&deadline, async {
                    Ok(match &pres.holding {
                        Some(pre) => SessionTrainer::Holding {
                            trainer: pre.instantiate_async(&mut store).await?,
                            held: None,
                        },
                        None => SessionTrainer::Plain {
                            trainer: pres.plain.instantiate_async(&mut store).await?,
                            held: None,
                        },
                    })
                })
                .await;
                let trainer = match instantiated {
                    Ok(trainer) => trainer,
                    Err(e) => {
                        let state = store.data();
                        let kind = classify_trap(&e, state, &ctx.limits);
                        return Err(failure(plugin, ctx, kind, state.log.contents()));
                    }
                };
                let session = ModelSession {
                    store,
                    trainer,
                    deadline,
                };
                (session, started)
            }
        };
        let deadline = session.deadline.clone();
        let store = &mut session.store;
        let result = match (&mut session.trainer, call) {
            (SessionTrainer::Plain { trainer, .. }, ModelCall::Predict(features)) => {
                deadline::within(
                    &deadline,
                    trainer.call_predict(&mut *store, model, &features),
                )
                .await
                .map(some)
            }
            (SessionTrainer::Holding { trainer, .. }, ModelCall::Predict(features)) => {
                deadline::within(
                    &deadline,
                    trainer.call_predict(&mut *store, model, &features),
                )
                .await
                .map(some)
            }
            // The host keeps the table; the trainer sees whole tables.
            (SessionTrainer::Plain { held, .. }, ModelCall::Hold(features)) => {
                *held = Some(Arc::unwrap_or_clone(features));
                Ok(Ok(None))
            }
            (SessionTrainer::Holding { trainer, held }, ModelCall::Hold(features)) => {
                *held = None;
                let shape = HeldShape::of(&features);
                let hold = trainer
                    .sluice_plugin_holding()
                    .call_hold(&mut *store, model, &features);
                let out = deadline::within(&deadline, hold).await;
                if matches!(out, Ok(Ok(()))) {
                    *held = Some((shape, features));
                }
                out.map(|r| r.map(|()| None))
            }
            (SessionTrainer::Plain { trainer, held }, ModelCall::PredictReplacing(request)) => {
                let Some(table) = held.as_mut() else {
                    return Ok((Some(session), Ok(Err(not_held()))));
                };
                let (columns, outputs) = match resolve(table, request) {
                    Ok(resolved) => resolved,
                    Err(e) => return Ok((Some(session), Ok(Err(e)))),
                };
                let at = match HeldShape::of(table).check(&columns) {
                    Ok(at) => at,
                    Err(e) => return Ok((Some(session), Ok(Err(e)))),
                };
                let originals = swap_columns(table, &at, columns);
                let predict = trainer.call_predict(&mut *store, model, table);
                let out = deadline::within(&deadline, predict).await;
                swap_columns(table, &at, originals);
                out.map(|r| r.and_then(|t| select_outputs(t, &outputs)).map(Some))
            }
            (_, ModelCall::PredictEach(_)) => {
                unreachable!("model_each splits predict-each into single calls")
            }
            (SessionTrainer::Holding { trainer, held }, ModelCall::PredictReplacing(request)) => {
                let Some((shape, table)) = held.as_ref() else {
                    return Ok((Some(session), Ok(Err(not_held()))));
                };
                let (columns, outputs) = match resolve(table, request) {
                    Ok(resolved) => resolved,
                    Err(e) => return Ok((Some(session), Ok(Err(e)))),
                };
                if let Err(e) = shape.check(&columns) {
                    return Ok((Some(session), Ok(Err(e))));
                }
                // The trainer answers with the outputs asked for; the host
                // holds it to that (order included).
                let predict = trainer.sluice_plugin_holding().call_predict_replacing(
                    &mut *store,
                    &columns,
                    &outputs,
                );
                deadline::within(&deadline, predict)
                    .await
                    .map(|r| r.and_then(|t| select_outputs(t, &outputs)).map(Some))
            }
        };
        let out = finish(&session.store, plugin, ctx, started, result)?;
        Ok((Some(session), Ok(Ok(out.value))))
    }

    /// What an explainer's `model.hold(features)` then
    /// `model.predict-replacing(columns)` get from the trainer `plugin`
    /// with `model`, in one model session (for the conformance suite). A
    /// request the host refuses (a column not held, ...) is a guest error.
    pub async fn predict_replacing_async(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        model: &[u8],
        features: types::Table,
        columns: Vec<types::Column>,
    ) -> Result<types::Table, String> {
        let hold = ModelCall::Hold(Arc::new(features));
        let (session, held) = answer_of(self.model_call(None, plugin, model, ctx, hold).await);
        held?;
        let call = ModelCall::PredictReplacing(PredictRequest::replacing(columns));
        let (_, out) = answer_of(self.model_call(session, plugin, model, ctx, call).await);
        out?.ok_or_else(|| "predict-replacing answered no table".into())
    }

    /// [`Self::predict_replacing_async`], blocking this thread until it ends.
    pub fn predict_replacing(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        model: &[u8],
        features: types::Table,
        columns: Vec<types::Column>,
    ) -> Result<types::Table, String> {
        block_on(self.predict_replacing_async(plugin, ctx, model, features, columns))
    }

    /// Call `describe()` in a fresh instance (loading already did once).
    pub async fn describe_async(
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

    pub async fn validate_async(
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

    pub async fn fit_async(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &types::Table,
        params: &[types::Param],
    ) -> Result<StepOutput<Vec<u8>>, StepFailure> {
        guest_call!(self, plugin, ctx, Transform, |i, store| i
            .call_fit(store, data, params))
    }

    pub async fn apply_async(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        state: &[u8],
        data: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        guest_call!(self, plugin, ctx, Transform, |i, store| i
            .call_apply(store, state, data))
    }

    pub async fn train_async(
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

    pub async fn predict_async(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        model: &[u8],
        features: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        guest_call!(self, plugin, ctx, Trainer, |i, store| i
            .call_predict(store, model, features))
    }

    pub async fn explain_async(
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

    /// [`Self::describe_async`], blocking this thread until it ends.
    pub fn describe(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
    ) -> Result<StepOutput<types::PluginInfo>, StepFailure> {
        block_on(self.describe_async(plugin, ctx))
    }

    /// [`Self::validate_async`], blocking this thread until it ends.
    pub fn validate(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &types::Table,
        reference: Option<&types::Table>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::ValidationReport>, StepFailure> {
        block_on(self.validate_async(plugin, ctx, data, reference, params))
    }

    /// [`Self::fit_async`], blocking this thread until it ends.
    pub fn fit(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        data: &types::Table,
        params: &[types::Param],
    ) -> Result<StepOutput<Vec<u8>>, StepFailure> {
        block_on(self.fit_async(plugin, ctx, data, params))
    }

    /// [`Self::apply_async`], blocking this thread until it ends.
    pub fn apply(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        state: &[u8],
        data: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        block_on(self.apply_async(plugin, ctx, state, data))
    }

    /// [`Self::train_async`], blocking this thread until it ends.
    pub fn train(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &types::Table,
        target: &types::Column,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Trained>, StepFailure> {
        block_on(self.train_async(plugin, ctx, features, target, params))
    }

    /// [`Self::predict_async`], blocking this thread until it ends.
    pub fn predict(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        model: &[u8],
        features: &types::Table,
    ) -> Result<StepOutput<types::Table>, StepFailure> {
        block_on(self.predict_async(plugin, ctx, model, features))
    }

    /// [`Self::explain_async`], blocking this thread until it ends.
    pub fn explain(
        &self,
        plugin: &Plugin,
        ctx: &StepContext,
        features: &types::Table,
        target: Option<&types::Column>,
        params: &[types::Param],
    ) -> Result<StepOutput<types::Explanation>, StepFailure> {
        block_on(self.explain_async(plugin, ctx, features, target, params))
    }
}

/// Drive `call` to completion on this thread, inside a tokio context
/// (WASI's clock pollables are tokio timers): the caller's, or outside one,
/// wasmtime-wasi's own runtime. Never on an async worker thread: it would
/// hold the thread for the whole call.
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
