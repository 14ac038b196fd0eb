//! Champion and challenger: what a version a triggered run registered
//! does next, judged against production by the model's gates.

use super::Engine;
use crate::meta::Firing;
use crate::pipeline::Plan;

impl Engine {
    /// Judge a version a triggered run registered against `production`
    /// by the model's gates (written to the audit history), then promote
    /// it or start its rollout if it passed, as the model declares; what
    /// was decided, in words.
    pub(super) async fn deploy(
        &self,
        f: &Firing,
        run_id: &str,
        registered: &crate::pipeline::executor::Registered,
        deploy: crate::pipeline::definition::Deploy,
        plan: &Plan,
    ) -> String {
        use crate::pipeline::definition::Deploy;
        let (name, version) = (registered.name.as_str(), registered.version);
        let registry = crate::registry::Registry::for_tenant(
            self.meta.clone(),
            crate::tenants::tenant_store(&self.store, &self.tenant.name),
            &self.tenant.name,
        );
        let reason = format!(
            "trigger `{}` of pipeline `{}` (firing {}), run {run_id}",
            f.trigger, f.pipeline, f.id
        );
        let rescored = self.rescore(&registry, name, version, plan).await;
        let judged = match registry
            .judge(
                name,
                version,
                PRODUCTION,
                rescored.as_ref().map_err(String::as_str),
                &reason,
                ACTOR,
            )
            .await
        {
            Ok(j) => j,
            Err(e) => return format!("{name}:{version} could not be judged: {e}"),
        };
        let champion = match (judged.champion, &judged.rescored) {
            (None, _) => "no version".to_owned(),
            (Some(v), Some(r)) => {
                format!("v{v}, measured on v{version}'s holdout of {} rows", r.rows)
            }
            (Some(v), None) => format!("v{v}"),
        };
        if !judged.passed {
            return format!(
                "{name}:{version} failed its gates against production ({champion}): {}; \
                 production left as it was",
                judged.failures()
            );
        }
        let rollout = match (deploy, judged.champion) {
            (Deploy::Rollout, Some(_)) => {
                Some(plan.model_rollouts.get(name).cloned().unwrap_or_default())
            }
            _ => None,
        };
        if let Some(spec) = rollout {
            let rollouts = crate::rollout::Rollouts {
                registry: &registry,
                runtime: &self.runtime,
                limits: self.tenant.caps.call_limits(),
            };
            return match rollouts
                .start(name, version, PRODUCTION, &spec, ACTOR)
                .await
            {
                Ok(_) => format!(
                    "{name}:{version} passed its gates against production ({champion}): \
                     rollout started"
                ),
                Err(e) => format!(
                    "{name}:{version} passed its gates against production ({champion}) but \
                     its rollout did not start: {e}"
                ),
            };
        }
        match registry
            .promote(name, version, PRODUCTION, &reason, false, ACTOR)
            .await
        {
            Ok(_) => format!(
                "{name}:{version} passed its gates against production ({champion}): promoted"
            ),
            Err(e) => format!("{name}:{version} was not promoted: {e}"),
        }
    }
}

impl Engine {
    /// The champion's numbers on the challenger `version`'s holdout, by
    /// the evaluators of the challenger's pipeline; or why there are none.
    async fn rescore(
        &self,
        registry: &crate::registry::Registry,
        name: &str,
        version: i64,
        plan: &Plan,
    ) -> Result<crate::registry::Rescored, String> {
        let champion = match registry.aliases(name).await {
            Ok(a) => a.get(PRODUCTION).copied(),
            Err(e) => return Err(e.to_string()),
        };
        let champion = match champion {
            Some(c) if c != version => c,
            _ => return Err(format!("{PRODUCTION} holds no other version")),
        };
        let (champion, challenger) = match (
            registry.version(name, champion).await,
            registry.version(name, version).await,
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(e.to_string()),
        };
        let evaluators = crate::registry::evaluators(plan, &challenger.step_id);
        registry
            .rescore(
                &self.runtime,
                &champion,
                &challenger,
                &evaluators,
                self.tenant.caps.call_limits(),
            )
            .await
            .map_err(|e| e.to_string())
    }
}

/// The alias a triggered retraining is judged against and deployed to.
const PRODUCTION: &str = "production";

/// The actor of what triggers do in the registry's audit history.
pub const ACTOR: &str = "trigger";
