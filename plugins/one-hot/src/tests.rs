//! Unit tests of the one-hot plugin, run natively (`cargo test -p one-hot`).

use super::*;
use sluice_sdk::testing::{self, f64s, text};
use sluice_sdk::{Column, ErrorKind, ParamValue};

fn fit(data: &Table, columns: &str, handle_unknown: &str) -> Result<Vec<u8>, StepError> {
    fit_with(data, columns, handle_unknown, &[])
}

fn fit_with(
    data: &Table,
    columns: &str,
    handle_unknown: &str,
    more: &[(&str, ParamValue)],
) -> Result<Vec<u8>, StepError> {
    let mut pairs = vec![
        ("columns", text(columns)),
        ("handle_unknown", text(handle_unknown)),
    ];
    pairs.extend(more.iter().cloned());
    let params = testing::try_params(&OneHot::describe(), &pairs)?;
    OneHot::fit(data.clone(), params)
}

#[test]
fn matches_one_hot_encoder() {
    // sklearn docs: OneHotEncoder(handle_unknown='ignore').fit(
    //   [['Male', 1], ['Female', 3], ['Female', 2]])
    // categories_ [['Female', 'Male'], [1, 2, 3]];
    // transform([['Female', 1], ['Male', 4]]) ->
    //   [[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]].
    let t = Table::new()
        .with(Column::f64("before", vec![0.5, 1.5, 2.5]))
        .with(Column::strings("sex", ["Male", "Female", "Female"]))
        .with(Column::i64("n", vec![1, 3, 2]))
        .with(Column::f64("after", vec![9.0, 8.0, 7.0]));
    let state = fit(&t, "sex,n", "ignore").unwrap();
    let enc = Encoder::from_bytes(&state).unwrap();
    assert_eq!(
        enc.columns[0].1,
        Categories::Str(vec!["Female".into(), "Male".into()])
    );
    assert_eq!(enc.columns[1].1, Categories::I64(vec![1, 2, 3]));

    let new = Table::new()
        .with(Column::f64("before", vec![0.0, 0.0]))
        .with(Column::strings("sex", ["Female", "Male"]))
        .with(Column::i64("n", vec![1, 4]))
        .with(Column::f64("after", vec![0.0, 0.0]));
    let out = OneHot::apply(state, new).unwrap();
    assert_eq!(
        out.names(),
        [
            "before",
            "sex=Female",
            "sex=Male",
            "n=1",
            "n=2",
            "n=3",
            "after"
        ]
    );
    let row = |r: usize| -> Vec<f64> {
        out.columns()[1..6]
            .iter()
            .map(|c| c.f64_values().unwrap()[r])
            .collect()
    };
    assert_eq!(row(0), [1.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(row(1), [0.0, 1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn default_columns_bools_and_nulls() {
    let t = Table::new()
        .with(Column::strings("c", ["b", "a", "é", "b"]).with_nulls(&[3]))
        .with(Column::bool("f", vec![true, false, true, true]))
        .with(Column::i64("k", vec![1, 2, 3, 4]));
    let state = fit(&t, "", "error").unwrap();
    let out = OneHot::apply(state, t).unwrap();
    assert_eq!(out.names(), ["c=a", "c=b", "c=é", "f=false", "f=true", "k"]);
    assert_eq!(f64s(&out, "c=a"), &[0.0, 1.0, 0.0, 0.0]);
    assert_eq!(f64s(&out, "c=b"), &[1.0, 0.0, 0.0, 0.0]);
    assert_eq!(f64s(&out, "c=é"), &[0.0, 0.0, 1.0, 0.0]);
    assert!(out.column("c=b").unwrap().valid().is_none());
    assert_eq!(f64s(&out, "f=true"), &[1.0, 0.0, 1.0, 1.0]);
    assert_eq!(
        out.column("k").unwrap().i64_values().unwrap(),
        &[1, 2, 3, 4]
    );
}

#[test]
fn unknown_categories() {
    let t = Table::new().with(Column::strings("c", ["x", "y"]));
    let new = Table::new().with(Column::strings("c", ["y", "zebra"]));
    let out = OneHot::apply(fit(&t, "", "ignore").unwrap(), new.clone()).unwrap();
    assert_eq!(f64s(&out, "c=x"), &[0.0, 0.0]);
    assert_eq!(f64s(&out, "c=y"), &[1.0, 0.0]);
    let err = OneHot::apply(fit(&t, "", "error").unwrap(), new).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("'c'") && err.message.contains("'zebra'"),
        "{}",
        err.message
    );
    let err = fit(&t, "", "drop").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    assert!(
        err.message.contains("infrequent_if_exist"),
        "{}",
        err.message
    );
}

#[test]
fn input_errors() {
    let t = Table::new()
        .with(Column::strings("c", ["x", "y"]))
        .with(Column::f64("v", vec![1.0, 2.0]));
    let err = fit(&t, "v", "ignore").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'v'"), "{}", err.message);
    assert_eq!(
        fit(&t, "zz", "ignore").unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    let state = fit(&t, "", "ignore").unwrap();
    let err =
        OneHot::apply(state.clone(), Table::new().with(Column::f64("v", vec![]))).unwrap_err();
    assert!(err.message.contains("'c'"), "{}", err.message);
    let err =
        OneHot::apply(state.clone(), Table::new().with(Column::i64("c", vec![1]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    let clash = Table::new()
        .with(Column::strings("c", ["x"]))
        .with(Column::f64("c=x", vec![0.0]));
    assert_eq!(
        OneHot::apply(state, clash).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
}

#[test]
fn state_round_trips() {
    let mut e = Encoder {
        handle_unknown: Unknown::Error,
        columns: vec![
            ("s".into(), Categories::Str(vec!["a".into(), "βγ".into()])),
            ("i".into(), Categories::I64(vec![-5, 7])),
            ("b".into(), Categories::Bool(vec![false, true])),
        ],
        infrequent: vec![vec![]; 3],
    };
    // Without infrequent categories: version 1, as earlier releases wrote.
    assert_eq!(e.to_bytes()[4], 1);
    assert_eq!(Encoder::from_bytes(&e.to_bytes()).unwrap(), e);
    e.infrequent[1] = vec![0, 1];
    e.handle_unknown = Unknown::InfrequentIfExist;
    assert_eq!(e.to_bytes()[4], 2);
    assert_eq!(Encoder::from_bytes(&e.to_bytes()).unwrap(), e);
    assert!(Encoder::from_bytes(b"nonsense").is_err());
    // An infrequent position past the column's categories is refused.
    e.infrequent[1] = vec![0, 2];
    let err = Encoder::from_bytes(&e.to_bytes()).unwrap_err();
    assert!(err.message.contains("'i'"), "{}", err.message);
}

/// Nulls are no category: they count in the rows a fraction is of (as
/// scikit-learn's `n_samples`) but in no category, and get 0.0 in every
/// column, the infrequent one included.
#[test]
fn grouping_with_nulls() {
    // a 3, b 2, c 1 present; 4 nulls: 10 rows, so 0.25 means 2.5 rows.
    let t = Table::new().with(
        Column::strings("c", ["a", "a", "a", "b", "b", "c", "a", "a", "a", "a"])
            .with_nulls(&[6, 7, 8, 9]),
    );
    let state = fit_with(&t, "", "ignore", &[("min_frequency", testing::num(0.25))]).unwrap();
    let out = OneHot::apply(state, t).unwrap();
    assert_eq!(out.names(), ["c=a", "c=infrequent"]);
    assert_eq!(
        f64s(&out, "c=infrequent"),
        &[0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(f64s(&out, "c=a")[6..], [0.0; 4]);
}

#[test]
fn grouping_param_errors() {
    let t = Table::new().with(Column::strings("c", ["x", "y"]));
    for (name, value) in [
        ("max_categories", testing::int(-1)),
        ("min_frequency", testing::num(-0.5)),
        ("min_frequency", testing::num(f64::NAN)),
    ] {
        let err = fit_with(&t, "", "ignore", &[(name, value)]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        assert!(err.message.contains(name), "{}", err.message);
    }
}

/// A frequent category named `infrequent` beside the infrequent column is
/// a clash, refused with the column's name; alone it is just a category.
#[test]
fn a_category_named_infrequent() {
    let t = Table::new().with(Column::strings("c", ["infrequent", "infrequent", "x"]));
    let grouped = fit_with(&t, "", "ignore", &[("min_frequency", testing::num(2.0))]).unwrap();
    let err = OneHot::apply(grouped, t.clone()).unwrap_err();
    assert!(err.message.contains("'c=infrequent'"), "{}", err.message);
    let out = OneHot::apply(fit(&t, "", "ignore").unwrap(), t).unwrap();
    assert_eq!(out.names(), ["c=infrequent", "c=x"]);
}

/// An id-like column, or one making more than 100 columns, gets a warning
/// naming it and the params that bound it; grouping that bounds it
/// silences the warning, and a few categories never warn.
#[test]
fn high_cardinality_warnings() {
    let ids: Vec<String> = (0..40).map(|i| format!("id{i:02}")).collect();
    let few: Vec<&str> = (0..40).map(|i| ["a", "b", "c"][i % 3]).collect();
    let t = Table::new()
        .with(Column::strings("customer_id", ids.clone()))
        .with(Column::strings("plan", few));
    let (_, warnings) = Encoder::fit(&t, &[], Unknown::Ignore, Grouping::NONE).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    for part in ["'customer_id'", "40 distinct", "40 columns", "id column"] {
        assert!(w.contains(part), "{part} not in {w}");
    }
    for param in ["max_categories", "min_frequency", "columns"] {
        assert!(w.contains(param), "{param} not in {w}");
    }
    let bounded = Grouping {
        min_frequency: 0.0,
        max_categories: 5,
    };
    let (_, warnings) = Encoder::fit(&t, &[], Unknown::Ignore, bounded).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    // Many columns though each category has several rows: 120 categories
    // of 3 rows each.
    let many: Vec<String> = (0..360).map(|i| format!("k{}", i % 120)).collect();
    let t = Table::new().with(Column::strings("k", many));
    let (_, warnings) = Encoder::fit(&t, &[], Unknown::Ignore, Grouping::NONE).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("makes 120 columns"), "{}", warnings[0]);
    assert!(!warnings[0].contains("id column"), "{}", warnings[0]);
    assert_eq!(high_cardinality_warning("k", 100, 100, 1000), None);
    assert_eq!(high_cardinality_warning("k", 9, 9, 9), None);
}
