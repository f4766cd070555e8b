// The AI-models switch and the other keys of .env, as the Settings view shows them.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import ModelsSwitch from '../../src/components/ModelsSwitch.svelte';
import App from '../../src/App.svelte';
import { ui } from '../../src/lib/ui.svelte';
import type { ModelsView, SettingsEdits } from '../../src/lib/bridge';
import { fixture } from './fixtures';
import { mockBackend, resetBackend } from './mockBackend';

afterEach(() => {
  cleanup();
  resetBackend();
  ui.view = 'run';
});

describe('ModelsSwitch', () => {
  it('names the run that switched the models on, with its figures beside the baselines', async () => {
    mockBackend();
    render(ModelsSwitch);
    const title = await screen.findByTestId('models-title');
    expect(title.textContent).toMatch(/AI models: on\s*— switched on by step 8 of run 20261124-080356-04500/);
    const run = screen.getByTestId('models-run');
    expect(run.textContent).toContain('real data');
    expect(run.textContent).toContain('CNN macro-F1');
    expect(run.textContent).toContain('0.812 [0.751, 0.866]');
    expect(run.textContent).toContain('majority class: 0.221 [0.204, 0.238]');
    expect(run.textContent).toContain('persistence: 0.069 [0.061, 0.078]');
  });

  it('asks before switching off, and a cancel writes nothing', async () => {
    const off: ModelsView = { ...fixture<ModelsView>('models.json'), on: false, value: 'false' };
    const { calls } = mockBackend({ switch_models: () => off });
    render(ModelsSwitch);
    await fireEvent.click(await screen.findByTestId('models-off'));
    await fireEvent.click(screen.getByTestId('models-off-cancel'));
    expect(calls.some((c) => c.cmd === 'switch_models')).toBe(false);
    await fireEvent.click(screen.getByTestId('models-off'));
    await fireEvent.click(screen.getByTestId('models-off-confirm'));
    await waitFor(() => expect(screen.getByTestId('models-state').textContent).toBe('off'));
    expect(calls.find((c) => c.cmd === 'switch_models')?.args).toEqual({ on: false });
  });

  it('offers "on" only when the latest gate passed', async () => {
    const held: ModelsView = {
      ...fixture<ModelsView>('models.json'),
      on: false,
      value: null,
      last_switch: null,
      can_switch_on: false,
      latest_gate: { run_id: 'r-1', source_label: 'Simulated data', enable: false, forced: false, reason: 'held back: simulated data' },
    };
    mockBackend({ models_state: () => held });
    render(ModelsSwitch);
    const on = (await screen.findByTestId('models-on')) as HTMLButtonElement;
    expect(on.disabled).toBe(true);
    expect(screen.getByTestId('models-gate').textContent).toContain('held back: simulated data');
  });
});

describe('Other keys in .env', () => {
  it('lists them with comments, masks the secret-named one, and sends edits, additions and removals', async () => {
    const { calls } = mockBackend({
      save_settings: () => ({ ok: true, errors: {}, env_path: '/x/.env', changes: [] }),
      check_settings: (a) => {
        const edits = a.edits as SettingsEdits;
        const bad = edits.env_keys.filter((e) => /^\d/.test(e.key));
        return {
          errors: Object.fromEntries(bad.map((e) => [e.key, 'a key is letters, digits and _, and does not start with a digit'])),
          area: null,
          secret_keys: edits.env_keys.map((e) => e.key).filter((k) => k.endsWith('_TOKEN')),
        };
      },
    });
    ui.view = 'settings';
    render(App);
    const section = await screen.findByTestId('env-keys');
    expect(section.textContent).toContain("the crop-monitoring system's database · line 21");
    expect(screen.getByTestId('env-duplicates').textContent).toMatch(/REPORT_TITLE\s*is set on lines 24 and 25: line 25 is used/);
    const apiKey = screen.getByTestId('env-value-WEATHER_API_KEY') as HTMLInputElement;
    expect(apiKey.type).toBe('password');
    expect(apiKey.value).toBe('');
    expect(screen.getByTestId('secret-state-WEATHER_API_KEY').textContent).toBe('set');

    await fireEvent.input(screen.getByTestId('env-value-DATABASE_PATH'), { target: { value: '/srv/crops.db' } });
    await fireEvent.click(screen.getByTestId('env-remove-REPORT_TITLE'));
    await fireEvent.click(screen.getByTestId('env-add'));
    await fireEvent.input(screen.getByTestId('env-new-key-0'), { target: { value: '9LIVES' } });
    await waitFor(() => expect(screen.getByTestId('env-new-error-0').textContent).toContain('letters, digits and _'));
    expect((screen.getByTestId('settings-save') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('env-new-key-0'), { target: { value: 'FIELD_API_TOKEN' } });
    await waitFor(() => expect((screen.getByTestId('env-new-value-0') as HTMLInputElement).type).toBe('password'));
    await fireEvent.input(screen.getByTestId('env-new-value-0'), { target: { value: 'tok-123' } });
    await waitFor(() => expect((screen.getByTestId('settings-save') as HTMLButtonElement).disabled).toBe(false));
    await fireEvent.click(screen.getByTestId('settings-save'));
    await screen.findByTestId('save-outcome');
    const sent = calls.find((c) => c.cmd === 'save_settings')?.args as { edits: SettingsEdits };
    expect(sent.edits.env_keys).toEqual([
      { action: 'set', key: 'DATABASE_PATH', value: '/srv/crops.db' },
      { action: 'remove', key: 'REPORT_TITLE' },
      { action: 'set', key: 'FIELD_API_TOKEN', value: 'tok-123' },
    ]);
  });
});
