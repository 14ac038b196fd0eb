//! What the recorded io edges tell: `sluice lineage` (up and down),
//! `sluice runs diff` and `sluice pipelines list/show`, on one recorded
//! history: pipeline `history` v1 run twice (same digests), then v2 with a
//! different regularisation.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const BODY: &str = r#"
[[steps]]
id = "impute"
plugin = "impute"
input = "cancer"

[[steps]]
id = "scale"
plugin = "standardize"
input = "impute"

[[steps]]
id = "train"
plugin = "logreg"
input = "scale"
params = { c = 1.0 }

[[steps]]
id = "evaluate"
plugin = "holdout-eval"
input = "scale"
model = "train"
params = { target = "benign" }
"#;

struct History {
    home: PathBuf,
    /// v1, v1 again, v2.
    runs: [Value; 3],
}

fn history() -> &'static History {
    static HISTORY: OnceLock<History> = OnceLock::new();
    HISTORY.get_or_init(|| {
        // Kept for the whole process (a static is never dropped), so in
        // the target's scratch directory, emptied by the next run.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("history");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let home = dir.join("home");
        let v1 = write_pipeline(&dir, "history", BODY);
        let text = std::fs::read_to_string(&v1).unwrap();
        let v2 = dir.join("history-v2.toml");
        std::fs::write(
            &v2,
            text.replace("version = \"1\"", "version = \"2\"")
                .replace("c = 1.0", "c = 0.05"),
        )
        .unwrap();
        let run = |p: &Path| {
            let out = sluice(&home)
                .args(["run", "--json"])
                .arg(p)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
            json(&out)
        };
        let runs = [run(&v1), run(&v1), run(&v2)];
        History { home, runs }
    })
}

fn run_id(run: &Value) -> String {
    run["run_id"].as_str().unwrap().to_owned()
}

fn output(run: &Value, step: &str, name: &str) -> String {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == step)
        .unwrap_or_else(|| panic!("no step {step} in {run}"))["outputs"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no output {name} of {step} in {run}"))
        .to_owned()
}

fn ok(home: &Path, args: &[&str]) -> std::process::Output {
    succeeded(
        sluice(home).args(args).output().unwrap(),
        &format!("sluice {args:?}"),
    )
}

/// Every (run, step) in a lineage tree, and the leaves (no steps).
fn walk(node: &Value, steps: &mut BTreeSet<(String, String)>, leaves: &mut Vec<String>) {
    let list = node["steps"].as_array().unwrap();
    if list.is_empty() && node.get("repeated").is_none() {
        leaves.push(node["digest"].as_str().unwrap().to_owned());
    }
    for s in list {
        steps.insert((
            s["run_id"].as_str().unwrap().to_owned(),
            s["step_id"].as_str().unwrap().to_owned(),
        ));
        for e in s["edges"].as_array().unwrap() {
            walk(&e["artifact"], steps, leaves);
        }
    }
}

#[test]
fn lineage_shows_the_upstream_tree_and_the_downstream_uses() {
    let h = history();
    let first = run_id(&h.runs[0]);
    let model = output(&h.runs[0], "train", "model");

    let tree = json(&ok(&h.home, &["lineage", &model, "--json"]));
    assert_eq!(tree["digest"], model);
    assert_eq!(tree["steps"][0]["step_id"], "train");
    assert_eq!(tree["steps"][0]["run_id"], first.as_str());
    assert_eq!(tree["steps"][0]["as_name"], "model");
    // The rerun wrote the same bytes: named, not expanded.
    assert_eq!(
        tree["also_made_by"][0]["run_id"],
        run_id(&h.runs[1]).as_str()
    );
    let (mut steps, mut leaves) = (BTreeSet::new(), Vec::new());
    walk(&tree, &mut steps, &mut leaves);
    let ids: BTreeSet<_> = steps.iter().map(|(_, s)| s.as_str()).collect();
    // The cancer data has no missing values, so impute passes the split
    // through byte for byte: the split made those bytes, and impute is named
    // as having written them too.
    assert_eq!(
        ids,
        BTreeSet::from(["dataset:cancer", "scale", "train"]),
        "{tree}"
    );
    let also = tree.to_string();
    assert!(also.contains(r#""step_id":"impute""#), "{tree}");
    // The one outside input is the dataset file's bytes.
    let source = sluice(&h.home)
        .args(["runs", "show", &first, "--json"])
        .output()
        .unwrap();
    let source = json(&source)["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == "dataset:cancer")
        .unwrap()["inputs"]["source"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(leaves, std::slice::from_ref(&source), "{tree}");

    let text = stdout(&ok(&h.home, &["lineage", &model]));
    assert!(text.starts_with(&model), "{text}");
    for needle in [
        "made as `model` by step train of run",
        "by step scale",
        "by step impute",
        "by step dataset:cancer",
        "no recorded producer",
        "also written by step train",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }

    // Downstream of the dataset file: every step of every run read from it.
    let down = json(&ok(
        &h.home,
        &["lineage", &source, "--downstream", "--json"],
    ));
    let (mut steps, mut _leaves) = (BTreeSet::new(), Vec::new());
    walk(&down, &mut steps, &mut _leaves);
    for run in &h.runs {
        assert!(
            steps.contains(&(run_id(run), "dataset:cancer".to_owned())),
            "{down}"
        );
    }
    let ids: BTreeSet<_> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert!(ids.is_superset(&BTreeSet::from(["impute", "scale", "train", "evaluate"])));
    let text = stdout(&ok(&h.home, &["lineage", &source, "--downstream"]));
    assert!(
        text.contains("read as `source` by step dataset:cancer"),
        "{text}"
    );

    // An artifact nothing recorded.
    let unknown = "0".repeat(64);
    let out = sluice(&h.home)
        .args(["lineage", &unknown])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no run"), "{}", stderr(&out));
}

#[test]
fn runs_diff_shows_what_changed_and_nothing_for_a_rerun() {
    let h = history();
    let (a, a2, b) = (run_id(&h.runs[0]), run_id(&h.runs[1]), run_id(&h.runs[2]));

    let same = json(&ok(&h.home, &["runs", "diff", &a, &a2, "--json"]));
    assert_eq!(same["run"], Value::Array(vec![]), "{same}");
    assert_eq!(same["steps"], Value::Array(vec![]), "{same}");
    assert_eq!(same["same"].as_array().unwrap().len(), 5, "{same}");
    let text = stdout(&ok(&h.home, &["runs", "diff", &a, &a2]));
    assert!(text.contains("no differences"), "{text}");

    let diff = json(&ok(&h.home, &["runs", "diff", &a, &b, "--json"]));
    let run_fields: Vec<_> = diff["run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(run_fields, ["version", "definition_sha256"], "{diff}");
    let step = |id: &str| {
        diff["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step_id"] == id)
            .unwrap_or_else(|| panic!("{id} not among the differing steps: {diff}"))
            .clone()
    };
    let train = step("train");
    assert_eq!(train["params"][0]["name"], "c");
    assert_eq!(train["params"][0]["a"], 1.0);
    assert_eq!(train["params"][0]["b"], 0.05);
    assert_eq!(train["outputs"][0]["name"], "model");
    let evaluate = step("evaluate");
    assert_eq!(evaluate["inputs"][0]["name"], "model", "{evaluate}");
    assert!(
        evaluate["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "log_loss"),
        "{evaluate}"
    );
    let same: Vec<_> = diff["same"].as_array().unwrap().iter().collect();
    assert_eq!(same, ["dataset:cancer", "impute", "scale"], "{diff}");

    let text = stdout(&ok(&h.home, &["runs", "diff", &a, &b]));
    for needle in [
        "version            1 -> 2",
        "step train",
        "param c",
        "1.0 -> 0.05",
        "metric log_loss",
        "same in both: dataset:cancer, impute, scale",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    // Differences are rounded to 4 significant digits and digests are
    // shown as the tables show them (12 characters).
    let delta = text
        .lines()
        .find(|l| l.contains("metric log_loss"))
        .and_then(|l| l.rsplit_once('(').map(|(_, d)| d.trim_end_matches(')')))
        .unwrap_or_else(|| panic!("no delta of log_loss in:\n{text}"));
    let digits = delta.chars().filter(char::is_ascii_digit).count();
    assert!(digits <= 8, "delta {delta} not rounded:\n{text}");
    let model_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("output model"))
        .unwrap_or_else(|| panic!("no model line in:\n{text}"));
    let longest = model_line
        .split_whitespace()
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert_eq!(longest, 12, "digests shortened: {model_line}");
}

#[test]
fn pipelines_list_and_show_the_recorded_versions_and_their_runs() {
    let h = history();
    let list = json(&ok(&h.home, &["pipelines", "list", "--json"]));
    let versions: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap(),
                v["version"].as_str().unwrap(),
                v["runs"].as_i64().unwrap(),
                v["definition_sha256"].as_str().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(versions, [("history", "1", 2, 64), ("history", "2", 1, 64)]);
    let text = stdout(&ok(&h.home, &["pipelines", "list"]));
    assert!(text.contains("history"), "{text}");

    let show = json(&ok(&h.home, &["pipelines", "show", "history", "--json"]));
    let v1 = &show["versions"][0];
    let runs: BTreeSet<_> = v1["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        runs,
        BTreeSet::from([run_id(&h.runs[0]), run_id(&h.runs[1])])
    );
    assert!(v1["definition"].as_str().unwrap().contains("c = 1.0"));
    assert_eq!(
        show["versions"][1]["runs"][0]["id"],
        run_id(&h.runs[2]).as_str()
    );
    let text = stdout(&ok(
        &h.home,
        &["pipelines", "show", "history", "--definition"],
    ));
    assert!(
        text.contains("c = 0.05") && text.contains(&run_id(&h.runs[2])),
        "{text}"
    );

    let out = sluice(&h.home)
        .args(["pipelines", "show", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no pipeline named `nope`"),
        "{}",
        stderr(&out)
    );
}

/// A home the user may only read (a read-only mount, another user's home)
/// still shows its history: the database is opened read-only, creating
/// nothing beside it, and a command that writes fails naming the file.
#[test]
fn a_read_only_home_lists_and_shows_its_runs() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "readonly", BODY);
    let run = ok_json(home.path(), &["run", p.to_str().unwrap(), "--json"]);
    let id = run_id(&run);
    let scaled = output(&run, "scale", "train");
    // The command closed its database: no write-ahead log is left behind.
    assert!(!home.path().join("sluice.db-wal").exists());
    // As root, read it as another user; otherwise take the write bits.
    let as_reader = |args: &[&str]| {
        let mut c = sluice(home.path()).0;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let program = c.get_program().to_owned();
            let mut reader = std::process::Command::new("setpriv");
            reader
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(program)
                .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
                .current_dir("/");
            c = reader;
        }
        c.args(args).output().unwrap()
    };
    {
        use std::os::unix::fs::PermissionsExt;
        let readable = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(dir.path(), readable).unwrap();
    }
    let mut modes = Vec::new();
    for entry in walkdir(home.path()) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&entry).unwrap().permissions().mode();
        modes.push((entry.clone(), mode));
        let read_only = if entry.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(read_only)).unwrap();
    }
    let listed = as_reader(&["runs", "list", "--json"]);
    let shown = as_reader(&["runs", "show", &id, "--json"]);
    let traced = as_reader(&["lineage", &scaled, "--json"]);
    let rerun = as_reader(&["run", p.to_str().unwrap()]);
    for (path, mode) in &modes {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    for (what, out) in [("list", &listed), ("show", &shown), ("lineage", &traced)] {
        assert!(out.status.success(), "{what}: {}", stderr(out));
    }
    assert_eq!(json(&listed)[0]["id"], id.as_str());
    assert_eq!(json(&shown)["status"], "succeeded");
    assert_eq!(rerun.status.code(), Some(2), "{}", stderr(&rerun));
    assert!(
        stderr(&rerun).contains("sluice.db"),
        "the error names the file: {}",
        stderr(&rerun)
    );
    let after: Vec<PathBuf> = walkdir(home.path());
    let before: Vec<PathBuf> = modes.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(after, before, "the readers created files in the home");
}

/// `path` and everything under it, directories first.
fn walkdir(path: &Path) -> Vec<PathBuf> {
    let mut found = vec![path.to_owned()];
    let mut i = 0;
    while i < found.len() {
        if found[i].is_dir() && !found[i].is_symlink() {
            let mut children: Vec<_> = std::fs::read_dir(&found[i])
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            children.sort();
            found.extend(children);
        }
        i += 1;
    }
    found
}
