//! Step ordering, events, cancellation and the run report.

mod cancel;
mod disk;
mod events;
pub mod fingerprint;
mod lock;
mod plan;
mod report;
mod runner;
mod step;
mod workdir;

pub use cancel::CancelToken;
pub use disk::{ensure_free_space, free_bytes};
pub use events::{EventSink, LogLevel, NullSink, RunEvent, StepId, StepInfo, StepStatus};
pub use fingerprint::{FileSet, StepDeps};
pub use lock::{LockError, LockInfo, RunLock, record_interrupted_run};
pub use plan::{PlannedAction, PlannedStep, RunOptions, plan_run};
pub use report::{PIPELINE_NAME, RunReport, StepReport, SummaryStatistics};
pub use runner::{PipelineError, RunOutcome, run_pipeline};
pub use step::{Step, StepContext, StepError, StepOutput};
pub use workdir::WorkDir;
