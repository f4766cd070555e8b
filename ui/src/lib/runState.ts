// Framework-agnostic run view state: folds RunEvents into step cards. `applyEvent` mutates the
// state it is given (cheap for log bursts) and bumps `rev` on what it touched; the Svelte
// wrapper (runStore.svelte.ts) renders a shallow snapshot once per animation frame.
import type { LogLevel, PlannedStep, RunEvent, StepId, StepStatus } from './bridge';

export const MAX_LOG_LINES = 2000;

/** Step order and names before the first `run_started` tells the real ones. */
export const DEFAULT_STEPS: { id: StepId; name: string }[] = [
  { id: 'download', name: 'Download Real Satellite Data' },
  { id: 'validate', name: 'Validate Data Quality' },
  { id: 'cnn_dataset', name: 'Prepare CNN Training Data' },
  { id: 'lstm_dataset', name: 'Prepare LSTM Training Data' },
  { id: 'train_cnn', name: 'Train CNN Model' },
  { id: 'train_lstm', name: 'Train LSTM Model' },
  { id: 'compare', name: 'Compare Model Performance' },
  { id: 'update_env', name: 'Update Configuration' },
];

export type LogLine = { level: LogLevel; message: string };
export type Point = { x: number; value: number };
export type Progress = { done: number; total: number; unit: string; message: string };
/** Where the ETA measurement started: client time and `done` then (same unit and total). */
export type ProgressBase = { t: number; done: number; unit: string; total: number };

export type StepState = {
  id: StepId;
  number: number;
  name: string;
  description: string;
  /** The command line of a step agriflux.toml runs as an external command; null for a built-in step. */
  command: string | null;
  status: StepStatus;
  progress: Progress | null;
  progressBase: ProgressBase | null;
  /** Client time of `step_started` when seen live; null after a replay. */
  startedAt: number | null;
  lastProgressAt: number | null;
  durationS: number | null;
  error: string | null;
  outputSummary: Record<string, unknown> | null;
  reason: string | null;
  reusedFrom: string | null;
  logs: LogLine[];
  /** Lines received in total (the store keeps only the last MAX_LOG_LINES). */
  logTotal: number;
  metrics: Record<string, Point[]>;
  rev: number;
};

export type RunFinish = { status: StepStatus; reportPath: string; summary: Record<string, unknown> };

export type RunViewState = {
  runId: string | null;
  startedAt: string | null;
  source: 'simulated' | 'sentinel-hub' | 'files' | null;
  sourceReason: string;
  settings: Record<string, unknown>;
  interruptedRunReport: string | null;
  plan: PlannedStep[] | null;
  steps: StepState[];
  running: boolean;
  finished: RunFinish | null;
  /** Sequence number of the next event expected for `runId`. */
  nextSeq: number;
  rev: number;
};

function newStep(id: StepId, number: number, name: string, description = '', command: string | null = null): StepState {
  return {
    id, number, name, description, command, status: 'pending', progress: null, progressBase: null,
    startedAt: null, lastProgressAt: null, durationS: null, error: null, outputSummary: null,
    reason: null, reusedFrom: null, logs: [], logTotal: 0, metrics: {}, rev: 0,
  };
}

export function initialState(): RunViewState {
  return {
    runId: null, startedAt: null, source: null, sourceReason: '', settings: {},
    interruptedRunReport: null, plan: null,
    steps: DEFAULT_STEPS.map((s, i) => newStep(s.id, i + 1, s.name)),
    running: false, finished: null, nextSeq: 0, rev: 0,
  };
}

function stepOf(state: RunViewState, id: StepId): StepState {
  let step = state.steps.find((s) => s.id === id);
  if (!step) {
    step = newStep(id, state.steps.length + 1, id);
    state.steps.push(step);
  }
  return step;
}

function pushLog(step: StepState, line: LogLine): void {
  step.logs.push(line);
  step.logTotal += 1;
  // Trim in chunks so a burst costs amortised O(1) per line.
  if (step.logs.length > MAX_LOG_LINES * 1.25) step.logs.splice(0, step.logs.length - MAX_LOG_LINES);
}

/**
 * Whether a step has live curves to chart: any step that sent `step_metric` points (steps 5-7,
 * a command step of agriflux.toml with `agriflux:metric` lines).
 */
export function hasCurves(step: StepState): boolean {
  return Object.keys(step.metrics).length > 0;
}

/** Keeps at most MAX_LOG_LINES per step (call before rendering). */
export function trimLogs(step: StepState): void {
  if (step.logs.length > MAX_LOG_LINES) step.logs.splice(0, step.logs.length - MAX_LOG_LINES);
}

/**
 * Applies one event. `now` is the client clock for live events (ETA and elapsed time); leave it
 * out when replaying history, whose timing is unknown.
 */
export function applyEvent(state: RunViewState, event: RunEvent, now?: number): RunViewState {
  state.rev += 1;
  if (event.type === 'run_started') {
    const fresh = initialState();
    Object.assign(state, fresh, {
      runId: event.run_id, startedAt: event.started_at, source: event.source,
      sourceReason: event.source_reason, settings: event.settings,
      interruptedRunReport: event.interrupted_run_report ?? null, plan: event.plan ?? null,
      running: true, nextSeq: state.nextSeq, rev: state.rev,
      steps: event.steps.map((s) =>
        newStep(s.id, s.number, s.name, s.description, event.plan?.find((p) => p.step === s.id)?.command ?? null),
      ),
    });
    return state;
  }
  if (event.type === 'run_finished') {
    state.running = false;
    state.finished = { status: event.status, reportPath: event.report_path, summary: event.summary };
    return state;
  }
  const step = stepOf(state, event.step);
  step.rev += 1;
  switch (event.type) {
    case 'step_started':
      step.status = 'running';
      step.startedAt = now ?? null;
      step.progress = null;
      step.progressBase = null;
      break;
    case 'step_progress': {
      const base = step.progressBase;
      if (now !== undefined && (!base || base.unit !== event.unit || base.total !== event.total || event.done < base.done)) {
        step.progressBase = { t: now, done: event.done, unit: event.unit, total: event.total };
      }
      step.progress = { done: event.done, total: event.total, unit: event.unit, message: event.message };
      step.lastProgressAt = now ?? null;
      break;
    }
    case 'step_metric':
      (step.metrics[event.series] ??= []).push({ x: event.x, value: event.value });
      break;
    case 'step_log':
      pushLog(step, { level: event.level, message: event.message });
      break;
    case 'step_finished':
      step.status = event.status;
      step.durationS = event.duration_s;
      step.error = event.error;
      step.outputSummary = event.output_summary ?? {};
      step.reason = event.reason ?? null;
      step.reusedFrom = event.reused_from ?? null;
      step.progressBase = null;
      break;
  }
  return state;
}

/** Seconds left, from the rate seen since the progress base; null when unknown. */
export function etaSeconds(step: StepState, now: number): number | null {
  const p = step.progress;
  const base = step.progressBase;
  if (!p || !base || p.total <= 0 || p.done <= base.done || now <= base.t) return null;
  const rate = (p.done - base.done) / ((now - base.t) / 1000);
  return rate > 0 ? Math.max(0, (p.total - p.done) / rate) : null;
}

/** The step a failed, cancelled or interrupted run stopped at. */
export function stoppedStep(state: RunViewState): StepState | null {
  const bad: StepStatus[] = ['failed', 'cancelled', 'interrupted'];
  return state.steps.find((s) => bad.includes(s.status)) ?? state.steps.find((s) => s.status === 'running') ?? null;
}
