use super::*;
use crate::serve::tensors::Scalar;
use std::time::{Duration, Instant};

fn f64s(name: &str, values: Vec<f64>) -> wit::Column {
    wit::Column {
        name: name.into(),
        values: wit::Values::F64s(values),
        valid: None,
    }
}

fn entry(id: &str, time_ms: i64, version: i64, x: Vec<f64>) -> Entry {
    let n = x.len();
    Entry {
        request_id: id.into(),
        time_ms,
        model: "churn".into(),
        version,
        variant: "production".into(),
        key: None,
        status: 200,
        error: None,
        latency_seconds: 0.002,
        inputs: Some(wit::Table {
            columns: vec![f64s("x", x)],
        }),
        outputs: Some(wit::Table {
            columns: vec![f64s("prediction", vec![1.0; n])],
        }),
        extra: vec![RawColumn {
            name: "customer".into(),
            values: (0..n).map(|i| Scalar::I64(i as i64 + 100)).collect(),
        }],
    }
}

fn refused(id: &str, time_ms: i64) -> Entry {
    Entry {
        status: 400,
        error: Some("missing column `x`".into()),
        inputs: None,
        outputs: None,
        extra: Vec::new(),
        ..entry(id, time_ms, 1, vec![])
    }
}

#[test]
fn a_request_row_is_a_log_row_and_a_refusal_one_row_of_nulls() {
    let (a, b) = (entry("a", 1_000, 1, vec![0.5, 1.5]), refused("b", 2_000));
    let batch = table::log_batch(&[&a, &b]).unwrap();
    assert_eq!(batch.num_rows(), 3);
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "request_id",
            "time",
            "model",
            "version",
            "variant",
            "key",
            "row",
            "status",
            "error",
            "latency_ms",
            "input.x",
            "output.prediction",
            "extra"
        ]
    );
    let csv = String::from_utf8(crate::data::write_csv(&batch).unwrap()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[1],
        "a,1970-01-01T00:00:01.000Z,churn,1,production,,0,200,,2.0,0.5,1.0,\"{\"\"customer\"\":100}\""
    );
    assert_eq!(
        lines[2],
        "a,1970-01-01T00:00:01.000Z,churn,1,production,,1,200,,2.0,1.5,1.0,\"{\"\"customer\"\":101}\""
    );
    assert_eq!(
        lines[3],
        "b,1970-01-01T00:00:02.000Z,churn,1,production,,0,400,missing column `x`,2.0,,,"
    );
}

#[test]
fn columns_in_another_order_or_missing_land_under_their_names() {
    let mut a = entry("a", 1, 1, vec![1.0]);
    let mut b = entry("b", 2, 1, vec![2.0]);
    let c = entry("c", 3, 1, vec![3.0]);
    a.inputs
        .as_mut()
        .unwrap()
        .columns
        .push(f64s("y", vec![10.0]));
    // b has y before x; c has no y.
    b.inputs
        .as_mut()
        .unwrap()
        .columns
        .insert(0, f64s("y", vec![20.0]));
    let batch = table::log_batch(&[&a, &b, &c]).unwrap();
    let values = |name: &str| -> Vec<Option<f64>> {
        let column = batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        column.iter().collect()
    };
    assert_eq!(values("input.x"), [Some(1.0), Some(2.0), Some(3.0)]);
    assert_eq!(values("input.y"), [Some(10.0), Some(20.0), None]);
}

async fn stores() -> (tempfile::TempDir, MetaStore, Arc<LogSink>) {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaStore::open_path(&dir.path().join("sluice.db"))
        .await
        .unwrap();
    let store = ArtifactStore::local(&dir.path().join("store")).unwrap();
    let sink = Arc::new(LogSink {
        tenant: "default".into(),
        store,
    });
    (dir, meta, sink)
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn what_is_appended_is_read_back_in_order_after_close() {
    let (_dir, meta, sink) = stores().await;
    let options = LogOptions {
        flush_every: Duration::from_secs(3600),
        ..LogOptions::default()
    };
    let log = InferenceLog::start(meta.clone(), options, LogMetrics::default());
    log.append(&sink, entry("r1", 1_000, 1, vec![1.0]), later())
        .await
        .unwrap();
    log.append(&sink, entry("r2", 2_000, 2, vec![2.0, 3.0]), later())
        .await
        .unwrap();
    log.append(&sink, refused("r3", 3_000), later())
        .await
        .unwrap();
    // Nothing is written before a flush: an hour away.
    assert!(
        meta.inference_logs("default", "churn", None)
            .await
            .unwrap()
            .is_empty()
    );
    log.close().await;
    let files = meta.inference_logs("default", "churn", None).await.unwrap();
    assert_eq!(files.len(), 2, "one file per version: {files:?}");
    assert_eq!(files.iter().map(|f| f.requests).sum::<i64>(), 3);
    let batch = read(&meta, &sink.store, "default", "churn", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.num_rows(), 4);
    let since = read(&meta, &sink.store, "default", "churn", Some(2_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(since.num_rows(), 3, "r2's two rows and r3's");
    assert!(
        read(&meta, &sink.store, "default", "other", None)
            .await
            .unwrap()
            .is_none()
    );
    // Another tenant's log is not this one's.
    assert!(
        read(&meta, &sink.store, "acme", "churn", None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_full_buffer_holds_requests_back_until_the_store_takes_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaStore::open_path(&dir.path().join("sluice.db"))
        .await
        .unwrap();
    // A store the writer cannot write: once opened, a file takes the place
    // of its directory.
    let root = dir.path().join("store");
    let store = ArtifactStore::local(&root).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::write(&root, b"not a directory").unwrap();
    let sink = Arc::new(LogSink {
        tenant: "default".into(),
        store,
    });
    let metrics = LogMetrics::default();
    let options = LogOptions {
        flush_every: Duration::from_millis(20),
        buffer_bytes: 2048,
        ..LogOptions::default()
    };
    let log = InferenceLog::start(meta.clone(), options, metrics.clone());
    log.append(&sink, entry("r1", 1, 1, vec![1.0; 100]), later())
        .await
        .unwrap();
    let refused = log
        .append(
            &sink,
            entry("r2", 2, 1, vec![1.0; 100]),
            Instant::now() + Duration::from_millis(300),
        )
        .await;
    assert!(refused.is_err(), "the buffer is full and nothing drains it");
    assert_eq!(metrics.refused.get(), 1);
    assert!(metrics.failures.get() >= 1, "the writer tried and failed");
    assert_eq!(metrics.backlog_rows.get(), 100, "r1 is kept, not dropped");
}

#[test]
fn since_reads_times_and_spans() {
    assert_eq!(since_ms("1970-01-01T00:00:01Z").unwrap(), 1_000);
    let now = chrono::Utc::now().timestamp_millis();
    let an_hour = since_ms("1h").unwrap();
    assert!((now - 3_600_000 - an_hour).abs() < 5_000);
    let e = since_ms("yesterday").unwrap_err();
    assert!(e.contains("`yesterday`"), "{e}");
}
