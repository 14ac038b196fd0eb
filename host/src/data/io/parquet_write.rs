//! Writing Parquet: deterministic bytes (the same batch always gives the
//! same artifact digest), the column chunks encoded on several threads
//! for large tables, and the file in pieces of a few MiB.

use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, compute_leaves,
};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::data::DataError;

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
pub(super) const PIECE: usize = 4 << 20;

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
pub(super) fn required_where_no_nulls(batch: &RecordBatch) -> Cow<'_, RecordBatch> {
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
pub(super) fn encode_parquet_on(
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
    // benchmark's standardized features snappy made the file larger). f64
    // columns are written plain, and without min/max statistics, which
    // nothing in sluice reads (a reader that filters on them reads the
    // whole chunk instead): computing them was a good part of the encoding
    // (docs/benchmarks.md; benches/results/2026-11-27-e2e-5-float-work-parquet.md,
    // change 7).
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
        let rows_of_group = batch.slice(start, row_group_rows.min(rows - start));
        let writers = factory.create_column_writers(index).map_err(parquet)?;
        let mut leaves = Vec::with_capacity(writers.len());
        for (field, column) in rows_of_group
            .schema()
            .fields()
            .iter()
            .zip(rows_of_group.columns())
        {
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
pub(super) fn encoding_threads(batch: &RecordBatch) -> usize {
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
