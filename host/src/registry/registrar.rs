//! The registry as the executor's [`ModelRegistrar`]: a successful run's
//! models registered in its tenant's registry, by the actor of the
//! process. Not for the registry itself (see [`Registry`]).

use super::{Registry, default_actor};
use crate::pipeline::executor::{ModelRegistrar, ModelToRegister, Registered};
use futures::future::BoxFuture;

/// Registers a run's models in its tenant's registry.
pub struct RunRegistrar;

impl ModelRegistrar for RunRegistrar {
    fn register<'a>(
        &'a self,
        model: &'a ModelToRegister<'a>,
    ) -> BoxFuture<'a, Result<Registered, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            let registry =
                Registry::for_tenant(model.meta.clone(), model.artifacts.clone(), model.tenant);
            let actor = default_actor();
            let registration = registry
                .register_declared(
                    model.run_id,
                    model.step,
                    model.name,
                    model.gates,
                    super::Declared {
                        monitoring: model.monitoring,
                        rollout: model.rollout,
                    },
                    &actor,
                )
                .await?;
            let version = registration.version;
            if !registration.reused {
                for failed in crate::monitor::reference::build_references(&registry, &version).await
                {
                    tracing::warn!("monitor reference not built at registration: {failed}");
                }
            }
            if let Some(serving) = model.serving {
                registry
                    .declare_serving(model.name, serving, model.pipeline, &actor)
                    .await?;
            }
            Ok(Registered {
                name: model.name.to_owned(),
                version: version.version,
                step: model.step.to_owned(),
                reused: registration.reused,
            })
        })
    }
}
