//! Lineage from the recorded io edges (`step_io`): which step run made an
//! artifact from which inputs, recursively ([`MetaStore::upstream`]), and
//! what was made from it ([`MetaStore::downstream`]). Also the set of
//! artifacts anything still refers to, for garbage collection.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;
use sqlx::Row;

use super::store::{MetaStore, db};
use super::{MetaError, RunStatus};
use crate::artifacts::ArtifactDigest;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// An artifact in a lineage tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageNode {
    /// The artifact.
    pub digest: ArtifactDigest,
    /// From the artifact records, when this database stored it.
    pub media_type: Option<String>,
    /// Its size in bytes, from the artifact records.
    pub size: Option<i64>,
    /// Upstream: the step run that made it (the oldest one that did not
    /// just pass it through), or none for an outside input. Downstream:
    /// every step run that read it.
    pub steps: Vec<LineageStep>,
    /// Upstream: other step runs that wrote the same bytes (reruns,
    /// validators passing their input on), not expanded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_made_by: Vec<StepRef>,
    /// This artifact is expanded earlier in the tree; not repeated here.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
    /// This artifact is deeper than the depth asked for: not expanded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One step run of a lineage tree, with the edges to the next artifacts
/// (its inputs upstream, its outputs downstream).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageStep {
    /// The step run.
    #[serde(flatten)]
    pub step: StepRef,
    /// The name under which the step wrote (upstream) or read
    /// (downstream) the artifact above.
    pub as_name: String,
    /// The artifacts it read (upstream) or wrote (downstream), each expanded in
    /// turn.
    pub edges: Vec<LineageEdge>,
}

/// An edge of a lineage tree: a step run's input or output, and the artifact at
/// its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageEdge {
    /// The input (upstream) or output (downstream) name.
    pub name: String,
    /// The artifact.
    pub artifact: LineageNode,
}

/// A step run, by identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRef {
    /// The run.
    pub run_id: String,
    /// The step's id in the run.
    pub step_id: String,
    /// The world it ran in, or `dataset`.
    pub kind: String,
    /// The plugin's name (empty for a dataset).
    pub plugin_name: String,
    /// The plugin's version (empty for a dataset).
    pub plugin_version: String,
    /// The plugin component's sha256, in hex (empty for a dataset).
    pub plugin_sha256: String,
    /// When the step started (RFC 3339, UTC).
    pub started_at: String,
}

/// What a lineage walk is bounded by.
struct Walk<'a> {
    tenant: Option<&'a str>,
    direction: Direction,
    max_depth: usize,
}

/// A step run touching one artifact, and the name it used.
struct Touch {
    step: StepRef,
    name: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Up,
    Down,
}

impl MetaStore {
    /// The upstream tree of `digest`: the step run that made it, that
    /// step's inputs and what made them, down to outside inputs or
    /// `max_depth` artifacts deep (those below are marked `truncated`).
    /// Each artifact is expanded once; later occurrences are marked
    /// `repeated`.
    pub async fn upstream(
        &self,
        tenant: Option<&str>,
        digest: &ArtifactDigest,
        max_depth: usize,
    ) -> Result<LineageNode> {
        self.lineage(tenant, digest, Direction::Up, max_depth).await
    }

    /// The downstream tree of `digest`: every step run that read it, their
    /// outputs and what read those, recursively, down to `max_depth`.
    pub async fn downstream(
        &self,
        tenant: Option<&str>,
        digest: &ArtifactDigest,
        max_depth: usize,
    ) -> Result<LineageNode> {
        self.lineage(tenant, digest, Direction::Down, max_depth)
            .await
    }

    /// The tree is bounded by `max_depth`: building it (futures polled
    /// one inside the other), printing it, serializing it and dropping it
    /// all recurse once per level, and a chain of 12,000 steps overflowed
    /// the stack.
    async fn lineage(
        &self,
        tenant: Option<&str>,
        root: &ArtifactDigest,
        direction: Direction,
        max_depth: usize,
    ) -> Result<LineageNode> {
        let mut seen = HashSet::new();
        let walk = Walk {
            tenant,
            direction,
            max_depth,
        };
        Box::pin(self.expand(&walk, root.clone(), 0, &mut seen)).await
    }

    async fn expand(
        &self,
        walk: &Walk<'_>,
        digest: ArtifactDigest,
        depth: usize,
        seen: &mut HashSet<ArtifactDigest>,
    ) -> Result<LineageNode> {
        let (tenant, direction) = (walk.tenant, walk.direction);
        let (media_type, size) = self.artifact_record(tenant, &digest).await?;
        let mut node = LineageNode {
            digest: digest.clone(),
            media_type,
            size,
            steps: Vec::new(),
            also_made_by: Vec::new(),
            repeated: false,
            truncated: false,
        };
        if depth >= walk.max_depth {
            node.truncated = true;
            return Ok(node);
        }
        if !seen.insert(digest.clone()) {
            node.repeated = true;
            return Ok(node);
        }
        let (own, other) = match direction {
            Direction::Up => ("out", "in"),
            Direction::Down => ("in", "out"),
        };
        let touches = match direction {
            Direction::Up => {
                let (made, others) = self.makers(tenant, &digest).await?;
                node.also_made_by = others.into_iter().map(|t| t.step).collect();
                made.into_iter().collect()
            }
            Direction::Down => self.touching(tenant, &digest, own).await?,
        };
        for t in touches {
            let mut step = LineageStep {
                step: t.step,
                as_name: t.name,
                edges: Vec::new(),
            };
            for (name, next) in self
                .io_of(&step.step.run_id, &step.step.step_id, other)
                .await?
            {
                if next == digest {
                    continue;
                }
                let artifact = Box::pin(self.expand(walk, next, depth + 1, seen)).await?;
                step.edges.push(LineageEdge { name, artifact });
            }
            node.steps.push(step);
        }
        Ok(node)
    }

    /// The step run that made `digest`, and the others that wrote the
    /// same bytes. The maker is the oldest step that did not read these
    /// same bytes (a validator passes its input on unchanged).
    async fn makers(
        &self,
        tenant: Option<&str>,
        digest: &ArtifactDigest,
    ) -> Result<(Option<Touch>, Vec<Touch>)> {
        let mut touches = self.touching(tenant, digest, "out").await?;
        for i in 0..touches.len() {
            let t = &touches[i];
            let inputs = self.io_of(&t.step.run_id, &t.step.step_id, "in").await?;
            if !inputs.iter().any(|(_, d)| d == digest) {
                let made = touches.remove(i);
                return Ok((Some(made), touches));
            }
        }
        Ok((None, touches))
    }

    /// The runs an upstream lineage query of any of `roots` goes through:
    /// the run of every artifact's maker, all the way up (see
    /// [`upstream`](Self::upstream)). Walked with a work list, not by
    /// recursion, so a long chain cannot overflow the stack.
    pub async fn lineage_runs(
        &self,
        tenant: Option<&str>,
        roots: impl IntoIterator<Item = ArtifactDigest>,
    ) -> Result<BTreeSet<String>> {
        let mut runs = BTreeSet::new();
        let mut seen = HashSet::new();
        let mut todo: Vec<ArtifactDigest> = roots.into_iter().collect();
        while let Some(digest) = todo.pop() {
            if !seen.insert(digest.clone()) {
                continue;
            }
            let (Some(maker), _) = self.makers(tenant, &digest).await? else {
                continue;
            };
            let inputs = self
                .io_of(&maker.step.run_id, &maker.step.step_id, "in")
                .await?;
            todo.extend(inputs.into_iter().map(|(_, d)| d));
            runs.insert(maker.step.run_id);
        }
        Ok(runs)
    }

    /// The media type and size of an artifact, if `tenant` (any, when
    /// `None`) stored or used it: another tenant's artifacts stay unknown.
    async fn artifact_record(
        &self,
        tenant: Option<&str>,
        digest: &ArtifactDigest,
    ) -> Result<(Option<String>, Option<i64>)> {
        let row = sqlx::query(
            "SELECT a.media_type, a.size FROM artifacts a WHERE a.digest = ?1 AND (?2 IS NULL \
             OR EXISTS (SELECT 1 FROM tenant_artifacts t WHERE t.tenant = ?2 AND t.digest = ?1) \
             OR EXISTS (SELECT 1 FROM step_io io JOIN runs r ON r.id = io.run_id \
                        WHERE io.digest = ?1 AND r.tenant = ?2))",
        )
        .bind(digest.to_hex())
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(format!("look up artifact {digest}")))?;
        Ok(match row {
            Some(r) => (r.try_get(0).ok(), r.try_get(1).ok()),
            None => (None, None),
        })
    }

    /// Step runs (of `tenant`'s runs, when given) that read (`in`) or
    /// wrote (`out`) `digest`, oldest first.
    async fn touching(
        &self,
        tenant: Option<&str>,
        digest: &ArtifactDigest,
        direction: &str,
    ) -> Result<Vec<Touch>> {
        let action = || format!("look up the steps touching artifact {digest}");
        let rows = sqlx::query(
            "SELECT s.run_id, s.step_id, s.kind, s.plugin_name, s.plugin_version, \
             s.plugin_sha256, s.started_at, io.name FROM step_io io \
             JOIN step_runs s ON s.run_id = io.run_id AND s.step_id = io.step_id \
             JOIN runs r ON r.id = io.run_id \
             WHERE io.digest = ?1 AND io.direction = ?2 AND (?3 IS NULL OR r.tenant = ?3) \
             ORDER BY r.started_at, r.rowid, s.position, io.name",
        )
        .bind(digest.to_hex())
        .bind(direction)
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        rows.iter()
            .map(|r| {
                Ok(Touch {
                    step: StepRef {
                        run_id: r.try_get(0)?,
                        step_id: r.try_get(1)?,
                        kind: r.try_get(2)?,
                        plugin_name: r.try_get(3)?,
                        plugin_version: r.try_get(4)?,
                        plugin_sha256: r.try_get(5)?,
                        started_at: r.try_get(6)?,
                    },
                    name: r.try_get(7)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db(action()))
    }

    /// The inputs (`in`) or outputs (`out`) of one step run, by name.
    pub(super) async fn io_of(
        &self,
        run_id: &str,
        step_id: &str,
        direction: &str,
    ) -> Result<Vec<(String, ArtifactDigest)>> {
        let action = || format!("read the io of step `{step_id}` in run `{run_id}`");
        let rows = sqlx::query(
            "SELECT name, digest FROM step_io WHERE run_id = ? AND step_id = ? AND direction = ? \
             ORDER BY rowid",
        )
        .bind(run_id)
        .bind(step_id)
        .bind(direction)
        .fetch_all(&self.pool)
        .await
        .map_err(db(action()))?;
        let mut io = Vec::new();
        for r in &rows {
            let name: String = r.try_get(0).map_err(db(action()))?;
            let text: String = r.try_get(1).map_err(db(action()))?;
            let digest = ArtifactDigest::parse(&text).map_err(|_| MetaError::InvalidRecord {
                what: "artifact digest",
                value: text,
            })?;
            io.push((name, digest));
        }
        Ok(io)
    }

    /// Every artifact something recorded still refers to: a step's inputs
    /// and outputs, the plugin component of every step run, and every
    /// digest inside a model version (chain states, model, plugins, data,
    /// predictions, explanations), every file of the inference log and
    /// every stored monitor reference.
    /// Garbage collection keeps these.
    pub async fn referenced_artifacts(&self) -> Result<BTreeSet<ArtifactDigest>> {
        let mut referenced = self.run_artifacts(None).await?;
        referenced.extend(self.inference_log_artifacts().await?);
        for (.., body) in self.model_versions_of(None).await? {
            // Any string that is a digest counts: keeping too much is safe,
            // deleting a model's bytes is not.
            let mut strings = Vec::new();
            super::uses::strings_at(&body, String::new(), &mut strings);
            referenced.extend(
                strings
                    .iter()
                    .filter_map(|(_, text)| ArtifactDigest::parse(text).ok()),
            );
        }
        Ok(referenced)
    }

    /// Runs still `running` that started at or after `since` (RFC3339).
    pub async fn runs_in_progress_since(&self, since: &str) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT id FROM runs WHERE status = ? AND started_at >= ? ORDER BY id")
            .bind(RunStatus::Running.as_str())
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(db("look up runs in progress"))
    }

    /// Forgets the records (size, media type) of deleted artifacts.
    /// Forgets `tenant`'s record of deleted artifacts (its storage count
    /// drops), and the artifact itself once no tenant keeps it.
    pub async fn forget_artifacts(&self, tenant: &str, digests: &[ArtifactDigest]) -> Result<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("forget artifacts"))?;
        for d in digests {
            sqlx::query("DELETE FROM tenant_artifacts WHERE tenant = ? AND digest = ?")
                .bind(tenant)
                .bind(d.to_hex())
                .execute(&mut *tx)
                .await
                .map_err(db(format!("forget artifact {d}")))?;
            sqlx::query(
                "DELETE FROM artifacts WHERE digest = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM tenant_artifacts WHERE digest = ?1)",
            )
            .bind(d.to_hex())
            .execute(&mut *tx)
            .await
            .map_err(db(format!("forget artifact {d}")))?;
        }
        tx.commit().await.map_err(db("forget artifacts"))
    }
}
