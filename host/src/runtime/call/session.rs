//! Model sessions: the trainer instance that answers the `model` import of
//! one validator or explainer call, kept from one model call to the next
//! (and, for `predict-replacing-each`, spare sessions side by side on tasks
//! of their own). What a session holds for `predict-replacing`, and the
//! checks of a request against it, are in [`super::held`]; single calls
//! and the store every call runs in are in the parent module.

use super::super::bindings::holding_trainer::HoldingTrainer as HoldingTrainerBindings;
use super::super::bindings::trainer::Trainer as TrainerBindings;
use super::super::bindings::types;
use super::super::deadline::{self, Deadline, OwnedTasks};
use super::super::error::{StepFailure, StepFailureKind};
use super::super::plugin::{Plugin, World, WorldPre};
use super::super::sandbox::{ModelCall, ModelPredictor, ModelReply, PredictRequest, StepState};
use super::super::{ModelBinding, Runtime, StepContext};
use super::held::{HeldShape, not_held, resolve, select_outputs, swap_columns};
use super::{arm, classify_trap, failure, finish, wrong_world};
use std::sync::{Arc, Mutex};
use wasmtime::Store;

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

impl Runtime {
    /// The `model` import of a validator or explainer: the trainer's
    /// `predict` (and `hold`, `predict-replacing`) in a sandbox of its own,
    /// one [`ModelSession`] for all the model calls of this step call, and
    /// for `predict-replacing-each`, more sessions side by side when
    /// [`ModelBinding::spare_sessions`] hands out slots.
    pub(super) fn model_predictor(
        &self,
        binding: &ModelBinding,
        ctx: &StepContext,
    ) -> ModelPredictor {
        let runtime = self.clone();
        let binding = binding.clone();
        let mut inner_ctx =
            StepContext::new(format!("{} (model)", ctx.step), binding.limits, ctx.seed);
        // The trainer may spread its predictions over workers too, on the
        // slots the tenant can spare.
        inner_ctx.spare_slots = binding.spare_sessions.clone();
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
    /// as many slots as [`ModelBinding::spare_sessions`] hands out (up to one per
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
            &binding.spare_sessions,
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
    pub async fn predict_replacing(
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
}
