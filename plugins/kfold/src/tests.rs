//! Reference values from scikit-learn 1.9.1 (`KFold`, `StratifiedKFold`,
//! folds read back from `split()` as each row's test fold).

use super::*;
use sluice_sdk::testing::{self, int, text};
use sluice_sdk::{ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&KFold::describe(), pairs)
}

/// 15 labels: b x7, a x5, c x3, interleaved (b, a, c by first appearance).
const LABELS: [&str; 15] = [
    "b", "a", "c", "b", "a", "b", "c", "b", "a", "b", "a", "b", "c", "a", "b",
];

fn labelled() -> Table {
    Table::new()
        .with(Column::f64("x", (0..15).map(f64::from).collect()))
        .with(Column::strings("label", LABELS))
}

fn run(pairs: &[(&str, ParamValue)], data: Table) -> Result<Table, StepError> {
    let state = KFold::fit(data.clone(), params(pairs))?;
    KFold::apply(state, data)
}

fn folds(out: &Table) -> Vec<i64> {
    out.column("fold").unwrap().as_i64().unwrap().to_vec()
}

/// counts[fold] of rows whose label is `label`.
fn per_fold(folds: &[i64], label: &str, n_splits: usize) -> Vec<usize> {
    let mut counts = vec![0; n_splits];
    for (f, l) in folds.iter().zip(LABELS) {
        if l == label {
            counts[*f as usize] += 1;
        }
    }
    counts
}

#[test]
fn unshuffled_folds_equal_scikit_learn() {
    // KFold(4).split: [0]*4 + [1]*4 + [2]*4 + [3]*3
    let out = run(
        &[("n_splits", int(4)), ("shuffle", ParamValue::Flag(false))],
        labelled(),
    )
    .unwrap();
    assert_eq!(folds(&out), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
    // StratifiedKFold(4).split on LABELS
    let out = run(
        &[
            ("n_splits", int(4)),
            ("shuffle", ParamValue::Flag(false)),
            ("stratify", text("label")),
        ],
        labelled(),
    )
    .unwrap();
    assert_eq!(folds(&out), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 2, 2, 3, 3]);
}

#[test]
fn shuffled_folds_keep_scikit_learn_counts() {
    for seed in [0, 1, 7, -3] {
        let out = run(&[("n_splits", int(4)), ("seed", int(seed))], labelled()).unwrap();
        let f = folds(&out);
        let sizes: Vec<usize> = (0..4)
            .map(|k| f.iter().filter(|&&x| x == k).count())
            .collect();
        // KFold(4, shuffle=True): fold sizes [4, 4, 4, 3] for any seed.
        assert_eq!(sizes, [4, 4, 4, 3], "seed {seed}");

        let out = run(
            &[
                ("n_splits", int(4)),
                ("seed", int(seed)),
                ("stratify", text("label")),
            ],
            labelled(),
        )
        .unwrap();
        let f = folds(&out);
        // StratifiedKFold(4, shuffle=True, random_state=0 or 1):
        // a [1, 1, 1, 2], b [2, 2, 2, 1], c [1, 1, 1, 0].
        assert_eq!(per_fold(&f, "a", 4), [1, 1, 1, 2], "seed {seed}");
        assert_eq!(per_fold(&f, "b", 4), [2, 2, 2, 1], "seed {seed}");
        assert_eq!(per_fold(&f, "c", 4), [1, 1, 1, 0], "seed {seed}");
    }
}

#[test]
fn seeded_deterministic_and_seed_sensitive() {
    let data = Table::new().with(Column::f64("x", vec![0.0; 200]));
    let a = folds(&run(&[("seed", int(11))], data.clone()).unwrap());
    let b = folds(&run(&[("seed", int(11))], data.clone()).unwrap());
    let c = folds(&run(&[("seed", int(12))], data.clone()).unwrap());
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Shuffled: not contiguous runs.
    let unshuffled = plain_folds(200, 5, None);
    assert_ne!(a, unshuffled);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, unshuffled);
}

#[test]
fn appends_a_column_and_keeps_the_rest() {
    let out = run(&[("column", text("cv"))], labelled()).unwrap();
    assert_eq!(out.names(), vec!["x", "label", "cv"]);
    assert_eq!(out.column("x").unwrap(), labelled().column("x").unwrap());
    let empty = Table::new().with(Column::f64("x", Vec::new()));
    let state = KFold::fit(labelled(), params(&[])).unwrap();
    let out = KFold::apply(state.clone(), empty).unwrap();
    assert_eq!(out.column("fold").unwrap().len(), 0);
    assert_eq!(FoldPlan::from_bytes(&state).unwrap().to_bytes(), state);
}

#[test]
fn errors_name_the_problem() {
    let err = run(&[("n_splits", int(1))], labelled()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    assert!(err.message.contains("n_splits"), "{}", err.message);

    let err = run(&[("n_splits", int(16))], labelled()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("15 rows"), "{}", err.message);

    let err = run(&[("stratify", text("nope"))], labelled()).unwrap_err();
    assert!(err.message.contains("nope"), "{}", err.message);

    // Every class (7, 5, 3 rows) smaller than 8 folds: scikit-learn refuses.
    let err = run(
        &[("n_splits", int(8)), ("stratify", text("label"))],
        labelled(),
    )
    .unwrap_err();
    assert!(err.message.contains("every class"), "{}", err.message);

    let err = run(&[("column", text("x"))], labelled()).unwrap_err();
    assert!(err.message.contains("'x'"), "{}", err.message);

    let nulls = Table::new().with(Column::strings("label", ["a", "b", "a"]).with_nulls(&[1]));
    let err = run(&[("n_splits", int(2)), ("stratify", text("label"))], nulls).unwrap_err();
    assert!(err.message.contains("nulls"), "{}", err.message);
}
