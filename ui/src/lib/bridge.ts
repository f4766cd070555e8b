// The desktop bridge (docs/app-bridge.md): typed wrappers around the Tauri commands and the
// `run-events` and `map-progress` events. Nothing else talks to the backend. The payload types
// are generated from the engine's Rust types (./generated/engine.ts, checked by a Rust test); a
// failing command rejects with a CommandError: a plain summary first, the technical detail below.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AboutView,
  AppInfo,
  CommandError,
  ConnectionResult,
  EnvChangeRecord,
  ErrorKind,
  EventBatch,
  FieldsImport,
  Folder,
  LiveRun,
  MapPoint,
  MapProgress,
  MapView,
  ModelsView,
  PlannedStep,
  ReportView,
  RunOptions,
  RunSummary,
  SaveOutcome,
  SettingsCheck,
  SettingsEdits,
  SettingsView,
  StartedRun,
  WorkspaceView,
} from './generated/engine';

export type * from './generated/engine';

// Every kind the engine sends: the compiler fails here when the Rust enum gains one.
const ERROR_KINDS: Record<ErrorKind, true> = {
  settings: true,
  conflict: true,
  not_found: true,
  files: true,
  internal: true,
};
const isErrorKind = (kind: unknown): kind is ErrorKind =>
  typeof kind === 'string' && Object.hasOwn(ERROR_KINDS, kind);

/**
 * Turns a rejected command into the problem to show: the backend's CommandError (an unknown
 * kind reads as internal, a missing or empty detail as none), a plain string (an older backend,
 * a mock), an Error (its message), or anything else (its text).
 */
export function problemOf(err: unknown): CommandError {
  if (typeof err === 'object' && err !== null && !(err instanceof Error)) {
    const { kind, summary, detail } = err as Record<string, unknown>;
    if (typeof summary === 'string') {
      return {
        kind: isErrorKind(kind) ? kind : 'internal',
        summary,
        detail: typeof detail === 'string' && detail.trim() !== '' ? detail : null,
      };
    }
  }
  if (typeof err === 'string') return { kind: 'internal', summary: err, detail: null };
  if (err instanceof Error) return { kind: 'internal', summary: err.message, detail: null };
  return { kind: 'internal', summary: String(err), detail: null };
}

export const appInfo = () => invoke<AppInfo>('app_info');
export const startRun = (options: RunOptions) => invoke<StartedRun>('start_run', { options });
export const cancelRun = () => invoke<null>('cancel_run');
export const runState = () => invoke<LiveRun | null>('run_state');
export const planRun = (options: RunOptions) => invoke<PlannedStep[]>('plan_run', { options });
export const listRuns = () => invoke<RunSummary[]>('list_runs');
export const loadReport = (report_file: string) => invoke<ReportView>('load_report', { report_file });
export const exportReport = (report_file: string) => invoke<string>('export_report', { report_file });
export const openFolder = (folder: Folder) => invoke<null>('open_folder', { folder });
export const envChanges = () => invoke<EnvChangeRecord[]>('env_changes');
export const readSettings = () => invoke<SettingsView>('read_settings');
export const checkSettings = (edits: SettingsEdits) => invoke<SettingsCheck>('check_settings', { edits });
export const saveSettings = (edits: SettingsEdits) => invoke<SaveOutcome>('save_settings', { edits });
export const modelsState = () => invoke<ModelsView>('models_state');
export const switchModels = (on: boolean) => invoke<ModelsView>('switch_models', { on });
export const testConnection = () => invoke<ConnectionResult>('test_connection');
/** A date's maps (null: the latest date); the first call computes every date's layers (see onMapProgress). */
export const mapView = (date: string | null) => invoke<MapView>('map_view', { date });
/** What lies under one pixel on one date. */
export const mapPoint = (date: string, col: number, row: number) => invoke<MapPoint>('map_point', { date, col, row });
/** Imports field boundaries from the text of a GeoJSON file the user picked. */
export const importFields = (name: string, text: string) => invoke<FieldsImport>('import_fields', { name, text });
/** Writes maps/fields.csv; resolves to its path. */
export const exportFieldsCsv = () => invoke<string>('export_fields_csv');
/** The open work directory (null on a first start) and the folders the user can switch to. */
export const workspaceView = () => invoke<WorkspaceView>('workspace_view');
/** The backend shows the folder dialog and opens the folder picked; null: the user cancelled. */
export const chooseWorkdir = () => invoke<WorkspaceView | null>('choose_workdir');
/** Opens a folder of the recent list (any other path is refused). */
export const openRecentWorkdir = (path: string) => invoke<WorkspaceView>('open_recent_workdir', { path });
/** Makes (or reuses) the demo folder in Documents and opens it. */
export const openDemoWorkdir = () => invoke<WorkspaceView>('open_demo_workdir');
/** Versions, licences and the app's own folders (works without a work directory). */
export const about = () => invoke<AboutView>('about');

/** Subscribes to `run-events`; resolves once the listener is registered. */
export function onRunEvents(handler: (batch: EventBatch) => void): Promise<UnlistenFn> {
  return listen<EventBatch>('run-events', (event) => handler(event.payload));
}

/** Subscribes to `map-progress` (computing the maps); resolves once the listener is registered. */
export function onMapProgress(handler: (progress: MapProgress) => void): Promise<UnlistenFn> {
  return listen<MapProgress>('map-progress', (event) => handler(event.payload));
}
