//! Tables: the host's in-memory form and the ways in and out of it.
//!
//! Inside the host a table is an Arrow [`RecordBatch`]; across the sandbox
//! boundary it is the WIT [`Table`](crate::wit::Table), one typed list per
//! column. This module converts between the two ([`batch_to_table`],
//! [`table_to_batch`]), reads the files a pipeline names ([`read_table`]:
//! CSV, Parquet, Arrow IPC), serialises artifacts as deterministic Parquet
//! ([`write_parquet`], [`read_parquet`]) and splits training data from a
//! holdout ([`split_holdout`]). A dataset's read options ([`ReadOptions`])
//! say how its CSV is read, and [`for_plugins`] casts its table to the
//! types plugins receive. A dataset may be a directory: its files
//! ([`open_data_dir`]) are read and joined ([`concat_files`]), and a time
//! window keeps only its recent rows ([`TimeWindow`]) or its recent files
//! ([`FileDateWindow`]). A dataset may be an S3 prefix too
//! ([`S3Objects`]).
//!
//! Every table that comes back from a plugin is untrusted: [`table_to_batch`]
//! checks its shape before anything else in the host looks at it.

mod concat_files;
mod convert;
mod csv_file;
mod date_window;
mod files;
mod io;
mod plugin_types;
mod read_options;
mod s3_files;
mod source;
mod split;
mod window;

use std::path::PathBuf;

use arrow::error::ArrowError;
pub use arrow::record_batch::RecordBatch;
use parquet::errors::ParquetError;

pub use concat_files::concat_files;
pub use convert::{
    PluginColumn, batch_to_plugin_columns, batch_to_table, check_shape, normalize, plugin_table,
    schema_summary, shared_batch, table_to_batch,
};
pub use date_window::{DatasetWindow, FileDateWindow};
pub use files::{FilePattern, MAX_DATASET_FILES, NamedFile, open_data_dir};
pub use io::{
    encode_table, read_parquet, read_parquet_columns, read_split, read_table, table_from_bytes,
    table_from_file, table_from_file_with, write_csv, write_parquet, write_parquet_pieces,
    write_table,
};
pub use plugin_types::for_plugins;
pub use read_options::{ColumnType, DEFAULT_NA_VALUES, DEFAULT_TIME_UNIT, ReadKeys, ReadOptions};
pub use s3_files::{ListedObject, S3DataError, S3Objects, S3Prefix};
pub use source::{DataFile, FileRead, SourceError, open_data_file};
pub(crate) use split::SplitMix64;
pub use split::{assign_folds, holdout_mask, split_holdout, take};
pub use window::{EpochUnit, TimeWindow, Windowed};

/// What went wrong reading, writing, converting or splitting a table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened, read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done (`read`, `rewind`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The file's extension names no format sluice reads or writes.
    #[error(
        "`{}` has an unsupported extension {extension:?}; \
         use .csv, .parquet, .arrow/.ipc/.feather (Arrow IPC file) \
         or .jsonl/.ndjson (JSON lines)",
        path.display()
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Its extension, as found.
        extension: String,
    },

    /// The file was read but its contents are not valid in its format.
    #[error("cannot parse `{}` as {format}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The format it was read as (`CSV`, `an Arrow IPC file`).
        format: &'static str,
        /// What the parser said.
        #[source]
        source: ArrowError,
    },

    /// A value in a CSV file that cannot be read as its column's type.
    #[error("`{}` line {line}, column `{column}`: {problem}", path.display())]
    CsvValue {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1 (the header is line 1).
        line: u64,
        /// The column's name.
        column: String,
        /// What is wrong with the value.
        problem: String,
    },

    /// A Parquet file or Parquet bytes could not be read or written.
    #[error("Parquet {action} failed for {what}: {source}")]
    Parquet {
        /// `reading` or `writing`.
        action: &'static str,
        /// The file, or a description such as "in-memory bytes".
        what: String,
        /// What the Parquet library said.
        #[source]
        source: ParquetError,
    },

    /// A Parquet file's pages could not be decoded: damaged, or not
    /// matching their checksums.
    #[error("cannot decode the Parquet of {what}: {source}")]
    ParquetDecode {
        /// The file, or a description such as "in-memory bytes".
        what: String,
        /// What the Arrow decoder said.
        #[source]
        source: ArrowError,
    },

    /// An Arrow operation failed (building a batch, CSV output, taking rows).
    #[error("{action} failed: {source}")]
    Arrow {
        /// The operation that failed.
        action: &'static str,
        /// What Arrow said.
        #[source]
        source: ArrowError,
    },

    /// A file of a dataset directory does not have the columns, or the
    /// column types, of the others.
    #[error("`{}`, column `{column}`: {problem}", path.display())]
    SchemaMismatch {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// How it differs.
        problem: String,
    },

    /// A dataset's time column cannot place its rows in the window.
    #[error("{what}: time column `{column}`: {problem}")]
    TimeColumn {
        /// The dataset's file or directory.
        what: String,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A column of a dataset cannot be made of a type plugins receive, or
    /// a read option names a column it does not have.
    #[error("{what}, column `{column}`: {problem}")]
    Column {
        /// The dataset (its name and file or directory).
        what: String,
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },

    /// A column's Arrow type has no WIT counterpart.
    #[error(
        "column `{column}` has type {data_type}, which plugins cannot receive; \
         they receive floats, integers, booleans and text (a dataset's dates, \
         timestamps and times become integers of its `time_unit`: see \
         \"Column types\" in docs/pipelines.md)"
    )]
    UnsupportedType {
        /// The column's name.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },

    /// An unsigned value does not fit the signed 64-bit WIT integer.
    #[error("column `{column}` row {row}: value {value} does not fit a signed 64-bit integer")]
    IntegerOverflow {
        /// The column's name.
        column: String,
        /// The row, counting from 0.
        row: usize,
        /// The value.
        value: u64,
    },

    /// Columns of one table have different lengths.
    #[error(
        "column `{column}` has {actual} rows but column `{first}` has {expected}; \
         all columns of a table must have the same length"
    )]
    ColumnLength {
        /// The column that differs.
        column: String,
        /// Its length.
        actual: usize,
        /// The first column.
        first: String,
        /// The first column's length.
        expected: usize,
    },

    /// A column's validity mask does not have one entry per row.
    #[error("column `{column}` has {rows} values but its validity mask has {valid} entries")]
    ValidLength {
        /// The column's name.
        column: String,
        /// Its number of values.
        rows: usize,
        /// The mask's number of entries.
        valid: usize,
    },

    /// Two columns share a name.
    #[error("column name `{column}` appears more than once (positions {first} and {second})")]
    DuplicateColumn {
        /// The name.
        column: String,
        /// The first position it is at, counting from 0.
        first: usize,
        /// The second position it is at.
        second: usize,
    },

    /// A column has an empty name.
    #[error("column at position {position} has an empty name")]
    EmptyColumnName {
        /// Its position, counting from 0.
        position: usize,
    },

    /// The holdout fraction is not strictly between 0 and 1.
    #[error("holdout fraction {fraction} is out of range; use a number strictly between 0 and 1")]
    HoldoutFraction {
        /// The fraction given.
        fraction: f64,
    },

    /// The stratification column does not exist.
    #[error("cannot stratify by `{column}`: no such column (columns: {available})")]
    MissingColumn {
        /// The column asked for.
        column: String,
        /// The table's columns, comma-separated.
        available: String,
    },
}
