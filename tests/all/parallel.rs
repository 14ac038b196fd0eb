//! Issue 24, point 3: one step on more than one core. `gbt` spreads its
//! boosting, and `knn` its neighbour search, over workers (more instances
//! of the plugin, through the `parallel` import) when the tenant has step
//! slots to spare, and the results are the same bytes whatever the
//! number of workers.

use crate::support::{json, plugin_dir, sluice, stdout, succeeded};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// 32,000 seeded rows (24,000 to train: more than gbt spreads from) of
/// six features and a 0 / 1 label from three of them and noise.
fn data(dir: &Path) -> PathBuf {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("a,b,c,d,e,f,label\n");
    for _ in 0..32_000 {
        let x: Vec<f64> = (0..6).map(|_| next() * 2.0 - 1.0).collect();
        let score = x[0] + x[1] * x[2] + 0.5 * (next() - 0.5);
        for v in &x {
            write!(csv, "{v:.6},").unwrap();
        }
        writeln!(csv, "{}", u8::from(score > 0.0)).unwrap();
    }
    let path = dir.join("rows.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn pipeline(dir: &Path, data: &Path, trainer: &str) -> PathBuf {
    let text = format!(
        r#"[pipeline]
name = "spread"
version = "1"
seed = 1
plugin_dirs = [{plugins:?}]

[datasets.rows]
path = {data:?}
target = "label"
split = {{ holdout = 0.25, seed = 7, stratify = true }}

[[steps]]
id = "train"
input = "rows"
{trainer}
"#,
        plugins = plugin_dir().display().to_string(),
    );
    let path = dir.join("spread.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The run's JSON and the train step's log, on a fresh home whose default
/// tenant may run `concurrency` steps at once (and the process three).
fn run(pipeline: &Path, concurrency: u32) -> (Value, String) {
    let home = tempfile::tempdir().unwrap();
    let set = sluice(home.path())
        .args(["tenants", "set", "default"])
        .arg(format!("concurrency={concurrency}"))
        .output()
        .unwrap();
    succeeded(set, "tenants set");
    let out = sluice(home.path())
        .env("SLUICE_MAX_STEPS", "3")
        .args(["run", "--json"])
        .arg(pipeline)
        .output()
        .unwrap();
    let report = json(&succeeded(out, "sluice run"));
    let id = report["run_id"].as_str().unwrap().to_string();
    let logs = sluice(home.path())
        .args(["runs", "show", &id, "--logs"])
        .output()
        .unwrap();
    (report, stdout(&succeeded(logs, "runs show --logs")))
}

/// The digest of the train step's output `name`.
fn output(report: &Value, name: &str) -> String {
    let train = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "train")
        .unwrap_or_else(|| panic!("no train step in {report}"));
    train["outputs"][name].as_str().unwrap().to_string()
}

#[test]
fn gbt_spread_over_workers_trains_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let gbt = "plugin = \"gbt\"\nparams = { max_iter = 15 }";
    let pipeline = pipeline(dir.path(), &data(dir.path()), gbt);
    let (alone, alone_log) = run(&pipeline, 1);
    let (spread, spread_log) = run(&pipeline, 3);
    assert!(
        !alone_log.contains("spread over"),
        "one slot, one worker:\n{alone_log}"
    );
    assert!(
        spread_log.contains("boosting spread over 3 workers"),
        "three slots, three workers:\n{spread_log}"
    );
    // Each worker's log is in the step's, marked with the worker.
    for k in 0..3 {
        assert!(
            spread_log.contains(&format!("[worker {k}] [info] gbt worker: 24000 rows")),
            "worker {k}'s log:\n{spread_log}"
        );
    }
    assert_eq!(output(&alone, "model"), output(&spread, "model"));
}

/// `knn` spreads its neighbour search (the holdout predictions of its
/// step) over query shares: the same predictions.
#[test]
fn knn_spread_over_workers_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(dir.path(), &data(dir.path()), "plugin = \"knn\"");
    let (alone, alone_log) = run(&pipeline, 1);
    let (spread, spread_log) = run(&pipeline, 3);
    assert!(!alone_log.contains("workers"), "one worker:\n{alone_log}");
    assert!(
        spread_log.contains("were found by 3 workers"),
        "three workers:\n{spread_log}"
    );
    assert_eq!(
        output(&alone, "predictions"),
        output(&spread, "predictions")
    );
}
