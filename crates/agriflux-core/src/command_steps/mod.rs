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
use crate::settings::{Settings, is_secret_name};
use crate::workfiles;

pub use spec::{
    AddedStep, CommandSpec, PIPELINE_FILE, PipelineFile, PipelineFileError, load_pipeline_file,
};
pub use supervise::{METRIC_PREFIX, OUTPUT_TAIL_LINES, PROGRESS_PREFIX, stop_running_commands};

/// A step that runs the user's command: a built-in one it replaces, or one it adds.
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
        self.id.clone()
    }

    fn name(&self) -> String {
        self.spec
            .name
            .clone()
            .unwrap_or_else(|| self.id.name().into())
    }

    fn description(&self) -> String {
        self.spec
            .description
            .clone()
            .unwrap_or_else(|| self.id.description().into())
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
                if out.contains_key(&key) {
                    ctx.warn(format!(
                        "{file}: figure {key:?} ignored: the step's own {key} keeps its value"
                    ));
                } else {
                    out.insert(key, value);
                }
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
        let mut deps = StepDeps::new()
            .setting("command", command)
            .setting("shell", self.spec.shell);
        for (key, value) in &self.spec.env {
            // Recorded in the fingerprint and quoted in the plan's reasons: a secret-named
            // variable by a hash of its value, never the value.
            let recorded = if is_secret_name(key) {
                format!(
                    "(secret, hash {:016x})",
                    xxhash_rust::xxh3::xxh3_64(value.as_bytes())
                )
            } else {
                value.clone()
            };
            deps = deps.setting(&format!("env.{key}"), recorded);
        }
        deps = deps
            .inputs(Self::file_sets(workdir, &self.spec.inputs))
            .outputs(Self::file_sets(workdir, &self.spec.outputs));
        if let Some(metrics) = &self.spec.metrics {
            deps = deps.outputs([FileSet::file(workdir.root().join(metrics))]);
        }
        Some(deps)
    }
}

/// The steps of a run in `workdir`: the built-in ones, each replaced by its command where
/// `agriflux.toml` declares one, and the commands it adds after them.
pub fn pipeline_steps(workdir: &WorkDir) -> Result<Vec<Box<dyn Step>>, PipelineFileError> {
    let mut built_in = crate::steps::standard_steps();
    let path = workdir.root().join(PIPELINE_FILE);
    let Some(file) = load_pipeline_file(&path)? else {
        return Ok(built_in);
    };
    let order = file.order(&path)?;
    let mut steps = Vec::with_capacity(order.len());
    for id in order {
        let spec = file
            .replaced
            .get(&id)
            .or_else(|| file.added.iter().find(|a| a.id == id).map(|a| &a.spec));
        let step = match spec {
            Some(spec) => Box::new(CommandStep::new(id, spec.clone())) as Box<dyn Step>,
            None => {
                let at = built_in.iter().position(|s| s.id() == id);
                built_in.remove(at.expect("every built-in id has its step"))
            }
        };
        steps.push(step);
    }
    Ok(steps)
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
