//! Checks every statistic and p-value against scipy's, from
//! `reference/scipy_reference.json` (written by `make_reference.py`).

use crate::special::{chi2_sf, kolmogorov_sf, norm_sf};
use crate::test_json::{Json, parse};
use crate::{Binning, Method, Sample, run_test};

const REFERENCE: &str = include_str!("../reference/scipy_reference.json");

fn reference() -> Json {
    parse(REFERENCE)
}

/// Absolute error, or relative error when the expected value is tiny.
fn deviation(got: f64, want: f64) -> f64 {
    let abs = (got - want).abs();
    if want.abs() < 1e-6 {
        abs / want.abs().max(f64::MIN_POSITIVE)
    } else {
        abs
    }
}

const TOL: f64 = 1e-6;

fn sample(values: &[Json], numeric: bool) -> Sample {
    if numeric {
        Sample::Numeric(values.iter().map(Json::num).collect())
    } else {
        Sample::Categorical(values.iter().map(|v| v.str().to_string()).collect())
    }
}

#[test]
fn statistics_match_scipy() {
    let json = reference();
    let cases = json.get("cases").arr();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut worst = (0.0f64, String::new());
    let mut failures = Vec::new();
    for case in cases {
        let name = format!("{} {}", case.get("test").str(), case.get("name").str());
        let method = Method::parse(case.get("test").str()).unwrap();
        let numeric = case.get("numeric") == &Json::Bool(true);
        let r = sample(case.get("ref").arr(), numeric);
        let c = sample(case.get("cur").arr(), numeric);
        let binning = match case.get("binning").str() {
            "evidently" => Binning::Evidently,
            "quantile" => Binning::Quantile {
                bins: case.get("bins").num() as usize,
            },
            other => panic!("unknown binning {other}"),
        };
        let name = format!("{name} ({})", case.get("binning").str());
        let got = run_test("col", method, &r, &c, binning).unwrap();
        let want_stat = case.get("statistic").num();
        let want_p = case.get("p_value").opt_num();
        let dev = deviation(got.statistic, want_stat);
        if dev > worst.0 {
            worst = (dev, format!("{name}: statistic"));
        }
        if dev.is_nan() || dev > TOL {
            failures.push(format!(
                "{name}: statistic {} vs scipy {want_stat}",
                got.statistic
            ));
        }
        match (got.p_value, want_p) {
            (Some(g), Some(w)) => {
                let dev = deviation(g, w);
                if dev > worst.0 {
                    worst = (dev, format!("{name}: p-value"));
                }
                if dev.is_nan() || dev > TOL {
                    failures.push(format!("{name}: p-value {g} vs scipy {w}"));
                }
            }
            (None, None) => {}
            (g, w) => failures.push(format!("{name}: p-value {g:?} vs scipy {w:?}")),
        }
    }
    eprintln!("largest deviation from scipy: {:e} ({})", worst.0, worst.1);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn special_functions_match_scipy() {
    let json = reference();
    let mut worst = 0.0f64;
    for s in json.get("special").arr() {
        let (x, a, want) = (s.get("x").num(), s.get("a").num(), s.get("value").num());
        let got = match s.get("fn").str() {
            "chi2_sf" => chi2_sf(x, a),
            "norm_sf" => norm_sf(x),
            "kolmogorov_sf" => kolmogorov_sf(x),
            other => panic!("unknown function {other}"),
        };
        let dev = deviation(got, want);
        worst = worst.max(dev);
        assert!(
            dev <= TOL,
            "{}({x}, {a}) = {got}, scipy {want}",
            s.get("fn").str()
        );
    }
    eprintln!("largest special-function deviation from scipy: {worst:e}");
}
