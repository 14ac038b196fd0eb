//! Reading a CSV file into a table: every column's type inferred from all
//! of its rows, missing values spelt the ways pandas reads them, and a
//! number column with a stray value refused, naming the line.
//!
//! The file is read twice, each time as a stream (a record at a time, through
//! the `csv` crate's buffer): once to infer the types, once to decode. What
//! is held is the table being built, never the file's bytes.
//!
//! The rules (docs/pipelines.md, "Dataset files"):
//!
//! - A field is missing (a null) when, spaces around it aside, it is empty or
//!   one of pandas' default missing-value tokens ([`MISSING`]: `NA`, `NaN`,
//!   `nan`, `NULL`, `None`, `#N/A`, ...), or any other spelling of NaN (`NAN`).
//! - A column whose present values are all `true`/`false` (any case) is
//!   Boolean; all integers that fit 64 bits, Int64; all numbers, Float64.
//!   `inf`, `-inf`, `+inf` and `Infinity` (any case) are the infinities.
//! - A column whose present values are more than half numbers but not all is
//!   an error naming the first value that is not a number (its line and
//!   column), not a text column: such a column is numeric with a typo in it.
//!   Any other column is text.
//! - In a Float64 column, a literal beyond the range of a 64-bit float
//!   (`1e999`) is an error naming its line, not infinity.

use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::DataError;

/// pandas' default `na_values` (`pandas._libs.parsers.STR_NA_VALUES`): the
/// tokens `pandas.read_csv` reads as missing in any column. The empty field
/// is missing too.
pub(super) const MISSING: [&str; 18] = [
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// One field, classified.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Missing,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A finite literal too large for an f64 (`1e999`).
    Overflow,
    Text,
}

/// Empty, or one of the [`MISSING`] tokens, spaces around it aside.
fn is_missing(field: &[u8]) -> bool {
    let trimmed = field.trim_ascii();
    trimmed.is_empty() || MISSING.iter().any(|m| m.as_bytes() == trimmed)
}

fn classify(field: &[u8]) -> Value {
    if is_missing(field) {
        return Value::Missing;
    }
    let Ok(text) = std::str::from_utf8(field.trim_ascii()) else {
        return Value::Text;
    };
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::Int(i);
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_nan() => Value::Missing,
        Ok(f) if f.is_infinite() => {
            let word = digits.to_ascii_lowercase();
            if word == "inf" || word == "infinity" {
                Value::Float(f)
            } else {
                Value::Overflow
            }
        }
        Ok(f) => Value::Float(f),
        Err(_) => Value::Text,
    }
}

/// What the first pass saw in one column.
#[derive(Debug, Default)]
struct Seen {
    present: u64,
    bools: u64,
    ints: u64,
    /// Numbers that are not Int64 values (floats, overflows included).
    floats: u64,
    /// Bytes of the present values, for a text column's buffer.
    bytes: usize,
    /// The first present value that is not a number: line and value.
    first_not_number: Option<(u64, String)>,
    first_overflow: Option<(u64, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Text,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Text => DataType::Utf8,
        }
    }
}

/// A value as an error message shows it: escaped, and cut short.
fn shown(field: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(field);
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// Reads a CSV file with a header row from `source` (`path` names it in
/// errors), by the rules in this module's documentation.
pub(super) fn read_csv(
    path: &Path,
    mut source: impl Read + Seek,
) -> Result<RecordBatch, DataError> {
    let (names, kinds, seen, rows) = infer(path, &mut source)?;
    source.rewind().map_err(|source| DataError::Io {
        action: "rewind",
        path: path.to_owned(),
        source,
    })?;
    let mut columns: Vec<Column> = kinds
        .iter()
        .zip(&seen)
        .map(|(kind, seen)| Column::new(*kind, rows, seen.bytes))
        .collect();
    let mut reader = csv_reader(source);
    let mut record = csv::ByteRecord::new();
    let mut decoded = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line = record.position().map_or(0, csv::Position::line);
        for (i, (column, field)) in columns.iter_mut().zip(record.iter()).enumerate() {
            column
                .push(field)
                .map_err(|problem| value_error(path, line, &names[i], problem))?;
        }
        decoded += 1;
    }
    if decoded != rows {
        return Err(DataError::Parse {
            path: path.to_owned(),
            format: "CSV",
            source: ArrowError::CsvError(format!(
                "{decoded} rows where a first reading found {rows} (the file changed while \
                 it was read)"
            )),
        });
    }
    let fields: Vec<Field> = names
        .iter()
        .zip(&kinds)
        .map(|(name, kind)| Field::new(name, kind.data_type(), true))
        .collect();
    let arrays: Vec<ArrayRef> = columns.into_iter().map(Column::finish).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options).map_err(
        |source| DataError::Parse {
            path: path.to_owned(),
            format: "CSV",
            source,
        },
    )
}

fn csv_reader<R: Read>(source: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(256 << 10)
        .from_reader(source)
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        },
        _ => DataError::Parse {
            path: path.to_owned(),
            format: "CSV",
            source: ArrowError::CsvError(message),
        },
    }
}

fn value_error(path: &Path, line: u64, column: &str, problem: String) -> DataError {
    DataError::CsvValue {
        path: path.to_owned(),
        line,
        column: column.to_owned(),
        problem,
    }
}

type Inferred = (Vec<String>, Vec<Kind>, Vec<Seen>, usize);

/// The first pass: the header's names and each column's type, from every
/// row; the number of rows.
fn infer(path: &Path, source: impl Read) -> Result<Inferred, DataError> {
    let mut reader = csv_reader(source);
    let names = reader
        .byte_headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .enumerate()
        .map(|(i, name)| {
            String::from_utf8(name.to_vec()).map_err(|_| {
                value_error(
                    path,
                    1,
                    &format!("#{}", i + 1),
                    format!("the column name {} is not UTF-8", shown(name)),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen: Vec<Seen> = names.iter().map(|_| Seen::default()).collect();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line = || record.position().map_or(0, csv::Position::line);
        for (s, field) in seen.iter_mut().zip(record.iter()) {
            let value = classify(field);
            if value == Value::Missing {
                continue;
            }
            s.present += 1;
            s.bytes += field.len();
            match value {
                Value::Bool(_) => s.bools += 1,
                Value::Int(_) => s.ints += 1,
                Value::Float(_) => s.floats += 1,
                Value::Overflow => {
                    s.floats += 1;
                    s.first_overflow
                        .get_or_insert_with(|| (line(), shown(field)));
                }
                Value::Text | Value::Missing => {}
            }
            if !matches!(value, Value::Int(_) | Value::Float(_) | Value::Overflow) {
                s.first_not_number
                    .get_or_insert_with(|| (line(), shown(field)));
            }
        }
        rows += 1;
    }
    let mut kinds = Vec::with_capacity(names.len());
    for (name, s) in names.iter().zip(&seen) {
        let numbers = s.ints + s.floats;
        let kind = if s.present == 0 {
            Kind::Text
        } else if s.bools == s.present {
            Kind::Bool
        } else if s.ints == s.present {
            Kind::Int
        } else if numbers == s.present {
            if let Some((line, value)) = &s.first_overflow {
                return Err(value_error(
                    path,
                    *line,
                    name,
                    format!(
                        "{value} is beyond the range of a 64-bit float (it would read as \
                         infinity); write inf or -inf if infinity is meant"
                    ),
                ));
            }
            Kind::Float
        } else if numbers > s.present - numbers {
            let (line, value) = s
                .first_not_number
                .as_ref()
                .expect("a column of numbers but not all has a value that is not one");
            return Err(value_error(
                path,
                *line,
                name,
                format!(
                    "{value} is not a number, but {numbers} of the column's {} values are; \
                     correct it, or leave the field empty (or NA) if the value is missing",
                    s.present
                ),
            ));
        } else {
            Kind::Text
        };
        kinds.push(kind);
    }
    Ok((names, kinds, seen, rows))
}

/// One column being decoded.
enum Column {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
}

impl Column {
    fn new(kind: Kind, rows: usize, bytes: usize) -> Column {
        match kind {
            Kind::Bool => Column::Bool(BooleanBuilder::with_capacity(rows)),
            Kind::Int => Column::Int(Int64Builder::with_capacity(rows)),
            Kind::Float => Column::Float(Float64Builder::with_capacity(rows)),
            Kind::Text => Column::Text(StringBuilder::with_capacity(rows, bytes)),
        }
    }

    /// Appends `field`, or says why it does not fit the column (the file
    /// changed between the two readings, or text that is not UTF-8).
    fn push(&mut self, field: &[u8]) -> Result<(), String> {
        if let Column::Text(b) = self {
            if is_missing(field) {
                b.append_null();
            } else {
                let text = std::str::from_utf8(field)
                    .map_err(|_| format!("{} is not UTF-8 text", shown(field)))?;
                b.append_value(text);
            }
            return Ok(());
        }
        let value = classify(field);
        let mismatch = |expected: &str| {
            format!(
                "{} is not {expected}, as the column's other values are (did the file change \
                 while it was read?)",
                shown(field)
            )
        };
        match (self, value) {
            (Column::Bool(b), Value::Missing) => b.append_null(),
            (Column::Bool(b), Value::Bool(v)) => b.append_value(v),
            (Column::Int(b), Value::Missing) => b.append_null(),
            (Column::Int(b), Value::Int(v)) => b.append_value(v),
            (Column::Float(b), Value::Missing) => b.append_null(),
            // The nearest f64 to the integer, as parsing its text gives.
            (Column::Float(b), Value::Int(v)) => b.append_value(v as f64),
            (Column::Float(b), Value::Float(v)) => b.append_value(v),
            (Column::Bool(_), _) => return Err(mismatch("true or false")),
            (Column::Int(_), _) => return Err(mismatch("an integer")),
            (Column::Float(_) | Column::Text(_), _) => return Err(mismatch("a number")),
        }
        Ok(())
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Bool(mut b) => Arc::new(b.finish()),
            Column::Int(mut b) => Arc::new(b.finish()),
            Column::Float(mut b) => Arc::new(b.finish()),
            Column::Text(mut b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type};
    use std::io::Cursor;

    fn read(text: &str) -> Result<RecordBatch, DataError> {
        read_csv(Path::new("d.csv"), Cursor::new(text.as_bytes().to_vec()))
    }

    fn floats(batch: &RecordBatch, column: usize) -> Vec<Option<f64>> {
        let array = batch.column(column).as_primitive::<Float64Type>();
        (0..array.len())
            .map(|i| array.is_valid(i).then(|| array.value(i)))
            .collect()
    }

    /// Issue 18, point 15: NaN, nan, inf, -inf, Infinity, NA and the empty
    /// field each keep a numeric column numeric: the NaNs and NA are
    /// missing (as in pandas), the infinities are infinities.
    #[test]
    fn nan_inf_and_na_keep_a_column_numeric() {
        for (token, want) in [
            ("NaN", None),
            ("nan", None),
            ("-nan", None),
            ("NAN", None),
            ("NA", None),
            ("N/A", None),
            ("NULL", None),
            ("null", None),
            ("None", None),
            ("#N/A", None),
            ("<NA>", None),
            ("", None),
            (" ", None),
            ("inf", Some(f64::INFINITY)),
            ("-inf", Some(f64::NEG_INFINITY)),
            ("+inf", Some(f64::INFINITY)),
            ("Infinity", Some(f64::INFINITY)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("INF", Some(f64::INFINITY)),
        ] {
            let batch = read(&format!("x,y\n1.5,1\n{token},2\n-2,3\n"))
                .unwrap_or_else(|e| panic!("{token:?}: {e}"));
            assert_eq!(
                batch.schema().field(0).data_type(),
                &DataType::Float64,
                "{token:?}"
            );
            assert_eq!(
                floats(&batch, 0),
                [Some(1.5), want, Some(-2.0)],
                "{token:?}"
            );
        }
        // In an integer column a missing token leaves it Int64; an
        // infinity makes it Float64.
        let batch = read("n\n1\nNA\n3\n").unwrap();
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
        let n = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!((n.value(0), n.is_null(1), n.value(2)), (1, true, 3));
        let batch = read("n\n1\ninf\n3\n").unwrap();
        assert_eq!(
            floats(&batch, 0),
            [Some(1.0), Some(f64::INFINITY), Some(3.0)]
        );
        // Spaces around numbers (`1, 2`) are not text.
        let batch = read("a,b\n1, 2\n3, 4.5\n").unwrap();
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
        assert_eq!(floats(&batch, 1), [Some(2.0), Some(4.5)]);
        // A Boolean column with NA stays Boolean.
        let batch = read("b\ntrue\nNA\nFalse\n").unwrap();
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Boolean);
        assert!(batch.column(0).is_null(1));
    }

    /// A number column with a stray string is an error naming the file,
    /// the line, the column and the value, not a text column.
    #[test]
    fn a_stray_string_in_a_number_column_is_named() {
        let err = read("id,x\n1,0.5\n2,1.5\n3,oops\n4,2\n5,?\n").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::CsvValue { line: 4, .. }), "{msg}");
        assert!(
            msg.starts_with("`d.csv` line 4, column `x`: \"oops\" is not a number"),
            "{msg}"
        );
        assert!(msg.contains("3 of the column's 5 values are"), "{msg}");
        // A stray `true` too, and the line counts a quoted field's newlines.
        let err = read("note,x\n\"two\nlines\",1\nb,2\nc,true\n").unwrap_err();
        assert!(
            err.to_string().contains("line 5, column `x`: \"true\""),
            "{err}"
        );
        // Control characters in the value are escaped, a long one cut.
        let long = "z".repeat(500);
        let err = read(&format!("x\n1\n2\n\u{1b}[2J{long}\n")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(r#""\u{1b}[2Jzzz"#) && msg.len() < 300, "{msg}");
    }

    /// A column that is mostly text stays text, numbers and all.
    #[test]
    fn a_text_column_stays_text() {
        let batch = read("code,name\nA1,x\n17,y\nB2,NA\n").unwrap();
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Utf8);
        let code = batch.column(0).as_string::<i32>();
        assert_eq!((code.value(0), code.value(1)), ("A1", "17"));
        // As in pandas, NA is missing in a text column too.
        assert!(batch.column(1).is_null(2));
        // Half numbers, half not: text.
        let batch = read("c\n1\nx\n").unwrap();
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Utf8);
    }

    /// 1e999 is refused, naming the line, not read as infinity; a literal
    /// that only underflows reads as zero, as in pandas.
    #[test]
    fn an_overflowing_literal_is_refused() {
        for literal in ["1e999", "-1e999", "1.5E+400"] {
            let err = read(&format!("x\n1.5\n{literal}\n")).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!(
                    "`d.csv` line 3, column `x`: {literal:?} is beyond"
                )),
                "{msg}"
            );
        }
        // In a text column it is text.
        let batch = read("x\na\n1e999\nb\n").unwrap();
        assert_eq!(batch.column(0).as_string::<i32>().value(1), "1e999");
        assert_eq!(floats(&read("x\n1e-999\n").unwrap(), 0), [Some(0.0)]);
        // An integer too long for i64 is a float.
        let batch = read("x\n99999999999999999999\n1\n").unwrap();
        assert_eq!(floats(&batch, 0), [Some(1e20), Some(1.0)]);
    }

    #[test]
    fn text_that_is_not_utf8_is_named() {
        let err = read_csv(
            Path::new("d.csv"),
            Cursor::new(b"name\nok\nbad \xff\n".to_vec()),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("line 3, column `name`: \"bad \u{fffd}\" is not UTF-8"),
            "{err}"
        );
    }
}
