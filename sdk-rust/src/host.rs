//! Services the host gives a plugin: logging, progress and the model under
//! test.
//!
//! Inside a component these call the host's imports. Built natively (plugin
//! unit tests, benchmarks) they never panic: log lines go to stderr,
//! progress is dropped, and [`model::predict`] calls a predictor installed
//! with [`model::set_native_predictor`].

/// The step's log. Messages land in the run record, bounded by the host.
pub mod log {
    /// Log levels as the WIT contract numbers them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Level {
        Error = 0,
        Warn = 1,
        Info = 2,
        Debug = 3,
        Trace = 4,
    }

    pub fn log(level: Level, message: impl AsRef<str>) {
        emit(level, message.as_ref());
    }

    pub fn error(message: impl AsRef<str>) {
        emit(Level::Error, message.as_ref());
    }

    pub fn warn(message: impl AsRef<str>) {
        emit(Level::Warn, message.as_ref());
    }

    pub fn info(message: impl AsRef<str>) {
        emit(Level::Info, message.as_ref());
    }

    pub fn debug(message: impl AsRef<str>) {
        emit(Level::Debug, message.as_ref());
    }

    pub fn trace(message: impl AsRef<str>) {
        emit(Level::Trace, message.as_ref());
    }

    #[cfg(target_arch = "wasm32")]
    fn emit(level: Level, message: &str) {
        crate::wit::host::log(level as u8, message);
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn emit(level: Level, message: &str) {
        eprintln!("[sluice {level:?}] {message}");
    }
}

/// Reports progress of long work; `total` may be 0 when unknown.
pub fn progress(done: u64, total: u64) {
    #[cfg(target_arch = "wasm32")]
    crate::wit::host::progress(done, total);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (done, total);
}

/// The model under test, for validators and explainers.
///
/// The host routes each call to the trainer component that produced the
/// model, in a sandbox of its own. Only the validator and explainer worlds
/// import it: a transform or trainer that calls [`model::predict`](crate::model::predict)
/// fails to componentize.
pub mod model {
    use crate::{StepError, Table};

    /// A stand-in for the host's model when the plugin runs natively.
    pub type NativePredictor = Box<dyn Fn(&Table) -> Result<Table, StepError> + Send + Sync>;

    #[cfg(not(target_arch = "wasm32"))]
    thread_local! {
        static PREDICTOR: std::cell::RefCell<Option<NativePredictor>> =
            const { std::cell::RefCell::new(None) };
        /// The table [`hold`] keeps, natively.
        static HELD: std::cell::RefCell<Option<Table>> = const { std::cell::RefCell::new(None) };
    }

    /// Predictions for `features`, one row per input row. Classifiers
    /// return one f64 column `p_<class>` per class and a `prediction`
    /// column. Inside a component the table is copied once into the call
    /// (the import borrows its argument); the answer is moved out.
    pub fn predict(features: &Table) -> Result<Table, StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let wire = crate::convert::table_to_wire_cloned(features);
            let out = crate::wit::model::predict(&wire).map_err(StepError::from)?;
            crate::convert::table_in(out)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            PREDICTOR.with(|p| match p.borrow().as_ref() {
                Some(predict) => predict(features),
                None => Err(StepError::internal(
                    "no model to call: natively, install one with \
                     sluice_sdk::model::set_native_predictor",
                )),
            })
        }
    }

    /// [`predict`] without copying the table into the call: its columns
    /// move into the call's argument and back, so `features` is unchanged
    /// when this returns. For callers that hold the table mutably and call
    /// the model many times (an explainer).
    pub fn predict_mut(features: &mut Table) -> Result<Table, StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let wire = crate::wit::types::Table::from(std::mem::take(features));
            let out = crate::wit::model::predict(&wire);
            *features = Table::from(wire);
            crate::convert::table_in(out.map_err(StepError::from)?)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            predict(features)
        }
    }

    /// Hands the model `features` to keep for the [`predict_replacing`]
    /// calls that follow, which then send only the columns they change. A
    /// later `hold` replaces the held table. The columns move into the call
    /// and back (no copy), so `features` is unchanged when this returns.
    pub fn hold(features: &mut Table) -> Result<(), StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let wire = crate::wit::types::Table::from(std::mem::take(features));
            let out = crate::wit::model::hold(&wire);
            *features = Table::from(wire);
            out.map_err(StepError::from)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            HELD.with(|h| *h.borrow_mut() = Some(features.clone()));
            Ok(())
        }
    }

    /// Predictions on the held table (see [`hold`]) with each of `columns`
    /// in place of the held column of the same name: the same answer as
    /// [`predict`] on that table. An error when nothing is held, a name is
    /// not held or given twice, or a length differs from the held rows.
    pub fn predict_replacing(columns: Vec<crate::Column>) -> Result<Table, StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let wire: Vec<crate::wit::types::Column> =
                columns.into_iter().map(Into::into).collect();
            let out = crate::wit::model::predict_replacing(&wire).map_err(StepError::from)?;
            crate::convert::table_in(out)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let held = HELD.with(|h| h.borrow().clone());
            let Some(mut table) = held else {
                return Err(StepError::invalid_input(
                    "predict-replacing: no table is held (call hold first)",
                ));
            };
            let at = crate::check_replacing(&table, &columns)?;
            crate::swap_columns(&mut table, &at, columns);
            predict(&table)
        }
    }

    /// [`predict_replacing`] of each request, in order, in one call: the
    /// host may answer them side by side in more than one instance of the
    /// trainer (when the tenant has a step slot to spare). The first
    /// request that fails fails the call, named by its index.
    pub fn predict_replacing_each(
        requests: Vec<Vec<crate::Column>>,
    ) -> Result<Vec<Table>, StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let wire: Vec<Vec<crate::wit::types::Column>> = requests
                .into_iter()
                .map(|r| r.into_iter().map(Into::into).collect())
                .collect();
            let out = crate::wit::model::predict_replacing_each(&wire).map_err(StepError::from)?;
            out.into_iter().map(crate::convert::table_in).collect()
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            requests
                .into_iter()
                .enumerate()
                .map(|(i, columns)| {
                    predict_replacing(columns).map_err(|e| StepError {
                        message: format!("request {i}: {}", e.message),
                        ..e
                    })
                })
                .collect()
        }
    }

    /// Installs the predictor [`predict`] calls on this thread when the
    /// plugin is built natively (for unit tests and benchmarks). Inside a
    /// component it has no effect: the host's model answers.
    pub fn set_native_predictor(predictor: NativePredictor) {
        #[cfg(not(target_arch = "wasm32"))]
        PREDICTOR.with(|p| *p.borrow_mut() = Some(predictor));
        #[cfg(target_arch = "wasm32")]
        drop(predictor);
    }

    /// Removes this thread's native predictor.
    pub fn clear_native_predictor() {
        #[cfg(not(target_arch = "wasm32"))]
        PREDICTOR.with(|p| *p.borrow_mut() = None);
        #[cfg(not(target_arch = "wasm32"))]
        HELD.with(|h| *h.borrow_mut() = None);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::{Column, ErrorKind, Table};

    #[test]
    fn native_services_do_not_panic() {
        log::info("hello");
        log::error("oops");
        progress(1, 2);
        model::clear_native_predictor();
        let err = model::predict(&Table::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal);
    }

    #[test]
    fn native_predictor_answers() {
        model::set_native_predictor(Box::new(|t: &Table| {
            Ok(Table::new().with(Column::f64("p_1", vec![0.5; t.num_rows()])))
        }));
        let out = model::predict(&Table::new().with(Column::f64("x", vec![1.0, 2.0]))).unwrap();
        assert_eq!(
            out.column("p_1").unwrap().f64_values(),
            Some(&[0.5, 0.5][..])
        );
        model::clear_native_predictor();
    }

    #[test]
    fn predict_replacing_answers_as_predict_on_the_replaced_table() {
        // The model's answer is x + 10 y, so a swapped column shows.
        model::set_native_predictor(Box::new(|t: &Table| {
            let x = t.column("x")?.f64_values().unwrap().to_vec();
            let y = t.column("y")?.f64_values().unwrap();
            let p = x.iter().zip(y).map(|(x, y)| x + 10.0 * y).collect();
            Ok(Table::new().with(Column::f64("prediction", p)))
        }));
        let err = model::predict_replacing(vec![Column::f64("x", vec![0.0; 2])]).unwrap_err();
        assert!(err.message.contains("no table is held"), "{}", err.message);

        let mut held = Table::new()
            .with(Column::f64("x", vec![1.0, 2.0]))
            .with(Column::f64("y", vec![3.0, 4.0]));
        model::hold(&mut held).unwrap();
        assert_eq!(held.num_columns(), 2, "hold leaves the caller's table");
        let out = model::predict_replacing(vec![Column::f64("y", vec![0.0, 1.0])]).unwrap();
        let direct = model::predict(
            &Table::new()
                .with(Column::f64("x", vec![1.0, 2.0]))
                .with(Column::f64("y", vec![0.0, 1.0])),
        )
        .unwrap();
        assert_eq!(out, direct);
        assert_eq!(
            out.column("prediction").unwrap().f64_values(),
            Some(&[1.0, 12.0][..])
        );
        // The held table is not changed by a call.
        let again = model::predict_replacing(vec![]).unwrap();
        assert_eq!(
            again.column("prediction").unwrap().f64_values(),
            Some(&[31.0, 42.0][..])
        );

        for (columns, expected) in [
            (
                vec![Column::f64("z", vec![0.0; 2])],
                "column 'z' is not in the held table",
            ),
            (
                vec![Column::f64("x", vec![0.0; 3])],
                "column 'x' has 3 rows, the held table has 2",
            ),
            (
                vec![
                    Column::f64("x", vec![0.0; 2]),
                    Column::f64("x", vec![0.0; 2]),
                ],
                "column 'x' is given twice",
            ),
        ] {
            let err = model::predict_replacing(columns).unwrap_err();
            assert!(err.message.contains(expected), "{}", err.message);
        }
        model::clear_native_predictor();
    }
}
