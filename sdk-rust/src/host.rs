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
        /// The step cannot go on.
        Error = 0,
        /// Something is off, but the step goes on.
        Warn = 1,
        /// Progress and figures worth keeping in the run record.
        Info = 2,
        /// Detail for the plugin's author.
        Debug = 3,
        /// Finer detail still; the host may drop it.
        Trace = 4,
    }

    /// Logs a message at `level` (natively: to stderr).
    pub fn log(level: Level, message: impl AsRef<str>) {
        emit(level, message.as_ref());
    }

    /// Logs at [`Level::Error`].
    pub fn error(message: impl AsRef<str>) {
        emit(Level::Error, message.as_ref());
    }

    /// Logs at [`Level::Warn`].
    pub fn warn(message: impl AsRef<str>) {
        emit(Level::Warn, message.as_ref());
    }

    /// Logs at [`Level::Info`].
    pub fn info(message: impl AsRef<str>) {
        emit(Level::Info, message.as_ref());
    }

    /// Logs at [`Level::Debug`].
    pub fn debug(message: impl AsRef<str>) {
        emit(Level::Debug, message.as_ref());
    }

    /// Logs at [`Level::Trace`].
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

/// Work spread over more than one core: the host runs the plugin's own
/// [`Trainer::work`](crate::Trainer::work) in more instances of it
/// (workers), side by side, one per step slot the tenant can spare.
///
/// Input `i` of [`spread`](parallel::spread) goes to worker
/// `i mod workers()`, in order, and a worker's memory lasts for the step
/// call: data every worker needs is sent once, one input per worker (see
/// [`broadcast`](parallel::broadcast)), and later inputs use it. A result
/// must not depend on [`workers`](parallel::workers): combine the outputs
/// in input order, with sums that do not depend on how the work was cut
/// (integers, or fixed point), so a rerun on a machine with another
/// number of cores repeats it bit for bit.
///
/// Outside Wasm (native tests) the workers are emulated on the calling
/// thread, one after another
/// ([`set_native_workers`](parallel::set_native_workers); one by default).
pub mod parallel {
    use crate::{StepError, Trainer};

    #[cfg(not(target_arch = "wasm32"))]
    thread_local! {
        /// Outside Wasm: the workers emulated, and the one running.
        static NATIVE: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((1, 0)) };
    }

    /// The number of workers [`spread`] uses in this step call (1 when the
    /// tenant has no slot to spare).
    pub fn workers() -> usize {
        #[cfg(target_arch = "wasm32")]
        return crate::wit::parallel::workers().max(1) as usize;
        #[cfg(not(target_arch = "wasm32"))]
        NATIVE.get().0
    }

    /// Which worker runs this `work` call, for state kept per worker: 0
    /// in Wasm (each worker is an instance of its own, with its own
    /// memory); outside Wasm, the emulated worker (see
    /// [`set_native_workers`]).
    pub fn worker_index() -> usize {
        #[cfg(target_arch = "wasm32")]
        return 0;
        #[cfg(not(target_arch = "wasm32"))]
        NATIVE.get().1
    }

    /// Outside Wasm (tests), emulate `workers` workers on this thread:
    /// [`spread`] runs input `i` as worker `i mod workers` would, one
    /// after another, with [`worker_index`] telling them apart. In Wasm
    /// the host decides; this does nothing.
    pub fn set_native_workers(workers: usize) {
        #[cfg(not(target_arch = "wasm32"))]
        NATIVE.set((workers.max(1), 0));
        #[cfg(target_arch = "wasm32")]
        let _ = workers;
    }

    /// `T::work(task, input)` for every input, spread over the workers;
    /// the outputs in the order of the inputs. The first input that fails
    /// fails the call.
    pub fn spread<T: Trainer>(task: &str, inputs: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let _ = std::marker::PhantomData::<T>;
            crate::wit::parallel::spread(task, &inputs).map_err(Into::into)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let workers = workers();
            let out = inputs
                .into_iter()
                .enumerate()
                .map(|(i, input)| {
                    NATIVE.set((workers, i % workers));
                    T::work(task, input)
                })
                .collect();
            NATIVE.set((workers, 0));
            out
        }
    }

    /// Sends `input` to every worker once: [`spread`] with one copy per
    /// worker, the outputs dropped.
    pub fn broadcast<T: Trainer>(task: &str, input: &[u8]) -> Result<(), StepError> {
        spread::<T>(task, vec![input.to_vec(); workers()]).map(|_| ())
    }
}

/// A `train` or `explain` call's table read a block of rows at a time.
///
/// To a trainer or an explainer that calls [`rows::read`](rows::read),
/// the host may pass `train`'s features and target (or `explain`'s)
/// without their rows: every column with its name and kind, and no
/// values. [`streamed`](rows::streamed) then says how many rows there
/// are, and [`read`](rows::read) gives them a block at a time, so the
/// plugin fills buffers it reuses, or reads only the rows it needs,
/// instead of holding a copy of the whole table in its memory (whose
/// first touch, in a fresh sandbox, costs a page fault per 4 KiB). Any
/// other call, and a call whose table the host passed whole, gets
/// [`streamed`](rows::streamed) `None`.
///
/// Outside Wasm (native tests), [`set_native_rows`](rows::set_native_rows)
/// makes the next [`streamed`](rows::streamed) and [`read`](rows::read)
/// on this thread serve a table, as the host would.
pub mod rows {
    use crate::{Column, StepError, Table};

    /// The most rows one [`read`] returns.
    pub const MAX_READ: u32 = 65_536;

    #[cfg(not(target_arch = "wasm32"))]
    thread_local! {
        static NATIVE: std::cell::RefCell<Option<(Table, Option<Column>)>> =
            const { std::cell::RefCell::new(None) };
    }

    /// The rows of the call's table when the host passed it without them;
    /// `None` when the call's tables are whole.
    pub fn streamed() -> Option<u64> {
        #[cfg(target_arch = "wasm32")]
        return crate::wit::rows::streamed();
        #[cfg(not(target_arch = "wasm32"))]
        NATIVE.with(|n| n.borrow().as_ref().map(|(t, _)| t.num_rows() as u64))
    }

    /// Rows `start` up to `start + len` of the call's table (fewer at its
    /// end, none past it, at most [`MAX_READ`]) and of its target column.
    pub fn read(start: u64, len: u32) -> Result<(Table, Option<Column>), StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let (table, target) = crate::wit::rows::read(start, len);
            Ok((
                crate::convert::table_in(table)?,
                target.map(crate::convert::column_in).transpose()?,
            ))
        }
        #[cfg(not(target_arch = "wasm32"))]
        NATIVE.with(|n| {
            let native = n.borrow();
            let Some((table, target)) = native.as_ref() else {
                return Ok((Table::new(), None));
            };
            let rows = table.num_rows() as u64;
            let start = start.min(rows);
            let end = (start + u64::from(len.min(MAX_READ))).min(rows);
            let range = start as usize..end as usize;
            let mut block = Table::new();
            for column in table.columns() {
                block.push(column.rows(range.clone()));
            }
            Ok((block, target.as_ref().map(|t| t.rows(range))))
        })
    }

    /// Outside Wasm (tests): [`streamed`] and [`read`] serve `table` and
    /// `target` on this thread, until [`clear_native_rows`]. In Wasm the
    /// host decides; this does nothing.
    pub fn set_native_rows(table: Table, target: Option<Column>) {
        #[cfg(not(target_arch = "wasm32"))]
        NATIVE.set(Some((table, target)));
        #[cfg(target_arch = "wasm32")]
        let _ = (table, target);
    }

    /// Outside Wasm: the tables of calls are whole again.
    pub fn clear_native_rows() {
        #[cfg(not(target_arch = "wasm32"))]
        NATIVE.set(None);
    }
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
    /// trainer (when the tenant has a step slot to spare). One table per
    /// request, always. The first request that fails fails the call, named
    /// by its index.
    pub fn predict_replacing_each(
        requests: Vec<Vec<crate::Column>>,
    ) -> Result<Vec<Table>, StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            let asked = requests.len();
            let wire: Vec<Vec<crate::wit::types::Column>> = requests
                .into_iter()
                .map(|r| r.into_iter().map(Into::into).collect())
                .collect();
            let out = crate::wit::model::predict_replacing_each(&wire).map_err(StepError::from)?;
            one_per_request(out, asked)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            each_numbered(requests, predict_replacing)
        }
    }

    /// A held column to permute for [`predict_each`]: its rows in the order
    /// of `SplitMix64::new(seed).permutation(rows)`
    /// ([`crate::random::shuffled`]), done by the host, so the column
    /// does not cross the call.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Permutation {
        /// The held column to permute.
        pub column: String,
        /// The seed of the permutation: the same seed gives the same order.
        pub seed: u64,
    }

    /// One prediction on the held table, for [`predict_each`]: columns
    /// replaced, held columns permuted, and the prediction columns wanted.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct PredictionRequest {
        /// Columns in place of the held columns of the same name.
        pub replace: Vec<crate::Column>,
        /// Held columns to permute (each once, and none in `replace`).
        pub permute: Vec<Permutation>,
        /// The answer's columns, in order; empty: all of them.
        pub outputs: Vec<String>,
    }

    impl PredictionRequest {
        /// A request that changes nothing and asks for every column.
        pub fn new() -> Self {
            Self::default()
        }

        /// Replaces the held column of the same name by `column` (builder
        /// style).
        pub fn replace(mut self, column: crate::Column) -> Self {
            self.replace.push(column);
            self
        }

        /// Permutes the held column `column` with `seed` (builder style).
        pub fn permute(mut self, column: impl Into<String>, seed: u64) -> Self {
            self.permute.push(Permutation {
                column: column.into(),
                seed,
            });
            self
        }

        /// Asks for these prediction columns only, in this order (builder
        /// style).
        pub fn outputs<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
            self.outputs = names.into_iter().map(Into::into).collect();
            self
        }
    }

    /// Predictions on the held table (see [`hold`]) for each request, in
    /// order: its columns replaced, its permutations done by the host, and
    /// only the columns it asks for in the answer (a model may then skip
    /// work: a classifier asked for `prediction` only need not compute
    /// probabilities). Answered side by side as [`predict_replacing_each`],
    /// one table per request.
    /// An error (naming the request by its index) when nothing is held, a
    /// column is not held or named twice, a length differs from the held
    /// rows, or an output is not among the model's columns.
    pub fn predict_each(requests: Vec<PredictionRequest>) -> Result<Vec<Table>, StepError> {
        #[cfg(target_arch = "wasm32")]
        {
            use crate::wit::model as wire;
            let asked = requests.len();
            let wire: Vec<wire::PredictionRequest> = requests
                .into_iter()
                .map(|r| wire::PredictionRequest {
                    replace: r.replace.into_iter().map(Into::into).collect(),
                    permute: r
                        .permute
                        .into_iter()
                        .map(|p| wire::Permutation {
                            column: p.column,
                            seed: p.seed,
                        })
                        .collect(),
                    outputs: r.outputs,
                })
                .collect();
            let out = wire::predict_each(&wire).map_err(StepError::from)?;
            one_per_request(out, asked)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            each_numbered(requests, predict_request)
        }
    }

    /// The host's answers to `asked` requests, one table per request in
    /// order; an internal error when their number is not `asked`, so that a
    /// caller zipping requests with answers never drops one.
    #[cfg(target_arch = "wasm32")]
    fn one_per_request(
        out: Vec<crate::wit::types::Table>,
        asked: usize,
    ) -> Result<Vec<Table>, StepError> {
        if out.len() != asked {
            return Err(StepError::internal(format!(
                "the host answered {} tables to {asked} requests",
                out.len()
            )));
        }
        out.into_iter().map(crate::convert::table_in).collect()
    }

    /// `answer` of each request, in order, natively; the first error, named
    /// by its request's index, as the host names it.
    #[cfg(not(target_arch = "wasm32"))]
    fn each_numbered<R>(
        requests: Vec<R>,
        answer: impl Fn(R) -> Result<Table, StepError>,
    ) -> Result<Vec<Table>, StepError> {
        requests
            .into_iter()
            .enumerate()
            .map(|(i, request)| {
                answer(request).map_err(|e| StepError {
                    message: format!("request {i}: {}", e.message),
                    ..e
                })
            })
            .collect()
    }

    /// One request of [`predict_each`], natively: what the host does.
    #[cfg(not(target_arch = "wasm32"))]
    fn predict_request(request: PredictionRequest) -> Result<Table, StepError> {
        let held = HELD.with(|h| h.borrow().clone());
        let Some(table) = held else {
            return Err(StepError::invalid_input(
                "predict-each: no table is held (call hold first)",
            ));
        };
        let mut columns = request.replace;
        for (i, p) in request.permute.iter().enumerate() {
            let Some(column) = table.columns.iter().find(|c| c.name == p.column) else {
                return Err(StepError::invalid_input(format!(
                    "predict-each: column '{}' to permute is not in the held table",
                    p.column
                )));
            };
            if request.permute[..i].iter().any(|q| q.column == p.column)
                || columns.iter().any(|c| c.name == p.column)
            {
                return Err(StepError::invalid_input(format!(
                    "predict-each: column '{}' is given twice",
                    p.column
                )));
            }
            let mut rng = crate::random::SplitMix64::new(p.seed);
            columns.push(crate::random::shuffled(column, &mut rng));
        }
        let out = predict_replacing(columns)?;
        crate::select_outputs(out, &request.outputs)
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

    /// Natively, `predict_each` permutes a held column as
    /// `random::shuffled` does, answers the outputs asked for in their
    /// order, and names the request that is wrong.
    #[test]
    fn predict_each_permutes_and_picks_the_outputs() {
        use crate::model::PredictionRequest;
        use crate::random::{SplitMix64, shuffled};
        // prediction = 10 x + y; p_0 = x.
        model::set_native_predictor(Box::new(|t: &Table| {
            let x = t.column("x")?.f64_values().unwrap().to_vec();
            let y = t.column("y")?.f64_values().unwrap();
            let pred = x.iter().zip(y).map(|(x, y)| 10.0 * x + y).collect();
            Ok(Table::new()
                .with(Column::f64("p_0", x))
                .with(Column::f64("prediction", pred)))
        }));
        let rows = 50;
        let x = Column::f64("x", (0..rows).map(|i| i as f64).collect());
        let y = Column::f64("y", (0..rows).map(|i| (i * i) as f64).collect());
        let mut held = Table::new().with(x.clone()).with(y.clone());
        model::hold(&mut held).unwrap();
        let answers = model::predict_each(vec![
            PredictionRequest::new(),
            PredictionRequest::new()
                .permute("x", 3)
                .outputs(["prediction", "p_0"]),
            PredictionRequest::new()
                .replace(Column::f64("y", vec![0.0; rows]))
                .permute("x", 4)
                .outputs(["p_0"]),
        ])
        .unwrap();
        assert_eq!(answers[0].names(), ["p_0", "prediction"]);
        let shuffled_x = |seed| shuffled(&x, &mut SplitMix64::new(seed));
        let want = Table::new().with(shuffled_x(3)).with(y.clone());
        let want = model::predict(&want).unwrap();
        assert_eq!(answers[1].names(), ["prediction", "p_0"]);
        assert_eq!(answers[1].columns[0], *want.column("prediction").unwrap());
        assert_eq!(answers[1].columns[1], *want.column("p_0").unwrap());
        assert_ne!(answers[1].columns[1], *answers[0].column("p_0").unwrap());
        assert_eq!(answers[2].names(), ["p_0"]);
        assert_eq!(
            answers[2].columns[0].f64_values(),
            shuffled_x(4).f64_values()
        );
        for (request, expected) in [
            (
                PredictionRequest::new().permute("z", 1),
                "request 0: predict-each: column 'z' to permute is not in the held table",
            ),
            (
                PredictionRequest::new().permute("x", 1).permute("x", 2),
                "request 0: predict-each: column 'x' is given twice",
            ),
            (
                PredictionRequest::new()
                    .replace(Column::f64("x", vec![0.0; rows]))
                    .permute("x", 1),
                "request 0: predict-each: column 'x' is given twice",
            ),
            (
                PredictionRequest::new().outputs(["p_1"]),
                "request 0: the model's predictions have no column 'p_1'; they have: p_0, prediction",
            ),
            (
                PredictionRequest::new().outputs(["p_0", "p_0"]),
                "request 0: output 'p_0' is asked for twice",
            ),
        ] {
            let err = model::predict_each(vec![request]).unwrap_err();
            assert_eq!(err.message, expected);
        }
        model::clear_native_predictor();
    }
}
