//! One window of a model's inference log, per version: the answered rows'
//! inputs and outputs as the version's own column names, their labels
//! where feedback sent some, and the service figures of every request.

use crate::registry::Registry;
use crate::serve::log::{INPUT_PREFIX, OUTPUT_PREFIX, labels, read_between};
use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// A span of time: `[start_ms, end_ms)` in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Its first millisecond.
    pub start_ms: i64,
    /// The millisecond after its last.
    pub end_ms: i64,
}

/// The requests of one version in a window, as a server measured them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    /// Requests answered or refused.
    pub requests: u64,
    /// Those answered with a 5xx status.
    pub errors: u64,
    /// The median latency of the answered ones, in milliseconds.
    pub p50_ms: Option<f64>,
    /// Their 99th percentile latency, in milliseconds.
    pub p99_ms: Option<f64>,
}

impl Service {
    /// Errors over requests (0 with no request).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// One version's traffic in a window.
#[derive(Debug, Clone)]
pub struct VersionTraffic {
    /// The version.
    pub version: i64,
    /// The answered rows' inputs, one column per logged `input.NAME`, named
    /// `NAME`.
    pub inputs: RecordBatch,
    /// The same rows' outputs, one column per `output.NAME`, named `NAME`.
    pub outputs: RecordBatch,
    /// The same rows' labels (null where none came), if any label came.
    pub labels: Option<ArrayRef>,
    /// Its requests' figures.
    pub service: Service,
}

impl VersionTraffic {
    /// How many answered rows.
    pub fn rows(&self) -> usize {
        self.inputs.num_rows()
    }

    /// How many of them have a label.
    pub fn labelled(&self) -> usize {
        self.labels.as_ref().map_or(0, |l| l.len() - l.null_count())
    }
}

/// The traffic of `registry`'s model `model` in `window`, by version
/// (shadow answers included: they are the version's answers to live
/// inputs). Versions with no logged request are absent.
pub async fn read_window(
    registry: &Registry,
    model: &str,
    window: Window,
) -> Result<BTreeMap<i64, VersionTraffic>, String> {
    let log = read_between(
        &registry.meta,
        &registry.artifacts,
        registry.tenant(),
        model,
        Some(window.start_ms),
        Some(window.end_ms),
        |name| {
            name.starts_with(INPUT_PREFIX)
                || name.starts_with(OUTPUT_PREFIX)
                || [
                    "request_id",
                    "row",
                    "key",
                    "version",
                    "variant",
                    "status",
                    "latency_ms",
                ]
                .contains(&name)
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let Some(log) = log else {
        return Ok(BTreeMap::new());
    };
    let log = match labels::read_labels(
        &registry.meta,
        &registry.artifacts,
        registry.tenant(),
        model,
    )
    .await
    .map_err(|e| e.to_string())?
    {
        Some(l) => labels::join(&log, &l).map_err(|e| format!("joining the labels: {e}"))?,
        None => log,
    };
    by_version(&log)
}

/// When each request of `model` logged in `[since_ms, until_ms)` arrived
/// (RFC 3339, sorted): one time per request id, so a shadow's answer and
/// a request's other rows count once.
async fn request_times(
    registry: &Registry,
    model: &str,
    since_ms: i64,
    until_ms: i64,
) -> Result<Vec<String>, String> {
    let log = read_between(
        &registry.meta,
        &registry.artifacts,
        registry.tenant(),
        model,
        Some(since_ms),
        Some(until_ms),
        |name| name == "time" || name == "request_id",
    )
    .await
    .map_err(|e| e.to_string())?;
    let Some(log) = log else {
        return Ok(Vec::new());
    };
    let time = string_column(&log, "time")?;
    let request = string_column(&log, "request_id")?;
    let mut first: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for i in 0..log.num_rows() {
        if time.is_null(i) {
            continue;
        }
        let id = if request.is_valid(i) {
            request.value(i)
        } else {
            ""
        };
        let t = time.value(i);
        first
            .entry(id)
            .and_modify(|e| *e = (*e).min(t))
            .or_insert(t);
    }
    let mut times: Vec<String> = first.into_values().map(str::to_owned).collect();
    times.sort_unstable();
    Ok(times)
}

fn millis(time: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("the log's time `{time}`: {e}"))
}

/// The window of the first `count` requests of `model` logged from
/// `since_ms` on and before `until_ms`: from `since_ms` to the millisecond
/// after the `count`th one arrived; `None` while fewer are logged.
pub async fn next_requests(
    registry: &Registry,
    model: &str,
    since_ms: i64,
    until_ms: i64,
    count: u64,
) -> Result<Option<Window>, String> {
    // The files' own counts bound the window's from above (a file
    // reaching back before `since_ms` counts whole): below `count`, no
    // file need be read.
    let listed: i64 = registry
        .meta
        .inference_logs(registry.tenant(), model, Some(since_ms))
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|f| f.first_ms < until_ms)
        .map(|f| f.requests)
        .sum();
    if (listed.max(0) as u64) < count {
        return Ok(None);
    }
    let times = request_times(registry, model, since_ms, until_ms).await?;
    let Some(last) = times.get(count as usize - 1) else {
        return Ok(None);
    };
    Ok(Some(Window {
        start_ms: since_ms,
        end_ms: millis(last)? + 1,
    }))
}

/// The window of the last `count` requests of `model` logged before
/// `until_ms` (all of them when fewer): from the time the first of them
/// arrived to `until_ms`.
pub async fn last_requests(
    registry: &Registry,
    model: &str,
    until_ms: i64,
    count: u64,
) -> Result<Window, String> {
    let files = registry
        .meta
        .inference_logs(registry.tenant(), model, None)
        .await
        .map_err(|e| e.to_string())?;
    // Read back from the newest file until the files hold `count`
    // requests (their counts bound the requests from above, so read one
    // file more than they say).
    let mut since_ms = i64::MIN;
    let mut listed = 0;
    let mut by_start: Vec<_> = files.iter().filter(|f| f.first_ms < until_ms).collect();
    by_start.sort_by_key(|f| std::cmp::Reverse(f.first_ms));
    for f in by_start {
        since_ms = f.first_ms;
        listed += f.requests.max(0) as u64;
        if listed > count.saturating_mul(2) {
            break;
        }
    }
    loop {
        let times = request_times(registry, model, since_ms, until_ms).await?;
        if times.len() as u64 >= count || since_ms == i64::MIN {
            let start_ms = match times.len().checked_sub(count as usize) {
                Some(at) => millis(&times[at])?,
                None => times
                    .first()
                    .map(|t| millis(t))
                    .transpose()?
                    .unwrap_or(until_ms),
            };
            return Ok(Window {
                start_ms,
                end_ms: until_ms,
            });
        }
        since_ms = i64::MIN;
    }
}

fn string_column<'a>(log: &'a RecordBatch, name: &str) -> Result<&'a StringArray, String> {
    log.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| format!("the log has no `{name}` column of text"))
}

fn int_column<'a>(log: &'a RecordBatch, name: &str) -> Result<&'a Int64Array, String> {
    log.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| format!("the log has no `{name}` column of integers"))
}

/// One version's rows while a log is split: the answered rows, the
/// service figures, the answered requests' latencies, the requests seen.
type Tally = (Vec<u32>, Service, Vec<f64>, HashSet<String>);

/// Split a (labelled) log table by version.
pub fn by_version(log: &RecordBatch) -> Result<BTreeMap<i64, VersionTraffic>, String> {
    let version = int_column(log, "version")?;
    let status = int_column(log, "status")?;
    let row = int_column(log, "row")?;
    let latency = log
        .column_by_name("latency_ms")
        .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
        .ok_or("the log has no `latency_ms` column of numbers")?;
    let request = string_column(log, "request_id")?;
    let variant = string_column(log, "variant")?;
    let mut versions: BTreeMap<i64, Tally> = BTreeMap::new();
    for i in 0..log.num_rows() {
        if version.is_null(i) {
            continue;
        }
        let entry = versions.entry(version.value(i)).or_default();
        let (answered, service, latencies, seen) = entry;
        let code = status.value(i);
        // One request is counted once: its first row (a shadow answer
        // shares its request's id, under its own variant).
        let first = row.is_null(i) || row.value(i) == 0;
        if first
            && seen.insert(format!(
                "{}\u{0}{}",
                request.value(i),
                if variant.is_valid(i) {
                    variant.value(i)
                } else {
                    ""
                }
            ))
        {
            service.requests += 1;
            if code >= 500 {
                service.errors += 1;
            }
            if code == 200 && latency.is_valid(i) {
                latencies.push(latency.value(i));
            }
        }
        if code == 200 {
            answered.push(u32::try_from(i).map_err(|_| "the window has too many rows")?);
        }
    }
    let label = log.column_by_name("label");
    versions
        .into_iter()
        .map(|(v, (answered, mut service, mut latencies, _))| {
            latencies.sort_by(f64::total_cmp);
            service.p50_ms = quantile(&latencies, 0.5);
            service.p99_ms = quantile(&latencies, 0.99);
            // Every row of the log (one version, all answered, the usual
            // window): the columns as they are, no copy.
            let all = answered.len() == log.num_rows();
            let take = arrow::array::UInt32Array::from(answered);
            let rows = |c: &ArrayRef| -> Result<ArrayRef, String> {
                if all {
                    Ok(c.clone())
                } else {
                    arrow::compute::take(c, &take, None).map_err(|e| e.to_string())
                }
            };
            let pick = |prefix: &str| -> Result<RecordBatch, String> {
                let mut fields = Vec::new();
                let mut columns = Vec::new();
                for (f, c) in log.schema().fields().iter().zip(log.columns()) {
                    if let Some(name) = f.name().strip_prefix(prefix) {
                        let taken = rows(c)?;
                        // A column the version never logged (another
                        // version's feature) is all null here: left out.
                        if taken.null_count() == taken.len() && !taken.is_empty() {
                            continue;
                        }
                        fields.push(Field::new(name, f.data_type().clone(), true));
                        columns.push(taken);
                    }
                }
                RecordBatch::try_new_with_options(
                    Arc::new(Schema::new(fields)),
                    columns,
                    &arrow::record_batch::RecordBatchOptions::new()
                        .with_row_count(Some(take.len())),
                )
                .map_err(|e| e.to_string())
            };
            let labels = label.map(&rows).transpose()?;
            Ok((
                v,
                VersionTraffic {
                    version: v,
                    inputs: pick(INPUT_PREFIX)?,
                    outputs: pick(OUTPUT_PREFIX)?,
                    labels,
                    service,
                },
            ))
        })
        .collect()
}

/// The `q` quantile of sorted `values` (numpy's linear method).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64))
}
