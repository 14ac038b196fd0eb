//! `columns` on every transform (issue 23, point 4): each numeric
//! transform, in Rust, Python, JavaScript and C, changes only the columns
//! listed, and names a listed column that is missing.

use crate::support::*;

/// The transforms with a numeric `columns` param, their extra params, and
/// whether they change the listed columns of this data (it has no nulls
/// for `impute` to fill: its unit and parity tests show it filling only
/// the listed ones).
const TRANSFORMS: [(&str, &str, bool); 7] = [
    ("standardize", "", true),
    ("impute", ", strategy = \"median\"", false),
    ("min-max-scale", "", true),
    ("power-transform", ", method = \"yeo-johnson\"", true),
    ("c-robust-scale", "", true),
    ("py-clip", ", lower = 0.2, upper = 0.8", true),
    ("js-log-transform", "", true),
];

/// One step of `plugin` on the cancer data, with `columns` and `more`.
fn body(plugin: &str, columns: &str, more: &str) -> String {
    format!(
        "[[steps]]\nid = \"t\"\nplugin = \"{plugin}\"\ninput = \"cancer\"\n\
         params = {{ columns = \"{columns}\"{more} }}\n"
    )
}

#[test]
fn every_numeric_transform_changes_only_the_listed_columns() {
    warm_cache(&["c-robust-scale", "py-clip", "js-log-transform"]);
    let home = home_with_shared_cache();
    let home = home.path();
    let dir = tempfile::tempdir().unwrap();
    for (plugin, more, changes) in TRANSFORMS {
        let name = format!("cols-{plugin}");
        let p = write_pipeline(
            dir.path(),
            &name,
            &body(plugin, "mean_area, worst_area", more),
        );
        let report = ok_json(home, &["run", p.to_str().unwrap(), "--json"]);
        let input = stored_table(
            home,
            report["steps"][0]["outputs"]["train"].as_str().unwrap(),
        );
        let out = stored_table(
            home,
            report["steps"][1]["outputs"]["train"].as_str().unwrap(),
        );
        let column = |t: &arrow::record_batch::RecordBatch, name: &str| {
            let c = t.column_by_name(name).unwrap();
            let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Float64).unwrap();
            c.as_any()
                .downcast_ref::<arrow::array::Float64Array>()
                .unwrap()
                .values()
                .to_vec()
        };
        for listed in ["mean_area", "worst_area"] {
            let same = column(&out, listed) == column(&input, listed);
            assert_eq!(same, !changes, "{plugin}: {listed}");
        }
        for other in ["mean_radius", "area_error"] {
            assert_eq!(
                column(&out, other),
                column(&input, other),
                "{plugin}: {other}"
            );
        }

        let p = write_pipeline(
            dir.path(),
            &format!("{name}-bad"),
            &body(plugin, "mean_area,nope", more),
        );
        let out = sluice(home)
            .args(["run", p.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        let report = json(&out);
        assert_eq!(report["status"], "failed", "{plugin}: {report}");
        let error = report["steps"][1]["error"].as_str().unwrap_or_default();
        assert!(error.contains("'nope'"), "{plugin}: {report}");
    }
}
