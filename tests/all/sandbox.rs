//! Hostile plugins: every attack ends as a failed step with a clear
//! message (or is harmless), never as a host panic.

use crate::support::*;
use sluice::runtime::{
    Runtime, RuntimeError, StepContext, StepFailure, StepFailureKind, StepLimits, StepOutput,
};
use sluice::wit;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn runtime() -> &'static Runtime {
    static RT: OnceLock<(Runtime, tempfile::TempDir)> = OnceLock::new();
    let (rt, _) = RT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        (runtime_in(dir.path()), dir)
    });
    rt
}

fn attack(name: &str, limits: StepLimits) -> Result<StepOutput<Vec<u8>>, StepFailure> {
    let plugin = runtime().load(&plugin("hostile")).expect("load hostile");
    let ctx = StepContext::new("attack", limits, 99);
    let params = vec![wit::Param {
        name: "attack".into(),
        value: wit::ParamValue::Text(name.into()),
    }];
    runtime().fit(&plugin, &ctx, &wit::Table { columns: vec![] }, &params)
}

fn assert_names_the_step(f: &StepFailure) {
    let msg = f.to_string();
    assert!(msg.contains("step 'attack'"), "{msg}");
    assert!(msg.contains("hostile@0.1.0"), "{msg}");
    assert!(msg.contains(&f.sha256[..12]), "{msg}");
}

#[test]
fn an_infinite_loop_is_stopped_by_the_time_limit() {
    let limits = StepLimits {
        timeout_ms: 200,
        ..StepLimits::default()
    };
    let started = Instant::now();
    let f = attack("loop", limits).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(f.kind, StepFailureKind::Timeout { timeout_ms: 200 }),
        "{f}"
    );
    assert!(f.to_string().contains("time limit of 200 ms"), "{f}");
    assert_names_the_step(&f);
}

#[test]
fn runaway_memory_is_stopped_by_the_memory_limit() {
    let limits = StepLimits {
        memory_mib: 64,
        ..StepLimits::default()
    };
    for name in ["grow", "huge-state"] {
        let f = attack(name, limits).unwrap_err();
        match f.kind {
            StepFailureKind::MemoryLimit { limit, desired } => {
                assert_eq!(limit, 64 << 20);
                assert!(desired > limit);
            }
            _ => panic!("{name}: expected a memory limit failure, got {f}"),
        }
        assert!(f.to_string().contains("memory limit"), "{f}");
        assert_names_the_step(&f);
    }
}

#[test]
fn a_panic_is_a_trap_with_the_message_in_the_log() {
    let f = attack("panic", StepLimits::default()).unwrap_err();
    assert!(matches!(f.kind, StepFailureKind::Trap { .. }), "{f}");
    assert!(
        f.log.contains("hostile plugin panicked on purpose"),
        "log: {}",
        f.log
    );
    assert_names_the_step(&f);
}

#[test]
fn exit_is_a_failed_step() {
    // wasi:cli/exit carries only success or failure: exit(3) arrives as 1.
    let f = attack("exit", StepLimits::default()).unwrap_err();
    assert!(f.to_string().contains("the plugin called exit(1)"), "{f}");
    assert_names_the_step(&f);
}

#[test]
fn nothing_is_granted() {
    // No preopened directory: reading a host file fails inside the plugin.
    let f = attack("read-file", StepLimits::default()).unwrap_err();
    assert!(matches!(f.kind, StepFailureKind::Guest { .. }), "{f}");
    assert!(f.to_string().contains("read failed"), "{f}");
    // No environment variables, no arguments.
    let out = attack("env", StepLimits::default()).unwrap();
    assert_eq!(out.value, vec![0u8; 16]);
}

#[test]
fn clocks_and_randomness_repeat() {
    let a = attack("clock-random", StepLimits::default()).unwrap().value;
    let b = attack("clock-random", StepLimits::default()).unwrap().value;
    assert_eq!(a, b);
    let text = String::from_utf8(a).unwrap();
    assert!(text.starts_with("1704067200"), "{text}");
}

#[test]
fn log_spam_is_truncated_with_a_marker() {
    let limits = StepLimits {
        log_kib: 8,
        ..StepLimits::default()
    };
    let out = attack("log-spam", limits).unwrap();
    assert!(
        out.log.contains("log truncated"),
        "{}",
        &out.log[out.log.len().saturating_sub(200)..]
    );
    assert!(out.log.len() < 8 * 1024 + 200, "{}", out.log.len());
}

#[test]
fn a_socket_import_is_refused_at_load() {
    let err = runtime()
        .load(&plugin("hostile-net"))
        .err()
        .expect("refused");
    match &err {
        RuntimeError::ForbiddenImports { imports, .. } => {
            assert!(
                imports.iter().any(|i| i.starts_with("wasi:sockets/")),
                "{imports:?}"
            );
        }
        other => panic!("expected ForbiddenImports, got {other}"),
    }
    assert!(err.to_string().contains("wasi:sockets"), "{err}");
    assert!(err.to_string().contains("hostile_net.wasm"), "{err}");
}

fn load_bytes(bytes: &[u8]) -> RuntimeError {
    runtime()
        .load_bytes(bytes, Path::new("fixture.wasm"))
        .err()
        .expect("refused")
}

#[test]
fn core_modules_corrupt_files_and_wrong_worlds_are_refused() {
    let e = load_bytes(b"\0asm\x01\0\0\0");
    assert!(e.to_string().contains("core Wasm module"), "{e}");
    let e = load_bytes(b"PK\x03\x04 not wasm at all");
    assert!(e.to_string().contains("magic"), "{e}");
    let whole = std::fs::read(plugin("logreg")).unwrap();
    let e = load_bytes(&whole[..whole.len() / 2]);
    assert!(e.to_string().contains("fixture.wasm"), "{e}");
    // An empty component implements no world.
    let e = load_bytes(b"\0asm\x0d\0\x01\0");
    assert!(e.to_string().contains("implements no sluice world"), "{e}");
}

#[test]
fn failing_plugins_in_a_pipeline_fail_the_run_not_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let hostile = plugin("hostile").display().to_string();
    let pipeline = write_pipeline(
        dir.path(),
        "hostile",
        &format!(
            r#"
[[steps]]
id = "scale"
plugin = "standardize"
input = "cancer"

[[steps]]
id = "spin"
plugin = {hostile:?}
input = "scale"
params = {{ attack = "loop" }}
limits = {{ timeout_ms = 300 }}
"#
        ),
    );
    let out = sluice(&home)
        .arg("run")
        .arg(&pipeline)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["steps"][1]["status"], "succeeded");
    let err = report["steps"][2]["error"].as_str().unwrap();
    assert!(
        err.contains("step 'spin'") && err.contains("time limit of 300 ms"),
        "{err}"
    );
    let run_id = report["run_id"].as_str().unwrap();
    let out = sluice(&home)
        .args(["runs", "show", run_id])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("time limit"), "{}", stdout(&out));

    // apply returns columns of different lengths: refused, named.
    let pipeline = write_pipeline(
        dir.path(),
        "ragged",
        &format!("[[steps]]\nid = \"ragged\"\nplugin = {hostile:?}\ninput = \"cancer\"\n"),
    );
    let out = sluice(&home)
        .arg("run")
        .arg(&pipeline)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = json(&out)["steps"][1]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(err.contains("invalid table") && err.contains('b'), "{err}");
}
