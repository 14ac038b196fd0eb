//! Read-only directory grants: named in the pipeline, allowed by the
//! tenant, recorded in the run; nothing else of the host is visible.

use crate::support::*;
use std::path::Path;

const NOTES: &str = "reference data, version 1\n";

/// A pipeline whose one step runs a hostile `attack`, with `grants`.
fn pipeline(dir: &Path, attack: &str, grants: &str) -> std::path::PathBuf {
    let reference = dir.join("reference");
    std::fs::create_dir_all(&reference).unwrap();
    std::fs::write(reference.join("notes.txt"), NOTES).unwrap();
    write_pipeline(
        dir,
        attack,
        &format!(
            "[grants]\nreference = {:?}\n\n[[steps]]\nid = \"read\"\nplugin = \"hostile\"\n\
             input = \"cancer\"\nparams = {{ attack = \"{attack}\" }}\ngrants = {grants}\n",
            reference.display().to_string()
        ),
    )
}

fn run(home: &Path, tenant: &str, p: &Path) -> std::process::Output {
    sluice(home)
        .args(["--tenant", tenant, "run", "--json"])
        .arg(p)
        .output()
        .unwrap()
}

#[test]
fn a_grant_needs_the_tenant_to_allow_its_directory() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), "read-grant", "[\"reference\"]");
    let out = run(home.path(), "default", &p);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("step 'read': grant 'reference'"), "{err}");
    assert!(err.contains("allowed_dirs"), "{err}");
    let runs = sluice(home.path())
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&runs), serde_json::json!([]), "nothing recorded");
}

#[test]
fn a_granted_directory_is_readable_read_only_and_recorded() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let allowed = data_dirs(&[dir.path()]);
    let out = sluice(home.path())
        .args(["tenants", "create", "lab", &allowed])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let p = pipeline(dir.path(), "read-grant", "[\"reference\"]");
    let out = run(home.path(), "lab", &p);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report = json(&out);
    let state = report["steps"][1]["outputs"]["state"].as_str().unwrap();
    let got = sluice(home.path())
        .args(["--tenant", "lab", "artifacts", "get", state, "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout), NOTES);
    // The run records what was granted.
    let shown = sluice(home.path())
        .args(["--tenant", "lab", "runs", "show", "--json"])
        .arg(report["run_id"].as_str().unwrap())
        .output()
        .unwrap();
    let step = &json(&shown)["steps"][1];
    assert_eq!(step["step_id"], "read");
    assert_eq!(step["grants"][0]["name"], "reference");
    assert!(
        step["grants"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("reference")
    );

    // Read-only: a write fails and leaves nothing behind.
    let p = pipeline(dir.path(), "write-grant", "[\"reference\"]");
    let out = run(home.path(), "lab", &p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = json(&out)["error"].as_str().unwrap().to_string();
    assert!(err.contains("write failed"), "{err}");
    assert!(!dir.path().join("reference/evil.txt").exists());

    // Without the grant, the same directory is not there.
    // (a changed definition: a new version of the pipeline)
    let p = pipeline(dir.path(), "read-grant", "[]");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replace("version = \"1\"", "version = \"2\"")).unwrap();
    let out = run(home.path(), "lab", &p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = json(&out)["error"].as_str().unwrap().to_string();
    assert!(err.contains("read failed"), "{err}");
}

#[test]
fn an_undeclared_or_missing_grant_is_a_pipeline_error() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), "read-grant", "[\"elsewhere\"]");
    let out = run(home.path(), "default", &p);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("step 'read': grant 'elsewhere' is not declared in [grants]"),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("/reference\"", "/nowhere\"");
    std::fs::write(&p, text).unwrap();
    let out = run(home.path(), "default", &p);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("[grants] 'reference': cannot use"),
        "{}",
        stderr(&out)
    );
}

/// A pipeline of `steps` hostile steps, each running `attack` on the
/// dataset with the reference grant, side by side (none reads another's
/// output), then `independent`: a standardize step that waits for none of
/// them.
fn waiting_pipeline(dir: &Path, attack: &str, steps: usize, limits: &str) -> std::path::PathBuf {
    let reference = dir.join("reference");
    std::fs::create_dir_all(&reference).unwrap();
    let mut body = format!(
        "[grants]\nreference = {:?}\n\n",
        reference.display().to_string()
    );
    for i in 0..steps {
        body += &format!(
            "[[steps]]\nid = \"wait{i}\"\nplugin = \"hostile\"\ninput = \"cancer\"\n\
             params = {{ attack = \"{attack}\" }}\ngrants = [\"reference\"]\nlimits = {{ {limits} }}\n\n"
        );
    }
    body += "[[steps]]\nid = \"independent\"\nplugin = \"standardize\"\ninput = \"cancer\"\n";
    write_pipeline(dir, attack, &body)
}

/// Issue 18, point 1: a step that waits in a host call (here the open of
/// a FIFO in its granted directory, which waits for a writer that never
/// comes) ends at its time limit like a step that spins, and does not hold
/// the run: the independent step still runs.
#[test]
fn a_step_waiting_on_a_fifo_in_its_grant_ends_at_its_time_limit() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let allowed = data_dirs(&[dir.path()]);
    succeeded(
        sluice(home.path())
            .args(["tenants", "create", "lab", &allowed])
            .output()
            .unwrap(),
        "tenants create",
    );
    let p = waiting_pipeline(dir.path(), "read-fifo", 2, "timeout_ms = 400");
    let fifo = dir.path().join("reference/fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let out = run(home.path(), "lab", &p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let err = report["error"].as_str().unwrap().to_string();
    assert!(err.contains("time limit of 400 ms"), "{err}");
    let steps = report["steps"].as_array().unwrap();
    let status = |id: &str| {
        steps
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["status"].clone())
            .unwrap_or_else(|| panic!("no step {id} in {report}"))
    };
    assert_eq!(status("independent"), "succeeded", "{report}");
}

/// Issue 18, point 1: a tenant's time limit holds over a step that sleeps
/// on the WASI monotonic clock (an hour, then u64::MAX nanoseconds at a
/// time), metered or not.
#[test]
fn a_tenant_time_limit_holds_over_a_sleeping_step() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (tenant, fuel) in [("plain", "fuel=none"), ("metered", "fuel=1000000000")] {
        succeeded(
            sluice(home.path())
                .args(["tenants", "create", tenant, "timeout_ms=300", fuel])
                .arg(data_dirs(&[dir.path()]))
                .output()
                .unwrap(),
            "tenants create",
        );
        for attack in ["sleep", "sleep-forever"] {
            let p = waiting_pipeline(dir.path(), attack, 1, "");
            let out = run(home.path(), tenant, &p);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{tenant} {attack}: {}",
                stderr(&out)
            );
            let err = json(&out)["error"].as_str().unwrap().to_string();
            assert!(
                err.contains("time limit of 300 ms"),
                "{tenant} {attack}: {err}"
            );
        }
    }
}

/// Issue 18, point 4: a grant is opened once, by descriptor, and the
/// sandbox gets that descriptor: swapping the granted directory for a
/// symlink to another directory afterwards changes nothing the step reads.
/// A grant that was never opened is refused, not opened by path.
#[test]
fn a_grant_swapped_for_a_symlink_after_admission_still_reads_the_opened_directory() {
    use sluice::runtime::{Grant, StepContext, StepFailureKind, StepLimits};
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    let elsewhere = dir.path().join("elsewhere");
    for (d, text) in [
        (&reference, NOTES),
        (&elsewhere, "secret of another tenant\n"),
    ] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("notes.txt"), text).unwrap();
    }
    let planned = Grant::planned("reference", &reference);
    let admitted = planned.open().unwrap();
    assert_eq!(admitted.path, reference.canonicalize().unwrap());
    // The swap: the granted path now leads elsewhere.
    std::fs::rename(&reference, dir.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &reference).unwrap();

    let rt = shared_runtime();
    let hostile = rt.load(&plugin("hostile")).unwrap();
    let (features, _) = crate::hostile_corpus::cancer();
    let params = [sluice::wit::Param {
        name: "attack".into(),
        value: sluice::wit::ParamValue::Text("read-grant".into()),
    }];
    let mut ctx = StepContext::new("read", StepLimits::default(), 1);
    ctx.grants = vec![admitted];
    let read = block_on(rt.fit(&hostile, &ctx, features, &params)).unwrap();
    assert_eq!(String::from_utf8_lossy(&read.value), NOTES);

    ctx.grants = vec![planned];
    let refused = block_on(rt.fit(&hostile, &ctx, features, &params)).unwrap_err();
    assert!(
        matches!(&refused.kind, StepFailureKind::InvalidLimits { message }
            if message.contains("was not opened when the run was admitted")),
        "{refused}"
    );
}

/// Issue 18, point 3: a tenant's datasets come from its allowed_dirs only
/// (symlinks resolved), and no one's dataset is a kernel interface, a FIFO
/// or a device; each refusal names what the file is, and nothing runs.
#[test]
fn datasets_come_from_the_tenants_allowed_dirs_and_are_regular_files() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    let inside = allowed.join("cancer.csv");
    let example = root().join("pipelines/data/breast_cancer.csv");
    std::fs::copy(&example, &inside).unwrap();
    let escape = allowed.join("escape.csv");
    std::os::unix::fs::symlink(&example, &escape).unwrap();
    let environ = allowed.join("environ.csv");
    std::os::unix::fs::symlink("/proc/self/environ", &environ).unwrap();
    let fifo = allowed.join("fifo.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    succeeded(
        sluice(home.path())
            .args(["tenants", "create", "lab"])
            .arg(format!("allowed_dirs={}", allowed.display()))
            .output()
            .unwrap(),
        "tenants create",
    );

    // Inside: it runs.
    let p = pipeline_reading(dir.path(), "inside", &inside);
    let out = run(home.path(), "lab", &p);
    assert!(out.status.success(), "{}", stderr(&out));

    let refused = |tenant: &str, name: &str, data: &Path, needle: &str| {
        let p = pipeline_reading(dir.path(), name, data);
        let out = run(home.path(), tenant, &p);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{tenant} {name}: {}",
            stdout(&out)
        );
        let err = stderr(&out);
        assert!(err.contains(needle), "{tenant} {name}: {err}");
    };
    let outside = "is not inside any of tenant 'lab''s allowed_dirs";
    refused("lab", "outside", &example, outside);
    refused("lab", "escape", &escape, outside);
    for tenant in ["lab", "default"] {
        refused(tenant, "environ", &environ, "a kernel interface");
        refused(tenant, "fifo", &fifo, "is a FIFO, not a regular file");
        refused(
            tenant,
            "device",
            Path::new("/dev/zero"),
            "is a device, not a regular file",
        );
    }
    // Nothing of the refused runs was recorded.
    let runs = sluice(home.path())
        .args(["--tenant", "lab", "runs", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        json(&runs).as_array().unwrap().len(),
        1,
        "only the run inside"
    );
}

/// Issue 18, point 15: an empty file, a header alone and a Parquet file
/// of no rows fail the dataset step, naming the file, instead of passing
/// it and failing later in a plugin.
#[test]
fn datasets_without_rows_fail_the_dataset_step_naming_the_file() {
    use sluice::data::RecordBatch;
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    let header = dir.path().join("header.csv");
    std::fs::write(&header, b"radius,benign\n").unwrap();
    let parquet = dir.path().join("none.parquet");
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("radius", arrow::datatypes::DataType::Float64, false),
        arrow::datatypes::Field::new("benign", arrow::datatypes::DataType::Int64, false),
    ]));
    let none = RecordBatch::new_empty(schema);
    std::fs::write(&parquet, sluice::data::write_parquet(&none).unwrap()).unwrap();
    for (name, file) in [("empty", &empty), ("header", &header), ("none", &parquet)] {
        let p = pipeline_reading(dir.path(), name, file);
        let out = run(home.path(), "default", &p);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = json(&out)["error"].as_str().unwrap().to_string();
        assert!(err.contains(&file.display().to_string()), "{name}: {err}");
        if name != "empty" {
            assert!(err.contains("has no rows"), "{name}: {err}");
        }
    }
}
