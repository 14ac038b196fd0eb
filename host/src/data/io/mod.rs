//! Reading and writing tables: CSV, Parquet, Arrow IPC and JSON lines
//! files.
//!
//! Writing Parquet (deterministic bytes, the columns encoded on several
//! threads, in pieces) is in `parquet_write.rs`; reading a Parquet file
//! straight into a training part and a holdout is in `split_read.rs`.

mod parquet_write;
mod split_read;
#[cfg(test)]
mod tests;

use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;

use super::DataError;

pub use parquet_write::{write_parquet, write_parquet_pieces};
pub use split_read::read_split;

/// The formats [`read_table`] and [`write_table`] know, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
    ArrowIpc,
    JsonLines,
}

impl Format {
    fn of(path: &Path) -> Result<Self, DataError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Ok(Self::Csv),
            "parquet" => Ok(Self::Parquet),
            "arrow" | "ipc" | "feather" => Ok(Self::ArrowIpc),
            "jsonl" | "ndjson" => Ok(Self::JsonLines),
            _ => Err(DataError::UnsupportedFormat {
                path: path.to_owned(),
                extension,
            }),
        }
    }
}

/// Whether a file called `name` is in a format [`read_table`] reads, by
/// its extension.
pub(crate) fn is_data_file_name(name: &str) -> bool {
    Format::of(Path::new(name)).is_ok()
}

/// Reads a whole table from a file, choosing the format by extension:
/// `.csv`, `.parquet`, `.arrow`/`.ipc`/`.feather` (Arrow IPC file), or
/// `.jsonl`/`.ndjson` (one JSON object per line, its keys the columns:
/// what a service logs: the columns in the order their keys first appear).
///
/// CSV files need a header row. Column types are inferred from every row:
/// all integers give Int64, all numbers Float64, all `true`/`false`
/// Boolean, anything else Utf8; an empty field, `NA`, `NaN` and pandas'
/// other missing-value tokens are nulls; a column of numbers but for a few
/// values is an error naming the first (see `data/csv_file/`); a
/// dataset's options change that ([`table_from_file_with`]).
pub fn read_table(path: &Path) -> Result<RecordBatch, DataError> {
    Format::of(path)?;
    let file = std::fs::File::open(path)
        .and_then(super::FileRead::new)
        .map_err(|source| DataError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
    table_from_file(path, file)
}

/// [`read_table`] of an opened file (`path` gives the format and names the
/// file in errors), read a piece at a time: what is held is the table, not
/// the file's bytes.
pub fn table_from_file(path: &Path, file: super::FileRead) -> Result<RecordBatch, DataError> {
    table_from_file_with(path, file, &super::ReadOptions::default())
}

/// [`table_from_file`] with a dataset's read options: `options` say how a
/// CSV file is read (Parquet and Arrow IPC files carry their types; see
/// [`for_plugins`](super::for_plugins) for what every format's columns
/// then become).
pub fn table_from_file_with(
    path: &Path,
    file: super::FileRead,
    options: &super::ReadOptions,
) -> Result<RecordBatch, DataError> {
    match Format::of(path)? {
        Format::Csv => super::csv_file::read_csv(path, file, options),
        Format::Parquet => parquet_to_batch(file, &path.display().to_string(), None),
        Format::ArrowIpc => read_ipc(path, BufReader::new(file)),
        Format::JsonLines => read_json_lines(path, BufReader::new(file)),
    }
}

/// [`read_table`] of a file's bytes already read (`path` gives the format
/// and names the file in errors).
pub fn table_from_bytes(path: &Path, bytes: Bytes) -> Result<RecordBatch, DataError> {
    match Format::of(path)? {
        Format::Csv => {
            super::csv_file::read_csv(path, Cursor::new(bytes), &super::ReadOptions::default())
        }
        Format::Parquet => parquet_to_batch(bytes, &path.display().to_string(), None),
        Format::ArrowIpc => read_ipc(path, Cursor::new(bytes)),
        Format::JsonLines => read_json_lines(path, Cursor::new(bytes)),
    }
}

/// A JSON lines file: one object per line, its keys the columns. Types
/// are inferred from every row as Arrow's JSON reader does (integers
/// Int64, numbers Float64, `true`/`false` Boolean, strings Utf8; a key
/// missing from a row, or `null`, is a null), the columns in the order
/// their keys first appear; a nested value (an array or an object) is
/// refused, naming its column.
pub fn read_json_lines(
    path: &Path,
    mut file: impl std::io::BufRead + Seek,
) -> Result<RecordBatch, DataError> {
    use arrow::datatypes::DataType;
    let parse = |source| DataError::Parse {
        path: path.to_owned(),
        format: "JSON lines (one object per line)",
        source,
    };
    let (schema, _) =
        arrow::json::reader::infer_json_schema_from_seekable(&mut file, None).map_err(parse)?;
    // Arrow sorts the keys; a reader expects the file's order.
    let order = key_order(&mut file, schema.fields().len()).map_err(|source| DataError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.sort_by_key(|f| order.iter().position(|k| k == f.name()));
    let schema = arrow::datatypes::Schema::new(fields);
    if let Some(field) = schema.fields().iter().find(|f| {
        matches!(
            f.data_type(),
            DataType::List(_) | DataType::Struct(_) | DataType::LargeList(_)
        )
    }) {
        return Err(DataError::Column {
            what: format!("`{}`", path.display()),
            column: field.name().clone(),
            problem: format!(
                "holds {} values; a table's columns hold numbers, booleans or strings",
                if matches!(field.data_type(), DataType::Struct(_)) {
                    "object"
                } else {
                    "array"
                }
            ),
        });
    }
    let schema = std::sync::Arc::new(schema);
    let reader = arrow::json::ReaderBuilder::new(schema.clone())
        .build(file)
        .map_err(parse)?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(parse)?;
    if batches.is_empty() {
        return Ok(RecordBatch::new_empty(schema));
    }
    concat(schema, batches)
}

/// The keys of a JSON lines file's objects in the order they first appear,
/// read until `count` are known; then `file` is rewound. Lines that do not
/// parse are skipped: the schema's inference has judged them already.
fn key_order(
    file: &mut (impl std::io::BufRead + Seek),
    count: usize,
) -> std::io::Result<Vec<String>> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys<'a>(&'a mut Vec<String>);
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if !self.0.contains(&key) {
                    self.0.push(key);
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Keys<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }
    let mut keys = Vec::new();
    let mut line = String::new();
    while keys.len() < count && file.read_line(&mut line)? > 0 {
        let mut de = serde_json::Deserializer::from_str(&line);
        let _ = Keys(&mut keys).deserialize(&mut de);
        line.clear();
    }
    file.rewind()?;
    Ok(keys)
}

fn read_ipc(path: &Path, file: impl Read + Seek) -> Result<RecordBatch, DataError> {
    let parse = |source| DataError::Parse {
        path: path.to_owned(),
        format: "an Arrow IPC file",
        source,
    };
    let reader = arrow::ipc::reader::FileReader::try_new(file, None).map_err(parse)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(parse)?;
    concat(schema, batches)
}

fn concat(schema: SchemaRef, mut batches: Vec<RecordBatch>) -> Result<RecordBatch, DataError> {
    if batches.len() == 1 {
        return Ok(batches.remove(0));
    }
    arrow::compute::concat_batches(&schema, &batches).map_err(|source| DataError::Arrow {
        action: "joining record batches",
        source,
    })
}

/// Reads Parquet bytes (for example an artifact) into one batch.
pub fn read_parquet(bytes: &[u8]) -> Result<RecordBatch, DataError> {
    parquet_to_batch(Bytes::copy_from_slice(bytes), "in-memory bytes", None)
}

/// Reads only the columns of Parquet `bytes` whose names `keep` accepts
/// (the others are not decoded), without copying the bytes.
pub fn read_parquet_columns(
    bytes: Bytes,
    keep: &dyn Fn(&str) -> bool,
) -> Result<RecordBatch, DataError> {
    parquet_to_batch(bytes, "in-memory bytes", Some(keep))
}

fn parquet_to_batch<T: ChunkReader + 'static>(
    input: T,
    what: &str,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> Result<RecordBatch, DataError> {
    let parquet = |source| DataError::Parquet {
        action: "reading",
        what: what.to_owned(),
        source,
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(input).map_err(parquet)?;
    if let Some(keep) = keep {
        let roots: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| keep(f.name()))
            .map(|(i, _)| i)
            .collect();
        let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), roots);
        builder = builder.with_projection(mask);
    }
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(rows.max(1))
        .build()
        .map_err(parquet)?;
    let batches =
        reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| DataError::ParquetDecode {
                what: what.to_owned(),
                source,
            })?;
    // A projection's batches have fewer columns than the file's schema.
    let schema = batches.first().map_or(schema, RecordBatch::schema);
    concat(schema, batches)
}

/// Serialises a batch as CSV with a header row; nulls become empty fields,
/// so [`read_table`] reads the file back as it was.
pub fn write_csv(batch: &RecordBatch) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    let mut writer = arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(&mut out);
    writer.write(batch).map_err(|source| DataError::Arrow {
        action: "writing CSV",
        source,
    })?;
    drop(writer);
    Ok(out)
}

/// Writes a batch to a file in the format its extension names (see
/// [`read_table`]).
pub fn write_table(path: &Path, batch: &RecordBatch) -> Result<(), DataError> {
    let bytes = encode_table(path, batch)?;
    std::fs::write(path, bytes).map_err(|source| DataError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// A batch as the bytes of a file in the format `path`'s extension names
/// (see [`read_table`]), for a caller that writes the file its own way.
pub fn encode_table(path: &Path, batch: &RecordBatch) -> Result<Vec<u8>, DataError> {
    Ok(match Format::of(path)? {
        Format::Csv => write_csv(batch)?,
        Format::Parquet => write_parquet(batch)?,
        Format::ArrowIpc => {
            let mut out = Vec::new();
            let ipc = |source| DataError::Arrow {
                action: "writing an Arrow IPC file",
                source,
            };
            let mut writer =
                arrow::ipc::writer::FileWriter::try_new(&mut out, &batch.schema()).map_err(ipc)?;
            writer.write(batch).map_err(ipc)?;
            writer.finish().map_err(ipc)?;
            drop(writer);
            out
        }
        Format::JsonLines => {
            let mut writer = arrow::json::LineDelimitedWriter::new(Vec::new());
            writer
                .write(batch)
                .and_then(|()| writer.finish())
                .map_err(|source| DataError::Arrow {
                    action: "writing JSON lines",
                    source,
                })?;
            writer.into_inner()
        }
    })
}
