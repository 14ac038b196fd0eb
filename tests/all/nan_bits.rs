//! Issue 24, point 4: a tenant's `nan_bits = native` runs its plugins
//! without NaN canonicalization (faster float loops), reruns stay the same
//! bits on this machine, and the step cache keeps native and canonical
//! outputs apart.

use crate::support::*;
use std::path::Path;

fn run(home: &Path, pipeline: &Path, extra: &[&str]) -> serde_json::Value {
    let out = sluice(home)
        .args(["run", "--json"])
        .args(extra)
        .arg(pipeline)
        .output()
        .unwrap();
    json(&succeeded(out, "run"))
}

/// Each step's outputs, and whether it was reused, by step id.
fn steps(report: &serde_json::Value) -> Vec<(String, serde_json::Value, bool)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let id = s["id"].as_str().unwrap().to_string();
            (id, s["outputs"].clone(), s["cached"] == true)
        })
        .collect()
}

#[test]
fn native_nans_rerun_to_the_same_bits_and_are_cached_apart() {
    let home = home_with_shared_cache();
    let home = home.path();
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write_pipeline(
        dir.path(),
        "nans",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n\n\
         [[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"scale\"\n\n\
         [[steps]]\nid = \"evaluate\"\nplugin = \"holdout-eval\"\ninput = \"scale\"\n\
         model = \"train\"\nparams = { target = \"benign\" }\n",
    );
    let bad = sluice(home)
        .args(["tenants", "set", "default", "nan_bits=fast"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("`nan_bits` is `canonical` or `native`, got `fast`"),
        "{}",
        stderr(&bad)
    );

    let canonical = run(home, &pipeline, &[]);
    let tenant = ok_json(
        home,
        &["tenants", "set", "default", "nan_bits=native", "--json"],
    );
    assert_eq!(tenant["caps"]["nan_bits"], "native", "{tenant}");

    // Native: nothing reused from the canonical run, then the same bits
    // when run again from scratch, and verify agrees.
    let native = run(home, &pipeline, &[]);
    for (id, _, cached) in steps(&native) {
        assert!(
            !cached || id.starts_with("dataset:"),
            "{id} reused: {native}"
        );
    }
    let again = run(home, &pipeline, &["--no-cache"]);
    let outputs = |r: &serde_json::Value| {
        steps(r)
            .into_iter()
            .map(|(id, o, _)| (id, o))
            .collect::<Vec<_>>()
    };
    assert_eq!(outputs(&native), outputs(&again));
    let run_id = native["run_id"].as_str().unwrap();
    let verified = sluice(home).args(["verify", run_id]).output().unwrap();
    succeeded(verified, "verify of the native run");

    // Back to canonical: the canonical run's outputs are reused again.
    ok_json(
        home,
        &["tenants", "set", "default", "nan_bits=canonical", "--json"],
    );
    let back = run(home, &pipeline, &[]);
    for (id, _, cached) in steps(&back) {
        assert!(cached, "{id} not reused: {back}");
    }
    assert_eq!(outputs(&back), outputs(&canonical));
}
