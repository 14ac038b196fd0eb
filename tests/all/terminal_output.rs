//! What the CLI prints to a terminal: a trap's stored error has no host
//! backtrace.

use crate::support::*;

#[test]
fn a_trap_s_stored_error_has_the_wasm_backtrace_but_no_host_frames() {
    let dir = tempfile::tempdir().unwrap();
    let home = home_with_shared_cache();
    warm_cache(&["standardize", "hostile"]);
    let pipeline = write_pipeline(
        dir.path(),
        "trap",
        &format!(
            "[[steps]]\nid = \"trap\"\nplugin = {:?}\ninput = \"cancer\"\n\
             params = {{ attack = \"unreachable\" }}\n",
            plugin("hostile").display().to_string()
        ),
    );
    let out = sluice(home.path())
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .arg("run")
        .arg(&pipeline)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let run_id = json(&out)["run_id"].as_str().unwrap().to_owned();
    let shown = sluice(home.path())
        .args(["runs", "show", &run_id, "--json"])
        .output()
        .unwrap();
    let record = json(&shown);
    let steps = record["steps"].as_array().unwrap();
    let trap = steps.iter().find(|s| s["step_id"] == "trap").unwrap();
    let error = trap["error"].as_str().unwrap();
    assert!(error.contains("wasm backtrace"), "{error}");
    assert!(error.contains("- hostile.wasm!"), "a guest frame: {error}");
    for host in [
        "Stack backtrace",
        "wasmtime::",
        "tokio::",
        "sluice::",
        "std::rt",
    ] {
        assert!(!error.contains(host), "host frame {host:?} in {error}");
    }
}
