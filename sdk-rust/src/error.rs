//! The error a step returns to the host.

use std::fmt;

/// What kind of failure a [`StepError`] is. The host shows it to the user
/// and decides whether a retry or a different configuration could help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The params do not fit the plugin's schema or each other.
    InvalidParams,
    /// The input table is not what the plugin can work with.
    InvalidInput,
    /// Anything else that went wrong inside the plugin.
    Internal,
}

impl ErrorKind {
    /// The name the WIT contract uses for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidParams => "invalid-params",
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed step: a kind and a message that says what failed and, where it
/// can, what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// What failed, for the user: names the column, param or value at fault.
    pub message: String,
}

impl StepError {
    /// An error of any kind; the constructors per kind below are shorter.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StepError {
            kind,
            message: message.into(),
        }
    }

    /// The params do not fit the plugin's schema or each other.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParams, message)
    }

    /// The input table is not what the plugin can work with.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Anything else that went wrong inside the plugin.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for StepError {}
