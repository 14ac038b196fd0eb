//! A dataset's window by the dates of its files: `window` without
//! `time_column` keeps the files (of a directory: their modification
//! times; of an S3 prefix: their objects' last-modified times) written
//! less than a span before the newest one.
//!
//! As a window by a time column does ([`TimeWindow`]), it ends at the
//! newest date in the data, not at the clock, so the same files with the
//! same dates give the same selection whenever they are read. The dates
//! are the storage's (the file system's or the S3 server's clock, and
//! whatever wrote or copied the files): a copy that does not keep
//! modification times moves every file to now.

use super::TimeWindow;

/// `window` without `time_column`: the files of a dataset dated less than
/// `span` before its newest one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDateWindow {
    /// The span as written (`"30d"`), for records.
    pub span: String,
    /// The span in milliseconds.
    pub span_ms: i64,
}

impl FileDateWindow {
    /// Which of the files dated `dates` (milliseconds since 1970) are in
    /// the window: dated after `newest - span` (the newest always is).
    pub fn keep(&self, dates: &[i64]) -> Vec<bool> {
        let Some(&newest) = dates.iter().max() else {
            return Vec::new();
        };
        dates
            .iter()
            .map(|&d| i128::from(newest) - i128::from(d) < i128::from(self.span_ms))
            .collect()
    }
}

/// A dataset's window: by the time in a column of its rows, or by the
/// dates of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetWindow {
    /// `window` with `time_column`: rows near the newest time in the data.
    Rows(TimeWindow),
    /// `window` alone: files near the newest file's date.
    FileDates(FileDateWindow),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_ends_at_the_newest_file_not_the_clock() {
        let w = FileDateWindow {
            span: "2s".into(),
            span_ms: 2000,
        };
        // Unordered; the newest is 5 s. 3.001 s is within 2 s of it, 3 s
        // is exactly 2 s before, out.
        assert_eq!(
            w.keep(&[5000, 0, 3001, 3000, 1000]),
            [true, false, true, false, false]
        );
        assert_eq!(w.keep(&[7]), [true]);
        assert!(w.keep(&[]).is_empty());
    }
}
