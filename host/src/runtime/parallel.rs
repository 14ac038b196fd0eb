//! The `parallel` import: a step's work spread over more than one core.
//! A component has no threads, so `spread` runs the component's own
//! `worker.run` export in more instances of it (workers), each on a tokio
//! task of its own, one per step slot the tenant has to spare plus the
//! calling step's own (it waits in the host call meanwhile). The workers
//! are made at the first `spread` of a step call and kept, with their memory,
//! until the call ends; input `i` goes to worker `i mod workers`, in
//! order, and the outputs come back in the order of the inputs.
//!
//! Each worker is sandboxed as the step is: the step's memory and fuel
//! limits apply to each worker's instance, its time limit to all of them
//! (they share the step's deadline), nothing is granted, and a worker
//! cannot `spread` again. What a worker logs goes into the step's log
//! after each `spread`, each line marked `[worker K]`. A worker whose
//! call traps is dropped, and the trap fails the calling step.

use super::SpareSessionSlots;
use super::bindings::{parallel_iface, types};
use super::deadline::{self, Deadline, OwnedTasks};
use super::limits::StepLimits;
use super::sandbox::StepState;
use wasmtime::component::{InstancePre, TypedFunc};
use wasmtime::{Engine, Store};

/// The most workers one step call gets, whatever its tenant could spare.
const MAX_WORKERS: usize = 64;

/// The `worker` interface a component exports for `spread`.
const WORKER_INTERFACE: &str = "sluice:plugin/worker@0.1.0";

type RunFunc = TypedFunc<(String, Vec<u8>), (Result<Vec<u8>, types::StepError>,)>;

/// One worker: an instance of the step's component in a store of its own,
/// and the step slot it holds (none for the first, which uses the
/// calling step's).
struct Worker {
    store: Store<StepState>,
    run: RunFunc,
    _slot: Option<Box<dyn Send>>,
}

/// What a step's store keeps to answer `parallel`: how to make workers,
/// and the workers once made.
pub struct Parallel {
    spec: WorkerSpec,
    spare: Option<SpareSessionSlots>,
    /// The step slots of the workers, taken at the first `workers` or
    /// `spread` (the first is the calling step's own: `None`).
    slots: Option<Vec<Option<Box<dyn Send>>>>,
    /// The workers, made at the first `spread`; `None` after one trapped.
    workers: Vec<Option<Worker>>,
}

/// How to make a worker: the step's engine, component, limits, seed and
/// deadline.
#[derive(Clone)]
struct WorkerSpec {
    engine: Engine,
    pre: InstancePre<StepState>,
    limits: StepLimits,
    seed: u64,
    deadline: Deadline,
}

/// What one worker's task hands back: the worker (unless it trapped), the
/// outputs it made, by input index, and the trap that ended it.
type WorkerRun = (
    Option<Worker>,
    Vec<(usize, Result<Vec<u8>, types::StepError>)>,
    Option<wasmtime::Error>,
);

fn invalid(message: String) -> types::StepError {
    types::StepError {
        kind: types::ErrorKind::InvalidInput,
        message,
    }
}

impl Parallel {
    pub(super) fn new(
        engine: Engine,
        pre: InstancePre<StepState>,
        limits: StepLimits,
        seed: u64,
        deadline: Deadline,
        spare: Option<SpareSessionSlots>,
    ) -> Parallel {
        Parallel {
            spec: WorkerSpec {
                engine,
                pre,
                limits,
                seed,
                deadline,
            },
            spare,
            slots: None,
            workers: Vec::new(),
        }
    }

    /// The number of workers: 1 plus the slots the tenant can spare, asked
    /// for once per step call.
    fn count(&mut self) -> usize {
        if !self.workers.is_empty() {
            return self.workers.len();
        }
        let spare = self.spare.clone();
        let slots = self.slots.get_or_insert_with(|| {
            let mut slots: Vec<Option<Box<dyn Send>>> = vec![None];
            if let Some(spare) = spare {
                while slots.len() < MAX_WORKERS {
                    match spare() {
                        Some(slot) => slots.push(Some(slot)),
                        None => break,
                    }
                }
            }
            slots
        });
        slots.len()
    }

    /// `parallel.workers`.
    pub(super) fn workers(&mut self) -> u32 {
        u32::try_from(self.count()).unwrap_or(u32::MAX)
    }

    /// `parallel.spread`: a trap of a worker is returned as the error (it
    /// fails the calling step); an error a worker's `run` returns is the
    /// call's, named by its input's index.
    pub(super) async fn spread(
        &mut self,
        task: String,
        inputs: Vec<Vec<u8>>,
    ) -> wasmtime::Result<Result<Vec<Vec<u8>>, types::StepError>> {
        let n = self.count();
        if self.workers.is_empty() {
            let slots = self.slots.take().unwrap_or_default();
            for slot in slots {
                match make_worker(self.spec.clone(), slot).await? {
                    Some(worker) => self.workers.push(Some(worker)),
                    None => {
                        self.workers.clear();
                        return Ok(Err(invalid(format!(
                            "parallel.spread needs the component to export {WORKER_INTERFACE} \
                             (plugins built with the Rust SDK do)"
                        ))));
                    }
                }
            }
        }
        if self.workers.iter().any(Option::is_none) {
            return Ok(Err(invalid(
                "a worker of this step failed in an earlier parallel.spread".into(),
            )));
        }
        let total = inputs.len();
        let mut shares: Vec<Vec<(usize, Vec<u8>)>> = (0..n).map(|_| Vec::new()).collect();
        for (i, input) in inputs.into_iter().enumerate() {
            shares[i % n].push((i, input));
        }
        let mut tasks: OwnedTasks<WorkerRun> = OwnedTasks::default();
        let mut idle = Vec::new();
        for (k, share) in shares.into_iter().enumerate() {
            let worker = self.workers[k].take().expect("checked above");
            if share.is_empty() {
                idle.push((k, worker));
                continue;
            }
            let (task, deadline) = (task.clone(), self.spec.deadline.clone());
            tasks.push(tokio::spawn(run_share(worker, task, share, deadline)));
        }
        for (k, worker) in idle {
            self.workers[k] = Some(worker);
        }
        let mut outputs: Vec<Option<Result<Vec<u8>, types::StepError>>> =
            (0..total).map(|_| None).collect();
        let mut trapped = None;
        let busy: Vec<usize> = (0..n).filter(|&k| self.workers[k].is_none()).collect();
        for (k, joined) in busy.into_iter().zip(tasks.join().await) {
            match joined {
                Ok((worker, outs, trap)) => {
                    self.workers[k] = worker;
                    for (i, out) in outs {
                        outputs[i] = Some(out);
                    }
                    if let Some(trap) = trap {
                        trapped.get_or_insert(trap);
                    }
                }
                Err(e) => {
                    trapped.get_or_insert(wasmtime::Error::msg(format!(
                        "a parallel worker stopped: {e}"
                    )));
                }
            }
        }
        if let Some(trap) = trapped {
            return Err(trap.context("in a parallel.spread worker"));
        }
        let mut done = Vec::with_capacity(total);
        for (i, out) in outputs.into_iter().enumerate() {
            match out {
                Some(Ok(bytes)) => done.push(bytes),
                Some(Err(e)) => {
                    return Ok(Err(types::StepError {
                        kind: e.kind,
                        message: format!("parallel.spread input {i}: {}", e.message),
                    }));
                }
                None => {
                    return Err(wasmtime::Error::msg(format!(
                        "parallel.spread input {i} was not run"
                    )));
                }
            }
        }
        Ok(Ok(done))
    }
}

/// A worker: a fresh store with the step's limits and deadline, and
/// the component instantiated in it. `Ok(None)` when the component
/// does not export `worker.run`.
async fn make_worker(
    spec: WorkerSpec,
    slot: Option<Box<dyn Send>>,
) -> wasmtime::Result<Option<Worker>> {
    let state = StepState::new(&spec.limits, spec.seed, None, &[]).map_err(wasmtime::Error::msg)?;
    let mut store = Store::new(&spec.engine, state);
    super::call::configure_store(&mut store, &spec.limits, spec.deadline.clone())?;
    if let Some(fuel) = spec.limits.fuel {
        store.set_fuel(fuel)?;
    }
    store.set_epoch_deadline(1);
    let instance = deadline::within(&spec.deadline, spec.pre.instantiate_async(&mut store)).await?;
    let Some(interface) = instance.get_export_index(&mut store, None, WORKER_INTERFACE) else {
        return Ok(None);
    };
    let Some(func) = instance.get_export_index(&mut store, Some(&interface), "run") else {
        return Ok(None);
    };
    let run: RunFunc = instance.get_typed_func(&mut store, func)?;
    Ok(Some(Worker {
        store,
        run,
        _slot: slot,
    }))
}

/// One worker's inputs, in order; it stops at its first trap.
async fn run_share(
    mut worker: Worker,
    task: String,
    share: Vec<(usize, Vec<u8>)>,
    deadline: Deadline,
) -> WorkerRun {
    let mut outs = Vec::with_capacity(share.len());
    for (i, input) in share {
        let call = async {
            let (out,) = worker
                .run
                .call_async(&mut worker.store, (task.clone(), input))
                .await?;
            Ok(out)
        };
        match deadline::within(&deadline, call).await {
            Ok(out) => outs.push((i, out)),
            Err(trap) => return (None, outs, Some(trap)),
        }
    }
    (Some(worker), outs, None)
}

impl Parallel {
    /// What each worker logged since the last call (its `host.log`,
    /// stdout and stderr), by worker; the workers' logs start again.
    fn take_logs(&mut self) -> Vec<(usize, String)> {
        let mut logs = Vec::new();
        for (k, worker) in self.workers.iter().enumerate() {
            if let Some(worker) = worker {
                let log = &worker.store.data().log;
                let text = log.contents();
                log.clear();
                if !text.is_empty() {
                    logs.push((k, text));
                }
            }
        }
        logs
    }
}

impl parallel_iface::Host for StepState {
    async fn workers(&mut self) -> wasmtime::Result<u32> {
        Ok(self.parallel.as_mut().map_or(1, Parallel::workers))
    }

    async fn spread(
        &mut self,
        task: String,
        inputs: Vec<Vec<u8>>,
    ) -> wasmtime::Result<Result<Vec<Vec<u8>>, types::StepError>> {
        let Some(parallel) = self.parallel.as_mut() else {
            return Ok(Err(invalid(
                "parallel.spread is not available here (a worker cannot spread again)".into(),
            )));
        };
        let out = parallel.spread(task, inputs).await;
        // The workers' logs go into the step's, each line marked.
        for (k, text) in parallel.take_logs() {
            for line in text.lines() {
                self.log.append(format!("[worker {k}] {line}\n").as_bytes());
            }
        }
        out
    }
}
