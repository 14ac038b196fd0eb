//! Micro-batching in `sluice serve`: concurrent requests answered by one
//! sandboxed call get exactly the bytes each gets alone, and a request
//! that traps or spins in a batch fails alone.

use crate::serve::{
    MODEL, SPIN, Served, TRAP, as_records, csv_columns, fixture, get, hostile_home, hostile_row,
    post_json,
};
use serde_json::{Value, json};
use std::sync::{Arc, Barrier};

/// The sum and count of a histogram of the server's `/metrics`.
fn histogram(url: &str, name: &str) -> (f64, f64) {
    let text = String::from_utf8(get(&format!("{url}/metrics")).body).unwrap();
    let value = |suffix: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}_{suffix}{{")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    (value("sum"), value("count"))
}

/// Send `bodies` to `url` from `threads` threads at once; the replies'
/// (status, body) in the order of `bodies`.
fn concurrently(url: &str, bodies: &[Value], threads: usize) -> Vec<(u16, Vec<u8>)> {
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (url, start) = (url.to_owned(), start.clone());
            let mine: Vec<(usize, Value)> = bodies
                .iter()
                .enumerate()
                .filter(|(i, _)| i % threads == t)
                .map(|(i, b)| (i, b.clone()))
                .collect();
            std::thread::spawn(move || {
                start.wait();
                mine.into_iter()
                    .map(|(i, b)| {
                        let r = post_json(&url, &b);
                        (i, (r.status, r.body))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<(usize, (u16, Vec<u8>))> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("a client thread"))
        .collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn batched_answers_have_the_bytes_of_answers_alone() {
    let f = fixture();
    let records = as_records(&csv_columns(&f.features));
    // Requests of one to three rows, every output column asked for.
    let bodies: Vec<Value> = (0..60)
        .map(|i| {
            let n = 1 + i % 3;
            let rows: Vec<Value> = (0..n)
                .map(|k| records[(i + k) % records.len()].clone())
                .collect();
            json!({ "dataframe_records": rows, "params": { "outputs": "all" } })
        })
        .collect();
    let alone = Served::start(&f.home, &["--no-auth", "--batch-max-rows", "1"]);
    let batched = Served::start(&f.home, &["--no-auth", "--batch-window-ms", "20"]);
    let path = format!("/models/{MODEL}/invocations");
    let expected: Vec<(u16, Vec<u8>)> = bodies
        .iter()
        .map(|b| {
            let r = post_json(&format!("{}{path}", alone.url), b);
            (r.status, r.body)
        })
        .collect();
    let got = concurrently(&format!("{}{path}", batched.url), &bodies, 12);
    for (i, (want, got)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(want.0, 200, "{}", String::from_utf8_lossy(&want.1));
        assert_eq!(
            String::from_utf8_lossy(&got.1),
            String::from_utf8_lossy(&want.1),
            "request {i}"
        );
    }
    // Batches did form there, and not on the server with batching off.
    let (requests, calls) = histogram(&batched.url, "sluice_batch_requests");
    assert_eq!(requests, 60.0);
    assert!(
        calls < requests,
        "{calls} calls for {requests} requests: no batch formed"
    );
    let (requests, calls) = histogram(&alone.url, "sluice_batch_requests");
    assert_eq!((requests, calls), (60.0, 60.0));
}

#[test]
fn a_request_that_traps_or_spins_in_a_batch_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let home = hostile_home(dir.path());
    let served = Served::start(
        &home,
        &[
            "--no-auth",
            "--batch-window-ms",
            "30",
            "--request-timeout-ms",
            "3000",
        ],
    );
    let infer = format!("{}/v2/models/hostile/infer", served.url);
    let features: Vec<(String, Vec<Value>)> = csv_columns(&fixture().features)
        .into_iter()
        .filter(|(n, _)| n != "benign")
        .collect();
    for bad in [TRAP, SPIN] {
        let firsts: Vec<f64> = (0..8)
            .map(|i| if i == 3 { bad } else { f64::from(i) + 0.25 })
            .collect();
        let bodies: Vec<Value> = firsts.iter().map(|x| hostile_row(&features, *x)).collect();
        let replies = concurrently(&infer, &bodies, 8);
        for (x, (status, body)) in firsts.iter().zip(&replies) {
            let text = String::from_utf8_lossy(body);
            if *x == bad {
                let want = if bad == TRAP { 500 } else { 504 };
                assert_eq!(*status, want, "{text}");
            } else {
                assert_eq!(
                    *status, 200,
                    "a good request failed beside a bad one: {text}"
                );
                let reply: Value = serde_json::from_slice(body).unwrap();
                assert_eq!(reply["outputs"][0]["data"][0].as_f64(), Some(*x));
            }
        }
    }
    // A spinning request does not hold the version's queue: with one call
    // at a time, good requests are answered while it still spins.
    let one_call = Served::start(
        &home,
        &[
            "--no-auth",
            "--batch-calls",
            "1",
            "--request-timeout-ms",
            "3000",
        ],
    );
    let url = format!("{}/v2/models/hostile/infer", one_call.url);
    let spinning = {
        let (url, body) = (url.clone(), hostile_row(&features, SPIN));
        std::thread::spawn(move || {
            let reply = post_json(&url, &body);
            (reply.status, std::time::Instant::now())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    for i in 0..5 {
        let x = f64::from(i) + 0.5;
        let reply = post_json(&url, &hostile_row(&features, x));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["outputs"][0]["data"][0].as_f64(), Some(x));
    }
    let good_done = std::time::Instant::now();
    let (status, spin_done) = spinning.join().unwrap();
    assert_eq!(status, 504);
    assert!(
        good_done < spin_done,
        "the good requests waited for the spinning one to end"
    );

    // The bad requests did share calls with good ones, which then ran alone.
    let text = String::from_utf8(get(&format!("{}/metrics", served.url)).body).unwrap();
    let splits: f64 = text
        .lines()
        .filter(|l| l.starts_with("sluice_batch_splits_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(splits >= 2.0, "{splits} batches split: {text}");
    assert!(served.terminate().success());
}
