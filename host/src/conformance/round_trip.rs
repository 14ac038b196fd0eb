//! The `round-trip` and `deterministic` checks: fit then apply (or train
//! then predict) gives one row per input row, and the same input twice
//! gives the same output bytes.

use super::{FitAndUse, Outcome, Suite, tables};
use crate::runtime::World;

impl Suite<'_> {
    pub(super) async fn transform_round_trip(&mut self) {
        self.fit_then_second("fit", "apply").await;
    }

    pub(super) async fn trainer_round_trip(&mut self) {
        self.fit_then_second("train", "predict").await;
    }

    pub(super) async fn fit_then_second(&mut self, first: &str, second: &str) {
        let params = self.params_for_calls();
        let table = self.table();
        let mut runs: Vec<FitAndUse> = Vec::with_capacity(2);
        for _ in 0..2 {
            let state = self.fitted("deterministic", &table, &params).await;
            let out = match &state {
                Some(s) => Some(self.second("deterministic", s, &table).await),
                None => None,
            };
            runs.push((state, out));
        }
        let (state, out) = &runs[0];
        let (Some(state), Some(out)) = (state, out) else {
            self.record(
                "round-trip",
                false,
                format!("{first} on the suite's table failed"),
            );
            self.record("deterministic", false, format!("{first} failed"));
            return;
        };
        match out {
            Outcome::Ok(_) => {
                let want = tables::num_rows(&table);
                let rows = self.second_rows(state, &table).await;
                self.record(
                    "round-trip",
                    rows == Some(want),
                    format!(
                        "{first} then {second}: {} rows out for {want} rows in",
                        rows.map_or("no".to_string(), |r| r.to_string())
                    ),
                );
            }
            other => self.record(
                "round-trip",
                false,
                format!("{second}: {}", other.describe()),
            ),
        }
        if self.plugin.world == World::Trainer {
            self.holding(state).await;
        }
        let same_state = runs[1].0.as_ref() == Some(state);
        let same_out = matches!((&runs[0].1, &runs[1].1), (Some(Outcome::Ok(a)), Some(Outcome::Ok(b))) if a == b);
        self.record(
            "deterministic",
            same_state && same_out,
            format!(
                "{first} twice: {} bytes, {}; {second} twice: {}",
                state.len(),
                if same_state { "identical" } else { "different" },
                if same_out { "identical" } else { "different" }
            ),
        );
    }

    pub(super) async fn deterministic_entry(&mut self) {
        let params = self.params_for_calls();
        let table = self.table();
        let a = self.entry("deterministic", &table, &params).await;
        let b = self.entry("deterministic", &table, &params).await;
        let what = self.plugin.world.first_call();
        match (&a, &b) {
            (Outcome::Broken(e), _) | (_, Outcome::Broken(e)) => {
                self.record("deterministic", false, format!("{what}: {e}"))
            }
            _ => {
                let same = match (&a, &b) {
                    (Outcome::Ok(x), Outcome::Ok(y)) => x == y,
                    (
                        Outcome::StepError { message: x, .. },
                        Outcome::StepError { message: y, .. },
                    ) => x == y,
                    _ => false,
                };
                self.record(
                    "deterministic",
                    same,
                    format!(
                        "{what} twice: {} ({})",
                        if same { "identical" } else { "different" },
                        a.describe()
                    ),
                )
            }
        }
    }
}
