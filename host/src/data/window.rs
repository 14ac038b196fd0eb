//! A dataset's time window: only the rows whose time is less than a span
//! before the newest time in the data.
//!
//! The window ends at the newest value of the time column, not at the
//! clock: the same files give the same rows whenever they are read, so a
//! rerun is reproducible and a cache hit is right. A row is kept when its
//! time is after `newest - span` (`window = "3d"` over one file a day keeps
//! the three newest days); a row whose time is null is dropped.

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::DataError;

/// The unit of a time column of integers: seconds, milliseconds,
/// microseconds or nanoseconds since 1970-01-01 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    /// `"s"`.
    Seconds,
    /// `"ms"`.
    Millis,
    /// `"us"`.
    Micros,
    /// `"ns"`.
    Nanos,
}

impl EpochUnit {
    /// The unit of `time_unit = "..."`.
    pub fn parse(text: &str) -> Result<EpochUnit, String> {
        match text {
            "s" => Ok(EpochUnit::Seconds),
            "ms" => Ok(EpochUnit::Millis),
            "us" => Ok(EpochUnit::Micros),
            "ns" => Ok(EpochUnit::Nanos),
            other => Err(format!(
                "`time_unit = {other:?}` is not a unit: use \"s\", \"ms\", \"us\" or \"ns\""
            )),
        }
    }

    /// Its name in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            EpochUnit::Seconds => "s",
            EpochUnit::Millis => "ms",
            EpochUnit::Micros => "us",
            EpochUnit::Nanos => "ns",
        }
    }

    /// Nanoseconds in one tick of the unit.
    pub(super) fn nanos(self) -> i128 {
        match self {
            EpochUnit::Seconds => 1_000_000_000,
            EpochUnit::Millis => 1_000_000,
            EpochUnit::Micros => 1_000,
            EpochUnit::Nanos => 1,
        }
    }
}

/// `window` with its `time_column` (and, for integers, `time_unit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    /// The span as written (`"30d"`), for records.
    pub span: String,
    /// The span in milliseconds.
    pub span_ms: i64,
    /// The column holding each row's time.
    pub column: String,
    /// The unit of an integer time column (`time_unit`); not used for a
    /// column whose type carries its unit (timestamps, dates, text).
    pub unit: Option<EpochUnit>,
}

/// The rows of a table in its window, and how many were not.
#[derive(Debug)]
pub struct Windowed {
    /// The rows kept, in their order.
    pub batch: RecordBatch,
    /// How many rows were dropped (older than the window, or no time).
    pub dropped: usize,
}

impl TimeWindow {
    /// The rows of `batch` inside the window; `what` (a file or a
    /// directory) names the data in errors.
    pub fn apply(&self, batch: &RecordBatch, what: &str) -> Result<Windowed, DataError> {
        let problem = |problem: String| DataError::TimeColumn {
            what: what.to_owned(),
            column: self.column.clone(),
            problem,
        };
        let Some(column) = batch.column_by_name(&self.column) else {
            let names: Vec<&str> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            return Err(problem(format!(
                "no such column (columns: {})",
                names.join(", ")
            )));
        };
        let from = column.data_type().clone();
        // The column as integers of a unit, in nanoseconds per tick.
        let (ticks, nanos) = match (&from, self.unit) {
            (DataType::Timestamp(unit, _), _) => {
                let nanos = match unit {
                    TimeUnit::Second => 1_000_000_000,
                    TimeUnit::Millisecond => 1_000_000,
                    TimeUnit::Microsecond => 1_000,
                    TimeUnit::Nanosecond => 1,
                };
                (self.as_i64(column, what)?, nanos)
            }
            (DataType::Date32, _) => (self.as_i64(column, what)?, 86_400 * 1_000_000_000),
            (DataType::Date64, _) => (self.as_i64(column, what)?, 1_000_000),
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, _) => {
                let as_time = DataType::Timestamp(TimeUnit::Nanosecond, None);
                let parsed = arrow::compute::cast_with_options(
                    column,
                    &as_time,
                    &arrow::compute::CastOptions {
                        safe: false,
                        ..Default::default()
                    },
                )
                .map_err(|e| {
                    problem(format!(
                        "its text is not all dates or times (ISO 8601, e.g. \
                         2024-01-31T12:00:00): {e}"
                    ))
                })?;
                (self.as_i64(&parsed, what)?, 1)
            }
            (t, Some(unit)) if t.is_integer() => (self.as_i64(column, what)?, unit.nanos()),
            (t, None) if t.is_integer() => {
                return Err(problem(format!(
                    "it holds integers ({t}): say what they count since 1970 with \
                     `time_unit` = \"s\", \"ms\", \"us\" or \"ns\""
                )));
            }
            (t, _) => {
                return Err(problem(format!(
                    "its type {t} is not a time: use a timestamp, a date, ISO 8601 text or \
                     integers with `time_unit`"
                )));
            }
        };
        let ticks = ticks.as_primitive::<Int64Type>();
        let Some(newest) = ticks.iter().flatten().max() else {
            return Err(problem("it has no values, so the window has no end".into()));
        };
        let span = i128::from(self.span_ms) * 1_000_000;
        let keep: BooleanArray = ticks
            .iter()
            .map(|t| Some(t.is_some_and(|t| (i128::from(newest) - i128::from(t)) * nanos < span)))
            .collect();
        let dropped = keep.false_count();
        if dropped == 0 {
            return Ok(Windowed {
                batch: batch.clone(),
                dropped,
            });
        }
        let batch = arrow::compute::filter_record_batch(batch, &keep).map_err(|source| {
            DataError::Arrow {
                action: "keeping the rows of a time window",
                source,
            }
        })?;
        Ok(Windowed { batch, dropped })
    }

    /// A time column's values as Int64 (its ticks), or an error naming it.
    fn as_i64(
        &self,
        column: &arrow::array::ArrayRef,
        what: &str,
    ) -> Result<arrow::array::ArrayRef, DataError> {
        let options = arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        };
        arrow::compute::cast_with_options(column, &DataType::Int64, &options).map_err(|e| {
            DataError::TimeColumn {
                what: what.to_owned(),
                column: self.column.clone(),
                problem: format!("cannot read it as times: {e}"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
    use std::sync::Arc;

    const DAY_MS: i64 = 86_400_000;

    fn window(span: &str, unit: Option<EpochUnit>) -> TimeWindow {
        TimeWindow {
            span: span.into(),
            span_ms: crate::monitor::spec::span_ms(span).unwrap(),
            column: "ts".into(),
            unit,
        }
    }

    fn kept(w: &TimeWindow, ts: ArrayRef) -> Result<(Vec<i64>, usize), DataError> {
        let rows = ts.len() as i64;
        let batch = RecordBatch::try_from_iter([
            ("ts", ts),
            (
                "row",
                Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
            ),
        ])
        .unwrap();
        let w = w.apply(&batch, "data")?;
        let row = w.batch.column(1).as_primitive::<Int64Type>();
        Ok((row.values().to_vec(), w.dropped))
    }

    #[test]
    fn the_window_ends_at_the_newest_time_not_the_clock() {
        // Days 1..=5 (in 1970: far from any clock), unordered, one null.
        let days = [3, 1, 5, 2, 4].map(|d| Some(d * DAY_MS));
        let mut with_null = days.to_vec();
        with_null.push(None);
        let ms: ArrayRef = Arc::new(Int64Array::from(with_null.clone()));
        let two_days = window("2d", Some(EpochUnit::Millis));
        // Days 4 and 5: day 3 is exactly two days before the newest, out.
        assert_eq!(kept(&two_days, ms.clone()).unwrap(), (vec![2, 4], 4));
        assert_eq!(
            kept(&window("30d", Some(EpochUnit::Millis)), ms).unwrap(),
            (vec![0, 1, 2, 3, 4], 1)
        );

        let seconds: Vec<Option<i64>> = with_null.iter().map(|d| d.map(|d| d / 1000)).collect();
        let s: ArrayRef = Arc::new(Int64Array::from(seconds));
        assert_eq!(
            kept(&window("2d", Some(EpochUnit::Seconds)), s).unwrap().0,
            vec![2, 4]
        );

        let stamps: ArrayRef = Arc::new(TimestampMillisecondArray::from(with_null));
        assert_eq!(kept(&window("2d", None), stamps).unwrap().0, vec![2, 4]);

        let text: ArrayRef = Arc::new(StringArray::from(vec![
            "1970-01-04",
            "1970-01-02",
            "1970-01-06T00:00:00",
            "1970-01-03",
            "1970-01-05",
        ]));
        assert_eq!(kept(&window("2d", None), text).unwrap().0, vec![2, 4]);
    }

    #[test]
    fn a_column_that_is_not_a_time_is_named() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let e = kept(&window("1d", None), ints).unwrap_err().to_string();
        assert!(e.contains("`ts`") && e.contains("time_unit"), "{e}");
        let text: ArrayRef = Arc::new(StringArray::from(vec!["yesterday"]));
        let e = kept(&window("1d", None), text).unwrap_err().to_string();
        assert!(e.contains("ISO 8601"), "{e}");
        // A timestamp carries its unit: `time_unit` (which also says how
        // times reach plugins) does not change how it is windowed.
        let stamps: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![1, DAY_MS + 1]));
        assert_eq!(
            kept(&window("1d", Some(EpochUnit::Seconds)), stamps).unwrap(),
            (vec![1], 1)
        );
        let floats: ArrayRef = Arc::new(arrow::array::Float64Array::from(vec![1.0]));
        let e = kept(&window("1d", Some(EpochUnit::Millis)), floats)
            .unwrap_err()
            .to_string();
        assert!(e.contains("its type Float64 is not a time"), "{e}");
        let nulls: ArrayRef = Arc::new(Int64Array::from(vec![None, None]));
        let e = kept(&window("1d", Some(EpochUnit::Millis)), nulls)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no values"), "{e}");
        let mut other = window("1d", None);
        other.column = "when".into();
        let batch =
            RecordBatch::try_from_iter([("ts", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
                .unwrap();
        let e = other.apply(&batch, "d.csv").unwrap_err().to_string();
        assert!(e.contains("`when`") && e.contains("columns: ts"), "{e}");
    }
}
