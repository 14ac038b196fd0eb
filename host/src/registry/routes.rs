//! Traffic policies: how `sluice serve` shares a model's requests between
//! its versions. Declared with the model in the pipeline file, changed
//! with `sluice models route`, stored with the model, audited like
//! promotions.
//!
//! ```toml
//! [models.churn.serving]
//! split = { production = 90, canary = 10 }  # weights by alias or `vN`
//! key = "customer_id"                       # sticky by this input column
//! mirror = { to = "staging", percent = 5 }  # shadow traffic
//! passthrough = ["customer_id"]             # echoed beside the answers
//! ```
//!
//! A request for the bare model name goes to one arm of the split, drawn
//! from a stable hash of its key (the `x-sluice-key` header, else the
//! policy's `key` column's value in the request's first row), so the same
//! key always sees the same arm while the split is unchanged; a request
//! without a key draws at random. A request naming an alias or version
//! (`NAME@ALIAS`, `NAME:3`) is never routed. A mirrored request is also
//! answered by the mirror's version, whose answer is logged and counted,
//! never returned.

use super::{Registry, RegistryError, Result};
use crate::meta::AuditEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A model's traffic policy: see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingPolicy {
    /// Weights by arm: an alias, or `vN` for version N. Empty: every
    /// request goes to `production`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub split: BTreeMap<String, f64>,
    /// The input column whose value (in a request's first row) is the
    /// sticky key when the request has no `x-sluice-key` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Shadow traffic: a share of requests also answered by another arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Mirror>,
    /// Request columns the model does not use, echoed beside its answers
    /// without being asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passthrough: Vec<String>,
}

/// Shadow traffic: `percent` of requests also go to `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    /// The arm the copies go to: an alias or `vN`.
    pub to: String,
    /// The share of requests copied, 0 to 100.
    pub percent: f64,
}

/// What an arm names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arm {
    /// An alias.
    Alias(String),
    /// A version.
    Version(i64),
}

impl Arm {
    /// `vN` is a version, anything else an alias; the error says what an
    /// arm may be.
    pub fn parse(text: &str) -> std::result::Result<Arm, String> {
        if let Some(n) = text.strip_prefix('v')
            && let Ok(v) = n.parse::<i64>()
        {
            return if v >= 1 {
                Ok(Arm::Version(v))
            } else {
                Err(format!("`{text}` is not a version: versions start at v1"))
            };
        }
        if !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            Ok(Arm::Alias(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an arm: name an alias (letters, digits, '-' or '_') or a version as vN"
            ))
        }
    }
}

/// The draw of `key` for model `model` and `purpose`, in [0, 1): the same
/// key always draws the same number (sha256, so across processes and
/// releases too).
fn draw(model: &str, purpose: &str, key: &str) -> f64 {
    let digest = Sha256::new()
        .chain_update(model.as_bytes())
        .chain_update([0])
        .chain_update(purpose.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let mut top = [0u8; 8];
    top.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(top) >> 11) as f64 / (1u64 << 53) as f64
}

/// A random key, for a request that has none.
fn random_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl ServingPolicy {
    /// Check the policy's syntax and numbers; the error names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (arm, weight) in &self.split {
            Arm::parse(arm).map_err(|e| format!("split: {e}"))?;
            if !weight.is_finite() || *weight < 0.0 {
                return Err(format!(
                    "split: the weight of `{arm}` is {weight}: weights are numbers >= 0"
                ));
            }
        }
        if !self.split.is_empty() && self.split.values().sum::<f64>() <= 0.0 {
            return Err("split: every weight is 0: give at least one arm a weight above 0".into());
        }
        if let Some(m) = &self.mirror {
            Arm::parse(&m.to).map_err(|e| format!("mirror.to: {e}"))?;
            if !(0.0..=100.0).contains(&m.percent) {
                return Err(format!(
                    "mirror.percent is {}: give a share from 0 to 100",
                    m.percent
                ));
            }
        }
        if let Some(key) = &self.key
            && key.trim().is_empty()
        {
            return Err("key: name an input column".into());
        }
        Ok(())
    }

    /// The arms, with weights above 0, in name order.
    pub fn arms(&self) -> Vec<(&str, f64)> {
        self.split
            .iter()
            .filter(|(_, w)| **w > 0.0)
            .map(|(a, w)| (a.as_str(), *w))
            .collect()
    }

    /// The arm a request with `key` goes to among `available` (the arms
    /// whose alias or version exists now; the others are skipped and the
    /// weights of the rest share the traffic). `None` when none is.
    pub fn choose<'p>(
        &'p self,
        model: &str,
        key: Option<&str>,
        available: impl Fn(&str) -> bool,
    ) -> Option<&'p str> {
        let arms: Vec<(&str, f64)> = self
            .arms()
            .into_iter()
            .filter(|(a, _)| available(a))
            .collect();
        let total: f64 = arms.iter().map(|(_, w)| w).sum();
        if arms.is_empty() || total <= 0.0 {
            return None;
        }
        let point = match key {
            Some(k) => draw(model, "split", k),
            None => draw(model, "split", &random_key()),
        } * total;
        let mut upto = 0.0;
        for (arm, weight) in &arms {
            upto += weight;
            if point < upto {
                return Some(arm);
            }
        }
        arms.last().map(|(a, _)| *a)
    }

    /// Whether a request with `key` is also sent to the mirror.
    pub fn mirrors(&self, model: &str, key: Option<&str>) -> bool {
        let Some(m) = &self.mirror else {
            return false;
        };
        let point = match key {
            Some(k) => draw(model, "mirror", k),
            None => draw(model, "mirror", &random_key()),
        };
        point * 100.0 < m.percent
    }

    /// The policy in one line, for people: `production=90 canary=10, key
    /// customer_id, mirror 5% to staging`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.split.is_empty() {
            parts.push("production=100".to_owned());
        } else {
            parts.push(
                self.split
                    .iter()
                    .map(|(a, w)| format!("{a}={w}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        if let Some(k) = &self.key {
            parts.push(format!("key {k}"));
        }
        if let Some(m) = &self.mirror {
            parts.push(format!("mirror {}% to {}", m.percent, m.to));
        }
        if !self.passthrough.is_empty() {
            parts.push(format!("passthrough {}", self.passthrough.join(",")));
        }
        parts.join(", ")
    }
}

fn parse_stored(name: &str, json: Option<String>) -> Result<Option<ServingPolicy>> {
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| {
            RegistryError::Invalid(format!(
                "the stored traffic policy of model `{name}` does not parse: {e}"
            ))
        })
    })
    .transpose()
}

/// The audit line of a route change to `detail` (the policy, JSON).
fn route_audit<'a>(actor: &'a str, reason: &'a str, detail: &'a str) -> AuditEntry<'a> {
    AuditEntry {
        actor,
        action: "route",
        alias: None,
        from_version: None,
        to_version: None,
        forced: false,
        reason,
        detail,
    }
}

impl Registry {
    /// Model `name`'s traffic policy in force, if it has one.
    pub async fn serving(&self, name: &str) -> Result<Option<ServingPolicy>> {
        let row = self
            .meta
            .model_serving(self.key(name)?.as_str())
            .await?
            .ok_or_else(|| RegistryError::NoModel(name.to_string()))?;
        parse_stored(name, row.in_force)
    }

    /// Put `policy` in force for `name` (`None` clears it: bare-name
    /// requests then go to `production`), audited as `route`. Every arm
    /// and the mirror must name an alias or version that exists now.
    pub async fn route(
        &self,
        name: &str,
        policy: Option<&ServingPolicy>,
        reason: &str,
        actor: &str,
    ) -> Result<()> {
        let key = self.key(name)?;
        if let Some(p) = policy {
            p.validate()
                .map_err(|e| RegistryError::Invalid(format!("the route of `{name}`: {e}")))?;
            let aliases = self.aliases(name).await?;
            let versions = self.versions(name).await?;
            let mut arms: Vec<&str> = p.split.keys().map(String::as_str).collect();
            arms.extend(p.mirror.as_ref().map(|m| m.to.as_str()));
            for arm in arms {
                let exists = match Arm::parse(arm).map_err(RegistryError::Invalid)? {
                    Arm::Alias(a) => aliases.contains_key(&a),
                    Arm::Version(v) => versions.contains(&v),
                };
                if !exists {
                    return Err(RegistryError::Invalid(format!(
                        "the route of `{name}` names `{arm}`, which is {}",
                        if arm.starts_with('v') && arm[1..].parse::<i64>().is_ok() {
                            format!("not a version of `{name}`")
                        } else {
                            format!(
                                "not an alias of `{name}` (promote a version to it first: \
                                 `sluice models promote {name} N --to {arm}`)"
                            )
                        }
                    )));
                }
            }
        } else {
            self.serving(name).await?;
        }
        let json = policy.map(|p| serde_json::to_string(p).expect("a policy serializes"));
        let audit = route_audit(actor, reason, json.as_deref().unwrap_or(""));
        self.meta
            .set_model_serving(key.as_str(), json.as_deref(), false, audit)
            .await?;
        Ok(())
    }

    /// Apply the policy a pipeline file declares for `name`, unless it is
    /// the one the file declared last time (so a route changed with
    /// [`route`](Self::route) survives runs of an unchanged file). Arms
    /// need not exist yet: the server skips those that do not. Returns
    /// whether it changed anything.
    pub async fn declare_serving(
        &self,
        name: &str,
        policy: &ServingPolicy,
        pipeline: &str,
        actor: &str,
    ) -> Result<bool> {
        let key = self.key(name)?;
        policy
            .validate()
            .map_err(|e| RegistryError::Invalid(format!("[models.{name}.serving]: {e}")))?;
        let row = self
            .meta
            .model_serving(key.as_str())
            .await?
            .ok_or_else(|| RegistryError::NoModel(name.to_string()))?;
        if parse_stored(name, row.declared)?.as_ref() == Some(policy) {
            return Ok(false);
        }
        let json = serde_json::to_string(policy).expect("a policy serializes");
        let reason = format!("declared by pipeline `{pipeline}`");
        let audit = route_audit(actor, &reason, &json);
        self.meta
            .set_model_serving(key.as_str(), Some(&json), true, audit)
            .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(split: &[(&str, f64)]) -> ServingPolicy {
        ServingPolicy {
            split: split.iter().map(|(a, w)| (a.to_string(), *w)).collect(),
            ..ServingPolicy::default()
        }
    }

    #[test]
    fn the_same_key_always_goes_to_the_same_arm_and_the_weights_hold() {
        let p = policy(&[("production", 80.0), ("canary", 20.0)]);
        let mut canary = 0;
        for i in 0..10_000 {
            let key = format!("customer-{i}");
            let arm = p.choose("churn", Some(&key), |_| true).unwrap();
            assert_eq!(p.choose("churn", Some(&key), |_| true), Some(arm));
            canary += usize::from(arm == "canary");
        }
        // 2,000 expected; a binomial's sd here is 40.
        assert!((1_800..2_200).contains(&canary), "{canary}");
        // Another model draws independently.
        let differs = (0..100)
            .filter(|i| {
                let key = format!("customer-{i}");
                p.choose("churn", Some(&key), |_| true) != p.choose("other", Some(&key), |_| true)
            })
            .count();
        assert!(differs > 0);
    }

    #[test]
    fn missing_arms_are_skipped_and_zero_weights_get_nothing() {
        let p = policy(&[("production", 1.0), ("canary", 1.0), ("off", 0.0)]);
        for i in 0..200 {
            let key = i.to_string();
            assert_eq!(
                p.choose("m", Some(&key), |a| a != "canary"),
                Some("production")
            );
            assert_ne!(p.choose("m", Some(&key), |_| true), Some("off"));
        }
        assert_eq!(p.choose("m", None, |_| false), None);
    }

    #[test]
    fn mirror_shares_follow_the_percentage() {
        let mut p = policy(&[("production", 1.0)]);
        p.mirror = Some(Mirror {
            to: "staging".into(),
            percent: 25.0,
        });
        let n = (0..4_000)
            .filter(|i| p.mirrors("m", Some(&i.to_string())))
            .count();
        assert!((850..1_150).contains(&n), "{n}");
        p.mirror.as_mut().unwrap().percent = 0.0;
        assert!(!(0..100).any(|i| p.mirrors("m", Some(&i.to_string()))));
        p.mirror.as_mut().unwrap().percent = 100.0;
        assert!((0..100).all(|i| p.mirrors("m", Some(&i.to_string()))));
    }

    #[test]
    fn bad_policies_are_refused_naming_the_field() {
        let bad = |p: ServingPolicy, says: &str| {
            let e = p.validate().unwrap_err();
            assert!(e.contains(says), "{e}");
        };
        bad(policy(&[("a", -1.0)]), "weight of `a`");
        bad(policy(&[("a", 0.0), ("b", 0.0)]), "every weight is 0");
        bad(policy(&[("no spaces", 1.0)]), "not an arm");
        bad(policy(&[("v0", 1.0)]), "versions start at v1");
        let mut p = policy(&[("production", 1.0)]);
        p.mirror = Some(Mirror {
            to: "staging".into(),
            percent: 101.0,
        });
        bad(p, "mirror.percent");
        assert_eq!(Arm::parse("v3"), Ok(Arm::Version(3)));
        assert_eq!(Arm::parse("vip"), Ok(Arm::Alias("vip".into())));
    }
}
