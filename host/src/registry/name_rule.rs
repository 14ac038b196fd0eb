//! The one rule for model names, when a pipeline declares a model, when
//! registering and when looking up. A leaf every layer may use; how a
//! name becomes a tenant's stored key is `names`'.

/// Which rule a text breaks, so it is not a model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameRule {
    /// The name is empty.
    #[error("a model name cannot be empty")]
    Empty,
    /// The name holds `/`, which separates a tenant's prefix in model keys.
    #[error(
        "a model name cannot contain `/`; a tenant names only its own models, by their plain names"
    )]
    Slash,
    /// The name holds `@`, `:` or whitespace, which model references use.
    #[error("a model name cannot contain '@', ':' or spaces; use letters, digits, '-', '_' or '.'")]
    Reserved,
}

/// The one rule for model names, when registering and when looking up.
pub fn check_model_name(name: &str) -> Result<(), NameRule> {
    if name.is_empty() {
        Err(NameRule::Empty)
    } else if name.contains('/') {
        Err(NameRule::Slash)
    } else if name.contains(['@', ':']) || name.contains(char::is_whitespace) {
        Err(NameRule::Reserved)
    } else {
        Ok(())
    }
}
