//! The inference log of `sluice serve`: every request whose version was
//! chosen is logged (id, version, variant, status, error, its rows in and
//! out, the columns the model does not use), kept in the buffer until a
//! flush, written at SIGTERM, and exported by `sluice serve logs`; labels
//! sent later (`POST .../feedback`, `sluice feedback`) join it.

use crate::serve::{MODEL, Served, as_records, client, csv_columns, fixture, get};
use crate::support::*;
use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use serde_json::{Value, json};

/// POST `body` as JSON with `x-request-id: id` (when given): the status,
/// the response's `x-request-id`, the body.
fn post_with_id(url: &str, id: Option<&str>, body: &Value) -> (u16, String, Value) {
    block_on(async {
        let mut req = client()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        let resp = req.send().await.expect("POST");
        let status = resp.status().as_u16();
        let echoed = resp
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        (status, echoed, body)
    })
}

/// A metric's value in the server's `/metrics`.
fn metric(url: &str, name: &str) -> f64 {
    let text = String::from_utf8(get(&format!("{url}/metrics")).body).unwrap();
    text.lines()
        .find(|l| l.split([' ', '{']).next() == Some(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
}

/// A column of `batch` as its Arrow array type.
fn column<'b, T: 'static>(batch: &'b RecordBatch, name: &str) -> &'b T {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref()
        .unwrap_or_else(|| {
            panic!(
                "column {name} is a {}",
                batch.schema().field_with_name(name).unwrap()
            )
        })
}

fn text<'b>(batch: &'b RecordBatch, name: &str) -> &'b StringArray {
    column(batch, name)
}

fn ints<'b>(batch: &'b RecordBatch, name: &str) -> &'b Int64Array {
    column(batch, name)
}

/// `home`'s inference log of `model`, exported with `sluice serve logs`
/// as Parquet.
pub(crate) fn logged(home: &std::path::Path, model: &str) -> RecordBatch {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.parquet");
    let out = sluice(home)
        .args(["serve", "logs", model, "-o"])
        .arg(&path)
        .output()
        .unwrap();
    succeeded(out, "sluice serve logs");
    let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(bytes, 1 << 20).unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn every_request_is_logged_and_sigterm_writes_what_was_buffered() {
    let f = fixture();
    let records = as_records(&csv_columns(&f.features));
    // Ids no other test sends, to find this test's rows in the shared home.
    let tag = format!("log-{}", uuid::Uuid::new_v4().simple());
    let id = |s: &str| format!("{tag}-{s}");
    // An hour between flushes: only the shutdown writes the buffer.
    let served = Served::start(
        &f.home,
        &["--no-auth", "--model", MODEL, "--log-flush-ms", "3600000"],
    );
    let invocations = format!("{}/invocations", served.url);
    let (status, echoed, three) = post_with_id(
        &invocations,
        Some(&id("three")),
        &json!({ "dataframe_records": records[..3] }),
    );
    assert_eq!(
        (status, echoed.as_str()),
        (200, id("three").as_str()),
        "{three}"
    );
    // The OIP body's id names the request when no header does.
    let tensors: Vec<Value> = csv_columns(&f.features)
        .iter()
        .map(|(n, v)| json!({ "name": n, "shape": [1], "datatype": "FP64", "data": [v[3]] }))
        .collect();
    let (status, echoed, one) = post_with_id(
        &format!("{}/v2/models/{MODEL}/infer", served.url),
        None,
        &json!({ "id": id("oip"), "inputs": tensors }),
    );
    assert_eq!(
        (status, echoed.as_str()),
        (200, id("oip").as_str()),
        "{one}"
    );
    // A refused request is logged with its status and why.
    let mut missing = records[4].clone();
    missing.as_object_mut().unwrap().remove("mean_area");
    let (status, _, refused) = post_with_id(
        &invocations,
        Some(&id("refused")),
        &json!({ "dataframe_records": [missing] }),
    );
    assert_eq!(status, 400, "{refused}");
    // Without an id, the server makes one and says which.
    let (status, made, _) = post_with_id(
        &invocations,
        None,
        &json!({ "dataframe_records": records[5..6] }),
    );
    assert_eq!(status, 200);
    assert_eq!(made.len(), 32, "a made id: {made}");
    // Buffered, not yet written: the flush is an hour away.
    assert!(metric(&served.url, "sluice_log_backlog_rows") >= 6.0);
    assert_eq!(metric(&served.url, "sluice_log_rows_total"), 0.0);
    assert!(served.terminate().success());

    let batch = logged(&f.home, MODEL);
    let ids = text(&batch, "request_id");
    let rows_of = |wanted: &str| -> Vec<usize> {
        (0..batch.num_rows())
            .filter(|&i| ids.value(i) == wanted)
            .collect()
    };
    let (status, row, version) = (
        ints(&batch, "status"),
        ints(&batch, "row"),
        ints(&batch, "version"),
    );
    let three_rows = rows_of(&id("three"));
    assert_eq!(three_rows.len(), 3, "one log row per request row");
    // The class label, whatever its type: as numbers.
    let predictions = arrow::compute::cast(
        batch.column_by_name("output.prediction").unwrap(),
        &arrow::datatypes::DataType::Float64,
    )
    .unwrap();
    let predictions: &Float64Array = predictions.as_any().downcast_ref().unwrap();
    for (k, &i) in three_rows.iter().enumerate() {
        assert_eq!((status.value(i), row.value(i) as usize), (200, k));
        assert_eq!(version.value(i), 1);
        assert_eq!(text(&batch, "variant").value(i), "production");
        assert_eq!(
            Some(predictions.value(i)),
            three["predictions"][k].as_f64(),
            "the log holds the answer sent: {three}"
        );
        // The features, as the model read them.
        let radius: &Float64Array = column(&batch, "input.mean_radius");
        assert_eq!(json!(radius.value(i)), records[k]["mean_radius"]);
        // The column the model does not use (the label) rides along.
        let extra: Value = serde_json::from_str(text(&batch, "extra").value(i)).unwrap();
        assert_eq!(extra["benign"], records[k]["benign"], "{extra}");
    }
    assert_eq!(rows_of(&id("oip")).len(), 1);
    let refused_rows = rows_of(&id("refused"));
    assert_eq!(refused_rows.len(), 1);
    let r = refused_rows[0];
    assert_eq!(status.value(r), 400);
    assert!(
        text(&batch, "error").value(r).contains("mean_area"),
        "{}",
        text(&batch, "error").value(r)
    );
    assert!(predictions.is_null(r));
    assert_eq!(rows_of(&made).len(), 1);

    // CSV on standard output; nothing at all from a time to come.
    let out = succeeded(
        sluice(&f.home)
            .args(["serve", "logs", MODEL, "--since", "2999-01-01T00:00:00Z"])
            .output()
            .unwrap(),
        "sluice serve logs --since",
    );
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("no requests"), "{}", stderr(&out));
    let out = succeeded(
        sluice(&f.home)
            .args(["serve", "logs", MODEL, "--since", "1h"])
            .output()
            .unwrap(),
        "sluice serve logs to stdout",
    );
    assert!(stdout(&out).starts_with("request_id,time,model,version,variant,"));
    assert!(stdout(&out).contains(&id("three")));
    let out = sluice(&f.home)
        .args(["serve", "logs", MODEL, "--since", "yesterday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--since: `yesterday` is not a time"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn labels_sent_late_join_the_log_by_request_row_and_key() {
    let f = fixture();
    let records = as_records(&csv_columns(&f.features));
    let tag = format!("labels-{}", uuid::Uuid::new_v4().simple());
    let served = Served::start(&f.home, &["--no-auth", "--model", MODEL]);
    let invocations = format!("{}/invocations", served.url);
    let (status, _, _) = post_with_id(
        &invocations,
        Some(&format!("{tag}-a")),
        &json!({ "dataframe_records": records[..2] }),
    );
    assert_eq!(status, 200);
    // A request with a sticky key and no id: labelled by its key.
    let keyed = block_on(async {
        client()
            .post(&invocations)
            .header("content-type", "application/json")
            .header("x-sluice-key", format!("{tag}-key"))
            .body(json!({ "dataframe_records": records[2..3] }).to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(keyed, 200);
    let feedback = format!("{}/v2/models/{MODEL}/feedback", served.url);
    let (status, _, accepted) = post_with_id(
        &feedback,
        None,
        &json!({ "labels": [
            { "request_id": format!("{tag}-a"), "label": 0 },
            { "request_id": format!("{tag}-a"), "row": 1, "label": 1 },
            { "key": format!("{tag}-key"), "label": 1 },
        ] }),
    );
    assert_eq!(
        (status, &accepted["accepted"]),
        (200, &json!(3)),
        "{accepted}"
    );
    // Labels that name nothing, or of mixed kinds, or for no model: refused.
    for (body, url, expected, phrase) in [
        (
            json!({ "labels": [{ "label": 1 }] }),
            &feedback,
            400,
            "labels[0]",
        ),
        (
            json!({ "labels": [{ "key": "k", "label": 1 }, { "key": "k", "label": "yes" }] }),
            &feedback,
            400,
            "all numbers",
        ),
        (
            json!({ "labels": [{ "key": "k", "label": 1 }] }),
            &format!("{}/v2/models/nope/feedback", served.url),
            404,
            "no model named `nope`",
        ),
    ] {
        let (status, _, answer) = post_with_id(url, None, &body);
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(phrase),
            "{answer}"
        );
    }
    assert!(served.terminate().success());

    // Hours later, from a file: the key's request gets its own label.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outcomes.csv");
    let b_id = {
        let log = logged(&f.home, MODEL);
        let (ids, keys) = (text(&log, "request_id"), text(&log, "key"));
        let i = (0..log.num_rows())
            .find(|&i| keys.is_valid(i) && keys.value(i) == format!("{tag}-key"))
            .expect("the keyed request is logged with its key");
        ids.value(i).to_owned()
    };
    std::fs::write(&file, format!("request_id,outcome\n{b_id},0\n")).unwrap();
    let out = sluice(&f.home)
        .args(["feedback", MODEL])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success(), "no `label` column");
    assert!(
        stderr(&out).contains("no label column `label`"),
        "{}",
        stderr(&out)
    );
    succeeded(
        sluice(&f.home)
            .args(["feedback", MODEL, "--label-column", "outcome"])
            .arg(&file)
            .output()
            .unwrap(),
        "sluice feedback",
    );

    let path = dir.path().join("joined.parquet");
    succeeded(
        sluice(&f.home)
            .args(["serve", "logs", MODEL, "--labels", "-o"])
            .arg(&path)
            .output()
            .unwrap(),
        "sluice serve logs --labels",
    );
    let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let batches: Vec<RecordBatch> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(bytes, 1 << 20)
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let log = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let (ids, rows) = (text(&log, "request_id"), ints(&log, "row"));
    let label: &Float64Array = column(&log, "label");
    let label_of = |id: &str, row: i64| {
        let i = (0..log.num_rows())
            .find(|&i| ids.value(i) == id && rows.value(i) == row)
            .unwrap_or_else(|| panic!("{id}/{row} is not logged"));
        label.is_valid(i).then(|| label.value(i))
    };
    assert_eq!(label_of(&format!("{tag}-a"), 0), Some(0.0), "by request");
    assert_eq!(label_of(&format!("{tag}-a"), 1), Some(1.0), "by its row");
    assert_eq!(
        label_of(&b_id, 0),
        Some(0.0),
        "its id's label, not its key's"
    );
}
