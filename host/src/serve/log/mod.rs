//! The inference log: every request a served model answered or refused
//! (request id, time, model, version, variant, key, status, error,
//! latency, its input rows, its outputs and its columns the model does
//! not use), kept for monitoring, feedback and audits.
//!
//! Requests append [`Entry`]s to one buffer per server; a background task
//! writes the buffer every [`LogOptions::flush_every`] (or sooner, once it
//! holds [`LogOptions::flush_rows`] rows) as one Parquet file per model
//! version into the tenant's artifact store, content-addressed, and lists
//! each file in the metadata store ([`crate::meta::InferenceLogFile`]).
//! [`read`] reads a model's log back, as `sluice serve logs` does.
//!
//! Memory is bounded: an entry takes room in the buffer
//! ([`LogOptions::buffer_bytes`]) until its file is written, and a request
//! whose entry finds no room waits for it (backpressure), up to its
//! deadline; past it the request is answered 503 rather than served
//! unlogged. A file that cannot be written stays in the buffer and is
//! tried again at the next flush. At shutdown the buffer is written before
//! the server returns; what a SIGKILL interrupts is lost, at most one
//! flush interval of requests.

pub mod labels;
mod read;
mod table;
#[cfg(test)]
mod tests;

pub use read::{ReadError, read, read_between, since_ms};
pub use table::{INPUT_PREFIX, OUTPUT_PREFIX, rfc3339};

use super::tensors::RawColumn;
use crate::artifacts::ArtifactStore;
use crate::meta::{InferenceLogFile, MetaStore};
use crate::wit;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

/// How the log is written.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// Whether requests are logged at all.
    pub enabled: bool,
    /// The longest an entry waits in the buffer before its file is written.
    pub flush_every: Duration,
    /// Write as soon as the buffer holds this many rows.
    pub flush_rows: usize,
    /// The most the buffer holds, in bytes (about): a request waits for
    /// room beyond it.
    pub buffer_bytes: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            enabled: true,
            flush_every: Duration::from_secs(1),
            flush_rows: 65_536,
            buffer_bytes: 64 << 20,
        }
    }
}

/// Where one tenant's log files go.
#[derive(Debug, Clone)]
pub struct LogSink {
    /// The tenant.
    pub tenant: String,
    /// The tenant's artifact store.
    pub store: ArtifactStore,
}

/// One request, as logged.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The request's id (its `x-request-id`, or one the server made).
    pub request_id: String,
    /// When it arrived, in Unix milliseconds.
    pub time_ms: i64,
    /// The model's name.
    pub model: String,
    /// The version that answered (or would have).
    pub version: i64,
    /// The alias or traffic arm that chose the version (`shadow` for a
    /// mirrored copy).
    pub variant: String,
    /// The request's sticky key, when it had one.
    pub key: Option<String>,
    /// The HTTP status it was answered with.
    pub status: u16,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// From its arrival to its answer, in seconds.
    pub latency_seconds: f64,
    /// Its feature table, when it was read.
    pub inputs: Option<wit::Table>,
    /// The model's outputs, when it answered.
    pub outputs: Option<wit::Table>,
    /// Its columns the model does not use (an id to join labels by),
    /// whether passed through or not.
    pub extra: Vec<RawColumn>,
}

impl Entry {
    /// Its rows in the log: the request's rows, or one for a request
    /// refused before they were read.
    fn rows(&self) -> usize {
        let of = |t: &Option<wit::Table>| t.as_ref().map_or(0, super::tensors::rows);
        of(&self.inputs).max(of(&self.outputs)).max(1)
    }

    /// About how many bytes it holds.
    fn bytes(&self) -> usize {
        fn table(t: &Option<wit::Table>) -> usize {
            t.as_ref().map_or(0, |t| {
                t.columns
                    .iter()
                    .map(|c| {
                        c.name.len()
                            + match &c.values {
                                wit::Values::F64s(v) => v.len() * 8,
                                wit::Values::I64s(v) => v.len() * 8,
                                wit::Values::Bools(v) => v.len(),
                                wit::Values::Strings(v) => {
                                    v.iter().map(|s| s.len() + 24).sum::<usize>()
                                }
                            }
                    })
                    .sum()
            })
        }
        let extra: usize = self
            .extra
            .iter()
            .map(|c| c.name.len() + c.values.len() * 32)
            .sum();
        256 + self.request_id.len()
            + self.model.len()
            + self.error.as_ref().map_or(0, String::len)
            + table(&self.inputs)
            + table(&self.outputs)
            + extra
    }
}

/// The log's counters, registered with the server's metrics.
#[derive(Clone, Default)]
pub struct LogMetrics {
    /// Rows written to files.
    pub rows: Counter,
    /// Files written.
    pub files: Counter,
    /// Flushes of a file that failed (its rows kept for the next).
    pub failures: Counter,
    /// Rows in the buffer, not yet in a file.
    pub backlog_rows: Gauge,
    /// Bytes (about) in the buffer.
    pub backlog_bytes: Gauge,
    /// Requests answered 503 because the buffer stayed full.
    pub refused: Counter,
}

struct Buffered {
    sink: Arc<LogSink>,
    entry: Entry,
    /// Its room in the buffer, in units of [`UNIT`] bytes.
    units: u32,
}

/// The buffer's room is counted in KiB.
const UNIT: usize = 1024;

struct Inner {
    options: LogOptions,
    meta: MetaStore,
    buffer: Mutex<Vec<Buffered>>,
    rows: AtomicUsize,
    room: Semaphore,
    capacity: u32,
    wake: Notify,
    closing: AtomicBool,
    /// Flushes tried since closing began: a failing store is tried a few
    /// times at shutdown, not forever.
    close_attempts: AtomicUsize,
    metrics: LogMetrics,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The server's inference log: see the module docs.
pub struct InferenceLog {
    inner: Arc<Inner>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The buffer stayed full until the request's deadline.
#[derive(Debug, thiserror::Error)]
#[error(
    "the inference log is full (its files are not being written: is the artifact store \
     reachable?); the request was not answered, try again"
)]
pub struct LogFull;

impl InferenceLog {
    /// A log writing through `meta` and the sinks its entries name, its
    /// writer started on the current runtime.
    pub fn start(meta: MetaStore, options: LogOptions, metrics: LogMetrics) -> InferenceLog {
        let capacity = u32::try_from((options.buffer_bytes / UNIT).max(1))
            .unwrap_or(Semaphore::MAX_PERMITS as u32);
        let inner = Arc::new(Inner {
            options,
            meta,
            buffer: Mutex::default(),
            rows: AtomicUsize::new(0),
            room: Semaphore::new(capacity as usize),
            capacity,
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            close_attempts: AtomicUsize::new(0),
            metrics,
        });
        let task = options.enabled.then(|| tokio::spawn(writer(inner.clone())));
        InferenceLog {
            inner,
            task: Mutex::new(task),
        }
    }

    /// Whether requests are logged.
    pub fn enabled(&self) -> bool {
        self.inner.options.enabled
    }

    /// Append `entry` to `sink`'s log, waiting for room in the buffer until
    /// `deadline` at the latest.
    pub async fn append(
        &self,
        sink: &Arc<LogSink>,
        entry: Entry,
        deadline: Instant,
    ) -> Result<(), LogFull> {
        let inner = &self.inner;
        if !inner.options.enabled {
            return Ok(());
        }
        let bytes = entry.bytes();
        let units = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .min(inner.capacity);
        let wait = inner.room.acquire_many(units);
        match tokio::time::timeout_at(deadline.into(), wait).await {
            Ok(Ok(permit)) => permit.forget(),
            _ => {
                inner.metrics.refused.inc();
                return Err(LogFull);
            }
        }
        let rows = entry.rows();
        lock(&inner.buffer).push(Buffered {
            sink: sink.clone(),
            entry,
            units,
        });
        inner.metrics.backlog_rows.inc_by(rows as i64);
        inner
            .metrics
            .backlog_bytes
            .inc_by((units as usize * UNIT) as i64);
        if inner.rows.fetch_add(rows, Ordering::AcqRel) + rows >= inner.options.flush_rows {
            inner.wake.notify_one();
        }
        Ok(())
    }

    /// Write everything buffered, then stop the writer. Entries appended
    /// after this are written by nobody: call it once no request is in
    /// flight.
    pub async fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
        self.inner.wake.notify_one();
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// The writer: flush on every tick or wake-up, until closed and empty.
async fn writer(inner: Arc<Inner>) {
    loop {
        let closing = inner.closing.load(Ordering::Acquire);
        if !closing {
            tokio::select! {
                _ = tokio::time::sleep(inner.options.flush_every) => {}
                _ = inner.wake.notified() => {}
            }
        }
        let closing = closing || inner.closing.load(Ordering::Acquire);
        let kept = flush(&inner).await;
        if closing && (kept == 0 || inner.close_attempts.fetch_add(1, Ordering::AcqRel) >= 4) {
            if kept > 0 {
                tracing::error!(
                    rows = kept,
                    "the inference log could not be written at shutdown: these rows are lost"
                );
            }
            return;
        }
        if kept > 0 {
            // The store refused: wait before the next try.
            tokio::time::sleep(inner.options.flush_every.min(Duration::from_secs(1))).await;
        }
    }
}

/// Write the buffer's entries, one file per tenant's model version; the
/// entries of a file that failed go back to the buffer. Returns the rows
/// kept.
async fn flush(inner: &Inner) -> usize {
    let taken = std::mem::take(&mut *lock(&inner.buffer));
    if taken.is_empty() {
        return 0;
    }
    let mut groups: BTreeMap<(String, String, i64), Vec<Buffered>> = BTreeMap::new();
    for b in taken {
        groups
            .entry((
                b.sink.tenant.clone(),
                b.entry.model.clone(),
                b.entry.version,
            ))
            .or_default()
            .push(b);
    }
    let mut kept = Vec::new();
    for ((tenant, model, version), group) in groups {
        let rows: usize = group.iter().map(|b| b.entry.rows()).sum();
        let (group, written) = write_file(inner, group).await;
        match written {
            Ok(()) => {
                let units: u32 = group.iter().map(|b| b.units).sum();
                inner.rows.fetch_sub(rows, Ordering::AcqRel);
                inner.metrics.rows.inc_by(rows as u64);
                inner.metrics.files.inc();
                inner.metrics.backlog_rows.dec_by(rows as i64);
                inner
                    .metrics
                    .backlog_bytes
                    .dec_by((units as usize * UNIT) as i64);
                inner.room.add_permits(units as usize);
            }
            Err(e) => {
                inner.metrics.failures.inc();
                tracing::warn!(%tenant, %model, version, rows, error = %e,
                    "writing the inference log; kept for the next flush");
                kept.extend(group);
            }
        }
    }
    let rows = kept.iter().map(|b| b.entry.rows()).sum();
    if !kept.is_empty() {
        // Before what arrived meanwhile, so the log stays in order.
        let mut buffer = lock(&inner.buffer);
        kept.append(&mut buffer);
        *buffer = kept;
    }
    rows
}

/// One group's Parquet file, stored and listed; the group is handed back
/// (to be kept when the file could not be written).
async fn write_file(inner: &Inner, group: Vec<Buffered>) -> (Vec<Buffered>, Result<(), String>) {
    // Building and encoding the file is CPU work: off the async threads.
    let built = tokio::task::spawn_blocking(move || {
        let entries: Vec<&Entry> = group.iter().map(|b| &b.entry).collect();
        let encoded = table::log_batch(&entries).and_then(|batch| {
            crate::data::write_parquet(&batch)
                .map(|bytes| (bytes, batch.num_rows()))
                .map_err(|e| e.to_string())
        });
        (group, encoded)
    })
    .await;
    let (group, encoded) = match built {
        Ok(built) => built,
        // The closure panicked, and took the group with it.
        Err(e) => return (Vec::new(), Err(format!("encoding the log file: {e}"))),
    };
    let (bytes, rows) = match encoded {
        Ok(encoded) => encoded,
        Err(e) => return (group, Err(e)),
    };
    let sink = group[0].sink.clone();
    let first = &group[0].entry;
    let (first_ms, last_ms) = group.iter().fold((i64::MAX, i64::MIN), |(lo, hi), b| {
        (lo.min(b.entry.time_ms), hi.max(b.entry.time_ms))
    });
    let file = InferenceLogFile {
        digest: match sink.store.put(bytes.into()).await {
            Ok(digest) => digest,
            Err(e) => return (group, Err(e.to_string())),
        },
        model: first.model.clone(),
        version: first.version,
        rows: rows as i64,
        requests: group.len() as i64,
        first_ms,
        last_ms,
    };
    let listed = inner
        .meta
        .record_inference_log(&sink.tenant, &file)
        .await
        .map_err(|e| e.to_string());
    (group, listed)
}
