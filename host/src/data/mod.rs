//! Tables: the host's in-memory form and the ways in and out of it.
//!
//! Inside the host a table is an Arrow [`RecordBatch`]; across the sandbox
//! boundary it is the WIT [`Table`](crate::wit::Table), one typed list per
//! column. This module converts between the two ([`batch_to_table`],
//! [`table_to_batch`]), reads the files a pipeline names ([`read_table`]:
//! CSV, Parquet, Arrow IPC), serialises artifacts as deterministic Parquet
//! ([`write_parquet`], [`read_parquet`]) and splits training data from a
//! holdout ([`split_holdout`]).
//!
//! Every table that comes back from a plugin is untrusted: [`table_to_batch`]
//! checks its shape before anything else in the host looks at it.

mod convert;
mod csv_file;
mod io;
mod source;
mod split;

use std::path::PathBuf;

use arrow::error::ArrowError;
pub use arrow::record_batch::RecordBatch;
use parquet::errors::ParquetError;

pub use convert::{
    batch_to_table, check_shape, normalize, schema_summary, shared_batch, table_to_batch,
};
pub use io::{
    encode_table, read_parquet, read_split, read_table, table_from_bytes, table_from_file,
    write_csv, write_parquet, write_parquet_pieces, write_table,
};
pub use source::{DataFile, FileRead, SourceError, open_data_file};
pub(crate) use split::SplitMix64;
pub use split::{assign_folds, holdout_mask, split_holdout, take};

/// What went wrong reading, writing, converting or splitting a table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened, read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file's extension names no format sluice reads or writes.
    #[error(
        "`{}` has an unsupported extension {extension:?}; \
         use .csv, .parquet, or .arrow/.ipc/.feather (Arrow IPC file)",
        path.display()
    )]
    UnsupportedFormat { path: PathBuf, extension: String },

    /// The file was read but its contents are not valid in its format.
    #[error("cannot parse `{}` as {format}: {source}", path.display())]
    Parse {
        path: PathBuf,
        format: &'static str,
        #[source]
        source: ArrowError,
    },

    /// A value in a CSV file that cannot be read as its column's type.
    #[error("`{}` line {line}, column `{column}`: {problem}", path.display())]
    CsvValue {
        path: PathBuf,
        line: u64,
        column: String,
        problem: String,
    },

    /// A Parquet file or Parquet bytes could not be read or written.
    #[error("Parquet {action} failed for {what}: {source}")]
    Parquet {
        action: &'static str,
        /// The file, or a description such as "in-memory bytes".
        what: String,
        #[source]
        source: ParquetError,
    },

    /// A Parquet file's pages could not be decoded: damaged, or not
    /// matching their checksums.
    #[error("cannot decode the Parquet of {what}: {source}")]
    ParquetDecode {
        /// The file, or a description such as "in-memory bytes".
        what: String,
        #[source]
        source: ArrowError,
    },

    /// An Arrow operation failed (building a batch, CSV output, taking rows).
    #[error("{action} failed: {source}")]
    Arrow {
        action: &'static str,
        #[source]
        source: ArrowError,
    },

    /// A column's Arrow type has no WIT counterpart.
    #[error(
        "column `{column}` has type {data_type}, which plugins cannot receive; \
         supported are floats, integers, booleans and strings \
         (cast the column before the step)"
    )]
    UnsupportedType { column: String, data_type: String },

    /// An unsigned value does not fit the signed 64-bit WIT integer.
    #[error("column `{column}` row {row}: value {value} does not fit a signed 64-bit integer")]
    IntegerOverflow {
        column: String,
        row: usize,
        value: u64,
    },

    /// Columns of one table have different lengths.
    #[error(
        "column `{column}` has {actual} rows but column `{first}` has {expected}; \
         all columns of a table must have the same length"
    )]
    ColumnLength {
        column: String,
        actual: usize,
        first: String,
        expected: usize,
    },

    /// A column's validity mask does not have one entry per row.
    #[error("column `{column}` has {rows} values but its validity mask has {valid} entries")]
    ValidLength {
        column: String,
        rows: usize,
        valid: usize,
    },

    /// Two columns share a name.
    #[error("column name `{column}` appears more than once (positions {first} and {second})")]
    DuplicateColumn {
        column: String,
        first: usize,
        second: usize,
    },

    /// A column has an empty name.
    #[error("column at position {position} has an empty name")]
    EmptyColumnName { position: usize },

    /// The holdout fraction is not strictly between 0 and 1.
    #[error("holdout fraction {fraction} is out of range; use a number strictly between 0 and 1")]
    HoldoutFraction { fraction: f64 },

    /// The stratification column does not exist.
    #[error("cannot stratify by `{column}`: no such column (columns: {available})")]
    MissingColumn { column: String, available: String },
}
