// A fake backend for component tests: commands answer from fixtures unless overridden.
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { CommandError, EventBatch } from '../../src/lib/bridge';
import { fixture } from './fixtures';

export type Handler = (args: Record<string, unknown>) => unknown;

/** A handler that fails the way the backend does: it rejects with a CommandError object. */
export function rejectWith(problem: CommandError): Handler {
  return () => {
    throw problem;
  };
}

// Listener callback ids registered through `plugin:event|listen`, for `pushBatch`.
let listeners: number[] = [];

export function mockBackend(overrides: Record<string, Handler> = {}): { calls: { cmd: string; args: unknown }[] } {
  const calls: { cmd: string; args: unknown }[] = [];
  const defaults: Record<string, Handler> = {
    app_info: () => fixture('app-info.json'),
    run_state: () => null,
    plan_run: () => fixture('plan.json'),
    list_runs: () => fixture('runs.json'),
    env_changes: () => [],
    load_report: () => fixture('report.json'),
    read_settings: () => fixture('settings.json'),
    check_settings: () => ({ errors: {}, area: { width_px: 382, height_px: 387, km2: 14.8 }, secret_keys: [] }),
    models_state: () => fixture('models.json'),
  };
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      const a = (args ?? {}) as Record<string, unknown>;
      if (cmd === 'plugin:event|listen') {
        listeners.push(a.handler as number);
        return a.handler;
      }
      if (cmd === 'plugin:event|unlisten') {
        listeners = listeners.filter((id) => id !== a.eventId);
        return null;
      }
      const handler = overrides[cmd] ?? defaults[cmd];
      if (!handler) {
        throw {
          kind: 'internal',
          summary: `The mock backend has no command ${cmd}.`,
          detail: 'tests/unit/mockBackend.ts: give it a default or an override',
        } satisfies CommandError;
      }
      return handler((args ?? {}) as Record<string, unknown>);
    },
  );
  return { calls };
}

/** Delivers one `run-events` batch to every listener, as the backend would. */
export async function pushBatch(batch: EventBatch): Promise<void> {
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
    .__TAURI_INTERNALS__;
  for (const id of listeners) internals.runCallback(id, { event: 'run-events', id, payload: batch });
}

export function resetBackend(): void {
  listeners = [];
  clearMocks();
}
