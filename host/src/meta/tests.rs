//! Tests of the metadata store on a temporary SQLite file.

use super::*;
use crate::artifacts::ArtifactDigest;

async fn store() -> (tempfile::TempDir, MetaStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = MetaStore::open_path(&dir.path().join("meta/sluice.db"))
        .await
        .unwrap();
    (dir, store)
}

fn new_run(id: &str) -> NewRun {
    NewRun {
        id: id.to_owned(),
        tenant: "default".to_owned(),
        pipeline_name: "churn".to_owned(),
        pipeline_version: "1.0.0".to_owned(),
        pipeline_sha256: "ab".repeat(32),
        seed: u64::MAX as i64,
        pipeline_path: None,
        plugin_dirs_json: None,
        unique_definition: false,
        overrides_json: None,
    }
}

async fn start(
    store: &MetaStore,
    run_id: &str,
    step_id: &str,
    position: i64,
    inputs: &[(String, ArtifactDigest)],
) -> Result<(), MetaError> {
    store
        .start_step(
            &NewStep {
                run_id,
                step_id,
                position,
                kind: "trainer",
                plugin_name: "logreg",
                plugin_version: "0.1.0",
                plugin_sha256: "cd",
                params_json: r#"{"c":1.0}"#,
            },
            inputs,
        )
        .await
}

async fn finish(
    store: &MetaStore,
    run_id: &str,
    step_id: &str,
    status: StepStatus,
    outputs: &[(String, ArtifactDigest)],
    metrics: &[(String, f64)],
) -> Result<(), MetaError> {
    store
        .finish_step(
            run_id,
            step_id,
            &StepEnd {
                status,
                outputs,
                metrics,
                log: "info: done\n",
                error: None,
            },
        )
        .await
}

#[tokio::test]
async fn open_creates_file_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/sluice.db");
    let url = format!("sqlite://{}", path.display());
    let store = MetaStore::open(&url).await.unwrap();
    store.create_run(&new_run("r1")).await.unwrap();
    assert!(path.with_extension("db-wal").is_file(), "WAL mode is on");
    store.close().await;
    assert!(path.is_file());
    let again = MetaStore::open_path(&path).await.unwrap();
    assert_eq!(again.list_runs(10).await.unwrap().len(), 1);
    assert!(matches!(
        MetaStore::open("postgres://db/sluice").await,
        Err(MetaError::UnsupportedUrl { .. })
    ));
}

#[tokio::test]
async fn a_whole_run_is_recorded_and_read_back() {
    let (_dir, store) = store().await;
    for _ in 0..2 {
        store
            .record_pipeline_version("churn", "1.0.0", "ab", "[pipeline]")
            .await
            .unwrap();
    }
    let data = ArtifactDigest::of(b"data");
    let model = ArtifactDigest::of(b"model");
    for _ in 0..2 {
        store
            .record_artifact(&data, 4, "application/vnd.apache.parquet")
            .await
            .unwrap();
    }

    let run_id = "0123abcd-run";
    store.create_run(&new_run(run_id)).await.unwrap();
    let inputs = [("data".to_owned(), data.clone())];
    start(&store, run_id, "train", 1, &inputs).await.unwrap();
    let outputs = [("model".to_owned(), model.clone())];
    let metrics = [("auc".to_owned(), 0.91), ("loss".to_owned(), f64::NAN)];
    finish(
        &store,
        run_id,
        "train",
        StepStatus::Succeeded,
        &outputs,
        &metrics,
    )
    .await
    .unwrap();
    store
        .skip_step(&NewStep {
            run_id,
            step_id: "explain",
            position: 2,
            kind: "explainer",
            plugin_name: "shap",
            plugin_version: "0.1.0",
            plugin_sha256: "ef",
            params_json: "{}",
        })
        .await
        .unwrap();
    start(&store, run_id, "load", 0, &[]).await.unwrap();
    store
        .mark_step_cached_from(run_id, "load", "earlier-run")
        .await
        .unwrap();
    finish(&store, run_id, "load", StepStatus::Succeeded, &inputs, &[])
        .await
        .unwrap();
    store
        .finish_run(run_id, RunStatus::Failed, Some("boom"))
        .await
        .unwrap();

    let run = store.get_run("0123").await.unwrap();
    assert_eq!(run.id, run_id);
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.seed as u64, u64::MAX);
    assert_eq!(run.error.as_deref(), Some("boom"));
    assert!(run.finished_at.is_some());
    let ids: Vec<_> = run.steps.iter().map(|s| s.step_id.as_str()).collect();
    assert_eq!(ids, ["load", "train", "explain"]);

    let load = &run.steps[0];
    assert!(load.cached);
    assert_eq!(load.cached_from.as_deref(), Some("earlier-run"));
    assert_eq!(load.outputs, inputs);

    let train = &run.steps[1];
    assert_eq!(train.status, StepStatus::Succeeded);
    assert_eq!(train.inputs, inputs);
    assert_eq!(train.outputs, outputs);
    assert_eq!(train.metrics[0], ("auc".to_owned(), 0.91));
    assert!(train.metrics[1].1.is_nan());
    assert_eq!(train.log, "info: done\n");
    assert_eq!(train.params_json, r#"{"c":1.0}"#);
    assert!(train.duration_ms.is_some() && train.finished_at.is_some());
    assert!(!train.cached);

    let explain = &run.steps[2];
    assert_eq!(explain.status, StepStatus::Skipped);
    assert_eq!(explain.kind, "explainer");
    assert!(explain.inputs.is_empty() && explain.duration_ms.is_none());

    let json = serde_json::to_value(&run).unwrap();
    assert_eq!(json["status"], "failed");
    assert_eq!(json["steps"][1]["status"], "succeeded");
    assert_eq!(json["steps"][1]["outputs"]["model"], model.to_hex());

    let run_metrics = store.run_metrics(run_id).await.unwrap();
    assert_eq!(run_metrics.len(), 2);
    assert_eq!(
        (run_metrics[0].0.as_str(), run_metrics[0].1.as_str()),
        ("train", "auc")
    );

    let producers = store.artifact_producers(&model).await.unwrap();
    assert_eq!(
        producers,
        [(run_id.to_owned(), "train".to_owned(), "model".to_owned())]
    );
    let unknown = ArtifactDigest::of(b"other");
    assert!(store.artifact_producers(&unknown).await.unwrap().is_empty());
}

#[tokio::test]
async fn runs_are_listed_newest_first() {
    let (_dir, store) = store().await;
    for id in ["a", "b", "c"] {
        store.create_run(&new_run(id)).await.unwrap();
    }
    let ids: Vec<_> = store
        .list_runs(2)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["c", "b"]);
}

#[tokio::test]
async fn lookups_fail_with_named_errors() {
    let (_dir, store) = store().await;
    store.create_run(&new_run("abc1")).await.unwrap();
    store.create_run(&new_run("abc2")).await.unwrap();

    match store.get_run("ab").await {
        Err(MetaError::AmbiguousRun { prefix, candidates }) => {
            assert_eq!(prefix, "ab");
            assert_eq!(candidates.len(), 2);
        }
        other => panic!("expected AmbiguousRun, got {other:?}"),
    }
    assert_eq!(store.get_run("abc2").await.unwrap().id, "abc2");
    let err = store.get_run("zz").await.unwrap_err();
    assert!(err.to_string().contains("`zz`"), "{err}");
    assert!(matches!(
        store.get_run("%").await,
        Err(MetaError::RunNotFound { .. })
    ));
    assert!(matches!(
        store.get_run("").await,
        Err(MetaError::RunNotFound { .. })
    ));

    assert!(matches!(
        store.create_run(&new_run("abc1")).await,
        Err(MetaError::RunExists { .. })
    ));
    assert!(matches!(
        store.finish_run("nope", RunStatus::Succeeded, None).await,
        Err(MetaError::RunNotFound { .. })
    ));
    assert!(matches!(
        start(&store, "nope", "s", 0, &[]).await,
        Err(MetaError::RunNotFound { .. })
    ));
    start(&store, "abc1", "s", 0, &[]).await.unwrap();
    assert!(matches!(
        start(&store, "abc1", "s", 0, &[]).await,
        Err(MetaError::StepExists { .. })
    ));
    assert!(matches!(
        finish(&store, "abc1", "t", StepStatus::Failed, &[], &[]).await,
        Err(MetaError::StepNotFound { .. })
    ));
    assert!(matches!(
        store.mark_step_cached_from("abc1", "t", "r0").await,
        Err(MetaError::StepNotFound { .. })
    ));
}

#[tokio::test]
async fn a_failed_finish_leaves_nothing_half_written() {
    let (_dir, store) = store().await;
    store.create_run(&new_run("r")).await.unwrap();
    start(&store, "r", "s", 0, &[]).await.unwrap();
    let digest = ArtifactDigest::of(b"x");
    // The same output name twice violates the lineage table's key halfway
    // through the transaction.
    let outputs = [
        ("out".to_owned(), digest.clone()),
        ("out".to_owned(), digest.clone()),
    ];
    let metrics = [("m".to_owned(), 1.0)];
    let err = finish(&store, "r", "s", StepStatus::Succeeded, &outputs, &metrics)
        .await
        .unwrap_err();
    assert!(matches!(err, MetaError::Database { .. }), "{err}");

    let run = store.get_run("r").await.unwrap();
    let step = &run.steps[0];
    assert_eq!(step.status, StepStatus::Running);
    assert!(step.outputs.is_empty() && step.metrics.is_empty());
    assert!(step.finished_at.is_none());
    assert!(store.artifact_producers(&digest).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_run_is_created_with_its_source_in_one_write() {
    let (_dir, store) = store().await;
    let mut run = new_run("with-source");
    run.pipeline_path = Some("/p/pipeline.toml".into());
    run.plugin_dirs_json = Some(r#"["/plugins"]"#.into());
    store.create_run(&run).await.unwrap();
    assert_eq!(
        store.run_source("with-source").await.unwrap(),
        (
            Some("/p/pipeline.toml".to_string()),
            Some(r#"["/plugins"]"#.to_string())
        )
    );
    store.create_run(&new_run("without")).await.unwrap();
    assert_eq!(store.run_source("without").await.unwrap(), (None, None));
}

/// Who used an artifact: step runs (as input, output and plugin) and model
/// versions, of one tenant only.
#[tokio::test]
async fn the_uses_of_an_artifact_are_found_per_tenant() {
    let (_dir, store) = store().await;
    let data = ArtifactDigest::of(b"train table");
    let model = ArtifactDigest::of(b"model");
    let plugin = ArtifactDigest::of(b"logreg.wasm");
    let unused = ArtifactDigest::of(b"nobody's");
    let beta_only = ArtifactDigest::of(b"beta's table");
    for (run, tenant) in [("r1", "default"), ("r2", "beta")] {
        store
            .create_run(&NewRun {
                tenant: tenant.to_owned(),
                ..new_run(run)
            })
            .await
            .unwrap();
        let input = if tenant == "beta" { &beta_only } else { &data };
        store
            .start_step(
                &NewStep {
                    run_id: run,
                    step_id: "train",
                    position: 0,
                    kind: "trainer",
                    plugin_name: "logreg",
                    plugin_version: "0.1.0",
                    plugin_sha256: &plugin.to_hex(),
                    params_json: "{}",
                },
                &[("train".to_owned(), input.clone())],
            )
            .await
            .unwrap();
        finish(
            &store,
            run,
            "train",
            StepStatus::Succeeded,
            &[("model".to_owned(), model.clone())],
            &[],
        )
        .await
        .unwrap();
    }
    store
        .finish_run("r1", RunStatus::Succeeded, None)
        .await
        .unwrap();
    // A version of each tenant (the registry keys beta's `beta/NAME`).
    for (key, run) in [("cancer", "r1"), ("beta/cancer", "r2")] {
        sqlx::query("INSERT INTO models (name, created_at) VALUES (?, 'now')")
            .bind(key)
            .execute(&store.pool)
            .await
            .unwrap();
        let body = serde_json::json!({
            "model": model,
            "chain": [{"state": data, "plugin": {"sha256": plugin}}],
            "data": {"train": null},
        });
        sqlx::query(
            "INSERT INTO model_versions (name, version, run_id, step_id, pipeline_name, \
             pipeline_version, pipeline_sha256, body_json, created_at) \
             VALUES (?, 1, ?, 'train', 'churn', '1.0.0', 'ab', ?, 'now')",
        )
        .bind(key)
        .bind(run)
        .bind(body.to_string())
        .execute(&store.pool)
        .await
        .unwrap();
    }

    let roles = |uses: Vec<StepUse>| -> Vec<(String, String, StepRole, String)> {
        uses.into_iter()
            .map(|u| (u.run_id, u.step_id, u.role, u.name))
            .collect()
    };
    let step = |role, name: &str| ("r1".to_owned(), "train".to_owned(), role, name.to_owned());
    assert_eq!(
        roles(store.step_uses("default", &data).await.unwrap()),
        [step(StepRole::Input, "train")]
    );
    let uses = store.step_uses("default", &model).await.unwrap();
    assert_eq!(uses[0].run_status, RunStatus::Succeeded);
    assert_eq!(uses[0].pipeline_name, "churn");
    assert_eq!(roles(uses), [step(StepRole::Output, "model")]);
    assert_eq!(
        roles(store.step_uses("default", &plugin).await.unwrap()),
        [step(StepRole::Plugin, "logreg")]
    );
    assert!(
        store
            .step_uses("default", &unused)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .step_uses("default", &beta_only)
            .await
            .unwrap()
            .is_empty(),
        "another tenant's use"
    );
    let beta = store.step_uses("beta", &model).await.unwrap();
    assert_eq!(beta.len(), 1);
    assert_eq!(beta[0].run_id, "r2");
    assert_eq!(beta[0].run_status, RunStatus::Running);

    let wanted: std::collections::BTreeSet<_> = [data.clone(), plugin.clone(), unused.clone()]
        .into_iter()
        .collect();
    let mut versions: Vec<_> = store
        .model_version_uses("default", &wanted)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.model, u.version, u.run_id, u.field, u.digest))
        .collect();
    versions.sort();
    let v = |field: &str, d: &ArtifactDigest| {
        (
            "cancer".to_owned(),
            1,
            "r1".to_owned(),
            field.to_owned(),
            d.clone(),
        )
    };
    assert_eq!(
        versions,
        [
            v("chain[0].plugin.sha256", &plugin),
            v("chain[0].state", &data)
        ]
    );
    let beta: Vec<_> = store
        .model_version_uses("beta", &[model.clone()].into_iter().collect())
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.model, u.field))
        .collect();
    assert_eq!(beta, [("cancer".to_owned(), "model".to_owned())]);

    let of_default = store.run_artifacts(Some("default")).await.unwrap();
    assert_eq!(
        of_default,
        [data.clone(), model.clone(), plugin.clone()]
            .into_iter()
            .collect()
    );
    let of_all = store.referenced_artifacts().await.unwrap();
    assert!(of_all.contains(&beta_only) && !of_all.contains(&unused));
    assert!(!of_default.contains(&beta_only));
}

/// A chain of 1,500 steps, each reading the one before's output: the
/// lineage walk stops at the depth asked for (marking where), and building,
/// serializing and dropping a tree as deep as the CLI allows (1000) fits
/// the stack of a test thread (2 MiB; a 12,000-step chain overflowed the
/// stack when the walk was unbounded).
#[tokio::test]
async fn lineage_of_a_long_chain_stops_at_the_depth_asked_for() {
    let store = MetaStore::open("sqlite::memory:").await.unwrap();
    store.create_run(&new_run("long")).await.unwrap();
    let digest = |i: usize| ArtifactDigest::of(format!("artifact {i}").as_bytes());
    for i in 1..=1500 {
        let step = format!("s{i}");
        let input = [("in".to_owned(), digest(i - 1))];
        start(&store, "long", &step, i as i64, &input)
            .await
            .unwrap();
        let output = [("out".to_owned(), digest(i))];
        finish(&store, "long", &step, StepStatus::Succeeded, &output, &[])
            .await
            .unwrap();
    }
    let depth = |mut node: &LineageNode| {
        let mut levels = 0;
        while let Some(step) = node.steps.first() {
            node = &step.edges[0].artifact;
            levels += 1;
        }
        (levels, node.truncated, node.digest.clone())
    };
    let tree = store.upstream(None, &digest(1500), 10).await.unwrap();
    assert_eq!(depth(&tree), (10, true, digest(1490)));
    let tree = store.upstream(None, &digest(1500), 1000).await.unwrap();
    assert_eq!(depth(&tree), (1000, true, digest(500)));
    let json = serde_json::to_string(&tree).unwrap();
    assert!(json.contains(&digest(500).to_string()));
    drop(tree);
    let tree = store.downstream(None, &digest(0), 1000).await.unwrap();
    assert_eq!(depth(&tree), (1000, true, digest(1000)));
    let whole = store.upstream(None, &digest(5), 1000).await.unwrap();
    assert_eq!(
        depth(&whole),
        (5, false, digest(0)),
        "an outside input ends it"
    );
}

/// A file of the inference log, or of its labels, is listed for its
/// tenant and model only (a log file by its time span), and garbage
/// collection keeps it.
#[tokio::test]
async fn inference_log_files_are_listed_by_window_and_kept() {
    let (_dir, store) = store().await;
    let file = |bytes: &[u8], first_ms, last_ms| super::InferenceLogFile {
        digest: ArtifactDigest::of(bytes),
        model: "churn".into(),
        version: 1,
        rows: 3,
        requests: 2,
        first_ms,
        last_ms,
    };
    let (early, late) = (file(b"early", 1_000, 2_000), file(b"late", 3_000, 4_000));
    for f in [&early, &late, &late] {
        store.record_inference_log("default", f).await.unwrap();
    }
    let all = store
        .inference_logs("default", "churn", None)
        .await
        .unwrap();
    assert_eq!(all, [early.clone(), late.clone()], "listing twice is once");
    let since = store
        .inference_logs("default", "churn", Some(2_500))
        .await
        .unwrap();
    assert_eq!(since, std::slice::from_ref(&late));
    assert!(
        store
            .inference_logs("acme", "churn", None)
            .await
            .unwrap()
            .is_empty()
    );
    let labels = super::InferenceLabelFile {
        digest: ArtifactDigest::of(b"labels"),
        model: "churn".into(),
        rows: 5,
        received_ms: 9_000,
    };
    store
        .record_inference_labels("default", &labels)
        .await
        .unwrap();
    assert_eq!(
        store.inference_labels("default", "churn").await.unwrap(),
        std::slice::from_ref(&labels)
    );
    assert!(
        store
            .inference_labels("acme", "churn")
            .await
            .unwrap()
            .is_empty()
    );
    let kept = store.referenced_artifacts().await.unwrap();
    assert!(kept.contains(&early.digest) && kept.contains(&late.digest));
    assert!(kept.contains(&labels.digest));
}
