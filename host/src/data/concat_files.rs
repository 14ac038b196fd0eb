//! The tables of a dataset directory's files made one: their schemas
//! checked against each other, a column cast only where no value can
//! change, the rows one file after the other.
//!
//! Every file must have the same columns (by name; the order is the first
//! file's). Where one column's type differs between files, the types meet
//! at the one that holds both without loss:
//!
//! - integers of one signedness widen to the wider (Int32 and Int64 give
//!   Int64), an unsigned integer to a wider signed one (UInt32 and Int64
//!   give Int64); floats widen to the wider float;
//! - integers and floats give Float64, checked value by value: an integer
//!   beyond ±2^53, which a float cannot hold exactly, is an error;
//! - Utf8, LargeUtf8 and Utf8View give Utf8;
//! - a column that is null in every row of a file (a CSV column left
//!   empty) takes the type the other files give it.
//!
//! Anything else (text and numbers, timestamps of two units, UInt64 and a
//! signed integer) is an error naming the file, the column and both types.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, new_null_array};
use arrow::datatypes::{DataType, Field, Float64Type, Schema};
use arrow::record_batch::RecordBatch;

use super::DataError;

/// The largest integer every smaller one of which a Float64 holds exactly.
const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0;

/// The tables of `files` (each with the path it was read from), as one
/// table: the rows of the first file, then the second's, and so on.
pub fn concat_files(files: Vec<(PathBuf, RecordBatch)>) -> Result<RecordBatch, DataError> {
    let Some((first_path, first)) = files.first() else {
        return Err(DataError::Arrow {
            action: "joining the files of a dataset",
            source: arrow::error::ArrowError::InvalidArgumentError("no files".into()),
        });
    };
    let first_schema = first.schema();
    let mismatch = |path: &Path, column: &str, problem: String| DataError::SchemaMismatch {
        path: path.to_owned(),
        column: column.to_owned(),
        problem,
    };
    // Column by column: the type every file's column meets at (None while
    // every file so far had only nulls there), and whether any file's may
    // be null.
    let mut fields: Vec<(Option<DataType>, bool)> =
        vec![(None, false); first_schema.fields().len()];
    for (path, batch) in &files {
        let schema = batch.schema();
        for field in schema.fields() {
            if first_schema.index_of(field.name()).is_err() {
                return Err(mismatch(
                    path,
                    field.name(),
                    format!("not in {}, the first file", first_path.display()),
                ));
            }
        }
        for (i, want) in first_schema.fields().iter().enumerate() {
            let Ok(at) = schema.index_of(want.name()) else {
                return Err(mismatch(
                    path,
                    want.name(),
                    format!(
                        "missing here, but {} (the first file) has it",
                        first_path.display()
                    ),
                ));
            };
            let column = batch.column(at);
            let (met, nullable) = &mut fields[i];
            *nullable |= schema.field(at).is_nullable();
            if column.null_count() == column.len() {
                continue;
            }
            let here = column.data_type();
            *met = Some(match met {
                None => here.clone(),
                Some(before) => meet(before, here).ok_or_else(|| {
                    mismatch(
                        path,
                        want.name(),
                        format!(
                            "is {here} here but {before} in the files before it; only \
                             widening casts are made (see the pipeline format's docs)"
                        ),
                    )
                })?,
            });
        }
    }
    let schema = Arc::new(Schema::new(
        first_schema
            .fields()
            .iter()
            .zip(&fields)
            .map(|(f, (met, nullable))| {
                let data_type = met.clone().unwrap_or_else(|| f.data_type().clone());
                Field::new(f.name(), data_type, *nullable)
            })
            .collect::<Vec<_>>(),
    ));
    let mut batches = Vec::with_capacity(files.len());
    for (path, batch) in &files {
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let column = batch
                    .column_by_name(field.name())
                    .expect("every file has every column, checked above");
                cast_to(column, field.data_type())
                    .map_err(|problem| mismatch(path, field.name(), problem))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let batch = RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
        .map_err(|source| DataError::Arrow {
            action: "joining the files of a dataset",
            source,
        })?;
        batches.push(batch);
    }
    arrow::compute::concat_batches(&schema, &batches).map_err(|source| DataError::Arrow {
        action: "joining the files of a dataset",
        source,
    })
}

/// The type that holds every value of both `a` and `b` unchanged, if
/// there is one sluice casts to.
fn meet(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    let signed = |t: &DataType| match t {
        Int8 => Some(8),
        Int16 => Some(16),
        Int32 => Some(32),
        Int64 => Some(64),
        _ => None,
    };
    let unsigned = |t: &DataType| match t {
        UInt8 => Some(8),
        UInt16 => Some(16),
        UInt32 => Some(32),
        UInt64 => Some(64),
        _ => None,
    };
    let float = |t: &DataType| match t {
        Float16 => Some(16),
        Float32 => Some(32),
        Float64 => Some(64),
        _ => None,
    };
    let text = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    let integer = |t: &DataType| signed(t).or(unsigned(t)).is_some();
    let wider = |x: &DataType, y: &DataType, bits: &dyn Fn(&DataType) -> Option<u32>| {
        Some(if bits(x)? >= bits(y)? {
            x.clone()
        } else {
            y.clone()
        })
    };
    match (a, b) {
        (Null, t) | (t, Null) => Some(t.clone()),
        _ if signed(a).is_some() && signed(b).is_some() => wider(a, b, &signed),
        _ if unsigned(a).is_some() && unsigned(b).is_some() => wider(a, b, &unsigned),
        _ if signed(a).is_some() && unsigned(b).is_some() => {
            (signed(a)? > unsigned(b)?).then(|| a.clone())
        }
        _ if unsigned(a).is_some() && signed(b).is_some() => {
            (signed(b)? > unsigned(a)?).then(|| b.clone())
        }
        _ if float(a).is_some() && float(b).is_some() => wider(a, b, &float),
        _ if (integer(a) || float(a).is_some()) && (integer(b) || float(b).is_some()) => {
            Some(Float64)
        }
        _ if text(a) && text(b) => Some(Utf8),
        _ => None,
    }
}

/// `column` as `to`, which [`meet`] chose: an integer that Float64 would
/// round is an error, never a changed value.
fn cast_to(column: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    let from = column.data_type();
    if from == to {
        return Ok(column.clone());
    }
    if column.null_count() == column.len() {
        return Ok(new_null_array(to, column.len()));
    }
    let options = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let cast = arrow::compute::cast_with_options(column, to, &options)
        .map_err(|e| format!("cannot cast {from} to {to}: {e}"))?;
    if *to == DataType::Float64 && from.is_integer() {
        let values = cast.as_primitive::<Float64Type>();
        if let Some(row) = (0..values.len())
            .find(|&row| values.is_valid(row) && values.value(row).abs() > EXACT_IN_F64)
        {
            return Err(format!(
                "is {from} here and a float in other files, but row {row}'s value is beyond \
                 2^53, which a float cannot hold exactly; make the column one type in every file"
            ));
        }
    }
    Ok(cast)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int32Array, Int64Array, StringArray};

    fn table(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn files_are_joined_in_order_with_safe_widening() {
        let a = table(vec![
            ("n", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            ("x", Arc::new(Int64Array::from(vec![10, 20]))),
        ]);
        // Columns in another order, wider and float: cast, reordered.
        let b = table(vec![
            ("x", Arc::new(Float64Array::from(vec![0.5])) as ArrayRef),
            ("n", Arc::new(Int64Array::from(vec![3]))),
        ]);
        let joined = concat_files(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(joined.schema().field(0).name(), "n");
        assert_eq!(joined.schema().field(0).data_type(), &DataType::Int64);
        assert_eq!(joined.schema().field(1).data_type(), &DataType::Float64);
        let n = joined
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(n.values(), &[1, 2, 3]);
        let x = joined.column(1).as_primitive::<Float64Type>();
        assert_eq!(x.values(), &[10.0, 20.0, 0.5]);
    }

    #[test]
    fn a_mismatch_names_the_file_and_the_column() {
        let a = || table(vec![("n", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
        let text = table(vec![(
            "n",
            Arc::new(StringArray::from(vec!["one"])) as ArrayRef,
        )]);
        let e = concat_files(vec![("day1.csv".into(), a()), ("day2.csv".into(), text)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("day2.csv") && e.contains("`n`") && e.contains("Utf8"),
            "{e}"
        );

        let other = table(vec![("m", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
        let e = concat_files(vec![("day1.csv".into(), a()), ("day2.csv".into(), other)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("day2.csv") && e.contains("`m`"), "{e}");

        let huge = table(vec![(
            "n",
            Arc::new(Int64Array::from(vec![i64::MAX])) as ArrayRef,
        )]);
        let float = table(vec![(
            "n",
            Arc::new(Float64Array::from(vec![0.5])) as ArrayRef,
        )]);
        let e = concat_files(vec![("big.csv".into(), huge), ("f.csv".into(), float)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("big.csv") && e.contains("2^53"), "{e}");
    }

    #[test]
    fn an_all_null_column_takes_the_other_files_type() {
        let empty = table(vec![(
            "s",
            Arc::new(StringArray::from(vec![None::<&str>, None])) as ArrayRef,
        )]);
        let full = table(vec![("s", Arc::new(Int64Array::from(vec![7])) as ArrayRef)]);
        let joined = concat_files(vec![("a".into(), empty), ("b".into(), full)]).unwrap();
        assert_eq!(joined.schema().field(0).data_type(), &DataType::Int64);
        assert_eq!(joined.column(0).null_count(), 2);
        assert_eq!(joined.num_rows(), 3);
    }

    #[test]
    fn meeting_types_is_widening_only() {
        use DataType::*;
        assert_eq!(meet(&Int8, &Int32), Some(Int32));
        assert_eq!(meet(&UInt32, &Int64), Some(Int64));
        assert_eq!(meet(&UInt64, &Int64), None);
        assert_eq!(meet(&Float32, &Float64), Some(Float64));
        assert_eq!(meet(&Int64, &Float32), Some(Float64));
        assert_eq!(meet(&Utf8, &LargeUtf8), Some(Utf8));
        assert_eq!(meet(&Utf8, &Int64), None);
        assert_eq!(meet(&Boolean, &Int64), None);
    }
}
