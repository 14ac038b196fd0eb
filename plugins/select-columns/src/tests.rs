//! Unit tests of the select-columns plugin, run natively (`cargo test -p select-columns`).

use super::*;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{Column, ErrorKind};

fn fit(data: &Table, keep: &str, drop: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(
        &SelectColumns::describe(),
        &[("keep", text(keep)), ("drop", text(drop))],
    )?;
    SelectColumns::fit(data.clone(), params)
}

fn data() -> Table {
    Table::new()
        .with(Column::f64("a", vec![1.0, 2.0]).with_nulls(&[1]))
        .with(Column::i64("b", vec![3, 4]))
        .with(Column::strings("c", ["x", "y"]))
        .with(Column::bool("d", vec![true, false]))
}

#[test]
fn keep_reorders_and_drop_removes() {
    let state = fit(&data(), "d, a ,c", "c").unwrap();
    assert_eq!(Selection::from_bytes(&state).unwrap().columns, ["d", "a"]);
    let out = SelectColumns::apply(state, data()).unwrap();
    assert_eq!(out.names(), ["d", "a"]);
    assert_eq!(out.column("a").unwrap(), data().column("a").unwrap());
    assert_eq!(out.column("d").unwrap(), data().column("d").unwrap());
}

#[test]
fn empty_keep_means_all_in_table_order() {
    let state = fit(&data(), "", "b").unwrap();
    let out = SelectColumns::apply(state, data()).unwrap();
    assert_eq!(out.names(), ["a", "c", "d"]);
    let state = fit(&data(), "", "").unwrap();
    assert_eq!(SelectColumns::apply(state, data()).unwrap(), data());
}

#[test]
fn apply_uses_the_fitted_list() {
    // A column added after fitting is dropped; order comes from the state.
    let state = fit(&data(), "", "").unwrap();
    let mut later = Table::new()
        .with(Column::f64("new", vec![0.0, 0.0]))
        .with(data().column("d").unwrap().clone())
        .with(data().column("c").unwrap().clone())
        .with(data().column("b").unwrap().clone())
        .with(data().column("a").unwrap().clone());
    let out = SelectColumns::apply(state.clone(), later.clone()).unwrap();
    assert_eq!(out, data());
    later.take("b").unwrap();
    let err = SelectColumns::apply(state, later).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'b'"), "{}", err.message);
}

#[test]
fn missing_names_and_bad_params() {
    let err = fit(&data(), "a,zz", "yy").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("'zz'") && err.message.contains("'yy'"),
        "{}",
        err.message
    );
    assert_eq!(
        fit(&data(), "a,a", "").unwrap_err().kind,
        ErrorKind::InvalidParams
    );
    assert_eq!(
        fit(&data(), "a", "a").unwrap_err().kind,
        ErrorKind::InvalidParams
    );
}

#[test]
fn state_round_trips() {
    let s = Selection {
        columns: vec!["x".into(), "βγ".into()],
    };
    assert_eq!(Selection::from_bytes(&s.to_bytes()).unwrap(), s);
    assert!(Selection::from_bytes(b"nonsense").is_err());
}
