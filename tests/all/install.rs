//! Issue 23, point 5: installing. scripts/install.sh puts the binary and
//! the standard plugins under a prefix, where the binary finds them by
//! name; `sluice plugin add|list|remove` manage the user's plugins; the
//! hostile test plugins are never among the standard ones.

use crate::support::*;
use std::path::Path;
use std::process::{Command, Output};

/// The installed `bin` at `prefix`, run in `dir` with `home` and the
/// user's data directory `data`, no SLUICE_PLUGIN_PATH.
fn installed(prefix: &Path, home: &Path, data: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(prefix.join("bin/sluice"))
        .args(args)
        .env("SLUICE_HOME", home)
        .env("XDG_DATA_HOME", data)
        .env_remove("SLUICE_PLUGIN_PATH")
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .output()
        .unwrap()
}

fn names(list: &serde_json::Value, from: &str) -> Vec<String> {
    list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["directory"] == from)
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn installed_binary_finds_standard_and_added_plugins_by_name() {
    let _ = plugin_dir();
    warm_cache(&["standardize", "logreg", "hostile-trainer"]);
    let dir = tempfile::tempdir().unwrap();
    let (prefix, data) = (dir.path().join("prefix"), dir.path().join("data"));
    let home = home_with_shared_cache();
    let out = Command::new(root().join("scripts/install.sh"))
        .args(["--root", prefix.to_str().unwrap(), "--binary"])
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .env("SLUICE_PLUGINS_BUILT", "1")
        .env("SLUICE_HOME", home.path())
        .env("XDG_DATA_HOME", &data)
        .output()
        .unwrap();
    succeeded(out, "scripts/install.sh");

    // The standard plugins, and not the hostile ones.
    let shared = prefix.join("share/sluice/plugins");
    for name in ["logreg", "standardize", "gbt", "py_clip"] {
        assert!(shared.join(format!("{name}.wasm")).is_file(), "{name}");
    }
    let files: Vec<String> = std::fs::read_dir(&shared)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().all(|f| !f.contains("hostile")), "{files:?}");

    // A pipeline naming plugins without plugin_dirs runs.
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let data_csv = root().join("pipelines/data/breast_cancer.csv");
    let pipeline = |steps: &str| {
        format!(
            "[pipeline]\nname = \"mine\"\nversion = \"dev\"\nseed = 1\n\n\
             [datasets.cancer]\npath = {:?}\ntarget = \"benign\"\n\n{steps}",
            data_csv.display().to_string()
        )
    };
    std::fs::write(
        work.join("p.toml"),
        pipeline(
            "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n\n\
             [[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"scale\"\n",
        ),
    )
    .unwrap();
    let run_home = dir.path().join("home");
    let tenant = data_dirs(&[]);
    let tenants = installed(
        &prefix,
        &run_home,
        &data,
        &work,
        &["tenants", "set", "default", &tenant],
    );
    succeeded(tenants, "tenants set");
    let run = installed(&prefix, &run_home, &data, &work, &["run", "p.toml"]);
    succeeded(run, "run with the installed plugins");

    // A plugin not installed: the error says where it looked and how to
    // install it.
    std::fs::write(
        work.join("h.toml"),
        pipeline("[[steps]]\nid = \"h\"\nplugin = \"hostile-trainer\"\ninput = \"cancer\"\n"),
    )
    .unwrap();
    let out = installed(&prefix, &run_home, &data, &work, &["run", "h.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("hostile_trainer.wasm")
            && err.contains("sluice plugin add")
            && err.contains(&shared.display().to_string())
            && err.contains(&data.join("sluice/plugins").display().to_string()),
        "{err}"
    );

    // Added to the user's directory, it is found, listed, then removed.
    let hostile = plugin("hostile-trainer");
    let out = installed(
        &prefix,
        &run_home,
        &data,
        &work,
        &["plugin", "add", hostile.to_str().unwrap()],
    );
    assert!(stdout(&succeeded(out, "plugin add")).contains("added"));
    assert!(data.join("sluice/plugins/hostile_trainer.wasm").is_file());
    let out = installed(&prefix, &run_home, &data, &work, &["run", "h.toml"]);
    succeeded(out, "run with an added plugin");

    let shadow = dir.path().join("shadow");
    std::fs::create_dir(&shadow).unwrap();
    std::fs::copy(plugin("identity"), shadow.join("logreg.wasm")).unwrap();
    let out = installed(
        &prefix,
        &run_home,
        &data,
        &work,
        &[
            "plugin",
            "list",
            "--json",
            "--plugin-dir",
            shadow.to_str().unwrap(),
        ],
    );
    let list = json(&succeeded(out, "plugin list"));
    assert_eq!(names(&list, "user"), ["hostile-trainer"]);
    let standard = names(&list, "installation");
    assert!(standard.contains(&"logreg".to_string()), "{list}");
    assert!(standard.contains(&"select-columns".to_string()), "{list}");
    let logreg = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["directory"] == "installation" && p["name"] == "logreg")
        .unwrap();
    assert_eq!(logreg["world"], "trainer");
    assert_eq!(
        logreg["shadowed"], true,
        "the --plugin-dir's logreg.wasm comes first"
    );
    assert_eq!(names(&list, "--plugin-dir"), ["identity"]);

    // Another component under a name taken (identity with a custom
    // section appended) needs --force, and nothing is copied without it.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let mut bytes = std::fs::read(plugin("identity")).unwrap();
    bytes.extend_from_slice(&[0, 2, 1, b'x']);
    std::fs::write(other.join("identity.wasm"), &bytes).unwrap();
    std::fs::copy(plugin("logreg"), other.join("logreg.wasm")).unwrap();
    let add = |force: bool| {
        let mut args = vec!["plugin", "add", "--to", shared.to_str().unwrap()];
        if force {
            args.push("--force");
        }
        let other = other.display().to_string();
        installed(
            &prefix,
            &run_home,
            &data,
            &work,
            &[&args[..], &[other.as_str()]].concat(),
        )
    };
    let out = add(false);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(shared.join("identity.wasm")).unwrap(),
        std::fs::read(plugin("identity")).unwrap()
    );
    let out = stdout(&succeeded(add(true), "plugin add --force"));
    assert!(
        out.contains("replaced  identity") && out.contains("unchanged logreg"),
        "{out}"
    );
    assert_eq!(std::fs::read(shared.join("identity.wasm")).unwrap(), bytes);

    let out = installed(
        &prefix,
        &run_home,
        &data,
        &work,
        &["plugin", "remove", "hostile-trainer"],
    );
    succeeded(out, "plugin remove");
    assert!(!data.join("sluice/plugins/hostile_trainer.wasm").exists());
    let out = installed(&prefix, &run_home, &data, &work, &["run", "h.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
