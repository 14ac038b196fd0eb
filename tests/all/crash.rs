//! Crashes at the worst moments (`SLUICE_CRASH_AT`, see `sluice::crash`):
//! what was recorded is never lost, and `resume` finishes the work.

use crate::support::*;

const MODEL: &str = "breast-cancer-logreg";

/// Issue 18, point 10: a crash between a run's last step and its model
/// registration, or between registration and the run's end, loses
/// nothing: the run is left unfinished, `resume` finishes it, and the
/// model has exactly one version, from that run.
#[test]
fn a_crash_around_registration_is_finished_by_resume() {
    for point in ["run-before-register", "run-before-finish"] {
        let home = home_with_shared_cache();
        let crashed = sluice(home.path())
            .args(["run", "pipelines/breast-cancer.toml", "--json"])
            .env("SLUICE_CRASH_AT", point)
            .output()
            .unwrap();
        assert_eq!(crashed.status.code(), None, "{point}: killed by a signal");
        let runs = ok_json(home.path(), &["runs", "list", "--json"]);
        let run = &runs[0];
        assert_eq!(run["status"], "running", "{point}: {runs}");
        let id = run["id"].as_str().unwrap().to_string();

        let resumed = ok_json(home.path(), &["resume", &id, "--json"]);
        assert_eq!(resumed["status"], "succeeded", "{point}: {resumed}");
        assert_eq!(resumed["registered"][0]["version"], 1, "{point}: {resumed}");
        let versions = ok_json(home.path(), &["models", "show", MODEL, "--json"]);
        let text = versions.to_string();
        assert!(
            text.contains(&id),
            "{point}: the version is the run's: {text}"
        );
        let list = ok_json(home.path(), &["models", "list", "--json"]);
        assert_eq!(list[0]["latest"], 1, "{point}: one version only: {list}");
    }
}

/// Issue 18, point 14: ten processes opening a fresh home at once all get
/// the one database (creating and migrating it take turns).
#[test]
fn concurrent_first_commands_on_a_fresh_home_all_open_the_database() {
    let home = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn({
                let home = home.path().to_owned();
                move || {
                    sluice(&home)
                        .args(["runs", "list", "--json"])
                        .output()
                        .unwrap()
                }
            })
        })
        .collect();
    for child in children {
        let out = child.join().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(json(&out), serde_json::json!([]));
    }
}

/// Issue 18, point 15: a 0-byte `sluice.db` is not silently a new, empty
/// history: commands refuse it, naming the file.
#[test]
fn an_empty_database_file_is_refused_not_replaced() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("sluice.db");
    std::fs::write(&db, b"").unwrap();
    let out = sluice(home.path()).args(["runs", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("is an empty file (0 bytes)"), "{err}");
    assert!(err.contains(&db.display().to_string()), "{err}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "left as it was");
}
