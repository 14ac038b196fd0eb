//! The neighbour search spread over the step's workers
//! ([`sluice_sdk::parallel`]): every worker gets the training rows once
//! (again only when they change: a model session predicts many times),
//! then a contiguous share of the queries, and answers each query's
//! neighbours. A query's neighbours do not depend on the others, so the
//! answers put back in order are the one-core search's, bit for bit.
//!
//! Worker tasks: `knn-points` (the training rows), `knn-nearest` (some
//! queries).

use crate::Knn;
use crate::search::nearest_many;
use sluice_sdk::{StepError, parallel};
use std::cell::{Cell, RefCell};

/// Searches with fewer distance terms (training rows x queries x
/// features) stay on one core.
pub const MIN_TERMS: usize = 20_000_000;

/// A worker's training rows, row-major, and their width.
type Points = Option<(Vec<f64>, usize)>;

thread_local! {
    /// Per worker (one in Wasm; as many as emulated natively).
    static POINTS: RefCell<Vec<Points>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// In the calling instance: a fingerprint of the training rows its
    /// workers hold, and how many workers, so that the predictions of a
    /// model session (one per explainer request) send the rows once.
    static SENT: Cell<Option<(u64, usize)>> = const { Cell::new(None) };
}

/// FNV-1a over the rows' bits, their width and their count.
fn fingerprint(points: &[f64], d: usize) -> u64 {
    let start = 0xcbf2_9ce4_8422_2325 ^ (d as u64) ^ ((points.len() as u64) << 32);
    points.iter().fold(start, |h, v| {
        (h ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn f64s(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

fn malformed(task: &str) -> StepError {
    StepError::invalid_input(format!("knn worker task '{task}': malformed input"))
}

/// [`nearest_many`], on the step's workers when there are more than one
/// and the search is large.
pub fn nearest(points: &[f64], d: usize, queries: &[f64], k: usize) -> Vec<Vec<(usize, f64)>> {
    let workers = parallel::workers();
    if workers < 2 || points.len().saturating_mul(queries.len() / d.max(1)) < MIN_TERMS {
        return nearest_many(points, d, queries, k);
    }
    match spread(points, d, queries, k, workers) {
        Ok(found) => found,
        Err(e) => {
            SENT.set(None);
            sluice_sdk::log::warn(format!(
                "the neighbour search stays on one core: {}",
                e.message
            ));
            nearest_many(points, d, queries, k)
        }
    }
}

fn spread(
    points: &[f64],
    d: usize,
    queries: &[f64],
    k: usize,
    workers: usize,
) -> Result<Vec<Vec<(usize, f64)>>, StepError> {
    let sent = (fingerprint(points, d), workers);
    if SENT.get() != Some(sent) {
        let mut load = (d as u32).to_le_bytes().to_vec();
        load.extend(points.iter().flat_map(|v| v.to_le_bytes()));
        parallel::spread::<Knn>("knn-points", vec![load; workers])?;
        SENT.set(Some(sent));
    }
    let rows = queries.len() / d;
    let share = rows.div_ceil(workers) * d;
    let inputs = queries
        .chunks(share.max(d))
        .map(|chunk| {
            let mut input = (k as u32).to_le_bytes().to_vec();
            input.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
            input
        })
        .collect();
    let mut found = Vec::with_capacity(rows);
    for out in parallel::spread::<Knn>("knn-nearest", inputs)? {
        let mut at = 0;
        while at < out.len() {
            let count = u32::from_le_bytes(out[at..at + 4].try_into().expect("4 bytes")) as usize;
            at += 4;
            let mut neighbours = Vec::with_capacity(count);
            for _ in 0..count {
                let b = out
                    .get(at..at + 12)
                    .ok_or_else(|| malformed("knn-nearest"))?;
                let row = u32::from_le_bytes(b[..4].try_into().expect("4 bytes")) as usize;
                let distance = f64::from_le_bytes(b[4..].try_into().expect("8 bytes"));
                neighbours.push((row, distance));
                at += 12;
            }
            found.push(neighbours);
        }
    }
    if found.len() != rows {
        return Err(malformed("knn-nearest"));
    }
    sluice_sdk::log::info(format!(
        "the neighbours of {rows} rows were found by {workers} workers"
    ));
    Ok(found)
}

/// A worker's side of the tasks above.
pub fn work(task: &str, input: Vec<u8>) -> Result<Vec<u8>, StepError> {
    POINTS.with(|points| {
        let mut points = points.borrow_mut();
        let index = parallel::worker_index();
        if points.len() <= index {
            points.resize_with(index + 1, || None);
        }
        match task {
            "knn-points" => {
                let d = input
                    .get(..4)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
                    .filter(|&d| d > 0 && (input.len() - 4).is_multiple_of(8 * d))
                    .ok_or_else(|| malformed(task))?;
                points[index] = Some((f64s(&input[4..]), d));
                Ok(Vec::new())
            }
            "knn-nearest" => {
                let (points, d) = points[index].as_ref().ok_or_else(|| malformed(task))?;
                let k = input
                    .get(..4)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
                    .ok_or_else(|| malformed(task))?;
                let queries = f64s(&input[4..]);
                if !queries.len().is_multiple_of(*d) {
                    return Err(malformed(task));
                }
                let mut out = Vec::new();
                for found in nearest_many(points, *d, &queries, k) {
                    out.extend_from_slice(&(found.len() as u32).to_le_bytes());
                    for (row, distance) in found {
                        out.extend_from_slice(&(row as u32).to_le_bytes());
                        out.extend_from_slice(&distance.to_le_bytes());
                    }
                }
                Ok(out)
            }
            other => Err(StepError::invalid_input(format!(
                "knn has no parallel task '{other}'"
            ))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same neighbours on 1, 2, 3 and 8 emulated workers, over a search
    /// large enough to spread (with duplicate rows: exact ties).
    #[test]
    fn the_neighbours_do_not_depend_on_the_number_of_workers() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 1000) as f64 / 100.0
        };
        let (rows, d, queries) = (4000, 10, 600);
        let mut points: Vec<f64> = (0..rows * d).map(|_| next()).collect();
        let first = points[..d].to_vec();
        points[d..2 * d].copy_from_slice(&first);
        let queries: Vec<f64> = (0..queries * d).map(|_| next()).collect();
        assert!(rows * d * 600 >= MIN_TERMS);
        parallel::set_native_workers(1);
        let alone = nearest(&points, d, &queries, 5);
        for workers in [2, 3, 8] {
            parallel::set_native_workers(workers);
            assert_eq!(nearest(&points, d, &queries, 5), alone, "{workers} workers");
        }
        parallel::set_native_workers(1);
        assert_eq!(alone, nearest_many(&points, d, &queries, 5));
    }

    #[test]
    fn workers_refuse_queries_before_points() {
        POINTS.with(|p| p.borrow_mut().clear());
        let err = work("knn-nearest", 5u32.to_le_bytes().to_vec()).unwrap_err();
        assert!(err.message.contains("knn-nearest"), "{}", err.message);
    }
}
