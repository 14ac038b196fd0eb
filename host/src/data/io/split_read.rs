//! [`read_split`]: a Parquet file read straight into a training part and
//! a holdout, a chunk of rows at a time.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanArray, BooleanBuilder, Float64Builder, Int64Builder,
    RecordBatchOptions, StringBuilder,
};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::reader::ChunkReader;

use super::{Format, concat};
use crate::data::DataError;

/// [`table_from_bytes`](crate::data::table_from_bytes) then
/// [`split_holdout`](crate::data::split_holdout), the same two parts, for a
/// Parquet file whose columns are all f64, i64, bool or text: decoded 64 Ki
/// rows (`SPLIT_CHUNK`) at a time, each chunk's rows dealt straight into
/// the two parts (built at their final size), so the whole
/// table is never decoded at once: on the 1M-row e2e benchmark, whose
/// every fresh page costs, that spares the dataset step a whole decoded
/// table's worth of fresh memory (docs/benchmarks.md;
/// benches/results/2026-11-27-e2e-6-memory-permutations.md, change 5).
/// The split's mask needs only the `stratify` column,
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
    let in_holdout = crate::data::holdout_mask(&by, holdout_fraction, seed, stratify)?;
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
pub(super) const SPLIT_CHUNK: usize = 64 * 1024;

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
