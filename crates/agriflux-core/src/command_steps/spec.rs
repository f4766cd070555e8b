//! `agriflux.toml`: what each command step runs, read with the `toml` crate; every error names
//! the file and the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::pipeline::{StepId, WorkDir};
use crate::settings::form::SECRET_KEY;
use crate::settings::{Settings, option};
use crate::workfiles;

/// The pipeline file's name, in the work directory.
pub const PIPELINE_FILE: &str = "agriflux.toml";

/// Why the pipeline file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PipelineFileError {
    /// It exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A line of it is wrong.
    #[error("{path}, line {line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The (1-based) line.
        line: usize,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// One command step, as `[steps.<id>]` declares it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// For a step the file adds (its id is not a built-in step's): the step it comes after.
    #[serde(default)]
    pub after: Option<String>,
    /// The human name shown in the console, the report and the app.
    #[serde(default)]
    pub name: Option<String>,
    /// One sentence saying what the step does.
    #[serde(default)]
    pub description: Option<String>,
    /// The program and its arguments (one string, a shell command line, with `shell = true`);
    /// `{setting}` placeholders (`{cnn-epochs}`, `{workdir}`) are filled in.
    pub command: Vec<String>,
    /// Run `command` (one string) through `sh -c`.
    #[serde(default)]
    pub shell: bool,
    /// Extra environment variables for the command.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds before the command is stopped and the step fails as timed out.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Globs (relative to the work directory) of the files the command reads.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Globs of the files it writes.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// A JSON file the command writes whose figures go into the step's summary.
    #[serde(default)]
    pub metrics: Option<String>,
    /// `.env` secrets the command is given by name (none by default).
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// The parsed pipeline file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineFile {
    /// The command of each built-in step it replaces.
    pub replaced: BTreeMap<StepId, CommandSpec>,
    /// The steps it adds, in the order they are declared in.
    pub added: Vec<AddedStep>,
}

/// A step the pipeline file adds after another one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedStep {
    /// Its id.
    pub id: StepId,
    /// The line of its table, for messages.
    pub line: usize,
    /// The step it comes after (a built-in one or another added one).
    pub after: StepId,
    /// What it runs.
    pub spec: CommandSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    steps: BTreeMap<String, CommandSpec>,
}

/// The secrets a command may ask for by name.
pub(super) const SECRETS: &[&str] = &[SECRET_KEY];

/// Reads the pipeline file at `path`; `None` when there is none.
pub fn load_pipeline_file(path: &Path) -> Result<Option<PipelineFile>, PipelineFileError> {
    // Read as any file of the work directory is: a FIFO or a huge file is an error, not a hang.
    let bytes = match workfiles::read_capped(path, workfiles::INDEX_CAP) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PipelineFileError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| PipelineFileError::Invalid {
        path: path.to_path_buf(),
        line: 1,
        message: "the file is not UTF-8 text".into(),
    })?;
    parse(path, &text).map(Some)
}

fn parse(path: &Path, text: &str) -> Result<PipelineFile, PipelineFileError> {
    let invalid = |line: usize, message: String| PipelineFileError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
        invalid(line, format!("{}{}", key_at(text, line), e.message()))
    })?;
    let mut file = PipelineFile::default();
    // The tables in the order they appear, so that steps added after the same one keep it.
    let mut tables: Vec<(usize, String, CommandSpec)> = raw
        .steps
        .into_iter()
        .map(|(name, spec)| (table_line(text, &name), name, spec))
        .collect();
    tables.sort_by_key(|(line, _, _)| *line);
    let names: Vec<String> = tables.iter().map(|(_, n, _)| n.clone()).collect();
    for (line, name, spec) in tables {
        let id = step_id(&name, &spec, &names).map_err(|m| invalid(line, m))?;
        if spec.command.is_empty() || spec.command[0].trim().is_empty() {
            return Err(invalid(line, format!("steps.{name}.command: empty")));
        }
        if spec.shell && spec.command.len() != 1 {
            return Err(invalid(
                line,
                format!("steps.{name}.command: with shell = true, give one command line"),
            ));
        }
        if spec.timeout == Some(0) {
            return Err(invalid(
                line,
                format!("steps.{name}.timeout: must be at least 1 second"),
            ));
        }
        for secret in &spec.secrets {
            if !SECRETS.contains(&secret.as_str()) {
                return Err(invalid(
                    line,
                    format!(
                        "steps.{name}.secrets: {secret} is not a secret AgriFlux holds (only {})",
                        SECRETS.join(", ")
                    ),
                ));
            }
        }
        for pattern in spec.inputs.iter().chain(&spec.outputs) {
            if let Err(e) = glob::Pattern::new(pattern) {
                return Err(invalid(
                    line,
                    format!("steps.{name}: bad glob {pattern:?}: {e}"),
                ));
            }
            if Path::new(pattern).is_absolute() || pattern.split('/').any(|c| c == "..") {
                return Err(invalid(
                    line,
                    format!("steps.{name}: {pattern:?} must stay inside the work directory"),
                ));
            }
        }
        match (&id, &spec.after) {
            (StepId::Added(_), Some(after)) => {
                let after = StepId::parse(after).ok_or_else(|| {
                    invalid(
                        line,
                        format!("steps.{name}.after: {after:?} is not a step name"),
                    )
                })?;
                if after == id {
                    return Err(invalid(
                        line,
                        format!("steps.{name}.after: a step cannot come after itself"),
                    ));
                }
                file.added.push(AddedStep {
                    id,
                    line,
                    after,
                    spec,
                });
            }
            _ => {
                file.replaced.insert(id, spec);
            }
        }
    }
    file.order(path)?;
    Ok(file)
}

impl PipelineFile {
    /// Every step id of the pipeline in order: the built-in ones, each added step right after
    /// the one it names (after those already added there, so that file order is kept). The
    /// error names an added step whose `after` keys go round in a cycle; `path` is the file's.
    pub fn order(&self, path: &Path) -> Result<Vec<StepId>, PipelineFileError> {
        let mut order: Vec<StepId> = StepId::ALL.to_vec();
        let mut waiting: Vec<&AddedStep> = self.added.iter().collect();
        while !waiting.is_empty() {
            let before = waiting.len();
            waiting.retain(|step| {
                let Some(at) = order.iter().position(|id| *id == step.after) else {
                    return true;
                };
                let end = order[at + 1..]
                    .iter()
                    .position(|id| !matches!(id, StepId::Added(_)))
                    .map_or(order.len(), |i| at + 1 + i);
                order.insert(end, step.id.clone());
                false
            });
            if waiting.len() == before {
                let step = waiting[0];
                return Err(PipelineFileError::Invalid {
                    path: path.to_path_buf(),
                    line: step.line,
                    message: format!(
                        "steps.{}.after: the after keys go round in a cycle ({} comes after {})",
                        step.id, step.id, step.after
                    ),
                });
            }
        }
        Ok(order)
    }
}

/// The 1-based line of `[steps.<name>]` (1 when it cannot be found, e.g. an inline table).
fn table_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim();
            l.starts_with('[')
                && l.trim_matches(['[', ']', ' '])
                    .split('.')
                    .map(|part| part.trim().trim_matches('"'))
                    .eq(["steps", name])
        })
        .map_or(1, |i| i + 1)
}

/// The id of table `[steps.<name>]`: a built-in step it replaces (no `after`), or a step it
/// adds (with `after` naming a built-in step or another table).
fn step_id(name: &str, spec: &CommandSpec, tables: &[String]) -> Result<StepId, String> {
    let built_in: Vec<&str> = StepId::ALL.iter().map(|s| s.as_str()).collect();
    if let Some(id) = StepId::built_in(name) {
        return match &spec.after {
            None => Ok(id),
            Some(_) => Err(format!(
                "steps.{name}.after: {name} is a built-in step, which a command replaces in \
                 place; to add a step, give it a name of its own"
            )),
        };
    }
    let Some(added) = crate::pipeline::AddedStepName::new(name) else {
        return Err(format!(
            "steps.{name}: a step's name is a lowercase letter, then lowercase letters, digits \
             and _ (at most 64)"
        ));
    };
    match &spec.after {
        None => Err(format!(
            "steps.{name}: no built-in step is called {name} (they are {}); to add a step, say \
             where it goes with after = \"<step>\"",
            built_in.join(", ")
        )),
        Some(after) if StepId::built_in(after).is_none() && !tables.iter().any(|t| t == after) => {
            Err(format!(
                "steps.{name}.after: no step is called {after} (the steps are {}, and those \
                 this file adds)",
                built_in.join(", ")
            ))
        }
        Some(_) => Ok(StepId::Added(added)),
    }
}

/// `steps.<id>.<key>: ` for the key assigned on `line` (1-based), as far as the text says.
fn key_at(text: &str, line: usize) -> String {
    let table = text
        .lines()
        .take(line)
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .last()
        .map(|l| l.trim_matches(['[', ']', ' ']).to_string());
    let key = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_string());
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}: "),
        (Some(one), None) | (None, Some(one)) => format!("{one}: "),
        (None, None) => String::new(),
    }
}

impl CommandSpec {
    /// The argument list with every placeholder filled in, or the placeholder that cannot be.
    pub fn resolved_command(
        &self,
        workdir: &WorkDir,
        settings: &Settings,
    ) -> Result<Vec<String>, String> {
        let argv: Vec<String> = self
            .command
            .iter()
            .map(|part| fill(part, workdir, settings))
            .collect::<Result<_, _>>()?;
        Ok(if self.shell {
            vec!["sh".into(), "-c".into(), argv[0].clone()]
        } else {
            argv
        })
    }

    /// The script (the first argument that names a file, e.g. `train.py` of `python3 train.py
    /// …`, else the program) and the arguments after it, as the seed's console shows them.
    pub fn script_and_args(&self, argv: &[String]) -> (String, Vec<String>) {
        let script_at = if self.shell {
            0
        } else {
            argv.iter()
                .skip(1)
                .position(|a| !a.starts_with('-') && Path::new(a).extension().is_some())
                .map_or(0, |i| i + 1)
        };
        (argv[script_at].clone(), argv[script_at + 1..].to_vec())
    }
}

/// `text` with each `{name}` (a lowercase setting name such as `{cnn-epochs}`) replaced by
/// that setting; `{{` and `}}` are braces. Other braces stay as they are, so that a shell's
/// `${VAR}` or a JSON object in an argument needs no escaping.
fn fill(text: &str, workdir: &WorkDir, settings: &Settings) -> Result<String, String> {
    let is_name = |name: &str| {
        name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let placeholder_end = tail
            .strip_prefix('{')
            .and_then(|after| after.find('}'))
            .map(|end| (end + 1, &tail[1..end + 1]));
        match placeholder_end {
            Some((end, name)) if is_name(name) => {
                out.push_str(&placeholder(name, workdir, settings)?);
                rest = &tail[end + 1..];
            }
            _ => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn placeholder(name: &str, workdir: &WorkDir, settings: &Settings) -> Result<String, String> {
    let name = name.trim().replace('_', "-");
    match name.as_str() {
        "workdir" => Ok(workdir.root().display().to_string()),
        _ => option(&name)
            .map(|spec| (spec.current)(settings))
            .ok_or_else(|| format!("no setting is called {{{name}}}")),
    }
}
