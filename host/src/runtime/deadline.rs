//! The wall-clock deadline of a call, held everywhere the call may wait.
//!
//! The epoch callback (see [`super::call`]) stops a guest that runs Wasm
//! past its deadline, but it only runs while the guest runs Wasm. A guest
//! waiting inside a host call (a `wasi:io/poll` `block` on a monotonic
//! clock pollable an hour away, a read of a FIFO in a granted directory,
//! a long `predict-each` the host answers) never reaches an epoch check.
//! So every call is also raced against [`Expired`], a future that is ready
//! once the deadline has passed by the wall clock: when it wins, the call's
//! future is dropped, which unwinds the guest's fiber out of whatever host
//! call it waits in, and the call fails with the step's time limit.
//!
//! A sleep on the guest's (virtual, deterministic) monotonic clock waits
//! for real time, so it counts against the limit like any other wait.
//!
//! [`Expired`] is woken by the epoch ticker thread, not by a tokio timer,
//! so it works on any executor, including the `block_on` that loading uses.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The wall-clock deadline of the call a store is running, read by its
/// epoch callback at every tick and by [`Expired`]; a store that runs
/// several calls (a model session) moves it forward before each.
pub(super) type Deadline = Arc<Mutex<Instant>>;

/// The time of a deadline.
pub(super) fn at(deadline: &Deadline) -> Instant {
    *deadline.lock().unwrap_or_else(|e| e.into_inner())
}

/// The futures waiting for a deadline, by id: the ticker wakes those
/// whose deadline has passed ([`wake_expired`]).
static WAITING: Mutex<BTreeMap<u64, (Deadline, Waker)>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn waiting() -> std::sync::MutexGuard<'static, BTreeMap<u64, (Deadline, Waker)>> {
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wake every [`Expired`] whose deadline has passed. Called by the epoch
/// ticker at every tick.
pub(super) fn wake_expired() {
    let now = Instant::now();
    let mut list = waiting();
    if list.is_empty() {
        return;
    }
    let due: Vec<u64> = list
        .iter()
        .filter(|(_, (deadline, _))| at(deadline) <= now)
        .map(|(id, _)| *id)
        .collect();
    for id in due {
        if let Some((_, waker)) = list.remove(&id) {
            waker.wake();
        }
    }
}

/// Ready once the deadline has passed (by the wall clock, read when
/// polled, so a deadline moved later is honoured).
pub(super) struct Expired {
    deadline: Deadline,
    id: u64,
}

impl Expired {
    pub(super) fn new(deadline: Deadline) -> Self {
        Expired {
            deadline,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Future for Expired {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= at(&self.deadline) {
            waiting().remove(&self.id);
            return Poll::Ready(());
        }
        waiting().insert(self.id, (self.deadline.clone(), cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Expired {
    fn drop(&mut self) {
        waiting().remove(&self.id);
    }
}

/// Raised when a call's deadline passed while it was not running Wasm
/// (waiting in a host call); named as the step's time limit.
#[derive(Debug)]
pub struct DeadlinePassed;

impl std::fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the time limit passed while the plugin waited in a host call")
    }
}

impl std::error::Error for DeadlinePassed {}

/// `call`, unless `deadline` passes first: then `call` is dropped (the
/// guest unwinds out of whatever it waits in) and the result is
/// [`DeadlinePassed`].
pub(super) async fn within<T>(
    deadline: &Deadline,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let call = std::pin::pin!(call);
    match futures::future::select(call, Expired::new(deadline.clone())).await {
        futures::future::Either::Left((result, _)) => result,
        futures::future::Either::Right(((), _)) => Err(DeadlinePassed.into()),
    }
}

/// Tasks that end with their owner: dropped (a call stopped at its
/// deadline), they are aborted, not left running.
#[derive(Default)]
pub(super) struct OwnedTasks<T>(Vec<tokio::task::JoinHandle<T>>);

impl<T> OwnedTasks<T> {
    pub(super) fn push(&mut self, task: tokio::task::JoinHandle<T>) {
        self.0.push(task);
    }

    /// Wait for each task in order.
    pub(super) async fn join(mut self) -> Vec<Result<T, tokio::task::JoinError>> {
        let mut out = Vec::with_capacity(self.0.len());
        for task in self.0.iter_mut() {
            out.push(task.await);
        }
        out
    }
}

impl<T> Drop for OwnedTasks<T> {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wait_past_the_deadline_ends_there() {
        // A runtime so the epoch ticker runs; the wait itself is a future
        // that never wakes on its own (a host call blocked forever).
        let _engine = crate::runtime::Runtime::new(None).expect("runtime");
        let deadline: Deadline = Arc::new(Mutex::new(Instant::now() + Duration::from_millis(50)));
        let started = Instant::now();
        let result = futures::executor::block_on(within(
            &deadline,
            std::future::pending::<wasmtime::Result<()>>(),
        ));
        let err = result.expect_err("the deadline passed");
        assert!(err.downcast_ref::<DeadlinePassed>().is_some(), "{err:#}");
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(waiting().values().all(|(d, _)| !Arc::ptr_eq(d, &deadline)));
    }

    #[test]
    fn a_call_that_ends_in_time_keeps_its_result() {
        let deadline: Deadline = Arc::new(Mutex::new(Instant::now() + Duration::from_secs(60)));
        let out = futures::executor::block_on(within(&deadline, async { Ok(7) }));
        assert_eq!(out.expect("in time"), 7);
    }
}
