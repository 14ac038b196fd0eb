//! Plugins in any Wasm language: the mixed-language example pipeline, and
//! `sluice new` + `sluice build` + the conformance suite for every language
//! and world.

use crate::support::*;
use std::path::{Path, PathBuf};

const NON_RUST: [&str; 6] = [
    "py-null-check",
    "py-clip",
    "py-naive-bayes",
    "js-range-check",
    "js-log-transform",
    "c-robust-scale",
];

#[test]
fn mixed_language_pipeline_runs_through_the_cli() {
    warm_cache(&NON_RUST);
    let home = home_with_shared_cache();
    let out = sluice(home.path())
        .args(["run", "pipelines/mixed-languages.toml", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(report["status"], "succeeded", "{report}");
    let step = |id: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no step {id}: {report}"))
            .clone()
    };
    for id in [
        "nulls",
        "range",
        "log",
        "scale",
        "clip",
        "logreg",
        "naive_bayes",
        "explain",
    ] {
        assert_eq!(step(id)["status"], "succeeded", "{id}: {report}");
    }
    assert_eq!(step("nulls")["metrics"]["rows"], 427.0);
    assert_eq!(step("range")["metrics"]["out_of_range"], 0.0);
    // The Python model is a real classifier, scored by a Rust validator.
    let nb = step("evaluate_naive_bayes")["metrics"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(nb > 0.9, "naive Bayes holdout accuracy {nb}");
    let lr = step("evaluate_logreg")["metrics"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(lr > 0.95, "logreg holdout accuracy {lr}");
    assert_eq!(step("explain")["metrics"]["features"], 30.0);
}

/// `sluice new` then `sluice build` for every world of `lang`, then the
/// conformance suite on each component. Projects and outputs live under
/// target/generated-plugins, so an unchanged template is not rebuilt.
fn generate_build_and_test(lang: &str) {
    let base = root().join("target/generated-plugins");
    let mut failures = Vec::new();
    for kind in ["validator", "transform", "trainer", "explainer"] {
        let name = format!("gen-{lang}-{kind}");
        let dir = base.join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        let home = tempfile::tempdir().unwrap();
        let new = sluice(home.path())
            .args(["new", "--lang", lang, "--kind", kind, &name, "--dir"])
            .arg(&dir)
            .arg("--sdk")
            .arg(root().join("sdk-rust"))
            .output()
            .unwrap();
        assert!(
            new.status.success(),
            "sluice new {lang} {kind}: {}",
            stderr(&new)
        );
        for file in ["sluice-plugin.toml", "README.md", "wit/sluice.wit"] {
            assert!(dir.join(file).is_file(), "{name}: no {file}");
        }
        if lang == "rust" {
            // The published crate by version; this repository's by a patch.
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            assert!(
                manifest.contains(&format!("sluice-sdk = \"{}\"", env!("CARGO_PKG_VERSION")))
                    && manifest.contains("[patch.crates-io]"),
                "{manifest}"
            );
        }
        let out = base
            .join("out")
            .join(format!("{}.wasm", name.replace('-', "_")));
        // Not Run::output: a Python or JavaScript build may take minutes.
        let build = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["build"])
            .arg(&dir)
            .arg("-o")
            .arg(&out)
            .env("CARGO_TARGET_DIR", base.join("cargo-target"))
            .output()
            .unwrap();
        assert!(
            build.status.success(),
            "sluice build {name}:\n{}{}",
            stdout(&build),
            stderr(&build)
        );
        let rt = shared_runtime();
        let plugin = rt.load(&out).unwrap_or_else(|e| panic!("load {name}: {e}"));
        assert_eq!(plugin.world.name(), kind);
        assert_eq!(plugin.info.name, name);
        let report = block_on(sluice::conformance::run_suite(
            rt,
            &plugin,
            &Default::default(),
        ));
        failures.extend(
            report
                .failed()
                .map(|c| format!("{name}: {}: {}", c.name, c.detail)),
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn new_python_plugins_build_and_pass_conformance() {
    generate_build_and_test("python");
}

#[test]
fn new_javascript_plugins_build_and_pass_conformance() {
    generate_build_and_test("js");
}

#[test]
fn new_c_plugins_build_and_pass_conformance() {
    generate_build_and_test("c");
}

#[test]
fn new_rust_plugins_build_and_pass_conformance() {
    generate_build_and_test("rust");
}

#[test]
fn new_refuses_a_bad_name_and_a_full_directory() {
    let home = tempfile::tempdir().unwrap();
    let bad = sluice(home.path())
        .args(["new", "--lang", "python", "--kind", "validator", "Bad_Name"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("Bad_Name"), "{}", stderr(&bad));
    let full = home.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "x").unwrap();
    let out = sluice(home.path())
        .args([
            "new",
            "--lang",
            "c",
            "--kind",
            "transform",
            "ok-name",
            "--dir",
        ])
        .arg(&full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    // A project whose manifest names an unknown world: the build says so.
    std::fs::write(
        full.join("sluice-plugin.toml"),
        "name = \"x\"\nlang = \"c\"\nworld = \"nope\"\n",
    )
    .unwrap();
    let out = sluice(home.path())
        .arg("build")
        .arg(&full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sluice-plugin.toml") && stderr(&out).contains("nope"),
        "{}",
        stderr(&out)
    );
}

/// `sluice build` of the fixture plugin project `tests/data/plugins/NAME`
/// into `out`.
fn build_fixture(name: &str, out: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("build")
        .arg(root().join("tests/data/plugins").join(name))
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// A one-step pipeline in `dir` running the validator `plugin` (found in
/// `plugins`) on a five-row table whose column `x` is 1, 2, 3, 4, 10.
fn small_table_pipeline(dir: &Path, plugins: &Path, plugin: &str, params: &str) -> PathBuf {
    std::fs::write(dir.join("d.csv"), "x,y\n1,0\n2,1\n3,0\n4,1\n10,0\n").unwrap();
    let text = format!(
        "[pipeline]\nname = \"deps\"\nversion = \"1\"\nplugin_dirs = [{:?}]\n\n[datasets.d]\npath = \"d.csv\"\n\n[[steps]]\nid = \"stats\"\nplugin = \"{plugin}\"\ninput = \"d\"\nparams = {params}\n",
        plugins.display().to_string()
    );
    let path = dir.join("p.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `pipeline` (a small table, then a step `stats`): the run's report
/// and the `stats` step's.
fn stats_step(pipeline: &std::path::Path) -> (serde_json::Value, serde_json::Value) {
    let home = tempfile::tempdir().unwrap();
    let out = sluice(home.path())
        .arg("run")
        .arg(pipeline)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    let step = report["steps"][1].clone();
    assert_eq!(step["id"], "stats", "{report}");
    (report, step)
}

#[test]
fn python_requirements_are_installed_into_the_component() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_fixture("py-tinystats", &dir.path().join("py_tinystats.wasm"));
    assert!(built.status.success(), "{}", stderr(&built));
    // The install happened in the build's scratch copy: the fixture holds
    // no pip output, and no scratch directory is left.
    let src = root().join("tests/data/plugins/py-tinystats/vendor/tinystats");
    assert!(!src.join("build").exists() && !src.join("tinystats.egg-info").exists());
    assert!(!dir.path().join("py_tinystats.build").exists());
    let pipeline =
        small_table_pipeline(dir.path(), dir.path(), "py-tinystats", "{ column = \"x\" }");
    let (report, step) = stats_step(&pipeline);
    // tinystats.mean and tinystats.sum_sq_dev of 1, 2, 3, 4, 10.
    assert_eq!(step["metrics"]["mean"], 4.0, "{report}");
    assert_eq!(step["metrics"]["sum_sq_dev"], 50.0, "{report}");
    // Unchanged inputs: nothing to do.
    let again = build_fixture("py-tinystats", &dir.path().join("py_tinystats.wasm"));
    assert!(stdout(&again).contains("up to date"), "{}", stdout(&again));
}

/// requirements.txt and a vendored package's files are build inputs.
#[test]
fn python_requirements_edits_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("py-tinystats");
    let fixture = root().join("tests/data/plugins/py-tinystats");
    for rel in [
        "sluice-plugin.toml",
        "app.py",
        "requirements.txt",
        "vendor/tinystats/pyproject.toml",
        "vendor/tinystats/tinystats/__init__.py",
    ] {
        let to = project.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture.join(rel), &to).unwrap();
    }
    let build = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("build")
            .arg(&project)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert!(build().contains("built"));
    assert!(build().contains("up to date"));
    let req = project.join("requirements.txt");
    let text = std::fs::read_to_string(&req).unwrap();
    std::fs::write(&req, format!("{text}# edited\n")).unwrap();
    let rebuilt = build();
    assert!(
        rebuilt.contains("built") && !rebuilt.contains("up to date"),
        "{rebuilt}"
    );
    let lib = project.join("vendor/tinystats/tinystats/__init__.py");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}\n# edited\n")).unwrap();
    let rebuilt = build();
    assert!(
        rebuilt.contains("built") && !rebuilt.contains("up to date"),
        "{rebuilt}"
    );
    // pip's in-tree build happened in the scratch copy.
    assert!(!project.join("vendor/tinystats/build").exists());
}

#[test]
fn python_requirements_with_compiled_modules_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("py_native.wasm");
    let built = build_fixture("py-native", &out);
    assert_eq!(built.status.code(), Some(2), "{}", stderr(&built));
    let err = stderr(&built);
    for word in [
        "requirements.txt",
        "package 'fastmean'",
        "_speedups",
        "componentize-py cannot load C extension",
    ] {
        assert!(err.contains(word), "no '{word}' in: {err}");
    }
    assert!(!out.exists() && !dir.path().join("py_native.build").exists());
}

#[test]
fn javascript_npm_dependencies_are_bundled_into_the_component() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_fixture("js-tiny", &dir.path().join("js_tiny.wasm"));
    assert!(built.status.success(), "{}", stderr(&built));
    // npm ran in the build's scratch copy, not in the project.
    let project = root().join("tests/data/plugins/js-tiny");
    assert!(!project.join("node_modules").exists());
    assert!(!dir.path().join("js_tiny.build").exists());
    let pipeline = small_table_pipeline(dir.path(), dir.path(), "js-tiny", "{ column = \"x\" }");
    let (report, step) = stats_step(&pipeline);
    // mean and sumSqDev of the package `tiny`, on 1, 2, 3, 4, 10.
    assert_eq!(step["metrics"]["mean"], 4.0, "{report}");
    assert_eq!(step["metrics"]["sum_sq_dev"], 50.0, "{report}");
}
