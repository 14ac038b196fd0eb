//! Triggers (issue 22): a schedule fires each slot once, skips or catches
//! up what was missed, and keeps to `max_concurrency`; new data in a
//! dataset directory fires once after its debounce; a trigger engine
//! killed at any point resumes on restart without a duplicate run or a
//! lost firing.

use crate::support::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Seeded numbers in [-0.5, 0.5) (xorshift).
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// A day of rows `x1, x2, y` (y from the sign of a noisy sum), seeded:
/// `DIR/day-DD.csv`.
pub fn write_day(dir: &Path, day: u64) {
    let mut next = uniform(day);
    let mut text = String::from("x1,x2,y\n");
    for _ in 0..200 {
        let (a, b, e) = (next(), next(), next() * 0.3);
        text.push_str(&format!("{a},{b},{}\n", i32::from(a + 0.5 * b + e > 0.0)));
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("day-{day:02}.csv")), text).unwrap();
}

fn pipeline(dir: &Path, version: &str, triggers: &str) -> std::path::PathBuf {
    let path = dir.join("daily.toml");
    std::fs::write(
        &path,
        format!(
            "[pipeline]\nname = \"daily\"\nversion = \"{version}\"\nseed = 1\n\
             plugin_dirs = [{plugins:?}]\n\n[datasets.days]\npath = \"days\"\ntarget = \"y\"\n\n\
             [[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"days\"\n\
             register = \"churn\"\n\n{triggers}",
            plugins = plugin_dir().display().to_string(),
        ),
    )
    .unwrap();
    path
}

/// Two days of data and the pipeline with `more` (its triggers), run
/// once (which arms them): the directory, the home, the data directory.
fn two_days_run(more: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let days = dir.path().join("days");
    write_day(&days, 1);
    write_day(&days, 2);
    let p = pipeline(dir.path(), "1", more);
    ok_json(&home, &["run", p.to_str().unwrap(), "--json"]);
    (dir, home, days)
}

fn history(home: &Path) -> Vec<Value> {
    ok_json(home, &["triggers", "history", "--limit", "1000", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

fn once(home: &Path) {
    succeeded(
        sluice(home)
            .args(["triggers", "run", "--once"])
            .output()
            .unwrap(),
        "sluice triggers run --once",
    );
}

fn runs(home: &Path) -> Vec<Value> {
    ok_json(home, &["runs", "list", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

fn in_state<'h>(history: &'h [Value], state: &str) -> Vec<&'h Value> {
    history.iter().filter(|f| f["state"] == state).collect()
}

#[test]
fn a_schedule_fires_each_slot_once_skips_or_catches_up_and_keeps_to_its_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    write_day(&dir.path().join("days"), 1);
    let every_2s = "[triggers.tick]\nschedule = \"*/2 * * * * *\"\n";
    let p = pipeline(dir.path(), "1", every_2s);
    ok_json(&home, &["run", p.to_str().unwrap(), "--json"]);
    let listed = ok_json(&home, &["triggers", "list", "--json"]);
    assert_eq!(listed[0]["name"], "tick", "{listed}");
    assert!(
        listed[0]["next"].as_str().unwrap().ends_with('Z'),
        "{listed}"
    );
    assert!(history(&home).is_empty(), "arming fires nothing");

    // Two or three slots pass with no engine: catchup = false runs the
    // latest and records the others as one skipped firing.
    std::thread::sleep(Duration::from_millis(4500));
    once(&home);
    let h = history(&home);
    let skipped = in_state(&h, "skipped");
    let ran = in_state(&h, "succeeded");
    assert_eq!((skipped.len(), ran.len()), (1, 1), "{h:?}");
    assert!(
        skipped[0]["reason"].as_str().unwrap().contains("missed"),
        "{h:?}"
    );
    assert!(
        ran[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("schedule slot")
    );
    assert!(
        ran[0]["detail"].as_str().unwrap().contains("churn:"),
        "{h:?}"
    );
    let run_id = ran[0]["run_id"].as_str().unwrap();
    assert!(runs(&home).iter().any(|r| r["id"] == run_id));

    // Looking again fires only slots after the one that ran.
    once(&home);
    let again = history(&home);
    let slots: Vec<&str> = again
        .iter()
        .filter(|f| f["state"] != "skipped")
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    let mut distinct = slots.clone();
    distinct.dedup();
    assert_eq!(slots, distinct, "a slot fired twice: {again:?}");

    // catchup = true: every missed slot fires, one run at a time
    // (max_concurrency 1): the rest wait, pending, and run next time.
    let p = pipeline(
        dir.path(),
        "2",
        &format!("{every_2s}catchup = true\nmax_concurrency = 1\n"),
    );
    ok_json(&home, &["run", p.to_str().unwrap(), "--json"]);
    let before = history(&home).len();
    std::thread::sleep(Duration::from_millis(4500));
    once(&home);
    let h = history(&home);
    let new: Vec<&Value> = h.iter().skip(before).collect();
    assert!(new.len() >= 2, "every missed slot fires: {h:?}");
    assert!(new.iter().all(|f| f["state"] != "skipped"), "{h:?}");
    assert_eq!(
        new.iter().filter(|f| f["state"] == "succeeded").count(),
        1,
        "one run at a time: {h:?}"
    );
    let pending = new.iter().filter(|f| f["state"] == "pending").count();
    assert!(pending >= 1, "{h:?}");
    once(&home);
    let h = history(&home);
    let done = h
        .iter()
        .skip(before)
        .filter(|f| f["state"] == "succeeded")
        .count();
    assert!(done >= 2, "the waiting firing ran next: {h:?}");
}

#[test]
fn new_data_fires_once_after_its_debounce_and_a_killed_engine_loses_and_repeats_nothing() {
    let (_dir, home, days) =
        two_days_run("[triggers.fresh]\non_new_data = \"days\"\ndebounce = \"1s\"\n");
    once(&home);
    assert!(history(&home).is_empty(), "the data did not change");

    // A new day: seen, then fired once the debounce has passed.
    write_day(&days, 3);
    once(&home);
    assert!(history(&home).is_empty(), "within the debounce");
    let shown = ok_json(&home, &["triggers", "show", "daily", "fresh", "--json"]);
    assert!(
        shown["trigger"]["next"]
            .as_str()
            .unwrap()
            .contains("debounce"),
        "{shown}"
    );
    std::thread::sleep(Duration::from_millis(1200));
    once(&home);
    let h = history(&home);
    assert_eq!(in_state(&h, "succeeded").len(), 1, "{h:?}");
    assert!(
        h[0]["reason"].as_str().unwrap().contains("3 file(s)"),
        "{h:?}"
    );
    once(&home);
    assert_eq!(history(&home).len(), 1, "the same data fires once");

    // An engine killed (SIGKILL) at several points after new data: the
    // engine started next finishes what it left, once.
    for (day, kill_after_ms) in [(4, 0), (5, 150), (6, 400), (7, 900)] {
        write_day(&days, day);
        let mut engine = sluice(&home)
            .args(["triggers", "run"])
            .0
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while history(&home).len() < day as usize - 2 {
            assert!(Instant::now() < deadline, "day {day} did not fire");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        engine.kill().unwrap();
        engine.wait().unwrap();
        once(&home);
    }
    let h = history(&home);
    assert_eq!(h.len(), 5, "one firing per new day: {h:?}");
    assert!(
        h.iter().all(|f| f["state"] == "succeeded"),
        "every firing ran to the end: {h:?}"
    );
    let mut run_ids: Vec<&str> = h.iter().map(|f| f["run_id"].as_str().unwrap()).collect();
    run_ids.sort();
    run_ids.dedup();
    assert_eq!(run_ids.len(), 5, "a run per firing: {h:?}");
    let daily: Vec<Value> = runs(&home)
        .into_iter()
        .filter(|r| r["pipeline_name"] == "daily")
        .collect();
    assert_eq!(daily.len(), 6, "the first run and one per firing, no more");
    assert!(
        daily.iter().all(|r| r["status"] == "succeeded"),
        "{daily:?}"
    );
}

/// Rows of a day whose labels an upstream bug flipped.
fn write_flipped_day(dir: &Path, day: u64) {
    write_day(dir, day);
    let path = dir.join(format!("day-{day:02}.csv"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let (x, y) = line.rsplit_once(',').unwrap();
        out.push_str(&format!("{x},{}\n", 1 - y.parse::<i32>().unwrap()));
    }
    std::fs::write(path, out).unwrap();
}

/// A person promotes churn:1 to production.
fn promote_v1(home: &Path) {
    ok_json(
        home,
        &[
            "models",
            "promote",
            "churn",
            "1",
            "--to",
            "production",
            "--json",
        ],
    );
}

/// The version production holds.
fn production(home: &Path) -> Value {
    ok_json(home, &["models", "show", "churn", "--json"])["aliases"]["production"].clone()
}

/// Champion/challenger: a retrained version is judged against production
/// by the model's gates; passing promotes it, failing leaves production
/// alone; the audit history has each verdict with its numbers.
#[test]
fn a_retrained_challenger_is_promoted_when_it_passes_its_gates_and_only_then() {
    let (_dir, home, days) = two_days_run(
        "[models.churn]\ngates = [\"train.train_accuracy >= production - 0.02\"]\n\
         deploy = \"promote\"\n\n[triggers.fresh]\non_new_data = \"days\"\ndebounce = \"0s\"\n",
    );
    promote_v1(&home);
    let production = || production(&home);

    // A good day: v2 passes its gate and is promoted by the trigger.
    write_day(&days, 3);
    once(&home);
    let h = history(&home);
    let detail = h[0]["detail"].as_str().unwrap();
    assert!(detail.contains("churn:2 passed its gates"), "{h:?}");
    assert_eq!(production(), 2);

    // A day with flipped labels: v3 is worse, fails its gate, and
    // production stays on v2.
    write_flipped_day(&days, 4);
    once(&home);
    let h = history(&home);
    let detail = h[1]["detail"].as_str().unwrap();
    assert!(
        detail.contains("churn:3 failed its gates against production (v2)")
            && detail.contains("train.train_accuracy"),
        "{h:?}"
    );
    assert_eq!(production(), 2);

    let audit = ok_json(&home, &["models", "history", "churn", "--json"]);
    let judged: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "judge")
        .collect();
    assert_eq!(judged.len(), 2, "{audit}");
    assert_eq!(judged[0]["actor"], "trigger");
    assert_eq!(
        (&judged[1]["to_version"], &judged[1]["from_version"]),
        (&serde_json::json!(3), &serde_json::json!(2))
    );
    let verdict: Value = serde_json::from_str(judged[1]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(verdict["passed"], false, "{verdict}");
    assert!(
        judged[1]["reason"]
            .as_str()
            .unwrap()
            .contains("trigger `fresh`"),
        "{audit}"
    );
}

/// A day of rows labelled by `rule` (the sign of `a*x1 + b*x2` plus
/// noise), written to `dir/today.csv` in place of the day before.
fn write_today(dir: &Path, seed: u64, rule: (f64, f64), noise: f64) {
    let mut next = uniform(seed);
    let mut text = String::from("x1,x2,y\n");
    for _ in 0..400 {
        let (x1, x2, e) = (next(), next(), next() * noise);
        let y = i32::from(rule.0 * x1 + rule.1 * x2 + e > 0.0);
        text.push_str(&format!("{x1},{x2},{y}\n"));
    }
    std::fs::write(dir.join("today.csv"), text).unwrap();
}

/// The champion is measured again on the challenger's holdout: after the
/// concept changed, the challenger scores lower on its own (harder)
/// holdout than the champion did on its own, yet beats the champion on
/// the same rows, and is promoted. The champion's number is the one its
/// served predictions give on those rows.
#[test]
fn the_champion_is_judged_on_the_challengers_holdout() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    write_today(dir.path(), 1, (1.0, 0.5), 0.05);
    let p = dir.path().join("daily.toml");
    std::fs::write(
        &p,
        format!(
            "[pipeline]\nname = \"daily\"\nversion = \"1\"\nseed = 1\n\
             plugin_dirs = [{plugins:?}]\n\n\
             [datasets.today]\npath = \"today.csv\"\ntarget = \"y\"\n\
             split = {{ holdout = 0.3, seed = 7 }}\n\n\
             [[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"today\"\n\
             register = \"churn\"\n\n\
             [[steps]]\nid = \"evaluate\"\nplugin = \"holdout-eval\"\ninput = \"today\"\n\
             model = \"train\"\nparams = {{ target = \"y\" }}\n\n\
             [models.churn]\ngates = [\"evaluate.accuracy >= production - 0.02\"]\n\
             deploy = \"promote\"\n\n\
             [triggers.fresh]\non_new_data = \"today\"\ndebounce = \"0s\"\n",
            plugins = plugin_dir().display().to_string(),
        ),
    )
    .unwrap();
    // The summary says which version the run registered.
    let out = succeeded(
        sluice(&home)
            .args(["run", p.to_str().unwrap()])
            .output()
            .unwrap(),
        "run",
    );
    assert!(
        stdout(&out).contains("registered churn:1 from step train"),
        "{}",
        stdout(&out)
    );
    promote_v1(&home);

    // The concept changes and the labels get noisier.
    write_today(dir.path(), 2, (1.0, -1.0), 0.6);
    once(&home);
    let h = history(&home);
    let detail = h[0]["detail"].as_str().unwrap();
    assert!(
        detail
            .contains("churn:2 passed its gates against production (v1, measured on v2's holdout"),
        "{h:?}"
    );
    let show = |v: &str| ok_json(&home, &["models", "show", &format!("churn:{v}"), "--json"]);
    assert_eq!(production(&home), 2);
    // On their own holdouts, v1 looked better by more than the margin:
    // the old comparison would have kept it.
    let own = |v: &str| show(v)["metrics"]["evaluate.accuracy"].as_f64().unwrap();
    let (v1_own, v2_own) = (own("1"), own("2"));
    assert!(v1_own > v2_own + 0.02, "v1 {v1_own}, v2 {v2_own}");

    // The verdict in the audit history carries v1's number on v2's rows.
    let audit = ok_json(&home, &["models", "history", "churn", "--json"]);
    let judged = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "judge")
        .expect("a verdict");
    let verdict: Value = serde_json::from_str(judged["detail"].as_str().unwrap()).unwrap();
    let rescored = &verdict["champion_on_challenger_holdout"];
    assert_eq!(
        (&rescored["champion"], &rescored["challenger"]),
        (&serde_json::json!(1), &serde_json::json!(2)),
        "{verdict}"
    );
    let v1_there = rescored["metrics"]["evaluate.accuracy"].as_f64().unwrap();
    assert!(v1_there < v2_own - 0.02, "v1 on v2's holdout {v1_there}");
    assert!(
        verdict["gates"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("on v2's holdout"),
        "{verdict}"
    );

    // That number is v1's served predictions on v2's holdout rows.
    let holdout = show("2")["data"]["holdout"].as_str().unwrap().to_owned();
    let rows = dir.path().join("holdout.parquet");
    let served = dir.path().join("served.parquet");
    succeeded(
        sluice(&home)
            .args(["artifacts", "get", &holdout, "-o"])
            .arg(&rows)
            .output()
            .unwrap(),
        "artifacts get",
    );
    succeeded(
        sluice(&home)
            .args(["predict", "churn:1", "--input"])
            .arg(&rows)
            .arg("-o")
            .arg(&served)
            .output()
            .unwrap(),
        "predict",
    );
    let labels = sluice::data::read_table(&rows).unwrap();
    let predicted = sluice::data::read_table(&served).unwrap();
    let column = |b: &arrow::record_batch::RecordBatch, name: &str| -> Vec<i64> {
        let c = arrow::compute::cast(
            b.column_by_name(name).expect(name),
            &arrow::datatypes::DataType::Int64,
        )
        .unwrap();
        c.as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap()
            .values()
            .to_vec()
    };
    let (y, p) = (column(&labels, "y"), column(&predicted, "prediction"));
    assert_eq!(y.len(), rescored["rows"].as_u64().unwrap() as usize);
    let right = y.iter().zip(&p).filter(|(a, b)| a == b).count();
    let accuracy = right as f64 / y.len() as f64;
    assert!(
        (accuracy - v1_there).abs() < 1e-12,
        "served {accuracy}, judged {v1_there}"
    );
}
