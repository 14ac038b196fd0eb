//! What the CLI prints to a terminal: a plugin's terminal escapes (in its
//! log, its error, its version and doc) are shown escaped, in human output
//! and in JSON; a trap's stored error has no host backtrace; a reader that
//! goes away ends the output quietly; read-only commands create no home.

use crate::support::*;
use std::path::Path;
use std::process::{Command, Stdio};

/// The characters a terminal may act on that no output of sluice may
/// carry raw: C0 controls but line feed and tab, DEL, C1 controls, bidi
/// overrides and isolates.
fn raw_controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|&c| {
            matches!(c,
                '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// Runs sluice, checks its exit code and that neither stream carries a
/// raw control character; returns stdout and stderr.
fn shown(home: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = sluice(home).args(args).output().unwrap();
    // {:?}: a failing assertion must not send the escapes to this terminal.
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(code), "{args:?}: {o:?} {e:?}");
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let raw = raw_controls(bytes);
        assert!(
            raw.is_empty(),
            "{args:?}: raw {raw:?} on {name}: {o:?} {e:?}"
        );
    }
    (o, e)
}

fn terminal_pipeline(dir: &Path) -> std::path::PathBuf {
    write_pipeline(
        dir,
        "terminal",
        &format!(
            "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n\n\
             [[steps]]\nid = \"evil\"\nplugin = {:?}\ninput = \"scale\"\n\
             params = {{ attack = \"terminal\" }}\n",
            plugin("hostile").display().to_string()
        ),
    )
}

#[test]
fn a_plugin_s_terminal_escapes_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let home = home_with_shared_cache();
    let home = home.path();
    warm_cache(&["standardize", "hostile"]);
    let pipeline = terminal_pipeline(dir.path());
    let pipeline = pipeline.to_str().unwrap();

    // The error, with the plugin's version, as `sluice run` reports it.
    let (_, err) = shown(home, &["run", pipeline], 1);
    for escaped in [
        "hostile@0.1.0\\x1b[0m",
        "error \\x1b]0;pwned-title\\x07 \\x1b]52;c;cHduZWQ=\\x07 \\u{9b}31m\\x7f\\x0d\\u{202e}desrever",
    ] {
        assert!(err.contains(escaped), "no {escaped:?} in {err:?}");
    }
    let (out, _) = shown(home, &["runs", "list", "--limit", "1", "--json"], 0);
    let run_id = serde_json::from_str::<serde_json::Value>(&out).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // `runs show`: the plugin column, the error and the log.
    let (out, _) = shown(home, &["runs", "show", &run_id], 0);
    for escaped in [
        "hostile@0.1.0\\x1b[0m",
        "error \\x1b]0;pwned-title\\x07",
        "[info] log \\x1b]0;pwned-title\\x07 \\x1b]52;c;cHduZWQ=\\x07 \\u{9b}31m",
        "stdout \\x1b]0;pwned-title\\x07",
    ] {
        assert!(out.contains(escaped), "no {escaped:?} in {out:?}");
    }
    // `runs list`: the run's error.
    let (out, _) = shown(home, &["runs", "list"], 0);
    assert!(out.contains("pwned-title\\x07"), "{out:?}");
    // `plugin inspect`: the version and the doc.
    let hostile = plugin("hostile");
    let (out, _) = shown(home, &["plugin", "inspect", hostile.to_str().unwrap()], 0);
    assert!(out.contains("hostile@0.1.0\\x1b[0m"), "{out:?}");
    assert!(out.contains("(tests only).\\u{9b}0m"), "{out:?}");

    // JSON: escaped too (serde_json leaves DEL, C1 and bidi raw), and it
    // still means the plugin's text.
    for args in [
        vec!["runs", "show", &run_id, "--json"],
        vec!["runs", "list", "--json"],
    ] {
        let (out, _) = shown(home, &args, 0);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        let run = if value.is_array() { &value[0] } else { &value };
        let error = run["error"].as_str().unwrap();
        assert!(
            error.contains("\u{1b}]52;c;cHduZWQ=\u{7} \u{9b}31m\u{7f}\r\u{202e}"),
            "{error:?}"
        );
    }
}

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

/// `sluice ARGS` with its standard output a pipe nobody reads any more.
fn with_closed_stdout(home: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .env("SLUICE_HOME", home)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["runs", "list", "--json"][..],
        &["runs", "list"],
        &["tenants", "list"],
    ] {
        let out = with_closed_stdout(home.path(), args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    // Another failure to write is an error, not a panic.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .env("SLUICE_HOME", home.path())
        .args(["runs", "list", "--json"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: cannot write to standard output"),
        "{}",
        stderr(&out)
    );
}

/// Commands that only read, pointed at a home that was never made, answer
/// as an empty home would, say on stderr that there is no home there, and
/// create nothing: no directory, no database, no compile cache.
#[test]
fn read_only_commands_on_a_missing_home_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("never-made");
    let logreg = plugin("logreg");
    let commands: [&[&str]; 8] = [
        &["runs", "list", "--json"],
        &["models", "list", "--json"],
        &["pipelines", "list", "--json"],
        &["tenants", "list", "--json"],
        &["triggers", "list"],
        &["monitor", "show", "churn"],
        &["gc"],
        &["plugin", "inspect", logreg.to_str().unwrap()],
    ];
    for args in commands {
        let out = sluice(&home).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(!home.exists(), "{args:?} created {}", home.display());
        if args[0] != "plugin" {
            let err = stderr(&out);
            assert!(err.contains("no sluice home at"), "{args:?}: {err}");
            assert!(err.contains("nothing was created"), "{args:?}: {err}");
        }
    }
    let runs = ok_json(&home, &["runs", "list", "--json"]);
    assert_eq!(runs, serde_json::json!([]));
    let tenants = ok_json(&home, &["tenants", "list", "--json"]);
    assert!(tenants.to_string().contains("\"default\""), "{tenants}");
    let out = sluice(&home)
        .args(["runs", "show", "abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no run with id `abc`"),
        "{}",
        stderr(&out)
    );
    assert!(!home.exists());
    // A command that writes still makes the home.
    let out = sluice(&home)
        .args(["tenants", "create", "lab"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.join("sluice.db").is_file());
}

/// `sluice run` on a terminal (a pseudo-terminal from util-linux's
/// `script`): each finished step gets a line, and a step reused from the
/// cache says which run its outputs came from instead of a time.
#[test]
fn on_a_terminal_each_step_is_shown_and_cached_ones_say_so() {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write_pipeline(
        dir.path(),
        "tty",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    warm_cache(&["standardize"]);
    let on_tty = || {
        let command = format!(
            "{} run {}",
            env!("CARGO_BIN_EXE_sluice"),
            pipeline.display()
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("SLUICE_HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("user-data"))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stdout(&out));
        stdout(&out)
    };
    let first = on_tty();
    assert!(first.contains("✓ scale"), "{first:?}");
    assert!(!first.contains("cached from"), "{first:?}");
    let second = on_tty();
    let line = second
        .lines()
        .find(|l| l.contains("✓ scale"))
        .unwrap_or_else(|| panic!("{second:?}"));
    assert!(line.contains("cached from "), "{line:?}");
}
