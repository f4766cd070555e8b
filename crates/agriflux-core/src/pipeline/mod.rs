//! Step ordering, events, cancellation and the run report.

mod disk;
mod error;
mod events;
pub mod fingerprint;
mod lock;
mod plan;
mod report;
mod runner;
mod step;
mod workdir;

pub use agriflux_base::CancelToken;
pub use disk::{NotEnoughSpace, ensure_free_space, free_bytes};
pub use error::PipelineError;
pub use events::{
    AddedStepName, EventSink, LogLevel, NullSink, PlannedAction, PlannedStep, RunEvent, StepId,
    StepInfo, StepStatus,
};
pub use fingerprint::{FileSet, StepDeps};
pub use lock::{LockError, LockInfo, RunLock, record_interrupted_run};
pub use plan::{RunOptions, plan_run};
pub use report::{PIPELINE_NAME, RunReport, StepReport, SummaryStatistics};
pub use runner::{RunOutcome, run_pipeline};
pub use step::{Step, StepContext, StepError, StepOutput};
pub use workdir::WorkDir;
