//! Admission and scheduling: how many steps run at once, per tenant (its
//! `concurrency` cap) and process-wide, and the slots of the spare model
//! sessions of a step's model calls. Not for what a step may do once it
//! runs (its limits).

use super::open_dataset;
use crate::pipeline::plan::Plan;
use crate::runtime::{Grant, SpareSessionSlots, StepLimits};
use crate::tenants::Tenant;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bounds how many steps run at once: per tenant (its `concurrency` cap,
/// over all its runs in this process) and process-wide. Clones share the
/// same permits.
#[derive(Clone)]
pub struct Scheduler {
    global: Arc<Semaphore>,
    global_size: usize,
    tenants: Arc<Mutex<TenantSlots>>,
}

/// Each tenant's step slots, with the concurrency they were made for.
pub(super) type TenantSlots = HashMap<String, (u32, Arc<Semaphore>)>;

/// Permission to run one step; dropping it frees the slot.
pub struct StepPermit {
    _tenant: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl Scheduler {
    /// At most `max_steps` steps at once in this process (at least one).
    pub fn new(max_steps: usize) -> Self {
        let global_size = max_steps.max(1);
        Scheduler {
            global: Arc::new(Semaphore::new(global_size)),
            global_size,
            tenants: Arc::default(),
        }
    }

    /// The process-wide budget: one step per core, unless
    /// `SLUICE_MAX_STEPS` says otherwise.
    pub fn from_env() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let max = std::env::var("SLUICE_MAX_STEPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cores);
        Self::new(max)
    }

    /// How many steps may run at once in the process.
    pub fn max_steps(&self) -> usize {
        self.global_size
    }

    /// Wait for a slot of the tenant and one of the process.
    pub async fn acquire(&self, tenant: &str, concurrency: u32) -> StepPermit {
        let sem = {
            let mut map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let entry = map
                .entry(tenant.to_string())
                .or_insert_with(|| (concurrency, Arc::new(Semaphore::new(concurrency as usize))));
            if entry.0 != concurrency {
                // The cap changed: later steps use the new bound.
                *entry = (concurrency, Arc::new(Semaphore::new(concurrency as usize)));
            }
            entry.1.clone()
        };
        let t = sem.acquire_owned().await.expect("never closed");
        let g = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        StepPermit {
            _tenant: t,
            _global: g,
        }
    }

    /// Slots for more trainer instances of one step's model calls
    /// (`predict-replacing-each`): a slot of the tenant and one of the
    /// process, taken only when both are free at once, never waited for.
    pub fn spare_session_slots(&self, tenant: &str, concurrency: u32) -> SpareSessionSlots {
        let (tenants, global) = (self.tenants.clone(), self.global.clone());
        let tenant = tenant.to_string();
        Arc::new(move || {
            let sem = {
                let map = tenants.lock().unwrap_or_else(|e| e.into_inner());
                let (cap, sem) = map.get(&tenant)?;
                (*cap == concurrency).then(|| sem.clone())?
            };
            let t = sem.try_acquire_owned().ok()?;
            let g = global.clone().try_acquire_owned().ok()?;
            let permit: Box<dyn Send> = Box::new(StepPermit {
                _tenant: t,
                _global: g,
            });
            Some(permit)
        })
    }
}

/// What a tenant's caps make of a plan before anything runs.
pub(super) struct Admitted {
    /// Each step's limits, fitted under the tenant's caps.
    pub(super) limits: Vec<StepLimits>,
    /// Each step's grants, opened (by step id).
    pub(super) grants: HashMap<String, Vec<Grant>>,
    /// Why the run is refused (nothing when it may run).
    pub(super) problems: Vec<String>,
}

/// Admit `plan` for `tenant`: bound every step's limits by its caps, open
/// every grant and every dataset file, and say what asks for more than the
/// tenant allows.
pub(super) fn admit(tenant: &Tenant, plan: &Plan) -> Admitted {
    let mut problems = Vec::new();
    let limits = plan
        .steps
        .iter()
        .map(|s| {
            tenant.caps.bound(
                &tenant.name,
                &s.id,
                &s.limits,
                &s.explicit_limits,
                &mut problems,
            )
        })
        .collect();
    // Each granted directory is opened once, here, and the steps get
    // its descriptor: where the opened directory really is must be
    // inside the tenant's allowed_dirs, and swapping its path for a
    // symlink later changes nothing.
    let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
    for step in &plan.steps {
        for g in &step.grants {
            let opened = match g.open() {
                Ok(opened) => opened,
                Err(e) => {
                    problems.push(format!("step '{}': {e}", step.id));
                    continue;
                }
            };
            if !tenant
                .caps
                .allowed_dirs
                .iter()
                .any(|d| opened.path.starts_with(d))
            {
                problems.push(format!(
                    "step '{}': grant '{}' ({}) is not inside any of tenant '{}''s \
                     allowed_dirs (`sluice tenants set {} allowed_dirs=DIR`)",
                    step.id,
                    g.name,
                    opened.path.display(),
                    tenant.name,
                    tenant.name
                ));
                continue;
            }
            grants.entry(step.id.clone()).or_default().push(opened);
        }
    }
    // A dataset on S3 is listed apart, asynchronously (`dataset_s3`).
    for ds in plan.datasets.iter().filter(|d| d.s3.is_none()) {
        if let Err(e) = open_dataset(tenant, ds) {
            problems.push(format!("dataset '{}': {e}", ds.name));
        }
    }
    Admitted {
        limits,
        grants,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spare session's slot is a slot of the tenant and one of the
    /// process, taken only when both are free: never past the tenant's
    /// concurrency cap or the process's step budget, and freed when
    /// dropped.
    #[tokio::test]
    async fn spare_session_slots_stay_within_the_tenant_and_process_caps() {
        // Tenant cap 1: the step's own slot leaves none to spare.
        let scheduler = Scheduler::new(4);
        let step = scheduler.acquire("a", 1).await;
        let slots = scheduler.spare_session_slots("a", 1);
        assert!(slots().is_none());
        drop(step);
        assert!(slots().is_some(), "a free slot is handed out");

        // Tenant cap 3, process budget 2: one to spare, then none.
        let scheduler = Scheduler::new(2);
        let _step = scheduler.acquire("b", 3).await;
        let slots = scheduler.spare_session_slots("b", 3);
        let first = slots().expect("one process slot is free");
        assert!(slots().is_none(), "the process budget is spent");
        drop(first);
        assert!(slots().is_some(), "a dropped slot is free again");

        // Another tenant's slots are its own.
        let scheduler = Scheduler::new(8);
        let _a = scheduler.acquire("a", 1).await;
        let _b = scheduler.acquire("b", 2).await;
        assert!(scheduler.spare_session_slots("a", 1)().is_none());
        assert!(scheduler.spare_session_slots("b", 2)().is_some());
    }
}
