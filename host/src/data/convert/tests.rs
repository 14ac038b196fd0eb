//! Unit tests of the Arrow <-> WIT conversion.

use super::*;
use arrow::array::{Float32Array, Int32Array, StringArray, UInt64Array};

/// The generated WIT types have no `PartialEq`; their `Debug` shows
/// every field.
macro_rules! assert_same {
    ($left:expr, $right:expr $(,)?) => {
        assert_eq!(format!("{:?}", $left), format!("{:?}", $right))
    };
}

fn column(name: &str, values: Values, valid: Option<Vec<bool>>) -> Column {
    Column {
        name: name.to_owned(),
        values,
        valid,
    }
}

fn sample() -> Table {
    Table {
        columns: vec![
            column(
                "x",
                Values::F64s(vec![1.5, 0.0, -2.0]),
                Some(vec![true, false, true]),
            ),
            column("n", Values::I64s(vec![1, 2, 3]), None),
            column(
                "b",
                Values::Bools(vec![false, true, false]),
                Some(vec![false, true, true]),
            ),
            column(
                "s",
                Values::Strings(vec!["a".into(), "".into(), "ü".into()]),
                Some(vec![true, false, true]),
            ),
        ],
    }
}

#[test]
fn round_trip_with_nulls() {
    let batch = table_to_batch(sample()).unwrap();
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.column(0).null_count(), 1);
    assert!(batch.column(0).is_null(1));
    assert_eq!(batch.column(1).null_count(), 0);
    assert!(batch.column(2).is_null(0));
    assert!(batch.column(3).is_null(1));
    assert_eq!(batch.column(3).as_string::<i32>().value(2), "ü");
    let back = batch_to_table(&batch).unwrap();
    assert_same!(back, sample());
}

/// A table as a plugin may return it: anything in its null slots.
fn junk() -> Table {
    Table {
        columns: vec![
            column(
                "x",
                Values::F64s(vec![1.5, f64::NAN, -0.0]),
                Some(vec![true, false, true]),
            ),
            column(
                "n",
                Values::I64s(vec![7, 8, 9]),
                Some(vec![false, true, true]),
            ),
            column(
                "b",
                Values::Bools(vec![true, true, false]),
                Some(vec![false, true, true]),
            ),
            column(
                "s",
                Values::Strings(vec!["left".into(), "ü".into(), "z".into()]),
                Some(vec![false, true, true]),
            ),
            column(
                "all",
                Values::F64s(vec![1.0, 2.0, 3.0]),
                Some(vec![true; 3]),
            ),
        ],
    }
}

#[test]
fn null_slots_hold_placeholders_as_after_parquet() {
    // What a plugin left in null slots must not reach the next step:
    // the batch handed on in memory equals the one read back from its
    // Parquet artifact.
    let batch = table_to_batch(junk()).unwrap();
    let bytes = crate::data::write_parquet(&batch).unwrap();
    let read = crate::data::read_parquet(&bytes).unwrap();
    let table = batch_to_table(&batch).unwrap();
    assert_same!(table, batch_to_table(&read).unwrap());
    assert_same!(table.columns[0].values, Values::F64s(vec![1.5, 0.0, -0.0]));
    assert_same!(table.columns[1].values, Values::I64s(vec![0, 8, 9]));
    assert_same!(
        table.columns[2].values,
        Values::Bools(vec![false, true, false])
    );
    let strings = Values::Strings(vec!["".into(), "ü".into(), "z".into()]);
    assert_same!(table.columns[3].values, strings);
}

#[test]
fn normalize_gives_what_the_round_trip_gives() {
    let mut table = junk();
    normalize(&mut table);
    assert_same!(
        table,
        batch_to_table(&table_to_batch(junk()).unwrap()).unwrap()
    );
    assert_eq!(table.columns[4].valid, None);
    assert_same!(table.columns[1].values, Values::I64s(vec![0, 8, 9]));
}

#[test]
fn shared_batch_shares_numbers_and_puts_the_label_last() {
    let features = Arc::new(sample());
    let label = Arc::new(column("y", Values::I64s(vec![1, 0, 1]), None));
    let batch = shared_batch(&features, Some(&label)).unwrap();
    let mut whole = sample();
    whole
        .columns
        .push(column("y", Values::I64s(vec![1, 0, 1]), None));
    assert_eq!(batch, table_to_batch(whole).unwrap());
    // No copy: the batch's values are the table's and the label's.
    let Values::F64s(x) = &features.columns[0].values else {
        unreachable!()
    };
    let shared = batch.column(0).as_primitive::<Float64Type>().values();
    assert_eq!(shared.as_ptr(), x.as_ptr());
    let Values::I64s(y) = &label.values else {
        unreachable!()
    };
    let shared = batch.column(4).as_primitive::<Int64Type>().values();
    assert_eq!(shared.as_ptr(), y.as_ptr());
    // The batch keeps them alive.
    drop((features, label));
    assert_eq!(batch.column(4).as_primitive::<Int64Type>().value(2), 1);
}

#[test]
fn shared_batch_checks_the_label_as_a_column() {
    let features = Arc::new(sample());
    let named_like_x = Arc::new(column("x", Values::I64s(vec![1, 0, 1]), None));
    let err = shared_batch(&features, Some(&named_like_x)).unwrap_err();
    assert!(matches!(err, DataError::DuplicateColumn { .. }), "{err}");
    let short = Arc::new(column("y", Values::I64s(vec![1, 0]), None));
    let err = shared_batch(&features, Some(&short)).unwrap_err();
    assert!(matches!(err, DataError::ColumnLength { .. }), "{err}");
    let bad_mask = Arc::new(column("y", Values::I64s(vec![1, 0, 1]), Some(vec![true])));
    let err = shared_batch(&features, Some(&bad_mask)).unwrap_err();
    assert!(matches!(err, DataError::ValidLength { .. }), "{err}");
    // A label alone: as many rows as it has.
    let empty = Arc::new(Table { columns: vec![] });
    let batch = shared_batch(&empty, Some(&short)).unwrap();
    assert_eq!((batch.num_rows(), batch.num_columns()), (2, 1));
}

#[test]
fn all_true_mask_becomes_none() {
    let table = Table {
        columns: vec![column("x", Values::F64s(vec![1.0]), Some(vec![true]))],
    };
    let batch = table_to_batch(table).unwrap();
    assert_eq!(batch_to_table(&batch).unwrap().columns[0].valid, None);
}

#[test]
fn mismatched_lengths_name_the_column() {
    let table = Table {
        columns: vec![
            column("a", Values::F64s(vec![1.0, 2.0]), None),
            column("b", Values::I64s(vec![1, 2, 3]), None),
        ],
    };
    let err = table_to_batch(table).unwrap_err();
    assert!(matches!(
        err,
        DataError::ColumnLength { ref column, actual: 3, expected: 2, .. } if column == "b"
    ));
    let text = err.to_string();
    assert!(
        text.contains("`b` has 3 rows") && text.contains("`a` has 2"),
        "{text}"
    );
}

#[test]
fn mask_length_checked() {
    let table = Table {
        columns: vec![column("a", Values::Bools(vec![true]), Some(vec![]))],
    };
    assert!(matches!(
        table_to_batch(table),
        Err(DataError::ValidLength {
            rows: 1,
            valid: 0,
            ..
        })
    ));
}

#[test]
fn names_checked() {
    let dup = Table {
        columns: vec![
            column("a", Values::I64s(vec![]), None),
            column("a", Values::I64s(vec![]), None),
        ],
    };
    assert!(matches!(
        table_to_batch(dup),
        Err(DataError::DuplicateColumn {
            first: 0,
            second: 1,
            ..
        })
    ));
    let empty = Table {
        columns: vec![column("", Values::I64s(vec![]), None)],
    };
    assert!(matches!(
        table_to_batch(empty),
        Err(DataError::EmptyColumnName { position: 0 })
    ));
}

#[test]
fn empty_table_has_no_rows() {
    let batch = table_to_batch(Table { columns: vec![] }).unwrap();
    assert_eq!((batch.num_rows(), batch.num_columns()), (0, 0));
}

#[test]
fn narrow_types_widen_and_unsupported_types_error() {
    let schema = Schema::new(vec![
        Field::new("i", DataType::Int32, true),
        Field::new("f", DataType::Float32, false),
        Field::new("u", DataType::UInt64, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int32Array::from(vec![Some(1), None])),
            Arc::new(Float32Array::from(vec![0.5, 2.0])),
            Arc::new(UInt64Array::from(vec![7, 8])),
        ],
    )
    .unwrap();
    let table = batch_to_table(&batch).unwrap();
    assert_same!(table.columns[0].values, Values::I64s(vec![1, 0]));
    assert_eq!(table.columns[0].valid, Some(vec![true, false]));
    assert_same!(table.columns[1].values, Values::F64s(vec![0.5, 2.0]));
    assert_same!(table.columns[2].values, Values::I64s(vec![7, 8]));

    let big = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("u", DataType::UInt64, false)])),
        vec![Arc::new(UInt64Array::from(vec![u64::MAX]))],
    )
    .unwrap();
    assert!(matches!(
        batch_to_table(&big),
        Err(DataError::IntegerOverflow { row: 0, .. })
    ));

    let dates = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("d", DataType::Date32, false)])),
        vec![Arc::new(arrow::array::Date32Array::from(vec![1]))],
    )
    .unwrap();
    let err = batch_to_table(&dates).unwrap_err();
    assert!(
        err.to_string().contains("column `d` has type Date32"),
        "{err}"
    );
}

#[test]
fn sliced_arrays_convert_their_slice() {
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                None,
                Some(3.0),
                Some(4.0),
            ])),
            Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
        ],
    )
    .unwrap()
    .slice(1, 2);
    let table = batch_to_table(&batch).unwrap();
    assert_same!(table.columns[0].values, Values::F64s(vec![0.0, 3.0]));
    assert_eq!(table.columns[0].valid, Some(vec![false, true]));
    assert_same!(
        table.columns[1].values,
        Values::Strings(vec!["b".into(), "c".into()])
    );
}

#[test]
fn summary_names_wit_types() {
    let batch = table_to_batch(sample()).unwrap();
    let summary = schema_summary(&batch);
    let kinds: Vec<_> = summary.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds, ["f64", "i64", "bool", "string"]);
    assert_eq!(summary[0].0, "x");
}

#[test]
fn large_numeric_table_converts() {
    let rows = 1_000_000;
    let columns = (0..10)
        .map(|c| column(&format!("c{c}"), Values::F64s(vec![c as f64; rows]), None))
        .collect();
    let batch = table_to_batch(Table { columns }).unwrap();
    assert_eq!(batch.num_rows(), rows);
    let table = batch_to_table(&batch).unwrap();
    assert_eq!(table.columns.len(), 10);
    assert!(matches!(&table.columns[9].values, Values::F64s(v) if v[rows - 1] == 9.0));
}

#[test]
fn plugin_columns_lower_the_table_batch_to_table_makes() {
    // Every kind of column, with and without nulls, and narrower types
    // widened: the views of the batch's own columns are the views of the
    // table `batch_to_table` copies out of it.
    let mut table = junk();
    table
        .columns
        .extend(sample().columns.into_iter().map(|mut c| {
            c.name.push_str("_sample");
            c
        }));
    table
        .columns
        .push(column("whole", Values::F64s(vec![-0.0, 1e300, 2.5]), None));
    table
        .columns
        .push(column("count", Values::I64s(vec![i64::MIN, 0, 7]), None));
    let batch = table_to_batch(table).unwrap();
    let narrow = RecordBatch::try_from_iter([
        (
            "f32",
            Arc::new(Float32Array::from(vec![0.5, 1.0, 2.0])) as ArrayRef,
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
        ),
    ])
    .unwrap();
    for batch in [batch, narrow] {
        let copied = batch_to_table(&batch).unwrap();
        let shared = batch_to_plugin_columns(&batch).unwrap();
        assert_eq!(shared.len(), copied.columns.len());
        for (shared, copied) in shared.iter().zip(&copied.columns) {
            assert_eq!(shared.name(), copied.name);
            assert_same!(shared.view(), ColumnView::from(copied));
        }
        // The columns without nulls share the batch's values.
        for (shared, array) in shared.iter().zip(batch.columns()) {
            if let PluginColumn::F64 { values, .. } = shared {
                let own = array.as_primitive::<Float64Type>().values();
                assert_eq!(values.as_ptr(), own.as_ptr(), "{}", shared.name());
            }
        }
    }
    // Which columns are shared: f64 and i64 without nulls only.
    let batch = table_to_batch(sample()).unwrap();
    let kinds: Vec<&str> = batch_to_plugin_columns(&batch)
        .unwrap()
        .iter()
        .map(|c| match c {
            PluginColumn::F64 { .. } => "f64",
            PluginColumn::I64 { .. } => "i64",
            PluginColumn::Converted(_) => "converted",
        })
        .collect();
    assert_eq!(kinds[..2], ["converted", "i64"]);
}
