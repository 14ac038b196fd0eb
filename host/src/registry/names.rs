//! Model names and the keys they are stored under.
//!
//! All tenants' models share the registry's tables; a model is stored
//! under a [`ModelKey`]: its plain name for the default tenant,
//! `TENANT/NAME` for every other. A key is made only from a name that
//! passed [`check_model_name`] (which refuses `/`) and the acting tenant,
//! so a key names exactly one tenant's model, and no text a user types can
//! become another tenant's key. Every query of the registry binds a
//! `ModelKey`, never a name as given.

use super::name_rule::{NameRule, check_model_name};
use crate::tenants::DEFAULT_TENANT;

/// Where one tenant's models are stored: the prefix of their keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyScope {
    /// `""` for the default tenant, `TENANT/` for the others.
    prefix: String,
}

/// The stored key of one tenant's model. Made only by [`KeyScope::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ModelKey(String);

impl ModelKey {
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl KeyScope {
    pub(super) fn of(tenant: &str) -> Self {
        KeyScope {
            prefix: if tenant == DEFAULT_TENANT {
                String::new()
            } else {
                format!("{tenant}/")
            },
        }
    }

    /// The key of `name` in this scope, if `name` is a model name.
    pub(super) fn key(&self, name: &str) -> Result<ModelKey, NameRule> {
        check_model_name(name)?;
        Ok(ModelKey(format!("{}{name}", self.prefix)))
    }

    /// The name a stored key shows as, if the key is in this scope.
    pub(super) fn name_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let name = key.strip_prefix(&self.prefix)?;
        check_model_name(name).is_ok().then_some(name)
    }

    /// The prefix of every key in this scope (`""` for the default
    /// tenant, whose keys hold no `/`).
    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_slash_or_reserved_characters_are_refused() {
        assert_eq!(check_model_name("churn-v2.1_x"), Ok(()));
        assert_eq!(check_model_name(""), Err(NameRule::Empty));
        assert_eq!(check_model_name("alpha/churn"), Err(NameRule::Slash));
        assert_eq!(check_model_name("/churn"), Err(NameRule::Slash));
        for bad in ["a@b", "a:b", "a b", "a\tb"] {
            assert_eq!(check_model_name(bad), Err(NameRule::Reserved), "{bad}");
        }
    }

    #[test]
    fn a_key_names_one_tenants_model_and_no_name_reaches_another_tenants_key() {
        let default = KeyScope::of(DEFAULT_TENANT);
        let alpha = KeyScope::of("alpha");
        let beta = KeyScope::of("beta");
        assert_eq!(default.key("churn").unwrap().as_str(), "churn");
        assert_eq!(alpha.key("churn").unwrap().as_str(), "alpha/churn");
        // The form alpha's model is stored under is not a name for anyone.
        for scope in [&default, &alpha, &beta] {
            assert_eq!(scope.key("alpha/churn"), Err(NameRule::Slash));
        }
        assert_eq!(alpha.name_of("alpha/churn"), Some("churn"));
        assert_eq!(beta.name_of("alpha/churn"), None);
        assert_eq!(default.name_of("alpha/churn"), None);
        assert_eq!(default.name_of("churn"), Some("churn"));
        assert_eq!(alpha.name_of("churn"), None);
    }
}
