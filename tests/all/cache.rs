//! The step cache, versioned definitions, `sluice verify` and `sluice
//! resume` (after a failure, and after SIGKILL at many points of a run).

use crate::support::*;
use serde_json::Value;
use sluice::artifacts::{ArtifactDigest, ArtifactStore};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// impute, scale, train, evaluate, explain: every kind of step a model
/// version holds or is measured by.
pub const BODY: &str = r#"
[[steps]]
id = "impute"
plugin = "impute"
input = "cancer"

[[steps]]
id = "scale"
plugin = "standardize"
input = "impute"

[[steps]]
id = "train"
plugin = "logreg"
input = "scale"
params = { c = 1.0 }

[[steps]]
id = "evaluate"
plugin = "holdout-eval"
input = "scale"
model = "train"
params = { target = "benign" }

[[steps]]
id = "explain"
plugin = "permutation-importance"
input = "scale"
model = "train"
params = { n_repeats = 2, seed = 1 }
"#;

fn run(home: &Path, args: &[&str]) -> std::process::Output {
    sluice(home).args(args).output().expect("run sluice")
}

/// Where a test's artifacts live: the home directory, or a fresh prefix
/// in the Garage bucket (`SLUICE_STORE=s3://..`).
pub struct Place {
    env: Vec<(String, String)>,
    s3: Option<ArtifactStore>,
}

impl Place {
    pub fn local() -> Place {
        Place {
            env: Vec::new(),
            s3: None,
        }
    }

    pub fn s3(g: &crate::s3::Garage) -> Place {
        let url = g.fresh_url();
        let mut env = g.env.clone();
        env.push(("SLUICE_STORE".into(), url.clone()));
        Place {
            env,
            s3: Some(g.store(&url)),
        }
    }

    fn sluice(&self, home: &Path) -> Run {
        let mut run = sluice(home);
        for (k, v) in &self.env {
            run.0.env(k, v);
        }
        run
    }

    fn run(&self, home: &Path, args: &[&str]) -> std::process::Output {
        self.sluice(home).args(args).output().expect("run sluice")
    }

    fn ok_json(&self, home: &Path, args: &[&str]) -> Value {
        json(&succeeded(
            self.run(home, args),
            &format!("sluice {args:?}"),
        ))
    }

    fn store(&self, home: &Path) -> ArtifactStore {
        self.s3
            .clone()
            .unwrap_or_else(|| ArtifactStore::local(home).unwrap())
    }
}

/// step id -> (cached, outputs)
fn steps(report: &Value) -> BTreeMap<String, (bool, Value)> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                (s["cached"].as_bool().unwrap(), s["outputs"].clone()),
            )
        })
        .collect()
}

fn outputs(report: &Value) -> BTreeMap<String, Value> {
    steps(report)
        .into_iter()
        .map(|(k, (_, o))| (k, o))
        .collect()
}

fn cached(report: &Value) -> Vec<String> {
    steps(report)
        .into_iter()
        .filter(|(_, (c, _))| *c)
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn an_unchanged_rerun_executes_nothing_and_one_param_reruns_exactly_its_descendants() {
    rerun_and_change_one_param(&Place::local());
}

pub fn rerun_and_change_one_param(place: &Place) {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "cached", BODY);
    let p = p.to_str().unwrap();

    let first = place.ok_json(home.path(), &["run", p, "--json"]);
    assert!(cached(&first).is_empty(), "{first}");
    let again = place.ok_json(home.path(), &["run", p, "--json"]);
    assert_eq!(cached(&again).len(), 6, "every node reused: {again}");
    assert_eq!(outputs(&first), outputs(&again));
    // The record says so too, and names the run the outputs came from.
    let shown = ok_json(
        home.path(),
        &["runs", "show", again["run_id"].as_str().unwrap(), "--json"],
    );
    for s in shown["steps"].as_array().unwrap() {
        assert_eq!(s["cached"], true, "{s}");
        assert_eq!(s["cached_from"], first["run_id"], "{s}");
    }
    // The text report marks them.
    let text = stdout(&succeeded(place.run(home.path(), &["run", p]), "run"));
    assert!(text.contains("cached"), "{text}");
    assert!(text.contains("6 of 6 steps reused"), "{text}");

    // --no-cache executes everything, with the same bytes.
    let fresh = place.ok_json(home.path(), &["run", p, "--no-cache", "--json"]);
    assert!(cached(&fresh).is_empty(), "{fresh}");
    assert_eq!(outputs(&first), outputs(&fresh));

    // One param of `train` changed (as a new version): train and the two
    // steps that use its model run; the dataset, impute and scale do not.
    let text = std::fs::read_to_string(p)
        .unwrap()
        .replace("version = \"1\"", "version = \"2\"")
        .replace("c = 1.0", "c = 0.2");
    let p2 = dir.path().join("cached-v2.toml");
    std::fs::write(&p2, text).unwrap();
    let changed = place.ok_json(home.path(), &["run", p2.to_str().unwrap(), "--json"]);
    assert_eq!(
        cached(&changed),
        ["dataset:cancer", "impute", "scale"],
        "{changed}"
    );
    let (a, b) = (outputs(&first), outputs(&changed));
    assert_eq!(a["scale"], b["scale"]);
    assert_ne!(a["train"]["model"], b["train"]["model"]);
}

#[test]
fn a_hit_whose_artifact_was_deleted_runs_again_instead_of_breaking() {
    lost_artifact_runs_again(&Place::local());
}

pub fn lost_artifact_runs_again(place: &Place) {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "lost", BODY);
    let p = p.to_str().unwrap();
    let first = place.ok_json(home.path(), &["run", p, "--json"]);
    // Delete scale's train output from the store (as an operator or a
    // lifecycle rule might).
    let lost = ArtifactDigest::parse(first_output(&first, "scale", "train")).unwrap();
    let store = place.store(home.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(store.delete(&lost)).unwrap();
    assert!(!rt.block_on(store.exists(&lost)).unwrap());

    let again = place.ok_json(home.path(), &["run", p, "--json"]);
    let c = cached(&again);
    assert!(
        !c.contains(&"scale".to_owned()),
        "scale must run again: {again}"
    );
    assert!(c.contains(&"impute".to_owned()), "{again}");
    assert!(
        rt.block_on(store.exists(&lost)).unwrap(),
        "the re-executed step wrote the artifact back"
    );
    assert_eq!(outputs(&first), outputs(&again));
}

fn first_output<'a>(report: &'a Value, step: &str, name: &str) -> &'a str {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == step)
        .unwrap()["outputs"][name]
        .as_str()
        .unwrap()
}

#[test]
fn the_cache_never_crosses_tenants() {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "shared", BODY);
    let p = p.to_str().unwrap();
    let data = data_dirs(&[]);
    succeeded(
        run(home.path(), &["tenants", "create", "beta", &data]),
        "create",
    );
    let a = ok_json(home.path(), &["run", p, "--json"]);
    let b = ok_json(home.path(), &["--tenant", "beta", "run", p, "--json"]);
    assert!(cached(&b).is_empty(), "beta reused default's steps: {b}");
    assert_eq!(outputs(&a), outputs(&b));
    let b2 = ok_json(home.path(), &["--tenant", "beta", "run", p, "--json"]);
    assert_eq!(cached(&b2).len(), 6);
}

#[test]
fn a_changed_definition_under_a_recorded_version_is_refused() {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "versioned", BODY);
    ok_json(home.path(), &["run", p.to_str().unwrap(), "--json"]);
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("c = 1.0", "c = 0.3");
    std::fs::write(&p, text).unwrap();
    let out = run(home.path(), &["run", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("pipeline 'versioned' version 1 was already run")
            && err.contains("new `version`"),
        "{err}"
    );
    let runs = ok_json(home.path(), &["runs", "list", "--json"]);
    assert_eq!(runs.as_array().unwrap().len(), 1, "nothing recorded");
    let forced = ok_json(
        home.path(),
        &[
            "run",
            p.to_str().unwrap(),
            "--allow-changed-version",
            "--json",
        ],
    );
    assert_eq!(forced["status"], "succeeded");
    let versions = ok_json(home.path(), &["pipelines", "show", "versioned", "--json"]);
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        2,
        "{versions}"
    );
}

/// Two processes running two definitions under one version at once: the
/// check and the run's record are one statement, so exactly one runs (both
/// did, before, when both checked before either recorded its run).
#[test]
fn concurrent_runs_of_two_definitions_under_one_version_run_only_one() {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let defs: Vec<String> = ["1.0", "0.3"]
        .iter()
        .map(|c| {
            let sub = dir.path().join(format!("c{c}"));
            std::fs::create_dir(&sub).unwrap();
            let p = write_pipeline(&sub, "raced", BODY);
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replace("c = 1.0", &format!("c = {c}"));
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        })
        .collect();
    let outs: Vec<std::process::Output> = std::thread::scope(|s| {
        let running: Vec<_> = defs
            .iter()
            .map(|p| {
                s.spawn(|| {
                    // Both pass the early check before either records.
                    sluice(home.path())
                        .env("SLUICE_PAUSE_AT", "definition-checked:1500")
                        .args(["run", p])
                        .output()
                        .unwrap()
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let ran = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(ran, 1, "exactly one runs");
    let refused = outs.iter().find(|o| !o.status.success()).unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(refused));
    assert!(
        stderr(refused).contains("pipeline 'raced' version 1 was already run"),
        "{}",
        stderr(refused)
    );
    let runs = ok_json(home.path(), &["runs", "list", "--json"]);
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
}

/// `resume` of a run another process is still running is refused, and the
/// run goes on undisturbed (both failed with a UNIQUE error before).
#[test]
fn resuming_a_run_still_running_elsewhere_is_refused() {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "alive", BODY);
    let child = sluice(home.path())
        .env("SLUICE_PAUSE_AT", "storage-admitted:2500")
        .args(["run", p.to_str().unwrap(), "--json"])
        .0
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let runs = ok_json(home.path(), &["runs", "list", "--json"]);
        if let Some(id) = runs[0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = run(home.path(), &["resume", &id]);
    let first = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("still running in another process"),
        "{}",
        stderr(&out)
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["run_id"], id.as_str());
    assert_eq!(report["status"], "succeeded");
}

#[test]
fn verify_reproduces_a_run_and_reports_a_difference_per_step() {
    verify_and_tamper(&Place::local());
}

pub fn verify_and_tamper(place: &Place) {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "verified", BODY);
    let first = place.ok_json(home.path(), &["run", p.to_str().unwrap(), "--json"]);
    let id = first["run_id"].as_str().unwrap();
    // Cached or not, verify executes every step.
    place.ok_json(home.path(), &["run", p.to_str().unwrap(), "--json"]);
    let v = place.ok_json(home.path(), &["verify", id, "--json"]);
    assert_eq!(v["reproduced"], true, "{v}");
    let rows = v["outputs"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "every output of every step: {v}");
    assert!(rows.iter().all(|r| r["same"] == true));
    let again = ok_json(
        home.path(),
        &[
            "runs",
            "show",
            v["verification_run"].as_str().unwrap(),
            "--json",
        ],
    );
    assert!(
        again["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["cached"] == false),
        "verify used the cache: {again}"
    );

    // A recorded digest that the plugin does not produce: verify fails and
    // names the step and the output.
    let db = home.path().join("sluice.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .connect()
            .await
            .unwrap();
        sqlx::query(
            "UPDATE step_io SET digest = ? WHERE run_id = ? AND step_id = 'train' \
             AND direction = 'out' AND name = 'model'",
        )
        .bind("ab".repeat(32))
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    });
    let out = place.run(home.path(), &["verify", id]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("DIFFERENT"))
        .unwrap_or_else(|| panic!("no difference reported:\n{text}"));
    assert!(line.contains("train") && line.contains("model"), "{line}");
    assert!(text.contains("NOT reproduced: 1 of 12"), "{text}");
}

#[test]
fn a_failed_run_resumes_from_its_completed_steps() {
    let home = home_with_shared_cache();
    succeeded(
        run(
            home.path(),
            &[
                "tenants",
                "create",
                "tiny",
                "storage_mib=1",
                &data_dirs(&[]),
            ],
        ),
        "create",
    );
    let dir = tempfile::tempdir().unwrap();
    // Six standardize steps of about 250 KB each cannot fit in 1 MiB.
    let mut body = String::new();
    let mut input = "cancer".to_string();
    for i in 0..6 {
        body.push_str(&format!(
            "[[steps]]\nid = \"s{i}\"\nplugin = \"standardize\"\ninput = \"{input}\"\n\n"
        ));
        input = format!("s{i}");
    }
    let p = write_pipeline(dir.path(), "chain", &body);
    let p = p.to_str().unwrap();
    let out = run(home.path(), &["--tenant", "tiny", "run", p, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let failed = json(&out);
    let id = failed["run_id"].as_str().unwrap().to_owned();
    let done_before: Vec<String> = failed["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "succeeded")
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(done_before.len() >= 2 && done_before.len() < 7, "{failed}");

    succeeded(
        run(home.path(), &["tenants", "set", "tiny", "storage_mib=100"]),
        "set",
    );
    let resumed = ok_json(home.path(), &["--tenant", "tiny", "resume", &id, "--json"]);
    assert_eq!(resumed["run_id"], id.as_str());
    assert_eq!(resumed["status"], "succeeded");
    for s in resumed["steps"].as_array().unwrap() {
        let was_done = done_before.contains(&s["id"].as_str().unwrap().to_owned());
        assert_eq!(s["cached"], was_done, "{s}");
    }
    // The same outputs as a run that never failed.
    let clean_home = home_with_shared_cache();
    let clean = ok_json(clean_home.path(), &["run", p, "--json"]);
    assert_eq!(outputs(&resumed), outputs(&clean));
    let shown = ok_json(
        home.path(),
        &["--tenant", "tiny", "runs", "show", &id, "--json"],
    );
    assert_eq!(shown["status"], "succeeded");
    assert_eq!(shown["steps"].as_array().unwrap().len(), 7);

    // Nothing left to resume; another tenant cannot resume it at all.
    let out = run(home.path(), &["--tenant", "tiny", "resume", &id]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nothing to resume"),
        "{}",
        stderr(&out)
    );
    let out = run(home.path(), &["resume", &id]);
    assert_eq!(out.status.code(), Some(2));
}

/// Every stored object re-hashes to its key (`get` checks the digest),
/// and every output a record claims exists.
fn check_store(place: &Place, home: &Path) {
    let store = place.store(home);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stored = store.list().await.unwrap();
        assert!(!stored.is_empty());
        for d in &stored {
            store
                .get(d)
                .await
                .unwrap_or_else(|e| panic!("object {d}: {e}"));
        }
        let meta = sluice::meta::MetaStore::open_path(&home.join("sluice.db"))
            .await
            .unwrap();
        for r in meta.list_runs(-1).await.unwrap() {
            let r = meta.get_run(&r.id).await.unwrap();
            for s in &r.steps {
                for (name, d) in &s.outputs {
                    assert!(
                        store.exists(d).await.unwrap(),
                        "run {} step {} claims output {name} = {d}, which is not stored",
                        r.id,
                        s.step_id
                    );
                }
            }
        }
    });
}

#[test]
fn sigkill_at_twenty_points_then_resume_gives_the_same_outputs() {
    kill_and_resume(&Place::local());
}

pub fn kill_and_resume(place: &Place) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "killed", BODY);
    let p = p.to_str().unwrap().to_owned();
    // The reference run, then one timed in a fresh home: the first may
    // compile the plugins, which the killed runs only load, so the kills
    // would come after most runs had finished.
    let reference = place.ok_json(home_with_shared_cache().path(), &["run", &p, "--json"]);
    let started = Instant::now();
    place.ok_json(home_with_shared_cache().path(), &["run", &p, "--json"]);
    let took = started.elapsed().max(Duration::from_millis(200));
    let want = outputs(&reference);

    // Kill points spread over a window that follows what the kills find:
    // a kill before the run was recorded moves its start later, one after
    // the run had finished moves its end earlier. Under a loaded machine
    // the timed run says little about the killed ones, so a fixed spread
    // could land every kill before or after the part worth testing.
    let points = 20;
    let most = 40;
    let (mut lo, mut hi) = (Duration::ZERO, took);
    let mut resumed_runs = 0;
    for i in 0..most {
        if i >= points && resumed_runs >= 3 {
            break;
        }
        // Scattered through the window rather than swept along it.
        let f = ((i * 7) % points) as f64 / points as f64 + 0.5 / points as f64;
        let delay = lo + (hi - lo).mul_f64(f);
        let home = home_with_shared_cache();
        let mut child = place
            .sluice(home.path())
            .args(["run", &p, "--json"])
            .0
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let runs = place.ok_json(home.path(), &["runs", "list", "--json"]);
        let report = match runs.as_array().unwrap().first() {
            Some(r) if r["status"] == "succeeded" => {
                hi = hi.min(delay);
                ok_json(
                    home.path(),
                    &["runs", "show", r["id"].as_str().unwrap(), "--json"],
                )
            }
            Some(r) => {
                resumed_runs += 1;
                let id = r["id"].as_str().unwrap();
                let report = place.ok_json(home.path(), &["resume", id, "--json"]);
                assert_eq!(report["run_id"], id);
                place.ok_json(home.path(), &["runs", "show", id, "--json"])
            }
            // Killed before the run was recorded: run it.
            None => {
                lo = lo.max(delay);
                let r = place.ok_json(home.path(), &["run", &p, "--json"]);
                ok_json(
                    home.path(),
                    &["runs", "show", r["run_id"].as_str().unwrap(), "--json"],
                )
            }
        };
        assert_eq!(report["status"], "succeeded", "point {i}: {report}");
        let got: BTreeMap<String, Value> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["step_id"].as_str().unwrap().to_owned(),
                    s["outputs"].clone(),
                )
            })
            .collect();
        assert_eq!(got, want, "point {i} (killed after {delay:?})");
        check_store(place, home.path());
        // A window closed by noise opens again around where it closed.
        if hi <= lo + Duration::from_millis(20) {
            lo = lo.saturating_sub(took / 8);
            hi = lo + took / 4;
        }
    }
    assert!(
        resumed_runs >= 3,
        "only {resumed_runs} of {most} kills interrupted a recorded run"
    );
}

#[test]
fn every_shipped_pipeline_verifies_clean() {
    // The Python and JavaScript plugins compile once into the shared cache.
    warm_cache(&[
        "py-null-check",
        "py-clip",
        "py-naive-bayes",
        "js-range-check",
        "js-log-transform",
        "c-robust-scale",
    ]);
    let home = home_with_shared_cache();
    for pipeline in [
        "breast-cancer",
        "diabetes",
        "wine",
        "mixed-languages",
        "tuning",
    ] {
        let file = format!("pipelines/{pipeline}.toml");
        let first = ok_json(home.path(), &["run", &file, "--json"]);
        let id = first["run_id"].as_str().unwrap();
        let v = ok_json(home.path(), &["verify", id, "--json"]);
        assert_eq!(v["reproduced"], true, "{pipeline}: {v}");
        let steps = first["steps"].as_array().unwrap().len();
        let checked: std::collections::BTreeSet<_> = v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["step"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(checked.len(), steps, "{pipeline}: every step compared: {v}");
    }
}
