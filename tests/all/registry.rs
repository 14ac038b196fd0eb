//! The model registry end to end: registration by the pipeline and by
//! hand, gated promotion (refused, forced), rollback, the audit history and
//! "which version was production at time T", model cards, and sandboxed
//! prediction that equals the training run's bit for bit.

use crate::support::*;
use std::path::Path;

const MODEL: &str = "breast-cancer-logreg";

/// The example data with a fifth of the labels flipped: a worse model.
fn noisy_pipeline(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        if i % 5 == 0 {
            let (rest, label) = line.rsplit_once(',').unwrap();
            *line = format!("{rest},{}", if label == "1" { "0" } else { "1" });
        }
    }
    std::fs::write(dir.join("noisy.csv"), lines.join("\n") + "\n").unwrap();
    let noisy_csv = dir.join("noisy.csv").display().to_string();
    example_pipeline_in(
        dir,
        "noisy",
        &[
            (
                &format!(
                    "path = {:?}",
                    root()
                        .join("pipelines/data/breast_cancer.csv")
                        .display()
                        .to_string()
                ),
                &format!("path = {noisy_csv:?}"),
            ),
            (
                "min_accuracy = 0.95, min_roc_auc = 0.97",
                "min_accuracy = 0.5",
            ),
            ("worst_concavity=0..2", "worst_concavity=0..5"),
            // A changed definition is a new version.
            ("version = \"1\"", "version = \"1-noisy\""),
        ],
    )
}

#[test]
fn register_promote_refuse_force_rollback_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let _ = plugin_dir();

    // v1: the example pipeline registers its model.
    let run1 = ok_json(&home, &["run", "pipelines/breast-cancer.toml", "--json"]);
    assert_eq!(run1["registered"][0]["name"], MODEL);
    assert_eq!(run1["registered"][0]["version"], 1);
    let p1 = ok_json(
        &home,
        &[
            "models",
            "promote",
            MODEL,
            "1",
            "--to",
            "production",
            "--reason",
            "first model",
            "--json",
        ],
    );
    assert_eq!(p1["to_version"], 1);
    assert!(p1["from_version"].is_null());

    // v2: a worse model. Its gates refuse it, with the numbers.
    let noisy = noisy_pipeline(dir.path());
    let run2 = ok_json(&home, &["run", noisy.to_str().unwrap(), "--json"]);
    assert_eq!(run2["registered"][0]["version"], 2);
    let out = sluice(&home)
        .args([
            "models",
            "promote",
            MODEL,
            "2",
            "--to",
            "production",
            "--reason",
            "try",
        ])
        .output()
        .unwrap();
    // Refused by its gates: exit 1, as a failed run (2 is bad input).
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refused by its gates"), "{err}");
    assert!(
        err.contains("evaluate.roc_auc >= production - 0.005"),
        "{err}"
    );
    assert!(err.contains("production (v1) 0.99"), "{err}");
    let shown = ok_json(
        &home,
        &["models", "show", &format!("{MODEL}@production"), "--json"],
    );
    assert_eq!(shown["version"], 1, "a refused promotion moves nothing");

    // --force needs a reason, and is recorded as forced.
    let out = sluice(&home)
        .args([
            "models",
            "promote",
            MODEL,
            "2",
            "--to",
            "production",
            "--force",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs --reason"), "{}", stderr(&out));
    let p2 = ok_json(
        &home,
        &[
            "models",
            "promote",
            MODEL,
            "2",
            "--to",
            "production",
            "--force",
            "--reason",
            "incident drill",
            "--actor",
            "alice",
            "--json",
        ],
    );
    assert_eq!(p2["forced"], true);
    assert_eq!(p2["from_version"], 1);
    assert_eq!(
        ok_json(
            &home,
            &["models", "show", &format!("{MODEL}@production"), "--json"]
        )["version"],
        2
    );

    // Rollback moves production back to v1; there is nothing before v1.
    let rb = ok_json(
        &home,
        &[
            "models",
            "rollback",
            MODEL,
            "--alias",
            "production",
            "--reason",
            "bad model",
            "--json",
        ],
    );
    assert_eq!(rb["from_version"], 2);
    assert_eq!(rb["to_version"], 1);
    assert_eq!(
        ok_json(
            &home,
            &["models", "show", &format!("{MODEL}@production"), "--json"]
        )["version"],
        1
    );
    let out = sluice(&home)
        .args(["models", "rollback", MODEL, "--alias", "production"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no earlier version"),
        "{}",
        stderr(&out)
    );

    // The history has every event, in order, with actor and reason.
    let history = ok_json(&home, &["models", "history", MODEL, "--json"]);
    let events = history.as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["register", "promote", "register", "promote", "rollback"]
    );
    assert_eq!(events[3]["forced"], true);
    assert_eq!(events[3]["actor"], "alice");
    assert_eq!(events[3]["reason"], "incident drill");
    assert_eq!(events[4]["reason"], "bad model");

    // Which version was production at time T.
    let at = |t: &str| {
        ok_json(&home, &["models", "history", MODEL, "--at", t, "--json"])["aliases"]["production"]
            .clone()
    };
    assert!(at("2000-01-01").is_null());
    assert_eq!(at(events[1]["at"].as_str().unwrap()), 1);
    assert_eq!(at(events[3]["at"].as_str().unwrap()), 2);
    assert_eq!(at(events[4]["at"].as_str().unwrap()), 1);
    let out = sluice(&home)
        .args(["models", "history", MODEL, "--at", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // Compare shows what differs; the card has lineage, features, history.
    let cmp = ok_json(&home, &["models", "compare", MODEL, "1", "2", "--json"]);
    let row = |f: &str| {
        cmp["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == f)
            .unwrap()
            .clone()
    };
    assert_eq!(row("data source")["same"], false);
    assert_eq!(row("trainer")["same"], true);
    assert_eq!(row("metric evaluate.roc_auc")["same"], false);
    // One address syntax: NAME:VERSION and NAME@ALIAS name the same
    // versions as NAME V1 V2.
    let production = format!("{MODEL}@production");
    let by_address = ok_json(
        &home,
        &[
            "models",
            "compare",
            &format!("{MODEL}:2"),
            &production,
            "--json",
        ],
    );
    assert_eq!(by_address["versions"], serde_json::json!([2, 1]));
    assert_eq!(
        by_address["rows"].as_array().unwrap().len(),
        cmp["rows"].as_array().unwrap().len()
    );
    let card_at = ok_json(&home, &["models", "card", &production, "--json"]);
    assert_eq!(card_at["model"]["version"], 1);
    for (args, needle) in [
        (
            vec!["promote", MODEL, "--to", "staging"],
            "names no version",
        ),
        (
            vec!["promote", &production, "2", "--to", "staging"],
            "already names a version",
        ),
        (
            vec!["compare", MODEL, "1", "two"],
            "`two` is not a version number",
        ),
    ] {
        let out = sluice(&home).arg("models").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    let staged = ok_json(
        &home,
        &[
            "models",
            "promote",
            &production,
            "--to",
            "staging",
            "--json",
        ],
    );
    assert_eq!(staged["to_version"], 1);
    let card = sluice(&home)
        .args(["models", "card", MODEL, "2"])
        .output()
        .unwrap();
    let card = stdout(&card);
    for needle in [
        "# Model card: breast-cancer-logreg v2",
        "## Lineage",
        "standardize@0.1.0",
        "## Top features",
        "| worst_",
        "incident drill",
        "| yes |",
        "evaluate.roc_auc",
    ] {
        assert!(card.contains(needle), "card lacks `{needle}`:\n{card}");
    }
    let card_json = ok_json(&home, &["models", "card", MODEL, "1", "--json"]);
    assert_eq!(card_json["model"]["version"], 1);
    assert_eq!(card_json["top_features"].as_array().unwrap().len(), 10);

    // Registering by hand: a trainer step under a new name; not a validator.
    let run_id = run1["run_id"].as_str().unwrap();
    let manual = ok_json(
        &home,
        &[
            "models",
            "register",
            run_id,
            "train",
            "--name",
            "manual",
            "--gate",
            "evaluate.accuracy >= 0.9",
            "--json",
        ],
    );
    assert_eq!(manual["version"], 1);
    assert_eq!(manual["chain"].as_array().unwrap().len(), 2);
    let out = sluice(&home)
        .args(["models", "register", run_id, "evaluate", "--name", "manual"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a trainer"), "{}", stderr(&out));
    let list = ok_json(&home, &["models", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn serving_predictions_equal_training_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let run = ok_json(&home, &["run", "pipelines/breast-cancer.toml", "--json"]);
    ok_json(
        &home,
        &[
            "models",
            "promote",
            MODEL,
            "1",
            "--to",
            "production",
            "--reason",
            "serve",
            "--json",
        ],
    );

    // The raw holdout rows (with their target column, which predict ignores).
    let holdout = output_of(&run, "dataset:cancer", "holdout");
    let raw = dir.path().join("holdout.parquet");
    let out = sluice(&home)
        .args(["artifacts", "get", &holdout, "-o"])
        .arg(&raw)
        .output()
        .unwrap();
    assert!(out.status.success());
    let served = dir.path().join("served.parquet");
    let out = sluice(&home)
        .args(["predict", &format!("{MODEL}@production"), "--input"])
        .arg(&raw)
        .arg("-o")
        .arg(&served)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let trained = output_of(&run, "train", "predictions");
    let expected = dir.path().join("trained.parquet");
    sluice(&home)
        .args(["artifacts", "get", &trained, "-o"])
        .arg(&expected)
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read(&served).unwrap(),
        std::fs::read(&expected).unwrap(),
        "served predictions differ from the training run's"
    );

    // `-o -`: the same predictions, as CSV, on standard output.
    let out = sluice(&home)
        .args(["predict", &format!("{MODEL}@production"), "--input"])
        .arg(&raw)
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let served_rows = sluice::data::read_table(&served).unwrap().num_rows();
    let csv = stdout(&out);
    assert_eq!(csv.lines().count(), served_rows + 1, "{csv}");
    // --keep: input columns copied in front of the predictions, in order.
    let keep = |cols: &str| {
        sluice(&home)
            .args(["predict", &format!("{MODEL}@production"), "--input"])
            .arg(&raw)
            .args(["-o", "-", "--keep", cols])
            .output()
            .unwrap()
    };
    let out = keep("benign");
    assert!(out.status.success(), "{}", stderr(&out));
    let kept = stdout(&out);
    let header = kept.lines().next().unwrap();
    assert!(header.starts_with("benign,p_0"), "{header}");
    let labels = sluice::data::read_table(&raw).unwrap();
    let benign = arrow::compute::cast(
        labels.column_by_name("benign").unwrap(),
        &arrow::datatypes::DataType::Utf8,
    )
    .unwrap();
    let benign = benign
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    for (i, line) in kept.lines().skip(1).enumerate() {
        assert_eq!(line.split(',').next(), Some(benign.value(i)), "row {i}");
    }
    for (cols, says) in [
        ("nosuch", "--keep nosuch: "),
        ("benign,benign", "already has a column `benign`"),
    ] {
        let out = keep(cols);
        assert_eq!(out.status.code(), Some(2), "{cols}");
        assert!(stderr(&out).contains(says), "{cols}: {}", stderr(&out));
    }
    // A symlink at -o is refused and its pointee left alone, by predict and
    // by models card alike.
    let pointee = dir.path().join("pointee");
    std::fs::write(&pointee, b"untouched").unwrap();
    let link = dir.path().join("link.parquet");
    std::os::unix::fs::symlink(&pointee, &link).unwrap();
    for args in [
        vec!["predict", MODEL, "--input", raw.to_str().unwrap(), "-o"],
        vec!["models", "card", MODEL, "1", "-o"],
    ] {
        let out = sluice(&home).args(&args).arg(&link).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("it is a symbolic link"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&pointee).unwrap(), b"untouched");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());

    // A CSV without a feature column: a clear error, no output file.
    let csv = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let cut: String = csv
        .lines()
        .map(|l| l.split_once(',').unwrap().1.to_string() + "\n")
        .collect();
    let input = dir.path().join("cut.csv");
    std::fs::write(&input, cut).unwrap();
    let bad = dir.path().join("bad.parquet");
    let out = sluice(&home)
        .args(["predict", MODEL, "--input"])
        .arg(&input)
        .arg("-o")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("mean_radius"), "{}", stderr(&out));
    assert!(!bad.exists());
    let out = sluice(&home)
        .args(["predict", "nope@production", "--input"])
        .arg(&input)
        .args(["-o", "x.parquet"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("no model named `nope`"),
        "{}",
        stderr(&out)
    );
}

/// Without `$USER` (a service, a container), the audit history names the
/// process's user from the passwd file, not `unknown`.
#[test]
fn the_actor_is_the_login_name_without_user() {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let name = passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_owned())
        })
        .expect("this user in /etc/passwd");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let p = write_pipeline(
        dir.path(),
        "actor",
        "[[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"cancer\"\nregister = \"who\"\n",
    );
    let mut run = sluice(&home);
    for k in ["SLUICE_ACTOR", "USER", "LOGNAME"] {
        run.0.env_remove(k);
    }
    succeeded(
        run.args(["run", p.to_str().unwrap(), "--json"])
            .output()
            .unwrap(),
        "run",
    );
    let history = ok_json(&home, &["models", "history", "who", "--json"]);
    assert_eq!(history[0]["action"], "register", "{history}");
    assert_eq!(history[0]["actor"], name.as_str(), "{history}");
}
