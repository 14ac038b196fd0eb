//! The state a step's store owns: a WASI context that grants nothing, a
//! bounded log, deterministic clocks and randomness, the memory limiter, and
//! the route of the `model` import.

use super::bindings::{host_iface, model_iface, types};
use super::limits::StepLimits;
use futures::future::BoxFuture;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The wall clock every step sees: 2024-01-01T00:00:00Z, advancing one
/// microsecond per read, so a rerun reads the same times.
pub const DETERMINISTIC_EPOCH_SECS: u64 = 1_704_067_200;

/// Where a step's log goes: host `log` calls, stdout and stderr, in order,
/// truncated at a byte bound with a marker.
#[derive(Clone, Default)]
pub struct StepLog {
    inner: Arc<Mutex<LogBuffer>>,
}

#[derive(Default)]
struct LogBuffer {
    text: Vec<u8>,
    capacity: usize,
    dropped: u64,
}

impl StepLog {
    pub fn new(capacity: usize) -> Self {
        StepLog {
            inner: Arc::new(Mutex::new(LogBuffer {
                text: Vec::new(),
                capacity,
                dropped: 0,
            })),
        }
    }

    pub fn append(&self, bytes: &[u8]) {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = buf.capacity.saturating_sub(buf.text.len());
        let take = room.min(bytes.len());
        buf.text.extend_from_slice(&bytes[..take]);
        buf.dropped += (bytes.len() - take) as u64;
    }

    /// One line; a huge message is truncated in place, never copied whole.
    pub fn line(&self, level: &str, message: &str) {
        self.append(format!("[{level}] ").as_bytes());
        self.append(message.as_bytes());
        self.append(b"\n");
    }

    /// Forget what was logged (a model session's next call starts a new
    /// log).
    pub fn clear(&self) {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        buf.text.clear();
        buf.dropped = 0;
    }

    /// The log as text, with a marker when bytes were dropped.
    pub fn contents(&self) -> String {
        let buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = String::from_utf8_lossy(&buf.text).into_owned();
        if buf.dropped > 0 {
            text.push_str(&format!(
                "\n[sluice] log truncated: {} more bytes dropped (limit {} bytes)\n",
                buf.dropped, buf.capacity
            ));
        }
        text
    }
}

impl wasmtime_wasi::cli::IsTerminal for StepLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for StepLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for StepLog {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept: what does not fit is counted and dropped.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StepLog {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for StepLog {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// SplitMix64: a tiny, fast, seedable generator. Deterministic randomness
/// for `wasi:random`, so a rerun with the same seed sees the same bytes.
pub struct SeededRandom(u64);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        SeededRandom(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl rand_core::TryRng for SeededRandom {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next() >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

struct DeterministicWallClock {
    reads: Mutex<u64>,
}

impl wasmtime_wasi::HostWallClock for DeterministicWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_micros(1)
    }
    fn now(&self) -> Duration {
        let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        *reads += 1;
        Duration::from_secs(DETERMINISTIC_EPOCH_SECS) + Duration::from_micros(*reads)
    }
}

struct DeterministicMonotonicClock {
    reads: Mutex<u64>,
}

impl wasmtime_wasi::HostMonotonicClock for DeterministicMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000
    }
    fn now(&self) -> u64 {
        let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        *reads += 1;
        *reads * 1_000
    }
}

/// The memory limiter of one store. Growing past the limit is an error
/// (a trap), remembered so the failure can be named.
pub struct StepLimiter {
    pub max_memory: usize,
    pub exceeded: Option<usize>,
}

/// Raised (as a trap) when a step grows its memory past its limit.
#[derive(Debug)]
pub struct MemoryLimitExceeded {
    pub desired: usize,
    pub limit: usize,
}

impl std::fmt::Display for MemoryLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "memory limit exceeded: the step asked for {} bytes of linear memory, its limit is {} bytes",
            self.desired, self.limit
        )
    }
}

impl std::error::Error for MemoryLimitExceeded {}

/// Raised (as a trap) when a validator or explainer calls the `model`
/// import more often than `limits.model_calls`.
#[derive(Debug)]
pub struct ModelCallLimitExceeded {
    pub limit: u64,
}

impl std::fmt::Display for ModelCallLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "model call limit exceeded: more than {} calls (limits.model_calls)",
            self.limit
        )
    }
}

impl std::error::Error for ModelCallLimitExceeded {}

impl ResourceLimiter for StepLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.exceeded = Some(desired);
            return Err(MemoryLimitExceeded {
                desired,
                limit: self.max_memory,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// One call of the `model` import.
pub enum ModelCall {
    Predict(types::Table),
    Hold(Arc<types::Table>),
    /// `predict-replacing`, or one request of `predict-each`.
    PredictReplacing(PredictRequest),
    /// `predict-replacing-each` and `predict-each`.
    PredictEach(Vec<PredictRequest>),
}

/// One prediction on the held table: columns replaced, held columns
/// permuted (by the host: `(name, seed)`, see the WIT `permutation`), and
/// the columns of the answer (empty: all).
#[derive(Default)]
pub struct PredictRequest {
    pub replace: Vec<types::Column>,
    pub permute: Vec<(String, u64)>,
    pub outputs: Vec<String>,
}

impl PredictRequest {
    /// `predict-replacing(columns)`: every column of the answer.
    pub fn replacing(columns: Vec<types::Column>) -> Self {
        PredictRequest {
            replace: columns,
            ..PredictRequest::default()
        }
    }
}

impl From<model_iface::PredictionRequest> for PredictRequest {
    fn from(r: model_iface::PredictionRequest) -> Self {
        PredictRequest {
            replace: r.replace,
            permute: r.permute.into_iter().map(|p| (p.column, p.seed)).collect(),
            outputs: r.outputs,
        }
    }
}

/// What a model call answers.
pub enum ModelReply {
    Held,
    Table(types::Table),
    Tables(Vec<types::Table>),
}

/// What a validator or explainer's `model` import calls: a future that runs
/// the call in the trainer, in a store of its own.
pub type ModelPredictor = Arc<
    dyn Fn(ModelCall) -> BoxFuture<'static, wasmtime::Result<Result<ModelReply, types::StepError>>>
        + Send
        + Sync,
>;

/// Everything a step's store owns.
pub struct StepState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: StepLimiter,
    pub log: StepLog,
    pub progress: (u64, u64),
    pub model: Option<ModelPredictor>,
    pub model_calls: u64,
    pub max_model_calls: u64,
    /// The `parallel` import's workers (none in a worker itself).
    pub parallel: Option<super::parallel::Parallel>,
    /// The call's table when it was passed without its rows, for the
    /// `rows` import to read (see [`super::view::RowSource`]).
    pub rows: Option<std::sync::Arc<dyn super::view::RowSource>>,
}

impl StepState {
    /// A fresh state: nothing granted, deterministic clocks and randomness
    /// from `seed`, stdout and stderr into the bounded log.
    pub fn new(
        limits: &StepLimits,
        seed: u64,
        model: Option<ModelPredictor>,
        grants: &[super::Grant],
    ) -> Result<Self, String> {
        let log = StepLog::new(limits.log_bytes());
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(log.clone())
            .stderr(log.clone())
            .secure_random(SeededRandom::new(seed))
            .insecure_random(SeededRandom::new(seed ^ 0x5EED_5EED_5EED_5EED))
            .insecure_random_seed(u128::from(seed))
            .wall_clock(DeterministicWallClock {
                reads: Mutex::new(0),
            })
            .monotonic_clock(DeterministicMonotonicClock {
                reads: Mutex::new(0),
            })
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false);
        for g in grants {
            // The descriptor opened at admission, never the path again.
            let host = g.host_path()?;
            builder
                .preopened_dir(&host, g.guest_path(), wasmtime_wasi::FsPerms::ReadOnly)
                .map_err(|e| {
                    format!(
                        "cannot open granted directory '{}' ({}): {e}",
                        g.name,
                        g.path.display()
                    )
                })?;
        }
        Ok(StepState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: StepLimiter {
                max_memory: limits.memory_bytes(),
                exceeded: None,
            },
            log,
            progress: (0, 0),
            model,
            model_calls: 0,
            max_model_calls: limits.model_calls,
            parallel: None,
            rows: None,
        })
    }
}

impl WasiView for StepState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host_iface::Host for StepState {
    async fn log(&mut self, level: u8, message: String) -> wasmtime::Result<()> {
        let level = match level {
            0 => "error",
            1 => "warn",
            2 => "info",
            3 => "debug",
            _ => "trace",
        };
        self.log.line(level, &message);
        Ok(())
    }

    async fn progress(&mut self, done: u64, total: u64) -> wasmtime::Result<()> {
        self.progress = (done, total);
        tracing::trace!(done, total, "step progress");
        Ok(())
    }
}

impl StepState {
    /// Route a model call to the bound trainer, counting its `calls`
    /// (requests) against the step's `model_calls` limit.
    async fn call_model(
        &mut self,
        call: ModelCall,
        calls: u64,
    ) -> wasmtime::Result<Result<ModelReply, types::StepError>> {
        let Some(model) = self.model.clone() else {
            return Ok(Err(types::StepError {
                kind: types::ErrorKind::InvalidInput,
                message: "no model is bound to this step: set `model = \"STEP\"` on the step in the pipeline".into(),
            }));
        };
        self.model_calls = self.model_calls.saturating_add(calls);
        // A trap, not an error the guest could ignore and retry forever.
        if self.model_calls > self.max_model_calls {
            return Err(ModelCallLimitExceeded {
                limit: self.max_model_calls,
            }
            .into());
        }
        model(call).await
    }
}

/// A model call answered with something else than its kind of answer: a
/// bug in the host.
fn wrong_reply(call: &str) -> types::StepError {
    types::StepError {
        kind: types::ErrorKind::Internal,
        message: format!("the model's {call} answered the wrong kind of value"),
    }
}

impl model_iface::Host for StepState {
    async fn predict(
        &mut self,
        features: types::Table,
    ) -> wasmtime::Result<Result<types::Table, types::StepError>> {
        let out = self.call_model(ModelCall::Predict(features), 1).await?;
        Ok(out.and_then(|r| match r {
            ModelReply::Table(t) => Ok(t),
            _ => Err(wrong_reply("predict")),
        }))
    }

    async fn hold(
        &mut self,
        features: types::Table,
    ) -> wasmtime::Result<Result<(), types::StepError>> {
        let out = self
            .call_model(ModelCall::Hold(Arc::new(features)), 1)
            .await?;
        Ok(out.map(|_| ()))
    }

    async fn predict_replacing(
        &mut self,
        columns: Vec<types::Column>,
    ) -> wasmtime::Result<Result<types::Table, types::StepError>> {
        let out = self
            .call_model(
                ModelCall::PredictReplacing(PredictRequest::replacing(columns)),
                1,
            )
            .await?;
        Ok(out.and_then(|r| match r {
            ModelReply::Table(t) => Ok(t),
            _ => Err(wrong_reply("predict-replacing")),
        }))
    }

    async fn predict_replacing_each(
        &mut self,
        requests: Vec<Vec<types::Column>>,
    ) -> wasmtime::Result<Result<Vec<types::Table>, types::StepError>> {
        let requests = requests.into_iter().map(PredictRequest::replacing);
        self.predict_requests(requests.collect(), "predict-replacing-each")
            .await
    }

    async fn predict_each(
        &mut self,
        requests: Vec<model_iface::PredictionRequest>,
    ) -> wasmtime::Result<Result<Vec<types::Table>, types::StepError>> {
        let requests = requests.into_iter().map(PredictRequest::from);
        self.predict_requests(requests.collect(), "predict-each")
            .await
    }
}

impl StepState {
    /// `predict-replacing-each` and `predict-each` (named `call`): each
    /// request counts as one model call.
    async fn predict_requests(
        &mut self,
        requests: Vec<PredictRequest>,
        call: &str,
    ) -> wasmtime::Result<Result<Vec<types::Table>, types::StepError>> {
        let calls = requests.len() as u64;
        let out = self
            .call_model(ModelCall::PredictEach(requests), calls)
            .await?;
        Ok(out.and_then(|r| match r {
            ModelReply::Tables(t) => Ok(t),
            _ => Err(wrong_reply(call)),
        }))
    }
}

impl types::Host for StepState {}

impl super::bindings::rows_iface::Host for StepState {
    async fn streamed(&mut self) -> wasmtime::Result<Option<u64>> {
        Ok(self.rows.as_deref().map(super::view::rows_of))
    }

    async fn read(
        &mut self,
        start: u64,
        len: u32,
    ) -> wasmtime::Result<(types::Table, Option<types::Column>)> {
        Ok(match self.rows.as_deref() {
            Some(source) => super::view::read_rows(source, start, len),
            None => (
                types::Table {
                    columns: Vec::new(),
                },
                None,
            ),
        })
    }
}
