//! Labels for logged requests (feedback): the true outcome of a request,
//! sent when it is known, often hours later, by `POST
//! /v2/models/{name}/feedback` or `sluice feedback`. A label names its
//! request by `request_id` (and `row`, for one row of a many-row request;
//! without it every row of the request), or by `key` (the request's
//! sticky key: a customer id). Labels are stored apart from the log, one
//! Parquet file per batch received, and joined to it when read ([`join`]):
//! a later label of the same request, row or key replaces an earlier one.

use super::read::{ReadError, all, read_file};
use super::table::rfc3339;
use crate::artifacts::ArtifactStore;
use crate::meta::{InferenceLabelFile, MetaStore};
use arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, StringBuilder, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use std::collections::HashMap;
use std::sync::Arc;

/// Labels taken from `table`: its `label_column` and whichever of
/// `request_id`, `row` and `key` it has, checked (every row names a
/// request or a key and has a label; numbers become f64), with the time
/// they were received. Errors name the column and the row (from 1).
pub fn labels_from_table(
    table: &RecordBatch,
    label_column: &str,
    received_ms: i64,
) -> Result<RecordBatch, String> {
    let label = table.column_by_name(label_column).ok_or_else(|| {
        format!(
            "no label column `{label_column}` (the columns are: {})",
            names(table)
        )
    })?;
    let label: ArrayRef = match label.data_type() {
        DataType::Boolean | DataType::Utf8 | DataType::Float64 => label.clone(),
        t if t.is_numeric() => arrow::compute::cast(label, &DataType::Float64)
            .map_err(|e| format!("column `{label_column}`: {e}"))?,
        _ => arrow::compute::cast(label, &DataType::Utf8)
            .map_err(|e| format!("column `{label_column}`: {e}"))?,
    };
    let text = |name: &str| -> Result<Option<ArrayRef>, String> {
        table
            .column_by_name(name)
            .map(|c| {
                arrow::compute::cast(c, &DataType::Utf8)
                    .map_err(|e| format!("column `{name}`: {e}"))
            })
            .transpose()
    };
    let (request_id, key) = (text("request_id")?, text("key")?);
    if request_id.is_none() && key.is_none() {
        return Err(format!(
            "a label names its request by a `request_id` column (the response's x-request-id) \
             or a `key` column (the request's sticky key); the columns are: {}",
            names(table)
        ));
    }
    let row = table
        .column_by_name("row")
        .map(|c| {
            arrow::compute::cast(c, &DataType::Int64).map_err(|e| format!("column `row`: {e}"))
        })
        .transpose()?;
    let n = table.num_rows();
    let null = |c: &Option<ArrayRef>, i: usize| c.as_ref().is_none_or(|c| c.is_null(i));
    for i in 0..n {
        if null(&request_id, i) && null(&key, i) {
            return Err(format!(
                "row {}: neither `request_id` nor `key` is given",
                i + 1
            ));
        }
        if label.is_null(i) {
            return Err(format!("row {}: `{label_column}` is empty", i + 1));
        }
        if let Some(row) = &row
            && !row.is_null(i)
            && row
                .as_any()
                .downcast_ref::<Int64Array>()
                .is_some_and(|r| r.value(i) < 0)
        {
            return Err(format!("row {}: `row` is negative", i + 1));
        }
    }
    let nulls = |t: &DataType| arrow::array::new_null_array(t, n);
    let mut time = StringBuilder::with_capacity(n, n * 24);
    let at = rfc3339(received_ms);
    (0..n).for_each(|_| time.append_value(&at));
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "request_id",
            request_id.unwrap_or_else(|| nulls(&DataType::Utf8)),
        ),
        ("row", row.unwrap_or_else(|| nulls(&DataType::Int64))),
        ("key", key.unwrap_or_else(|| nulls(&DataType::Utf8))),
        ("label", label),
        ("received", Arc::new(time.finish())),
    ];
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, c)| Field::new(*name, c.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, c)| c).collect(),
    )
    .map_err(|e| e.to_string())
}

fn names(table: &RecordBatch) -> String {
    table
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Store `labels` (from [`labels_from_table`]) for `tenant`'s model
/// `model` and list the file.
pub async fn attach(
    meta: &MetaStore,
    store: &ArtifactStore,
    tenant: &str,
    model: &str,
    labels: &RecordBatch,
    received_ms: i64,
) -> Result<InferenceLabelFile, String> {
    let bytes = crate::data::write_parquet(labels).map_err(|e| e.to_string())?;
    let digest = store
        .put(bytes.into())
        .await
        .map_err(|e| format!("storing the labels: {e}"))?;
    let file = InferenceLabelFile {
        digest,
        model: model.to_owned(),
        rows: labels.num_rows() as i64,
        received_ms,
    };
    meta.record_inference_labels(tenant, &file)
        .await
        .map_err(|e| e.to_string())?;
    Ok(file)
}

/// Every label of `tenant`'s model `model`, in the order received; `None`
/// when none was sent.
pub async fn read_labels(
    meta: &MetaStore,
    store: &ArtifactStore,
    tenant: &str,
    model: &str,
) -> Result<Option<RecordBatch>, ReadError> {
    let mut batches = Vec::new();
    for file in meta.inference_labels(tenant, model).await? {
        batches.push(read_file(store, model, &file.digest).await?);
    }
    all(model, &batches)
}

/// `log` (from [`super::read`]) with a `label` column: each row's label,
/// by its request id and row, else its request id, else its key (the
/// latest of each); null for a row no label names.
pub fn join(log: &RecordBatch, labels: &RecordBatch) -> Result<RecordBatch, String> {
    let strings = |batch: &RecordBatch, name: &str| -> Result<StringArray, String> {
        let c = batch
            .column_by_name(name)
            .ok_or_else(|| format!("no `{name}` column"))?;
        let c = arrow::compute::cast(c, &DataType::Utf8).map_err(|e| e.to_string())?;
        Ok(c.as_any().downcast_ref::<StringArray>().unwrap().clone())
    };
    let ints = |batch: &RecordBatch, name: &str| -> Result<Int64Array, String> {
        let c = batch
            .column_by_name(name)
            .ok_or_else(|| format!("no `{name}` column"))?;
        let c = arrow::compute::cast(c, &DataType::Int64).map_err(|e| e.to_string())?;
        Ok(c.as_any().downcast_ref::<Int64Array>().unwrap().clone())
    };
    let (l_id, l_row, l_key) = (
        strings(labels, "request_id")?,
        ints(labels, "row")?,
        strings(labels, "key")?,
    );
    let mut by_row: HashMap<(&str, i64), u32> = HashMap::new();
    let mut by_request: HashMap<&str, u32> = HashMap::new();
    let mut by_key: HashMap<&str, u32> = HashMap::new();
    for i in 0..labels.num_rows() {
        let at = u32::try_from(i).map_err(|_| "too many labels")?;
        if l_id.is_valid(i) {
            if l_row.is_valid(i) {
                by_row.insert((l_id.value(i), l_row.value(i)), at);
            } else {
                by_request.insert(l_id.value(i), at);
            }
        } else if l_key.is_valid(i) {
            by_key.insert(l_key.value(i), at);
        }
    }
    let (id, row, key) = (
        strings(log, "request_id")?,
        ints(log, "row")?,
        strings(log, "key")?,
    );
    let picks: UInt32Array = (0..log.num_rows())
        .map(|i| {
            let request = id.is_valid(i).then(|| id.value(i));
            request
                .and_then(|r| by_row.get(&(r, row.value(i))).copied())
                .or_else(|| request.and_then(|r| by_request.get(r).copied()))
                .or_else(|| {
                    key.is_valid(i)
                        .then(|| by_key.get(key.value(i)).copied())
                        .flatten()
                })
        })
        .collect();
    let label = labels.column_by_name("label").ok_or("no `label` column")?;
    let joined = arrow::compute::take(label, &picks, None).map_err(|e| e.to_string())?;
    let mut fields: Vec<Field> = log
        .schema()
        .fields()
        .iter()
        .filter(|f| f.name() != "label")
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns: Vec<ArrayRef> = log
        .schema()
        .fields()
        .iter()
        .zip(log.columns())
        .filter(|(f, _)| f.name() != "label")
        .map(|(_, c)| c.clone())
        .collect();
    fields.push(Field::new("label", joined.data_type().clone(), true));
    columns.push(joined);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Float64Array;

    fn table(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn text(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn a_label_joins_by_row_then_request_then_key_and_the_latest_wins() {
        let log = table(vec![
            (
                "request_id",
                text(&[Some("a"), Some("a"), Some("b"), Some("c"), Some("d")]),
            ),
            ("row", Arc::new(Int64Array::from(vec![0, 1, 0, 0, 0]))),
            ("key", text(&[None, None, None, Some("alice"), None])),
        ]);
        let sent = table(vec![
            (
                "request_id",
                text(&[Some("a"), Some("a"), Some("b"), None, Some("b")]),
            ),
            (
                "row",
                Arc::new(Int64Array::from(vec![Some(1), None, None, None, None])),
            ),
            ("key", text(&[None, None, None, Some("alice"), None])),
            ("label", Arc::new(Int64Array::from(vec![7, 1, 0, 1, 3]))),
        ]);
        let labels = labels_from_table(&sent, "label", 0).unwrap();
        let joined = join(&log, &labels).unwrap();
        let label = joined
            .column_by_name("label")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        let got: Vec<Option<f64>> = (0..label.len())
            .map(|i| label.is_valid(i).then(|| label.value(i)))
            .collect();
        // a/0 by request, a/1 by its row, b by its later label, c by key,
        // d unlabelled.
        assert_eq!(got, [Some(1.0), Some(7.0), Some(3.0), Some(1.0), None]);
    }

    #[test]
    fn a_label_without_a_request_or_a_value_is_refused_naming_its_row() {
        let no_name = table(vec![
            ("request_id", text(&[Some("a"), None])),
            ("label", Arc::new(Int64Array::from(vec![1, 0]))),
        ]);
        let e = labels_from_table(&no_name, "label", 0).unwrap_err();
        assert!(e.contains("row 2") && e.contains("request_id"), "{e}");
        let no_label = table(vec![
            ("key", text(&[Some("a")])),
            ("label", Arc::new(Int64Array::from(vec![None::<i64>]))),
        ]);
        let e = labels_from_table(&no_label, "label", 0).unwrap_err();
        assert!(e.contains("row 1") && e.contains("empty"), "{e}");
        let e = labels_from_table(&no_label, "truth", 0).unwrap_err();
        assert!(e.contains("no label column `truth`"), "{e}");
        let neither = table(vec![("label", Arc::new(Int64Array::from(vec![1])))]);
        let e = labels_from_table(&neither, "label", 0).unwrap_err();
        assert!(e.contains("`request_id`") && e.contains("`key`"), "{e}");
    }
}
