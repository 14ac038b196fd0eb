//! sluice's integration tests: one binary, a module per area. Plugins are
//! built from source (scripts/build-plugins.sh) the first time a test asks
//! for one; the S3 tests start Garage (scripts/garage.sh) once.

mod bad_pipelines;
mod browser;
pub mod cache;
mod conformance;
mod continuous;
mod crash;
mod datafiles;
mod dataset_dirs;
mod datasets;
mod docs;
mod example;
mod gc;
mod grants;
mod history;
mod hostile_corpus;
mod housekeeping;
mod install;
mod integrity;
mod iterate;
mod languages;
mod layers;
mod lowered;
mod model_session;
mod monitor;
mod nan_bits;
mod one_hot;
mod output_files;
mod parallel;
mod plan_checks;
mod predict_input;
mod registry;
mod registry_tenants;
mod runs_views;
pub mod s3;
mod s3_datasets;
mod search;
mod serve;
mod serve_batch;
mod serve_log;
mod serve_routes;
mod support;
mod tenants;
mod terminal_output;
mod transform_columns;
mod triggers;
