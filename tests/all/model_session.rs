//! The model calls of one explainer call share one trainer instance (a
//! model session, `host/src/runtime/call/session.rs`); each call still runs with
//! the trainer's own limits, and the results are those of a fresh instance
//! per call.

use crate::hostile_corpus::cancer;
use crate::support::*;
use sluice::runtime::{ModelBinding, Plugin, Runtime, StepContext, StepFailureKind, StepLimits};
use sluice::wit;
use std::sync::Arc;

fn params(n_repeats: i64) -> Vec<wit::Param> {
    vec![
        wit::Param {
            name: "n_repeats".into(),
            value: wit::ParamValue::Integer(n_repeats),
        },
        wit::Param {
            name: "seed".into(),
            value: wit::ParamValue::Integer(5),
        },
    ]
}

/// Trainer `name`, loaded, and its model trained on the cancer data.
pub(crate) fn trained(rt: &Runtime, name: &str) -> (Arc<Plugin>, Arc<Vec<u8>>) {
    let trainer = rt.load(&plugin(name)).unwrap();
    let (features, target) = cancer();
    let ctx = StepContext::new("train", StepLimits::default(), 3);
    let model = block_on(rt.train(&trainer, &ctx, features, target, &[]))
        .unwrap()
        .value
        .model;
    (trainer, Arc::new(model))
}

#[test]
fn every_model_call_of_a_session_gets_the_whole_fuel_budget() {
    let rt = shared_runtime();
    let (trainer, model) = trained(rt, "logreg");
    let explainer = rt.load(&plugin("permutation_importance")).unwrap();
    let (features, target) = cancer();

    // What one call in a fresh instance spends (instantiation included).
    let metered = StepLimits {
        fuel: Some(10_000_000_000),
        ..StepLimits::default()
    };
    let one = block_on(rt.predict(
        &trainer,
        &StepContext::new("one", metered, 3),
        &model,
        features,
    ))
    .unwrap()
    .fuel_used
    .unwrap();
    assert!(one > 0);

    let explain = |fuel: Option<u64>| {
        let limits = StepLimits {
            fuel,
            ..StepLimits::default()
        };
        let ctx = bound("session-explain", &trainer, &model, limits, None);
        block_on(rt.explain(&explainer, &ctx, features, Some(target), &params(3)))
    };
    // 1 + 30 features x 3 repeats = 91 calls, each within twice the budget
    // of one call, all together far beyond it: the budget is per call.
    let unmetered = explain(None).unwrap().value;
    let budgeted = explain(Some(2 * one)).unwrap().value;
    assert_eq!(format!("{budgeted:?}"), format!("{unmetered:?}"));
    assert_eq!(unmetered.global.len(), features.columns.len());
    assert!(unmetered.global[0].score > 0.0, "{:?}", unmetered.global);

    // A budget too small for one call still stops every call.
    let failed = explain(Some(one / 4)).unwrap_err();
    match &failed.kind {
        StepFailureKind::Guest { message, .. } => {
            assert!(message.contains("fuel"), "{message}")
        }
        other => panic!("expected the explainer to fail on its model call: {other:?}"),
    }
}

/// `hold` and `predict-replacing` answer exactly as `predict` on the
/// replaced table, whether the trainer holds the table itself (`holding`:
/// logreg, and gbt through the SDK's default) or the host holds it for a
/// trainer without that export (the Python one); a bad request is the
/// explainer's error, named, and the session goes on.
#[test]
fn predict_replacing_answers_as_predict_with_or_without_holding() {
    let rt = shared_runtime();
    let probe = rt.load(&plugin("hostile_model")).unwrap();
    let (features, _) = cancer();
    let rows = match &features.columns[0].values {
        wit::Values::F64s(v) => v.len(),
        other => panic!("cancer's first column is f64: {other:?}"),
    };
    for (name, holds) in [("logreg", true), ("gbt", true), ("py_naive_bayes", false)] {
        let (trainer, model) = trained(rt, name);
        assert_eq!(trainer.exports_holding(), holds, "{name}");
        let ctx = bound("probe", &trainer, &model, StepLimits::default(), None);
        let params = probe_mode("replacing");
        let out = block_on(rt.explain(&probe, &ctx, features, None, &params))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .value;
        let compared = compared(&out);
        assert_eq!(compared, Some(6.0), "{name}");
        let errors: Vec<&str> = out.global.iter().map(|a| a.feature.as_str()).collect();
        let first = &features.columns[0].name;
        let expected = [
            "predict-replacing: no table is held".to_string(),
            "predict-replacing: column 'no-such-column' is not in the held table".to_string(),
            format!(
                "predict-replacing: column '{first}' has {} rows, the held table has {rows}",
                rows + 1
            ),
            format!("predict-replacing: column '{first}' is given twice"),
            format!(
                "request {}: predict-replacing: column 'no-such-column' is not in the held table",
                features.columns.len() - 1
            ),
        ];
        assert_eq!(errors.len(), expected.len(), "{name}: {errors:?}");
        for (got, want) in errors.iter().zip(&expected) {
            assert!(
                got.starts_with(want.as_str()),
                "{name}: {got:?} vs {want:?}"
            );
        }
    }
}

/// `predict-each` permutes held columns in the host exactly as the SDK's
/// `random::shuffled`, answers with the outputs asked for (in their
/// order), and names the request that is wrong; for trainers that hold
/// the table themselves (logreg answers `prediction` alone without
/// probabilities; gbt through the SDK's default) and for one the host
/// holds it for (Python), with spare instances and without.
#[test]
fn predict_each_permutes_and_answers_the_outputs_asked_for() {
    let rt = shared_runtime();
    let probe = rt.load(&plugin("hostile_model")).unwrap();
    let (features, target) = cancer();
    let n = features.columns.len();
    let first = &features.columns[0].name;
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for name in ["logreg", "gbt", "py_naive_bayes"] {
        let (trainer, model) = trained(rt, name);
        for slots in [false, true] {
            let spare_sessions: Option<sluice::runtime::SpareSessionSlots> = slots.then(|| {
                Arc::new(|| Some(Box::new(()) as Box<dyn Send>))
                    as sluice::runtime::SpareSessionSlots
            });
            let ctx = bound(
                "probe",
                &trainer,
                &model,
                StepLimits::default(),
                spare_sessions,
            );
            let params = probe_mode("each");
            let out = tokio_rt
                .block_on(rt.explain(&probe, &ctx, features, Some(target), &params))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .value;
            let compared = compared(&out);
            assert_eq!(compared, Some((3 * n + 1) as f64), "{name}, slots {slots}");
            let errors: Vec<&str> = out.global.iter().map(|a| a.feature.as_str()).collect();
            // The host's own checks, then an output the model lacks
            // (found by a trainer that holds the table: its error names it).
            let expected = [
                "predict-each: column 'no-such-column' to permute is not in the held table"
                    .to_string(),
                format!("predict-each: column '{first}' is given twice"),
                format!("predict-each: column '{first}' is given twice"),
                "output 'prediction' is asked for twice".to_string(),
                "the model's predictions have no column 'no-such-output'; they have: ".to_string(),
            ];
            assert_eq!(errors.len(), expected.len(), "{name}: {errors:?}");
            for (got, want) in errors.iter().zip(&expected) {
                assert!(
                    got.starts_with("request 0: ") && got.contains(want.as_str()),
                    "{name}: {got:?} vs {want:?}"
                );
            }
        }
    }
}

/// `predict-replacing-each` runs its requests in spare trainer instances
/// when the binding hands out slots (and in one instance when it hands out
/// none), with the same answers: permutation importance comes out the same
/// bytes, and the probe's checks pass.
#[test]
fn predict_replacing_each_uses_the_slots_it_is_given() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let rt = shared_runtime();
    let (trainer, model) = trained(rt, "logreg");
    let explainer = rt.load(&plugin("permutation_importance")).unwrap();
    let probe = rt.load(&plugin("hostile_model")).unwrap();
    let (features, target) = cancer();
    let granted = Arc::new(AtomicUsize::new(0));
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = |plugin: &sluice::runtime::Plugin, params: &[wit::Param], slots: bool| {
        let counter = granted.clone();
        let spare_sessions: Option<sluice::runtime::SpareSessionSlots> = slots.then(|| {
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                Some(Box::new(()) as Box<dyn Send>)
            }) as sluice::runtime::SpareSessionSlots
        });
        let ctx = bound(
            "each",
            &trainer,
            &model,
            StepLimits::default(),
            spare_sessions,
        );
        tokio_rt
            .block_on(rt.explain(plugin, &ctx, features, Some(target), params))
            .map(|o| o.value)
    };
    let alone = run(&explainer, &params(3), false).unwrap();
    assert_eq!(granted.load(Ordering::SeqCst), 0);
    let helped = run(&explainer, &params(3), true).unwrap();
    assert!(granted.load(Ordering::SeqCst) > 0, "no slot was asked for");
    assert_eq!(format!("{helped:?}"), format!("{alone:?}"));
    assert!(alone.global[0].score > 0.0, "{:?}", alone.global);

    let probe_params = probe_mode("replacing");
    let out = run(&probe, &probe_params, true).unwrap();
    let compared = compared(&out);
    assert_eq!(compared, Some(6.0));
}

/// The hostile-model probe's params for `mode`.
fn probe_mode(mode: &str) -> [wit::Param; 1] {
    [wit::Param {
        name: "mode".into(),
        value: wit::ParamValue::Text(mode.into()),
    }]
}

/// The probe's metric `compared`: how many answers it compared.
fn compared(out: &wit::Explanation) -> Option<f64> {
    out.metrics
        .iter()
        .find(|m| m.name == "compared")
        .map(|m| m.value)
}

/// A step context (seed 9) whose `model` import calls `trainer` with
/// `model`, under `limits`, with `spare_sessions` for spare model sessions.
pub(crate) fn bound(
    step: &str,
    trainer: &Arc<Plugin>,
    model: &Arc<Vec<u8>>,
    limits: StepLimits,
    spare_sessions: Option<sluice::runtime::SpareSessionSlots>,
) -> StepContext {
    let mut ctx = StepContext::new(step, StepLimits::default(), 9);
    ctx.model = Some(ModelBinding {
        trainer: trainer.clone(),
        model: model.clone(),
        limits,
        spare_sessions,
    });
    ctx
}
