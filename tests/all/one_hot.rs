//! One-hot no longer explodes silently (issue 23, point 4): encoding an id
//! column still succeeds, but `sluice run` prints the plugin's warning
//! naming the column and the params that bound it (and `--json` carries
//! it); `max_categories` then groups the rare ids into one column.

use crate::support::*;
use std::path::{Path, PathBuf};

/// 60 customers: a unique id, a plan of three values, a tenure and the
/// label.
fn customers_csv(dir: &Path) -> PathBuf {
    let mut text = String::from("customer_id,plan,tenure,churned\n");
    for i in 0..60 {
        let plan = ["basic", "plus", "pro"][i % 3];
        text.push_str(&format!("c{i:03},{plan},{},{}\n", (i * 7) % 50, i % 2));
    }
    let path = dir.join("customers.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn pipeline(dir: &Path, data: &Path) -> PathBuf {
    let text = format!(
        r#"[pipeline]
name = "customers"
version = "dev"
seed = 1
plugin_dirs = [{plugins:?}]

[datasets.customers]
path = {data:?}
target = "churned"

[datasets.customers.split]
holdout = 0.25
seed = 3

[[steps]]
id = "encode"
plugin = "one-hot"
input = "customers"

[[steps]]
id = "scale"
plugin = "standardize"
input = "encode"
"#,
        plugins = plugin_dir().display().to_string(),
        data = data.display().to_string(),
    );
    let path = dir.join("customers.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn one_hot_warns_of_an_id_column_and_max_categories_bounds_it() {
    let home = home_with_shared_cache();
    let home = home.path();
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), &customers_csv(dir.path()));
    let p = p.to_str().unwrap();

    let out = succeeded(
        sluice(home).args(["run", p]).output().unwrap(),
        "run customers",
    );
    let err = stderr(&out);
    let warning = err
        .lines()
        .find(|l| l.starts_with("warning: step encode: "))
        .unwrap_or_else(|| panic!("no warning of step encode in:\n{err}"));
    for part in [
        "'customer_id'",
        "45 distinct values in 45 rows",
        "id column",
        "max_categories",
        "min_frequency",
        "columns",
    ] {
        assert!(warning.contains(part), "{part} not in {warning}");
    }
    // The three plans are no warning.
    assert!(!err.contains("'plan'"), "{err}");

    let report = ok_json(home, &["run", p, "--json", "--no-cache"]);
    let encode = &report["steps"][1];
    assert_eq!(encode["id"], "encode", "{report}");
    let warnings = encode["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(warnings[0].as_str().unwrap().contains("'customer_id'"));
    assert!(report["steps"][2].get("warnings").is_none(), "{report}");

    // At most 5 columns per encoded column: the 4 most frequent ids (all
    // seen once: the last four in sorted order, as scikit-learn breaks
    // the tie) and the infrequent one. No warning.
    let out = succeeded(
        sluice(home)
            .args(["run", p, "--json", "-P", "encode.max_categories=5"])
            .output()
            .unwrap(),
        "run customers with max_categories",
    );
    assert!(!stderr(&out).contains("warning: step"), "{}", stderr(&out));
    let report = json(&out);
    let encode = &report["steps"][1];
    assert!(encode.get("warnings").is_none(), "{report}");
    let table = stored_table(home, encode["outputs"]["train"].as_str().unwrap());
    let schema = table.schema();
    let ids: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|n| n.starts_with("customer_id="))
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(ids[4], "customer_id=infrequent", "{ids:?}");
}
