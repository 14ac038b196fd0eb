//! Boosting spread over the step's workers ([`sluice_sdk::parallel`]),
//! feature-parallel as in LightGBM: every worker gets all the rows once
//! (bin codes, targets, baselines) and one block of the features. Each
//! iteration every worker computes the gradients itself; for each node it
//! partitions the rows and builds the histograms of its own features only
//! (the costly part, divided among the workers), and answers the best
//! split among them. The caller keeps only the tree: it takes the best of
//! the workers' answers (the first feature on equal gains, as one search
//! over all features would) and tells every worker the split it chose.
//!
//! Every worker computes exactly what one search over all features does
//! for its features (the same gradients, fixed-point sums and gains), so
//! the trees are the same bits whatever the number of workers.
//!
//! Worker tasks (each worker keeps its state in `STATE` for the step):
//! `gbt-load`, `gbt-gradients`, `gbt-root`, `gbt-split`, `gbt-leaves`
//! and `gbt-raw`.

use crate::Gbt;
use crate::boost::{BoostOptions, Ensemble, Tree, sigmoid};
use crate::grow::{self, Codes, Fixed, LocalSplitter, Scales, Split, Splitter, Sums};
use sluice_sdk::{StepError, parallel};
use std::cell::RefCell;
use std::rc::Rc;

/// Fits with fewer rows stay on one core: the messages would cost more
/// than the work they spread.
pub const MIN_ROWS: usize = 20_000;

/// What is boosted: one ensemble (binary log loss, squared error) or one
/// per class (multinomial log loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LogLoss,
    SquaredError,
    Multinomial,
}

/// A spread fit's trees per ensemble and final raw scores,
/// `raw[ensemble][row]`.
pub type Fitted = (Vec<Vec<Tree>>, Vec<Vec<f64>>);

/// A fit spread over `workers` workers.
pub struct Spread {
    workers: usize,
    rows: usize,
}

/// A worker's state for the step: the rows, its features, the raw scores
/// and gradients, and the current tree's split search.
struct Worker {
    codes: Rc<Codes>,
    y: Vec<f64>,
    kind: Kind,
    block: std::ops::Range<usize>,
    n_bins: Vec<usize>,
    opts: BoostOptions,
    raw: Vec<Vec<f64>>,
    grad: Vec<Vec<f64>>,
    hess: Vec<Vec<f64>>,
    tree: Option<(usize, LocalSplitter<Rc<Codes>>)>,
}

thread_local! {
    /// Per worker (one in Wasm, where each worker is its own instance;
    /// as many as emulated natively).
    static STATE: RefCell<Vec<Option<Worker>>> = const { RefCell::new(Vec::new()) };
}

/// Little-endian reading of a task's input.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], StepError> {
        if self.0.len() < n {
            return Err(StepError::invalid_input(
                "gbt worker: a task's input is cut short",
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, StepError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<usize, StepError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize)
    }
    fn i64(&mut self) -> Result<i64, StepError> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn f64(&mut self) -> Result<f64, StepError> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn sums(&mut self) -> Result<Sums, StepError> {
        Ok(Sums {
            g: self.i64()?,
            h: self.i64()?,
            n: self.i64()?,
        })
    }
    fn split(&mut self) -> Result<Option<Split>, StepError> {
        if self.u8()? == 0 {
            return Ok(None);
        }
        Ok(Some(Split {
            gain: self.f64()?,
            feature: self.u32()?,
            bin: self.u32()?,
            left: self.sums()?,
        }))
    }
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn put_sums(out: &mut Vec<u8>, s: Sums) {
    for v in [s.g, s.h, s.n] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn put_split(out: &mut Vec<u8>, split: Option<&Split>) {
    match split {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            out.extend_from_slice(&s.gain.to_le_bytes());
            put_u32(out, s.feature);
            put_u32(out, s.bin);
            put_sums(out, s.left);
        }
    }
}

/// The best of the workers' splits, in block order: the highest gain, the
/// first block (so the first feature) on equal gains, as one search over
/// all the features finds it.
fn best_of(found: impl IntoIterator<Item = Option<Split>>) -> Option<Split> {
    found
        .into_iter()
        .flatten()
        .fold(None, |best: Option<Split>, s| {
            if best.is_none_or(|b| s.gain > b.gain) {
                Some(s)
            } else {
                best
            }
        })
}

impl Spread {
    /// Spreads a fit over the step's workers when there are more than one
    /// and the rows are many; `None`: the fit stays here.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        codes: &Codes,
        n_bins: &[usize],
        y: &[f64],
        kind: Kind,
        baselines: &[f64],
        opts: &BoostOptions,
    ) -> Option<Spread> {
        let features = codes.features();
        let workers = parallel::workers().min(features);
        let rows = y.len();
        if workers < 2 || rows < MIN_ROWS {
            return None;
        }
        let inputs = (0..workers)
            .map(|k| {
                let (start, end) = (k * features / workers, (k + 1) * features / workers);
                let mut input = Vec::with_capacity(rows * (features + 8) + 64);
                input.push(kind as u8);
                for v in [
                    features,
                    rows,
                    start,
                    end,
                    baselines.len(),
                    opts.min_samples_leaf,
                ] {
                    put_u32(&mut input, v);
                }
                input.extend_from_slice(&opts.l2_regularization.to_le_bytes());
                for &b in n_bins {
                    put_u32(&mut input, b);
                }
                for b in baselines {
                    input.extend_from_slice(&b.to_le_bytes());
                }
                for v in y {
                    input.extend_from_slice(&v.to_le_bytes());
                }
                for column in codes.columns() {
                    input.extend_from_slice(column);
                }
                input
            })
            .collect();
        match parallel::spread::<Gbt>("gbt-load", inputs) {
            Ok(_) => {
                sluice_sdk::log::info(format!(
                    "boosting spread over {workers} workers (each builds the histograms of {} features or so)",
                    features.div_ceil(workers)
                ));
                Some(Spread { workers, rows })
            }
            Err(e) => {
                sluice_sdk::log::warn(format!(
                    "boosting stays on one core: the workers refused the rows: {}",
                    e.message
                ));
                None
            }
        }
    }

    fn all(&self, task: &str, input: Vec<u8>) -> Result<Vec<Vec<u8>>, StepError> {
        parallel::spread::<Gbt>(task, vec![input; self.workers])
    }

    /// Boosts `opts.max_iter` iterations (one tree per ensemble each) and
    /// returns the trees per ensemble and the final raw scores,
    /// `raw[ensemble][row]`.
    pub fn fit(
        &self,
        thresholds: &[Vec<f64>],
        ensembles: usize,
        opts: &BoostOptions,
    ) -> Result<Fitted, StepError> {
        let mut trees: Vec<Vec<Tree>> = vec![Vec::with_capacity(opts.max_iter); ensembles];
        for _ in 0..opts.max_iter {
            self.all("gbt-gradients", Vec::new())?;
            for (k, trees) in trees.iter_mut().enumerate() {
                let mut splitter = SpreadSplitter {
                    spread: self,
                    ensemble: k,
                    scales: None,
                    failed: None,
                };
                let tree = grow::grow_with(&mut splitter, thresholds, opts);
                if let Some(e) = splitter.failed {
                    return Err(e);
                }
                let mut input = Vec::with_capacity(4 + 9 * tree.value.len());
                put_u32(&mut input, k);
                for (feature, value) in tree.feature.iter().zip(&tree.value) {
                    input.push(u8::from(feature.is_none()));
                    input.extend_from_slice(&value.to_le_bytes());
                }
                self.all("gbt-leaves", input)?;
                trees.push(tree);
            }
        }
        let out = parallel::spread::<Gbt>("gbt-raw", vec![Vec::new()])?;
        let mut r = Reader(out.first().map(Vec::as_slice).unwrap_or_default());
        let raw = (0..ensembles)
            .map(|_| {
                (0..self.rows)
                    .map(|_| r.f64())
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((trees, raw))
    }
}

/// Ensembles from trees and baselines.
pub fn ensembles(baselines: &[f64], trees: Vec<Vec<Tree>>) -> Vec<Ensemble> {
    baselines
        .iter()
        .zip(trees)
        .map(|(&baseline, trees)| Ensemble { baseline, trees })
        .collect()
}

/// The caller's side of one tree: the workers search, it combines.
struct SpreadSplitter<'a> {
    spread: &'a Spread,
    ensemble: usize,
    scales: Option<Scales>,
    /// The first error of a worker; the tree stops growing (no split).
    failed: Option<StepError>,
}

impl SpreadSplitter<'_> {
    fn ask(&mut self, task: &str, input: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        if self.failed.is_some() {
            return None;
        }
        match self.spread.all(task, input) {
            Ok(out) => Some(out),
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }
}

impl Splitter for SpreadSplitter<'_> {
    fn scales(&self) -> &Scales {
        self.scales.as_ref().expect("root ran first")
    }

    fn root(&mut self, may: impl Fn(i64) -> bool) -> (Sums, Option<Split>) {
        let mut input = Vec::new();
        put_u32(&mut input, self.ensemble);
        input.push(u8::from(may(self.spread.rows as i64)));
        let parsed = self.ask("gbt-root", input).and_then(|out| {
            let mut first = None;
            let mut found = Vec::new();
            for bytes in &out {
                let mut r = Reader(bytes);
                let fixed = [r.f64().ok()?, r.f64().ok()?, r.f64().ok()?, r.f64().ok()?];
                let sums = r.sums().ok()?;
                first.get_or_insert((fixed, sums));
                found.push(r.split().ok()?);
            }
            Some((first?, best_of(found)))
        });
        let Some(((fixed, sums), split)) = parsed else {
            self.failed.get_or_insert_with(|| {
                StepError::internal("gbt: a worker's root answer was malformed")
            });
            self.scales = Some(Scales {
                fixed_g: Fixed::for_largest(1.0, 1),
                fixed_h: Fixed::for_largest(1.0, 1),
                n_bins: Vec::new(),
            });
            return (Sums::default(), None);
        };
        self.scales = Some(Scales {
            fixed_g: Fixed {
                scale: fixed[0],
                inverse: fixed[1],
            },
            fixed_h: Fixed {
                scale: fixed[2],
                inverse: fixed[3],
            },
            n_bins: Vec::new(),
        });
        (sums, split)
    }

    fn split(
        &mut self,
        node: usize,
        sums: Sums,
        split: &Split,
        left: usize,
        right: usize,
        may: [bool; 2],
    ) -> [Option<Split>; 2] {
        let mut input = Vec::new();
        for v in [node, left, right] {
            put_u32(&mut input, v);
        }
        put_sums(&mut input, sums);
        put_split(&mut input, Some(split));
        input.extend(may.map(u8::from));
        let Some(out) = self.ask("gbt-split", input) else {
            return [None, None];
        };
        let mut found: [Vec<Option<Split>>; 2] = [Vec::new(), Vec::new()];
        for bytes in &out {
            let mut r = Reader(bytes);
            for f in &mut found {
                match r.split() {
                    Ok(s) => f.push(s),
                    Err(e) => {
                        self.failed.get_or_insert(e);
                        return [None, None];
                    }
                }
            }
        }
        found.map(best_of)
    }
}

/// The gradients and hessians of every ensemble from the raw scores, as
/// `boost::fit_scored` and `fit_multiclass_scored` compute them.
fn gradients(w: &mut Worker) {
    let n = w.y.len();
    match w.kind {
        Kind::LogLoss => {
            for i in 0..n {
                let p = sigmoid(w.raw[0][i]);
                w.grad[0][i] = p - w.y[i];
                w.hess[0][i] = p * (1.0 - p);
            }
        }
        Kind::SquaredError => {
            for i in 0..n {
                w.grad[0][i] = w.raw[0][i] - w.y[i];
            }
        }
        Kind::Multinomial => {
            let mut p = vec![0.0; w.raw.len()];
            for i in 0..n {
                for (p, raw) in p.iter_mut().zip(&w.raw) {
                    *p = raw[i];
                }
                sluice_sdk::classes::softmax(&mut p);
                for (k, &pk) in p.iter().enumerate() {
                    w.grad[k][i] = pk - f64::from(u8::from(w.y[i] as usize == k));
                    w.hess[k][i] = pk * (1.0 - pk);
                }
            }
        }
    }
}

fn load(input: &[u8]) -> Result<Worker, StepError> {
    let mut r = Reader(input);
    let kind = match r.u8()? {
        0 => Kind::LogLoss,
        1 => Kind::SquaredError,
        2 => Kind::Multinomial,
        _ => return Err(StepError::invalid_input("gbt worker: unknown loss")),
    };
    let (features, rows, start, end, ensembles, min_samples_leaf) =
        (r.u32()?, r.u32()?, r.u32()?, r.u32()?, r.u32()?, r.u32()?);
    if start > end || end > features || ensembles == 0 {
        return Err(StepError::invalid_input("gbt worker: bad feature block"));
    }
    let opts = BoostOptions {
        min_samples_leaf,
        l2_regularization: r.f64()?,
        ..BoostOptions::default()
    };
    let n_bins = (0..features)
        .map(|_| r.u32())
        .collect::<Result<Vec<_>, _>>()?;
    let baselines = (0..ensembles)
        .map(|_| r.f64())
        .collect::<Result<Vec<_>, _>>()?;
    let y = (0..rows).map(|_| r.f64()).collect::<Result<Vec<_>, _>>()?;
    let columns = (0..features)
        .map(|_| r.take(rows).map(<[u8]>::to_vec))
        .collect::<Result<Vec<_>, _>>()?;
    let hess = if kind == Kind::SquaredError { 1.0 } else { 0.0 };
    sluice_sdk::log::info(format!(
        "gbt worker: {rows} rows; histograms of features {start} to {}",
        end.saturating_sub(1)
    ));
    Ok(Worker {
        codes: Rc::new(Codes::new(columns)),
        y,
        kind,
        block: start..end,
        n_bins,
        opts,
        raw: baselines.iter().map(|&b| vec![b; rows]).collect(),
        grad: vec![vec![0.0; rows]; ensembles],
        hess: vec![vec![hess; rows]; ensembles],
        tree: None,
    })
}

/// A worker's side of the tasks above.
pub fn work(task: &str, input: Vec<u8>) -> Result<Vec<u8>, StepError> {
    STATE.with(|states| {
        let mut states = states.borrow_mut();
        let index = parallel::worker_index();
        if states.len() <= index {
            states.resize_with(index + 1, || None);
        }
        let state = &mut states[index];
        if task == "gbt-load" {
            *state = Some(load(&input)?);
            return Ok(Vec::new());
        }
        let w = state.as_mut().ok_or_else(|| {
            StepError::invalid_input(format!("gbt worker task '{task}' before gbt-load"))
        })?;
        let mut r = Reader(&input);
        let mut out = Vec::new();
        match task {
            "gbt-gradients" => gradients(w),
            "gbt-root" => {
                let k = r.u32()?;
                let may = r.u8()? != 0;
                if k >= w.raw.len() {
                    return Err(StepError::invalid_input("gbt worker: no such ensemble"));
                }
                let scales = grow::scales_for(&w.grad[k], &w.hess[k], w.n_bins.clone());
                for f in [scales.fixed_g, scales.fixed_h] {
                    out.extend_from_slice(&f.scale.to_le_bytes());
                    out.extend_from_slice(&f.inverse.to_le_bytes());
                }
                let mut splitter = LocalSplitter::new(
                    w.codes.clone(),
                    scales,
                    &w.opts,
                    w.block.clone(),
                    &w.grad[k],
                    &w.hess[k],
                );
                let (sums, split) = splitter.root(|_| may);
                put_sums(&mut out, sums);
                put_split(&mut out, split.as_ref());
                w.tree = Some((k, splitter));
            }
            "gbt-split" => {
                let (node, left, right) = (r.u32()?, r.u32()?, r.u32()?);
                let sums = r.sums()?;
                let split = r
                    .split()?
                    .ok_or_else(|| StepError::invalid_input("gbt worker: no split"))?;
                let may = [r.u8()? != 0, r.u8()? != 0];
                let (_, splitter) = w.tree.as_mut().ok_or_else(|| {
                    StepError::invalid_input("gbt worker: gbt-split before gbt-root")
                })?;
                if split.feature >= w.n_bins.len() || node >= left || left + 1 != right {
                    return Err(StepError::invalid_input("gbt worker: bad split"));
                }
                let found = splitter.split(node, sums, &split, left, right, may);
                for f in &found {
                    put_split(&mut out, f.as_ref());
                }
            }
            "gbt-leaves" => {
                let k = r.u32()?;
                let nodes = r.0.len() / 9;
                let mut tree = Tree::default();
                for _ in 0..nodes {
                    let leaf = r.u8()? != 0;
                    tree.feature.push(if leaf { None } else { Some(0) });
                    tree.value.push(r.f64()?);
                }
                let (tk, splitter) = w.tree.take().ok_or_else(|| {
                    StepError::invalid_input("gbt worker: gbt-leaves before gbt-root")
                })?;
                if tk != k {
                    return Err(StepError::invalid_input(
                        "gbt worker: leaves of another tree",
                    ));
                }
                splitter.add_leaves(&tree, &mut w.raw[k]);
            }
            "gbt-raw" => {
                for raw in &w.raw {
                    for v in raw {
                        out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            other => {
                return Err(StepError::invalid_input(format!(
                    "gbt has no parallel task '{other}'"
                )));
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use crate::boost::{self, BoostOptions, Loss};

    /// Seeded rows large enough to spread (xorshift; a target from a few
    /// features with noise).
    fn rows(n: usize, features: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let columns: Vec<Vec<f64>> = (0..features)
            .map(|_| (0..n).map(|_| next() * 2.0 - 1.0).collect())
            .collect();
        let y = (0..n)
            .map(|i| columns[0][i] + 0.5 * columns[1][i] * columns[2][i] + 0.3 * (next() - 0.5))
            .collect();
        (columns, y)
    }

    /// The same trees and raw scores, bit for bit, on 1, 2, 3 and 7
    /// workers: binary, regression and multiclass.
    #[test]
    fn trees_do_not_depend_on_the_number_of_workers() {
        let (columns, y) = rows(super::MIN_ROWS + 123, 7);
        let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let labels: Vec<f64> = y.iter().map(|&v| f64::from(u8::from(v > 0.0))).collect();
        let classes: Vec<usize> = y
            .iter()
            .map(|&v| (v.clamp(-0.99, 0.99) * 1.5 + 1.5) as usize)
            .collect();
        let opts = BoostOptions {
            max_iter: 6,
            ..BoostOptions::default()
        };
        sluice_sdk::parallel::set_native_workers(1);
        let binary = boost::fit_scored(&refs, &labels, Loss::LogLoss, &opts);
        let regression = boost::fit_scored(&refs, &y, Loss::SquaredError, &opts);
        let multi = boost::fit_multiclass_scored(&refs, &classes, 3, &opts);
        assert!(binary.0.trees.iter().all(|t| t.leaves() > 1));
        for workers in [2, 3, 7] {
            sluice_sdk::parallel::set_native_workers(workers);
            assert_eq!(
                boost::fit_scored(&refs, &labels, Loss::LogLoss, &opts),
                binary,
                "{workers}"
            );
            assert_eq!(
                boost::fit_scored(&refs, &y, Loss::SquaredError, &opts),
                regression,
                "{workers}"
            );
            assert_eq!(
                boost::fit_multiclass_scored(&refs, &classes, 3, &opts),
                multi,
                "{workers}"
            );
        }
        sluice_sdk::parallel::set_native_workers(1);
    }

    /// A worker refuses a task before it has the rows, and a task it does
    /// not know.
    #[test]
    fn workers_refuse_what_they_cannot_do() {
        super::STATE.with(|s| s.borrow_mut().clear());
        let err = super::work("gbt-root", vec![0; 5]).unwrap_err();
        assert!(err.message.contains("before gbt-load"), "{}", err.message);
        let err = super::work("gbt-load", vec![9]).unwrap_err();
        assert!(err.message.contains("loss"), "{}", err.message);
    }
}
