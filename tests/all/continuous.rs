//! Issue 22's case study, `pipelines/continuous/`, run end to end with
//! time compressed (a day is a few seconds): a real `sluice serve`
//! answers each day's traffic, monitors it and fires the pipeline's
//! triggers. A new day's batch retrains, the challenger is judged against
//! production, goes to a canary judged on labelled live rows and is
//! promoted; day 4's drifted traffic raises a drift alert that retrains
//! at once (on the data there is: production's very model, reused, not
//! registered again); day 5's mislabelled batch trains a version that fails its
//! gates and never serves; day 6's batch, with a feature broken upstream,
//! fails its validator before anything is trained or registered; the
//! upstream's fix on day 7 retrains again; day 8's batch, in other units
//! than the live feed, trains a version that passes its gates but answers
//! live rows badly: its canary rolls it back. Production never holds a
//! version that failed its gates or its canary.

use crate::serve::{Served, client};
use crate::support::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MODEL: &str = "churn";

/// The example's generator: `day-NN.csv` (or `traffic-NN.csv`) in `dir`.
fn generate(dir: &Path, day: u32, flags: &[&str]) {
    let script = root().join("pipelines/continuous/generate.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(dir)
        .args(["--day", &day.to_string()])
        .args(flags)
        .output()
        .expect("run python3 pipelines/continuous/generate.py");
    succeeded(out, &format!("generate.py --day {day} {flags:?}"));
}

/// The example pipeline copied into `dir` (its data in `dir/data`), with
/// the built plugins.
fn example(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("pipelines/continuous/churn.toml")).unwrap();
    let relative = "plugin_dirs = [\"../../target/wasm32-wasip2/release\"]";
    assert!(text.contains(relative), "the example's plugin_dirs moved");
    let text = text.replace(
        relative,
        &format!("plugin_dirs = [{:?}]", plugin_dir().display().to_string()),
    );
    let path = dir.join("churn.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Columns of a generated CSV file, as text.
fn read_csv(path: &Path) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let mut columns: Vec<(String, Vec<String>)> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|n| (n.to_owned(), Vec::new()))
        .collect();
    for line in lines {
        for (c, v) in columns.iter_mut().zip(line.split(',')) {
            c.1.push(v.to_owned());
        }
    }
    columns
}

/// Rows `start..end` of a generated CSV file as Open Inference Protocol
/// inputs (every column but the label).
fn inputs(columns: &[(String, Vec<String>)], start: usize, end: usize) -> Vec<Value> {
    columns
        .iter()
        .filter(|(name, _)| name != "churned")
        .map(|(name, values)| {
            let slice = &values[start..end];
            let (datatype, data): (&str, Vec<Value>) = match name.as_str() {
                "date" => ("BYTES", slice.iter().map(|v| json!(v)).collect()),
                "tenure" | "support_calls" => (
                    "INT64",
                    slice
                        .iter()
                        .map(|v| json!(v.parse::<i64>().unwrap()))
                        .collect(),
                ),
                _ => (
                    "FP64",
                    slice
                        .iter()
                        .map(|v| json!(v.parse::<f64>().unwrap()))
                        .collect(),
                ),
            };
            json!({ "name": name, "shape": [data.len()], "datatype": datatype, "data": data })
        })
        .collect()
}

/// Post one inference request; its status, answering version and body.
async fn infer(url: &str, id: &str, inputs: Vec<Value>) -> (u16, Option<String>, String) {
    let resp = client()
        .post(format!("{url}/v2/models/{MODEL}/infer"))
        .header("content-type", "application/json")
        .header("x-request-id", id)
        .body(json!({ "inputs": inputs }).to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let version = resp
        .headers()
        .get("x-sluice-model-version")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, version, resp.text().await.unwrap())
}

/// The day's live rows (without the label) sent to the served model in
/// requests of 100; the versions that answered.
fn send_traffic(url: &str, dir: &Path, day: u32) -> Vec<String> {
    generate(dir, day, &["--traffic"]);
    let columns = read_csv(&dir.join(format!("traffic-{day:02}.csv")));
    let rows = columns[0].1.len();
    let mut answered = Vec::new();
    for start in (0..rows).step_by(100) {
        let end = (start + 100).min(rows);
        let id = format!("d{day}-{start}");
        let (status, version, body) = block_on(infer(url, &id, inputs(&columns, start, end)));
        assert_eq!(status, 200, "day {day} request at row {start}: {body}");
        answered.push(version.expect("the answering version"));
    }
    answered
}

/// A canary of the candidate `candidate`: the day's labelled live rows
/// sent in requests of 50, over and over, each followed by its labels
/// (label feedback, at once in compressed time), until the rollout ends;
/// its final status. Every request must be answered.
fn canary(home: &Path, url: &str, dir: &Path, day: u32, candidate: usize) -> Value {
    generate(dir, day, &["--labelled"]);
    let columns = read_csv(&dir.join(format!("labelled-{day:02}.csv")));
    let labels = &columns.iter().find(|(n, _)| n == "churned").unwrap().1;
    let rows = labels.len();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0usize;
    loop {
        let status = ok_json(home, &["models", "rollout", "status", MODEL, "--json"]);
        assert_eq!(status["candidate"], candidate, "day {day}: {status}");
        if status["state"] != "running" {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "day {day}: the canary did not end: {status}"
        );
        for _ in 0..3 {
            let start = (sent * 50) % rows;
            let end = start + 50;
            let id = format!("c{day}-{sent}");
            sent += 1;
            let feedback: Vec<Value> = (start..end)
                .map(|r| json!({ "request_id": id, "row": r - start, "label": labels[r].parse::<i64>().unwrap() }))
                .collect();
            let (status, _, body) = block_on(infer(url, &id, inputs(&columns, start, end)));
            assert_eq!(status, 200, "day {day} canary request {id}: {body}");
            let reply = crate::serve::post_json(
                &format!("{url}/v2/models/{MODEL}/feedback"),
                &json!({ "labels": feedback }),
            );
            assert_eq!(reply.status, 200, "{}", reply.json());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn production(home: &Path) -> Value {
    ok_json(home, &["models", "show", MODEL, "--json"])["aliases"]["production"].clone()
}

fn versions(home: &Path) -> usize {
    ok_json(home, &["models", "show", MODEL, "--json"])["versions"]
        .as_array()
        .unwrap()
        .len()
}

fn history(home: &Path) -> Vec<Value> {
    ok_json(home, &["triggers", "history", "--limit", "1000", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

/// Poll `look` every 200 ms until it gives something, for at most
/// `seconds`; else fail saying `what`.
fn wait_for<T>(seconds: u64, what: &str, mut look: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = look() {
            return found;
        }
        assert!(Instant::now() < deadline, "waited {seconds} s: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The firing of `trigger` after the first `seen` firings, once it ended.
fn ended_firing(home: &Path, trigger: &str, seen: usize) -> Value {
    wait_for(60, &format!("a firing of `{trigger}` that ended"), || {
        let h = history(home);
        let firing = h.iter().skip(seen).find(|f| f["trigger"] == trigger)?;
        (firing["state"] == "succeeded" || firing["state"] == "failed").then(|| firing.clone())
    })
}

/// Wait until a 2-second monitor window has just begun that began after
/// `quiet_ms` (when the last requests were sent), so a day's traffic
/// (sent in a few milliseconds) falls in one window of its own.
fn at_window_start(quiet_ms: i64) -> i64 {
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        if now % 2000 < 1000 && now - now % 2000 > quiet_ms {
            return now;
        }
        std::thread::sleep(Duration::from_millis((2050 - now % 2000) as u64));
    }
}

/// The drift check's result for the window holding `sent_ms`, once the
/// server judged it.
fn drift_of_window(home: &Path, sent_ms: i64) -> Value {
    wait_for(30, "the monitor to judge the day's window", || {
        let shown = ok_json(
            home,
            &["monitor", "show", MODEL, "--limit", "1000", "--json"],
        );
        shown["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["check"] == "drift"
                    && r["window_start_ms"].as_i64().unwrap() <= sent_ms
                    && sent_ms < r["window_end_ms"].as_i64().unwrap()
            })
            .cloned()
    })
}

#[test]
fn eight_days_of_batches_retrain_judge_canary_and_promote_react_to_drift_and_stop_bad_versions() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let data = dir.path().join("data");
    let traffic = dir.path().join("traffic");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&traffic).unwrap();
    let pipeline = example(dir.path());

    // Day 1: the first run registers v1 (and arms the triggers); a person
    // promotes it, then the server takes over.
    generate(&data, 1, &[]);
    let run = ok_json(&home, &["run", pipeline.to_str().unwrap(), "--json"]);
    assert_eq!(run["registered"][0]["version"], 1, "{run}");
    let promote = "models promote churn 1 --to production --json";
    ok_json(&home, &promote.split(' ').collect::<Vec<_>>());
    let served = Served::start(&home, &["--no-auth", "--log-flush-ms", "200"]);

    // A version that passed its gates goes to its canary: the day's
    // labelled live rows until the rollout ends, promoted (or, for day
    // 8's, rolled back).
    let canary_of = |day: u32, detail: &str, new: usize| {
        assert!(
            detail.contains(&format!("churn:{new} passed its gates"))
                && detail.ends_with("rollout started"),
            "day {day}: {detail}"
        );
        let ended = canary(&home, &served.url, &traffic, day, new);
        if day == 8 {
            assert_eq!(ended["state"], "failed", "day 8's canary: {ended}");
            let last = ended["last"].as_str().unwrap();
            assert!(
                last.contains("performance.accuracy >= production - 0.05")
                    && last.contains("does not hold"),
                "{ended}"
            );
            assert_eq!(production(&home), 6, "day 8: production stays on v6");
        } else {
            assert_eq!(ended["state"], "promoted", "day {day}'s canary: {ended}");
            assert_eq!(production(&home), new, "day {day}: the canary promoted");
        }
    };

    for day in 2..=8u32 {
        // The day's traffic, answered by production (the server reads
        // the aliases every 250 ms: wait for the last promotion).
        let champion = production(&home).to_string();
        let quiet_ms = chrono::Utc::now().timestamp_millis();
        std::thread::sleep(Duration::from_millis(400));
        let sent_ms = at_window_start(quiet_ms);
        let answered = send_traffic(&served.url, &traffic, day);
        assert!(
            answered.iter().all(|v| *v == champion),
            "day {day}: production v{champion} answers, not {answered:?}"
        );
        let drift = drift_of_window(&home, sent_ms);
        assert_eq!(drift["version"].to_string(), champion, "{drift}");
        assert_eq!(drift["rows"], 1000, "the whole day in one window: {drift}");
        if day == 4 {
            // Drifted traffic: the alert retrains at once, before the
            // day's batch lands: on day 3's data, so the very model of
            // production (v3) again, which is reused, not registered,
            // judged or rolled out once more.
            assert_eq!(drift["status"], "fail", "day 4 drifts: {drift}");
            let seen = history(&home).len();
            let before = (versions(&home), production(&home));
            let firing = ended_firing(&home, "drifted", seen);
            assert_eq!(firing["state"], "succeeded", "{firing}");
            assert!(
                firing["reason"].as_str().unwrap().contains("check `drift`"),
                "{firing}"
            );
            assert_eq!(
                firing["detail"], "reused churn:3 (identical model)",
                "{firing}"
            );
            assert_eq!(
                (versions(&home), production(&home)),
                before,
                "the alert's retrain made production's model again"
            );
        } else {
            assert_eq!(
                drift["status"], "pass",
                "day {day} is like training: {drift}"
            );
        }

        // The day's batch lands (on day 7 with the upstream's fix of
        // day 6): the new-data trigger retrains.
        let seen = history(&home).len();
        let before = (versions(&home), production(&home));
        if day == 7 {
            generate(&data, 6, &["--fixed"]);
        }
        generate(&data, day, &[]);
        let firing = ended_firing(&home, "daily", seen);
        let detail = firing["detail"].as_str().unwrap();
        let run_id = firing["run_id"].as_str().unwrap().to_owned();
        let run = ok_json(&home, &["runs", "show", &run_id, "--json"]);
        if day == 6 {
            // The broken feature is caught by the validator: the run
            // failed there, nothing was trained or registered.
            assert_eq!(firing["state"], "failed", "{firing}");
            assert!(detail.contains("nulls:support_calls"), "{firing}");
            assert_eq!(run["status"], "failed", "{run}");
            let steps = run["steps"].as_array().unwrap();
            let status = |id: &str| {
                steps
                    .iter()
                    .find(|s| s["step_id"] == id)
                    .map(|s| s["status"].clone())
                    .unwrap_or_else(|| panic!("no step {id} in {run}"))
            };
            assert_eq!(status("validate"), "failed", "{run}");
            assert_eq!(status("train"), "skipped", "{run}");
            assert_eq!((versions(&home), production(&home)), before, "day 6");
        } else if day == 5 {
            // Mislabelled rows: the run succeeds and registers v5, which
            // fails its gates against v4 measured on v5's holdout: on
            // those wrong labels v4 scores as badly (the relative gate
            // holds), but v5 is below the fixed floor. Production stays
            // on v4 and no canary starts.
            assert_eq!(firing["state"], "succeeded", "{firing}");
            assert!(
                detail.contains(
                    "churn:5 failed its gates against production (v4, measured on v5's holdout"
                ) && detail.contains("evaluate.accuracy >= 0.65: evaluate.accuracy = ")
                    && detail.ends_with("production left as it was"),
                "{firing}"
            );
            assert_eq!(run["status"], "succeeded", "{run}");
            assert_eq!((versions(&home), production(&home)), (5, json!(4)));
            let status = ok_json(&home, &["models", "rollout", "status", MODEL, "--json"]);
            assert_eq!(status["candidate"], 4, "the last canary was v4's: {status}");
        } else {
            // Day 8's batch has usage in megabytes: it passes its checks
            // and its gates (v6 scores worse on v7's holdout in those
            // units), and only the canary, on live rows in gigabytes,
            // sees that v7 answers badly.
            assert_eq!(firing["state"], "succeeded", "day {day}: {firing}");
            assert_eq!(run["status"], "succeeded", "{run}");
            let new = before.0 + 1;
            assert!(
                detail.contains(&format!("registered churn:{new}")),
                "day {day}: {firing}"
            );
            canary_of(day, detail, new);
        }
    }

    // Every retrain is in the history, each with its run; the runs list
    // has them all (the first run and one per firing).
    let h = history(&home);
    let by = |t: &str| h.iter().filter(|f| f["trigger"] == t).count();
    assert_eq!((by("daily"), by("drifted"), h.len()), (7, 1, 8), "{h:?}");
    let runs = ok_json(&home, &["runs", "list", "--json"]);
    let churn_runs: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["pipeline_name"] == "churn")
        .collect();
    assert_eq!(churn_runs.len(), 9, "{runs}");
    assert_eq!(
        churn_runs
            .iter()
            .filter(|r| r["status"] == "failed")
            .count(),
        1,
        "only day 6's run failed: {runs}"
    );
    for f in &h {
        let id = f["run_id"].as_str().unwrap();
        assert!(churn_runs.iter().any(|r| r["id"] == id), "{f} ran");
    }

    // One alert of production in the eight days: day 4's, on v3, for the
    // shifted feature. v7 drifted too (its reference is in megabytes),
    // during its canary: an alert of the rollout, which retrained nothing.
    let shown = ok_json(
        &home,
        &["monitor", "show", MODEL, "--limit", "1000", "--json"],
    );
    let alerts = shown["alerts"].as_array().unwrap();
    let of = |role: &str| -> Vec<&Value> { alerts.iter().filter(|a| a["role"] == role).collect() };
    let on_production = of("production");
    assert_eq!(on_production.len(), 1, "{shown}");
    assert_eq!(on_production[0]["version"], 3, "{shown}");
    assert!(
        on_production[0]["detail"]
            .as_str()
            .unwrap()
            .contains("drift:monthly_charges"),
        "{shown}"
    );
    assert!(
        of("rollout")
            .iter()
            .any(|a| a["version"] == 7 && a["detail"].as_str().unwrap().contains("drift:usage_gb")),
        "v7's canary drifted on usage_gb: {shown}"
    );
    assert_eq!(of("other").len(), 0, "{shown}");

    // The audit history: a `judge` by the trigger for every version a
    // triggered run registered (day 4's alert reused v3: not judged
    // again); production only ever moved to a version that passed its
    // gates, by its canary's last step.
    let audit = ok_json(&home, &["models", "history", MODEL, "--json"]);
    let audit = audit.as_array().unwrap();
    let judged: Vec<&Value> = audit.iter().filter(|e| e["action"] == "judge").collect();
    assert_eq!(judged.len(), 6, "v2..v7 judged: {audit:?}");
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for j in &judged {
        assert_eq!(j["actor"], "trigger", "{j}");
        let verdict: Value = serde_json::from_str(j["detail"].as_str().unwrap()).unwrap();
        match verdict["passed"].as_bool() {
            Some(true) => passed.push(j["to_version"].clone()),
            Some(false) => failed.push(j["to_version"].clone()),
            None => panic!("a verdict without `passed`: {verdict}"),
        }
    }
    assert_eq!(failed, [json!(5)], "{audit:?}");
    let mut promoted = Vec::new();
    for e in audit.iter().filter(|e| e["action"] == "promote") {
        let to = &e["to_version"];
        if *to == 1 {
            continue; // the person's first promotion
        }
        assert_eq!(e["actor"], "rollout", "{e}");
        assert!(
            passed.contains(to),
            "v{to} was promoted without passing: {e}"
        );
        promoted.push(to.clone());
    }
    assert_eq!(promoted, [2, 3, 4, 6], "{audit:?}");
    assert_eq!(production(&home), 6);

    assert!(served.terminate().success());
    assert!(
        started.elapsed() < Duration::from_secs(150),
        "the eight days took {:?}",
        started.elapsed()
    );
}
