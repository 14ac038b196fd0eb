//! Reading a model's inference log back: its files of a window, as one
//! table (`sluice serve logs`, monitoring).

use super::table::rfc3339;
use crate::artifacts::{ArtifactDigest, ArtifactError, ArtifactStore};
use crate::meta::{MetaError, MetaStore};
use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray, new_null_array};
use arrow::datatypes::{DataType, Field, Schema};
use std::sync::Arc;

/// Why a log could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The metadata store could not list the files.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// A file could not be read from the artifact store.
    #[error("reading the inference log file {digest} of model `{model}`: {source}")]
    Artifact {
        /// The model.
        model: String,
        /// The file.
        digest: ArtifactDigest,
        /// Why.
        #[source]
        source: Box<ArtifactError>,
    },
    /// A file is not a log table.
    #[error("the inference log file {digest} of model `{model}` is not readable: {message}")]
    Format {
        /// The model.
        model: String,
        /// The file.
        digest: ArtifactDigest,
        /// Why.
        message: String,
    },
    /// The files' tables could not be put together.
    #[error("joining the inference log files of model `{model}`: {message}")]
    Union {
        /// The model.
        model: String,
        /// Why.
        message: String,
    },
}

/// `since` as Unix milliseconds: an RFC 3339 time
/// (`2026-12-04T10:00:00Z`), or a span back from now (`90s`, `15m`,
/// `2h`, `7d`).
pub fn since_ms(since: &str) -> Result<i64, String> {
    let since = since.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(since) {
        return Ok(t.timestamp_millis());
    }
    let unit_at = since
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(since.len());
    let (number, unit) = since.split_at(unit_at);
    let seconds: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 => {
            Ok(chrono::Utc::now().timestamp_millis() - n.saturating_mul(seconds * 1000))
        }
        _ => Err(format!(
            "`{since}` is not a time: give an RFC 3339 time (2026-12-04T10:00:00Z) or a span \
             back from now (90s, 15m, 2h, 7d)"
        )),
    }
}

/// The log of `tenant`'s model `model` from `since_ms` on (all of it with
/// `None`), oldest file first: one table whose columns are the union of
/// its files' (a column a version lacks is null in its rows). `None` when
/// nothing was logged in the window.
pub async fn read(
    meta: &MetaStore,
    store: &ArtifactStore,
    tenant: &str,
    model: &str,
    since_ms: Option<i64>,
) -> Result<Option<RecordBatch>, ReadError> {
    read_between(meta, store, tenant, model, since_ms, None, |_| true).await
}

/// [`read`] of the requests that arrived from `since_ms` until before
/// `until_ms` (no bound with `None`), only the columns `keep` accepts (the
/// others are not decoded). The files are fetched and decoded side by side
/// (up to the cores), and only a file that crosses a bound is filtered row
/// by row.
pub async fn read_between(
    meta: &MetaStore,
    store: &ArtifactStore,
    tenant: &str,
    model: &str,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    keep: fn(&str) -> bool,
) -> Result<Option<RecordBatch>, ReadError> {
    let files: Vec<_> = meta
        .inference_logs(tenant, model, since_ms)
        .await?
        .into_iter()
        .filter(|f| until_ms.is_none_or(|u| f.first_ms < u))
        .collect();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut batches = Vec::new();
    for group in files.chunks(parallel) {
        let mut decoding = Vec::with_capacity(group.len());
        for file in group {
            let bytes = get_file(store, model, &file.digest).await?;
            let (model, file) = (model.to_owned(), file.clone());
            decoding.push(tokio::task::spawn_blocking(move || {
                let format = |message: String| ReadError::Format {
                    model: model.clone(),
                    digest: file.digest.clone(),
                    message,
                };
                let crosses = since_ms.is_some_and(|s| file.first_ms < s)
                    || until_ms.is_some_and(|u| file.last_ms >= u);
                // `time` is read where rows are filtered by it.
                let wanted = |name: &str| keep(name) || (crosses && name == "time");
                let mut batch = crate::data::read_parquet_columns(bytes, &wanted)
                    .map_err(|e| format(e.to_string()))?;
                if let Some(since) = since_ms.filter(|s| file.first_ms < *s) {
                    let since = rfc3339(since);
                    batch = keep_times(&batch, |t| t >= since.as_str()).map_err(format)?;
                }
                if let Some(until) = until_ms.filter(|u| file.last_ms >= *u) {
                    let until = rfc3339(until);
                    batch = keep_times(&batch, |t| t < until.as_str()).map_err(format)?;
                }
                if crosses && !keep("time") {
                    let without: Vec<usize> = (0..batch.num_columns())
                        .filter(|&i| batch.schema().field(i).name() != "time")
                        .collect();
                    batch = batch.project(&without).map_err(|e| format(e.to_string()))?;
                }
                Ok::<_, ReadError>(batch)
            }));
        }
        for d in decoding {
            let batch = d.await.map_err(|e| ReadError::Union {
                model: model.to_owned(),
                message: format!("decoding a log file: {e}"),
            })??;
            if batch.num_rows() > 0 {
                batches.push(batch);
            }
        }
    }
    all(model, &batches)
}

/// The bytes of one file of `model`'s log or labels.
async fn get_file(
    store: &ArtifactStore,
    model: &str,
    digest: &ArtifactDigest,
) -> Result<bytes::Bytes, ReadError> {
    store
        .get(digest)
        .await
        .map_err(|source| ReadError::Artifact {
            model: model.to_owned(),
            digest: digest.clone(),
            source: Box::new(source),
        })
}

/// One Parquet file of `model`'s log or labels.
pub(super) async fn read_file(
    store: &ArtifactStore,
    model: &str,
    digest: &ArtifactDigest,
) -> Result<RecordBatch, ReadError> {
    let bytes = get_file(store, model, digest).await?;
    crate::data::read_parquet(&bytes).map_err(|e| ReadError::Format {
        model: model.to_owned(),
        digest: digest.clone(),
        message: e.to_string(),
    })
}

/// `model`'s files' tables as one ([`union`]); `None` for none.
pub(super) fn all(model: &str, batches: &[RecordBatch]) -> Result<Option<RecordBatch>, ReadError> {
    if batches.is_empty() {
        return Ok(None);
    }
    union(batches)
        .map(Some)
        .map_err(|message| ReadError::Union {
            model: model.to_owned(),
            message,
        })
}

/// The rows of `batch` whose `time` (RFC 3339, which orders as text)
/// `keep` says to keep.
fn keep_times(batch: &RecordBatch, keep: impl Fn(&str) -> bool) -> Result<RecordBatch, String> {
    let times = batch
        .column_by_name("time")
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or("it has no `time` column of text")?;
    let keep: BooleanArray = times.iter().map(|t| Some(t.is_some_and(&keep))).collect();
    arrow::compute::filter_record_batch(batch, &keep).map_err(|e| e.to_string())
}

/// The batches as one: columns in the order first seen, each batch's
/// missing ones null; a column whose type differs between batches is read
/// as text.
fn union(batches: &[RecordBatch]) -> Result<RecordBatch, String> {
    let mut fields: Vec<Field> = Vec::new();
    for batch in batches {
        for f in batch.schema().fields() {
            match fields.iter_mut().find(|g| g.name() == f.name()) {
                None => fields.push(f.as_ref().clone().with_nullable(true)),
                Some(g) if g.data_type() != f.data_type() => {
                    *g = Field::new(f.name(), DataType::Utf8, true);
                }
                Some(_) => {}
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let aligned = batches
        .iter()
        .map(|batch| {
            let columns = schema
                .fields()
                .iter()
                .map(|f| match batch.column_by_name(f.name()) {
                    None => Ok(new_null_array(f.data_type(), batch.num_rows())),
                    Some(c) if c.data_type() == f.data_type() => Ok(c.clone()),
                    Some(c) => arrow::compute::cast(c, f.data_type()).map_err(|e| e.to_string()),
                })
                .collect::<Result<Vec<ArrayRef>, String>>()?;
            RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    arrow::compute::concat_batches(&schema, &aligned).map_err(|e| e.to_string())
}
