//! Parity with Evidently itself: every column case and table of
//! `reference/evidently_reference.json` (written by
//! `make_evidently_reference.py` with Evidently's `ValueDrift` and
//! `DataDriftPreset`) is run through the plugin with the same method, and
//! the test picked, the score and the verdict must match.
//!
//! Evidently reports one score per column: the p-value for ks, chisquare
//! and z, the distance for wasserstein, jensenshannon and psi. Scores must
//! agree within [`TOL`] absolutely; verdicts, the drifted-column count and
//! share, and the dataset verdict exactly.

use std::collections::BTreeMap;

use sluice_sdk::{Column, Table};

use crate::test_json::{Json, parse};
use crate::{Method, Options, column_drift, detect};

const REFERENCE: &str = include_str!("../reference/evidently_reference.json");

/// Largest absolute difference allowed between a score and Evidently's.
/// The largest seen is reported by the tests (about 1e-15); p-values
/// below 1e-16 are compared absolutely because Evidently's z-test
/// computes `2 * (1 - norm.cdf(|z|))`, which is 0 there.
const TOL: f64 = 1e-9;

fn column(name: &str, kind: &str, values: &[Json]) -> Column {
    match kind {
        "numeric" => Column::f64(name, values.iter().map(Json::num).collect()),
        "categorical" => Column::strings(name, values.iter().map(Json::str)),
        "integer" => Column::i64(name, values.iter().map(|v| v.num() as i64).collect()),
        other => panic!("unknown kind {other}"),
    }
}

fn options(requested: &str) -> Options {
    Options {
        method: Method::parse(requested).unwrap_or_else(|| panic!("unknown method {requested}")),
        ..Options::default()
    }
}

/// Tracks the largest deviation and collects mismatches.
#[derive(Default)]
struct Tally {
    worst: (f64, String),
    failures: Vec<String>,
}

impl Tally {
    fn score(&mut self, what: &str, got: Option<f64>, want: f64) {
        let Some(got) = got else {
            self.failures
                .push(format!("{what}: no score, Evidently {want}"));
            return;
        };
        let dev = (got - want).abs();
        if dev > self.worst.0 {
            self.worst = (dev, what.to_string());
        }
        if dev.is_nan() || dev > TOL {
            self.failures
                .push(format!("{what}: {got} vs Evidently {want}"));
        }
    }

    fn same<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.failures
                .push(format!("{what}: {got:?} vs Evidently {want:?}"));
        }
    }
}

#[test]
fn columns_match_evidently() {
    let json = parse(REFERENCE);
    let samples = json.get("samples");
    let cases = json.get("cases").arr();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut tally = Tally::default();
    let mut methods = BTreeMap::<(String, String), usize>::new();
    for case in cases {
        let requested = case.get("requested").str();
        let what = format!("{} [{requested}]", case.get("name").str());
        let sample = |key: &str| {
            let s = samples.get(case.get(key).str());
            column("x", s.get("kind").str(), s.get("values").arr())
        };
        let got = column_drift(&sample("ref"), &sample("cur"), &options(requested)).unwrap();
        let method = got.method.expect("a tested column").name();
        let want_method = case.get("method").str();
        tally.same(&format!("{what}: method"), method, want_method);
        *methods
            .entry((requested.to_string(), want_method.to_string()))
            .or_default() += 1;
        let outcome = got.outcome.unwrap();
        let score = if Method::parse(method).unwrap().has_p_value() {
            outcome.p_value
        } else {
            Some(outcome.statistic)
        };
        tally.score(&format!("{what}: score"), score, case.get("score").num());
        tally.same(
            &format!("{what}: drift ({})", got.detail),
            got.drift,
            case.get("drift").bool(),
        );
    }
    eprintln!(
        "largest score deviation from Evidently: {:e} ({}); requested -> test: {methods:?}",
        tally.worst.0, tally.worst.1
    );
    // Every test Evidently has is exercised, and auto picks each default.
    for m in ["ks", "wasserstein", "chisquare", "z", "jensenshannon"] {
        assert!(
            methods.contains_key(&("auto".to_string(), m.to_string())),
            "auto never picked {m}"
        );
    }
    assert!(methods.contains_key(&("psi".to_string(), "psi".to_string())));
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
}

#[test]
fn tables_match_evidently() {
    let json = parse(REFERENCE);
    let tables = json.get("tables").arr();
    assert!(tables.len() >= 8, "{} tables", tables.len());
    let mut tally = Tally::default();
    for t in tables {
        let requested = t.get("requested").str();
        let what = format!("{} [{requested}]", t.get("name").str());
        let kinds = t.get("kinds").obj();
        let table = |key: &str| {
            kinds.iter().fold(Table::new(), |table, (name, kind)| {
                table.with(column(name, kind.str(), t.get(key).get(name).arr()))
            })
        };
        let report = detect(&table("cur"), &table("ref"), &options(requested)).unwrap();
        for (name, want) in t.get("columns").obj() {
            let check = report.find_check(&format!("drift:{name}")).unwrap();
            let what = format!("{what} {name}");
            tally.same(
                &format!("{what}: method ({})", check.detail),
                check.detail.split(':').next().unwrap(),
                want.get("method").str(),
            );
            let method = Method::parse(want.get("method").str()).unwrap();
            let metric = if method.has_p_value() {
                "p_value"
            } else {
                "statistic"
            };
            tally.score(
                &format!("{what}: score"),
                report.metric_value(&format!("{name}.{metric}")),
                want.get("score").num(),
            );
            tally.same(
                &format!("{what}: drift ({})", check.detail),
                !check.passed,
                want.get("drift").bool(),
            );
        }
        tally.same(
            &format!("{what}: drifted columns"),
            report.metric_value("drifted_columns"),
            Some(t.get("count").num()),
        );
        tally.same(
            &format!("{what}: drift share"),
            report.metric_value("drift_share"),
            Some(t.get("share").num()),
        );
        tally.same(
            &format!("{what}: dataset drift"),
            !report.find_check("dataset").unwrap().passed,
            t.get("dataset_drift").bool(),
        );
    }
    eprintln!(
        "largest table score deviation from Evidently: {:e} ({})",
        tally.worst.0, tally.worst.1
    );
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
}
