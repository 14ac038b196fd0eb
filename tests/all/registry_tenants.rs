//! Issue 18, point 2: a tenant cannot reach another tenant's models. Tenant
//! `alpha` owns model `churn` (two versions, `production` moved twice);
//! every registry command run as `beta` and as `default` names it plainly
//! (`churn`) and by its stored key (`alpha/churn`), and each reads as "not
//! found", word for word as a model nobody has, and changes nothing.
//!
//! Before the fix, the `alpha/churn` form reached alpha's rows from any
//! tenant (the registry keyed names holding `/` unchanged), so each test
//! below except the listing failed: `show` printed alpha's versions,
//! `promote` moved alpha's alias, and so on.

use crate::support::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const OWNER: &str = "alpha";
const MODEL: &str = "churn";

/// A small pipeline `alpha` runs to register `churn`; `c` makes each
/// version differ.
fn churn_pipeline(dir: &Path, name: &str, c: f64) -> PathBuf {
    write_pipeline(
        dir,
        name,
        &format!(
            "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n\n\
             [[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"scale\"\n\
             params = {{ c = {c}, max_iter = 50 }}\nregister = \"{MODEL}\"\n"
        ),
    )
}

fn as_tenant<S: AsRef<OsStr>>(home: &Path, tenant: &str, args: &[S]) -> std::process::Output {
    sluice(home)
        .args(["--tenant", tenant])
        .args(args)
        .output()
        .unwrap()
}

fn ok_as(home: &Path, tenant: &str, args: &[&str]) -> std::process::Output {
    succeeded(
        as_tenant(home, tenant, args),
        &format!("{tenant}: {args:?}"),
    )
}

/// A home where tenants `alpha` and `beta` exist and `alpha` owns `churn`
/// v1 and v2, with `production` promoted to v1 and then to v2.
struct Owned {
    dir: tempfile::TempDir,
    /// alpha's second run, which registered v2.
    run: String,
}

impl Owned {
    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn new() -> Owned {
        warm_cache(&["standardize", "logreg"]);
        let dir = home_with_shared_cache();
        let home = dir.path();
        for t in [OWNER, "beta"] {
            ok_as(home, "default", &["tenants", "create", t, &data_dirs(&[])]);
        }
        let mut run = String::new();
        for (i, c) in [(1, 1.0), (2, 0.5)] {
            let p = churn_pipeline(home, &format!("churn-{i}"), c);
            let out = ok_as(home, OWNER, &["run", p.to_str().unwrap(), "--json"]);
            let report = json(&out);
            assert_eq!(report["registered"][0]["version"], i, "{report}");
            run = report["run_id"].as_str().unwrap().to_string();
            ok_as(
                home,
                OWNER,
                &[
                    "models",
                    "promote",
                    MODEL,
                    &i.to_string(),
                    "--to",
                    "production",
                ],
            );
        }
        Owned { dir, run }
    }

    /// One home for the tests that only read, or fail to change, it.
    fn shared() -> &'static Owned {
        static OWNED: OnceLock<Owned> = OnceLock::new();
        OWNED.get_or_init(Owned::new)
    }

    /// alpha's history of `churn`, to show that nothing changed it.
    fn history(&self) -> serde_json::Value {
        json(&ok_as(
            self.home(),
            OWNER,
            &["models", "history", MODEL, "--json"],
        ))
    }
}

fn fill(args: &[&str], model: &str) -> Vec<String> {
    args.iter().map(|a| a.replace("{m}", model)).collect()
}

/// `args` (with `{m}` for the model) run as `beta` and as `default`, naming
/// alpha's model plainly and as `alpha/churn`: each fails as "no model
/// named ..." with exactly the error a model nobody has gives, prints
/// nothing, and leaves alpha's model as it was. As `alpha`, with the plain
/// name, the same command works (when `owner_too`: commands that change
/// the model are shown to work by the fixture itself).
fn reads_as_not_found(args: &[&str], owner_too: bool) {
    let owned = Owned::shared();
    let home = owned.home();
    let before = owned.history();
    for tenant in ["beta", "default"] {
        for (name, nobodys) in [
            (MODEL.to_string(), "nosuch".to_string()),
            (format!("{OWNER}/{MODEL}"), format!("{OWNER}/nosuch")),
        ] {
            let what = format!("as {tenant}: {:?}", fill(args, &name));
            let out = as_tenant(home, tenant, &fill(args, &name));
            assert_eq!(out.status.code(), Some(2), "{what}: {}", stdout(&out));
            assert!(out.stdout.is_empty(), "{what}: printed {}", stdout(&out));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("no model named `{name}`")),
                "{what}: {err}"
            );
            let missing = as_tenant(home, tenant, &fill(args, &nobodys));
            assert_eq!(
                err,
                stderr(&missing).replace(&nobodys, &name),
                "{what}: alpha's model and a missing one must read the same"
            );
        }
    }
    assert_eq!(owned.history(), before, "alpha's model changed");
    if owner_too {
        let out = as_tenant(home, OWNER, &fill(args, MODEL));
        assert!(out.status.success(), "as alpha: {args:?}: {}", stderr(&out));
    }
}

#[test]
fn registry_tenants_show() {
    for spec in ["{m}", "{m}@production", "{m}:1"] {
        reads_as_not_found(&["models", "show", spec, "--json"], true);
    }
}

#[test]
fn registry_tenants_compare() {
    reads_as_not_found(&["models", "compare", "{m}", "1", "2", "--json"], true);
}

#[test]
fn registry_tenants_promote() {
    reads_as_not_found(
        &[
            "models",
            "promote",
            "{m}",
            "1",
            "--to",
            "production",
            "--force",
            "--reason",
            "take over",
        ],
        false,
    );
}

#[test]
fn registry_tenants_rollback() {
    reads_as_not_found(
        &["models", "rollback", "{m}", "--alias", "production"],
        false,
    );
}

#[test]
fn registry_tenants_history() {
    reads_as_not_found(&["models", "history", "{m}", "--json"], true);
    reads_as_not_found(
        &["models", "history", "{m}", "--at", "2099-01-01", "--json"],
        true,
    );
}

#[test]
fn registry_tenants_card() {
    reads_as_not_found(&["models", "card", "{m}", "1"], true);
}

#[test]
fn registry_tenants_predict() {
    let out = tempfile::tempdir().unwrap();
    let predictions = out.path().join("p.parquet");
    let input = root().join("pipelines/data/breast_cancer.csv");
    reads_as_not_found(
        &[
            "predict",
            "{m}@production",
            "--input",
            input.to_str().unwrap(),
            "-o",
            predictions.to_str().unwrap(),
        ],
        true,
    );
    assert!(predictions.is_file(), "alpha predicted");
}

/// `list` takes no name: it never showed other tenants' models, and
/// still does not.
#[test]
fn registry_tenants_list() {
    let home = Owned::shared().home();
    for tenant in ["beta", "default"] {
        let out = ok_as(home, tenant, &["models", "list", "--json"]);
        assert_eq!(json(&out), serde_json::json!([]), "{tenant}");
    }
    let out = ok_as(home, OWNER, &["models", "list", "--json"]);
    assert_eq!(json(&out)[0]["name"], MODEL);
}

/// A tenant registers under its own plain names only: `alpha/churn` is
/// not a model name (by hand or in a pipeline), and `churn` is beta's own
/// model, leaving alpha's untouched.
#[test]
fn registry_tenants_register() {
    let owned = Owned::new();
    let home = owned.home();
    let before = owned.history();
    // alpha's run is not beta's to register.
    let out = as_tenant(
        home,
        "beta",
        &["models", "register", &owned.run, "train", "--name", MODEL],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no run with id"), "{}", stderr(&out));

    let p = churn_pipeline(home, "beta-churn", 1.0);
    let report = json(&ok_as(
        home,
        "beta",
        &["run", p.to_str().unwrap(), "--json"],
    ));
    let beta_run = report["run_id"].as_str().unwrap();
    let stolen = format!("{OWNER}/{MODEL}");
    let out = as_tenant(
        home,
        "beta",
        &["models", "register", beta_run, "train", "--name", &stolen],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`alpha/churn` is not a model name: a model name cannot contain `/`"),
        "{err}"
    );
    // In a pipeline, the name is refused before anything runs.
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("register = \"churn\"", "register = \"alpha/churn\"")
        .replace("name = \"beta-churn\"", "name = \"beta-stolen\"");
    let stolen_pipeline = home.join("stolen.toml");
    std::fs::write(&stolen_pipeline, text).unwrap();
    let out = as_tenant(home, "beta", &["run", stolen_pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("`alpha/churn` is not a model name"),
        "{}",
        stderr(&out)
    );
    assert_eq!(owned.history(), before, "alpha's model changed");

    // beta's own `churn` is v1 of its own model.
    let beta = json(&ok_as(home, "beta", &["models", "list", "--json"]));
    assert_eq!(beta[0]["name"], MODEL);
    assert_eq!(beta[0]["versions"], 1, "{beta}");
    let alpha = json(&ok_as(home, OWNER, &["models", "list", "--json"]));
    assert_eq!(alpha[0]["versions"], 2, "{alpha}");
}
