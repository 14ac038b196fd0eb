//! Every entry point of the registry, called by a tenant with another
//! tenant's model name, plain and as `OWNER/NAME`: each reads as "not
//! found" (or empty) and changes nothing, while the owner sees its model.

use super::from_run::now;
use super::*;
use crate::artifacts::ArtifactDigest;
use std::collections::BTreeMap;

const OWNER: &str = "alpha";

/// A version of `OWNER`'s model `m`, stored as the registry stores it.
fn stored_version(version: i64) -> ModelVersion {
    let digest = ArtifactDigest::of(b"bytes");
    let plugin = PluginRef {
        step_id: "train".into(),
        name: "logreg".into(),
        version: "1".into(),
        sha256: digest.to_hex(),
        params: serde_json::Value::Null,
    };
    ModelVersion {
        name: "m".into(),
        version,
        run_id: format!("run{version}"),
        step_id: "train".into(),
        pipeline_name: "p".into(),
        pipeline_version: "1".into(),
        pipeline_sha256: digest.to_hex(),
        seed: 1,
        created_at: now(),
        chain: Vec::new(),
        trainer: plugin,
        model: digest,
        target: None,
        input_schema: Vec::new(),
        metrics: BTreeMap::new(),
        data: DataRef {
            dataset_step: "dataset:d".into(),
            source: None,
            train: None,
            holdout: None,
        },
        holdout_predictions: None,
        explanation: None,
        monitoring: None,
        rollout: None,
    }
}

/// A registry whose tenant `OWNER` has model `m` with versions 1 and 2,
/// `production` promoted to 1 then 2.
async fn registry_with_owned_model(dir: &std::path::Path) -> MetaStore {
    let meta = MetaStore::open_path(&dir.join("m.db")).await.unwrap();
    let key = KeyScope::of(OWNER).key("m").unwrap();
    for v in [1, 2] {
        let body = stored_version(v);
        let new = NewModelVersion {
            key: key.as_str(),
            run_id: &body.run_id,
            step_id: "train",
            pipeline_name: "p",
            pipeline_version: "1",
            pipeline_sha256: &body.pipeline_sha256,
            created_at: &body.created_at,
            gates_json: None,
        };
        let entry = |action| AuditEntry {
            actor: "t",
            action,
            alias: Some("production"),
            from_version: None,
            to_version: Some(v),
            forced: false,
            reason: "",
            detail: "",
        };
        let json = serde_json::to_string(&body).unwrap();
        meta.register_model_version(&new, |_| json, entry("register"))
            .await
            .unwrap();
        meta.set_model_alias(key.as_str(), "production", v, entry("promote"))
            .await
            .unwrap();
    }
    meta
}

fn not_found(what: &str, result: Result<impl std::fmt::Debug>, name: &str) {
    match result {
        Err(e @ (RegistryError::NoModel(_) | RegistryError::NoSuchName { .. })) => {
            assert!(
                e.to_string().contains(&format!("no model named `{name}`")),
                "{what}: {e}"
            )
        }
        other => panic!("{what} of `{name}` should read as not found, got {other:?}"),
    }
}

#[tokio::test]
async fn another_tenants_model_reads_as_not_found_by_every_entry_point() {
    let dir = tempfile::tempdir().unwrap();
    let meta = registry_with_owned_model(dir.path()).await;
    let artifacts = crate::artifacts::ArtifactStore::local(dir.path()).unwrap();
    let owner = Registry::for_tenant(meta.clone(), artifacts.clone(), OWNER);
    assert_eq!(owner.versions("m").await.unwrap(), [1, 2]);
    assert_eq!(
        owner
            .resolve(&ModelSpec::parse("m@production").unwrap())
            .await
            .unwrap()
            .version,
        2
    );
    let history = owner.history("m").await.unwrap();

    for other in [crate::tenants::DEFAULT_TENANT, "beta"] {
        let reg = Registry::for_tenant(meta.clone(), artifacts.clone(), other);
        assert!(
            reg.list().await.unwrap().is_empty(),
            "{other} lists nothing"
        );
        for name in ["m", "alpha/m"] {
            let what = |op: &str| format!("{other}: {op}");
            not_found(&what("gates"), reg.gates(name).await, name);
            not_found(&what("version"), reg.version(name, 1).await, name);
            not_found(&what("history"), reg.history(name).await, name);
            for spec in [
                name.to_string(),
                format!("{name}@production"),
                format!("{name}:1"),
            ] {
                let spec = ModelSpec::parse(&spec).unwrap();
                not_found(&what("resolve"), reg.resolve(&spec).await, name);
            }
            let promoted = reg.promote(name, 1, "production", "r", true, "t").await;
            not_found(&what("promote"), promoted, name);
            not_found(
                &what("rollback"),
                reg.rollback(name, "production", "r", "t").await,
                name,
            );
            // Lookups that answer "none" for an unknown model.
            match name {
                "m" => {
                    assert!(reg.versions(name).await.unwrap().is_empty());
                    assert!(reg.aliases(name).await.unwrap().is_empty());
                }
                _ => {
                    not_found(&what("versions"), reg.versions(name).await, name);
                    not_found(&what("aliases"), reg.aliases(name).await, name);
                }
            }
        }
    }
    // Nothing moved: the owner's alias and history are as they were.
    assert_eq!(
        owner.aliases("m").await.unwrap().get("production"),
        Some(&2)
    );
    assert_eq!(owner.history("m").await.unwrap().len(), history.len());
}

#[tokio::test]
async fn registering_under_another_tenants_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let meta = registry_with_owned_model(dir.path()).await;
    let artifacts = crate::artifacts::ArtifactStore::local(dir.path()).unwrap();
    let reg = Registry::for_tenant(meta, artifacts, "beta");
    let err = reg
        .register("run1", "train", "alpha/m", None, "t")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::BadName {
                rule: NameRule::Slash,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("`alpha/m` is not a model name"),
        "{err}"
    );
}
