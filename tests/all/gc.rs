//! `sluice gc`: unreferenced artifacts are listed (dry run), kept while
//! young, deleted with --yes; everything a run or model refers to stays.

use crate::support::*;
use bytes::Bytes;
use sluice::artifacts::{ArtifactDigest, ArtifactStore};
use sluice::meta::{MetaStore, NewRun};
use std::path::Path;

fn gc(home: &Path, args: &[&str]) -> std::process::Output {
    sluice(home).arg("gc").args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_lists_then_deletes_only_unreferenced_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let pipeline = write_pipeline(
        dir.path(),
        "gc",
        r#"
[[steps]]
id = "scale"
plugin = "standardize"
input = "cancer"

[[steps]]
id = "train"
plugin = "logreg"
input = "scale"
register = "gc-model"
"#,
    );
    let out = sluice(&home)
        .args(["run", "--json"])
        .arg(&pipeline)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let run_id = json(&out)["run_id"].as_str().unwrap().to_string();

    let store = ArtifactStore::local(&home).unwrap();
    let before = store.list().await.unwrap();
    let orphans = [&b"orphan one"[..], &b"orphan number two"[..]];
    let mut orphan_digests = Vec::new();
    for o in orphans {
        orphan_digests.push(store.put(Bytes::from_static(o)).await.unwrap());
    }
    let orphan_bytes: usize = orphans.iter().map(|o| o.len()).sum();

    // Young orphans are kept by the default --min-age.
    let out = gc(&home, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["unreferenced"], 0, "{report}");
    assert_eq!(report["kept_young"], 2, "{report}");
    assert_eq!(report["stored"], before.len() + 2, "{report}");

    // A dry run lists them with count and bytes, and deletes nothing.
    let out = gc(&home, &["--min-age", "0s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("unreferenced: 2 artifacts, {orphan_bytes} bytes")),
        "{text}"
    );
    for d in &orphan_digests {
        assert!(text.contains(&d.to_string()), "{text}");
        assert!(store.exists(d).await.unwrap(), "a dry run deleted {d}");
    }

    // A run in progress blocks deletion.
    let meta = MetaStore::open_path(&home.join("sluice.db")).await.unwrap();
    meta.create_run(&NewRun {
        id: "still-running".into(),
        tenant: "default".into(),
        pipeline_name: "gc".into(),
        pipeline_version: "1".into(),
        pipeline_sha256: "00".repeat(32),
        seed: 1,
        pipeline_path: None,
        plugin_dirs_json: None,
        unique_definition: false,
        overrides_json: None,
    })
    .await
    .unwrap();
    let out = gc(&home, &["--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("still-running"), "{}", stderr(&out));
    assert!(store.exists(&orphan_digests[0]).await.unwrap());
    meta.finish_run(
        "still-running",
        sluice::meta::RunStatus::Failed,
        Some("test"),
    )
    .await
    .unwrap();

    // --yes deletes the orphans and nothing else.
    let out = gc(&home, &["--min-age", "0s", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("deleted: 2 artifacts, {orphan_bytes} bytes")),
        "{}",
        stdout(&out)
    );
    for d in &orphan_digests {
        assert!(!store.exists(d).await.unwrap(), "{d} survived gc --yes");
    }
    assert_eq!(store.list().await.unwrap(), before);
    let run = meta.get_run(&run_id).await.unwrap();
    for s in &run.steps {
        for (_, d) in s.inputs.iter().chain(&s.outputs) {
            store.get(d).await.unwrap();
        }
        if !s.plugin_sha256.is_empty() {
            assert!(
                store
                    .exists(&ArtifactDigest::parse(&s.plugin_sha256).unwrap())
                    .await
                    .unwrap(),
                "gc deleted the plugin of {}",
                s.step_id
            );
        }
    }
    // The model still serves.
    let out = sluice(&home)
        .args(["models", "show", "gc-model", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let out = gc(&home, &["--min-age", "0s", "--yes", "--json"]);
    assert_eq!(json(&out)["unreferenced"], 0);
}

#[test]
fn gc_rejects_a_bad_min_age() {
    let dir = tempfile::tempdir().unwrap();
    let out = gc(dir.path(), &["--min-age", "ten"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--min-age"), "{}", stderr(&out));
}

/// An age too long for a duration, or reaching back before the calendar,
/// is a clean usage error, not a panic.
#[test]
fn gc_rejects_an_age_beyond_what_dates_reach() {
    let dir = tempfile::tempdir().unwrap();
    for (age, message) in [
        ("99999999999999d", "is too long an age"),
        (
            "1000000000d",
            "--min-age reaches back further than dates go",
        ),
    ] {
        let out = gc(dir.path(), &["--min-age", age]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{age}: {err}");
        assert!(err.contains(message), "{age}: {err}");
        assert!(!err.contains("panicked"), "{age}: {err}");
    }
}

/// What killed processes leave, the next gc cleans: staging files of
/// interrupted writes (once older than --min-age), storage counted for
/// objects that are gone (an earlier gc killed between deleting and
/// forgetting), and the files of a gc killed between forgetting and
/// deleting.
#[tokio::test(flavor = "multi_thread")]
async fn gc_cleans_what_killed_processes_left() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let pipeline = write_pipeline(
        dir.path(),
        "leftovers",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    let out = sluice(&home).arg("run").arg(&pipeline).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stored_bytes = |home: &Path| {
        ok_json(home, &["tenants", "show", "default", "--json"])["stored_bytes"]
            .as_i64()
            .unwrap()
    };
    let counted = stored_bytes(&home);

    // Staging files beside a stored object: one old, one young.
    let store = ArtifactStore::local(&home).unwrap();
    let object = store.list_stored().await.unwrap()[0].digest.clone();
    let path = home.join(store.object_path(&object).as_ref());
    let staged = |n: u32| std::path::PathBuf::from(format!("{}#{n}", path.display()));
    for n in [7, 8] {
        std::fs::write(staged(n), vec![0u8; 100]).unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(staged(7))
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    // Storage counted for an object no longer stored.
    let meta = MetaStore::open_path(&home.join("sluice.db")).await.unwrap();
    meta.record_tenant_artifact("default", &ArtifactDigest::of(b"deleted"), 5000)
        .await
        .unwrap();
    assert_eq!(stored_bytes(&home), counted + 5000);
    // A gc killed after forgetting what it deletes, before deleting it.
    let orphan = store.put(Bytes::from_static(b"orphan")).await.unwrap();
    let out = sluice(&home)
        .env("SLUICE_CRASH_AT", "gc-before-delete")
        .args(["gc", "--yes", "--min-age", "0s"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the gc was not killed");
    assert!(store.exists(&orphan).await.unwrap());

    let out = gc(&home, &["--yes", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["staging"]["files"], 1, "{report}");
    assert_eq!(report["records_repaired"], 1, "{report}");
    assert!(!staged(7).exists(), "the old staging file is removed");
    assert!(staged(8).exists(), "a young one may be a write in progress");
    assert_eq!(stored_bytes(&home), counted, "the count is repaired");
    let out = gc(&home, &["--yes", "--min-age", "0s", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !store.exists(&orphan).await.unwrap(),
        "the next gc deletes it"
    );
    assert!(!staged(8).exists());
    assert!(store.exists(&object).await.unwrap());
}
