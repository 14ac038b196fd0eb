//! Pipelines: the file ([`definition`]) -> a validated [`plan::Plan`] ->
//! the [`executor`] that runs it.

pub mod cache;
pub mod definition;
pub mod executor;
pub mod forecast;
pub mod params;
pub mod plan;
pub mod search;
pub mod seed;

pub use definition::{Part, PipelineFile};
pub use plan::{
    PipelineError, Plan, PlanOptions, RecordedPlanError, load_plan, plan_file, recorded_plan,
};
