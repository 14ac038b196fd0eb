//! A dataset's table made of the types plugins receive (f64, i64, bool and
//! text), once it is read: what Arrow can cast is cast, by fixed rules,
//! and any other type is an error naming the dataset, the column and the
//! type.
//!
//! | Arrow type | reaches plugins as |
//! |---|---|
//! | Float16/32/64 | f64 |
//! | Int8..Int64, UInt8..UInt64 | i64 (a UInt64 beyond i64 is an error when a step gets it) |
//! | Boolean | bool |
//! | Utf8, LargeUtf8, Utf8View | text |
//! | Dictionary (pandas' `category`) | its values' type, by these rules |
//! | Decimal32/64/128/256 | f64 (the nearest) |
//! | Timestamp (any unit, any time zone) | i64: `time_unit`s since 1970-01-01 UTC, rounded down |
//! | Date32, Date64 | i64: `time_unit`s from 1970-01-01 to the date's midnight UTC |
//! | Time32, Time64 (time of day) | i64: `time_unit`s since midnight |
//! | Duration | i64: `time_unit`s |
//! | Null (a column with no values) | f64, all missing |
//!
//! `dtypes` then casts a column to the type it names (a time given `f64`
//! is its i64 count as a float; a time given `utf8` is ISO 8601 text), and
//! a `parse_dates` column of text is parsed as ISO 8601 first (a value with
//! no offset is UTC).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, TimestampMicrosecondArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::read_options::{ColumnType, ReadOptions};
use super::{DataError, EpochUnit};

/// The time zone of a `parse_dates` column: its values are UTC instants.
pub(super) const UTC: &str = "UTC";

/// `text` (ISO 8601: `2024-01-31`, `2024-01-31 12:00:00`,
/// `2024-01-31T12:00:00.5+02:00`, ...) as microseconds since 1970-01-01
/// UTC; a value with no offset is UTC.
pub(super) fn parse_time(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let time = arrow::compute::kernels::cast_utils::string_to_datetime(&chrono::Utc, trimmed)
        .map_err(|_| {
            format!(
                "{text:?} is not a date or time; `parse_dates` reads ISO 8601 \
                 (2024-01-31, 2024-01-31 12:00:00, 2024-01-31T12:00:00Z, \
                 2024-01-31T12:00:00+02:00)"
            )
        })?;
    Ok(time.timestamp_micros())
}

/// The type a `parse_dates` column is read as.
pub(super) fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
}

/// `batch` (`what` names the dataset in errors) with every column of a
/// type plugins receive, by the rules of this module's documentation and
/// `options` (`dtypes`, `parse_dates`, `time_unit`). Every column `dtypes`
/// or `parse_dates` names must be in it.
pub fn for_plugins(
    batch: &RecordBatch,
    options: &ReadOptions,
    what: &str,
) -> Result<RecordBatch, DataError> {
    let schema = batch.schema();
    let named = options.dtypes.keys().map(|c| (c, "dtypes"));
    let dated = options.parse_dates.iter().map(|c| (c, "parse_dates"));
    for (column, key) in named.chain(dated) {
        if schema.index_of(column).is_err() {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(DataError::Column {
                what: what.to_owned(),
                column: column.clone(),
                problem: format!(
                    "`{key}` names it, but there is no such column (columns: {})",
                    names.join(", ")
                ),
            });
        }
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        let name = field.name();
        let problem = |problem: String| DataError::Column {
            what: what.to_owned(),
            column: name.clone(),
            problem,
        };
        let mut array = array.clone();
        if options.parse_dates.contains(name) {
            array = parse_dates(&array).map_err(problem)?;
        }
        let dtype = options.dtypes.get(name).copied();
        let array = if dtype == Some(ColumnType::Utf8) && is_time(array.data_type()) {
            cast(&array, &DataType::Utf8).map_err(problem)?
        } else {
            let plain = plugin_type(&array, options.unit()).map_err(problem)?;
            match dtype {
                Some(t) if plain.data_type() != &t.data_type() => cast(&plain, &t.data_type())
                    .map_err(|e| problem(format!("`dtypes` makes it {}: {e}", t.name())))?,
                _ => plain,
            }
        };
        fields.push(Field::new(name, array.data_type().clone(), true));
        columns.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options).map_err(
        |source| DataError::Arrow {
            action: "casting a dataset's columns",
            source,
        },
    )
}

/// A `parse_dates` column: text parsed (a row that is not a time named),
/// a time kept as it is.
fn parse_dates(array: &ArrayRef) -> Result<ArrayRef, String> {
    let texts: Vec<Option<&str>> = match array.data_type() {
        t if is_time(t) => return Ok(array.clone()),
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        DataType::Dictionary(_, _) => {
            return parse_dates(&cast(array, &DataType::Utf8)?);
        }
        t => {
            return Err(format!(
                "`parse_dates` names it, but it is {t}, neither text nor a time"
            ));
        }
    };
    let micros = texts
        .iter()
        .enumerate()
        .map(|(row, text)| {
            text.map(|t| parse_time(t).map_err(|e| format!("row {}: {e}", row + 1)))
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(
        TimestampMicrosecondArray::from(micros).with_timezone(UTC),
    ))
}

/// Whether values of type `t` are times: dates, timestamps, times of day
/// or durations.
fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _)
            | DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Duration(_)
    )
}

fn cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| e.to_string())
}

/// One column as a type plugins receive (see the module's table).
fn plugin_type(array: &ArrayRef, unit: EpochUnit) -> Result<ArrayRef, String> {
    use DataType::*;
    let nanos_per_tick = |u: &TimeUnit| match u {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let ticks = match array.data_type() {
        Float16 | Float32 | Float64 | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32
        | UInt64 | Boolean | Utf8 | LargeUtf8 | Utf8View => return Ok(array.clone()),
        Dictionary(_, values) => {
            let values = cast(array, values)?;
            return plugin_type(&values, unit);
        }
        Decimal32(_, _) | Decimal64(_, _) | Decimal128(_, _) | Decimal256(_, _) | Null => {
            return cast(array, &Float64);
        }
        Timestamp(u, _) | Time32(u) | Time64(u) | Duration(u) => nanos_per_tick(u),
        Date32 => 86_400 * 1_000_000_000,
        Date64 => 1_000_000,
        other => {
            return Err(format!(
                "its type {other} is not one plugins receive, and sluice casts it to none \
                 that they do (see \"Column types\" in docs/pipelines.md): drop or convert \
                 the column before writing the file"
            ));
        }
    };
    // The raw ticks, whatever the time zone: a timestamp's are UTC.
    let raw = cast(array, &Int64)?;
    rescale(raw.as_primitive::<Int64Type>(), ticks, unit.nanos() as i64)
}

/// Ticks of `from` nanoseconds as ticks of `to` nanoseconds: multiplied
/// exactly (an overflow is an error naming the row) or divided rounding
/// down.
fn rescale(ticks: &Int64Array, from: i64, to: i64) -> Result<ArrayRef, String> {
    let scaled = if from == to {
        ticks.clone()
    } else if from > to {
        let factor = from / to;
        let mut out = Vec::with_capacity(ticks.len());
        for (row, t) in ticks.iter().enumerate() {
            out.push(
                t.map(|t| {
                    t.checked_mul(factor).ok_or_else(|| {
                        format!(
                            "row {}: {t} ticks of its unit do not fit 64 bits in the dataset's \
                             `time_unit`; use a coarser one",
                            row + 1
                        )
                    })
                })
                .transpose()?,
            );
        }
        Int64Array::from(out)
    } else {
        let factor = to / from;
        ticks.unary(|t| t.div_euclid(factor))
    };
    Ok(Arc::new(scaled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read_options::ReadKeys;
    use arrow::array::{
        Date32Array, Decimal128Array, DictionaryArray, Float64Array, StringArray,
        TimestampNanosecondArray,
    };
    use arrow::datatypes::{Float64Type, Int32Type};

    fn one(name: &str, array: ArrayRef) -> RecordBatch {
        RecordBatch::try_from_iter([(name, array)]).unwrap()
    }

    fn ints(batch: &RecordBatch) -> Vec<Option<i64>> {
        batch.column(0).as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn times_become_counts_of_the_unit_rounded_down() {
        let ns: ArrayRef = Arc::new(
            TimestampNanosecondArray::from(vec![Some(1_500_000_000), None, Some(-1)])
                .with_timezone("Europe/Paris"),
        );
        let batch = for_plugins(&one("t", ns.clone()), &ReadOptions::default(), "d").unwrap();
        assert_eq!(ints(&batch), [Some(1), None, Some(-1)]);
        let ms = ReadOptions {
            time_unit: Some(EpochUnit::Millis),
            ..Default::default()
        };
        assert_eq!(
            ints(&for_plugins(&one("t", ns), &ms, "d").unwrap()),
            [Some(1500), None, Some(-1)]
        );
        let days: ArrayRef = Arc::new(Date32Array::from(vec![1, -1]));
        let batch = for_plugins(&one("d", days.clone()), &ms, "d").unwrap();
        assert_eq!(ints(&batch), [Some(86_400_000), Some(-86_400_000)]);
        let huge = ReadOptions {
            time_unit: Some(EpochUnit::Nanos),
            ..Default::default()
        };
        let far: ArrayRef = Arc::new(Date32Array::from(vec![1, 1_000_000]));
        let e = for_plugins(&one("d", far), &huge, "dataset 'x'").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("dataset 'x', column `d`: row 2: 1000000 ticks"),
            "{e}"
        );
        // As f64, and as text.
        let batch =
            for_plugins(&one("d", days.clone()), &with_dtypes(&[("d", "f64")]), "d").unwrap();
        let v: Vec<f64> = batch
            .column(0)
            .as_primitive::<Float64Type>()
            .values()
            .to_vec();
        assert_eq!(v, [86_400.0, -86_400.0]);
        let batch = for_plugins(&one("d", days), &with_dtypes(&[("d", "utf8")]), "d").unwrap();
        assert_eq!(batch.column(0).as_string::<i32>().value(1), "1969-12-31");
    }

    fn with_dtypes(dtypes: &[(&str, &str)]) -> ReadOptions {
        let map = dtypes
            .iter()
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .collect();
        ReadOptions::from_keys(&ReadKeys {
            dtypes: Some(&map),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn dictionaries_decimals_and_text_dates_are_cast() {
        let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        let batch = for_plugins(&one("c", Arc::new(dict)), &ReadOptions::default(), "d").unwrap();
        assert_eq!(batch.column(0).data_type(), &DataType::Utf8);
        assert_eq!(batch.column(0).as_string::<i32>().value(2), "a");

        let dec = Decimal128Array::from(vec![Some(12_345), None])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let batch = for_plugins(&one("m", Arc::new(dec)), &ReadOptions::default(), "d").unwrap();
        let m = batch.column(0).as_primitive::<Float64Type>();
        assert_eq!((m.value(0), m.is_null(1)), (123.45, true));

        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1970-01-02"),
            None,
            Some("1970-01-01T01:00:00+01:00"),
        ]));
        let dates = ReadOptions {
            parse_dates: vec!["t".into()],
            ..Default::default()
        };
        let batch = for_plugins(&one("t", text), &dates, "d").unwrap();
        assert_eq!(ints(&batch), [Some(86_400), None, Some(0)]);
        let bad: ArrayRef = Arc::new(StringArray::from(vec!["2024-01-01", "31/01/2024"]));
        let e = for_plugins(&one("t", bad), &dates, "dataset 'x'").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("dataset 'x', column `t`: row 2: \"31/01/2024\" is not a date"),
            "{e}"
        );
        let e = for_plugins(
            &one("x", Arc::new(Float64Array::from(vec![1.0]))),
            &dates,
            "dataset 'x'",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("column `t`: `parse_dates` names it, but there is no such column"),
            "{e}"
        );
    }

    #[test]
    fn a_type_without_a_cast_is_named() {
        let binary: ArrayRef = Arc::new(arrow::array::BinaryArray::from(vec![&b"x"[..]]));
        let e = for_plugins(&one("blob", binary), &ReadOptions::default(), "dataset 'x'")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("dataset 'x', column `blob`: its type Binary is not one"),
            "{e}"
        );
        // A dtype that cannot hold the values.
        let text: ArrayRef = Arc::new(StringArray::from(vec!["12", "x"]));
        let e = for_plugins(&one("n", text), &with_dtypes(&[("n", "i64")]), "d")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("d, column `n`: `dtypes` makes it i64"), "{e}");
    }
}
