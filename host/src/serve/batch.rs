//! Micro-batching: concurrent requests for the same version answered by
//! one sandboxed call on their rows put together, then split back.
//!
//! Each version has a [`Batcher`]. A request whose version has a free call
//! (fewer than [`BatchOptions::parallel`] running) runs at once, alone, so
//! batching adds no latency to a server with spare capacity. While the
//! calls are busy, requests queue into an open batch of at most
//! [`BatchOptions::max_rows`] rows, which runs as one call when a call
//! frees (or, with a [`BatchOptions::window`], once the window since its
//! first request has passed). Every transform and trainer of the standard
//! library answers a row from that row alone, so a batched answer has
//! exactly the bytes of the same request answered alone (the test
//! `serve_batch::batched_answers_have_the_bytes_of_answers_alone` holds
//! it).
//!
//! A call that runs longer than 10 ms stops counting against the calls
//! that may run, so a slow or spinning request never holds the others
//! back. A batch isolates its requests' failures: when its call fails (a trap,
//! a limit) or runs past half the nearest deadline of its requests, each
//! request runs again alone with the time it has left, so only the request
//! that causes the failure fails.

use super::error::ApiError;
use super::tenancy::Caller;
use crate::registry::PreparedModel;
use crate::runtime::StepLimits;
use crate::wit;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How requests are batched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// At most this many rows in one call (a request with more runs alone);
    /// 1 turns batching off.
    pub max_rows: usize,
    /// How long a batch waits for more requests after its first, when a
    /// call is free; zero: it runs at once.
    pub window: Duration,
    /// Calls of one version running at once before requests queue into
    /// batches: by default half the cores (at least 1), the other half
    /// left to reading and writing requests.
    pub parallel: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_rows: 1024,
            window: Duration::ZERO,
            parallel: std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
        }
    }
}

/// What a request gets back: its rows' predictions, the time of the call
/// that made them, the sandboxes started for it (the whole call's, for the
/// batch's first request; 0 for the others), and how many rows and
/// requests the call had.
#[derive(Debug)]
pub struct Predicted {
    /// The predictions of the request's rows.
    pub table: wit::Table,
    /// The time of the sandboxed call(s), in seconds.
    pub seconds: f64,
    /// Sandboxes started, counted once per call.
    pub sandboxes: u64,
    /// Rows in the call that answered.
    pub batch_rows: usize,
    /// Requests in the call that answered.
    pub batch_requests: usize,
}

type Reply = oneshot::Sender<Result<Predicted, ApiError>>;

/// A call running longer than this stops counting against
/// [`BatchOptions::parallel`], so a slow or spinning request never holds
/// the queue behind it.
const SLOW_CALL: Duration = Duration::from_millis(10);

struct Job {
    features: wit::Table,
    rows: usize,
    deadline: Instant,
    reply: Reply,
}

struct Batch {
    jobs: Vec<Job>,
    rows: usize,
    /// When its window ends.
    ready_at: Instant,
    /// Whether a timer will start it when its window ends.
    timed: bool,
}

#[derive(Default)]
struct Queue {
    running: usize,
    batches: VecDeque<Batch>,
}

/// The batching of one version's requests: see the module docs.
pub struct Batcher {
    model: Arc<PreparedModel>,
    options: BatchOptions,
    queue: Mutex<Queue>,
    /// Counts batches answered request by request after their call failed.
    splits: prometheus_client::metrics::counter::Counter,
}

fn lock(m: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Rows of a table (0 without columns).
fn rows(table: &wit::Table) -> usize {
    super::tensors::rows(table)
}

impl Batcher {
    /// A batcher for `model`, counting in `splits` the batches whose call
    /// failed and whose requests were answered alone.
    pub fn new(
        model: Arc<PreparedModel>,
        options: BatchOptions,
        splits: prometheus_client::metrics::counter::Counter,
    ) -> Batcher {
        Batcher {
            model,
            options,
            queue: Mutex::default(),
            splits,
        }
    }

    /// The predictions for `features`, answered by `deadline` (else 504),
    /// alone or in a batch.
    pub async fn predict(
        self: &Arc<Self>,
        caller: &Arc<Caller>,
        features: wit::Table,
        deadline: Instant,
        timed_out: impl Fn() -> ApiError,
    ) -> Result<Predicted, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            rows: rows(&features),
            features,
            deadline,
            reply,
        };
        self.submit(caller, job);
        match tokio::time::timeout_at(deadline.into(), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the call answering this request stopped without an answer",
            )),
            Err(_) => Err(timed_out()),
        }
    }

    fn submit(self: &Arc<Self>, caller: &Arc<Caller>, job: Job) {
        let mut queue = lock(&self.queue);
        let max = self.options.max_rows.max(1);
        match queue.batches.back_mut() {
            Some(open) if open.rows + job.rows <= max && job.rows < max => {
                open.rows += job.rows;
                open.jobs.push(job);
            }
            _ => queue.batches.push_back(Batch {
                rows: job.rows,
                jobs: vec![job],
                ready_at: Instant::now() + self.options.window,
                timed: false,
            }),
        }
        self.pump(&mut queue, caller);
    }

    /// Start the batches that may start: while a call is free, the first
    /// batch, once it is full or its window has passed.
    fn pump(self: &Arc<Self>, queue: &mut Queue, caller: &Arc<Caller>) {
        let max = self.options.max_rows.max(1);
        while queue.running < self.options.parallel.max(1) {
            let alone_in_queue = queue.batches.len() == 1;
            let Some(first) = queue.batches.front_mut() else {
                return;
            };
            let ready_at = first.ready_at;
            if first.rows < max && Instant::now() < ready_at && alone_in_queue {
                if !first.timed {
                    first.timed = true;
                    let (batcher, caller) = (self.clone(), caller.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep_until(ready_at.into()).await;
                        let mut queue = lock(&batcher.queue);
                        batcher.pump(&mut queue, &caller);
                    });
                }
                return;
            }
            let batch = queue.batches.pop_front().expect("looked at");
            queue.running += 1;
            let (batcher, caller) = (self.clone(), caller.clone());
            tokio::spawn(async move {
                let mut run = std::pin::pin!(batcher.run(&caller, batch.jobs));
                let finished = tokio::time::timeout(SLOW_CALL, &mut run).await.is_ok();
                // Done, or slow enough to stop counting: the queue moves on.
                {
                    let mut queue = lock(&batcher.queue);
                    queue.running -= 1;
                    batcher.pump(&mut queue, &caller);
                }
                if !finished {
                    run.await;
                }
            });
        }
    }

    /// Answer `jobs` with one call, or each alone if that call fails.
    async fn run(&self, caller: &Caller, mut jobs: Vec<Job>) {
        if jobs.len() == 1 {
            let job = jobs.pop().expect("one");
            let result = self.alone(caller, job.features, job.deadline).await;
            let _ = job.reply.send(result);
            return;
        }
        let started = Instant::now();
        let nearest = jobs
            .iter()
            .map(|j| j.deadline)
            .min()
            .expect("a batch has jobs");
        let budget = nearest.saturating_duration_since(started) / 2;
        let features = concat(jobs.iter().map(|j| j.features.columns.clone()));
        let total: usize = jobs.iter().map(|j| j.rows).sum();
        let together = if all_rows(&features, total) {
            self.call(caller, features, budget).await
        } else {
            None
        };
        match together {
            Some(table) if rows(&table) == total => {
                let seconds = started.elapsed().as_secs_f64();
                let n = jobs.len();
                let mut at = 0;
                for (i, job) in jobs.into_iter().enumerate() {
                    let part = slice(&table, at, job.rows);
                    at += job.rows;
                    let _ = job.reply.send(Ok(Predicted {
                        table: part,
                        seconds,
                        sandboxes: if i == 0 { self.model.sandboxes() } else { 0 },
                        batch_rows: total,
                        batch_requests: n,
                    }));
                }
            }
            _ => {
                // Each alone, so only the request that fails fails.
                self.splits.inc();
                let alone = jobs.into_iter().map(|job| async move {
                    let result = self.alone(caller, job.features, job.deadline).await;
                    let _ = job.reply.send(result);
                });
                futures::future::join_all(alone).await;
            }
        }
    }

    /// One call for `features` within `budget`; `None` if it fails.
    async fn call(
        &self,
        caller: &Caller,
        features: wit::Table,
        budget: Duration,
    ) -> Option<wit::Table> {
        if budget.is_zero() {
            return None;
        }
        let limits = limits_within(caller.limits, budget);
        let _slot = caller.slots.acquire().await.ok()?;
        tokio::time::timeout(
            budget,
            self.model.predict(&caller.runtime, features, limits),
        )
        .await
        .ok()?
        .ok()
    }

    /// `features` answered alone by `deadline`.
    async fn alone(
        &self,
        caller: &Caller,
        features: wit::Table,
        deadline: Instant,
    ) -> Result<Predicted, ApiError> {
        let started = Instant::now();
        let budget = deadline.saturating_duration_since(started);
        let limits = limits_within(caller.limits, budget);
        let _slot = caller.slots.acquire().await.map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the server is stopping",
            )
        })?;
        let rows = rows(&features);
        // Past the deadline the request's own timer answers 504.
        let table = self
            .model
            .predict(&caller.runtime, features, limits)
            .await
            .map_err(|e| ApiError::from_step(&e))?;
        Ok(Predicted {
            table,
            seconds: started.elapsed().as_secs_f64(),
            sandboxes: self.model.sandboxes(),
            batch_rows: rows,
            batch_requests: 1,
        })
    }
}

/// `limits` with the time cut to `budget` (at least 1 ms).
fn limits_within(mut limits: StepLimits, budget: Duration) -> StepLimits {
    let ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX).max(1);
    limits.timeout_ms = limits.timeout_ms.min(ms);
    limits
}

/// Whether every column of `table` has `total` rows: the tables put
/// together had the same columns of the same types (they do: each is the
/// version's feature table).
fn all_rows(table: &wit::Table, total: usize) -> bool {
    table.columns.iter().all(|c| values_len(&c.values) == total)
}

fn values_len(values: &wit::Values) -> usize {
    match values {
        wit::Values::F64s(v) => v.len(),
        wit::Values::I64s(v) => v.len(),
        wit::Values::Bools(v) => v.len(),
        wit::Values::Strings(v) => v.len(),
    }
}

/// Tables with the same columns, one after another.
fn concat(tables: impl Iterator<Item = Vec<wit::Column>>) -> wit::Table {
    let mut out: Vec<wit::Column> = Vec::new();
    for columns in tables {
        if out.is_empty() {
            out = columns;
            continue;
        }
        for (into, column) in out.iter_mut().zip(columns) {
            let before = values_len(&into.values);
            let added = values_len(&column.values);
            match (&mut into.values, column.values) {
                (wit::Values::F64s(a), wit::Values::F64s(b)) => a.extend(b),
                (wit::Values::I64s(a), wit::Values::I64s(b)) => a.extend(b),
                (wit::Values::Bools(a), wit::Values::Bools(b)) => a.extend(b),
                (wit::Values::Strings(a), wit::Values::Strings(b)) => a.extend(b),
                // Mismatched types: all_rows refuses the batch.
                _ => continue,
            }
            match (&mut into.valid, column.valid) {
                (None, None) => {}
                (Some(a), Some(b)) => a.extend(b),
                (Some(a), None) => a.extend(std::iter::repeat_n(true, added)),
                (None, Some(b)) => {
                    let mut valid = vec![true; before];
                    valid.extend(b);
                    into.valid = Some(valid);
                }
            }
        }
    }
    wit::Table { columns: out }
}

/// Rows `at..at + n` of `table`.
fn slice(table: &wit::Table, at: usize, n: usize) -> wit::Table {
    let range = at..at + n;
    wit::Table {
        columns: table
            .columns
            .iter()
            .map(|c| wit::Column {
                name: c.name.clone(),
                values: match &c.values {
                    wit::Values::F64s(v) => wit::Values::F64s(v[range.clone()].to_vec()),
                    wit::Values::I64s(v) => wit::Values::I64s(v[range.clone()].to_vec()),
                    wit::Values::Bools(v) => wit::Values::Bools(v[range.clone()].to_vec()),
                    wit::Values::Strings(v) => wit::Values::Strings(v[range.clone()].to_vec()),
                },
                valid: c.valid.as_ref().map(|v| v[range.clone()].to_vec()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(a: Vec<f64>, valid: Option<Vec<bool>>, s: Vec<&str>) -> wit::Table {
        wit::Table {
            columns: vec![
                wit::Column {
                    name: "a".into(),
                    values: wit::Values::F64s(a),
                    valid,
                },
                wit::Column {
                    name: "s".into(),
                    values: wit::Values::Strings(s.into_iter().map(String::from).collect()),
                    valid: None,
                },
            ],
        }
    }

    #[test]
    fn tables_put_together_split_back_to_themselves() {
        let parts = vec![
            table(vec![1.0, 2.0], None, vec!["x", "y"]),
            table(vec![3.0], Some(vec![false]), vec!["z"]),
            table(vec![4.0, 5.0, 6.0], None, vec!["u", "v", "w"]),
        ];
        let together = concat(parts.iter().map(|t| t.columns.clone()));
        assert_eq!(rows(&together), 6);
        assert_eq!(
            together.columns[0].valid,
            Some(vec![true, true, false, true, true, true])
        );
        let mut at = 0;
        for part in &parts {
            let n = rows(part);
            let back = slice(&together, at, n);
            at += n;
            assert_eq!(
                format!("{:?}", back.columns[0].values),
                format!("{:?}", part.columns[0].values)
            );
            assert_eq!(
                format!("{:?}", back.columns[1].values),
                format!("{:?}", part.columns[1].values)
            );
            let valid = back.columns[0].valid.clone().unwrap();
            assert_eq!(
                valid,
                part.columns[0].valid.clone().unwrap_or(vec![true; n])
            );
        }
    }
}
