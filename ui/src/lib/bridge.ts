// The desktop bridge (docs/app-bridge.md): payload types mirrored as-is (snake_case) and typed
// wrappers around the Tauri commands and the one `run-events` event. Nothing else talks to
// the backend. A failing command rejects with a plain string: the message to show.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type StepId =
  | 'download'
  | 'validate'
  | 'cnn_dataset'
  | 'lstm_dataset'
  | 'train_cnn'
  | 'train_lstm'
  | 'compare'
  | 'update_env';

export type StepStatus =
  | 'pending'
  | 'running'
  | 'success'
  | 'failed'
  | 'skipped'
  | 'cancelled'
  | 'interrupted'
  | 'up_to_date';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type PlannedStep = {
  step: StepId;
  action: 'run' | 'up_to_date' | 'skip';
  reason: string;
  reused_from: string | null;
  /** For a Sentinel Hub download that runs: its estimated cost. */
  cost?: {
    dates: number;
    processing_units: number;
    requests: number;
    pu_budget: number | null;
  };
};

export type RunEvent =
  | {
      type: 'run_started';
      run_id: string;
      started_at: string;
      source: 'simulated' | 'sentinel-hub' | 'files';
      source_reason: string;
      steps: { id: StepId; number: number; name: string; description: string }[];
      settings: Record<string, unknown>;
      interrupted_run_report: string | null;
      plan?: PlannedStep[];
    }
  | { type: 'step_started'; step: StepId; number: number; total: number }
  | { type: 'step_progress'; step: StepId; done: number; total: number; unit: string; message: string }
  | { type: 'step_metric'; step: StepId; series: string; x: number; value: number }
  | { type: 'step_log'; step: StepId; level: LogLevel; message: string }
  | {
      type: 'step_finished';
      step: StepId;
      status: StepStatus;
      duration_s: number;
      error: string | null;
      output_summary: Record<string, unknown>;
      reason?: string | null;
      reused_from?: string | null;
    }
  | { type: 'run_finished'; status: StepStatus; report_path: string; summary: Record<string, unknown> };

export type EventBatch = { run_id: string; first_seq: number; events: RunEvent[] };

export type AppInfo = {
  version: string;
  workdir: string;
  env_path: string;
  source: { kind: 'simulated' | 'sentinel-hub' | 'files'; label: string; reason: string };
};

export type RunOptions = {
  skip_download: boolean;
  skip_validation: boolean;
  from_step: StepId | null;
  force: boolean;
};

export type LiveRun = { run_id: string; running: boolean; next_seq: number; events: RunEvent[] };

export type RunSummary = {
  report_file: string;
  run_id: string;
  started_at: string;
  status: StepStatus;
  source: string;
  /** The badge text: "Simulated data", "Sentinel Hub", "Copernicus Data Space" … */
  source_label: string;
  simulated: boolean;
  duration_s: number;
  cnn_accuracy: number | null;
  lstm_mae: number | null;
  stopped_at: { step: StepId; name: string; status: StepStatus; error: string | null } | null;
};

/** A figure on the test split with its 95 % bootstrap interval. */
export type Estimate = { value: number; ci_low: number; ci_high: number };

/** A model's test figures (keys such as macro_f1 or mae) and its baselines' figures. */
export type Evaluation = {
  [figure: string]: unknown;
  baselines?: Record<string, Record<string, Estimate>>;
  labels?: {
    from_ndvi: boolean;
    note?: string;
    /** Where ground observations came from (a file, or the simulated truth). */
    from?: string | null;
    observations_used?: number;
  };
};

export type ReportView = {
  summary: RunSummary;
  headline: {
    cnn: {
      accuracy: number;
      kappa: number | null;
      synthetic_accuracy: number | null;
      improvement_points: number | null;
      improvement_relative_pct: number | null;
      split: 'test';
    } | null;
    lstm: {
      mae: number;
      r2: number | null;
      persistence_mae: number | null;
      synthetic_mae: number | null;
      split: 'test';
    } | null;
    /** Figures with 95 % intervals beside the baselines (absent in older reports). */
    cnn_evaluation?: Evaluation | null;
    lstm_evaluation?: Evaluation | null;
    /** Step 8's gate: whether the models were switched on, and why. */
    gate?: { enable: boolean; forced: boolean; mode: string; reason: string } | null;
  };
  steps: {
    step: StepId;
    number: number;
    name: string;
    status: StepStatus;
    duration_s: number | null;
    error: string | null;
    output_summary: Record<string, unknown>;
  }[];
  settings: Record<string, unknown>;
  charts: { name: string; title: string; svg: string }[];
  charts_note: string | null;
};

export type SettingsField = {
  key: string;
  label: string;
  help: string;
  kind: 'text' | 'number' | 'date' | 'select' | 'secret' | 'bbox';
  value: string;
  placeholder: string;
  options: string[] | null;
  is_set: boolean;
};

export type SettingsView = {
  env_path: string;
  groups: { id: string; title: string; fields: SettingsField[] }[];
};

export type SettingsCheck = {
  errors: Record<string, string>;
  area: { width_px: number; height_px: number; km2: number } | null;
};

export type SaveOutcome = {
  ok: boolean;
  errors: Record<string, string>;
  changes: { key: string; from: string; to: string }[];
  env_path: string;
};

export type ReportFolder = 'reports' | 'workdir' | 'logs';

/** Turns a rejected command (a plain string, or anything else) into the message to show. */
export function errorText(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  return String(err);
}

export const appInfo = () => invoke<AppInfo>('app_info');
export const startRun = (options: RunOptions) => invoke<{ run_id: string }>('start_run', { options });
export const cancelRun = () => invoke<null>('cancel_run');
export const runState = () => invoke<LiveRun | null>('run_state');
export const planRun = (options: RunOptions) => invoke<PlannedStep[]>('plan_run', { options });
export const listRuns = () => invoke<RunSummary[]>('list_runs');
export const loadReport = (report_file: string) => invoke<ReportView>('load_report', { report_file });
export const exportReport = (report_file: string) => invoke<string>('export_report', { report_file });
export const openFolder = (folder: ReportFolder) => invoke<null>('open_folder', { folder });
export const readSettings = () => invoke<SettingsView>('read_settings');
export const checkSettings = (values: Record<string, string>) =>
  invoke<SettingsCheck>('check_settings', { values });
export const saveSettings = (values: Record<string, string>) =>
  invoke<SaveOutcome>('save_settings', { values });
export const testConnection = () => invoke<{ ok: boolean; message: string }>('test_connection');

/** Subscribes to `run-events`; resolves once the listener is registered. */
export function onRunEvents(handler: (batch: EventBatch) => void): Promise<UnlistenFn> {
  return listen<EventBatch>('run-events', (event) => handler(event.payload));
}
