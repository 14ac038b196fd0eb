//! Which version answers a request, and the versions ready to answer.
//!
//! A request names a model as `NAME` (routed by the model's traffic
//! policy, else to its `production` alias), `NAME@ALIAS` or
//! `NAME:VERSION`, or with the Open Inference Protocol's `/versions/{v}`
//! (a number or an alias). Policies and aliases are resolved from tables
//! kept in memory, never from the database on a request's way: a
//! background task reads every served model's policy and aliases again
//! every [`ServeOptions::refresh`](super::ServeOptions::refresh), so a
//! promotion, rollback or route change made by another process takes
//! effect within that time. The versions an alias or route moves to are
//! loaded (plugins compiled, states and model read) before the switch, so
//! they never take traffic cold; requests already answering keep the
//! version they started with.

use super::batch::{BatchOptions, Batcher};
use super::error::ApiError;
use crate::registry::{
    Arm, ModelSpec, PreparedModel, Registry, RegistryError, ServingPolicy, check_model_name,
};
use crate::runtime::Runtime;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::OnceCell;

/// The alias a bare model name means.
pub const DEFAULT_ALIAS: &str = "production";

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A bare model name: the arm its traffic policy picks, else its
    /// `production` alias.
    Model {
        /// The model.
        name: String,
    },
    /// A model's alias.
    Alias {
        /// The model.
        name: String,
        /// The alias (`production` for a bare name).
        alias: String,
    },
    /// A model's version.
    Version {
        /// The model.
        name: String,
        /// The version number.
        version: i64,
    },
}

impl Target {
    /// The target of a model segment (`NAME`, `NAME@ALIAS`, `NAME:V`) and
    /// an optional version segment (`3`, `v3` or an alias). A name that
    /// breaks the naming rule is not found, as any unknown model is.
    pub fn parse(model: &str, version: Option<&str>) -> Result<Target, ApiError> {
        let not_found = || ApiError::not_found(format!("no model `{model}`"));
        let spec = ModelSpec::parse(model).map_err(|_| not_found())?;
        let name = spec.name().to_owned();
        check_model_name(&name).map_err(|_| not_found())?;
        let target = match (spec, version) {
            (ModelSpec::Latest(_), None) => Target::Model { name },
            (ModelSpec::Latest(_), Some(v)) => match v.trim_start_matches('v').parse() {
                Ok(version) => Target::Version { name, version },
                Err(_) => Target::Alias {
                    name,
                    alias: v.to_owned(),
                },
            },
            (ModelSpec::Alias(_, alias), None) => Target::Alias { name, alias },
            (ModelSpec::Version(_, version), None) => Target::Version { name, version },
            (_, Some(_)) => {
                return Err(ApiError::bad_request(format!(
                    "`{model}` names a version or alias already: give /versions/ only with a bare model name"
                )));
            }
        };
        Ok(target)
    }

    /// The variant label of what this asks for: the alias, or `vN`.
    pub fn variant(&self) -> String {
        match self {
            Target::Model { .. } => DEFAULT_ALIAS.to_owned(),
            Target::Alias { alias, .. } => alias.clone(),
            Target::Version { version, .. } => format!("v{version}"),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Model { name } | Target::Alias { name, .. } | Target::Version { name, .. } => {
                name
            }
        }
    }
}

type Slot = Arc<OnceCell<Arc<PreparedModel>>>;

/// Columns by (name, type).
type Columns = Arc<Vec<(String, String)>>;

/// What a bare model name routes by, as read from the registry: the
/// model's traffic policy, and the aliases and versions its arms may name.
#[derive(Debug, PartialEq)]
pub struct Routing {
    /// The policy, if the model has one.
    pub policy: Option<Arc<ServingPolicy>>,
    aliases: BTreeMap<String, i64>,
    versions: Vec<i64>,
}

/// Where a routed request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// The version that answers.
    pub version: i64,
    /// The arm that chose it.
    pub variant: String,
    /// The version that also answers, as a shadow, if the request is
    /// mirrored.
    pub mirror: Option<i64>,
}

impl Routing {
    /// The version `arm` names now, if it exists.
    fn version_of(&self, arm: &str) -> Option<i64> {
        match Arm::parse(arm).ok()? {
            Arm::Alias(a) => self.aliases.get(&a).copied(),
            Arm::Version(v) => self.versions.contains(&v).then_some(v),
        }
    }

    /// The versions requests may go to now (the arms with weight, the
    /// mirror), to load before the routing takes traffic.
    pub fn targets(&self) -> Vec<i64> {
        let mut arms: Vec<&str> = match self.policy.as_deref() {
            Some(p) if !p.split.is_empty() => p.arms().into_iter().map(|(a, _)| a).collect(),
            _ => vec![DEFAULT_ALIAS],
        };
        arms.extend(
            self.policy
                .as_deref()
                .and_then(|p| p.mirror.as_ref())
                .map(|m| m.to.as_str()),
        );
        let mut versions: Vec<i64> = arms.iter().filter_map(|a| self.version_of(a)).collect();
        versions.sort_unstable();
        versions.dedup();
        versions
    }

    /// The version the bare name stands for where no request picks one
    /// (metadata, readiness; reading a request before its key is known):
    /// the heaviest arm that exists (the first by name among equals), else
    /// `production`.
    pub fn primary(&self, name: &str) -> Result<i64, ApiError> {
        let heaviest = self.policy.as_deref().and_then(|p| {
            p.arms()
                .into_iter()
                .filter_map(|(a, w)| Some((self.version_of(a)?, w)))
                .fold(None, |best: Option<(i64, f64)>, (v, w)| match best {
                    Some((_, bw)) if bw >= w => best,
                    _ => Some((v, w)),
                })
        });
        match heaviest {
            Some((v, _)) => Ok(v),
            None => self.pick(name, Some("")).map(|p| p.version),
        }
    }

    /// Where a request for `name` with sticky `key` goes.
    pub fn pick(&self, name: &str, key: Option<&str>) -> Result<Pick, ApiError> {
        let policy = self.policy.as_deref();
        let (variant, version) = match policy {
            Some(p) if !p.split.is_empty() => {
                let arm = p
                    .choose(name, key, |a| self.version_of(a).is_some())
                    .ok_or_else(|| {
                        ApiError::not_found(format!(
                            "none of the arms of model `{name}`'s route exists now ({}): \
                             promote versions to them or change the route \
                             (`sluice models route {name} --split ...`)",
                            p.summary()
                        ))
                    })?;
                let version = self.version_of(arm).expect("chosen among existing arms");
                (arm.to_owned(), version)
            }
            _ => {
                let version = self
                    .aliases
                    .get(DEFAULT_ALIAS)
                    .copied()
                    .ok_or_else(|| no_alias(name, DEFAULT_ALIAS))?;
                (DEFAULT_ALIAS.to_owned(), version)
            }
        };
        let mirror = policy
            .filter(|p| p.mirrors(name, key))
            .and_then(|p| p.mirror.as_ref())
            .and_then(|m| self.version_of(&m.to))
            .filter(|&m| m != version);
        Ok(Pick {
            version,
            variant,
            mirror,
        })
    }
}

/// The error for a model without `alias`.
fn no_alias(name: &str, alias: &str) -> ApiError {
    ApiError::not_found(format!(
        "model `{name}` has no alias `{alias}`{}",
        if alias == DEFAULT_ALIAS {
            format!(
                ": promote a version (`sluice models promote {name} N --to {DEFAULT_ALIAS}`) \
                 or ask for {name}@ALIAS or /versions/N"
            )
        } else {
            String::new()
        }
    ))
}

/// `name`'s routing as the registry has it now.
async fn read_routing(registry: &Registry, name: &str) -> Result<Routing, RegistryError> {
    let policy = registry.serving(name).await?;
    Ok(Routing {
        policy: policy.map(Arc::new),
        aliases: registry.aliases(name).await?,
        versions: registry.versions(name).await?,
    })
}

/// The versions loaded and the aliases and routes resolved.
#[derive(Default)]
pub struct Models {
    prepared: Mutex<HashMap<(String, i64), Slot>>,
    aliases: RwLock<HashMap<(String, String), i64>>,
    routes: RwLock<HashMap<String, Arc<Routing>>>,
    batchers: Mutex<HashMap<(String, i64), Arc<Batcher>>>,
    outputs: Mutex<HashMap<(String, i64), Columns>>,
    /// Each version's monitor (a version's never changes).
    monitors: Mutex<HashMap<(String, i64), Option<crate::monitor::MonitorSpec>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Models {
    /// The version `target` means now, ready to predict.
    pub async fn get(
        &self,
        registry: &Registry,
        runtime: &Runtime,
        target: &Target,
    ) -> Result<Arc<PreparedModel>, ApiError> {
        let (name, version) = match target {
            Target::Model { name } => {
                let version = self.routing(registry, name).await?.primary(name)?;
                (name, version)
            }
            Target::Version { name, version } => (name, *version),
            Target::Alias { name, alias } => {
                let known = self
                    .aliases
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&(name.clone(), alias.clone()))
                    .copied();
                let version = match known {
                    Some(v) => v,
                    None => self.resolve_alias(registry, name, alias).await?,
                };
                (name, version)
            }
        };
        self.prepared(registry, runtime, name, version).await
    }

    /// The version `alias` of `name` points at in the registry,
    /// remembered for the next requests.
    async fn resolve_alias(
        &self,
        registry: &Registry,
        name: &str,
        alias: &str,
    ) -> Result<i64, ApiError> {
        let aliases = registry
            .aliases(name)
            .await
            .map_err(ApiError::from_registry)?;
        if aliases.is_empty()
            && registry
                .versions(name)
                .await
                .map_err(ApiError::from_registry)?
                .is_empty()
        {
            return Err(ApiError::from_registry(RegistryError::NoModel(
                name.to_owned(),
            )));
        }
        let version = *aliases.get(alias).ok_or_else(|| no_alias(name, alias))?;
        self.aliases
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((name.to_owned(), alias.to_owned()), version);
        Ok(version)
    }

    /// How requests for the bare name `name` are routed: read from the
    /// registry at the first request, then kept up to date by
    /// [`refresh`](Self::refresh).
    pub async fn routing(&self, registry: &Registry, name: &str) -> Result<Arc<Routing>, ApiError> {
        if let Some(r) = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(r.clone());
        }
        let routing = Arc::new(
            read_routing(registry, name)
                .await
                .map_err(ApiError::from_registry)?,
        );
        self.routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), routing.clone());
        Ok(routing)
    }

    /// Version `version` of `name`, loaded once however many requests ask
    /// for it at the same time (a failed load is tried again by the next).
    pub async fn prepared(
        &self,
        registry: &Registry,
        runtime: &Runtime,
        name: &str,
        version: i64,
    ) -> Result<Arc<PreparedModel>, ApiError> {
        let slot = lock(&self.prepared)
            .entry((name.to_owned(), version))
            .or_default()
            .clone();
        slot.get_or_try_init(|| async {
            let v = registry
                .version(name, version)
                .await
                .map_err(ApiError::from_registry)?;
            let prepared = registry
                .prepare(runtime, &v)
                .await
                .map_err(ApiError::from_registry)?;
            tracing::info!(model = name, version, "loaded");
            Ok(Arc::new(prepared))
        })
        .await
        .cloned()
    }

    /// The batcher of `model`'s requests (one per version); `splits`
    /// makes the counter of its failed batches.
    pub fn batcher(
        &self,
        model: &Arc<PreparedModel>,
        options: BatchOptions,
        splits: impl FnOnce() -> prometheus_client::metrics::counter::Counter,
    ) -> Arc<Batcher> {
        lock(&self.batchers)
            .entry((model.version.name.clone(), model.version.version))
            .or_insert_with(|| Arc::new(Batcher::new(model.clone(), options, splits())))
            .clone()
    }

    /// The output columns of `name:version`, if read before.
    pub fn outputs(&self, name: &str, version: i64) -> Option<Columns> {
        lock(&self.outputs)
            .get(&(name.to_owned(), version))
            .cloned()
    }

    /// Remember the output columns of `name:version`.
    pub fn remember_outputs(
        &self,
        name: &str,
        version: i64,
        columns: Vec<(String, String)>,
    ) -> Columns {
        lock(&self.outputs)
            .entry((name.to_owned(), version))
            .or_insert_with(|| Arc::new(columns))
            .clone()
    }

    /// The monitor `name:version` declares, read once.
    pub async fn monitor_spec(
        &self,
        registry: &Registry,
        name: &str,
        version: i64,
    ) -> Option<crate::monitor::MonitorSpec> {
        let key = (name.to_owned(), version);
        if let Some(spec) = lock(&self.monitors).get(&key) {
            return spec.clone();
        }
        let spec = registry.version(name, version).await.ok()?.monitoring;
        lock(&self.monitors).insert(key, spec.clone());
        spec
    }

    /// Whether `name:version` is loaded.
    pub fn is_loaded(&self, name: &str, version: i64) -> bool {
        lock(&self.prepared)
            .get(&(name.to_owned(), version))
            .is_some_and(|s| s.initialized())
    }

    /// Read the routing of every model asked for by bare name, and the
    /// aliases of every model asked for by alias, again; load the
    /// versions they now point at, then switch them. An alias that is gone
    /// is forgotten (its requests then get 404). The versions nothing
    /// points at any more stay loaded for requests that name them; nothing
    /// else is unloaded.
    pub async fn refresh(&self, registry: &Registry, runtime: &Runtime) {
        self.refresh_routes(registry, runtime).await;
        self.refresh_aliases(registry, runtime).await;
    }

    async fn refresh_routes(&self, registry: &Registry, runtime: &Runtime) {
        let known: Vec<(String, Arc<Routing>)> = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, was) in known {
            let now = match read_routing(registry, &name).await {
                Ok(now) => now,
                Err(e) => {
                    tracing::warn!(model = %name, error = %e, "reading the route");
                    continue;
                }
            };
            if now == *was {
                continue;
            }
            // Warm first: the switch happens only once every target loads.
            let mut loaded = true;
            for v in now.targets() {
                if let Err(e) = self.prepared(registry, runtime, &name, v).await {
                    tracing::warn!(
                        model = %name, version = v, error = %e.message,
                        "the route moved to a version that does not load; still routing as before"
                    );
                    loaded = false;
                }
            }
            if loaded {
                tracing::info!(
                    model = %name,
                    route = %now.policy.as_deref().map_or_else(|| "production".into(), ServingPolicy::summary),
                    "route changed"
                );
                self.routes
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name, Arc::new(now));
            }
        }
    }

    async fn refresh_aliases(&self, registry: &Registry, runtime: &Runtime) {
        let known: Vec<((String, String), i64)> = self
            .aliases
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let mut names: Vec<&String> = known.iter().map(|((n, _), _)| n).collect();
        names.sort();
        names.dedup();
        let mut now = HashMap::new();
        for name in names {
            match registry.aliases(name).await {
                Ok(aliases) => {
                    now.insert(name.clone(), aliases);
                }
                Err(e) => tracing::warn!(model = %name, error = %e, "reading aliases"),
            }
        }
        for ((name, alias), was) in known {
            let Some(aliases) = now.get(&name) else {
                continue;
            };
            match aliases.get(&alias) {
                Some(&v) if v != was => {
                    // Warm first: the switch happens only once it can answer.
                    match self.prepared(registry, runtime, &name, v).await {
                        Ok(_) => {
                            tracing::info!(model = %name, %alias, from = was, to = v, "alias moved");
                            self.aliases
                                .write()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert((name, alias), v);
                        }
                        Err(e) => tracing::warn!(
                            model = %name, %alias, version = v, error = %e.message,
                            "the alias moved to a version that does not load; still serving the old one"
                        ),
                    }
                }
                Some(_) => {}
                None => {
                    self.aliases
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&(name, alias));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_stands_for_its_heaviest_existing_arm() {
        let routing = |split: &[(&str, f64)]| Routing {
            policy: Some(Arc::new(ServingPolicy {
                split: split.iter().map(|(a, w)| (a.to_string(), *w)).collect(),
                ..ServingPolicy::default()
            })),
            aliases: [("production".to_string(), 1), ("canary".to_string(), 2)].into(),
            versions: vec![1, 2, 3],
        };
        assert_eq!(
            routing(&[("production", 10.0), ("canary", 90.0)])
                .primary("m")
                .unwrap(),
            2
        );
        assert_eq!(
            routing(&[("production", 90.0), ("canary", 10.0)])
                .primary("m")
                .unwrap(),
            1
        );
        assert_eq!(
            routing(&[("canary", 5.0), ("gone", 95.0)])
                .primary("m")
                .unwrap(),
            2
        );
        assert_eq!(routing(&[("v3", 1.0)]).primary("m").unwrap(), 3);
        let none = Routing {
            policy: None,
            aliases: BTreeMap::new(),
            versions: vec![1],
        };
        assert_eq!(none.primary("m").unwrap_err().status, 404);
    }

    #[test]
    fn a_model_is_named_by_alias_version_or_its_production_alias() {
        let alias = |n: &str, a: &str| Target::Alias {
            name: n.into(),
            alias: a.into(),
        };
        assert_eq!(
            Target::parse("churn", None).unwrap(),
            Target::Model {
                name: "churn".into()
            }
        );
        assert_eq!(
            Target::parse("churn@staging", None).unwrap(),
            alias("churn", "staging")
        );
        assert_eq!(
            Target::parse("churn:3", None).unwrap(),
            Target::Version {
                name: "churn".into(),
                version: 3
            }
        );
        assert_eq!(
            Target::parse("churn", Some("v2")).unwrap(),
            Target::Version {
                name: "churn".into(),
                version: 2
            }
        );
        assert_eq!(
            Target::parse("churn", Some("canary")).unwrap(),
            alias("churn", "canary")
        );
        assert_eq!(Target::parse("other/churn", None).unwrap_err().status, 404);
        assert_eq!(Target::parse("churn@a", Some("1")).unwrap_err().status, 400);
    }
}
