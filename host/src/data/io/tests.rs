//! Unit tests of reading and writing tables.

use super::parquet_write::{PIECE, encode_parquet_on, encoding_threads, required_where_no_nulls};
use super::split_read::SPLIT_CHUNK;
use super::*;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::datatypes::{Float64Type, Int64Type};
use std::sync::Arc;

/// A batch of `rows` rows with f64 (some null), i64, bool and string
/// columns, values varying by row.
fn mixed(rows: usize) -> RecordBatch {
    use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
    let f = |k: usize| -> ArrayRef {
        Arc::new(Float64Array::from_iter((0..rows).map(|r| {
            (r % (7 + k) != 3).then(|| ((r * 31 + k) as f64 * 0.618).sin())
        })))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("a", f(0)),
        ("b", f(1)),
        (
            "n",
            Arc::new(Int64Array::from_iter_values(
                (0..rows).map(|r| (r % 97) as i64),
            )),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from_iter((0..rows).map(|r| Some(r % 3 == 0)))),
        ),
        (
            "s",
            Arc::new(StringArray::from_iter(
                (0..rows).map(|r| (r % 5 != 0).then(|| format!("c{}", r % 11))),
            )),
        ),
        ("c", f(2)),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// Reading a Parquet file split as it is decoded gives the parts
/// decoding it whole then splitting gives, to the bytes they encode to:
/// across many chunks, stratified by an integer or a text column (with
/// nulls) or not; other formats and a missing stratification column
/// are left to the two steps.
#[test]
fn read_split_is_decode_then_split() {
    let rows = 3 * SPLIT_CHUNK + 1234;
    // With key-value metadata in the file, as pandas writes it.
    let batch = mixed(rows);
    let metadata = [("pandas".to_string(), "{}".to_string())].into();
    let schema = batch.schema().as_ref().clone().with_metadata(metadata);
    let batch = batch.with_schema(Arc::new(schema)).unwrap();
    let bytes = Bytes::from(write_parquet(&batch).unwrap());
    let path = Path::new("data.parquet");
    for (stratify, fraction, seed) in [
        (None, 0.25, 7),
        (Some("n"), 0.25, 7),
        (Some("s"), 0.4, 1),
        (Some("flag"), 0.1, 3),
    ] {
        let (train, holdout) = read_split(path, bytes.clone(), fraction, seed, stratify)
            .unwrap()
            .expect("f64, i64, bool and text columns are split as decoded");
        let whole = table_from_bytes(path, bytes.clone()).unwrap();
        let (want_train, want_holdout) =
            super::super::split_holdout(&whole, fraction, seed, stratify).unwrap();
        assert_eq!(train, want_train, "{stratify:?}");
        assert_eq!(holdout, want_holdout, "{stratify:?}");
        assert!(holdout.num_rows() > 0 && train.num_rows() > holdout.num_rows());
        for (got, want) in [(&train, &want_train), (&holdout, &want_holdout)] {
            assert_eq!(write_parquet(got).unwrap(), write_parquet(want).unwrap());
        }
    }
    assert!(
        read_split(path, bytes.clone(), 0.25, 7, Some("nope"))
            .unwrap()
            .is_none()
    );
    let csv = write_csv(&mixed(10)).unwrap();
    assert!(
        read_split(Path::new("d.csv"), Bytes::from(csv), 0.25, 7, None)
            .unwrap()
            .is_none()
    );
    let err = read_split(path, bytes.slice(..100), 0.25, 7, None).unwrap_err();
    assert!(err.to_string().contains("data.parquet"), "{err}");
}

/// Columns without nulls are written required, whatever the batch's
/// field says, so the same values give the same bytes; columns with
/// nulls stay optional.
#[test]
fn columns_without_nulls_are_written_required() {
    let batch = mixed(100);
    let as_declared = |nullable: bool| {
        let fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, a)| {
                f.as_ref()
                    .clone()
                    .with_nullable(nullable || a.null_count() > 0)
            })
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec()).unwrap()
    };
    let (loose, strict) = (as_declared(true), as_declared(false));
    let bytes = write_parquet(&loose).unwrap();
    assert_eq!(bytes, write_parquet(&strict).unwrap());
    let read = read_parquet(&bytes).unwrap();
    for (field, column) in read.schema().fields().iter().zip(read.columns()) {
        assert_eq!(
            field.is_nullable(),
            column.null_count() > 0,
            "{}",
            field.name()
        );
    }
    // "a" and "b" have nulls; the rest have none.
    assert!(read.schema().field(0).is_nullable());
    assert!(!read.schema().field(2).is_nullable());
}

#[test]
fn parallel_encoding_writes_the_same_bytes_as_arrow_writer() {
    // One row group, and (past the parquet crate's 1,048,576-row
    // default) two, with more threads than columns too.
    for rows in [0, 1, 1000, 1_100_000] {
        let batch = mixed(rows);
        let mut alone = Vec::new();
        encode_parquet_on(&batch, &mut alone, 1).unwrap();
        for threads in [2, 3, 8] {
            let mut parallel = Vec::new();
            encode_parquet_on(&batch, &mut parallel, threads).unwrap();
            assert!(alone == parallel, "{rows} rows on {threads} threads");
        }
        assert_eq!(read_parquet(&alone).unwrap(), batch, "{rows} rows");
    }
}

#[test]
fn large_tables_are_encoded_on_several_threads() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(encoding_threads(&mixed(100)), 1);
    assert_eq!(encoding_threads(&mixed(200_000)), cores.min(4));
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn types(batch: &RecordBatch) -> Vec<DataType> {
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

#[test]
fn csv_types_are_inferred() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "t.csv",
        "id,x,flag,name,day,empty\n1,1.5,true,a,2024-01-01,\n2,,false,,2024-01-02,\n3,3,TRUE,c,2024-01-03,\n",
    );
    let batch = read_table(&path).unwrap();
    assert_eq!(
        types(&batch),
        [
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8
        ]
    );
    assert_eq!(batch.num_rows(), 3);
    assert!(batch.column(1).is_null(1));
    assert!(batch.column(3).is_null(1));
    assert_eq!(batch.column(5).null_count(), 3);
    assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(2), 3.0);
    assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(2), 3);
    assert!(batch.column(2).as_boolean().value(2));
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let err = read_table(&missing).unwrap_err();
    assert!(err.to_string().contains("nope.csv"), "{err}");

    let bad = write(dir.path(), "bad.csv", "a,b\n1,2\n3\n");
    let err = read_table(&bad).unwrap_err();
    assert!(matches!(err, DataError::Parse { .. }));
    assert!(err.to_string().contains("bad.csv"), "{err}");

    let txt = write(dir.path(), "t.xlsx", "");
    assert!(matches!(
        read_table(&txt),
        Err(DataError::UnsupportedFormat { .. })
    ));

    let not_parquet = write(dir.path(), "x.parquet", "not parquet");
    let err = read_table(&not_parquet).unwrap_err();
    assert!(err.to_string().contains("x.parquet"), "{err}");
}

#[test]
fn json_lines_are_read_by_key_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "rows.jsonl",
        "{\"id\": 1, \"x\": 1.5, \"ok\": true, \"name\": \"a\"}\n\
         {\"id\": 2, \"ok\": false, \"name\": null}\n\
         \n\
         {\"name\": \"c\", \"x\": 3, \"id\": 3, \"ok\": true}\n",
    );
    let batch = read_table(&path).unwrap();
    let schema = batch.schema();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "x", "ok", "name"]);
    assert_eq!(
        types(&batch),
        [
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Utf8
        ]
    );
    assert_eq!(batch.num_rows(), 3);
    assert!(batch.column(1).is_null(1), "a missing key is a null");
    assert!(batch.column(3).is_null(1));
    assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(2), 3.0);
    assert_eq!(batch.column(3).as_string::<i32>().value(2), "c");

    let out = dir.path().join("out.ndjson");
    write_table(&out, &batch).unwrap();
    assert_eq!(read_table(&out).unwrap(), batch);

    let nested = write(dir.path(), "nested.jsonl", "{\"a\": 1, \"tags\": [1, 2]}\n");
    let err = read_table(&nested).unwrap_err().to_string();
    assert!(
        err.contains("nested.jsonl") && err.contains("`tags`") && err.contains("array"),
        "{err}"
    );
    let broken = write(dir.path(), "broken.jsonl", "{\"a\": 1}\n{\"a\": \n");
    let err = read_table(&broken).unwrap_err().to_string();
    assert!(err.contains("broken.jsonl"), "{err}");
}

fn sample(dir: &Path) -> RecordBatch {
    let path = write(
        dir,
        "s.csv",
        "id,x,flag,name\n1,1.5,true,a\n2,,false,\n3,-0.25,,c\n",
    );
    read_table(&path).unwrap()
}

#[test]
fn parquet_bytes_are_deterministic_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let batch = sample(dir.path());
    let first = write_parquet(&batch).unwrap();
    let second = write_parquet(&batch).unwrap();
    assert_eq!(first, second);
    // The same values; "id" has no nulls, so it comes back required.
    let read = read_parquet(&first).unwrap();
    assert_eq!(read, *required_where_no_nulls(&batch));
    assert!(!read.schema().field(0).is_nullable());
}

#[test]
fn parquet_in_pieces_is_the_same_bytes() {
    // 2M floats: 16 MB of plain values, four pieces.
    let values: Vec<f64> = (0..2_000_000).map(|i| f64::from(i) * 0.37).collect();
    let batch = RecordBatch::try_from_iter([(
        "x",
        Arc::new(arrow::array::Float64Array::from(values)) as arrow::array::ArrayRef,
    )])
    .unwrap();
    let whole = write_parquet(&batch).unwrap();
    let pieces = write_parquet_pieces(&batch).unwrap();
    assert!(pieces.len() >= 3, "{} pieces", pieces.len());
    assert!(pieces.iter().all(|p| p.len() <= PIECE));
    assert_eq!(pieces.concat(), whole);
    let digest = crate::artifacts::ArtifactDigest::of_pieces(pieces.iter().map(|p| p.as_ref()));
    assert_eq!(digest, crate::artifacts::ArtifactDigest::of(&whole));
}

#[test]
fn files_round_trip_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let batch = sample(dir.path());
    for name in ["out.csv", "out.parquet", "out.arrow", "out.feather"] {
        let path = dir.path().join(name);
        write_table(&path, &batch).unwrap();
        // Parquet marks the columns without nulls required.
        let want = match name {
            "out.parquet" => required_where_no_nulls(&batch).into_owned(),
            _ => batch.clone(),
        };
        assert_eq!(read_table(&path).unwrap(), want, "{name}");
    }
}

#[test]
fn csv_output_has_header_and_empty_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(write_csv(&sample(dir.path())).unwrap()).unwrap();
    assert_eq!(text.lines().next(), Some("id,x,flag,name"));
    assert_eq!(text.lines().nth(2), Some("2,,false,"));
}
