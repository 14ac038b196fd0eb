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
