//! A version's monitor reference, built once and stored: what every
//! window of its traffic is compared with.
//!
//! A drift test compares one column's values in the window with the same
//! column's values in the reference, whatever the order of the rows: all
//! it needs of the reference is each column's distribution, which its
//! values in ascending order are exactly (the Kolmogorov-Smirnov and
//! Wasserstein walks, the binned PSI and Jensen-Shannon, the categories'
//! counts all read it). So the first evaluation of a version sorts each
//! column of its reference on its own (nulls last), keeps the result in
//! the tenant's artifact store as Parquet and lists it in the metadata
//! store (`monitor_references`) with each column's summary statistics;
//! every later evaluation, in any process, reads that file and the drift
//! plugin finds its columns already in order. Evidently recomputes the
//! reference's statistics at every report (evidently#506).
//!
//! Two references per version: `inputs` (the training rows' features and
//! target: drift checks, and the target's type for labels) and `outputs`
//! (the holdout predictions: prediction drift). Checks that read rows
//! together (CBPE, custom validators) still get the rows as they are.
//!
//! A process keeps the references it read last in memory
//! ([`CACHE_BYTES`] at most), so a server evaluating a window every few
//! seconds reads its reference once.

use super::CheckKind;
use super::check::VersionTables;
use crate::artifacts::ArtifactDigest;
use crate::meta::{ColumnSummary, MonitorReference};
use crate::registry::{ModelVersion, Registry};
use arrow::array::{Array, ArrayRef};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Which of a version's tables a reference is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// The training rows: the features and the target.
    Inputs,
    /// The holdout predictions.
    Outputs,
}

impl ReferenceKind {
    /// Its name in the metadata store.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceKind::Inputs => "inputs",
            ReferenceKind::Outputs => "outputs",
        }
    }
}

/// At most this many bytes of decoded references are kept in memory.
pub const CACHE_BYTES: usize = 512 << 20;

static CACHE: Mutex<VecDeque<(ArtifactDigest, RecordBatch)>> = Mutex::new(VecDeque::new());

fn cached(digest: &ArtifactDigest) -> Option<RecordBatch> {
    let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .iter()
        .find(|(d, _)| d == digest)
        .map(|(_, b)| b.clone())
}

fn keep(digest: ArtifactDigest, batch: RecordBatch) {
    let size = batch.get_array_memory_size();
    if size > CACHE_BYTES {
        return;
    }
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(d, _)| *d != digest);
    cache.push_front((digest, batch));
    let mut total = 0;
    cache.retain(|(_, b)| {
        total += b.get_array_memory_size();
        total <= CACHE_BYTES
    });
}

/// `batch` with each column sorted ascending on its own, nulls last.
pub fn sort_columns(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let options = SortOptions {
        descending: false,
        nulls_first: false,
    };
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let sorted = arrow::compute::sort(c, Some(options))
            .map_err(|e| format!("sorting column `{}`: {e}", f.name()))?;
        fields.push(Field::new(f.name(), c.data_type().clone(), true));
        columns.push(sorted);
    }
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| e.to_string())
}

/// What a sorted column holds, in numbers.
pub fn summarize(name: &str, sorted: &ArrayRef) -> ColumnSummary {
    let nulls = sorted.null_count();
    let present = sorted.len() - nulls;
    let mut summary = ColumnSummary {
        name: name.to_owned(),
        rows: sorted.len() as u64,
        nulls: nulls as u64,
        ..ColumnSummary::default()
    };
    let numbers = match sorted.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Boolean => None,
        _ => arrow::compute::cast(sorted, &DataType::Float64).ok(),
    };
    match numbers {
        Some(numbers) => {
            let numbers = numbers
                .as_any()
                .downcast_ref::<arrow::array::Float64Array>()
                .expect("cast to Float64");
            // Nulls are last; NaN sorts after every number.
            let values: Vec<f64> = numbers.values()[..present]
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect();
            summary.kind = "numeric".into();
            if let (Some(&min), Some(&max)) = (values.first(), values.last()) {
                let n = values.len() as f64;
                let mean = values.iter().sum::<f64>() / n;
                let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                let q = |p: f64| {
                    let at = p * (values.len() - 1) as f64;
                    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
                    values[lo] + (values[hi] - values[lo]) * (at - lo as f64)
                };
                summary.min = Some(min);
                summary.max = Some(max);
                summary.mean = Some(mean);
                summary.std = Some(var.sqrt());
                summary.quantiles = [0.05, 0.25, 0.5, 0.75, 0.95].map(q).to_vec();
            }
            summary.distinct = values
                .windows(2)
                .filter(|w| w[0] != w[1])
                .count()
                .saturating_add(usize::from(!values.is_empty()))
                as u64;
        }
        None => {
            summary.kind = "categorical".into();
            let text = arrow::compute::cast(sorted, &DataType::Utf8).ok();
            let mut counts: Vec<(String, u64)> = Vec::new();
            if let Some(text) = text
                && let Some(text) = text.as_any().downcast_ref::<arrow::array::StringArray>()
            {
                for i in 0..present {
                    let v = text.value(i);
                    match counts.last_mut() {
                        Some((last, n)) if last == v => *n += 1,
                        _ => counts.push((v.to_owned(), 1)),
                    }
                }
            }
            summary.distinct = counts.len() as u64;
            counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            counts.truncate(10);
            summary.top = counts;
        }
    }
    summary
}

impl VersionTables<'_> {
    /// The version's `kind` reference, its columns sorted: read from the
    /// store when built before, else built from the version's table,
    /// stored and listed.
    pub async fn reference(&self, kind: ReferenceKind) -> Result<RecordBatch, String> {
        let version = self.version;
        let meta = &self.registry.meta;
        let tenant = self.registry.tenant();
        let listed = meta
            .monitor_reference(tenant, &version.name, version.version, kind.as_str())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(listed) = listed {
            if let Some(batch) = cached(&listed.digest) {
                return Ok(batch);
            }
            // A listed file the store lost is built again, below.
            if let Ok(bytes) = self.registry.artifacts.get(&listed.digest).await {
                let batch = crate::data::read_parquet(&bytes)
                    .map_err(|e| format!("reading the stored {} reference: {e}", kind.as_str()))?;
                keep(listed.digest, batch.clone());
                return Ok(batch);
            }
        }
        let table = match kind {
            ReferenceKind::Inputs => {
                let train = self.train().await?;
                let mut names: Vec<String> = version
                    .input_schema
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect();
                names.extend(version.target.clone());
                super::check::select(&train, names)?
            }
            ReferenceKind::Outputs => self.holdout_predictions(false).await?,
        };
        let sorted = sort_columns(&table)?;
        let bytes = crate::data::write_parquet(&sorted).map_err(|e| e.to_string())?;
        let digest = self
            .registry
            .artifacts
            .put(bytes.into())
            .await
            .map_err(|e| format!("storing the {} reference: {e}", kind.as_str()))?;
        let columns = sorted
            .schema()
            .fields()
            .iter()
            .zip(sorted.columns())
            .map(|(f, c)| summarize(f.name(), c))
            .collect();
        meta.record_monitor_reference(
            tenant,
            &MonitorReference {
                model: version.name.clone(),
                version: version.version,
                kind: kind.as_str().to_owned(),
                digest: digest.clone(),
                rows: sorted.num_rows() as i64,
                columns,
                created_ms: chrono::Utc::now().timestamp_millis(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        keep(digest, sorted.clone());
        Ok(sorted)
    }
}

/// Build and store the references `version`'s monitor reads, when it
/// declares one (at registration: so later evaluations, and `sluice
/// monitor reference`, find them). What could not be built is said in the
/// returned lines, and built at the first evaluation instead.
pub async fn build_references(registry: &Registry, version: &ModelVersion) -> Vec<String> {
    let Some(spec) = &version.monitoring else {
        return Vec::new();
    };
    let tables = VersionTables { registry, version };
    let mut kinds = Vec::new();
    if spec
        .checks
        .iter()
        .any(|c| matches!(c.kind, CheckKind::Drift | CheckKind::Performance))
    {
        kinds.push(ReferenceKind::Inputs);
    }
    if spec
        .checks
        .iter()
        .any(|c| c.kind == CheckKind::PredictionDrift)
    {
        kinds.push(ReferenceKind::Outputs);
    }
    let mut failed = Vec::new();
    for kind in kinds {
        if let Err(e) = tables.reference(kind).await {
            failed.push(format!(
                "the {} reference of {}:{}: {e}",
                kind.as_str(),
                version.name,
                version.version
            ));
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "x",
                Arc::new(Float64Array::from(vec![
                    Some(3.0),
                    None,
                    Some(-1.0),
                    Some(f64::NAN),
                    Some(2.0),
                ])) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![5, 1, 4, 1, 2])) as ArrayRef,
            ),
            (
                "c",
                Arc::new(StringArray::from(vec![
                    Some("b"),
                    Some("a"),
                    None,
                    Some("b"),
                    Some("c"),
                ])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn each_column_is_sorted_on_its_own_with_nulls_last() {
        let sorted = sort_columns(&batch()).unwrap();
        let x = sorted
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(&x.values()[..3], &[-1.0, 2.0, 3.0]);
        assert!(x.value(3).is_nan());
        assert!(x.is_null(4));
        let n = sorted
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(n.values().to_vec(), vec![1, 1, 2, 4, 5]);
        let c = sorted
            .column(2)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(
            (0..4).map(|i| c.value(i)).collect::<Vec<_>>(),
            ["a", "b", "b", "c"]
        );
        assert!(c.is_null(4));
    }

    #[test]
    fn summaries_count_what_the_columns_hold() {
        let sorted = sort_columns(&batch()).unwrap();
        let x = summarize("x", sorted.column(0));
        assert_eq!((x.kind.as_str(), x.rows, x.nulls), ("numeric", 5, 1));
        assert_eq!((x.min, x.max), (Some(-1.0), Some(3.0)));
        assert_eq!(x.mean, Some(4.0 / 3.0));
        assert_eq!(x.quantiles[2], 2.0);
        assert_eq!(x.distinct, 3);
        let n = summarize("n", sorted.column(1));
        assert_eq!((n.distinct, n.quantiles[2]), (4, 2.0));
        let c = summarize("c", sorted.column(2));
        assert_eq!(
            (c.kind.as_str(), c.distinct, c.nulls),
            ("categorical", 3, 1)
        );
        assert_eq!(c.top[0], ("b".to_owned(), 2));
        assert_eq!(c.top[1], ("a".to_owned(), 1));
    }
}
