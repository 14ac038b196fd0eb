//! Tenants: isolation of runs and artifacts, caps that bound a pipeline's
//! limits and storage, and concurrent steps within and across tenants.

use crate::support::*;
use sluice::artifacts::ArtifactStore;
use sluice::meta::{MetaStore, RunStatus};
use sluice::pipeline::executor::{
    Executor, RunObserver, RunReport, Scheduler, StepKind, StepReport,
};
use sluice::pipeline::{PlanOptions, load_plan};
use sluice::tenants::{Admin, DEFAULT_TENANT, TenantCaps};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "sluice failed:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Default caps, with the repository's datasets allowed.
fn reading_data() -> TenantCaps {
    TenantCaps {
        allowed_dirs: vec![root().join("pipelines/data").canonicalize().unwrap()],
        ..TenantCaps::default()
    }
}

/// The home's owner: the authority these tests create tenants with.
fn owner() -> Admin {
    Admin::home_owner(DEFAULT_TENANT).unwrap()
}

/// A fresh home with these tenants, created by its owner.
fn home_with_tenants(names: &[&str]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    for t in names {
        ok(&sluice(home.path())
            .args(["tenants", "create", t, &data_dirs(&[])])
            .output()
            .unwrap());
    }
    home
}

fn run_as(home: &Path, tenant: &str, pipeline: &str) -> std::process::Output {
    let _ = plugin_dir();
    sluice(home)
        .args(["--tenant", tenant, "run", pipeline, "--json"])
        .output()
        .expect("run sluice")
}

/// Every step's outputs, by step id.
fn outputs(report: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["outputs"].clone()))
        .collect()
}

#[test]
fn tenants_are_created_listed_shown_and_capped() {
    let home = tempfile::tempdir().unwrap();
    let out = sluice(home.path())
        .args([
            "tenants",
            "create",
            "acme",
            "memory_mib=256",
            "concurrency=2",
            "--json",
        ])
        .output()
        .unwrap();
    ok(&out);
    let t = json(&out);
    assert_eq!(t["name"], "acme");
    assert_eq!(t["caps"]["memory_mib"], 256);
    assert_eq!(t["caps"]["concurrency"], 2);
    assert_eq!(t["caps"]["storage_mib"], 10240, "defaults for the rest");

    let again = sluice(home.path())
        .args(["tenants", "create", "acme"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    let out = sluice(home.path())
        .args(["tenants", "set", "acme", "storage_mib=64", "fuel=1000000"])
        .output()
        .unwrap();
    ok(&out);
    let out = sluice(home.path())
        .args(["tenants", "show", "acme", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let shown = json(&out);
    assert_eq!(shown["caps"]["storage_mib"], 64);
    assert_eq!(shown["caps"]["fuel"], 1_000_000);
    assert_eq!(shown["caps"]["memory_mib"], 256, "set keeps other caps");
    assert_eq!(shown["runs"], 0);

    let out = sluice(home.path())
        .args(["tenants", "list", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let names: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["acme", "default"]);

    for (args, needle) in [
        (vec!["tenants", "set", "acme", "cpu=2"], "unknown cap `cpu`"),
        (
            vec!["tenants", "set", "acme", "concurrency"],
            "is not CAP=VALUE",
        ),
        (
            vec!["tenants", "set", "acme", "memory_mib=lots"],
            "whole number",
        ),
        (
            vec!["tenants", "show", "nobody"],
            "no tenant named `nobody`",
        ),
        (vec!["tenants", "create", "Bad/Name"], "invalid tenant name"),
    ] {
        let out = sluice(home.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

/// Issue 18, point 9: `--tenant` is a claim, not a proof, so acting as a
/// tenant does not let one create tenants or change caps (its own or
/// another's); the home's owner, acting as the default tenant, does.
#[test]
fn creating_tenants_and_changing_caps_is_an_admin_operation() {
    let home = home_with_tenants(&["alpha", "beta"]);
    for (env, args) in [
        (None, ["set", "beta", "allowed_dirs=/"].as_slice()),
        (None, &["set", "alpha", "allowed_dirs=/"]),
        (None, &["set", "default", "memory_mib=4096"]),
        (None, &["create", "gamma"]),
        // SLUICE_TENANT is the same claim.
        (Some("alpha"), &["set", "beta", "allowed_dirs=/"]),
    ] {
        let mut cmd = sluice(home.path());
        cmd = match env {
            Some(t) => cmd.env("SLUICE_TENANT", t),
            None => cmd.args(["--tenant", "alpha"]),
        };
        let out = cmd.arg("tenants").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("is an admin operation"), "{args:?}: {err}");
        assert!(err.contains("`--tenant alpha`"), "{args:?}: {err}");
        assert!(
            err.contains("without --tenant or SLUICE_TENANT"),
            "{args:?}: {err}"
        );
    }

    let out = sluice(home.path())
        .args(["tenants", "list", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let all = json(&out);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta", "default"], "gamma was not created");
    let data = root().join("pipelines/data").canonicalize().unwrap();
    for t in all.as_array().unwrap() {
        // What the owner set at creation, and nothing the claims asked for.
        let dirs = match t["name"].as_str() {
            Some("default") => serde_json::json!([]),
            _ => serde_json::json!([data]),
        };
        assert_eq!(t["caps"]["allowed_dirs"], dirs, "{t}");
        assert_eq!(t["caps"]["memory_mib"], 2048, "{t}");
    }
    // The owner may.
    ok(&sluice(home.path())
        .args(["tenants", "set", "beta", "memory_mib=512"])
        .output()
        .unwrap());
    // And `--help` says who owns a local home.
    let out = sluice(home.path())
        .args(["tenants", "--help"])
        .output()
        .unwrap();
    ok(&out);
    assert!(stdout(&out).contains("admin operation"), "{}", stdout(&out));
}

#[test]
fn a_tenant_sees_only_its_own_runs_and_artifacts() {
    let home = home_with_tenants(&["alpha", "beta"]);
    let out = run_as(home.path(), "alpha", "pipelines/breast-cancer.toml");
    ok(&out);
    let report = json(&out);
    assert_eq!(report["tenant"], "alpha");
    let run_id = report["run_id"].as_str().unwrap().to_string();
    let model = outputs(&report)["train"]["model"]
        .as_str()
        .unwrap()
        .to_string();

    // alpha's objects are under its own prefix; the default tenant's root
    // holds none of them.
    let hex = model.trim_start_matches("sha256:");
    let mine = home
        .path()
        .join("artifacts/tenants/alpha/sha256")
        .join(&hex[..2])
        .join(hex);
    assert!(mine.is_file(), "{} missing", mine.display());
    assert!(
        !home
            .path()
            .join("artifacts/sha256")
            .join(&hex[..2])
            .join(hex)
            .exists(),
        "alpha's model leaked into the default tenant's prefix"
    );

    // alpha sees its run and reads its artifact.
    let out = sluice(home.path())
        .args(["--tenant", "alpha", "runs", "list", "--json"])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    let got = home.path().join("model.bin");
    ok(&sluice(home.path())
        .args(["--tenant", "alpha", "artifacts", "get", &model, "-o"])
        .arg(&got)
        .output()
        .unwrap());

    // beta and default see nothing of it.
    for other in ["beta", "default"] {
        let as_other = |args: &[&str]| {
            sluice(home.path())
                .args(["--tenant", other])
                .args(args)
                .output()
                .unwrap()
        };
        for listing in [["runs", "list", "--json"], ["models", "list", "--json"]] {
            let out = as_other(&listing);
            ok(&out);
            assert_eq!(json(&out), serde_json::json!([]), "{other}: {listing:?}");
        }
        for (args, needle) in [
            (vec!["runs", "show", &run_id], "no run with id"),
            (
                vec!["artifacts", "get", &model, "-o", "-"],
                "is not in the artifact store",
            ),
            (
                vec!["models", "show", "breast-cancer-logreg"],
                "breast-cancer-logreg",
            ),
        ] {
            let out = as_other(&args);
            assert_eq!(out.status.code(), Some(2), "{other}: {args:?}");
            assert!(out.stdout.is_empty(), "{other}: {args:?}");
            assert!(stderr(&out).contains(needle), "{other}: {}", stderr(&out));
        }
    }
    // alpha's registry has the version its run registered.
    let out = sluice(home.path())
        .args(["--tenant", "alpha", "models", "list", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let models = json(&out);
    assert_eq!(models[0]["name"], "breast-cancer-logreg", "{models}");
    assert_eq!(models[0]["latest"], 1, "{models}");
    // beta registers its own version 1 of the same name.
    let out = run_as(home.path(), "beta", "pipelines/breast-cancer.toml");
    ok(&out);
    assert_eq!(json(&out)["registered"][0]["version"], 1);

    // An unknown tenant is an error, not an empty view.
    let out = run_as(home.path(), "gamma", "pipelines/breast-cancer.toml");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no tenant named `gamma`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pipeline_asking_above_a_cap_is_refused_before_it_runs() {
    let home = tempfile::tempdir().unwrap();
    ok(&sluice(home.path())
        .args([
            "tenants",
            "create",
            "small",
            "memory_mib=128",
            "timeout_ms=10000",
            &data_dirs(&[]),
        ])
        .output()
        .unwrap());
    // The example's trainer asks for 256 MiB and 30 s explicitly.
    let out = run_as(home.path(), "small", "pipelines/breast-cancer.toml");
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("tenant 'small'"), "{err}");
    assert!(
        err.contains(
            "step 'train': limits.memory_mib = 256 is above tenant 'small''s cap memory_mib = 128"
        ),
        "{err}"
    );
    assert!(
        err.contains("step 'train': limits.timeout_ms = 30000 is above"),
        "{err}"
    );
    let out = sluice(home.path())
        .args(["--tenant", "small", "runs", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out), serde_json::json!([]), "nothing was recorded");
    assert!(!home.path().join("artifacts/tenants/small").exists());

    // Defaults above a cap are lowered, not refused: a pipeline that sets
    // no limits runs under the same tenant.
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "defaults",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    let out = run_as(home.path(), "small", p.to_str().unwrap());
    ok(&out);
}

#[test]
fn the_storage_cap_fails_the_step_that_would_exceed_it_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    ok(&sluice(home.path())
        .args([
            "tenants",
            "create",
            "tiny",
            "storage_mib=1",
            &data_dirs(&[]),
        ])
        .output()
        .unwrap());
    let dir = tempfile::tempdir().unwrap();
    // Each standardize step writes about 250 KB (state + train + holdout);
    // six of them cannot fit in 1 MiB.
    let mut body = String::new();
    let mut input = "cancer".to_string();
    for i in 0..6 {
        body.push_str(&format!(
            "[[steps]]\nid = \"s{i}\"\nplugin = \"standardize\"\ninput = \"{input}\"\n\n"
        ));
        input = format!("s{i}");
    }
    let p = write_pipeline(dir.path(), "big", &body);
    let out = run_as(home.path(), "tiny", p.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let err = report["error"].as_str().unwrap();
    assert!(
        err.contains("tenant 'tiny' would exceed its storage cap of 1 MiB"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    let out = sluice(home.path())
        .args(["tenants", "show", "tiny", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let used = json(&out)["stored_bytes"].as_i64().unwrap();
    assert!(used > 0 && used <= 1024 * 1024, "stored {used} bytes");
    // What is stored on disk is what is counted.
    let mut on_disk = 0u64;
    let mut stack = vec![home.path().join("artifacts/tenants/tiny")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                on_disk += e.metadata().unwrap().len();
            }
        }
    }
    assert_eq!(on_disk, used as u64);
}

/// A tenant `tiny` of `storage_mib=1` in `home`, and `n` pipelines in `dir`
/// that each write about 400 KB (their dataset, then standardize's state,
/// train and holdout), different from the others' (another split seed):
/// at most two fit in 1 MiB.
fn tiny_tenant_and_pipelines(home: &Path, dir: &Path, n: usize) -> Vec<String> {
    ok(&sluice(home)
        .args([
            "tenants",
            "create",
            "tiny",
            "storage_mib=1",
            &data_dirs(&[]),
        ])
        .output()
        .unwrap());
    (0..n)
        .map(|i| {
            let p = write_pipeline(
                dir,
                &format!("p{i}"),
                "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
            );
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replace("seed = 7", &format!("seed = {}", 100 + i));
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        })
        .collect()
}

/// The cap holds across processes: the storage a tenant's runs take is
/// reserved in the metadata store before it is written, so concurrent
/// processes see each other's writes in flight (four processes each
/// admitted 40 MiB under a 64 MiB cap before).
#[test]
fn the_storage_cap_holds_across_concurrent_processes() {
    let (home, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pipelines = tiny_tenant_and_pipelines(home.path(), dir.path(), 4);
    let outs: Vec<std::process::Output> = std::thread::scope(|s| {
        let running: Vec<_> = pipelines
            .iter()
            .map(|p| {
                s.spawn(|| {
                    // Each holds its first admitted output unwritten for a
                    // while, so all four are admitted before any is recorded.
                    sluice(home.path())
                        .env("SLUICE_PAUSE_AT", "storage-admitted:1500")
                        .args(["--tenant", "tiny", "run", p, "--json"])
                        .output()
                        .unwrap()
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let refused = outs
        .iter()
        .filter(|o| stdout(o).contains("would exceed its storage cap"))
        .count();
    let succeeded = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        refused + succeeded,
        4,
        "every run either fits or is refused"
    );
    assert!(refused >= 2, "{refused} of 4 runs refused");
    let shown = ok_json(home.path(), &["tenants", "show", "tiny", "--json"]);
    let used = shown["stored_bytes"].as_i64().unwrap();
    assert!(used <= 1024 * 1024, "stored {used} bytes under a 1 MiB cap");
}

/// Storage reserved by a process that was killed is released when the room
/// is needed (its lease lock died with it), so the cap is not eaten by the
/// dead.
#[test]
fn storage_reserved_by_a_killed_process_is_released() {
    let (home, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pipelines = tiny_tenant_and_pipelines(home.path(), dir.path(), 3);
    // Reserves all its outputs, holds them unwritten, and is killed.
    let mut held = sluice(home.path())
        .env("SLUICE_PAUSE_AT", "storage-admitted:60000")
        .args(["--tenant", "tiny", "run", &pipelines[0]])
        .0
        .spawn()
        .unwrap();
    let leases = home.path().join("sluice.db.leases");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_dir(&leases).is_ok_and(|d| {
        d.flatten()
            .any(|e| !e.file_name().to_string_lossy().starts_with("run-"))
    }) {
        assert!(std::time::Instant::now() < deadline, "nothing was reserved");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    held.kill().unwrap();
    held.wait().unwrap();
    // The two other runs fit in 1 MiB only if the dead one's room is free.
    for p in &pipelines[1..] {
        ok(&run_as(home.path(), "tiny", p));
    }
}

/// Counts steps in flight.
#[derive(Default)]
struct Flight {
    now: Mutex<(usize, usize)>,
}

impl RunObserver for Flight {
    fn step_started(&self, _id: &str, _kind: StepKind, _plugin: &str) {
        let mut g = self.now.lock().unwrap();
        g.0 += 1;
        g.1 = g.1.max(g.0);
    }
    fn step_finished(&self, _step: &StepReport) {
        self.now.lock().unwrap().0 -= 1;
    }
}

impl Flight {
    fn peak(&self) -> usize {
        self.now.lock().unwrap().1
    }
}

/// Four independent trainers on one dataset.
const BRANCHES: &str = "[[steps]]\nid = \"a\"\nplugin = \"gbt\"\ninput = \"cancer\"\nparams = { max_iter = 30 }\n\n[[steps]]\nid = \"b\"\nplugin = \"gbt\"\ninput = \"cancer\"\nparams = { max_iter = 31 }\n\n[[steps]]\nid = \"c\"\nplugin = \"decision-tree\"\ninput = \"cancer\"\n\n[[steps]]\nid = \"d\"\nplugin = \"knn\"\ninput = \"cancer\"\n";

async fn executor(home: &Path, max_steps: usize) -> Executor {
    let meta = MetaStore::open_path(&home.join("sluice.db")).await.unwrap();
    Executor::builder(runtime_in(home), ArtifactStore::local(home).unwrap(), meta)
        .scheduler(Scheduler::new(max_steps))
        .build()
}

fn digests(r: &RunReport) -> BTreeMap<String, BTreeMap<String, String>> {
    r.steps
        .iter()
        .map(|s| (s.id.clone(), s.outputs.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn independent_branches_run_at_once_within_the_tenant_cap() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "branches", BRANCHES);
    let exec = executor(home.path(), 8).await;
    let runtime = exec.runtime().clone();
    let plan =
        tokio::task::spawn_blocking(move || load_plan(&p, &runtime, &PlanOptions::default()))
            .await
            .unwrap()
            .unwrap();
    let mut reports = Vec::new();
    for (name, concurrency) in [("one", 1), ("three", 3)] {
        let caps = TenantCaps {
            concurrency,
            ..reading_data()
        };
        let tenant = exec
            .meta()
            .create_tenant(&owner(), name, &caps)
            .await
            .unwrap();
        let flight = Flight::default();
        let report = exec.run_as(&tenant, &plan, &flight).await.unwrap();
        assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
        assert_eq!(
            flight.peak(),
            concurrency as usize,
            "tenant '{name}' with concurrency {concurrency}"
        );
        reports.push(report);
    }
    // Order of completion does not change a byte or the recorded order.
    assert_eq!(digests(&reports[0]), digests(&reports[1]));
    let ids: Vec<&str> = reports[1].steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["dataset:cancer", "a", "b", "c", "d"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_of_two_tenants_side_by_side_match_their_runs_alone() {
    let home = tempfile::tempdir().unwrap();
    let exec = executor(home.path(), 4).await;
    let runtime = exec.runtime().clone();
    let example = root().join("pipelines/breast-cancer.toml");
    let _ = plugin_dir();
    let plan =
        tokio::task::spawn_blocking(move || load_plan(&example, &runtime, &PlanOptions::default()))
            .await
            .unwrap()
            .unwrap();
    let a = exec
        .meta()
        .create_tenant(&owner(), "a", &reading_data())
        .await
        .unwrap();
    let b = exec
        .meta()
        .create_tenant(&owner(), "b", &reading_data())
        .await
        .unwrap();
    let alone = exec.run_as(&a, &plan, &Flight::default()).await.unwrap();
    assert_eq!(alone.status, RunStatus::Succeeded, "{:?}", alone.error);
    let (fa, fb) = (Flight::default(), Flight::default());
    let (ra, rb) = tokio::join!(exec.run_as(&a, &plan, &fa), exec.run_as(&b, &plan, &fb));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.status, RunStatus::Succeeded, "{:?}", ra.error);
    assert_eq!(rb.status, RunStatus::Succeeded, "{:?}", rb.error);
    assert_eq!(digests(&alone), digests(&ra));
    assert_eq!(digests(&alone), digests(&rb));
    assert_eq!(rb.tenant, "b");
    // Each tenant's runs, and only those, are visible to it.
    let runs_a = exec.meta().list_runs_in(Some("a"), -1).await.unwrap();
    let runs_b = exec.meta().list_runs_in(Some("b"), -1).await.unwrap();
    assert_eq!((runs_a.len(), runs_b.len()), (2, 1));
    assert!(exec.meta().get_run_in(Some("a"), &rb.run_id).await.is_err());
}

/// What happened when, over the runs of several tenants.
#[derive(Default)]
struct Timeline {
    events: Mutex<Vec<String>>,
    spinning: tokio::sync::Notify,
}

/// One run's view of the timeline: its events are prefixed with its tenant.
struct RunEvents<'a> {
    tenant: &'static str,
    timeline: &'a Timeline,
}

impl RunObserver for RunEvents<'_> {
    fn step_started(&self, id: &str, _kind: StepKind, _plugin: &str) {
        if id == "spin" {
            self.timeline.spinning.notify_one();
        }
    }
    fn step_finished(&self, step: &StepReport) {
        let event = format!("{} {} {}", self.tenant, step.id, step.status);
        self.timeline.events.lock().unwrap().push(event);
    }
}

/// A step spinning in an endless loop holds no thread: with one executor
/// thread and one blocking thread in the whole process (where a step that
/// held a thread until its time limit would hold up everything), another
/// tenant's short run, started while the loop spins, finishes before the
/// loop is stopped at its limit.
#[test]
fn an_endless_step_does_not_hold_up_another_tenants_run() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spin = write_pipeline(
        dir.path(),
        "spin",
        &format!(
            "[[steps]]\nid = \"spin\"\nplugin = {:?}\ninput = \"cancer\"\nparams = {{ attack = \"loop\" }}\nlimits = {{ timeout_ms = 2000 }}\n",
            plugin("hostile").display().to_string()
        ),
    );
    let quick = write_pipeline(
        dir.path(),
        "quick",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    let tokio = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let exec = tokio.block_on(executor(home.path(), 2));
    let plan = |p: &Path| load_plan(p, exec.runtime(), &PlanOptions::default()).unwrap();
    let (spin, quick) = (plan(&spin), plan(&quick));
    let timeline = Timeline::default();
    let (spun, quick) = tokio.block_on(async {
        let caps = reading_data();
        let a = exec
            .meta()
            .create_tenant(&owner(), "a", &caps)
            .await
            .unwrap();
        let b = exec
            .meta()
            .create_tenant(&owner(), "b", &caps)
            .await
            .unwrap();
        let spin_events = RunEvents {
            tenant: "a",
            timeline: &timeline,
        };
        let quick_events = RunEvents {
            tenant: "b",
            timeline: &timeline,
        };
        tokio::join!(exec.run_as(&a, &spin, &spin_events), async {
            timeline.spinning.notified().await;
            exec.run_as(&b, &quick, &quick_events).await
        })
    });
    let (spun, quick) = (spun.unwrap(), quick.unwrap());
    assert_eq!(quick.status, RunStatus::Succeeded, "{:?}", quick.error);
    assert_eq!(spun.status, RunStatus::Failed);
    let stopped = spun.steps.iter().find(|s| s.id == "spin").unwrap();
    let error = stopped.error.as_deref().unwrap_or_default();
    assert!(error.contains("time limit of 2000 ms"), "{error}");
    assert!(stopped.duration_ms >= 2000, "{}", stopped.duration_ms);
    let events = timeline.events.into_inner().unwrap();
    let at = |event: &str| {
        events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("no '{event}' in {events:?}"))
    };
    assert!(
        at("b scale succeeded") < at("a spin failed"),
        "the quick run waited for the loop: {events:?}"
    );
}

/// A tenant sees its own caps and usage, not the other tenants': `tenants
/// list` shows it alone and `tenants show OTHER` reads as "no tenant";
/// the home's owner sees them all.
#[test]
fn a_tenant_lists_and_shows_only_itself() {
    let home = home_with_tenants(&["alpha", "beta"]);
    let as_alpha = |args: &[&str]| {
        sluice(home.path())
            .args(["--tenant", "alpha", "tenants"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = as_alpha(&["list", "--json"]);
    ok(&out);
    let names: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alpha"]);
    ok(&as_alpha(&["show", "alpha", "--json"]));
    let other = as_alpha(&["show", "beta"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(other.stdout.is_empty());
    assert!(
        stderr(&other).contains("no tenant named `beta`"),
        "{}",
        stderr(&other)
    );
    let out = sluice(home.path())
        .args(["tenants", "list", "--json"])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(
        json(&out).as_array().unwrap().len(),
        3,
        "the owner sees all"
    );
}

/// Issue 18, point 13: a dataset file larger than the tenant's
/// `dataset_mib` is refused before anything runs (a dataset is read
/// whole), naming the file, its size and the cap.
#[test]
fn a_dataset_over_the_tenants_dataset_mib_is_refused_before_it_runs() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    ok(&sluice(home.path())
        .args(["tenants", "create", "small", "dataset_mib=1"])
        .arg(data_dirs(&[dir.path()]))
        .output()
        .unwrap());
    // The example's data repeated past 1 MiB: a valid CSV of 2 MiB or so.
    let big = cancer_repeated(2 << 20);
    let data = dir.path().join("big.csv");
    std::fs::write(&data, &big).unwrap();
    let p = pipeline_reading(dir.path(), "big", &data);
    let out = run_as(home.path(), "small", p.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{} is {} bytes", data.display(), big.len())),
        "{err}"
    );
    assert!(
        err.contains("over tenant 'small''s cap dataset_mib = 1"),
        "{err}"
    );
    let runs = sluice(home.path())
        .args(["--tenant", "small", "runs", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&runs), serde_json::json!([]), "nothing was recorded");
}

/// Issue 18, point 5: a tenant's compile caps refuse a plugin while its
/// pipeline is planned, before anything runs, naming the step, the plugin
/// file and the cap; the tenant's next pipeline runs.
#[test]
fn a_plugin_over_the_tenants_compile_caps_is_refused_at_planning() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 1.5 MiB of straight-line code: within the default max_function_kib,
    // and seconds and hundreds of MiB to compile (docs/benchmarks.md).
    let huge = dir.path().join("huge-function.wasm");
    std::fs::write(
        &huge,
        crate::hostile_corpus::with_generated_body("huge-function.wat", "deep:1536"),
    )
    .unwrap();
    let pipeline = write_pipeline(
        dir.path(),
        "huge",
        &format!(
            "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n\n\
             [[steps]]\nid = \"huge\"\nplugin = {:?}\ninput = \"scale\"\n",
            huge.display().to_string()
        ),
    );
    let good = write_pipeline(
        dir.path(),
        "good",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    for (tenant, cap, message) in [
        (
            "small-functions",
            "max_function_kib=1024",
            "function body 0 of core module 0 is 1.5 MiB, over the 1024 KiB limit (max_function_kib)",
        ),
        (
            "small-compiles",
            "compile_mib=256",
            "compiling it needed more than 256 MiB of memory (compile_mib)",
        ),
        (
            "short-compiles",
            "compile_ms=300",
            "compiling it took longer than 300 ms (compile_ms)",
        ),
    ] {
        ok(&sluice(home.path())
            .args(["tenants", "create", tenant, cap])
            .arg(data_dirs(&[]))
            .output()
            .unwrap());
        let out = run_as(home.path(), tenant, pipeline.to_str().unwrap());
        assert_eq!(out.status.code(), Some(2), "{tenant}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("step 'huge'")
                && err.contains(&huge.display().to_string())
                && err.contains(message),
            "{tenant}: {err}"
        );
        let runs = sluice(home.path())
            .args(["--tenant", tenant, "runs", "list", "--json"])
            .output()
            .unwrap();
        assert_eq!(json(&runs), serde_json::json!([]), "nothing was recorded");
        let out = run_as(home.path(), tenant, good.to_str().unwrap());
        ok(&out);
        assert_eq!(json(&out)["status"], "succeeded", "{tenant}");
    }
}

/// Planning takes the compile limits it is given (a tenant's, when runs of
/// several tenants share a runtime), even for a plugin the runtime has
/// already loaded under wider ones.
#[test]
fn planning_applies_the_compile_limits_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "scale",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    let rt = shared_runtime();
    assert!(load_plan(&p, rt, &PlanOptions::default()).is_ok());
    let options = PlanOptions {
        compile: Some(sluice::runtime::CompileLimits {
            max_function_kib: 1,
            ..Default::default()
        }),
        ..PlanOptions::default()
    };
    let Err(e) = load_plan(&p, rt, &options) else {
        panic!("planned over max_function_kib = 1");
    };
    let e = e.to_string();
    assert!(
        e.contains("step 'scale'")
            && e.contains("standardize.wasm")
            && e.contains("over the 1 KiB limit (max_function_kib)"),
        "{e}"
    );
}
