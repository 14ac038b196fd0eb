//! Artifacts in a real S3-compatible server: Garage, started through
//! `scripts/garage.sh` once per test process (built once per machine and
//! cached). Nothing here is mocked and nothing is skipped: if Garage cannot
//! start, these tests fail and say why.

use crate::support::*;
use object_store::aws::AmazonS3Builder;
use sluice::artifacts::{ArtifactDigest, ArtifactStore, conformance};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// One Garage server with its state in `dir`.
pub struct Garage {
    dir: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Garage {
    /// Starts (or restarts) the server in `dir`; it is stopped when this
    /// test process exits.
    pub fn start(dir: &Path) -> Garage {
        let out = Command::new(root().join("scripts/garage.sh"))
            .arg("start")
            .arg(dir)
            .arg(std::process::id().to_string())
            .output()
            .expect("run scripts/garage.sh");
        assert!(
            out.status.success(),
            "scripts/garage.sh start {} failed (a real S3 server is needed for these tests):\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>();
        assert!(
            env.iter().any(|(k, _)| k == "AWS_ENDPOINT"),
            "garage.sh printed no endpoint: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        Garage {
            dir: dir.to_owned(),
            env,
        }
    }

    pub fn stop(&self) {
        let status = Command::new(root().join("scripts/garage.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status()
            .expect("run scripts/garage.sh stop");
        assert!(status.success(), "stopping garage failed");
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("garage.sh did not export {name}"))
    }

    pub fn bucket(&self) -> &str {
        self.var("SLUICE_TEST_BUCKET")
    }

    /// A `--store` URL under a fresh prefix.
    pub fn fresh_url(&self) -> String {
        format!("s3://{}/{}", self.bucket(), uuid::Uuid::new_v4())
    }

    /// The `sluice` binary with a private home, talking to this server.
    pub fn sluice(&self, home: &Path) -> Run {
        let mut run = sluice(home);
        for (k, v) in &self.env {
            run.0.env(k, v);
        }
        run
    }

    /// The artifact store at `url` (from [`fresh_url`](Self::fresh_url)),
    /// built in this process without touching its environment.
    pub fn store(&self, url: &str) -> ArtifactStore {
        let rest = url.strip_prefix("s3://").expect("an s3:// url");
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let s3 = AmazonS3Builder::new()
            .with_endpoint(self.var("AWS_ENDPOINT"))
            .with_region(self.var("AWS_REGION"))
            .with_access_key_id(self.var("AWS_ACCESS_KEY_ID"))
            .with_secret_access_key(self.var("AWS_SECRET_ACCESS_KEY"))
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .build()
            .expect("an S3 client for garage");
        ArtifactStore::named(Arc::new(s3), prefix, format!("s3://{bucket}"))
    }
}

/// The Garage shared by every test of this process that does not stop it.
pub fn garage() -> &'static Garage {
    static SHARED: OnceLock<Garage> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("sluice-garage-")
            .tempdir()
            .expect("a temp dir")
            .keep();
        // scripts/garage.sh removes it once this process is gone.
        std::fs::write(dir.join("remove-when-done"), "").expect("a marker file");
        Garage::start(&dir)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn artifact_store_conformance_on_garage() {
    let g = garage();
    let store = g.store(&g.fresh_url());
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn example_pipeline_runs_end_to_end_on_s3() {
    let g = garage();
    let _ = plugin_dir();
    let home = tempfile::tempdir().unwrap();
    let url = g.fresh_url();
    let out = succeeded(
        g.sluice(home.path())
            .args([
                "--store",
                &url,
                "run",
                "pipelines/breast-cancer.toml",
                "--json",
            ])
            .output()
            .unwrap(),
        "sluice run on S3",
    );
    let report = json(&out);
    assert_eq!(report["status"], "succeeded", "{report}");
    assert!(
        !home.path().join("artifacts").exists(),
        "with --store s3://... nothing is written to the local artifact directory"
    );

    // Every output is in the bucket, under the prefix, and re-hashes.
    let store = g.store(&url);
    let stored = store.list().await.unwrap();
    let mut outputs = Vec::new();
    for s in report["steps"].as_array().unwrap() {
        for (_, d) in s["outputs"].as_object().unwrap() {
            let digest = ArtifactDigest::parse(d.as_str().unwrap()).unwrap();
            assert!(stored.contains(&digest), "{digest} not in {url}");
            outputs.push(digest);
        }
    }
    assert!(outputs.len() >= 10, "{outputs:?}");

    // `sluice artifacts get` reads the model back from S3 (SLUICE_STORE
    // this time), verified against its digest.
    let model = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "train")
        .unwrap()["outputs"]["model"]
        .as_str()
        .unwrap()
        .to_string();
    let file = home.path().join("model.bin");
    let mut get = g.sluice(home.path());
    get.0.env("SLUICE_STORE", &url);
    succeeded(
        get.args(["artifacts", "get", &model, "-o"])
            .arg(&file)
            .output()
            .unwrap(),
        "sluice artifacts get from S3",
    );
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(ArtifactDigest::of(&bytes).to_string(), model);

    // The same digest is not in another prefix of the same bucket.
    let other = g.fresh_url();
    let out = g
        .sluice(home.path())
        .args(["--store", &other, "artifacts", "get", &model, "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not in the artifact store") && stderr(&out).contains(&other),
        "{}",
        stderr(&out)
    );

    // gc on S3: an orphan goes, everything the run refers to stays.
    let orphan = store
        .put(bytes::Bytes::from_static(b"nobody refers to this"))
        .await
        .unwrap();
    let out = succeeded(
        g.sluice(home.path())
            .args(["--store", &url, "gc", "--min-age", "0s", "--yes", "--json"])
            .output()
            .unwrap(),
        "sluice gc on S3",
    );
    let gc = json(&out);
    assert_eq!(gc["unreferenced"], 1, "{gc}");
    assert_eq!(gc["artifacts"][0]["digest"], orphan.to_string());
    assert!(!store.exists(&orphan).await.unwrap());
    for d in &outputs {
        assert!(store.exists(d).await.unwrap(), "gc deleted {d}");
    }
}

/// Stopping the server: a command fails after its retries with a message
/// naming the store and the object; a command that is retrying while the
/// server comes back succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_fails_clearly_and_a_restart_is_retried_through() {
    let _ = garage(); // build/install once, before timing anything
    let dir = tempfile::tempdir().unwrap();
    let g = Garage::start(&dir.path().join("garage"));
    let url = g.fresh_url();
    let store = g.store(&url);
    let digest = store
        .put(bytes::Bytes::from_static(b"survives an outage"))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let get = |retries: &str, timeout_ms: &str| {
        let mut run = g.sluice(home.path());
        run.0
            .env("SLUICE_STORE_MAX_RETRIES", retries)
            .env("SLUICE_STORE_RETRY_TIMEOUT_MS", timeout_ms)
            .env("SLUICE_STORE_RETRY_BACKOFF_MS", "100")
            .env("SLUICE_STORE_RETRY_MAX_BACKOFF_MS", "500");
        run.args([
            "--store",
            &url,
            "artifacts",
            "get",
            &digest.to_string(),
            "-o",
            "-",
        ])
    };

    g.stop();
    let started = Instant::now();
    let out = get("3", "2000").output().unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let object = store.object_path(&digest).to_string();
    assert!(err.contains(&url), "the error names the store: {err}");
    assert!(err.contains(&object), "the error names the object: {err}");
    assert!(err.contains("retries"), "the error says it retried: {err}");
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(20),
        "retried with backoff, then gave up: {took:?}"
    );

    // Down when the command starts, back up while it retries.
    let out = std::thread::scope(|s| {
        let pending = s.spawn(|| get("100", "60000").output().unwrap());
        std::thread::sleep(Duration::from_millis(1500));
        Garage::start(&dir.path().join("garage"));
        pending.join().unwrap()
    });
    assert!(
        out.status.success(),
        "the command retried through the restart:\n{}",
        stderr(&out)
    );
    assert_eq!(out.stdout, b"survives an outage");
    g.stop();
}

/// A run whose store goes away fails after the retries with a message that
/// names the run and how to continue it; once the server is back, `sluice
/// resume` completes it with the same outputs as a run that never failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_loses_the_store_stays_resumable() {
    let _ = garage();
    let _ = plugin_dir();
    let dir = tempfile::tempdir().unwrap();
    let g = Garage::start(&dir.path().join("garage"));
    let url = g.fresh_url();
    let home = tempfile::tempdir().unwrap();
    let sluice_s3 = |args: &[&str]| {
        let mut run = g.sluice(home.path());
        run.0
            .env("SLUICE_STORE", &url)
            .env("SLUICE_STORE_MAX_RETRIES", "2")
            .env("SLUICE_STORE_RETRY_TIMEOUT_MS", "1500")
            .env("SLUICE_STORE_RETRY_BACKOFF_MS", "100")
            .env("SLUICE_STORE_RETRY_MAX_BACKOFF_MS", "300");
        run.args(args).output().unwrap()
    };

    g.stop();
    let out = sluice_s3(&["run", "pipelines/breast-cancer.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&url) && err.contains("retries"), "{err}");
    let runs = json(&succeeded(sluice_s3(&["runs", "list", "--json"]), "list"));
    let run = &runs.as_array().unwrap()[0];
    let id = run["id"].as_str().unwrap();
    assert_eq!(run["status"], "failed");
    assert!(
        err.contains(&format!("sluice resume {id}")),
        "the error says how to continue: {err}"
    );

    Garage::start(&dir.path().join("garage"));
    let resumed = json(&succeeded(
        sluice_s3(&["resume", id, "--json"]),
        "resume after the outage",
    ));
    assert_eq!(resumed["run_id"], id);
    assert_eq!(resumed["status"], "succeeded");
    let local = tempfile::tempdir().unwrap();
    let clean = json(&succeeded(
        sluice(local.path())
            .args(["run", "pipelines/breast-cancer.toml", "--json"])
            .output()
            .unwrap(),
        "a run on the local store",
    ));
    let outs = |r: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_owned(), s["outputs"].clone()))
            .collect()
    };
    assert_eq!(outs(&resumed), outs(&clean));
    // Every output is in the bucket.
    let store = g.store(&url);
    for (_, o) in outs(&resumed) {
        for (_, d) in o.as_object().unwrap() {
            let d = ArtifactDigest::parse(d.as_str().unwrap()).unwrap();
            assert!(store.exists(&d).await.unwrap(), "{d} not in {url}");
        }
    }
    g.stop();
}

// The step cache, verify and resume on S3: the same checks as
// tests/all/cache.rs, with every artifact in the Garage bucket.

#[test]
fn cache_rerun_and_one_param_change_on_s3() {
    crate::cache::rerun_and_change_one_param(&crate::cache::Place::s3(garage()));
}

#[test]
fn cache_hit_with_a_deleted_artifact_runs_again_on_s3() {
    crate::cache::lost_artifact_runs_again(&crate::cache::Place::s3(garage()));
}

#[test]
fn verify_on_s3() {
    crate::cache::verify_and_tamper(&crate::cache::Place::s3(garage()));
}

#[test]
fn sigkill_and_resume_on_s3() {
    crate::cache::kill_and_resume(&crate::cache::Place::s3(garage()));
}

/// The server stops while a run is writing its artifacts and comes back
/// six seconds later, as a restart might: with the default retry budget
/// the run retries through the outage, says so on standard error as it
/// goes, and completes with the outputs of an undisturbed run.
#[test]
fn the_server_restarts_during_a_run_and_the_run_retries_through() {
    let _ = garage();
    let _ = plugin_dir();
    let dir = tempfile::tempdir().unwrap();
    let g = Garage::start(&dir.path().join("garage"));
    let url = g.fresh_url();
    let store = g.store(&url);
    let home = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = || rt.block_on(store.list()).map(|l| l.len()).unwrap_or(0);
    let (out, seen_at_stop) = std::thread::scope(|s| {
        let pending = s.spawn(|| {
            let mut run = g.sluice(home.path());
            run.0.env("SLUICE_STORE", &url);
            run.args(["run", "pipelines/breast-cancer.toml", "--json"])
                .output()
                .unwrap()
        });
        // Stop the server as soon as the run has written something.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = stored();
        while seen == 0 && Instant::now() < deadline && !pending.is_finished() {
            std::thread::sleep(Duration::from_millis(10));
            seen = stored();
        }
        g.stop();
        std::thread::sleep(Duration::from_secs(6));
        Garage::start(&dir.path().join("garage"));
        (pending.join().unwrap(), seen)
    });
    let err = stderr(&out);
    let report = json(&succeeded(out, "a run through an outage"));
    assert_eq!(report["status"], "succeeded", "{report}");
    assert!(
        err.contains(&format!("store {url}")) && err.contains("retrying in"),
        "each retry is reported as it happens: {err}"
    );
    let total = stored();
    assert!(
        seen_at_stop > 0 && seen_at_stop < total,
        "the server stopped mid-run: {seen_at_stop} of {total} objects were written before"
    );
    let local = tempfile::tempdir().unwrap();
    let clean = json(&succeeded(
        sluice(local.path())
            .args(["run", "pipelines/breast-cancer.toml", "--json"])
            .output()
            .unwrap(),
        "a run on the local store",
    ));
    for (a, b) in report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(clean["steps"].as_array().unwrap())
    {
        assert_eq!(a["outputs"], b["outputs"], "step {}", a["id"]);
    }
    g.stop();
}

/// Stops (SIGSTOP) or continues (SIGCONT) the server; a stopped server
/// accepts connections (the kernel does) and never answers them.
fn signal_server(dir: &Path, signal: &str) {
    let pid = std::fs::read_to_string(dir.join("pid")).expect("garage's pid file");
    let status = Command::new("kill")
        .args([signal, pid.trim()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// A frozen server (it accepts connections and never answers) fails a run
/// once the request timeout and the retry budget are spent, with an error
/// naming the store and the timeout, instead of holding the run.
#[test]
fn a_frozen_server_fails_the_run_within_the_request_timeout() {
    let _ = garage();
    let _ = plugin_dir();
    let dir = tempfile::tempdir().unwrap();
    let garage_dir = dir.path().join("garage");
    let g = Garage::start(&garage_dir);
    let url = g.fresh_url();
    let home = tempfile::tempdir().unwrap();
    struct Thaw<'a>(&'a Path);
    impl Drop for Thaw<'_> {
        fn drop(&mut self) {
            signal_server(self.0, "-CONT");
        }
    }
    signal_server(&garage_dir, "-STOP");
    let thaw = Thaw(&garage_dir);
    let started = Instant::now();
    let mut run = g.sluice(home.path());
    run.0
        .env("SLUICE_STORE", &url)
        .env("SLUICE_STORE_REQUEST_TIMEOUT_MS", "1000")
        .env("SLUICE_STORE_RETRY_TIMEOUT_MS", "2000");
    let out = run
        .args(["run", "pipelines/breast-cancer.toml"])
        .output()
        .unwrap();
    let took = started.elapsed();
    drop(thaw);
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        took < Duration::from_secs(15),
        "a 1 s request timeout and a 2 s retry budget end the run well within 15 s, not {took:?}: {err}"
    );
    assert!(
        err.contains(&format!("artifact store {url}"))
            && err.contains("no answer within 1.0 s (SLUICE_STORE_REQUEST_TIMEOUT_MS")
            && err.contains("gave up after"),
        "the error names the store, the timeout and the retries: {err}"
    );
    // Some twenty writes wait on the server at once: they say so together,
    // about once a second, not each on its own line.
    let warnings = err.matches("retrying in").count();
    assert!(
        (1..=6).contains(&warnings),
        "the retries were reported, {warnings} times: {err}"
    );
    g.stop();
}

/// A refused request (a wrong secret key: 403) is not retried: it is not
/// an outage, and waiting would not change the answer.
#[test]
fn a_refused_request_is_not_retried() {
    let g = garage();
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut get = g.sluice(home.path());
    get.0.env("AWS_SECRET_ACCESS_KEY", "not-the-secret-key");
    let out = get
        .args(["--store", &g.fresh_url(), "artifacts", "get"])
        .arg("0".repeat(64))
        .args(["-o", "-"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.matches("403 Forbidden").count(),
        1,
        "the error says what the server answered, once: {err}"
    );
    assert!(!err.contains("retrying"), "not retried: {err}");
    assert!(
        took < Duration::from_secs(5),
        "failed at once, not after {took:?}"
    );
}
