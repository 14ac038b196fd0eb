//! Reading and writing tables: CSV, Parquet and Arrow IPC files.

use std::borrow::Cow;
use std::io::{BufReader, Cursor, Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanArray, BooleanBuilder, Float64Builder, Int64Builder,
    RecordBatchOptions, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, compute_leaves,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::ChunkReader;
use parquet::schema::types::ColumnPath;

use super::DataError;

/// The formats [`read_table`] and [`write_table`] know, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
    ArrowIpc,
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
            _ => Err(DataError::UnsupportedFormat {
                path: path.to_owned(),
                extension,
            }),
        }
    }
}

/// Reads a whole table from a file, choosing the format by extension:
/// `.csv`, `.parquet`, or `.arrow`/`.ipc`/`.feather` (Arrow IPC file).
///
/// CSV files need a header row. Column types are inferred from every row:
/// all integers give Int64, all numbers Float64, all `true`/`false`
/// Boolean, anything else Utf8; an empty field, `NA`, `NaN` and pandas'
/// other missing-value tokens are nulls; a column of numbers but for a few
/// values is an error naming the first (see [`csv_file`](super::csv_file)).
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
    match Format::of(path)? {
        Format::Csv => super::csv_file::read_csv(path, file),
        Format::Parquet => parquet_to_batch(file, &path.display().to_string()),
        Format::ArrowIpc => read_ipc(path, BufReader::new(file)),
    }
}

/// [`read_table`] of a file's bytes already read (`path` gives the format
/// and names the file in errors).
pub fn table_from_bytes(path: &Path, bytes: Bytes) -> Result<RecordBatch, DataError> {
    match Format::of(path)? {
        Format::Csv => super::csv_file::read_csv(path, Cursor::new(bytes)),
        Format::Parquet => parquet_to_batch(bytes, &path.display().to_string()),
        Format::ArrowIpc => read_ipc(path, Cursor::new(bytes)),
    }
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

/// Parquet bytes in pieces of at most [`PIECE`] bytes (see
/// [`write_parquet_pieces`]).
struct Pieces {
    done: Vec<Bytes>,
    current: Vec<u8>,
}

/// Small enough for malloc to serve from (and give back to) its heap,
/// where freed memory is reused warm, not from a fresh mapping as it does
/// for blocks of 32 MiB and more, whose every page the kernel must fault
/// in and zero.
const PIECE: usize = 4 << 20;

impl Write for Pieces {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let written = buf.len();
        while !buf.is_empty() {
            let room = PIECE - self.current.len();
            let (now, later) = buf.split_at(room.min(buf.len()));
            self.current.extend_from_slice(now);
            buf = later;
            if self.current.len() == PIECE {
                let full = std::mem::replace(&mut self.current, Vec::with_capacity(PIECE));
                self.done.push(Bytes::from(full));
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// [`write_parquet`] into pieces of a few MiB, one after the other: the
/// same bytes, without one buffer the size of the whole file.
pub fn write_parquet_pieces(batch: &RecordBatch) -> Result<Vec<Bytes>, DataError> {
    let mut pieces = Pieces {
        done: Vec::new(),
        current: Vec::with_capacity(PIECE),
    };
    encode_parquet(batch, &mut pieces)?;
    let mut out = pieces.done;
    if !pieces.current.is_empty() {
        out.push(Bytes::from(pieces.current));
    }
    Ok(out)
}

/// Serialises a batch as Parquet: snappy-compressed, but for float columns.
///
/// The bytes depend only on the batch (and the parquet crate's version):
/// no timestamps or random ids go into the file, so the same batch always
/// gives the same artifact digest.
pub fn write_parquet(batch: &RecordBatch) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    encode_parquet(batch, &mut out)?;
    Ok(out)
}

fn encode_parquet(batch: &RecordBatch, out: impl Write + Send) -> Result<(), DataError> {
    let batch = required_where_no_nulls(batch);
    encode_parquet_on(&batch, out, encoding_threads(&batch))
}

/// `batch` with every column that holds no null marked required (not
/// nullable), as Parquet stores it: no definition level per value, which
/// was a fifth of the time spent encoding a column of f64 without nulls.
/// Every table is written this way, so a step that passes its input
/// through unchanged still writes the same bytes.
fn required_where_no_nulls(batch: &RecordBatch) -> Cow<'_, RecordBatch> {
    let schema = batch.schema();
    let needless =
        |(field, array): (&Arc<Field>, &ArrayRef)| field.is_nullable() && array.null_count() == 0;
    if !schema.fields().iter().zip(batch.columns()).any(needless) {
        return Cow::Borrowed(batch);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, array)| {
            let required = array.null_count() == 0;
            field.as_ref().clone().with_nullable(!required)
        })
        .collect();
    let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    // The same arrays, only the fields' nullability changed where they
    // have no nulls: this cannot fail.
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Cow::Owned(
        RecordBatch::try_new_with_options(Arc::new(schema), batch.columns().to_vec(), &options)
            .expect("a column without nulls fits a required field"),
    )
}

/// [`encode_parquet`] with the column chunks encoded on `threads` threads
/// (1: by `ArrowWriter` itself). The bytes do not depend on `threads`.
fn encode_parquet_on(
    batch: &RecordBatch,
    out: impl Write + Send,
    threads: usize,
) -> Result<(), DataError> {
    let parquet = |source| DataError::Parquet {
        action: "writing",
        what: "a batch".to_owned(),
        source,
    };
    // Dictionary encoding and compression pay off for repeated values
    // (categories, small integers) but not for continuous floats, whose
    // low mantissa bits are noise: hashing every value for a dictionary and
    // running snappy over the pages cost time and save nothing (on the e2e
    // benchmark's standardized 750,000 x 30 features snappy made the file
    // 13 KB larger). f64 columns are written plain, and without min/max
    // statistics, which nothing in sluice reads (a reader that filters on
    // them reads the whole chunk instead): computing them took about a
    // sixth of the encoding.
    let mut builder = WriterProperties::builder().set_compression(Compression::SNAPPY);
    for field in batch.schema().fields() {
        if matches!(field.data_type(), DataType::Float64 | DataType::Float32) {
            let column = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_dictionary_enabled(column.clone(), false)
                .set_column_statistics_enabled(column.clone(), EnabledStatistics::None)
                .set_column_compression(column, Compression::UNCOMPRESSED);
        }
    }
    let properties = builder.build();
    let row_group_rows = properties.max_row_group_size().max(1);
    let writer = ArrowWriter::try_new(out, batch.schema(), Some(properties)).map_err(parquet)?;
    if threads < 2 {
        let mut writer = writer;
        writer.write(batch).map_err(parquet)?;
        writer.close().map_err(parquet)?;
        return Ok(());
    }
    // The same row groups, column chunks and footer as `ArrowWriter::write`
    // (tested byte for byte), with the column chunks of each row group
    // encoded on `threads` threads.
    let (mut file, factory) = writer.into_serialized_writer().map_err(parquet)?;
    let rows = batch.num_rows();
    for (index, start) in (0..rows).step_by(row_group_rows).enumerate() {
        let part = batch.slice(start, row_group_rows.min(rows - start));
        let writers = factory.create_column_writers(index).map_err(parquet)?;
        let mut leaves = Vec::with_capacity(writers.len());
        for (field, column) in part.schema().fields().iter().zip(part.columns()) {
            leaves.extend(compute_leaves(field, column).map_err(parquet)?);
        }
        let jobs: Vec<_> = writers.into_iter().zip(leaves).collect();
        let chunks = encode_columns(jobs, threads).map_err(parquet)?;
        let mut row_group = file.next_row_group().map_err(parquet)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group).map_err(parquet)?;
        }
        row_group.close().map_err(parquet)?;
    }
    file.close().map_err(parquet)?;
    Ok(())
}

/// Threads to encode `batch`'s columns on: one per core, up to 4, for
/// tables of at least a million values (below that a thread costs more
/// than it saves).
fn encoding_threads(batch: &RecordBatch) -> usize {
    let values = batch.num_rows().saturating_mul(batch.num_columns());
    if values < 1 << 20 || batch.num_columns() < 2 {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(batch.num_columns())
}

/// Encodes each leaf column with its writer, the columns split into
/// `threads` contiguous runs, one per thread; the chunks come back in
/// column order.
fn encode_columns(
    jobs: Vec<(ArrowColumnWriter, ArrowLeafColumn)>,
    threads: usize,
) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
    let per_thread = jobs.len().div_ceil(threads.max(1)).max(1);
    let mut runs: Vec<Vec<_>> = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        runs.push(jobs.by_ref().take(per_thread).collect());
    }
    let encode_run = |run: Vec<(ArrowColumnWriter, ArrowLeafColumn)>| {
        run.into_iter()
            .map(|(mut writer, leaf)| {
                writer.write(&leaf)?;
                writer.close()
            })
            .collect::<parquet::errors::Result<Vec<_>>>()
    };
    let mut chunks = Vec::new();
    std::thread::scope(|scope| {
        let mut runs = runs.into_iter();
        // The first run on this thread, the others on their own.
        let first = runs.next();
        let handles: Vec<_> = runs
            .map(|run| scope.spawn(move || encode_run(run)))
            .collect();
        if let Some(run) = first {
            chunks.extend(encode_run(run)?);
        }
        for handle in handles {
            let run = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            chunks.extend(run?);
        }
        Ok(chunks)
    })
}

/// Reads Parquet bytes (for example an artifact) into one batch.
/// [`table_from_bytes`] then [`split_holdout`](super::split_holdout), the
/// same two parts, for a Parquet file whose columns are all f64, i64, bool
/// or text: decoded [`SPLIT_CHUNK`] rows at a time, each chunk's rows dealt
/// straight into the two parts (built at their final size), so the whole
/// table is never decoded at once. On the 1M x 31 e2e benchmark that is
/// 250 MB less memory faulted in, on a step whose every fresh page costs
/// (see BENCHMARKS.md). The split's mask needs only the `stratify` column,
/// decoded first. None for other formats and column types, and when the
/// `stratify` column is missing (the caller takes the two steps, which
/// name the error).
pub fn read_split<T: ChunkReader + Clone + 'static>(
    path: &Path,
    input: T,
    holdout_fraction: f64,
    seed: u64,
    stratify: Option<&str>,
) -> Result<Option<(RecordBatch, RecordBatch)>, DataError> {
    if Format::of(path)? != Format::Parquet {
        return Ok(None);
    }
    let what = path.display().to_string();
    let parquet = |source| DataError::Parquet {
        action: "reading",
        what: what.clone(),
        source,
    };
    let decoding = |source| DataError::Arrow {
        action: "splitting Parquet",
        source,
    };
    let pages = |source| DataError::ParquetDecode {
        what: what.clone(),
        source,
    };
    // The footer, parsed once for both passes.
    let metadata = ArrowReaderMetadata::load(&input, Default::default()).map_err(parquet)?;
    let builder =
        ParquetRecordBatchReaderBuilder::new_with_metadata(input.clone(), metadata.clone());
    let schema = builder.schema().clone();
    let plain = |t: &DataType| {
        matches!(
            t,
            DataType::Float64 | DataType::Int64 | DataType::Boolean | DataType::Utf8
        )
    };
    if !schema.fields().iter().all(|f| plain(f.data_type())) {
        return Ok(None);
    }
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    // The mask, from the stratification column alone (or the row count).
    let by = match stratify {
        Some(name) => {
            let Ok(index) = schema.index_of(name) else {
                return Ok(None); // the two steps name what is missing
            };
            let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
            let batches = builder
                .with_projection(mask)
                .with_batch_size(rows.max(1))
                .build()
                .map_err(parquet)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(pages)?;
            concat(
                Arc::new(schema.project(&[index]).map_err(decoding)?),
                batches,
            )?
        }
        None => RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(decoding)?,
    };
    let in_holdout = super::holdout_mask(&by, holdout_fraction, seed, stratify)?;
    drop(by);
    let holdout_rows = in_holdout.iter().filter(|h| **h).count();
    let mut parts = [
        PartBuilder::new(&schema, rows - holdout_rows),
        PartBuilder::new(&schema, holdout_rows),
    ];
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(input, metadata)
        .with_batch_size(SPLIT_CHUNK)
        .build()
        .map_err(parquet)?;
    let mut start = 0;
    // The parts take the schema the decoded batches have, as the two steps'
    // do (without the file's key-value metadata, such as pandas').
    let mut decoded_schema = None;
    for chunk in reader {
        let chunk = chunk.map_err(pages)?;
        decoded_schema.get_or_insert_with(|| chunk.schema());
        let end = start + chunk.num_rows();
        let Some(mask) = in_holdout.get(start..end) else {
            return Err(parquet(ParquetError::General(format!(
                "more rows than the {rows} its metadata counts"
            ))));
        };
        let holdout = BooleanArray::from(mask.to_vec());
        let train = arrow::compute::not(&holdout).map_err(decoding)?;
        for (part, keep) in parts.iter_mut().zip([&train, &holdout]) {
            for (builder, column) in part.columns.iter_mut().zip(chunk.columns()) {
                let kept = arrow::compute::filter(column, keep).map_err(decoding)?;
                builder.append(&kept);
            }
        }
        start = end;
    }
    if start != rows {
        return Err(parquet(ParquetError::General(format!(
            "{start} rows where its metadata counts {rows}"
        ))));
    }
    let schema = decoded_schema.unwrap_or_else(|| Arc::new(Schema::new(schema.fields().clone())));
    let [train, holdout] = parts;
    Ok(Some((train.finish(&schema)?, holdout.finish(&schema)?)))
}

/// Rows decoded at a time by [`read_split`].
const SPLIT_CHUNK: usize = 64 * 1024;

/// One part of [`read_split`], a builder per column.
struct PartBuilder {
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

enum ColumnBuilder {
    F64(Float64Builder),
    I64(Int64Builder),
    Bool(BooleanBuilder),
    Str(StringBuilder),
}

impl PartBuilder {
    fn new(schema: &Schema, rows: usize) -> PartBuilder {
        let columns = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Float64 => ColumnBuilder::F64(Float64Builder::with_capacity(rows)),
                DataType::Int64 => ColumnBuilder::I64(Int64Builder::with_capacity(rows)),
                DataType::Boolean => ColumnBuilder::Bool(BooleanBuilder::with_capacity(rows)),
                _ => ColumnBuilder::Str(StringBuilder::with_capacity(rows, 0)),
            })
            .collect();
        PartBuilder { columns, rows }
    }

    fn finish(self, schema: &SchemaRef) -> Result<RecordBatch, DataError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .into_iter()
            .map(|c| -> ArrayRef {
                match c {
                    ColumnBuilder::F64(mut b) => Arc::new(b.finish()),
                    ColumnBuilder::I64(mut b) => Arc::new(b.finish()),
                    ColumnBuilder::Bool(mut b) => Arc::new(b.finish()),
                    ColumnBuilder::Str(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        RecordBatch::try_new_with_options(schema.clone(), arrays, &options).map_err(|source| {
            DataError::Arrow {
                action: "building the parts of a split",
                source,
            }
        })
    }
}

impl ColumnBuilder {
    /// Appends `array`, of this builder's type (the schema's).
    fn append(&mut self, array: &ArrayRef) {
        match self {
            ColumnBuilder::F64(b) => b.append_array(array.as_primitive()),
            ColumnBuilder::I64(b) => b.append_array(array.as_primitive()),
            ColumnBuilder::Bool(b) => b.append_array(array.as_boolean()),
            ColumnBuilder::Str(b) => b.append_array(array.as_string::<i32>()),
        }
    }
}

pub fn read_parquet(bytes: &[u8]) -> Result<RecordBatch, DataError> {
    parquet_to_batch(Bytes::copy_from_slice(bytes), "in-memory bytes")
}

fn parquet_to_batch<T: ChunkReader + 'static>(
    input: T,
    what: &str,
) -> Result<RecordBatch, DataError> {
    let parquet = |source| DataError::Parquet {
        action: "reading",
        what: what.to_owned(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(input).map_err(parquet)?;
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type};

    /// A batch of `rows` rows with f64 (some null), i64, bool and string
    /// columns, values varying by row.
    fn mixed(rows: usize) -> RecordBatch {
        use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
        let f = |k: usize| -> ArrayRef {
            Arc::new(Float64Array::from_iter((0..rows).map(|r| {
                (r % (7 + k) != 3).then(|| ((r * 31 + k) as f64 * 0.618).sin())
            })))
        };
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("a", f(0)),
            ("b", f(1)),
            (
                "n",
                Arc::new(Int64Array::from_iter_values(
                    (0..rows).map(|r| (r % 97) as i64),
                )),
            ),
            (
                "flag",
                Arc::new(BooleanArray::from_iter((0..rows).map(|r| Some(r % 3 == 0)))),
            ),
            (
                "s",
                Arc::new(StringArray::from_iter(
                    (0..rows).map(|r| (r % 5 != 0).then(|| format!("c{}", r % 11))),
                )),
            ),
            ("c", f(2)),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// Reading a Parquet file split as it is decoded gives the parts
    /// decoding it whole then splitting gives, to the bytes they encode to:
    /// across many chunks, stratified by an integer or a text column (with
    /// nulls) or not; other formats and a missing stratification column
    /// are left to the two steps.
    #[test]
    fn read_split_is_decode_then_split() {
        let rows = 3 * SPLIT_CHUNK + 1234;
        // With key-value metadata in the file, as pandas writes it.
        let batch = mixed(rows);
        let metadata = [("pandas".to_string(), "{}".to_string())].into();
        let schema = batch.schema().as_ref().clone().with_metadata(metadata);
        let batch = batch.with_schema(Arc::new(schema)).unwrap();
        let bytes = Bytes::from(write_parquet(&batch).unwrap());
        let path = Path::new("data.parquet");
        for (stratify, fraction, seed) in [
            (None, 0.25, 7),
            (Some("n"), 0.25, 7),
            (Some("s"), 0.4, 1),
            (Some("flag"), 0.1, 3),
        ] {
            let (train, holdout) = read_split(path, bytes.clone(), fraction, seed, stratify)
                .unwrap()
                .expect("f64, i64, bool and text columns are split as decoded");
            let whole = table_from_bytes(path, bytes.clone()).unwrap();
            let (want_train, want_holdout) =
                super::super::split_holdout(&whole, fraction, seed, stratify).unwrap();
            assert_eq!(train, want_train, "{stratify:?}");
            assert_eq!(holdout, want_holdout, "{stratify:?}");
            assert!(holdout.num_rows() > 0 && train.num_rows() > holdout.num_rows());
            for (got, want) in [(&train, &want_train), (&holdout, &want_holdout)] {
                assert_eq!(write_parquet(got).unwrap(), write_parquet(want).unwrap());
            }
        }
        assert!(
            read_split(path, bytes.clone(), 0.25, 7, Some("nope"))
                .unwrap()
                .is_none()
        );
        let csv = write_csv(&mixed(10)).unwrap();
        assert!(
            read_split(Path::new("d.csv"), Bytes::from(csv), 0.25, 7, None)
                .unwrap()
                .is_none()
        );
        let err = read_split(path, bytes.slice(..100), 0.25, 7, None).unwrap_err();
        assert!(err.to_string().contains("data.parquet"), "{err}");
    }

    /// Columns without nulls are written required, whatever the batch's
    /// field says, so the same values give the same bytes; columns with
    /// nulls stay optional.
    #[test]
    fn columns_without_nulls_are_written_required() {
        let batch = mixed(100);
        let as_declared = |nullable: bool| {
            let fields: Vec<Field> = batch
                .schema()
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, a)| {
                    f.as_ref()
                        .clone()
                        .with_nullable(nullable || a.null_count() > 0)
                })
                .collect();
            RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec()).unwrap()
        };
        let (loose, strict) = (as_declared(true), as_declared(false));
        let bytes = write_parquet(&loose).unwrap();
        assert_eq!(bytes, write_parquet(&strict).unwrap());
        let read = read_parquet(&bytes).unwrap();
        for (field, column) in read.schema().fields().iter().zip(read.columns()) {
            assert_eq!(
                field.is_nullable(),
                column.null_count() > 0,
                "{}",
                field.name()
            );
        }
        // "a" and "b" have nulls; the rest have none.
        assert!(read.schema().field(0).is_nullable());
        assert!(!read.schema().field(2).is_nullable());
    }

    #[test]
    fn parallel_encoding_writes_the_same_bytes_as_arrow_writer() {
        // One row group, and (past the parquet crate's 1,048,576-row
        // default) two, with more threads than columns too.
        for rows in [0, 1, 1000, 1_100_000] {
            let batch = mixed(rows);
            let mut alone = Vec::new();
            encode_parquet_on(&batch, &mut alone, 1).unwrap();
            for threads in [2, 3, 8] {
                let mut parallel = Vec::new();
                encode_parquet_on(&batch, &mut parallel, threads).unwrap();
                assert!(alone == parallel, "{rows} rows on {threads} threads");
            }
            assert_eq!(read_parquet(&alone).unwrap(), batch, "{rows} rows");
        }
    }

    #[test]
    fn large_tables_are_encoded_on_several_threads() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(encoding_threads(&mixed(100)), 1);
        assert_eq!(encoding_threads(&mixed(200_000)), cores.min(4));
    }

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn csv_types_are_inferred() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "t.csv",
            "id,x,flag,name,day,empty\n1,1.5,true,a,2024-01-01,\n2,,false,,2024-01-02,\n3,3,TRUE,c,2024-01-03,\n",
        );
        let batch = read_table(&path).unwrap();
        let types: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Float64,
                DataType::Boolean,
                DataType::Utf8,
                DataType::Utf8,
                DataType::Utf8
            ]
        );
        assert_eq!(batch.num_rows(), 3);
        assert!(batch.column(1).is_null(1));
        assert!(batch.column(3).is_null(1));
        assert_eq!(batch.column(5).null_count(), 3);
        assert_eq!(batch.column(1).as_primitive::<Float64Type>().value(2), 3.0);
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(2), 3);
        assert!(batch.column(2).as_boolean().value(2));
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.csv");
        let err = read_table(&missing).unwrap_err();
        assert!(err.to_string().contains("nope.csv"), "{err}");

        let bad = write(dir.path(), "bad.csv", "a,b\n1,2\n3\n");
        let err = read_table(&bad).unwrap_err();
        assert!(matches!(err, DataError::Parse { .. }));
        assert!(err.to_string().contains("bad.csv"), "{err}");

        let txt = write(dir.path(), "t.xlsx", "");
        assert!(matches!(
            read_table(&txt),
            Err(DataError::UnsupportedFormat { .. })
        ));

        let not_parquet = write(dir.path(), "x.parquet", "not parquet");
        let err = read_table(&not_parquet).unwrap_err();
        assert!(err.to_string().contains("x.parquet"), "{err}");
    }

    fn sample(dir: &Path) -> RecordBatch {
        let path = write(
            dir,
            "s.csv",
            "id,x,flag,name\n1,1.5,true,a\n2,,false,\n3,-0.25,,c\n",
        );
        read_table(&path).unwrap()
    }

    #[test]
    fn parquet_bytes_are_deterministic_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let batch = sample(dir.path());
        let first = write_parquet(&batch).unwrap();
        let second = write_parquet(&batch).unwrap();
        assert_eq!(first, second);
        // The same values; "id" has no nulls, so it comes back required.
        let read = read_parquet(&first).unwrap();
        assert_eq!(read, *required_where_no_nulls(&batch));
        assert!(!read.schema().field(0).is_nullable());
    }

    #[test]
    fn parquet_in_pieces_is_the_same_bytes() {
        // 2M floats: 16 MB of plain values, four pieces.
        let values: Vec<f64> = (0..2_000_000).map(|i| f64::from(i) * 0.37).collect();
        let batch = RecordBatch::try_from_iter([(
            "x",
            Arc::new(arrow::array::Float64Array::from(values)) as arrow::array::ArrayRef,
        )])
        .unwrap();
        let whole = write_parquet(&batch).unwrap();
        let pieces = write_parquet_pieces(&batch).unwrap();
        assert!(pieces.len() >= 3, "{} pieces", pieces.len());
        assert!(pieces.iter().all(|p| p.len() <= PIECE));
        assert_eq!(pieces.concat(), whole);
        let digest = crate::artifacts::ArtifactDigest::of_parts(pieces.iter().map(|p| p.as_ref()));
        assert_eq!(digest, crate::artifacts::ArtifactDigest::of(&whole));
    }

    #[test]
    fn files_round_trip_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let batch = sample(dir.path());
        for name in ["out.csv", "out.parquet", "out.arrow", "out.feather"] {
            let path = dir.path().join(name);
            write_table(&path, &batch).unwrap();
            // Parquet marks the columns without nulls required.
            let want = match name {
                "out.parquet" => required_where_no_nulls(&batch).into_owned(),
                _ => batch.clone(),
            };
            assert_eq!(read_table(&path).unwrap(), want, "{name}");
        }
    }

    #[test]
    fn csv_output_has_header_and_empty_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let text = String::from_utf8(write_csv(&sample(dir.path())).unwrap()).unwrap();
        assert_eq!(text.lines().next(), Some("id,x,flag,name"));
        assert_eq!(text.lines().nth(2), Some("2,,false,"));
    }
}
