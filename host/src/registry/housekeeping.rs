//! Housekeeping in the registry's terms: archiving a version, which runs
//! the registered models need kept (and why), deleting the others, and
//! the version a run would only repeat (an identical model is reused,
//! not registered again).
//!
//! A run is kept, whoever asks to delete it, when
//! - a version not archived was registered from it;
//! - an upstream lineage query of a version not archived goes through it
//!   (it made one of the version's artifacts, or what they were made
//!   from);
//! - a step of a run that is kept is cached from it: its outputs were
//!   made in it (a cached step's `cached_from`, followed back through
//!   runs whose same step was cached too), recursively. The runs in
//!   between may go: the kept step then names the run that made them.
//!
//! Deleting runs deletes records only; their artifacts are left to
//! `sluice gc`, which deletes what no run or version refers to any more.

use super::{ModelVersion, Registry, RegistryError, Result};
use crate::artifacts::ArtifactDigest;
use crate::meta::{Archiving, AuditEntry, CacheRecord};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The tenant's cached steps, and where each one's outputs were made.
struct CacheGraph {
    /// The steps that were cached.
    cached: Vec<CacheRecord>,
    /// Where a run's step of a cache key took its outputs from, by (run,
    /// key): `None` if that step made them.
    by_key: HashMap<(String, String), Option<String>>,
}

impl CacheGraph {
    fn of(records: Vec<CacheRecord>) -> Self {
        let by_key = records
            .iter()
            .filter_map(|r| {
                let key = r.cache_key.clone()?;
                Some(((r.run_id.clone(), key), r.cached_from.clone()))
            })
            .collect();
        let cached = records
            .into_iter()
            .filter(|r| r.cached_from.is_some())
            .collect();
        CacheGraph { cached, by_key }
    }

    /// The run where `step`'s outputs were made: its `cached_from`, and on
    /// back through the steps of the same cache key that were cached too
    /// (a cache hit names the run it was found in, itself maybe cached).
    fn origin<'a>(&'a self, step: &'a CacheRecord) -> &'a str {
        let mut from = step.cached_from.as_deref().unwrap_or(&step.run_id);
        let Some(key) = &step.cache_key else {
            return from;
        };
        // At most one hop per cached step: a cycle cannot loop forever.
        for _ in 0..=self.cached.len() {
            match self.by_key.get(&(from.to_owned(), key.clone())) {
                Some(Some(earlier)) => from = earlier,
                _ => break,
            }
        }
        from
    }
}

/// Every artifact of `v` whose lineage its version keeps: the model,
/// the fitted states, the data, the holdout predictions, the explanation.
fn lineage_roots(v: &ModelVersion) -> Vec<ArtifactDigest> {
    let mut roots = vec![v.model.clone()];
    roots.extend(v.chain.iter().map(|c| c.state.clone()));
    roots.extend(
        [
            &v.data.source,
            &v.data.train,
            &v.data.holdout,
            &v.holdout_predictions,
            &v.explanation,
        ]
        .into_iter()
        .flatten()
        .cloned(),
    );
    roots
}

/// `v` with what tells one registration from another blanked out (its
/// number, run, pipeline, seed, time): what is left is what it holds.
fn held(v: &ModelVersion) -> ModelVersion {
    ModelVersion {
        version: 0,
        run_id: String::new(),
        pipeline_name: String::new(),
        pipeline_version: String::new(),
        pipeline_sha256: String::new(),
        seed: 0,
        created_at: String::new(),
        ..v.clone()
    }
}

impl Registry {
    /// Archive version `version` of `name` (or, with `archived` false,
    /// unarchive it), with an `archive` (`unarchive`) line in the audit
    /// history. An archived version is hidden from listings, is not the
    /// latest, holds no alias, and no longer keeps its run from
    /// `sluice runs prune`; its own artifacts stay stored. A version an
    /// alias points at is refused, naming the alias. `Ok(false)`: it was
    /// so already, nothing changed.
    pub async fn set_archived(
        &self,
        name: &str,
        version: i64,
        archived: bool,
        reason: &str,
        actor: &str,
    ) -> Result<bool> {
        self.gates(name).await?;
        let key = self.key(name)?;
        let audit = AuditEntry {
            actor,
            action: if archived { "archive" } else { "unarchive" },
            alias: None,
            from_version: None,
            to_version: Some(version),
            forced: false,
            reason,
            detail: "",
        };
        match self
            .meta
            .set_version_archived(key.as_str(), version, archived, audit)
            .await?
        {
            Archiving::Done => Ok(true),
            Archiving::AlreadySo => Ok(false),
            Archiving::NoVersion => Err(RegistryError::NoVersion {
                name: name.to_owned(),
                version,
            }),
            Archiving::Aliased(aliases) => {
                let held: Vec<String> = aliases.iter().map(|a| format!("{name}@{a}")).collect();
                Err(RegistryError::Invalid(format!(
                    "cannot archive {name}:{version}: {} points at it; promote another \
                     version to {} first (`sluice models promote {name} VERSION --to {}`)",
                    held.join(" and "),
                    if aliases.len() == 1 { "it" } else { "each" },
                    aliases[0]
                )))
            }
        }
    }

    /// The archived versions of `name`, ascending.
    pub async fn archived(&self, name: &str) -> Result<Vec<i64>> {
        Ok(self
            .meta
            .archived_versions(self.key(name)?.as_str())
            .await?)
    }

    /// Which of the tenant's runs in `deleting` must be kept, each with
    /// why (see the module's doc): runs outside `deleting` are kept, and
    /// keep what their cached steps came from.
    pub async fn keepers(&self, deleting: &BTreeSet<String>) -> Result<BTreeMap<String, String>> {
        let mut kept = BTreeMap::new();
        let tenant = Some(self.tenant.as_str());
        for live in self.meta.live_versions(self.scope.prefix()).await? {
            let Some(name) = self.scope.name_of(&live.key).map(str::to_owned) else {
                continue;
            };
            let at = format!("{name}:{}", live.version);
            if deleting.contains(&live.run_id) {
                kept.entry(live.run_id.clone())
                    .or_insert_with(|| format!("model version {at} was registered from it"));
            }
            let Ok(version) = serde_json::from_value::<ModelVersion>(live.body) else {
                return Err(RegistryError::Invalid(format!(
                    "stored model version {at} is invalid"
                )));
            };
            for run in self
                .meta
                .lineage_runs(tenant, lineage_roots(&version))
                .await?
            {
                if deleting.contains(&run) {
                    kept.entry(run).or_insert_with(|| {
                        format!("the lineage of model version {at} goes through it")
                    });
                }
            }
        }
        // A kept run keeps the run its cached steps' outputs were made in
        // (following cached steps back), and that run its own: repeated
        // until nothing more is kept.
        let cache = CacheGraph::of(self.meta.cache_records(&self.tenant).await?);
        loop {
            let mut more = Vec::new();
            for step in &cache.cached {
                let run_kept = !deleting.contains(&step.run_id) || kept.contains_key(&step.run_id);
                let origin = cache.origin(step);
                if run_kept && deleting.contains(origin) && !kept.contains_key(origin) {
                    more.push((
                        origin.to_owned(),
                        format!(
                            "step `{}` of kept run {} reuses its outputs",
                            step.step_id, step.run_id
                        ),
                    ));
                }
            }
            if more.is_empty() {
                return Ok(kept);
            }
            for (run, why) in more {
                kept.entry(run).or_insert(why);
            }
        }
    }

    /// Delete the tenant's runs `ids` (their steps, io, metrics and
    /// trials), all or none, in one transaction. Refused, nothing
    /// deleted, if one must be kept ([`keepers`](Self::keepers)) or is
    /// being executed by a live process. Their artifacts stay stored
    /// until `sluice gc` finds nothing refers to them.
    pub async fn delete_runs(&self, ids: &[String]) -> Result<()> {
        let deleting: BTreeSet<String> = ids.iter().cloned().collect();
        if let Some((run, why)) = self.keepers(&deleting).await?.into_iter().next() {
            return Err(RegistryError::Invalid(format!("run {run} is kept: {why}")));
        }
        // A kept step cached from a run deleted names, from now on, the
        // run its outputs were made in (kept, as `keepers` says).
        let cache = CacheGraph::of(self.meta.cache_records(&self.tenant).await?);
        let repoint: Vec<(String, String, String)> = cache
            .cached
            .iter()
            .filter(|s| !deleting.contains(&s.run_id))
            .filter(|s| s.cached_from.as_ref().is_some_and(|f| deleting.contains(f)))
            .map(|s| {
                (
                    s.run_id.clone(),
                    s.step_id.clone(),
                    cache.origin(s).to_owned(),
                )
            })
            .collect();
        // Held until the records are gone, so no process resumes a run
        // being deleted.
        let mut locks = Vec::new();
        for id in ids {
            match self.meta.lock_run(id)? {
                Some(lock) => locks.push(lock),
                None => {
                    return Err(RegistryError::Invalid(format!(
                        "run {id} is in progress: a live process is executing it"
                    )));
                }
            }
        }
        self.meta.delete_runs(&self.tenant, ids, &repoint).await?;
        drop(locks);
        Ok(())
    }

    /// The version of `name` not archived that holds exactly what
    /// `version` would (the same model bytes, fitted chain, plugins,
    /// params, data, metrics and declarations), if any: registering
    /// `version` would only repeat it.
    pub(super) async fn identical_version(
        &self,
        name: &str,
        version: &ModelVersion,
    ) -> Result<Option<ModelVersion>> {
        let archived = self.archived(name).await?;
        let wanted = held(version);
        for v in self.versions(name).await?.into_iter().rev() {
            if archived.contains(&v) {
                continue;
            }
            let existing = self.version(name, v).await?;
            if existing.model == version.model && held(&existing) == wanted {
                return Ok(Some(existing));
            }
        }
        Ok(None)
    }
}
