//! Aliases (`staging`, `production`, any name) and their audit history:
//! gated promotion after re-hashing the version's stored bytes, rollback
//! to the previous holder, and which version each alias held at a given
//! time. Not where versions are registered or looked up (the parent
//! module).

use super::{DamagedArtifact, ModelVersion, Registry, RegistryError, Rescored, Result, gates};
use crate::artifacts::ArtifactDigest;
use crate::meta::{AuditEntry, AuditEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a promotion did.
#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    /// The model.
    pub name: String,
    /// The alias moved.
    pub alias: String,
    /// The version it pointed at before, if any.
    pub from_version: Option<i64>,
    /// The version it points at now.
    pub to_version: i64,
    /// Whether failed gates were overridden.
    pub forced: bool,
    /// Every gate checked, passed or not (none for a rollback).
    pub gates: Vec<gates::GateResult>,
}

/// Parse a time as given on the command line.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    Err(RegistryError::BadTime(text.to_string()))
}

/// Which version each alias held at time `at`, replaying the history.
pub fn aliases_at(events: &[AuditEvent], at: DateTime<Utc>) -> BTreeMap<String, i64> {
    let mut held = BTreeMap::new();
    for e in events {
        let Ok(t) = DateTime::parse_from_rfc3339(&e.at) else {
            continue;
        };
        if t.with_timezone(&Utc) > at {
            break;
        }
        if let (Some(alias), Some(v)) = (&e.alias, e.to_version)
            && (e.action == "promote" || e.action == "rollback")
        {
            held.insert(alias.clone(), v);
        }
    }
    held
}

/// A challenger judged against a champion: see [`Registry::judge`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Judgement {
    /// The model.
    pub name: String,
    /// The challenger.
    pub version: i64,
    /// The alias it was judged for.
    pub alias: String,
    /// The version the alias held (none: no champion yet).
    pub champion: Option<i64>,
    /// Whether every gate held.
    pub passed: bool,
    /// Each gate with its numbers.
    pub gates: Vec<gates::GateResult>,
    /// The champion's numbers on the challenger's holdout, if measured.
    pub rescored: Option<Rescored>,
}

impl Judgement {
    /// The gates that failed, in words.
    pub fn failures(&self) -> String {
        self.gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| format!("{}: {}", g.gate, g.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Registry {
    /// The aliases of model `name` and the versions they point at now.
    pub async fn aliases(&self, name: &str) -> Result<BTreeMap<String, i64>> {
        let aliases = self.meta.model_aliases(self.key(name)?.as_str()).await?;
        Ok(aliases.into_iter().collect())
    }

    /// Move `alias` to `version`, after re-hashing the version's stored
    /// artifacts (never forced) and checking the model's gates (unless
    /// forced, which needs a reason and is recorded as forced).
    pub async fn promote(
        &self,
        name: &str,
        version: i64,
        alias: &str,
        reason: &str,
        force: bool,
        actor: &str,
    ) -> Result<Promotion> {
        let key = self.key(name)?;
        if alias.is_empty()
            || !alias
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(RegistryError::Invalid(format!(
                "`{alias}` is not an alias name: use letters, digits, '-' or '_'"
            )));
        }
        if force && reason.trim().is_empty() {
            return Err(RegistryError::Invalid(
                "a forced promotion needs --reason".into(),
            ));
        }
        let candidate = self.version(name, version).await?;
        self.check_stored(&candidate, alias).await?;
        let judged = self.judged_on_same_holdout(name, version, alias).await?;
        let (results, aliases) = self.gate_results(&candidate, judged.as_ref()).await?;
        let failed: Vec<gates::GateResult> =
            results.iter().filter(|r| !r.passed).cloned().collect();
        if !failed.is_empty() && !force {
            return Err(RegistryError::GateFailed {
                name: name.to_string(),
                version,
                alias: alias.to_string(),
                failed,
            });
        }
        let from = aliases.get(alias).copied();
        let forced = force && !failed.is_empty();
        let audit = AuditEntry {
            actor,
            action: "promote",
            alias: Some(alias),
            from_version: from,
            to_version: Some(version),
            forced,
            reason,
            detail: "",
        };
        self.meta
            .set_model_alias(key.as_str(), alias, version, audit)
            .await?;
        Ok(Promotion {
            name: name.to_string(),
            alias: alias.to_string(),
            from_version: from,
            to_version: version,
            forced,
            gates: results,
        })
    }

    /// The champion's numbers on `version`'s holdout from the latest
    /// verdict that judged `version` for `alias` (see [`Registry::judge`]),
    /// if the champion it measured still holds the alias: a promotion
    /// after that verdict compares on the same rows as the verdict did.
    async fn judged_on_same_holdout(
        &self,
        name: &str,
        version: i64,
        alias: &str,
    ) -> Result<Option<Rescored>> {
        let holder = self.aliases(name).await?.get(alias).copied();
        let events = self.history(name).await?;
        let latest = events.iter().rev().find(|e| {
            e.action == "judge"
                && e.to_version == Some(version)
                && e.alias.as_deref() == Some(alias)
        });
        let Some(event) = latest else {
            return Ok(None);
        };
        let rescored = serde_json::from_str::<serde_json::Value>(&event.detail)
            .ok()
            .and_then(|d| {
                serde_json::from_value::<Rescored>(d["champion_on_challenger_holdout"].clone()).ok()
            });
        Ok(rescored.filter(|r| Some(r.champion) == holder && r.challenger == version))
    }

    /// The model's gates checked for `candidate` (against the versions
    /// its aliases hold, a holder's numbers replaced by those it was
    /// `rescored` with on the candidate's holdout), and those aliases.
    async fn gate_results(
        &self,
        candidate: &ModelVersion,
        rescored: Option<&Rescored>,
    ) -> Result<(Vec<gates::GateResult>, BTreeMap<String, i64>)> {
        let name = candidate.name.as_str();
        let parsed: Vec<gates::Gate> = self
            .gates(name)
            .await?
            .iter()
            .map(|g| gates::parse(g).map_err(RegistryError::Invalid))
            .collect::<Result<_>>()?;
        let aliases = self.aliases(name).await?;
        let mut holders = BTreeMap::new();
        for (a, v) in &aliases {
            let mut metrics = self.version(name, *v).await?.metrics;
            if let Some(r) = rescored.filter(|r| r.champion == *v) {
                metrics.extend(r.metrics.iter().map(|(k, m)| (k.clone(), *m)));
            }
            holders.insert(a.clone(), (*v, metrics));
        }
        let mut results = gates::check(&parsed, &candidate.metrics, &|a| holders.get(a).cloned());
        if let Some(r) = rescored {
            // Say which numbers were measured again, and on what.
            for (g, result) in parsed.iter().zip(&mut results) {
                if let gates::Bound::Alias { alias, .. } = &g.bound
                    && aliases.get(alias) == Some(&r.champion)
                    && r.metrics.contains_key(&g.metric)
                {
                    result.detail.push_str(&format!(
                        " (v{}'s {} on v{}'s holdout of {} rows)",
                        r.champion, g.metric, r.challenger, r.rows
                    ));
                }
            }
        }
        Ok((results, aliases))
    }

    /// Judge `version`, a challenger, against the version `alias` holds
    /// (the champion) by the model's gates, as a promotion would, and
    /// write the verdict to the audit history (action `judge`, the gates
    /// and their numbers in its detail) without moving anything.
    /// `rescored` is the champion's numbers on the challenger's holdout
    /// (see [`Registry::rescore`]), which gates relative to the champion
    /// then compare with, or why they could not be measured (the gates
    /// then compare with the numbers it recorded on its own holdout).
    pub async fn judge(
        &self,
        name: &str,
        version: i64,
        alias: &str,
        rescored: std::result::Result<&Rescored, &str>,
        reason: &str,
        actor: &str,
    ) -> Result<Judgement> {
        let key = self.key(name)?;
        let candidate = self.version(name, version).await?;
        let (gates, aliases) = self.gate_results(&candidate, rescored.ok()).await?;
        let passed = gates.iter().all(|g| g.passed);
        let champion = aliases.get(alias).copied();
        let detail = serde_json::json!({
            "passed": passed,
            "gates": gates.iter().map(|g| serde_json::json!({
                "gate": g.gate, "passed": g.passed, "detail": g.detail,
            })).collect::<Vec<_>>(),
            "champion_on_challenger_holdout": match rescored {
                Ok(r) => serde_json::json!(r),
                Err(why) => serde_json::json!({ "not_measured": why }),
            },
        })
        .to_string();
        let audit = AuditEntry {
            actor,
            action: "judge",
            alias: Some(alias),
            from_version: champion,
            to_version: Some(version),
            forced: false,
            reason,
            detail: &detail,
        };
        self.meta.append_audit(key.as_str(), audit).await?;
        Ok(Judgement {
            name: name.to_owned(),
            version,
            alias: alias.to_owned(),
            champion,
            passed,
            gates,
            rescored: rescored.ok().cloned(),
        })
    }

    /// Re-reads and re-hashes every artifact serving `version` reads (each
    /// fitted state and plugin component of its chain, the trainer's
    /// component, the model): a version is not promoted on bytes that went
    /// bad, with or without `--force`.
    async fn check_stored(&self, version: &ModelVersion, alias: &str) -> Result<()> {
        let mut artifacts = Vec::new();
        for c in &version.chain {
            artifacts.push((
                format!(
                    "plugin component of step `{}` ({})",
                    c.plugin.step_id, c.plugin.name
                ),
                ArtifactDigest::parse(&c.plugin.sha256)?,
            ));
            artifacts.push((
                format!("fitted state of step `{}`", c.plugin.step_id),
                c.state.clone(),
            ));
        }
        artifacts.push((
            format!(
                "plugin component of trainer `{}` ({})",
                version.trainer.step_id, version.trainer.name
            ),
            ArtifactDigest::parse(&version.trainer.sha256)?,
        ));
        artifacts.push(("model".to_owned(), version.model.clone()));
        for (which, digest) in artifacts {
            let integrity = self.artifacts.check(&digest).await?;
            if !integrity.is_intact() {
                return Err(RegistryError::DamagedArtifact(Box::new(DamagedArtifact {
                    name: version.name.clone(),
                    version: version.version,
                    alias: alias.to_owned(),
                    which,
                    digest,
                    integrity,
                    run: version.run_id.clone(),
                })));
            }
        }
        Ok(())
    }

    /// Move `alias` back to the version that held it before its current
    /// holder was promoted to it. Repeated rollbacks walk further back.
    pub async fn rollback(
        &self,
        name: &str,
        alias: &str,
        reason: &str,
        actor: &str,
    ) -> Result<Promotion> {
        let key = self.key(name)?;
        let events = self.history(name).await?;
        // Promotions push a holder, rollbacks pop one.
        let mut stack: Vec<i64> = Vec::new();
        for e in events.iter().filter(|e| e.alias.as_deref() == Some(alias)) {
            match e.action.as_str() {
                "promote" => stack.extend(e.to_version),
                "rollback" => {
                    stack.pop();
                }
                _ => {}
            }
        }
        let (Some(&current), Some(&previous)) = (
            stack.last(),
            stack.len().checked_sub(2).and_then(|i| stack.get(i)),
        ) else {
            return Err(RegistryError::NothingToRollBack {
                name: name.to_string(),
                alias: alias.to_string(),
            });
        };
        let audit = AuditEntry {
            actor,
            action: "rollback",
            alias: Some(alias),
            from_version: Some(current),
            to_version: Some(previous),
            forced: false,
            reason,
            detail: "",
        };
        self.meta
            .set_model_alias(key.as_str(), alias, previous, audit)
            .await?;
        Ok(Promotion {
            name: name.to_string(),
            alias: alias.to_string(),
            from_version: Some(current),
            to_version: previous,
            forced: false,
            gates: Vec::new(),
        })
    }

    /// The audit history of model `name`: every registration, promotion and
    /// rollback, oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<AuditEvent>> {
        self.gates(name).await?;
        Ok(self.meta.model_audit(self.key(name)?.as_str()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_replay_up_to_a_time() {
        let ev = |id, at: &str, action: &str, to| AuditEvent {
            id,
            at: at.into(),
            actor: "t".into(),
            action: action.into(),
            alias: Some("production".into()),
            from_version: None,
            to_version: Some(to),
            forced: false,
            reason: String::new(),
            detail: String::new(),
        };
        let events = vec![
            ev(1, "2026-01-01T00:00:00Z", "promote", 1),
            ev(2, "2026-02-01T00:00:00Z", "promote", 2),
            ev(3, "2026-03-01T00:00:00Z", "rollback", 1),
        ];
        let at = |t| {
            aliases_at(&events, parse_time(t).unwrap())
                .get("production")
                .copied()
        };
        assert_eq!(at("2025-12-31"), None);
        assert_eq!(at("2026-01-15"), Some(1));
        assert_eq!(at("2026-02-15 12:00:00"), Some(2));
        assert_eq!(at("2026-03-02T00:00:00Z"), Some(1));
        assert!(parse_time("yesterday").is_err());
    }
}
