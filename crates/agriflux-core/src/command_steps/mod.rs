//! The user's own commands as steps. `agriflux.toml` in the work directory may replace any
//! built-in step with a command, which the runner supervises like the others: its output
//! streams into the step's log as it comes, a small line protocol drives the progress bar and
//! the live curves, its inputs and outputs are fingerprinted for incremental runs, and a
//! timeout or a Cancel stops its whole process group.
//!
//! ```toml
//! [steps.train_cnn]
//! command = ["python3", "scripts/train_cnn.py", "--epochs", "{cnn-epochs}"]
//! inputs = ["data/training/cnn_*_real.npy"]
//! outputs = ["models/cnn_real.*"]
//! metrics = "models/cnn_real_metrics.json"
//! timeout = 7200
//! ```
//!
//! Without the file nothing changes.

mod spec;
mod supervise;

use serde_json::{Value, json};

use crate::pipeline::{
    FileSet, Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir,
};
use crate::settings::Settings;
use crate::workfiles;

pub use spec::{CommandSpec, PIPELINE_FILE, PipelineFile, PipelineFileError, load_pipeline_file};
pub use supervise::{METRIC_PREFIX, OUTPUT_TAIL_LINES, PROGRESS_PREFIX};

/// A built-in step replaced by the user's command.
pub struct CommandStep {
    id: StepId,
    spec: CommandSpec,
}

impl CommandStep {
    /// The command of `spec` as step `id`.
    pub fn new(id: StepId, spec: CommandSpec) -> Self {
        Self { id, spec }
    }

    /// The command as it would run now, as one line: placeholders filled from `settings`, or
    /// the placeholder that cannot be.
    fn command_text(&self, workdir: &WorkDir, settings: &Settings) -> Result<String, String> {
        self.spec
            .resolved_command(workdir, settings)
            .map(|argv| shell_words(&argv))
    }

    fn file_sets(workdir: &WorkDir, patterns: &[String]) -> Vec<FileSet> {
        patterns
            .iter()
            .map(|p| FileSet::glob(workdir.root().join(p)))
            .collect()
    }
}

impl Step for CommandStep {
    fn id(&self) -> StepId {
        self.id
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let argv = self
            .spec
            .resolved_command(ctx.workdir, ctx.settings)
            .map_err(StepError::Failed)?;
        let (script, args) = self.spec.script_and_args(&argv);
        // The seed's console lines for a script step.
        ctx.info(format!("Script: {script}"));
        ctx.info(format!("Arguments: {}", args.join(" ")));
        ctx.info(format!("Executing: {}", shell_words(&argv)));
        let finished = supervise::run_command(ctx, &self.spec, &argv)?;
        let mut out = StepOutput::new();
        out.insert("script".into(), json!(script));
        out.insert("args".into(), json!(args));
        out.insert("exit_code".into(), json!(finished.exit_code));
        out.insert("output_lines".into(), json!(finished.lines));
        if let Some(file) = &self.spec.metrics {
            for (key, value) in read_metrics(ctx.workdir, file)? {
                out.insert(key, value);
            }
        }
        Ok(out)
    }

    fn external_command(&self, workdir: &WorkDir, settings: &Settings) -> Option<String> {
        Some(
            self.command_text(workdir, settings)
                .unwrap_or_else(|e| format!("(cannot be resolved: {e})")),
        )
    }

    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        // The command line is a setting of the step: changing it (or a setting it names) runs
        // the step again, and everything after it.
        let command = self
            .command_text(workdir, settings)
            .unwrap_or_else(|e| format!("unresolved: {e}"));
        let env: Vec<String> = self
            .spec
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut deps = StepDeps::new()
            .setting("command", command)
            .setting("shell", self.spec.shell)
            .setting("env", env.join(" "))
            .inputs(Self::file_sets(workdir, &self.spec.inputs))
            .outputs(Self::file_sets(workdir, &self.spec.outputs));
        if let Some(metrics) = &self.spec.metrics {
            deps = deps.outputs([FileSet::file(workdir.root().join(metrics))]);
        }
        Some(deps)
    }
}

/// The steps of a run in `workdir`: the built-in ones, each replaced by its command where
/// `agriflux.toml` declares one.
pub fn pipeline_steps(workdir: &WorkDir) -> Result<Vec<Box<dyn Step>>, PipelineFileError> {
    let built_in = crate::steps::standard_steps();
    let Some(file) = load_pipeline_file(&workdir.root().join(PIPELINE_FILE))? else {
        return Ok(built_in);
    };
    Ok(built_in
        .into_iter()
        .map(|step| match file.steps.get(&step.id()) {
            Some(spec) => Box::new(CommandStep::new(step.id(), spec.clone())) as Box<dyn Step>,
            None => step,
        })
        .collect())
}

/// The numbers of a command's metrics file, for the step's summary and the report. Read as
/// any file of the work directory is: no link out of it, no FIFO, no huge file.
fn read_metrics(workdir: &WorkDir, file: &str) -> Result<Vec<(String, Value)>, StepError> {
    let path = workdir.root().join(file);
    let bytes = workfiles::read_capped_within(workdir.root(), &path, workfiles::REPORT_CAP)
        .map_err(|e| {
            StepError::failed(format!(
                "the command did not write its metrics file {}: {e}",
                path.display()
            ))
        })?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| StepError::failed(format!("{} is not JSON: {e}", path.display())))?;
    let Value::Object(map) = value else {
        return Err(StepError::failed(format!(
            "{} must hold a JSON object of named figures",
            path.display()
        )));
    };
    Ok(map
        .into_iter()
        .filter(|(_, v)| v.is_number() || v.is_string() || v.is_boolean())
        .collect())
}

/// An argument list as one readable line, quoting what a shell would split.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
