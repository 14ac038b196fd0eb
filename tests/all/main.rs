//! sluice's integration tests: one binary, a module per area. Plugins are
//! built from source (scripts/build-plugins.sh) the first time a test asks
//! for one.

mod bad_pipelines;
mod conformance;
mod example;
mod grants;
mod hostile_corpus;
mod languages;
mod registry;
mod support;
mod tenants;
