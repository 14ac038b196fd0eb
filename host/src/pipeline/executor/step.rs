//! One step: its inputs gathered, reused or run under a slot, its calls
//! made in the sandbox, and its record finished. Not for the order of
//! steps (see [`dag`](super::dag)).

use super::*;

/// Who a step record is about.
pub(super) struct StepInfo<'a> {
    pub(super) id: &'a str,
    pub(super) kind: &'a str,
    pub(super) plugin_name: &'a str,
    pub(super) plugin_version: &'a str,
    pub(super) plugin_sha256: &'a str,
    pub(super) params_json: String,
}

impl RunCtx<'_> {
    /// Record a step as started, with its inputs.
    pub(super) async fn record_start(
        &self,
        position: i64,
        info: &StepInfo<'_>,
        inputs: &[(String, ArtifactDigest)],
    ) -> Result<(), ExecError> {
        self.meta
            .start_step(
                &self.run_id,
                info.id,
                position,
                info.kind,
                info.plugin_name,
                info.plugin_version,
                info.plugin_sha256,
                &info.params_json,
                inputs,
            )
            .await?;
        Ok(())
    }

    pub(super) async fn skip(&self, position: i64, step: &PlannedStep) -> Result<(), ExecError> {
        self.meta
            .skip_step(
                &self.run_id,
                &step.id,
                position,
                step.world().name(),
                &step.plugin.info.name,
                &step.plugin.info.version,
                &step.plugin.sha256,
                &step.params_json.to_string(),
            )
            .await?;
        Ok(())
    }

    pub(super) async fn run_step(
        &self,
        position: i64,
        step: &PlannedStep,
        observer: &dyn RunObserver,
    ) -> Result<StepReport, ExecError> {
        let run_id = self.run_id.as_str();
        let index =
            usize::try_from(position).expect("positions are small") - self.plan.datasets.len();
        let limits = self.limits[index];
        let input = lock(&self.state.tables)
            .get(step.input.name())
            .cloned()
            .expect("the plan orders inputs first");
        let mut inputs: Vec<(String, ArtifactDigest)> = vec![("train".into(), input.train.clone())];
        if let Some(h) = &input.holdout {
            inputs.push(("holdout".into(), h.clone()));
        }
        let reference = step.reference.as_ref().map(|r| {
            lock(&self.state.tables)
                .get(r.name())
                .cloned()
                .expect("planned")
        });
        if let Some(r) = &reference {
            inputs.push(("reference".into(), r.train.clone()));
        }
        let model_digest = step
            .model
            .as_ref()
            .map(|m| lock(&self.state.models).get(m).cloned().expect("planned"));
        if let Some(m) = &model_digest {
            inputs.push(("model".into(), m.clone()));
        }
        let trainer_sha256 = step.model.as_ref().map(|m| {
            self.plan
                .steps
                .iter()
                .find(|s| &s.id == m)
                .expect("planned")
                .plugin
                .sha256
                .clone()
        });
        let key = cache::step_key(step, &inputs, trainer_sha256.as_deref());
        let info = StepInfo {
            id: &step.id,
            kind: step.world().name(),
            plugin_name: &step.plugin.info.name,
            plugin_version: &step.plugin.info.version,
            plugin_sha256: &step.plugin.sha256,
            params_json: step.params_json.to_string(),
        };
        if let Some(prev) = self.reusable(&step.id, key.as_deref()).await?
            && self.adopt(step, &input, &prev.outputs)
        {
            observer.step_started(&step.id, step.world().name(), &step.plugin.label());
            let mut report = self
                .record_reuse(position, &info, &inputs, key.as_deref(), &prev)
                .await?;
            report.plugin = step.plugin.label();
            return Ok(report);
        }
        // A search takes a slot per trial call instead (see `trials`).
        let _permit = match step.search {
            None => Some(
                self.scheduler
                    .acquire(&self.tenant.name, self.tenant.caps.concurrency)
                    .await,
            ),
            Some(_) => None,
        };
        observer.step_started(&step.id, step.world().name(), &step.plugin.label());
        let started = Instant::now();
        let span = tracing::info_span!("step", step = %step.id, plugin = %step.plugin.label());
        let _enter = span.enter();
        self.record_start(position, &info, &inputs).await?;
        if let Some(grants) = self.grants.get(&step.id) {
            let grants = serde_json::to_string(grants).expect("grants serialize");
            self.meta
                .record_step_grants(run_id, &step.id, &grants)
                .await?;
        }

        let mut outputs: Vec<(String, ArtifactDigest)> = Vec::new();
        let mut metrics: BTreeMap<String, f64> = BTreeMap::new();
        let mut log = String::new();
        let outcome = self
            .execute(
                step,
                limits,
                &input,
                reference.as_ref(),
                model_digest.as_ref(),
                &mut outputs,
                &mut metrics,
                &mut log,
                observer,
            )
            .await;
        let error = match outcome {
            Ok(()) => None,
            Err(abort) => Some(abort.into_failure()?),
        };
        let report = StepReport {
            id: step.id.clone(),
            kind: step.world().name().into(),
            plugin: step.plugin.label(),
            plugin_sha256: step.plugin.sha256.clone(),
            status: if error.is_some() {
                "failed"
            } else {
                "succeeded"
            }
            .into(),
            duration_ms: started.elapsed().as_millis() as u64,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            metrics: metrics.clone(),
            cached: false,
            cached_from: None,
            error: error.clone(),
        };
        let metric_rows: Vec<(String, f64)> = metrics.into_iter().collect();
        if error.is_none()
            && let Some(k) = &key
        {
            self.meta.set_step_cache_key(run_id, &step.id, k).await?;
        }
        self.meta
            .finish_step(
                run_id,
                &step.id,
                status_of(&report),
                &outputs,
                &metric_rows,
                &log,
                error.as_deref(),
            )
            .await?;
        if let Some(e) = &error {
            tracing::warn!(error = %e, "step failed");
        }
        Ok(report)
    }

    /// Run one step's calls; [`StepAbort::Failed`] is the step's own failure.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn execute(
        &self,
        step: &PlannedStep,
        limits: StepLimits,
        input: &Parts,
        reference: Option<&Parts>,
        model: Option<&ArtifactDigest>,
        outputs: &mut Vec<(String, ArtifactDigest)>,
        metrics: &mut BTreeMap<String, f64>,
        log: &mut String,
        observer: &dyn RunObserver,
    ) -> Result<(), StepAbort> {
        let ctx = StepContext {
            step: step.id.clone(),
            limits,
            seed: step.seed,
            model: None,
            grants: self.grants.get(&step.id).cloned().unwrap_or_default(),
        };
        let target = step.target.clone();
        match step.world() {
            World::Transform => {
                // fit and apply read the same features: shared, not copied.
                let (features, label) = self.split_input(&input.train, target.as_deref()).await?;
                let fitted = {
                    let features = features.clone();
                    self.call(step, &ctx, log, move |rt, p, ctx, params| async move {
                        rt.fit_async(&p, &ctx, &features, &params).await
                    })
                }
                .await
                .failed()?;
                // Every call first, then the writes: a step that fails in
                // apply leaves no output behind, not even its fitted state.
                let fitted_state = Arc::new(fitted);
                let (applied, train_split) = self
                    .apply_part(step, &ctx, log, fitted_state.clone(), features, label)
                    .await?;
                // Encoded on another core while the holdout is applied
                // (nothing is stored before every call has succeeded).
                let train_encoded = encode(applied);
                let applied_holdout = match &input.holdout {
                    Some(h) => {
                        let (hf, hl) = self.split_input(h, target.as_deref()).await?;
                        Some(
                            self.apply_part(step, &ctx, log, fitted_state.clone(), hf, hl)
                                .await?,
                        )
                    }
                    None => None,
                };
                // Encoded beside the train part, on the core that would
                // otherwise wait for it.
                let (holdout_encoded, holdout_split) = match applied_holdout {
                    Some((batch, split)) => (Some(encode(batch)), Some(split)),
                    None => (None, None),
                };
                let state_digest = self
                    .put_blob(&step.id, fitted_state.to_vec(), "application/octet-stream")
                    .await?;
                outputs.push(("state".into(), state_digest));
                let train_out = self.put_encoded(&step.id, train_encoded.await).await?;
                outputs.push(("train".into(), train_out.clone()));
                let mut splits = vec![(train_out.clone(), train_split)];
                let mut holdout_out = None;
                if let (Some(encoded), Some(split)) = (holdout_encoded, holdout_split) {
                    let d = self.put_encoded(&step.id, encoded.await).await?;
                    outputs.push(("holdout".into(), d.clone()));
                    splits.push((d.clone(), split));
                    holdout_out = Some(d);
                }
                lock(&self.state.splits).extend(
                    splits
                        .into_iter()
                        .map(|(digest, split)| ((digest, target.clone()), split)),
                );
                lock(&self.state.tables).insert(
                    step.id.clone(),
                    Parts {
                        train: train_out,
                        holdout: holdout_out,
                    },
                );
            }
            World::Trainer => {
                let mut params = step.params.clone();
                let mut _permit = None;
                if let Some(search) = &step.search {
                    let train_batch = self.batch(&input.train).await?;
                    let found = self
                        .run_search(step, search, &ctx, &train_batch, log, observer)
                        .await?;
                    params = search.trials[found.best].params.clone();
                    metrics.extend(found.metrics(search));
                    let d = self.put_json(&step.id, &found.report(search)).await?;
                    outputs.push(("search".into(), d));
                    // The final fit takes a slot like any step.
                    _permit = Some(
                        self.scheduler
                            .acquire(&self.tenant.name, self.tenant.caps.concurrency)
                            .await,
                    );
                }
                let (features, label) = self.split_input(&input.train, target.as_deref()).await?;
                let label = label.ok_or("the input has no target column").failed()?;
                let trained = self
                    .call_with(
                        step,
                        &ctx,
                        params,
                        log,
                        move |rt, p, ctx, params| async move {
                            rt.train_async(&p, &ctx, &features, &label, &params).await
                        },
                    )
                    .await
                    .failed()?;
                for m in &trained.metrics {
                    metrics.insert(m.name.clone(), m.value);
                }
                let model_bytes = Arc::new(trained.model);
                let d = self
                    .put_blob(
                        &step.id,
                        model_bytes.to_vec(),
                        "application/vnd.sluice.model",
                    )
                    .await?;
                outputs.push(("model".into(), d.clone()));
                lock(&self.state.models).insert(step.id.clone(), d);
                if let Some(h) = &input.holdout {
                    // Predictions for the holdout, kept so serving can be
                    // checked against training bit for bit.
                    let (hf, _) = self.split_input(h, target.as_deref()).await?;
                    let predicted = {
                        let m = model_bytes.clone();
                        self.call(step, &ctx, log, move |rt, p, ctx, _| async move {
                            rt.predict_async(&p, &ctx, &m, &hf).await
                        })
                    }
                    .await
                    .failed()?;
                    let batch = data::table_to_batch(predicted)
                        .map_err(|e| format!("predict returned an invalid table: {e}"))
                        .failed()?;
                    let d = self.put_batch(&step.id, batch).await?;
                    outputs.push(("predictions".into(), d));
                }
            }
            World::Validator | World::Explainer => {
                let part = match step.on {
                    Part::Train => input.train.clone(),
                    Part::Holdout => input
                        .holdout
                        .clone()
                        .ok_or("the input has no holdout part")
                        .failed()?,
                };
                let mut ctx = ctx.clone();
                if let (Some(m), Some(trainer_step)) = (model, &step.model) {
                    let bytes = self.blob(m).await?;
                    let trainer = self
                        .plan
                        .steps
                        .iter()
                        .find(|s| &s.id == trainer_step)
                        .expect("planned")
                        .plugin
                        .clone();
                    ctx.model = Some(ModelBinding {
                        trainer,
                        model: Arc::new(bytes.to_vec()),
                        limits,
                        helpers: Some(
                            self.scheduler
                                .helper_slots(&self.tenant.name, self.tenant.caps.concurrency),
                        ),
                    });
                }
                if step.world() == World::Validator {
                    // A validator gets the whole table, the target too.
                    let table = self.batch(&part).await?;
                    let table = data::batch_to_table(&table).failed()?;
                    let reference = match reference {
                        Some(r) => {
                            let b = self.batch(&r.train).await?;
                            Some(data::batch_to_table(&b).failed()?)
                        }
                        None => None,
                    };
                    let report = self
                        .call(step, &ctx, log, move |rt, p, ctx, params| async move {
                            rt.validate_async(&p, &ctx, &table, reference.as_ref(), &params)
                                .await
                        })
                        .await
                        .failed()?;
                    for m in &report.metrics {
                        metrics.insert(m.name.clone(), m.value);
                    }
                    let json = serde_json::json!({
                        "checks": report.checks.iter().map(|c| serde_json::json!({"name": c.name, "passed": c.passed, "detail": c.detail})).collect::<Vec<_>>(),
                        "metrics": report.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
                    });
                    let d = self.put_json(&step.id, &json).await?;
                    outputs.push(("report".into(), d));
                    // A validator passes its input on unchanged.
                    lock(&self.state.tables).insert(step.id.clone(), input.clone());
                    let failed: Vec<String> = report
                        .checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| format!("{} ({})", c.name, c.detail))
                        .collect();
                    if !failed.is_empty() {
                        return Err(StepAbort::Failed(format!(
                            "step '{}': {} check(s) failed: {}",
                            step.id,
                            failed.len(),
                            failed.join("; ")
                        )));
                    }
                } else {
                    let (features, label) = self.split_input(&part, target.as_deref()).await?;
                    let explanation = self
                        .call(step, &ctx, log, move |rt, p, ctx, params| async move {
                            rt.explain_async(&p, &ctx, &features, label.as_deref(), &params)
                                .await
                        })
                        .await
                        .failed()?;
                    for m in &explanation.metrics {
                        metrics.insert(m.name.clone(), m.value);
                    }
                    let json = serde_json::json!({
                        "global": explanation.global.iter().map(|a| serde_json::json!({"feature": a.feature, "score": a.score})).collect::<Vec<_>>(),
                        "metrics": explanation.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
                    });
                    let d = self.put_json(&step.id, &json).await?;
                    outputs.push(("explanation".into(), d));
                }
            }
        }
        Ok(())
    }

    /// Apply the fitted state to `features`; the batch of the result with
    /// `label` put back after it, and the result as the next step gets it
    /// (normalized, see [`data::normalize`]), whose values the batch shares.
    pub(super) async fn apply_part(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        log: &mut String,
        fitted: Arc<Vec<u8>>,
        features: Arc<wit::Table>,
        label: Option<Arc<wit::Column>>,
    ) -> Result<(RecordBatch, Split), StepAbort> {
        let mut table = self
            .call(step, ctx, log, move |rt, p, ctx, _| async move {
                rt.apply_async(&p, &ctx, &fitted, &features).await
            })
            .await
            .failed()?;
        if let Some(label) = &label
            && table.columns.iter().any(|c| c.name == label.name)
        {
            return Err(StepAbort::Failed(format!(
                "step '{}': apply returned a column named like the target '{}'",
                step.id, label.name
            )));
        }
        data::normalize(&mut table);
        let table = Arc::new(table);
        let batch = data::shared_batch(&table, label.as_ref())
            .map_err(|e| format!("step '{}': apply returned an invalid table: {e}", step.id))
            .failed()?;
        Ok((batch, (table, label)))
    }

    /// Run a sandboxed call as a task of its own on the async runtime (the
    /// call yields at every epoch tick, so it holds no worker thread for
    /// long); a failure (or even a panic of the host code around it)
    /// becomes the step's error message.
    pub(super) async fn call<T, F>(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        log: &mut String,
        f: impl FnOnce(Runtime, Arc<Plugin>, StepContext, Vec<wit::Param>) -> F,
    ) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = Result<StepOutput<T>, StepFailure>> + Send + 'static,
    {
        self.call_with(step, ctx, step.params.clone(), log, f).await
    }

    /// [`call`](Self::call) with params other than the step's own (a
    /// search trial's).
    pub(super) async fn call_with<T, F>(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        params: Vec<wit::Param>,
        log: &mut String,
        f: impl FnOnce(Runtime, Arc<Plugin>, StepContext, Vec<wit::Param>) -> F,
    ) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = Result<StepOutput<T>, StepFailure>> + Send + 'static,
    {
        let (rt, plugin, ctx) = ((*self.runtime).clone(), step.plugin.clone(), ctx.clone());
        match tokio::spawn(f(rt, plugin, ctx, params)).await {
            Ok(Ok(out)) => {
                log.push_str(&out.log);
                Ok(out.value)
            }
            Ok(Err(failure)) => {
                log.push_str(&failure.log);
                Err(failure.to_string())
            }
            Err(join) => Err(format!(
                "step '{}': the host failed while running it: {join}",
                step.id
            )),
        }
    }
}
