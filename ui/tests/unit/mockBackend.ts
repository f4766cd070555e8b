// A fake backend for component tests: commands answer from fixtures unless overridden.
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { CommandError, EventBatch, MapProgress, MapView, WorkspaceView } from '../../src/lib/bridge';
import { fixture } from './fixtures';

export type Handler = (args: Record<string, unknown>) => unknown;

/** A handler that fails the way the backend does: it rejects with a CommandError object. */
export function rejectWith(problem: CommandError): Handler {
  return () => {
    throw problem;
  };
}

// Listeners registered through `plugin:event|listen` (event name, callback id), for `pushBatch`
// and `pushMapProgress`.
let listeners: { event: string; id: number }[] = [];

type MapFixture = { views: Record<string, MapView>; point: Record<string, unknown> };

/**
 * `map_view` from tests/fixtures/map.json: by date, null for the latest. A date of the slider
 * the fixture has no view of gets the nearest earlier view as a stand-in; any other is not found.
 */
export function mapViewFromFixture({ date }: Record<string, unknown>): MapView {
  const { views } = fixture<MapFixture>('map.json');
  const have = Object.keys(views).sort();
  const latest = views[have[have.length - 1]];
  const wanted = (date as string | null) ?? latest.date;
  if (views[wanted]) return views[wanted];
  if (!latest.dates.some((d) => d.date === wanted)) {
    throw { kind: 'not_found', summary: `No imagery for ${wanted}.`, detail: null } satisfies CommandError;
  }
  const near = have.filter((d) => d <= wanted).pop() ?? have[0];
  return { ...views[near], date: wanted };
}

export type BackendOptions = {
  /** The open work directory at start; null: a first start (the welcome view). Default: the fixture's. */
  current?: string | null;
};

// What the backend answers without a work directory; any other command is not_found then.
const WITHOUT_WORKDIR = new Set([
  'workspace_view', 'choose_workdir', 'open_recent_workdir', 'open_demo_workdir', 'about', 'run_state',
]);
const SWITCHING = new Set(['choose_workdir', 'open_recent_workdir', 'open_demo_workdir']);
export const NO_WORKDIR: CommandError = {
  kind: 'not_found',
  summary: 'No work directory is open: choose one first.',
  detail: null,
};

export function mockBackend(
  overrides: Record<string, Handler> = {},
  options: BackendOptions = {},
): { calls: { cmd: string; args: unknown }[] } {
  const calls: { cmd: string; args: unknown }[] = [];
  // The folders (tests/fixtures/workspace.json): opening one makes it current and most recent.
  const workspace = fixture<WorkspaceView>('workspace.json');
  if (options.current !== undefined) workspace.current = options.current;
  const snapshot = (): WorkspaceView => JSON.parse(JSON.stringify(workspace)) as WorkspaceView;
  const open = (path: string): WorkspaceView => {
    const known = workspace.recent.find((f) => f.path === path);
    const name = path.split('/').filter(Boolean).pop() ?? path;
    workspace.current = path;
    workspace.recent = [known ?? { path, name, exists: true, has_runs: false }, ...workspace.recent.filter((f) => f.path !== path)];
    return snapshot();
  };
  const defaults: Record<string, Handler> = {
    workspace_view: snapshot,
    choose_workdir: () => null,
    open_recent_workdir: ({ path }) => {
      const folder = workspace.recent.find((f) => f.path === path);
      if (!folder) throw { kind: 'not_found', summary: 'That folder is not in the list of recent folders.', detail: String(path) } satisfies CommandError;
      if (!folder.exists) throw { kind: 'not_found', summary: `${folder.name} no longer exists.`, detail: folder.path } satisfies CommandError;
      return open(folder.path);
    },
    open_demo_workdir: () => open(workspace.demo_folder ?? '/home/user/Documents/AgriFlux demo'),
    about: () => fixture('about.json'),
    app_info: () => fixture('app-info.json'),
    start_run: () => ({ run_id: 'mock-run' }),
    run_state: () => null,
    plan_run: () => fixture('plan.json'),
    list_runs: () => fixture('runs.json'),
    env_changes: () => [],
    load_report: () => fixture('report.json'),
    read_settings: () => fixture('settings.json'),
    check_settings: () => ({ errors: {}, area: { width_px: 382, height_px: 387, km2: 14.8 }, secret_keys: [] }),
    models_state: () => fixture('models.json'),
    map_view: mapViewFromFixture,
    map_point: ({ col, row }) => ({ ...fixture<MapFixture>('map.json').point, col, row }),
    import_fields: ({ name }) => ({ fields: 2, file: `fields/${String(name)}` }),
    export_fields_csv: () => '/w/maps/fields.csv',
  };
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      const a = (args ?? {}) as Record<string, unknown>;
      if (cmd === 'plugin:event|listen') {
        listeners.push({ event: a.event as string, id: a.handler as number });
        return a.handler;
      }
      if (cmd === 'plugin:event|unlisten') {
        listeners = listeners.filter((l) => l.id !== a.eventId);
        return null;
      }
      if (workspace.current === null && !WITHOUT_WORKDIR.has(cmd)) throw NO_WORKDIR;
      const handler = overrides[cmd] ?? defaults[cmd];
      if (!handler) {
        throw {
          kind: 'internal',
          summary: `The mock backend has no command ${cmd}.`,
          detail: 'tests/unit/mockBackend.ts: give it a default or an override',
        } satisfies CommandError;
      }
      const answer = handler((args ?? {}) as Record<string, unknown>);
      if (!SWITCHING.has(cmd)) return answer;
      // An overridden switch opens its folder too, so that the other commands then answer.
      return Promise.resolve(answer).then((opened) => {
        if (opened) Object.assign(workspace, opened as WorkspaceView);
        return opened;
      });
    },
  );
  return { calls };
}

function emit(event: string, payload: unknown): void {
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
    .__TAURI_INTERNALS__;
  for (const { id } of listeners.filter((l) => l.event === event)) internals.runCallback(id, { event, id, payload });
}

/** Delivers one `run-events` batch to every listener, as the backend would. */
export async function pushBatch(batch: EventBatch): Promise<void> {
  emit('run-events', batch);
}

/** Delivers one `map-progress` event to every listener. */
export function pushMapProgress(progress: MapProgress): void {
  emit('map-progress', progress);
}

export function resetBackend(): void {
  listeners = [];
  clearMocks();
}
