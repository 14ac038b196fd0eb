//! Reading a CSV file into a table: every column's type inferred from all
//! of its rows (or given by the dataset's `dtypes` and `parse_dates`),
//! missing values spelt the ways pandas reads them, and a number column
//! with a stray value refused, naming the line.
//!
//! The file is read twice, each time as a stream (a record at a time, through
//! the `csv` crate's buffer): once to infer the types, once to decode. What
//! is held is the table being built, never the file's bytes. A UTF-8 byte
//! order mark is skipped, CRLF line ends are line ends, and a quoted field
//! may hold the delimiter, doubled quotes and line ends.
//!
//! The rules (docs/pipelines.md, "Dataset files"):
//!
//! - A field is missing (a null) when, spaces around it aside, it is empty or
//!   one of the dataset's `na_values` (by default pandas' missing-value
//!   tokens, [`DEFAULT_NA_VALUES`](super::DEFAULT_NA_VALUES): `NA`, `NaN`,
//!   `nan`, `NULL`, `None`, `#N/A`, ...), or, in a number column, any other
//!   spelling of NaN (`NAN`).
//! - A column `dtypes` names is read as that type, and one `parse_dates`
//!   names as ISO 8601 times; a value that is not one is an error naming
//!   its line and column.
//! - Any other column whose present values are all `true`/`false` (any
//!   case) is Boolean; all integers that fit 64 bits, Int64; all numbers,
//!   Float64. `inf`, `-inf`, `+inf` and `Infinity` (any case) are the
//!   infinities.
//! - A column whose present values are more than half numbers but not all is
//!   an error naming the first value that is not a number (its line and
//!   column), not a text column: such a column is numeric with a typo in it.
//!   Any other column is text.
//! - In a Float64 column, a literal beyond the range of a 64-bit float
//!   (`1e999`) is an error naming its line, not infinity.
//! - Text is UTF-8, or in the single-byte `encoding` the dataset names
//!   (decoded field by field): a UTF-8 field or column name that is not
//!   valid is an error naming its line and column.

use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::plugin_types::{UTC, parse_time, time_type};
use super::{ColumnType, DataError, ReadOptions};

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

fn classify(field: &[u8], options: &ReadOptions) -> Value {
    if options.is_missing(field) {
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
    /// The first present value that is not a number: where and value.
    first_not_number: Option<(csv::Position, String)>,
    first_overflow: Option<(csv::Position, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Text,
    /// A `parse_dates` column: microseconds since 1970, UTC.
    Time,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Text => DataType::Utf8,
            Kind::Time => time_type(),
        }
    }

    /// The kind a column is read as when `options` give it one.
    fn given(name: &str, options: &ReadOptions) -> Option<Kind> {
        if options.parse_dates.iter().any(|c| c == name) {
            return Some(Kind::Time);
        }
        options.dtypes.get(name).map(|t| match t {
            ColumnType::F64 => Kind::Float,
            ColumnType::I64 => Kind::Int,
            ColumnType::Bool => Kind::Bool,
            ColumnType::Utf8 => Kind::Text,
        })
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
/// errors), by the rules in this module's documentation and `options`.
pub(super) fn read_csv(
    path: &Path,
    mut source: impl Read + Seek,
    options: &ReadOptions,
) -> Result<RecordBatch, DataError> {
    let (names, kinds, seen, rows) = infer(path, &mut source, options)?;
    source.rewind().map_err(|source| DataError::Io {
        action: "rewind",
        path: path.to_owned(),
        source,
    })?;
    let mut columns: Vec<Column> = names
        .iter()
        .zip(&kinds)
        .zip(&seen)
        .map(|((name, kind), seen)| Column {
            builder: Builder::new(*kind, rows, seen.bytes),
            given: Kind::given(name, options).is_some(),
        })
        .collect();
    let mut reader = csv_reader(source, options);
    let mut record = csv::ByteRecord::new();
    let mut rows_read = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        for (i, (column, field)) in columns.iter_mut().zip(record.iter()).enumerate() {
            if let Err(problem) = column.push(&decoded(field, options), options) {
                let line = record.position().map_or(0, |p| line_of(&mut reader, p));
                return Err(value_error(path, line, &names[i], problem));
            }
        }
        rows_read += 1;
    }
    if rows_read != rows {
        return Err(DataError::Parse {
            path: path.to_owned(),
            format: "CSV",
            source: ArrowError::CsvError(format!(
                "{rows_read} rows where a first reading found {rows} (the file changed while \
                 it was read)"
            )),
        });
    }
    let fields: Vec<Field> = names
        .iter()
        .zip(&kinds)
        .map(|(name, kind)| Field::new(name, kind.data_type(), true))
        .collect();
    let arrays: Vec<ArrayRef> = columns.into_iter().map(|c| c.builder.finish()).collect();
    let batch_options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &batch_options)
        .map_err(|source| DataError::Parse {
            path: path.to_owned(),
            format: "CSV",
            source,
        })
}

fn csv_reader<R: Read>(source: R, options: &ReadOptions) -> csv::Reader<R> {
    let mut builder = csv::ReaderBuilder::new();
    builder
        .has_headers(true)
        .delimiter(options.delimiter)
        .buffer_capacity(256 << 10);
    match options.quote {
        Some(q) => builder.quote(q),
        None => builder.quoting(false),
    };
    builder.from_reader(source)
}

/// The line (counting from 1) a record starts on. The `csv` crate ends a
/// CRLF line at its CR, so a record after one starts, by its position, at
/// the LF, whose line end it has not counted yet: the byte there tells.
/// Only for an error: it moves the reader's source.
fn line_of<R: Read + Seek>(reader: &mut csv::Reader<R>, position: &csv::Position) -> u64 {
    let source = reader.get_mut();
    let mut byte = [0];
    let at_lf = source.seek(SeekFrom::Start(position.byte())).is_ok()
        && source.read_exact(&mut byte).is_ok()
        && byte[0] == b'\n';
    position.line() + u64::from(at_lf)
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
/// row (or from `options`); the number of rows.
fn infer<R: Read + Seek>(
    path: &Path,
    source: R,
    options: &ReadOptions,
) -> Result<Inferred, DataError> {
    let mut reader = csv_reader(source, options);
    let names = reader
        .byte_headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .enumerate()
        .map(|(i, name)| {
            String::from_utf8(decoded(name, options).into_owned()).map_err(|_| {
                value_error(
                    path,
                    1,
                    &format!("#{}", i + 1),
                    format!("the column name {} is not UTF-8", shown(name)),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let named = options.dtypes.keys().map(|c| (c, "dtypes"));
    let dated = options.parse_dates.iter().map(|c| (c, "parse_dates"));
    for (column, key) in named.chain(dated) {
        if !names.contains(column) {
            return Err(value_error(
                path,
                1,
                column,
                format!(
                    "`{key}` names it, but the header has no such column (columns: {})",
                    names.join(", ")
                ),
            ));
        }
    }
    let mut seen: Vec<Seen> = names.iter().map(|_| Seen::default()).collect();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let at = || {
            record
                .position()
                .cloned()
                .unwrap_or_else(csv::Position::new)
        };
        for (s, field) in seen.iter_mut().zip(record.iter()) {
            let field = &*decoded(field, options);
            let value = classify(field, options);
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
                    s.first_overflow.get_or_insert_with(|| (at(), shown(field)));
                }
                Value::Text | Value::Missing => {}
            }
            if !matches!(value, Value::Int(_) | Value::Float(_) | Value::Overflow) {
                s.first_not_number
                    .get_or_insert_with(|| (at(), shown(field)));
            }
        }
        rows += 1;
    }
    let mut kinds = Vec::with_capacity(names.len());
    for (name, s) in names.iter().zip(&seen) {
        let kind = match Kind::given(name, options) {
            Some(kind) => kind,
            None => inferred(s).map_err(|(at, problem)| {
                value_error(path, line_of(&mut reader, &at), name, problem)
            })?,
        };
        if kind == Kind::Float
            && let Some((at, value)) = &s.first_overflow
        {
            return Err(value_error(
                path,
                line_of(&mut reader, at),
                name,
                format!(
                    "{value} is beyond the range of a 64-bit float (it would read as \
                     infinity); write inf or -inf if infinity is meant"
                ),
            ));
        }
        kinds.push(kind);
    }
    Ok((names, kinds, seen, rows))
}

/// A column's type from what the first pass saw in it, or where its first
/// value that is not a number is and what is wrong.
fn inferred(s: &Seen) -> Result<Kind, (csv::Position, String)> {
    let numbers = s.ints + s.floats;
    Ok(if s.present == 0 {
        Kind::Text
    } else if s.bools == s.present {
        Kind::Bool
    } else if s.ints == s.present {
        Kind::Int
    } else if numbers == s.present {
        Kind::Float
    } else if numbers > s.present - numbers {
        let (at, value) = s
            .first_not_number
            .as_ref()
            .expect("a column of numbers but not all has a value that is not one");
        return Err((
            at.clone(),
            format!(
                "{value} is not a number, but {numbers} of the column's {} values are; \
                 correct it, or leave the field empty (or NA) if the value is missing",
                s.present
            ),
        ));
    } else {
        Kind::Text
    })
}

/// A field's bytes as UTF-8: as they are, or decoded from the dataset's
/// single-byte `encoding` (borrowed when they are ASCII).
fn decoded<'a>(field: &'a [u8], options: &ReadOptions) -> Cow<'a, [u8]> {
    match options.encoding {
        None => Cow::Borrowed(field),
        Some(encoding) => match encoding.decode_without_bom_handling(field).0 {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        },
    }
}

/// A text field, or an error saying it is not UTF-8.
fn utf8(field: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(field).map_err(|_| format!("{} is not UTF-8 text", shown(field)))
}

/// One column being decoded.
struct Column {
    builder: Builder,
    /// Whether `dtypes` or `parse_dates` gave its type (else inferred).
    given: bool,
}

enum Builder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
    Time(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(kind: Kind, rows: usize, bytes: usize) -> Builder {
        match kind {
            Kind::Bool => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            Kind::Int => Builder::Int(Int64Builder::with_capacity(rows)),
            Kind::Float => Builder::Float(Float64Builder::with_capacity(rows)),
            Kind::Text => Builder::Text(StringBuilder::with_capacity(rows, bytes)),
            Kind::Time => {
                Builder::Time(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone(UTC))
            }
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Bool(mut b) => Arc::new(b.finish()),
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Float(mut b) => Arc::new(b.finish()),
            Builder::Text(mut b) => Arc::new(b.finish()),
            Builder::Time(mut b) => Arc::new(b.finish()),
        }
    }
}

impl Column {
    /// Appends `field`, or says why it does not fit the column (a value
    /// not of the type `dtypes` gives it, a time that is not ISO 8601, the
    /// file changed between the two readings, or text that is not UTF-8).
    fn push(&mut self, field: &[u8], options: &ReadOptions) -> Result<(), String> {
        match &mut self.builder {
            Builder::Text(b) => {
                if options.is_missing(field) {
                    b.append_null();
                } else {
                    b.append_value(utf8(field)?);
                }
                return Ok(());
            }
            Builder::Time(b) => {
                if options.is_missing(field) {
                    b.append_null();
                } else {
                    b.append_value(parse_time(utf8(field)?)?);
                }
                return Ok(());
            }
            _ => {}
        }
        let value = classify(field, options);
        let given = self.given;
        let mismatch = |expected: &str, dtype: &str| {
            if given {
                format!(
                    "{} is not {expected}, and `dtypes` makes the column {dtype}",
                    shown(field)
                )
            } else {
                format!(
                    "{} is not {expected}, as the column's other values are (did the file \
                     change while it was read?)",
                    shown(field)
                )
            }
        };
        match (&mut self.builder, value) {
            (Builder::Bool(b), Value::Missing) => b.append_null(),
            (Builder::Bool(b), Value::Bool(v)) => b.append_value(v),
            (Builder::Int(b), Value::Missing) => b.append_null(),
            (Builder::Int(b), Value::Int(v)) => b.append_value(v),
            (Builder::Float(b), Value::Missing) => b.append_null(),
            // The nearest f64 to the integer, as parsing its text gives.
            (Builder::Float(b), Value::Int(v)) => b.append_value(v as f64),
            (Builder::Float(b), Value::Float(v)) => b.append_value(v),
            (Builder::Bool(_), _) => return Err(mismatch("true or false", "bool")),
            (Builder::Int(_), _) => return Err(mismatch("an integer", "i64")),
            (Builder::Float(_), _) => return Err(mismatch("a number", "f64")),
            (Builder::Text(_) | Builder::Time(_), _) => unreachable!("handled above"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
