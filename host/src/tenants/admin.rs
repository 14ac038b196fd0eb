//! Who may change tenants.
//!
//! A tenant's caps and grants (`allowed_dirs`) are what bounds its
//! untrusted pipelines, so creating a tenant or changing its caps is an
//! admin operation. `--tenant NAME` (and, later, a server request's tenant)
//! is a claim of whose view to act in, not a proof of who is asking: it
//! cannot be the authority to change caps, or `--tenant alpha tenants set
//! alpha allowed_dirs=/` would let a tenant grant itself the host.
//!
//! The authority is a value: [`Admin`]. [`MetaStore::create_tenant`] and
//! [`MetaStore::set_tenant_caps`] take one, and only this module can make
//! one, so every caller has to say where its authority comes from:
//!
//! - **A local home** (the CLI, SQLite and files): the OS user who can
//!   write the home owns every tenant in it, and no check inside sluice
//!   could stop them editing its database. The CLI gets an `Admin` from
//!   [`Admin::home_owner`], which grants it only when acting as the default
//!   tenant (no `--tenant`): a command or script acting for one tenant is
//!   refused, with a message saying how to do it as the owner.
//! - **A shared deployment** (the coming HTTP server over PostgreSQL): the
//!   server process owns the database and acts for many callers, so it must
//!   not use `home_owner`; it gets an `Admin` only from an authenticated
//!   admin credential, through a constructor added beside the server's
//!   authentication. A handler without one cannot call the functions that
//!   change tenants: the type checker enforces what a review would
//!   otherwise have to.
//!
//! [`MetaStore::create_tenant`]: crate::meta::MetaStore::create_tenant
//! [`MetaStore::set_tenant_caps`]: crate::meta::MetaStore::set_tenant_caps

use super::DEFAULT_TENANT;

/// The authority to create tenants and change their caps. Made only by
/// this module's constructors; see the module docs.
#[derive(Debug, Clone)]
pub struct Admin {
    _sealed: (),
}

/// Acting as a tenant that may not change tenants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "creating tenants and changing their caps is an admin operation, and `--tenant {tenant}` \
     acts for one tenant only; run the command as the home's owner, without --tenant or \
     SLUICE_TENANT"
)]
pub struct NotAdmin {
    /// The tenant the caller acts as.
    pub tenant: String,
}

impl Admin {
    /// The owner of a local home, who owns every tenant in it: granted
    /// only to a caller acting as the default tenant.
    pub fn home_owner(acting_as: &str) -> Result<Admin, NotAdmin> {
        if acting_as == DEFAULT_TENANT {
            Ok(Admin { _sealed: () })
        } else {
            Err(NotAdmin {
                tenant: acting_as.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_default_tenant_owns_a_local_home() {
        assert!(Admin::home_owner(DEFAULT_TENANT).is_ok());
        let e = Admin::home_owner("alpha").unwrap_err();
        assert_eq!(e.tenant, "alpha");
        let text = e.to_string();
        assert!(text.contains("admin operation"), "{text}");
        assert!(text.contains("`--tenant alpha`"), "{text}");
        assert!(text.contains("without --tenant"), "{text}");
    }
}
