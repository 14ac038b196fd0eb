//! The deterministic pieces sluice's host and its plugins share, so both
//! compute the same bits from the same inputs: the seeded SplitMix64 stream
//! and its shuffle ([`random`]), and the classifier score formulas with
//! scikit-learn's conventions ([`metrics`]).
//!
//! Plain Rust with no dependencies: the host links it directly, and the
//! Rust SDK (`sluice-sdk`) re-exports it at its old paths
//! (`sluice_sdk::random`, `sluice_sdk::metrics`), so plugin code does not
//! name this crate. Not for anything that needs the SDK's tables, params or
//! WIT bindings: those helpers stay in the SDK.

#![deny(missing_docs)]

pub mod metrics;
pub mod random;
