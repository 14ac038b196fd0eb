//! Unit tests of the schema-check plugin, run natively (`cargo test -p schema-check`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Result<Params, StepError> {
    testing::try_params(&SchemaCheck::describe(), pairs)
}

fn table() -> Table {
    Table::new()
        .with(Column::f64("mean_radius", vec![6.98, 14.1, 28.11, 12.0]).with_nulls(&[3]))
        .with(Column::i64("benign", vec![0, 1, 1, 0]))
        .with(Column::strings("site", ["a", "b", "c", "d"]))
}

#[test]
fn parses_rules() {
    assert_eq!(
        parse_columns(" a:f64 , b : string,").unwrap(),
        vec![
            ColumnRule {
                name: "a".into(),
                kind: ValueKind::F64
            },
            ColumnRule {
                name: "b".into(),
                kind: ValueKind::Str
            }
        ]
    );
    assert_eq!(
        parse_ranges("x=-1.5..2e3; y=0..").unwrap(),
        vec![
            RangeRule {
                name: "x".into(),
                lo: -1.5,
                hi: 2000.0
            },
            RangeRule {
                name: "y".into(),
                lo: 0.0,
                hi: f64::INFINITY
            }
        ]
    );
    assert!(parse_columns("").unwrap().is_empty());
}

#[test]
fn malformed_params_name_the_fragment() {
    let err = parse_columns("a:f64,b:float").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    assert!(err.message.contains("'b:float'"), "{}", err.message);
    let err = parse_columns("a").unwrap_err();
    assert!(
        err.message.contains("'a' is not name:type"),
        "{}",
        err.message
    );
    let err = parse_ranges("x=1..z").unwrap_err();
    assert!(err.message.contains("'x=1..z'"), "{}", err.message);
    let err = parse_ranges("x=5..1").unwrap_err();
    assert!(err.message.contains("low end above"), "{}", err.message);
    let err = parse_ranges("x:1..2").unwrap_err();
    assert!(err.message.contains("'x:1..2'"), "{}", err.message);
    let p = params(&[("max_null_fraction", ParamValue::Number(2.0))]).unwrap();
    assert_eq!(
        SchemaCheck::validate(table(), None, p).unwrap_err().kind,
        ErrorKind::InvalidParams
    );
}

#[test]
fn passing_table() {
    let p = params(&[
        ("columns", text("mean_radius:f64,benign:i64,site:string")),
        ("ranges", text("mean_radius=0..30;benign=0..1")),
        ("max_null_fraction", ParamValue::Number(0.25)),
        ("min_rows", ParamValue::Integer(4)),
    ])
    .unwrap();
    let report = SchemaCheck::validate(table(), None, p).unwrap();
    assert!(report.passed(), "{report:#?}");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "rows",
            "column:mean_radius",
            "column:benign",
            "column:site",
            "range:mean_radius",
            "range:benign",
            "nulls:mean_radius",
            "nulls:benign",
            "nulls:site"
        ]
    );
    assert_eq!(
        report.find_check("range:mean_radius").unwrap().detail,
        "all 3 non-null values in [0, 30]; observed min 6.98, max 28.11"
    );
    assert_eq!(
        report.find_check("nulls:mean_radius").unwrap().detail,
        "1 nulls in 4 rows (fraction 0.25), maximum 0.25"
    );
    assert_eq!(report.metric_value("rows"), Some(4.0));
    assert_eq!(report.metric_value("columns"), Some(3.0));
    assert_eq!(report.metric_value("null_cells"), Some(1.0));
}

#[test]
fn failing_rules_say_why() {
    let p = params(&[
        ("columns", text("mean_radius:i64,missing:f64")),
        ("ranges", text("mean_radius=10..20;site=0..1")),
        ("min_rows", ParamValue::Integer(10)),
    ])
    .unwrap();
    let report = SchemaCheck::validate(table(), None, p).unwrap();
    assert!(!report.passed());
    let detail = |n: &str| {
        let c = report.find_check(n).unwrap();
        assert!(!c.passed, "{n} should fail");
        c.detail.clone()
    };
    assert_eq!(detail("rows"), "4 rows, minimum 10");
    assert_eq!(detail("column:mean_radius"), "is f64, expected i64");
    assert_eq!(
        detail("column:missing"),
        "missing; columns: mean_radius, benign, site"
    );
    assert_eq!(
        detail("range:mean_radius"),
        "2 of 3 non-null values outside [10, 20]; observed min 6.98, max 28.11"
    );
    assert_eq!(detail("range:site"), "is string, a range needs f64 or i64");
    assert_eq!(
        detail("nulls:mean_radius"),
        "1 nulls in 4 rows (fraction 0.25), maximum 0"
    );
    assert!(report.find_check("nulls:benign").unwrap().passed);
}

#[test]
fn nan_is_outside_any_range_and_empty_table_counts_zero_rows() {
    let t = Table::new().with(Column::f64("x", vec![0.5, f64::NAN]));
    let schema = Schema {
        columns: vec![],
        ranges: parse_ranges("x=0..1").unwrap(),
        max_null_fraction: 0.0,
        min_rows: 1,
    };
    let report = check(&t, &schema);
    assert!(!report.find_check("range:x").unwrap().passed);

    let report = check(&Table::new(), &schema);
    assert!(!report.find_check("rows").unwrap().passed);
    assert_eq!(report.metric_value("rows"), Some(0.0));
}
