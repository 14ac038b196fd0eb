//! Monitoring with a real `sluice serve` and seeded traffic: CBPE's
//! estimate against the accuracy labels later show, drift found on the
//! features that drifted and no other, the alert rolling `production`
//! back, the results in `sluice monitor show` and `/metrics`, and the
//! HTML report rendered by headless Chromium.

use crate::browser::{chromium_dom, count};
use crate::serve::{Served, client, get};
use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const MODEL: &str = "churn";

/// A seeded stream of standard normal numbers (SplitMix64, Box-Muller).
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Rows `[x1, x2, x3, x4]` and labels drawn from a logistic model of
/// x1..x3 (x4 is noise): a logistic regression fitted on them is
/// calibrated. `shift` moves x1, `scale` stretches x4.
fn rows(seed: u64, n: usize, shift: f64, scale: f64) -> (Vec<[f64; 4]>, Vec<i64>) {
    let mut g = Normal(seed);
    let mut xs = Vec::with_capacity(n);
    let mut ys = Vec::with_capacity(n);
    for _ in 0..n {
        let x = [g.next() + shift, g.next(), g.next(), g.next() * scale];
        let p = 1.0 / (1.0 + (-(1.5 * x[0] - 1.0 * x[1] + 0.5 * x[2])).exp());
        ys.push(i64::from(g.uniform() < p));
        xs.push(x);
    }
    (xs, ys)
}

fn pipeline(dir: &Path, version: &str, c: f64) -> std::path::PathBuf {
    pipeline_with(dir, version, c, false, "rollback", "")
}

/// The churn pipeline, its model trained on labels `flipped` (a bad
/// model) or not, with `on_alert` and `more` TOML after the monitor.
fn pipeline_with(
    dir: &Path,
    version: &str,
    c: f64,
    flipped: bool,
    on_alert: &str,
    more: &str,
) -> std::path::PathBuf {
    let name = if flipped { "flipped.csv" } else { "train.csv" };
    let data = dir.join(name);
    if !data.exists() {
        let (xs, ys) = rows(1, 8000, 0.0, 1.0);
        let mut text = String::from("x1,x2,x3,x4,y\n");
        for (x, y) in xs.iter().zip(&ys) {
            let y = if flipped { 1 - y } else { *y };
            text.push_str(&format!("{},{},{},{},{y}\n", x[0], x[1], x[2], x[3]));
        }
        std::fs::write(&data, text).unwrap();
    }
    let path = dir.join(format!("churn-{version}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"[pipeline]
name = "churn"
version = "{version}"
seed = 3
plugin_dirs = [{plugins:?}]

[datasets.live]
path = "{name}"
target = "y"
[datasets.live.split]
holdout = 0.25
seed = 7

[models.churn.monitoring]
window = "2s"
min_rows = 500
failure_limit = 1
on_alert = "{on_alert}"
command = ['sh', '-c', 'echo "$SLUICE_ALERT_CHECK v$SLUICE_ALERT_VERSION" >> {alerts}']

[[models.churn.monitoring.checks]]
kind = "drift"

[[models.churn.monitoring.checks]]
kind = "prediction_drift"
name = "outputs"

[[models.churn.monitoring.checks]]
kind = "performance"
params = {{ min_accuracy = 0.6 }}
min_rows = 50

[[models.churn.monitoring.checks]]
kind = "cbpe"
params = {{ metrics = "accuracy,roc_auc" }}

[[models.churn.monitoring.checks]]
kind = "service"
params = {{ max_error_rate = 0.01 }}
min_rows = 20

{more}

[[steps]]
id = "train"
plugin = "logreg"
input = "live"
params = {{ c = {c:?} }}
register = "churn"
"#,
            plugins = plugin_dir().display().to_string(),
            alerts = dir.join("alerts.txt").display(),
        ),
    )
    .unwrap();
    path
}

/// Send `xs` in requests of 100 rows with ids `{tag}-{i}`; the version
/// that answered each.
fn send(url: &str, tag: &str, xs: &[[f64; 4]]) -> Vec<String> {
    let infer = format!("{url}/v2/models/{MODEL}/infer");
    block_on(async {
        let mut versions = Vec::new();
        for (i, chunk) in xs.chunks(100).enumerate() {
            let inputs: Vec<Value> = (0..4)
                .map(|f| {
                    json!({ "name": format!("x{}", f + 1), "shape": [chunk.len()], "datatype": "FP64",
                            "data": chunk.iter().map(|x| x[f]).collect::<Vec<_>>() })
                })
                .collect();
            let resp = client()
                .post(&infer)
                .header("content-type", "application/json")
                .header("x-request-id", format!("{tag}-{i}"))
                .body(json!({ "inputs": inputs }).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200, "request {tag}-{i}");
            versions.push(
                resp.headers()["x-sluice-model-version"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        versions
    })
}

/// The labels of `ys`, by request id (`{tag}-{i}`) and row.
fn send_labels(url: &str, tag: &str, ys: &[i64]) {
    let labels: Vec<Value> = ys
        .iter()
        .enumerate()
        .map(|(i, y)| json!({ "request_id": format!("{tag}-{}", i / 100), "row": i % 100, "label": y }))
        .collect();
    let reply = crate::serve::post_json(
        &format!("{url}/v2/models/{MODEL}/feedback"),
        &json!({ "labels": labels }),
    );
    assert_eq!(reply.status, 200, "{}", reply.json());
}

/// Promote `version` of the model to `production`.
fn promote(home: &Path, version: &str) {
    ok_json(
        home,
        &[
            "models",
            "promote",
            MODEL,
            version,
            "--to",
            "production",
            "--json",
        ],
    );
}

/// `sluice monitor run --dry-run --json` over the last `span`.
fn evaluate(home: &Path, span: Duration) -> Value {
    let window = format!("{}ms", span.as_millis());
    let out = sluice(home)
        .args([
            "monitor",
            "run",
            MODEL,
            "--window",
            &window,
            "--dry-run",
            "--json",
        ])
        .output()
        .unwrap();
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| {
        panic!(
            "monitor run: {e}\nstdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        )
    })
}

fn result<'v>(evaluation: &'v Value, version: i64, check: &str) -> &'v Value {
    evaluation["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == version)
        .unwrap_or_else(|| panic!("no v{version} in {evaluation}"))["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no check {check} in {evaluation}"))
}

#[test]
fn monitors_estimate_accuracy_find_the_drifted_features_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    // A drift alert retrains (issue 22's on_alert trigger): the server
    // fires it.
    let retrain = "[triggers.drifted]\non_alert = \"churn\"\nchecks = [\"drift\"]\n";
    for (version, c) in [("1", 1.0), ("2", 0.5)] {
        let path = pipeline_with(dir.path(), version, c, false, "rollback", retrain);
        let run = ok_json(&home, &["run", path.to_str().unwrap(), "--json"]);
        assert_eq!(
            run["registered"][0]["version"].as_i64(),
            Some(version.parse().unwrap()),
            "{run}"
        );
        promote(&home, version);
    }
    let served = Served::start(&home, &["--no-auth", "--log-flush-ms", "200"]);

    // Live traffic like the training data, then its labels: CBPE's
    // estimate (made without them) is the accuracy they show.
    let started = Instant::now();
    let (xs, ys) = rows(11, 20_000, 0.0, 1.0);
    let answered = send(&served.url, "good", &xs);
    assert!(answered.iter().all(|v| v == "2"), "production v2 answers");
    send_labels(&served.url, "good", &ys);
    // The log is written every 200 ms: wait for every row.
    let deadline = Instant::now() + Duration::from_secs(20);
    let good = loop {
        // A second more than the traffic's span: `monitor run` takes
        // `now` when it has started, which a loaded machine delays (no
        // request came before `started`).
        let good = evaluate(&home, started.elapsed() + Duration::from_secs(1));
        if good["versions"][0]["labelled"] == 20_000 || Instant::now() > deadline {
            break good;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let v2 = &good["versions"][0];
    assert_eq!(
        (
            &v2["version"],
            &v2["rows"],
            &v2["labelled"],
            &v2["requests"]
        ),
        (&json!(2), &json!(20_000), &json!(20_000), &json!(200)),
        "every request is logged and labelled"
    );
    let performance = result(&good, 2, "performance");
    let cbpe = result(&good, 2, "cbpe");
    assert_eq!(performance["status"], "pass", "{performance}");
    assert_eq!(cbpe["status"], "pass", "{cbpe}");
    let realized = performance["metrics"]["accuracy"].as_f64().unwrap();
    let estimated = cbpe["metrics"]["estimated_accuracy"].as_f64().unwrap();
    assert!(
        (realized - estimated).abs() <= 0.02,
        "CBPE estimated {estimated}, the labels show {realized}"
    );
    assert_eq!(performance["rows"], 20_000, "{performance}");
    assert_eq!(result(&good, 2, "drift")["status"], "pass", "{good}");
    assert_eq!(result(&good, 2, "service")["status"], "pass", "{good}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("alerts.txt")).unwrap_or_default(),
        "",
        "no alert on traffic like the training data"
    );

    // Drift on x1 and x4: the drift check fails on those two and no other.
    std::thread::sleep(Duration::from_millis(1500));
    let drifted_at = Instant::now();
    let (xs, _) = rows(12, 3000, 1.5, 3.0);
    send(&served.url, "drift", &xs);
    let deadline = Instant::now() + Duration::from_secs(20);
    let drifted = loop {
        let drifted = evaluate(&home, drifted_at.elapsed() + Duration::from_millis(200));
        if drifted["versions"][0]["rows"] == 3000 || Instant::now() > deadline {
            break drifted;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let drift = result(&drifted, 2, "drift");
    assert_eq!(drift["status"], "fail", "{drift}");
    let failing: Vec<&str> = drift["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["drift:x1", "drift:x4", "dataset"], "{drift}");

    // The server's own monitor saw the same window: the alert rolled
    // production back to v1, audited with the numbers, and ran the command.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let aliases = ok_json(&home, &["models", "show", MODEL, "--json"]);
        if aliases["aliases"]["production"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "production was not rolled back: {aliases}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let history = ok_json(&home, &["models", "history", MODEL, "--json"]);
    let rollback = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "rollback")
        .unwrap_or_else(|| panic!("no rollback in {history}"));
    assert_eq!(rollback["actor"], "monitor", "{rollback}");
    assert!(
        rollback["reason"].as_str().unwrap().contains("drift:x1"),
        "{rollback}"
    );
    let shown = ok_json(&home, &["monitor", "show", MODEL, "--json"]);
    let alerts = shown["alerts"].as_array().unwrap();
    assert!(
        alerts.iter().any(|a| a["action"]
            .as_str()
            .unwrap()
            .starts_with("rollback: production v2 -> v1")),
        "{shown}"
    );
    assert!(
        shown["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["check"] == "cbpe" && r["status"] == "pass"),
        "the scheduled windows are recorded: {shown}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(dir.path().join("alerts.txt"))
        .unwrap_or_default()
        .contains("drift v2")
    {
        assert!(Instant::now() < deadline, "the alert command did not run");
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = String::from_utf8(get(&format!("{}/metrics", served.url)).body).unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sluice_monitor_check_status{")
                && l.contains("check=\"drift\"")
                && l.ends_with(" 1")),
        "{metrics}"
    );
    // After the rollback, v1 answers (the server reads aliases again every
    // 250 ms).
    let deadline = Instant::now() + Duration::from_secs(5);
    while send(&served.url, "after", &xs[..100]) != ["1"] {
        assert!(
            Instant::now() < deadline,
            "v2 still answers after the rollback"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The drift alert fired the retraining trigger: one run, which on
    // the same data made v2's very model again, so it reused v2 rather
    // than registering a copy (and judged nothing: production stays v1).
    let deadline = Instant::now() + Duration::from_secs(60);
    let firing = loop {
        let h = ok_json(&home, &["triggers", "history", "--json"]);
        if let Some(f) = h
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["state"] == "succeeded" || f["state"] == "failed")
        {
            break f.clone();
        }
        assert!(Instant::now() < deadline, "no retraining ran: {h}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(firing["state"], "succeeded", "{firing}");
    assert_eq!(firing["trigger"], "drifted");
    assert!(
        firing["reason"].as_str().unwrap().contains("check `drift`"),
        "{firing}"
    );
    assert_eq!(
        firing["detail"], "reused churn:2 (identical model)",
        "{firing}"
    );
    let h = ok_json(&home, &["triggers", "history", "--json"]);
    assert_eq!(h.as_array().unwrap().len(), 1, "one burst, one firing: {h}");
    assert_eq!(
        ok_json(&home, &["models", "show", MODEL, "--json"])["aliases"]["production"],
        1
    );

    // The report of the drifted window, rendered by Chromium: one
    // histogram per feature with both series drawn, x1 and x4 flagged.
    let report = dir.path().join("report.html");
    let window = format!("{}ms", drifted_at.elapsed().as_millis() + 200);
    let out = sluice(&home)
        .args([
            "monitor",
            "report",
            MODEL,
            "--version",
            "2",
            "--window",
            &window,
            "-o",
        ])
        .arg(&report)
        .output()
        .unwrap();
    succeeded(out, "sluice monitor report");
    let dom = chromium_dom(&report);
    for x in ["x1", "x2", "x3", "x4"] {
        assert_eq!(
            count(&dom, &format!("data-chart=\"feature:{x}\"")),
            1,
            "{x}"
        );
    }
    assert!(count(&dom, "class=\"bar\"") >= 4 * 2 * 5, "bars drawn");
    assert!(count(&dom, "data-chart=\"prediction:") == 1);
    assert!(served.terminate().success());
}

/// Seeded labelled traffic in the background: requests of 10 rows to the
/// bare model name (so the route shares them), each request's labels sent
/// right after, until dropped. The server may be restarted meanwhile:
/// requests that fail are skipped.
struct Traffic {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Traffic {
    fn start(url: std::sync::Arc<std::sync::Mutex<String>>) -> Traffic {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seed = 100;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                seed += 1;
                let url = url.lock().unwrap().clone();
                let (xs, ys) = rows(seed, 10, 0.0, 1.0);
                let tag = format!("t{seed}");
                let inputs: Vec<Value> = (0..4)
                    .map(|f| {
                        json!({ "name": format!("x{}", f + 1), "shape": [10], "datatype": "FP64",
                                     "data": xs.iter().map(|x| x[f]).collect::<Vec<_>>() })
                    })
                    .collect();
                let labels: Vec<Value> = ys
                    .iter()
                    .enumerate()
                    .map(|(i, y)| json!({ "request_id": tag, "row": i, "label": y }))
                    .collect();
                block_on(async {
                    let answered = client()
                        .post(format!("{url}/v2/models/{MODEL}/infer"))
                        .header("content-type", "application/json")
                        .header("x-request-id", &tag)
                        .body(json!({ "inputs": inputs }).to_string())
                        .send()
                        .await;
                    if answered.is_ok_and(|r| r.status().is_success()) {
                        let _ = client()
                            .post(format!("{url}/v2/models/{MODEL}/feedback"))
                            .header("content-type", "application/json")
                            .body(json!({ "labels": labels }).to_string())
                            .send()
                            .await;
                    }
                });
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Traffic {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `sluice models rollout status churn --json`.
fn rollout_status(home: &Path) -> Value {
    ok_json(home, &["models", "rollout", "status", MODEL, "--json"])
}

/// Poll the rollout until `done` holds (within `seconds`).
fn wait_rollout(home: &Path, seconds: u64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let status = rollout_status(home);
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}: {status}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn rollouts_hold_without_traffic_promote_a_good_candidate_across_a_kill_and_roll_back_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let plan = "[models.churn.rollout]\nsteps = [10, 50, 100]\ninterval = \"3s\"\nmin_requests = 8\n\
                failure_limit = 2\nchecks = [\"performance.accuracy >= production - 0.15\", \
                \"service.error_rate <= 0.01\"]\n";
    // Three different models (an identical one would reuse its version).
    for (version, c, flipped) in [("1", 1.0, false), ("2", 0.5, false), ("3", 1.0, true)] {
        let p = pipeline_with(dir.path(), version, c, flipped, "log", plan);
        let run = ok_json(&home, &["run", p.to_str().unwrap(), "--json"]);
        assert_eq!(
            run["registered"][0]["version"].as_i64(),
            Some(version.parse().unwrap()),
            "{run}"
        );
    }
    promote(&home, "1");
    let served = Served::start(&home, &["--no-auth", "--log-flush-ms", "200"]);

    // (d) No traffic: every interval is inconclusive and the rollout holds
    // at its first step, saying why.
    let started = ok_json(&home, &["models", "rollout", MODEL, "2", "--json"]);
    assert_eq!(
        (&started["state"], &started["step"], &started["share"]),
        (&json!("running"), &json!(0), &json!(10.0)),
        "{started}"
    );
    let route = ok_json(&home, &["models", "route", MODEL, "--json"]);
    assert_eq!(
        route["route"]["split"],
        json!({ "production": 90.0, "v2": 10.0 }),
        "{route}"
    );
    let held = wait_rollout(&home, 30, "no inconclusive interval", |s| {
        s["inconclusive"].as_i64() >= Some(2)
    });
    assert_eq!(
        (&held["state"], &held["step"], &held["failures"]),
        (&json!("running"), &json!(0), &json!(0)),
        "{held}"
    );
    assert!(
        held["last"]
            .as_str()
            .unwrap()
            .contains("fewer than min_requests 8"),
        "{held}"
    );

    // (a) Labelled traffic: the good candidate passes 10% and moves to
    // 50%; (f) the server is killed there, and restarted it carries on
    // from that step to 100% and promotes v2.
    let url = std::sync::Arc::new(std::sync::Mutex::new(served.url.clone()));
    let traffic = Traffic::start(url.clone());
    wait_rollout(&home, 60, "the rollout did not reach 50%", |s| {
        s["step"] == 1
    });
    drop(served);
    let status = rollout_status(&home);
    assert_eq!(
        (&status["state"], &status["step"]),
        (&json!("running"), &json!(1)),
        "{status}"
    );
    let served = Served::start(&home, &["--no-auth", "--log-flush-ms", "200"]);
    *url.lock().unwrap() = served.url.clone();
    let done = wait_rollout(&home, 90, "v2 was not promoted", |s| {
        s["state"] != "running"
    });
    assert_eq!(done["state"], "promoted", "{done}");
    let shown = ok_json(&home, &["models", "show", MODEL, "--json"]);
    assert_eq!(shown["aliases"]["production"], 2, "{shown}");
    let history = ok_json(&home, &["models", "history", MODEL, "--json"]);
    let by_rollout: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "rollout")
        .map(|e| (e["action"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    let weights: Vec<&str> = by_rollout
        .iter()
        .filter(|(a, _)| *a == "route")
        .map(|(_, r)| *r)
        .collect();
    assert!(
        weights
            .iter()
            .any(|r| r.contains("step 2 of 3 at 50%") && r.contains("performance.accuracy")),
        "{by_rollout:?}"
    );
    assert!(
        weights.iter().any(|r| r.contains("step 3 of 3 at 100%")),
        "{by_rollout:?}"
    );
    assert!(
        by_rollout
            .iter()
            .any(|(a, r)| *a == "promote" && r.contains("passed every step")),
        "{by_rollout:?}"
    );
    let route = ok_json(&home, &["models", "route", MODEL, "--json"]);
    assert!(
        route["route"].is_null(),
        "the policy before the rollout is back: {route}"
    );

    // (b) A candidate worse on live labels fails its intervals and is
    // rolled back after failure_limit of them; production stays v2.
    // NAME:VERSION names the candidate as NAME VERSION did for v2.
    let v3 = format!("{MODEL}:3");
    ok_json(&home, &["models", "rollout", &v3, "--json"]);
    let failed = wait_rollout(&home, 60, "v3 was not rolled back", |s| {
        s["state"] != "running"
    });
    assert_eq!(
        (&failed["state"], &failed["failures"]),
        (&json!("failed"), &json!(2)),
        "{failed}"
    );
    let last = failed["last"].as_str().unwrap();
    assert!(
        last.contains("performance.accuracy >= production - 0.15")
            && last.contains("does not hold"),
        "{last}"
    );
    drop(traffic);
    let shown = ok_json(&home, &["models", "show", MODEL, "--json"]);
    assert_eq!(shown["aliases"]["production"], 2, "{shown}");
    let route = ok_json(&home, &["models", "route", MODEL, "--json"]);
    assert!(
        route["route"].is_null(),
        "traffic is all production's again: {route}"
    );
    assert!(served.terminate().success());
}

/// The standard drift check on a large window tests its columns in
/// parallel instances: the report put together is the one a single call
/// makes, check for check and number for number.
#[test]
fn drift_in_parts_reports_what_one_call_reports() {
    use sluice::runtime::{StepContext, StepLimits};
    use sluice::wit::{Column, Table, Values};
    let runtime = shared_runtime();
    let plugin = runtime.load(&plugin("drift")).expect("load drift");
    let mut g = Normal(9);
    let mut table = |n: usize, shift: f64| Table {
        columns: (0..7)
            .map(|c| Column {
                name: format!("c{c}"),
                values: if c == 6 {
                    Values::I64s((0..n).map(|i| (i % 4) as i64).collect())
                } else {
                    Values::F64s(
                        (0..n)
                            .map(|_| g.next() + if c < 2 { shift } else { 0.0 })
                            .collect(),
                    )
                },
                valid: None,
            })
            .collect(),
    };
    let reference = table(5_000, 0.0);
    let data = table(sluice::monitor::check::SPLIT_FROM_ROWS, 0.3);
    let step = StepContext::new("monitor:drift", StepLimits::default(), 1);
    let whole = block_on(runtime.validate(&plugin, &step, &data, Some(&reference), &[]))
        .expect("one call")
        .value;
    assert_eq!(
        whole.checks.iter().filter(|c| !c.passed).count(),
        2,
        "c0 and c1 drift: {:?}",
        whole.checks
    );
    for parts in [2, 3, 7] {
        let split = block_on(sluice::monitor::check::drift_in_parts(
            runtime,
            plugin.clone(),
            step.clone(),
            data.clone(),
            &reference,
            Vec::new(),
            parts,
        ))
        .expect("in parts");
        assert_eq!(
            format!("{:?}", split.checks),
            format!("{:?}", whole.checks),
            "{parts} parts"
        );
        assert_eq!(
            format!("{:?}", split.metrics),
            format!("{:?}", whole.metrics),
            "{parts} parts"
        );
    }
}

/// A version's stored monitor reference has each column sorted on its
/// own: the drift plugin must report on it exactly what it reports on the
/// training rows as they are, for every method and binning.
#[test]
fn a_sorted_reference_reports_what_the_rows_report() {
    use sluice::runtime::{StepContext, StepLimits};
    use sluice::wit::{Column, Param, ParamValue, Table, Values};
    let runtime = shared_runtime();
    let plugin = runtime.load(&plugin("drift")).expect("load drift");
    let mut g = Normal(21);
    let mut table = |n: usize, shift: f64| Table {
        columns: vec![
            Column {
                name: "wide".into(),
                values: Values::F64s((0..n).map(|_| g.next() + shift).collect()),
                valid: Some((0..n).map(|i| i % 17 != 3).collect()),
            },
            Column {
                name: "steps".into(),
                values: Values::F64s((0..n).map(|_| (g.next() * 2.0).round()).collect()),
                valid: None,
            },
            Column {
                name: "count".into(),
                values: Values::I64s((0..n).map(|_| (g.uniform() * 40.0) as i64).collect()),
                valid: None,
            },
            Column {
                name: "plan".into(),
                values: Values::Strings(
                    (0..n)
                        .map(|_| ["basic", "plus", "pro"][(g.uniform() * 3.0) as usize].into())
                        .collect(),
                ),
                valid: Some((0..n).map(|i| i % 11 != 5).collect()),
            },
        ],
    };
    let rows = table(3_000, 0.0);
    let sorted = sluice::data::batch_to_table(
        &sluice::monitor::reference::sort_columns(
            &sluice::data::table_to_batch(rows.clone()).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_ne!(
        format!("{:?}", sorted.columns[0]),
        format!("{:?}", rows.columns[0]),
        "the stored reference is in another order"
    );
    let current = table(2_000, 0.2);
    let step = StepContext::new("monitor:drift", StepLimits::default(), 1);
    let text = |name: &str, value: &str| Param {
        name: name.into(),
        value: ParamValue::Text(value.into()),
    };
    let mut compared = 0;
    for method in ["auto", "ks", "wasserstein", "jensenshannon", "psi"] {
        for binning in ["evidently", "quantile"] {
            let params = [text("method", method), text("binning", binning)];
            let report = |reference: &Table| {
                block_on(runtime.validate(&plugin, &step, &current, Some(reference), &params))
                    .map(|r| format!("{:?} {:?}", r.value.checks, r.value.metrics))
                    .map_err(|e| e.to_string())
            };
            let on_rows = report(&rows);
            assert_eq!(report(&sorted), on_rows, "{method}, {binning}");
            compared += usize::from(on_rows.is_ok());
        }
    }
    assert!(compared >= 6, "most methods run on these columns");
}

/// `sluice monitor show --json`'s results of `check`, by window.
fn windows_of(home: &Path, check: &str) -> Vec<Value> {
    let shown = ok_json(home, &["monitor", "show", MODEL, "--json"]);
    shown["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["check"] == check)
        .cloned()
        .collect()
}

/// A monitor whose window is a count of requests: the server judges each
/// 25 requests as they come (none before), `monitor run` the last N; the
/// reference is built once, at registration, and survives `gc`.
#[test]
fn windows_of_requests_and_a_reference_built_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let path = pipeline(dir.path(), "1", 1.0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("window = \"2s\""));
    std::fs::write(
        &path,
        text.replace("window = \"2s\"", "window = \"25 requests\""),
    )
    .unwrap();
    ok_json(&home, &["run", path.to_str().unwrap(), "--json"]);
    promote(&home, "1");

    // Built at registration: the training rows (features and target) and
    // the holdout predictions, each column in numbers.
    let reference = ok_json(&home, &["monitor", "reference", MODEL, "--json"]);
    let kinds: Vec<&str> = reference
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["inputs", "outputs"], "{reference}");
    let inputs = &reference[0];
    assert_eq!(inputs["rows"], 6000, "the train part: {inputs}");
    let names: Vec<&str> = inputs["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x1", "x2", "x3", "x4", "y"]);
    let x1 = &inputs["columns"][0];
    let q: Vec<f64> = serde_json::from_value(x1["quantiles"].clone()).unwrap();
    let (min, max) = (x1["min"].as_f64().unwrap(), x1["max"].as_f64().unwrap());
    assert!(
        q.len() == 5 && min < q[0] && q.windows(2).all(|w| w[0] <= w[1]) && q[4] < max,
        "{x1}"
    );
    assert!(
        x1["mean"].as_f64().unwrap().abs() < 0.1,
        "x1 is standard normal: {x1}"
    );
    assert!((x1["std"].as_f64().unwrap() - 1.0).abs() < 0.1, "{x1}");
    let y = &inputs["columns"][4];
    assert_eq!(
        (&y["kind"], &y["distinct"]),
        (&json!("numeric"), &json!(2)),
        "{y}"
    );
    assert_eq!(reference[1]["rows"], 2000, "the holdout predictions");

    let served = Served::start(&home, &["--no-auth", "--log-flush-ms", "200"]);
    let (xs, _) = rows(31, 7000, 0.0, 1.0);
    send(&served.url, "a", &xs);
    // 70 requests of 100 rows: two windows of 25, and 20 requests that
    // make none yet.
    let deadline = Instant::now() + Duration::from_secs(30);
    while windows_of(&home, "drift").len() < 2 {
        assert!(Instant::now() < deadline, "two windows were not judged");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    // A window ends at the millisecond its 25th request came in: the
    // requests of that same millisecond join it.
    let judged = windows_of(&home, "drift");
    assert_eq!(judged.len(), 2, "{judged:?}");
    for r in &judged {
        let rows = r["rows"].as_i64().unwrap();
        assert!(rows >= 2500 && rows % 100 == 0, "{r}");
        assert_eq!(r["status"], "pass", "{r}");
    }
    assert_eq!(
        judged[0]["window_end_ms"], judged[1]["window_start_ms"],
        "each window starts where the last ended"
    );
    send(&served.url, "b", &xs[..2500]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while windows_of(&home, "drift").len() < 3 {
        assert!(Instant::now() < deadline, "the third window was not judged");
        std::thread::sleep(Duration::from_millis(200));
    }
    let third = &windows_of(&home, "drift")[2];
    assert!(third["rows"].as_i64().unwrap() >= 2500, "{third}");
    assert_eq!(third["window_start_ms"], judged[1]["window_end_ms"]);
    assert!(served.terminate().success());

    // On demand: the last 10 requests.
    let last_ten = || {
        ok_json(
            &home,
            &[
                "monitor",
                "run",
                MODEL,
                "--window",
                "10 requests",
                "--dry-run",
                "--json",
            ],
        )
    };
    let last = last_ten();
    let v1 = &last["versions"][0];
    let requests = v1["requests"].as_i64().unwrap();
    assert!((10..70).contains(&requests), "{last}");
    assert_eq!(v1["rows"].as_i64(), Some(requests * 100), "{last}");

    // Built once: the evaluations read it, none built it again; and `gc`
    // keeps its file.
    let again = ok_json(&home, &["monitor", "reference", MODEL, "--json"]);
    assert_eq!(again, reference);
    let gc = sluice(&home)
        .args(["gc", "--yes", "--min-age", "0s"])
        .output()
        .unwrap();
    succeeded(gc, "sluice gc");
    let digest = reference[0]["digest"].as_str().unwrap();
    let out = sluice(&home)
        .args(["artifacts", "get", digest, "-o"])
        .arg(dir.path().join("reference.parquet"))
        .output()
        .unwrap();
    succeeded(out, "the reference's file after gc");
    let after = last_ten();
    assert_eq!(result(&after, 1, "drift")["status"], "pass", "{after}");
}

/// A regressor's `performance` check naming no plugin runs
/// `regression-eval` (its params accepted when planned), not the
/// classification evaluator.
#[test]
fn a_regressors_performance_check_runs_the_regression_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let data = root().join("pipelines/data/diabetes.csv");
    let path = dir.path().join("dia.toml");
    std::fs::write(
        &path,
        format!(
            "[pipeline]\nname = \"dia\"\nversion = \"1\"\nplugin_dirs = [{plugins:?}]\n\n\
             [datasets.d]\npath = {data:?}\ntarget = \"progression\"\n\
             [datasets.d.split]\nholdout = 0.25\n\n\
             [models.dia.monitoring]\nwindow = \"1h\"\nmin_rows = 10\n\
             [[models.dia.monitoring.checks]]\nkind = \"performance\"\n\
             params = {{ min_r2 = 0.3 }}\nmin_rows = 50\n\n\
             [[steps]]\nid = \"ridge\"\nplugin = \"linear\"\ninput = \"d\"\nregister = \"dia\"\n",
            plugins = plugin_dir().display().to_string(),
            data = data.display().to_string(),
        ),
    )
    .unwrap();
    ok_json(&home, &["run", path.to_str().unwrap(), "--json"]);
    ok_json(
        &home,
        &[
            "models",
            "promote",
            "dia",
            "1",
            "--to",
            "production",
            "--json",
        ],
    );
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let served = Served::start(&home, &["--no-auth", "--log-flush-ms", "100"]);
    let mut labels = Vec::new();
    for (i, chunk) in rows.chunks(50).enumerate() {
        let inputs: Vec<Value> = (0..header.len() - 1)
            .map(|c| {
                json!({ "name": header[c], "shape": [chunk.len()], "datatype": "FP64",
                        "data": chunk.iter().map(|r| r[c]).collect::<Vec<_>>() })
            })
            .collect();
        let status = block_on(async {
            client()
                .post(format!("{}/v2/models/dia/infer", served.url))
                .header("content-type", "application/json")
                .header("x-request-id", format!("d-{i}"))
                .body(json!({ "inputs": inputs }).to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        assert_eq!(status, 200, "request d-{i}");
        labels.extend(chunk.iter().enumerate().map(|(row, r)| {
            json!({ "request_id": format!("d-{i}"), "row": row, "label": r[header.len() - 1] })
        }));
    }
    let reply = crate::serve::post_json(
        &format!("{}/v2/models/dia/feedback", served.url),
        &json!({ "labels": labels }),
    );
    assert_eq!(reply.status, 200, "{}", reply.json());
    let deadline = Instant::now() + Duration::from_secs(20);
    let evaluation = loop {
        let out = sluice(&home)
            .args(["monitor", "run", "dia", "--dry-run", "--json"])
            .output()
            .unwrap();
        let e: Value = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
        if e["versions"][0]["labelled"] == rows.len() || Instant::now() > deadline {
            break e;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let performance = &evaluation["versions"][0]["results"][0];
    assert_eq!(performance["status"], "pass", "{evaluation}");
    let r2 = performance["metrics"]["r2"].as_f64().unwrap();
    assert!(r2 > 0.3 && r2 < 0.8, "{performance}");
    assert!(served.terminate().success());
}
