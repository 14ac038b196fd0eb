//! Arrow <-> WIT table conversion.
//!
//! Numbers cross as one bulk copy per column: a WIT `list<f64>` becomes the
//! Arrow values buffer without copying (`ScalarBuffer::from(Vec)`), and the
//! other way is one `to_vec` of the buffer.
//!
//! The checks an untrusted table passes first are in `shape.rs`.

mod shape;
#[cfg(test)]
mod tests;

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
use crate::runtime::view::{ColumnView, TableView, ValuesView};
use crate::wit::{Column, Table, Values};

pub use shape::check_shape;
use shape::{check_length, values_len};

/// Converts a batch into the WIT table a plugin receives.
///
/// Float64 and Int64 columns are copied with one memcpy each; narrower
/// numeric types widen to `f64`/`i64`; Utf8, LargeUtf8 and Utf8View become
/// `strings`; a dictionary is its values, a decimal the nearest `f64`.
/// Times are refused: a dataset's are cast by [`for_plugins`](super::for_plugins)
/// in its `time_unit`. A column without nulls has
/// `valid: None`; null slots hold a placeholder (0, false or ""), whatever
/// the batch had there.
pub fn batch_to_table(batch: &RecordBatch) -> Result<Table, DataError> {
    let schema = batch.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, array)| column_of(field.name(), array))
        .collect::<Result<_, DataError>>()?;
    Ok(Table { columns })
}

/// One column of [`batch_to_table`].
fn column_of(name: &str, array: &ArrayRef) -> Result<Column, DataError> {
    let mut values = values_of(name, array)?;
    let valid = valid_mask(array.as_ref());
    if let Some(valid) = &valid {
        clear_null_slots(&mut values, valid);
    }
    Ok(Column {
        name: name.to_owned(),
        values,
        valid,
    })
}

/// A column of a batch as a plugin gets it ([`batch_to_plugin_columns`]).
#[derive(Debug, Clone)]
pub enum PluginColumn {
    /// An f64 column without nulls: its Arrow values, not copied.
    F64 {
        /// The column's name.
        name: String,
        /// Its values.
        values: ScalarBuffer<f64>,
    },
    /// An i64 column without nulls: its Arrow values, not copied.
    I64 {
        /// The column's name.
        name: String,
        /// Its values.
        values: ScalarBuffer<i64>,
    },
    /// Any other column, converted as [`batch_to_table`] converts it.
    Converted(Column),
}

impl PluginColumn {
    /// The column's name.
    pub fn name(&self) -> &str {
        match self {
            PluginColumn::F64 { name, .. } | PluginColumn::I64 { name, .. } => name,
            PluginColumn::Converted(column) => &column.name,
        }
    }

    /// The column as an owned copy (for a label put back beside what a
    /// transform returned).
    pub fn to_column(&self) -> Column {
        match self {
            PluginColumn::F64 { name, values } => Column {
                name: name.clone(),
                values: Values::F64s(values.to_vec()),
                valid: None,
            },
            PluginColumn::I64 { name, values } => Column {
                name: name.clone(),
                values: Values::I64s(values.to_vec()),
                valid: None,
            },
            PluginColumn::Converted(column) => column.clone(),
        }
    }

    /// The column as it is lowered into a plugin.
    pub fn view(&self) -> ColumnView<'_> {
        match self {
            PluginColumn::F64 { name, values } => ColumnView {
                name,
                values: ValuesView::F64s(values),
                valid: None,
            },
            PluginColumn::I64 { name, values } => ColumnView {
                name,
                values: ValuesView::I64s(values),
                valid: None,
            },
            PluginColumn::Converted(column) => ColumnView::from(column),
        }
    }
}

/// The table of `columns` as it is lowered into a plugin.
pub fn plugin_table(columns: &[PluginColumn]) -> TableView<'_> {
    TableView {
        columns: columns.iter().map(PluginColumn::view).collect(),
    }
}

/// The columns of [`batch_to_table`]'s table, without its copies of the
/// f64 and i64 columns that hold no null: those keep the batch's buffers
/// (shared, not copied), and the canonical ABI lowers them into the
/// plugin from there. The plugin gets the same table either way.
pub fn batch_to_plugin_columns(batch: &RecordBatch) -> Result<Vec<PluginColumn>, DataError> {
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, array)| {
            let name = field.name();
            let no_nulls = array.logical_nulls().is_none_or(|n| n.null_count() == 0);
            Ok(match array.data_type() {
                DataType::Float64 if no_nulls => PluginColumn::F64 {
                    name: name.clone(),
                    values: array.as_primitive::<Float64Type>().values().clone(),
                },
                DataType::Int64 if no_nulls => PluginColumn::I64 {
                    name: name.clone(),
                    values: array.as_primitive::<Int64Type>().values().clone(),
                },
                _ => PluginColumn::Converted(column_of(name, array)?),
            })
        })
        .collect()
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
        // A dictionary (pandas' `category`) is its values; a decimal the
        // nearest f64: neither cast needs anything the table lacks, unlike
        // a time, whose unit is the dataset's (`for_plugins`).
        DataType::Dictionary(_, value) => {
            let cast = arrow::compute::cast(array, value).map_err(|source| DataError::Arrow {
                action: "decoding a dictionary column",
                source,
            })?;
            return values_of(name, &cast);
        }
        DataType::Decimal32(_, _)
        | DataType::Decimal64(_, _)
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => {
            let cast = arrow::compute::cast(array, &DataType::Float64).map_err(|source| {
                DataError::Arrow {
                    action: "converting a decimal column",
                    source,
                }
            })?;
            return values_of(name, &cast);
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
