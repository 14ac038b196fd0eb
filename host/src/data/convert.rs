//! Arrow <-> WIT table conversion.
//!
//! Numbers cross as one bulk copy per column: a WIT `list<f64>` becomes the
//! Arrow values buffer without copying (`ScalarBuffer::from(Vec)`), and the
//! other way is one `to_vec` of the buffer.

use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Arc;

use arrow::alloc::Allocation;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, GenericStringArray, Int64Array,
    OffsetSizeTrait, PrimitiveArray, RecordBatchOptions,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::ArrowNativeType;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Field, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Schema, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::record_batch::RecordBatch;

use super::DataError;
use crate::wit::{Column, Table, Values};

/// Converts a batch into the WIT table a plugin receives.
///
/// Float64 and Int64 columns are copied with one memcpy each; narrower
/// numeric types widen to `f64`/`i64`; Utf8, LargeUtf8, Utf8View and
/// string dictionaries become `strings`. A column without nulls has
/// `valid: None`; null slots hold a placeholder (0, false or ""), whatever
/// the batch had there.
pub fn batch_to_table(batch: &RecordBatch) -> Result<Table, DataError> {
    let schema = batch.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, array)| {
            let mut values = values_of(field.name(), array)?;
            let valid = valid_mask(array.as_ref());
            if let Some(valid) = &valid {
                clear_null_slots(&mut values, valid);
            }
            Ok(Column {
                name: field.name().clone(),
                values,
                valid,
            })
        })
        .collect::<Result<_, DataError>>()?;
    Ok(Table { columns })
}

/// Puts the placeholder (0, false or "") in every null slot. Arrow leaves
/// anything there: what a plugin returned, or, read from Parquet, a copy
/// of some other row's value. A plugin sees placeholders only, so a step's
/// input is the same whether the batch is the one its predecessor just
/// returned or the one read back from the store (a resumed run).
fn clear_null_slots(values: &mut Values, valid: &[bool]) {
    let null_rows = valid.iter().enumerate().filter(|(_, valid)| !**valid);
    for (row, _) in null_rows {
        match values {
            Values::F64s(v) => v[row] = 0.0,
            Values::I64s(v) => v[row] = 0,
            Values::Bools(v) => v[row] = false,
            Values::Strings(v) => v[row].clear(),
        }
    }
}

fn valid_mask(array: &dyn Array) -> Option<Vec<bool>> {
    let nulls = array.logical_nulls()?;
    (nulls.null_count() > 0).then(|| nulls.iter().collect())
}

fn values_of(name: &str, array: &ArrayRef) -> Result<Values, DataError> {
    Ok(match array.data_type() {
        DataType::Float64 => Values::F64s(array.as_primitive::<Float64Type>().values().to_vec()),
        DataType::Float32 => Values::F64s(widen(array.as_primitive::<Float32Type>(), f64::from)),
        DataType::Float16 => Values::F64s(widen(array.as_primitive::<Float16Type>(), f64::from)),
        DataType::Int64 => Values::I64s(array.as_primitive::<Int64Type>().values().to_vec()),
        DataType::Int32 => Values::I64s(widen(array.as_primitive::<Int32Type>(), i64::from)),
        DataType::Int16 => Values::I64s(widen(array.as_primitive::<Int16Type>(), i64::from)),
        DataType::Int8 => Values::I64s(widen(array.as_primitive::<Int8Type>(), i64::from)),
        DataType::UInt32 => Values::I64s(widen(array.as_primitive::<UInt32Type>(), i64::from)),
        DataType::UInt16 => Values::I64s(widen(array.as_primitive::<UInt16Type>(), i64::from)),
        DataType::UInt8 => Values::I64s(widen(array.as_primitive::<UInt8Type>(), i64::from)),
        DataType::UInt64 => {
            let array = array.as_primitive::<UInt64Type>();
            let values = array
                .values()
                .iter()
                .enumerate()
                .map(|(row, &value)| match i64::try_from(value) {
                    Ok(v) => Ok(v),
                    // A null slot's placeholder may hold anything.
                    Err(_) if array.is_null(row) => Ok(0),
                    Err(_) => Err(DataError::IntegerOverflow {
                        column: name.to_owned(),
                        row,
                        value,
                    }),
                })
                .collect::<Result<_, _>>()?;
            Values::I64s(values)
        }
        DataType::Boolean => Values::Bools(array.as_boolean().values().iter().collect()),
        DataType::Utf8 => Values::Strings(strings(array.as_string::<i32>())),
        DataType::LargeUtf8 => Values::Strings(strings(array.as_string::<i64>())),
        DataType::Utf8View => Values::Strings(
            array
                .as_string_view()
                .iter()
                .map(|s| s.unwrap_or_default().to_owned())
                .collect(),
        ),
        DataType::Dictionary(_, value) if value.as_ref() == &DataType::Utf8 => {
            let cast = arrow::compute::cast(array, &DataType::Utf8).map_err(|source| {
                DataError::Arrow {
                    action: "decoding a string dictionary column",
                    source,
                }
            })?;
            Values::Strings(strings(cast.as_string::<i32>()))
        }
        other => {
            return Err(DataError::UnsupportedType {
                column: name.to_owned(),
                data_type: other.to_string(),
            });
        }
    })
}

fn widen<T: ArrowPrimitiveType, U>(
    array: &PrimitiveArray<T>,
    f: impl Fn(T::Native) -> U,
) -> Vec<U> {
    array.values().iter().map(|&v| f(v)).collect()
}

fn strings<O: OffsetSizeTrait>(array: &GenericStringArray<O>) -> Vec<String> {
    // `value` is defined for null slots too (an arbitrary, usually empty,
    // string), which keeps this loop branch-free.
    (0..array.len())
        .map(|i| array.value(i).to_owned())
        .collect()
}

/// Converts a WIT table, typically one a plugin returned, into a batch.
///
/// The table is untrusted, so its shape is checked first: every column has
/// the same length, every `valid` mask has one entry per row, and names are
/// non-empty and unique. All fields of the result are nullable, so two
/// tables with the same columns have the same schema whether or not they
/// hold nulls.
pub fn table_to_batch(table: Table) -> Result<RecordBatch, DataError> {
    shared_batch(&Arc::new(table), None)
}

/// The batch of `features` then `label` (the target column a step's input
/// had, put back after the features a transform returned), sharing their
/// f64 and i64 values: the batch keeps the table and the column alive,
/// and copies only booleans, strings and validity masks. Checked as
/// [`check_shape`] checks a table, the label included.
pub fn shared_batch(
    features: &Arc<Table>,
    label: Option<&Arc<Column>>,
) -> Result<RecordBatch, DataError> {
    let mut rows = check_shape(features)?;
    if let Some(label) = label {
        // Checked as one more column of the table.
        if let Some(position) = features.columns.iter().position(|c| c.name == label.name) {
            return Err(DataError::DuplicateColumn {
                column: label.name.clone(),
                first: position,
                second: features.columns.len(),
            });
        }
        match features.columns.first() {
            Some(first) => check_length(label, &first.name, rows)?,
            None => rows = values_len(&label.values),
        }
    }
    let owner: Arc<dyn Allocation> = features.clone();
    let mut arrays: Vec<(&str, ArrayRef)> = features
        .columns
        .iter()
        .map(|c| (c.name.as_str(), shared_array(c, &owner)))
        .collect();
    if let Some(label) = label {
        let owner: Arc<dyn Allocation> = label.clone();
        arrays.push((label.name.as_str(), shared_array(label, &owner)));
    }
    let fields: Vec<Field> = arrays
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let arrays = arrays.into_iter().map(|(_, a)| a).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options).map_err(
        |source| DataError::Arrow {
            action: "building a batch from a plugin's table",
            source,
        },
    )
}

/// One column as an Arrow array; its f64 or i64 values shared with
/// `owner`, which holds them.
fn shared_array(column: &Column, owner: &Arc<dyn Allocation>) -> ArrayRef {
    let nulls = column
        .valid
        .as_deref()
        .map(NullBuffer::from)
        .filter(|nulls| nulls.null_count() > 0);
    match &column.values {
        Values::F64s(values) => Arc::new(Float64Array::new(shared(values, owner), nulls)),
        Values::I64s(values) => Arc::new(Int64Array::new(shared(values, owner), nulls)),
        Values::Bools(values) => Arc::new(BooleanArray::new(
            BooleanBuffer::from(values.as_slice()),
            nulls,
        )),
        Values::Strings(values) => string_array(values, nulls),
    }
}

/// `values` as an Arrow buffer without a copy, kept alive by `owner`.
fn shared<T: ArrowNativeType>(values: &[T], owner: &Arc<dyn Allocation>) -> ScalarBuffer<T> {
    let ptr = NonNull::from(values).cast::<u8>();
    // SAFETY: `values` lies in memory that `owner` holds (a table or
    // column behind an `Arc`, never changed once shared), so it stays
    // valid, unchanged, for as long as the buffer keeps `owner`; the
    // pointer is that of a slice, so aligned for `T` and non-null.
    let buffer = unsafe {
        Buffer::from_custom_allocation(ptr, std::mem::size_of_val(values), owner.clone())
    };
    ScalarBuffer::new(buffer, 0, values.len())
}

/// What a plugin gets from `batch_to_table(&table_to_batch(table))`, made
/// in place: a placeholder (0, false or "") in every null slot, and no
/// validity mask on a column without nulls. A table a plugin returned is
/// normalized before the next step gets it as is (without the round trip),
/// so that step's input is the same as if it were read back from the store.
pub fn normalize(table: &mut Table) {
    for column in &mut table.columns {
        let Column { values, valid, .. } = column;
        match valid {
            Some(v) if v.iter().all(|v| *v) => *valid = None,
            Some(v) => clear_null_slots(values, v),
            None => {}
        }
    }
}

/// Checks lengths and names; returns the number of rows. The runtime
/// calls it on every table a plugin returns, before anything else.
pub fn check_shape(table: &Table) -> Result<usize, DataError> {
    let Some(first) = table.columns.first() else {
        return Ok(0);
    };
    let expected = values_len(&first.values);
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(table.columns.len());
    for (position, column) in table.columns.iter().enumerate() {
        if column.name.is_empty() {
            return Err(DataError::EmptyColumnName { position });
        }
        if let Some(&first) = seen.get(column.name.as_str()) {
            return Err(DataError::DuplicateColumn {
                column: column.name.clone(),
                first,
                second: position,
            });
        }
        seen.insert(&column.name, position);
        check_length(column, &first.name, expected)?;
    }
    Ok(expected)
}

/// Checks that `column` and its mask have `expected` rows, as the first
/// column (named `first`) has.
fn check_length(column: &Column, first: &str, expected: usize) -> Result<(), DataError> {
    let actual = values_len(&column.values);
    if actual != expected {
        return Err(DataError::ColumnLength {
            column: column.name.clone(),
            actual,
            first: first.to_owned(),
            expected,
        });
    }
    if let Some(valid) = &column.valid
        && valid.len() != actual
    {
        return Err(DataError::ValidLength {
            column: column.name.clone(),
            rows: actual,
            valid: valid.len(),
        });
    }
    Ok(())
}

fn values_len(values: &Values) -> usize {
    match values {
        Values::F64s(v) => v.len(),
        Values::I64s(v) => v.len(),
        Values::Bools(v) => v.len(),
        Values::Strings(v) => v.len(),
    }
}

/// Builds the offsets and one values buffer directly; falls back to 64-bit
/// offsets when the strings hold more than 2 GiB.
fn string_array(values: &[String], nulls: Option<NullBuffer>) -> ArrayRef {
    let total: usize = values.iter().map(String::len).sum();
    if i32::try_from(total).is_ok() {
        Arc::new(build_strings::<i32>(values, total, nulls))
    } else {
        Arc::new(build_strings::<i64>(values, total, nulls))
    }
}

fn build_strings<O: OffsetSizeTrait>(
    values: &[String],
    total: usize,
    nulls: Option<NullBuffer>,
) -> GenericStringArray<O> {
    let offsets = OffsetBuffer::<O>::from_lengths(values.iter().map(String::len));
    let mut bytes = Vec::with_capacity(total);
    for value in values {
        bytes.extend_from_slice(value.as_bytes());
    }
    // The offsets come from the lengths of valid UTF-8 strings, so the
    // validation in `new` cannot fail.
    GenericStringArray::new(offsets, Buffer::from(bytes), nulls)
}

/// One `(name, type)` pair per column, with the type as the WIT side sees
/// it: `f64`, `i64`, `bool` or `string` (other types by their Arrow name).
pub fn schema_summary(batch: &RecordBatch) -> Vec<(String, String)> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|field| {
            let kind = match field.data_type() {
                DataType::Float16 | DataType::Float32 | DataType::Float64 => "f64".to_owned(),
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64 => "i64".to_owned(),
                DataType::Boolean => "bool".to_owned(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".to_owned(),
                DataType::Dictionary(_, value) if value.as_ref() == &DataType::Utf8 => {
                    "string".to_owned()
                }
                other => other.to_string(),
            };
            (field.name().clone(), kind)
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
}
