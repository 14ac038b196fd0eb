//! Checks every statistic and p-value against scipy's, from
//! `reference/scipy_reference.json` (written by `make_reference.py`).

use crate::special::{chi2_sf, kolmogorov_sf, norm_sf};
use crate::{Method, Sample, run_test};
use std::collections::BTreeMap;

const REFERENCE: &str = include_str!("../reference/scipy_reference.json");

/// The JSON values `scipy_reference.json` uses.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(key).unwrap_or_else(|| panic!("no key {key}")),
            _ => panic!("not an object"),
        }
    }
    fn num(&self) -> f64 {
        match self {
            Json::Num(x) => *x,
            other => panic!("not a number: {other:?}"),
        }
    }
    fn opt_num(&self) -> Option<f64> {
        match self {
            Json::Null => None,
            other => Some(other.num()),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            other => panic!("not an array: {other:?}"),
        }
    }
}

/// A small recursive-descent JSON parser (enough for the reference file).
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s[self.i], c, "expected '{}' at {}", c as char, self.i);
        self.i += 1;
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    self.ws();
                    let k = self.string();
                    self.eat(b':');
                    m.insert(k, self.value());
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b'}' {
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(v);
                }
                loop {
                    v.push(self.value());
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b']' {
                        return Json::Arr(v);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b'n' => {
                self.i += 4;
                Json::Null
            }
            b't' => {
                self.i += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Json::Bool(false)
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(t.parse().unwrap_or_else(|_| panic!("bad number {t}")))
            }
        }
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = String::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    out.push(match e {
                        b'n' => '\n',
                        b't' => '\t',
                        other => other as char,
                    });
                }
                _ => {
                    // Copy a whole UTF-8 sequence.
                    let start = self.i - 1;
                    while self.i < self.s.len() && (self.s[self.i] & 0xC0) == 0x80 {
                        self.i += 1;
                    }
                    out.push_str(std::str::from_utf8(&self.s[start..self.i]).unwrap());
                }
            }
        }
    }
}

fn reference() -> Json {
    Parser {
        s: REFERENCE.as_bytes(),
        i: 0,
    }
    .value()
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
fn json_parser_reads_the_basics() {
    let j = Parser {
        s: br#"{"a": [1, -2.5e-3, null, true, "x\"y"], "b": {}}"#,
        i: 0,
    }
    .value();
    assert_eq!(j.get("a").arr()[1].num(), -2.5e-3);
    assert_eq!(j.get("a").arr()[2], Json::Null);
    assert_eq!(j.get("a").arr()[4].str(), "x\"y");
    assert_eq!(j.get("b"), &Json::Obj(BTreeMap::new()));
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
        let bins = case.get("bins").num() as usize;
        let got = run_test("col", method, &r, &c, bins).unwrap();
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
