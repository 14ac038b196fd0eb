//! Unit tests of the impute plugin, run natively (`cargo test -p impute`).

use super::*;
use sluice_sdk::codec::ByteWriter;
use sluice_sdk::testing::{self, text};
use sluice_sdk::{Column, ErrorKind, ParamValue};

fn fit(data: &Table, strategy: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(&Impute::describe(), &[("strategy", text(strategy))])?;
    Impute::fit(data.clone(), params)
}

fn data() -> Table {
    Table::new()
        .with(Column::f64("x", vec![1.0, 99.0, 2.0, 10.0]).with_nulls(&[1]))
        .with(Column::i64("n", vec![1, 0, 4, 0]).with_nulls(&[1, 3]))
        .with(Column::i64("k", vec![3, 4, 5, 6]))
        .with(Column::strings("s", ["a", "b", "c", "d"]).with_nulls(&[0]))
        .with(Column::f64("empty", vec![0.0, 0.0, 0.0, 0.0]).with_nulls(&[0, 1, 2, 3]))
}

#[test]
fn mean_fills_nulls_and_drops_masks() {
    let state = fit(&data(), "mean").unwrap();
    let out = Impute::apply(state, data()).unwrap();
    let x = out.column("x").unwrap();
    assert_eq!(x.f64_values().unwrap(), &[1.0, 13.0 / 3.0, 2.0, 10.0]);
    assert!(x.valid().is_none());
    // i64 with nulls becomes f64.
    let n = out.column("n").unwrap();
    assert_eq!(n.f64_values().unwrap(), &[1.0, 2.5, 4.0, 2.5]);
    assert!(n.valid().is_none());
    // i64 without nulls stays i64.
    assert_eq!(
        out.column("k").unwrap().i64_values().unwrap(),
        &[3, 4, 5, 6]
    );
    // Strings pass unchanged, mask included.
    assert_eq!(out.column("s").unwrap(), data().column("s").unwrap());
    // An all-null column fills with 0.
    assert_eq!(
        out.column("empty").unwrap().f64_values().unwrap(),
        &[0.0; 4]
    );
    assert_eq!(out.names(), data().names());
}

#[test]
fn median_and_nan() {
    let t = Table::new().with(Column::f64("x", vec![5.0, f64::NAN, 1.0, 2.0, 100.0]));
    let state = fit(&t, "median").unwrap();
    let fills = FillValues::from_bytes(&state).unwrap();
    assert_eq!(fills.columns, vec![("x".to_string(), 3.5)]);
    let out = Impute::apply(state, t).unwrap();
    assert_eq!(
        out.column("x").unwrap().f64_values().unwrap(),
        &[5.0, 3.5, 1.0, 2.0, 100.0]
    );
    assert_eq!(Strategy::Median.statistic(vec![3.0, 1.0, 2.0]), 2.0);
}

/// The integer keys sort exactly as `f64::total_cmp` does and give the
/// same bits back.
#[test]
fn total_order_keys_keep_total_cmp_order() {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        3.5,
        -1e300,
    ];
    for &a in &specials {
        assert_eq!(
            from_total_order_key(total_order_key(a)).to_bits(),
            a.to_bits()
        );
        for &b in &specials {
            assert_eq!(
                total_order_key(a).cmp(&total_order_key(b)),
                a.total_cmp(&b),
                "{a:?} vs {b:?}"
            );
        }
    }
}

/// The median by selection is the median of the sorted values, bit for
/// bit: odd and even counts, duplicates, signed zeros.
#[test]
fn median_by_selection_is_median_of_sorted() {
    let mut state = 7u64;
    for n in 1..60usize {
        let values: Vec<f64> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match state >> 61 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 1.5,
                    _ => (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5,
                }
            })
            .collect();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let want = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let got = Strategy::Median.statistic(values);
        assert_eq!(got.to_bits(), want.to_bits(), "n = {n}");
    }
}

#[test]
fn unknown_columns_pass_and_missing_state_columns_fail() {
    let state = fit(&Table::new().with(Column::f64("x", vec![1.0])), "mean").unwrap();
    let extra = Table::new()
        .with(Column::f64("x", vec![0.0]).with_nulls(&[0]))
        .with(Column::f64("y", vec![7.0]).with_nulls(&[0]));
    let out = Impute::apply(state.clone(), extra).unwrap();
    assert_eq!(out.column("x").unwrap().f64_values().unwrap(), &[1.0]);
    assert!(out.column("y").unwrap().is_null(0));

    let err =
        Impute::apply(state.clone(), Table::new().with(Column::f64("y", vec![]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'x'"), "{}", err.message);
    let err = Impute::apply(state, Table::new().with(Column::strings("x", ["a"]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
}

#[test]
fn bad_strategy_and_state_round_trip() {
    assert_eq!(
        fit(&data(), "mode").unwrap_err().kind,
        ErrorKind::InvalidParams
    );
    let fills = FillValues {
        columns: vec![("a".into(), 0.1 + 0.2), ("b".into(), -1e-300)],
    };
    assert_eq!(FillValues::from_bytes(&fills.to_bytes()).unwrap(), fills);
    assert!(FillValues::from_bytes(b"nonsense").is_err());
}

fn fit_with(data: &Table, strategy: &str, fill_value: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(
        &Impute::describe(),
        &[
            ("strategy", text(strategy)),
            ("fill_value", text(fill_value)),
        ],
    )?;
    Impute::fit(data.clone(), params)
}

fn mixed() -> Table {
    Table::new()
        .with(Column::f64("x", vec![2.0, 1.0, 2.0, 1.0, f64::NAN, 3.0]).with_nulls(&[5]))
        .with(Column::i64("n", vec![5, 7, 7, 0, 5, 7]).with_nulls(&[3]))
        .with(Column::strings("s", ["b", "a", "b", "a", "", "x"]).with_nulls(&[4, 5]))
        .with(Column::bool("f", vec![true, true, false, true, false, true]).with_nulls(&[5]))
        .with(Column::i64("k", vec![1, 2, 3, 4, 5, 6]))
        .with(Column::f64("ef", vec![1.0; 6]).with_nulls(&[0, 1, 2, 3, 4, 5]))
        .with(Column::i64("ei", vec![1; 6]).with_nulls(&[0, 1, 2, 3, 4, 5]))
        .with(Column::strings("es", ["q"; 6]).with_nulls(&[0, 1, 2, 3, 4, 5]))
        .with(Column::bool("eb", vec![true; 6]).with_nulls(&[0, 1, 2, 3, 4, 5]))
}

#[test]
fn most_frequent_fills_every_kind() {
    let state = fit(&mixed(), "most_frequent").unwrap();
    let out = Impute::apply(state, mixed()).unwrap();
    for c in out.columns() {
        assert!(c.valid().is_none(), "{} kept its mask", c.name);
    }
    // x: present 2, 1, 2, 1 (NaN and the null skipped): 1 and 2 tie, 1 is smaller.
    assert_eq!(
        out.column("x").unwrap().f64_values().unwrap(),
        &[2.0, 1.0, 2.0, 1.0, 1.0, 1.0]
    );
    // n: 7 three times beats 5 twice; stays i64.
    assert_eq!(
        out.column("n").unwrap().i64_values().unwrap(),
        &[5, 7, 7, 7, 5, 7]
    );
    // s: "a" and "b" twice each, "a" is smaller.
    assert_eq!(
        out.column("s").unwrap().str_values().unwrap(),
        &["b", "a", "b", "a", "a", "a"]
    );
    // f: present t, t, f, t, f: true three times.
    assert_eq!(
        out.column("f").unwrap().bool_values().unwrap(),
        &[true, true, false, true, false, true]
    );
    assert_eq!(
        out.column("k").unwrap().i64_values().unwrap(),
        &[1, 2, 3, 4, 5, 6]
    );
    // All-null columns: 0, 0, "", false, kinds kept.
    assert_eq!(out.column("ef").unwrap().f64_values().unwrap(), &[0.0; 6]);
    assert_eq!(out.column("ei").unwrap().i64_values().unwrap(), &[0; 6]);
    assert_eq!(out.column("es").unwrap().str_values().unwrap(), &[""; 6]);
    assert_eq!(
        out.column("eb").unwrap().bool_values().unwrap(),
        &[false; 6]
    );
    assert_eq!(out.names(), mixed().names());
}

#[test]
fn most_frequent_ties_take_the_smallest() {
    let t = Table::new()
        .with(Column::i64("i", vec![10, -3, 4, 4, -3, 0]).with_nulls(&[5]))
        .with(Column::f64("x", vec![0.5, -2.5, 0.5, -2.5, 9.0, 0.0]).with_nulls(&[4, 5]))
        // Byte order: "B" (0x42) < "a" (0x61) < "b" (0x62).
        .with(Column::strings("s", ["b", "B", "a", "b", "B", "a"]))
        .with(Column::bool("f", vec![true, false, true, false, true, true]).with_nulls(&[4, 5]));
    let fills = TypedFills::fit(&t, &[], Strategy::MostFrequent, "").unwrap();
    assert_eq!(
        fills.columns,
        vec![
            ("i".to_string(), Fill::I64(-3)),
            ("x".to_string(), Fill::F64(-2.5)),
            ("s".to_string(), Fill::Str("B".into())),
            ("f".to_string(), Fill::Bool(false)),
        ]
    );
    assert_eq!(
        Strategy::MostFrequent.statistic(vec![3.0, 1.0, 3.0, 1.0, 2.0]),
        1.0
    );
    assert_eq!(Strategy::MostFrequent.statistic(vec![2.0, 7.0, 7.0]), 7.0);
    assert_eq!(Strategy::MostFrequent.statistic(Vec::new()), 0.0);
}

fn small() -> Table {
    Table::new()
        .with(Column::f64("x", vec![1.0, 0.0, f64::NAN]).with_nulls(&[1]))
        .with(Column::i64("n", vec![0, 2, 3]).with_nulls(&[0]))
        .with(Column::strings("s", ["a", "", "c"]).with_nulls(&[1]))
}

#[test]
fn constant_default_fill_value() {
    let t = small().with(Column::bool("f", vec![true, true, true]).with_nulls(&[2]));
    let out = Impute::apply(fit(&t, "constant").unwrap(), t).unwrap();
    assert_eq!(
        out.column("x").unwrap().f64_values().unwrap(),
        &[1.0, 0.0, 0.0]
    );
    assert_eq!(out.column("n").unwrap().i64_values().unwrap(), &[0, 2, 3]);
    assert_eq!(
        out.column("s").unwrap().str_values().unwrap(),
        &["a", "missing_value", "c"]
    );
    assert_eq!(
        out.column("f").unwrap().bool_values().unwrap(),
        &[true, true, false]
    );
    for c in out.columns() {
        assert!(c.valid().is_none(), "{} kept its mask", c.name);
    }
}

#[test]
fn constant_numeric_fill_values() {
    let out = Impute::apply(fit_with(&small(), "constant", "7").unwrap(), small()).unwrap();
    assert_eq!(
        out.column("x").unwrap().f64_values().unwrap(),
        &[1.0, 7.0, 7.0]
    );
    assert_eq!(out.column("n").unwrap().i64_values().unwrap(), &[7, 2, 3]);
    assert_eq!(
        out.column("s").unwrap().str_values().unwrap(),
        &["a", "7", "c"]
    );

    // Not a whole number: the i64 column with nulls becomes f64.
    let out = Impute::apply(fit_with(&small(), "constant", "2.5").unwrap(), small()).unwrap();
    assert_eq!(
        out.column("x").unwrap().f64_values().unwrap(),
        &[1.0, 2.5, 2.5]
    );
    assert_eq!(
        out.column("n").unwrap().f64_values().unwrap(),
        &[2.5, 2.0, 3.0]
    );
    assert_eq!(
        out.column("s").unwrap().str_values().unwrap(),
        &["a", "2.5", "c"]
    );

    // Spaces trimmed and a whole float keeps i64 for numbers; strings take the text as-is.
    let fills = TypedFills::fit(&small(), &[], Strategy::Constant, " -4e0 ").unwrap();
    assert_eq!(
        fills.columns,
        vec![
            ("x".to_string(), Fill::F64(-4.0)),
            ("n".to_string(), Fill::I64(-4)),
            ("s".to_string(), Fill::Str(" -4e0 ".into())),
        ]
    );
}

#[test]
fn constant_string_and_bool_fill_values() {
    let t = Table::new()
        .with(Column::strings("s", ["a", "b", ""]).with_nulls(&[0, 2]))
        .with(Column::bool("f", vec![false, false, true]).with_nulls(&[1]));
    let out = Impute::apply(fit_with(&t, "constant", "true").unwrap(), t.clone()).unwrap();
    assert_eq!(
        out.column("s").unwrap().str_values().unwrap(),
        &["true", "b", "true"]
    );
    assert_eq!(
        out.column("f").unwrap().bool_values().unwrap(),
        &[false, true, true]
    );
    let strings = Table::new().with(t.column("s").unwrap().clone());
    let out = Impute::apply(fit_with(&strings, "constant", "unknown").unwrap(), strings).unwrap();
    assert_eq!(
        out.column("s").unwrap().str_values().unwrap(),
        &["unknown", "b", "unknown"]
    );
    let bools = Table::new().with(t.column("f").unwrap().clone());
    let out = Impute::apply(fit_with(&bools, "constant", "0").unwrap(), bools).unwrap();
    assert_eq!(
        out.column("f").unwrap().bool_values().unwrap(),
        &[false, false, true]
    );
}

#[test]
fn constant_invalid_fill_values_name_the_column() {
    for bad in ["abc", "NaN", "1,5"] {
        let err = fit_with(&small(), "constant", bad).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams, "{bad}");
        assert!(err.message.contains("'x'"), "{}", err.message);
    }
    let ints = Table::new().with(Column::i64("n", vec![1]));
    let err = fit_with(&ints, "constant", "seven").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    assert!(err.message.contains("'n'"), "{}", err.message);
    let bools = Table::new().with(Column::bool("flag", vec![true]));
    let err = fit_with(&bools, "constant", "yes").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    assert!(err.message.contains("'flag'"), "{}", err.message);
    // fill_value is ignored by the other strategies.
    assert!(fit_with(&small(), "mean", "abc").is_ok());
    assert!(fit_with(&small(), "most_frequent", "abc").is_ok());
}

#[test]
fn typed_state_round_trip_and_kind_checks() {
    let fills = TypedFills {
        columns: vec![
            ("a".into(), Fill::F64(0.1 + 0.2)),
            ("b".into(), Fill::I64(i64::MIN)),
            ("c".into(), Fill::Bool(true)),
            ("d".into(), Fill::Str("héllo".into())),
        ],
    };
    let bytes = fills.to_bytes();
    assert_eq!(bytes[4], 2);
    assert_eq!(TypedFills::from_bytes(&bytes).unwrap(), fills);
    assert_eq!(State::from_bytes(&bytes).unwrap(), State::Typed(fills));

    let state = fit(
        &Table::new().with(Column::strings("s", ["a"])),
        "most_frequent",
    )
    .unwrap();
    let err = Impute::apply(
        state.clone(),
        Table::new().with(Column::f64("s", vec![1.0])),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'s' was string"), "{}", err.message);
    let err = Impute::apply(state, Table::new().with(Column::f64("t", vec![]))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);

    // An i64 fill applies to an f64 column as a number.
    let state = fit(
        &Table::new().with(Column::i64("n", vec![4])),
        "most_frequent",
    )
    .unwrap();
    let out = Impute::apply(
        state,
        Table::new().with(Column::f64("n", vec![0.0, 1.5]).with_nulls(&[0])),
    )
    .unwrap();
    assert_eq!(out.column("n").unwrap().f64_values().unwrap(), &[4.0, 1.5]);
}

#[test]
fn version_one_states_still_load() {
    // A mean/median state as earlier releases wrote it.
    let mut w = ByteWriter::new(*b"IMPT", 1);
    w.len(1);
    w.str("x");
    w.f64(2.5);
    let legacy = w.finish();
    let t = Table::new().with(Column::f64("x", vec![1.0, 0.0]).with_nulls(&[1]));
    let out = Impute::apply(legacy.clone(), t.clone()).unwrap();
    assert_eq!(out.column("x").unwrap().f64_values().unwrap(), &[1.0, 2.5]);
    // mean and median still write exactly that format.
    let t = Table::new().with(Column::f64("x", vec![2.0, 3.0, 0.0]).with_nulls(&[2]));
    assert_eq!(fit(&t, "mean").unwrap(), legacy);
    assert_eq!(fit(&t, "median").unwrap(), legacy);

    let mut future = legacy.clone();
    future[4] = 3;
    let err = Impute::apply(future, t.clone()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("version 3"), "{}", err.message);
    let mut w = ByteWriter::new(*b"IMPT", 2);
    w.len(1);
    w.str("x");
    w.u8(9);
    let err = Impute::apply(w.finish(), t.clone()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(Impute::apply(b"IMPT".to_vec(), t.clone()).is_err());
    assert!(Impute::apply(b"JUNK\x02".to_vec(), t).is_err());
}

#[test]
fn describe_lists_strategies_fill_value_and_columns() {
    let info = Impute::describe();
    let names: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["strategy", "fill_value", "columns"]);
    let strategy = &info.params[0];
    for s in ["mean", "median", "most_frequent", "constant"] {
        assert!(strategy.doc.contains(s), "{}", strategy.doc);
        assert!(Strategy::parse(s).is_ok());
    }
    assert_eq!(
        info.params[1].default,
        Some(ParamValue::Text(String::new()))
    );
}

fn fit_columns(data: &Table, strategy: &str, columns: &str) -> Result<Vec<u8>, StepError> {
    let params = testing::try_params(
        &Impute::describe(),
        &[("strategy", text(strategy)), ("columns", text(columns))],
    )?;
    Impute::fit(data.clone(), params)
}

/// `columns` fills the listed columns only, in either state version; a
/// missing column, a non-numeric one for mean or median, or a name given
/// twice is refused with its name.
#[test]
fn columns_param_selects_and_checks() {
    for strategy in ["median", "most_frequent"] {
        let state = fit_columns(&data(), strategy, " n ,").unwrap();
        let out = Impute::apply(state, data()).unwrap();
        assert!(out.column("n").unwrap().valid().is_none(), "{strategy}");
        for other in ["x", "s", "empty"] {
            assert_eq!(out.column(other).unwrap(), data().column(other).unwrap());
        }
    }
    let state = fit_columns(&data(), "constant", "s").unwrap();
    let out = Impute::apply(state, data()).unwrap();
    assert_eq!(
        out.column("s").unwrap().value_text(0).unwrap(),
        "missing_value"
    );
    assert_eq!(out.column("x").unwrap(), data().column("x").unwrap());

    let err = fit_columns(&data(), "mean", "x,zz").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'zz'"), "{}", err.message);
    let err = fit_columns(&data(), "mean", "s").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("'s'") && err.message.contains("strategy 'mean'"),
        "{}",
        err.message
    );
    let err = fit_columns(&data(), "constant", "x,x").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
}
