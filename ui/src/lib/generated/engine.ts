// Generated from the engine's Rust types by src-tauri/src/bindings.rs: do not edit.
// After changing a type: UPDATE_BINDINGS=1 cargo test -p agriflux-app bindings

/**
 * Stable machine name of a step: one of the eight built-in steps, or one that the work
 * directory's `agriflux.toml` adds after them (`[steps.<name>]` with `after = …`).
 *
 * It is serialised as its machine name (`"train_cnn"`, `"export_csv"`).
 */
export type StepId = string;

/**
 * Where a step (or a whole run) stands.
 */
export type StepStatus = "pending" | "running" | "success" | "failed" | "skipped" | "cancelled" | "interrupted" | "up_to_date";

/**
 * Severity of a step's log line.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * Where scenes come from.
 */
export type SourceKind = "simulated" | "sentinel-hub" | "files";

/**
 * A step as announced at the start of a run.
 */
export type StepInfo = { 
/**
 * Machine name.
 */
id: StepId, 
/**
 * 1-based position.
 */
number: number, 
/**
 * Human name.
 */
name: string, 
/**
 * One-sentence description.
 */
description: string, };

/**
 * The estimated cost of a Sentinel Hub download.
 */
export type CostEstimate = { 
/**
 * Dates to fetch (one Process request each).
 */
dates: number, 
/**
 * Grid of one request, px.
 */
width: number, 
/**
 * Rows of one request, px.
 */
height: number, 
/**
 * Processing units per date.
 */
pu_per_date: number, 
/**
 * Processing units in total.
 */
processing_units: number, 
/**
 * Catalog pages expected (one feature per acquisition every 5 days; overlapping tiles
 * can add more).
 */
catalog_pages: number, 
/**
 * HTTP requests: catalog pages, one Process request per date, one token.
 */
requests: number, 
/**
 * The processing-unit budget compared with, if any.
 */
pu_budget: number | null, };

/**
 * What a run will do with a step.
 */
export type PlannedAction = "run" | "up_to_date" | "skip";

/**
 * One step of a plan.
 */
export type PlannedStep = { 
/**
 * Which step.
 */
step: StepId, 
/**
 * Its 1-based position in this pipeline.
 */
number: number, 
/**
 * Its human name.
 */
name: string, 
/**
 * Run, up to date, or skip.
 */
action: PlannedAction, 
/**
 * Why, e.g. `setting cnn_epochs changed from 2 to 3`.
 */
reason: string, 
/**
 * For an up-to-date step, the run that produced its outputs.
 */
reused_from: string | null, 
/**
 * For a download from Sentinel Hub that runs: the estimated processing units and requests.
 */
cost?: CostEstimate | null, 
/**
 * For a command step of the work directory's `agriflux.toml`: the command line it runs.
 */
command?: string | null, };

/**
 * One event of a run, serialised as tagged JSON (`{"type": "step_started", …}`).
 */
export type RunEvent = { "type": "run_started", 
/**
 * Unique id of the run (also its folder under `logs/runs/`).
 */
run_id: string, 
/**
 * ISO 8601 start time.
 */
started_at: string, 
/**
 * Where the scenes come from.
 */
source: SourceKind, 
/**
 * Why that source was chosen.
 */
source_reason: string, 
/**
 * The steps, in order.
 */
steps: Array<StepInfo>, 
/**
 * The resolved settings (no secrets).
 */
settings: Record<string, unknown>, 
/**
 * The report written for an earlier run found interrupted (its process died).
 */
interrupted_run_report: string | null, 
/**
 * What the run will do with each step, and why (computed before any step runs).
 */
plan: Array<PlannedStep>, } | { "type": "step_started", 
/**
 * Which step.
 */
step: StepId, 
/**
 * Its 1-based position.
 */
number: number, 
/**
 * How many steps the run has.
 */
total: number, } | { "type": "step_progress", 
/**
 * Which step.
 */
step: StepId, 
/**
 * Units done.
 */
done: number, 
/**
 * Units in all.
 */
total: number, 
/**
 * What a unit is: `scenes`, `epochs`, `patches` …
 */
unit: string, 
/**
 * A short line about the current unit.
 */
message: string, } | { "type": "step_metric", 
/**
 * Which step.
 */
step: StepId, 
/**
 * Curve name.
 */
series: string, 
/**
 * X value (epoch).
 */
x: number, 
/**
 * Y value.
 */
value: number, } | { "type": "step_log", 
/**
 * Which step.
 */
step: StepId, 
/**
 * Severity.
 */
level: LogLevel, 
/**
 * The line.
 */
message: string, } | { "type": "step_finished", 
/**
 * Which step.
 */
step: StepId, 
/**
 * How it ended.
 */
status: StepStatus, 
/**
 * Seconds it ran.
 */
duration_s: number, 
/**
 * The error, when it failed or was cancelled.
 */
error: string | null, 
/**
 * The step's own figures (for an up-to-date step, those of the run that produced it).
 */
output_summary: Record<string, unknown>, 
/**
 * Why the step ran, was reused or was skipped.
 */
reason: string | null, 
/**
 * For an up-to-date step, the run whose outputs were reused.
 */
reused_from: string | null, } | { "type": "run_finished", 
/**
 * `success`, `failed` or `cancelled`.
 */
status: StepStatus, 
/**
 * Where the run report was written.
 */
report_path: string, 
/**
 * The report's `summary_statistics`.
 */
summary: Record<string, unknown>, };

/**
 * A batch of consecutive events of one run, as sent to the window.
 */
export type EventBatch = { 
/**
 * The run the events belong to.
 */
run_id: string, 
/**
 * Sequence number of the first event (0 is `run_started`).
 */
first_seq: number, 
/**
 * The events, in order.
 */
events: Array<RunEvent>, };

/**
 * Everything the window needs to rebuild a run's view.
 */
export type LiveRun = { 
/**
 * The run's id (empty until the engine has started it).
 */
run_id: string, 
/**
 * Whether the run is still going.
 */
running: boolean, 
/**
 * Sequence number of the next event.
 */
next_seq: number, 
/**
 * The events kept, in order (log lines trimmed per step).
 */
events: Array<RunEvent>, };

/**
 * What the window asks for when it presses Run.
 */
export type RunOptions = { 
/**
 * Mark step 1 skipped and use the scenes already downloaded.
 */
skip_download: boolean, 
/**
 * Mark step 2 skipped.
 */
skip_validation: boolean, 
/**
 * Re-run from this step on, even if later steps are up to date.
 */
from_step: StepId | null, 
/**
 * Re-run every step.
 */
force: boolean, };

/**
 * The answer to `start_run`.
 */
export type StartedRun = { 
/**
 * The new run's id.
 */
run_id: string, };

/**
 * The data source badge of the header.
 */
export type SourceBadge = { 
/**
 * Where a run would take its scenes from.
 */
kind: SourceKind, 
/**
 * "Simulated data", "Sentinel Hub", "Copernicus Data Space" …
 */
label: string, 
/**
 * Why this source is used.
 */
reason: string, };

/**
 * What the header shows.
 */
export type AppInfo = { 
/**
 * The app's version.
 */
version: string, 
/**
 * The work directory.
 */
workdir: string, 
/**
 * Its `.env`.
 */
env_path: string, 
/**
 * The source a run would use now.
 */
source: SourceBadge, };

/**
 * A folder opened before.
 */
export type RecentFolder = { 
/**
 * Its absolute path.
 */
path: string, 
/**
 * Its last component, for a short label.
 */
name: string, 
/**
 * Whether it still exists (a removed folder is listed, greyed, so the user knows why).
 */
exists: boolean, 
/**
 * Whether it holds run reports.
 */
has_runs: boolean, };

/**
 * The work directory open now and the folders the user can switch to.
 */
export type WorkspaceView = { 
/**
 * The open work directory; `None` on a first start (the welcome view).
 */
current: string | null, 
/**
 * Folders opened before, newest first.
 */
recent: Array<RecentFolder>, 
/**
 * Where "Try it with simulated data" makes (or reuses) its folder.
 */
demo_folder: string | null, };

/**
 * One bundled piece and its licence.
 */
export type BundledLicence = { 
/**
 * What it is ("Chart font: Ubuntu Light").
 */
item: string, 
/**
 * Where it comes from.
 */
origin: string, 
/**
 * Its licence (SPDX where there is one).
 */
licence: string, };

/**
 * What the About box shows.
 */
export type AboutView = { 
/**
 * The app's version.
 */
version: string, 
/**
 * The engine's (`agriflux-core`) version.
 */
engine_version: string, 
/**
 * The day the app was built (UTC, `YYYY-MM-DD`).
 */
build_date: string, 
/**
 * The app's licence.
 */
licence: string, 
/**
 * What the app bundles, with licences.
 */
bundled: Array<BundledLicence>, 
/**
 * The folder of `agriflux-studio.log`.
 */
log_folder: string, 
/**
 * The folder of the app's own settings (recent folders).
 */
config_folder: string, };

/**
 * A figure on the test split with its 95 % percentile-bootstrap interval.
 */
export type Estimate = { 
/**
 * The figure on the whole test split.
 */
value: number, 
/**
 * Lower end of the 95 % interval.
 */
ci_low: number, 
/**
 * Upper end of the 95 % interval.
 */
ci_high: number, };

/**
 * Where a run that did not succeed stopped.
 */
export type StoppedAt = { 
/**
 * The step.
 */
step: StepId, 
/**
 * Its human name.
 */
name: string, 
/**
 * `failed`, `cancelled` or `interrupted`.
 */
status: StepStatus, 
/**
 * Its error message.
 */
error: string | null, };

/**
 * One line of the history.
 */
export type RunSummary = { 
/**
 * The report's file name in `logs/`.
 */
report_file: string, 
/**
 * The run's id.
 */
run_id: string, 
/**
 * ISO 8601 start.
 */
started_at: string, 
/**
 * Overall status.
 */
status: StepStatus, 
/**
 * `simulated` or `sentinel-hub`.
 */
source: string, 
/**
 * The source as the badge says it: "Simulated data", "Sentinel Hub", "Copernicus Data Space" …
 */
source_label: string, 
/**
 * Whether the scenes were simulated.
 */
simulated: boolean, 
/**
 * Seconds from start to end.
 */
duration_s: number, 
/**
 * CNN test accuracy, when the CNN was trained (or reused) in this run.
 */
cnn_accuracy: number | null, 
/**
 * LSTM test MAE, when the LSTM was trained (or reused) in this run.
 */
lstm_mae: number | null, 
/**
 * The step where a failed, cancelled or interrupted run stopped.
 */
stopped_at: StoppedAt | null, };

/**
 * CNN headline figures (test split).
 */
export type CnnHeadline = { 
/**
 * Test accuracy.
 */
accuracy: number, 
/**
 * Cohen's kappa on the test split.
 */
kappa: number | null, 
/**
 * Test accuracy of the model trained on synthetic data.
 */
synthetic_accuracy: number | null, 
/**
 * Improvement over the synthetic baseline, in percentage points.
 */
improvement_points: number | null, 
/**
 * Improvement over the synthetic baseline, relative, in percent.
 */
improvement_relative_pct: number | null, 
/**
 * Always `test`.
 */
split: "test", };

/**
 * LSTM headline figures (test split).
 */
export type LstmHeadline = { 
/**
 * Mean absolute error of the predicted NDVI.
 */
mae: number, 
/**
 * Coefficient of determination.
 */
r2: number | null, 
/**
 * MAE of the persistence baseline (last value carried forward).
 */
persistence_mae: number | null, 
/**
 * MAE of the model trained on synthetic data.
 */
synthetic_mae: number | null, 
/**
 * Always `test`.
 */
split: "test", };

/**
 * The figures shown first in a report.
 */
export type Headline = { 
/**
 * CNN figures, when the CNN was trained.
 */
cnn: CnnHeadline | null, 
/**
 * LSTM figures, when the LSTM was trained.
 */
lstm: LstmHeadline | null, 
/**
 * The CNN's figures with 95 % intervals, baselines, support and split sizes (the
 * report's `cnn_evaluation`; absent in reports of older versions).
 */
cnn_evaluation: { [figure: string]: unknown; baselines?: Record<string, Record<string, Estimate>>; labels?: { from_ndvi: boolean; note?: string; from?: string | null; observations_used?: number } } | null, 
/**
 * The LSTM's figures with 95 % intervals and baselines (`lstm_evaluation`).
 */
lstm_evaluation: { [figure: string]: unknown; baselines?: Record<string, Record<string, Estimate>> } | null, 
/**
 * Step 8's gate decision (`model_gate`): enable, forced, reason.
 */
gate: { enable: boolean; forced: boolean; mode: string; reason: string } | null, };

/**
 * One step's line in a report.
 */
export type StepLine = { 
/**
 * Which step.
 */
step: StepId, 
/**
 * Its position.
 */
number: number, 
/**
 * Its human name.
 */
name: string, 
/**
 * How it ended.
 */
status: StepStatus, 
/**
 * Seconds it ran.
 */
duration_s: number | null, 
/**
 * Its error.
 */
error: string | null, 
/**
 * Its own figures.
 */
output_summary: Record<string, unknown>, };

/**
 * A chart of a run: name (also the UI test id), title and SVG document.
 */
export type ChartView = { 
/**
 * Stable name, e.g. `cnn_confusion`.
 */
name: string, 
/**
 * Title.
 */
title: string, 
/**
 * The SVG document made by the engine.
 */
svg: string, };

/**
 * The latest date's maps in a run's report: the health and forecast layers and the fields.
 */
export type ReportMap = { 
/**
 * `YYYY-MM-DD`.
 */
date: string, 
/**
 * Whether the scenes are simulated.
 */
simulated: boolean, 
/**
 * The health classes' names, by class number.
 */
class_names: Array<string>, 
/**
 * The health and forecast layers.
 */
layers: Array<MapLayer>, 
/**
 * The fields, neediest first.
 */
fields: Array<MapField>, 
/**
 * What the maps rest on.
 */
notes: Array<string>, };

/**
 * Everything the report view shows for one run.
 */
export type ReportView = { 
/**
 * The run's history line.
 */
summary: RunSummary, 
/**
 * Headline figures.
 */
headline: Headline, 
/**
 * Every step.
 */
steps: Array<StepLine>, 
/**
 * The settings the run used (no secrets).
 */
settings: Record<string, unknown>, 
/**
 * The run's own charts.
 */
charts: Array<ChartView>, 
/**
 * Why there are no charts, when there are none.
 */
charts_note: string | null, 
/**
 * The latest date's health and forecast maps with the fields: only in the latest run's
 * report (the maps use the current models) and only once they are made.
 */
map: ReportMap | null, };

/**
 * The folders the window may open: only these, never a path it names.
 */
export type Folder = "reports" | "workdir" | "logs";

/**
 * One write of `.env`.
 */
export type EnvChangeRecord = { 
/**
 * ISO 8601 time of the write.
 */
at: string, 
/**
 * Who wrote: `settings panel`, `step 8 of run <id>`, `agriflux models off` …
 */
by: string, 
/**
 * The run whose step 8 wrote, if a run did.
 */
run_id: string | null, 
/**
 * The keys written.
 */
changes: Array<SettingsChange>, };

/**
 * How a field is edited.
 */
export type FieldKind = "text" | "number" | "date" | "select" | "secret" | "bbox";

/**
 * One field of the form.
 */
export type SettingsField = { 
/**
 * The `.env` key.
 */
key: string, 
/**
 * A short label.
 */
label: string, 
/**
 * One line of help.
 */
help: string, 
/**
 * How it is edited.
 */
kind: FieldKind, 
/**
 * The value in `.env` (`""` when unset; always `""` for the secret).
 */
value: string, 
/**
 * The value used when the field is unset.
 */
placeholder: string, 
/**
 * The choices of a select field.
 */
options: Array<string> | null, 
/**
 * Whether `.env` holds a value (the only thing said about the secret).
 */
is_set: boolean, };

/**
 * A titled group of fields.
 */
export type SettingsGroup = { 
/**
 * Stable id: `sentinel_hub`, `area`, `training`, `advanced`.
 */
id: string, 
/**
 * Title shown above the group.
 */
title: string, 
/**
 * The fields, in display order.
 */
fields: Array<SettingsField>, };

/**
 * The whole form.
 */
export type SettingsView = { 
/**
 * The `.env` file the form edits.
 */
env_path: string, 
/**
 * The groups, in display order.
 */
groups: Array<SettingsGroup>, 
/**
 * The other keys of `.env`, in file order.
 */
env_keys: Array<EnvKeyView>, 
/**
 * Every key `.env` assigns more than once, and which line is used.
 */
duplicates: Array<DuplicateKey>, };

/**
 * Size of an area at Sentinel-2's 10 m resolution.
 */
export type AreaSize = { 
/**
 * Width in pixels.
 */
width_px: number, 
/**
 * Height in pixels.
 */
height_px: number, 
/**
 * Area in square kilometres.
 */
km2: number, };

/**
 * The outcome of checking edited values.
 */
export type SettingsCheck = { 
/**
 * Reason per `.env` key, for each invalid field.
 */
errors: { [key in string]: string }, 
/**
 * Size of the area the values describe, when it is valid.
 */
area: AreaSize | null, 
/**
 * The edited keys outside the form whose names make them secrets: their inputs are
 * masked, and their values never come back.
 */
secret_keys: Array<string>, };

/**
 * One key of `.env` that the form does not show.
 */
export type EnvKeyView = { 
/**
 * The key.
 */
key: string, 
/**
 * Its value as read (`""` for a secret, which is never sent).
 */
value: string, 
/**
 * Whether the name says it is a secret: shown as set or not, replaced, never read.
 */
secret: boolean, 
/**
 * Whether it has a non-empty value.
 */
is_set: boolean, 
/**
 * The `#` lines right above it and its trailing comment.
 */
comment: string | null, 
/**
 * The (1-based) line of the assignment that is used.
 */
line: number, };

/**
 * A key assigned on more than one line.
 */
export type DuplicateKey = { 
/**
 * The key.
 */
key: string, 
/**
 * Every line that assigns it, in order.
 */
lines: Array<number>, 
/**
 * The line whose value is used: the last one, as AgriFlux (and python-dotenv) read the
 * file. Edits change that line; removing the key removes every line.
 */
used_line: number, };

/**
 * An edit of a key outside the form.
 */
export type EnvKeyEdit = { "action": "set", 
/**
 * The key.
 */
key: string, 
/**
 * The new value.
 */
value: string, } | { "action": "remove", 
/**
 * The key.
 */
key: string, };

/**
 * What the panel sends to check or save: the form's edited fields and the edits of the
 * other keys.
 */
export type SettingsEdits = { 
/**
 * Key → new text of each edited form field (`""` unsets; for the secret, keeps it).
 */
values: { [key in string]: string }, 
/**
 * Edits of the keys outside the form, in the order made.
 */
env_keys: Array<EnvKeyEdit>, };

/**
 * One key written to `.env`; a secret's values appear only as `(set)`, `(changed)` or
 * `(removed)`.
 */
export type SettingsChange = { 
/**
 * The key.
 */
key: string, 
/**
 * The old value (`""` when it was unset).
 */
from: string, 
/**
 * The new value (`""` when it was removed).
 */
to: string, };

/**
 * What saving did.
 */
export type SaveOutcome = { 
/**
 * False when a value was invalid; nothing was written then.
 */
ok: boolean, 
/**
 * Reason per key for each invalid value.
 */
errors: { [key in string]: string }, 
/**
 * What was written.
 */
changes: Array<SettingsChange>, 
/**
 * The file.
 */
env_path: string, };

/**
 * The answer of a connection test, said plainly.
 */
export type ConnectionResult = { 
/**
 * Whether the service answered.
 */
ok: boolean, 
/**
 * What works, or what is wrong.
 */
message: string, };

/**
 * A baseline's figure.
 */
export type BaselineFigure = { 
/**
 * The baseline ("majority class", "persistence" …).
 */
name: string, 
/**
 * Its figure with its interval.
 */
value: string, };

/**
 * One test figure of a model.
 */
export type ModelFigure = { 
/**
 * "CNN macro-F1", "LSTM MAE" …
 */
label: string, 
/**
 * `0.836 [0.801, 0.870]`, or the bare figure where the report has no interval.
 */
value: string, 
/**
 * The same figure for each baseline, by name.
 */
baselines: Array<BaselineFigure>, };

/**
 * A run's data and its models' test figures beside their baselines.
 */
export type RunFigures = { 
/**
 * The run.
 */
run_id: string, 
/**
 * When it started.
 */
started_at: string, 
/**
 * Its data source in words ("Simulated data", "Sentinel Hub" …).
 */
source_label: string, 
/**
 * Whether it ran on simulated data.
 */
simulated: boolean, 
/**
 * Whether its gate was forced (`--enable-models always`) rather than passed.
 */
gate_forced: boolean, 
/**
 * Its headline figures, each with its 95 % interval and its baselines'.
 */
figures: Array<ModelFigure>, };

/**
 * One switch of `USE_AI_MODELS`, from the change log.
 */
export type SwitchView = { 
/**
 * Whether it switched the models on.
 */
on: boolean, 
/**
 * Who: `step 8 of run <id>`, `app`, `agriflux models off` …
 */
by: string, 
/**
 * When (ISO 8601).
 */
at: string, 
/**
 * The value before (`""`: unset).
 */
from: string, 
/**
 * The run whose step 8 switched, if a run did.
 */
run_id: string | null, 
/**
 * That run's data and figures, while its report is still in `logs/`.
 */
run: RunFigures | null, };

/**
 * The latest run's gate.
 */
export type GateView = { 
/**
 * The run.
 */
run_id: string, 
/**
 * Its data source in words.
 */
source_label: string, 
/**
 * Whether the gate let the models through.
 */
enable: boolean, 
/**
 * Whether that was forced rather than earned.
 */
forced: boolean, 
/**
 * The gate's reason in plain words.
 */
reason: string, };

/**
 * Where the switch stands, and why.
 */
export type ModelsView = { 
/**
 * Whether `.env` switches the models on (`USE_AI_MODELS=true`).
 */
on: boolean, 
/**
 * `USE_AI_MODELS` as `.env` says it (trimmed), if set.
 */
value: string | null, 
/**
 * The `.env` file.
 */
env_path: string, 
/**
 * The last change of `USE_AI_MODELS` in the change log.
 */
last_switch: SwitchView | null, 
/**
 * The latest run's gate decision, if a run recorded one.
 */
latest_gate: GateView | null, 
/**
 * Whether `on` is allowed without force: the latest run's gate passed on its own.
 */
can_switch_on: boolean, };

/**
 * Which layer of a date's map.
 */
export type MapLayerId = "true_colour" | "ndvi" | "clouds" | "health" | "confidence" | "forecast" | "forecast_change";

/**
 * One entry of a layer's legend: a class (name and colour) or a stop of a continuous ramp,
 * low to high.
 */
export type LegendEntry = { 
/**
 * The class's name or the stop's value.
 */
label: string, 
/**
 * `#rrggbb`.
 */
colour: string, };

/**
 * One layer of a date's map: an image the size of the scene, PNG as a data URL (transparent
 * where there is no value).
 */
export type MapLayer = { 
/**
 * Which layer.
 */
id: MapLayerId, 
/**
 * Its title in the layers panel.
 */
title: string, 
/**
 * `data:image/png;base64,…`.
 */
png: string, 
/**
 * Its legend.
 */
legend: Array<LegendEntry>, 
/**
 * Whether the legend is a continuous ramp (else classes).
 */
ramp: boolean, 
/**
 * The unit of a ramp's values, if any.
 */
unit: string | null, };

/**
 * A date with imagery, for the date slider; `cloudy` when little of the area is clear.
 */
export type MapDate = { 
/**
 * `YYYY-MM-DD`.
 */
date: string, 
/**
 * Fraction of the area's pixels that are clear.
 */
clear_fraction: number, 
/**
 * Less than half the area is clear.
 */
cloudy: boolean, };

/**
 * One date of a place's or a field's season: observed mean NDVI, the LSTM's forecast of it
 * made on the date before, persistence (the last observation before), the predicted class
 * (0 healthy, 1 moderate, 2 stressed, 3 critical) and its confidence, the clear fraction.
 */
export type SeriesPoint = { 
/**
 * `YYYY-MM-DD`.
 */
date: string, 
/**
 * Fraction of the place's or field's pixels that are clear.
 */
clear_fraction: number, 
/**
 * Mean NDVI of the clear pixels (none when less than half is clear).
 */
observed: number | null, 
/**
 * The LSTM's forecast of this date's NDVI, made on the date before.
 */
forecast: number | null, 
/**
 * The persistence baseline: the last observed value before this date.
 */
persistence: number | null, 
/**
 * The predicted class (the most frequent one over a field).
 */
class: number | null, 
/**
 * Its mean probability.
 */
confidence: number | null, };

/**
 * The LSTM's forecast for the acquisition after the shown date, and its change from the
 * shown date's NDVI.
 */
export type NextForecast = { 
/**
 * The date forecast (`YYYY-MM-DD`); after the last acquisition, the usual revisit.
 */
date: string, 
/**
 * Forecast NDVI.
 */
value: number, 
/**
 * Forecast minus the shown date's NDVI.
 */
change: number | null, };

/**
 * A field's figures on one date; `class_shares` is the share of the field's predicted area in
 * each class (4 entries, or empty without a CNN).
 */
export type FieldStats = { 
/**
 * `YYYY-MM-DD`.
 */
date: string, 
/**
 * Fraction of the field's pixels that are clear.
 */
clear_fraction: number, 
/**
 * Mean NDVI of its clear pixels.
 */
ndvi_mean: number | null, 
/**
 * Their standard deviation (population).
 */
ndvi_std: number | null, 
/**
 * Share of its classified pixels in each class, Healthy to Critical.
 */
class_shares: Array<number>, 
/**
 * The LSTM's forecast for the next acquisition, mean over the field.
 */
forecast: number | null, 
/**
 * `forecast - ndvi_mean`.
 */
forecast_change: number | null, };

/**
 * A field (imported boundary) on the map: outline rings in pixel coordinates `[col, row]` of
 * the scene, its figures on the shown date, its season, and `need` (higher: visit sooner;
 * worst predicted health first).
 */
export type MapField = { 
/**
 * Its position in the fields file, from 1.
 */
id: number, 
/**
 * Its `name` property (or `Field <id>`).
 */
name: string, 
/**
 * The polygon's area in hectares (in the UTM projection of its zone).
 */
area_ha: number, 
/**
 * Rings in pixel coordinates.
 */
outline: Array<Array<[number, number]>>, 
/**
 * Its figures on the shown date.
 */
stats: FieldStats, 
/**
 * Its season.
 */
series: Array<SeriesPoint>, 
/**
 * The forecast made on the shown date.
 */
next: NextForecast | null, 
/**
 * How urgently it needs a visit: the expected stress of its predicted classes (0 all
 * healthy, 1 all critical), plus the forecast's fall; without a CNN, 1 minus mean NDVI.
 */
need: number, };

/**
 * Everything the Map view shows for one date. `bbox` is `[min x, min y, max x, max y]` in the
 * scene CRS (metres, UTM); row 0 is the top (max y).
 */
export type MapView = { 
/**
 * The shown date, `YYYY-MM-DD`.
 */
date: string, 
/**
 * Every date with imagery, oldest first.
 */
dates: Array<MapDate>, 
/**
 * Scene columns.
 */
width: number, 
/**
 * Scene rows.
 */
height: number, 
/**
 * `EPSG:<code>`.
 */
crs: string, 
/**
 * Extent in the scene CRS.
 */
bbox: [number, number, number, number], 
/**
 * Pixel size in metres.
 */
pixel_size_m: number, 
/**
 * Whether the scenes come from the built-in simulated source.
 */
simulated: boolean, 
/**
 * The health classes' names, by class number.
 */
class_names: Array<string>, 
/**
 * The date's layers.
 */
layers: Array<MapLayer>, 
/**
 * What is missing and why, and what the figures rest on.
 */
notes: Array<string>, 
/**
 * The imported fields.
 */
fields: Array<MapField>, 
/**
 * The imported fields file, if any.
 */
fields_file: string | null, };

/**
 * What lies under one pixel on one date, and the season of the 32 x 32 block around it.
 */
export type MapPoint = { 
/**
 * The date asked for, `YYYY-MM-DD`.
 */
date: string, 
/**
 * The 32 x 32 block of the series, `[col0, row0, col1, row1]` (pixel edges), if the
 * pixel lies in a whole block.
 */
block: [number, number, number, number] | null, 
/**
 * Column.
 */
col: number, 
/**
 * Row.
 */
row: number, 
/**
 * Easting of the pixel centre (scene CRS).
 */
x: number, 
/**
 * Northing of the pixel centre.
 */
y: number, 
/**
 * Longitude (WGS 84).
 */
lon: number, 
/**
 * Latitude (WGS 84).
 */
lat: number, 
/**
 * Whether the pixel is clear on this date.
 */
clear: boolean, 
/**
 * Its NDVI.
 */
ndvi: number | null, 
/**
 * Its predicted class.
 */
class: number | null, 
/**
 * The class's probability.
 */
confidence: number | null, 
/**
 * The forecast for the next acquisition (its block's).
 */
forecast: number | null, 
/**
 * The forecast minus the block's mean on this date.
 */
forecast_change: number | null, 
/**
 * The block's season.
 */
series: Array<SeriesPoint>, 
/**
 * The forecast made on this date.
 */
next: NextForecast | null, };

/**
 * Progress of computing the maps (the `map-progress` event).
 */
export type MapProgress = { 
/**
 * Dates done.
 */
done: number, 
/**
 * Dates in all.
 */
total: number, 
/**
 * What is being done.
 */
what: string, };

/**
 * The result of importing field boundaries.
 */
export type FieldsImport = { 
/**
 * Fields read.
 */
fields: number, 
/**
 * Where they are kept in the work directory.
 */
file: string, };

/**
 * What went wrong, so that the window can choose its words and actions.
 */
export type ErrorKind = "settings" | "conflict" | "not_found" | "files" | "internal";

/**
 * A failed command, as the window receives it.
 */
export type CommandError = { 
/**
 * What kind of failure.
 */
kind: ErrorKind, 
/**
 * One plain sentence, shown first.
 */
summary: string, 
/**
 * The technical cause (paths, the system's error, the parser's message), shown below.
 */
detail: string | null, };
