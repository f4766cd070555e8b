import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, cleanup } from '@testing-library/svelte';
import StepCard from '../../src/components/StepCard.svelte';
import ProblemMessage from '../../src/components/ProblemMessage.svelte';
import EnvChanges from '../../src/components/EnvChanges.svelte';
import RunOptions from '../../src/components/RunOptions.svelte';
import TrainingCharts from '../../src/components/TrainingCharts.svelte';
import App from '../../src/App.svelte';
import { initialState, applyEvent } from '../../src/lib/runState';
import { ui } from '../../src/lib/ui.svelte';
import { mockBackend, rejectWith, resetBackend } from './mockBackend';
import { runEvents } from './fixtures';

afterEach(() => {
  cleanup();
  resetBackend();
  ui.view = 'run';
});

describe('StepCard', () => {
  it('opens a failed card with the error first, detail below', async () => {
    const state = initialState();
    applyEvent(state, { type: 'step_finished', step: 'train_cnn', status: 'failed', duration_s: 12,
      error: 'Not enough free disk space for the model\nneed 512 MiB, 120 MiB free', output_summary: {}, reason: null, reused_from: null });
    render(StepCard, { step: state.steps[4], now: 0 });
    const card = screen.getByTestId('step-card-train_cnn');
    expect(card.dataset.status).toBe('failed');
    const alert = screen.getByRole('alert');
    expect(alert.querySelector('strong')?.textContent).toBe('Not enough free disk space for the model');
    expect(alert.textContent).toContain('need 512 MiB');
    await fireEvent.click(screen.getByRole('button', { expanded: true }));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('marks a command step as an external command and shows its command line in the details', async () => {
    const state = initialState();
    applyEvent(state, {
      type: 'run_started', run_id: 'r-1', started_at: '2026-11-30T03:00:00+00:00', source: 'simulated',
      source_reason: 'no credentials', settings: {}, interrupted_run_report: null,
      steps: [
        { id: 'train_lstm', number: 1, name: 'Train LSTM Model', description: 'built in' },
        { id: 'export_metrics', number: 2, name: 'Export Model Metrics to CSV', description: 'mine' },
      ],
      plan: [
        { step: 'train_lstm', number: 1, name: 'Train LSTM Model', action: 'run', reason: 'first run', reused_from: null },
        { step: 'export_metrics', number: 2, name: 'Export Model Metrics to CSV', action: 'run', reason: 'first run',
          reused_from: null, command: 'python3 scripts/export_metrics.py --out exports/model_metrics.csv' },
      ],
    });
    applyEvent(state, { type: 'step_started', step: 'export_metrics', number: 2, total: 2 });
    applyEvent(state, { type: 'step_log', step: 'export_metrics', level: 'info', message: 'read models/cnn_real_metrics.json' });
    render(StepCard, { step: state.steps[0], now: 0 });
    expect(screen.queryByTestId('external-command')).toBeNull();
    cleanup();
    render(StepCard, { step: state.steps[1], now: 0 });
    const card = screen.getByTestId('step-card-export_metrics');
    expect(card.textContent).toContain('Export Model Metrics to CSV');
    expect(screen.getByTestId('external-command').textContent).toBe('external command');
    await fireEvent.click(screen.getByRole('button', { expanded: false }));
    expect(screen.getByTestId('step-command').textContent).toContain('python3 scripts/export_metrics.py --out exports/model_metrics.csv');
    expect(card.textContent).toContain('read models/cnn_real_metrics.json');
  });

  it('shows up to date with the run it reused', () => {
    const state = initialState();
    applyEvent(state, { type: 'step_finished', step: 'download', status: 'up_to_date', duration_s: 0, error: null,
      output_summary: {}, reason: 'unchanged', reused_from: '20261120-150000-00042' });
    render(StepCard, { step: state.steps[0], now: 0 });
    const card = screen.getByTestId('step-card-download');
    expect(card.textContent).toContain('up to date');
    expect(card.textContent).toContain('reused from run 20261120-150000-00042');
  });
});

describe('ProblemMessage', () => {
  it('shows the summary first and the technical detail below it, collapsed', () => {
    render(ProblemMessage, {
      problem: { kind: 'files', summary: "The run's report could not be read.", detail: '/w/logs/r.json: permission denied (os error 13)' },
      testid: 'problem',
      role: 'alert',
    });
    const summary = screen.getByTestId('problem');
    expect(summary.textContent).toBe("The run's report could not be read.");
    expect(screen.getByRole('alert')).toBe(summary);
    const box = summary.parentElement as HTMLElement;
    expect(box.firstElementChild).toBe(summary);
    const details = box.querySelector('details') as HTMLDetailsElement;
    expect(summary.nextElementSibling).toBe(details);
    expect(details.open).toBe(false);
    expect(details.querySelector('summary')?.textContent).toBe('Technical detail');
    expect(details.querySelector('pre')?.textContent).toBe('/w/logs/r.json: permission denied (os error 13)');
    expect(summary.textContent).not.toContain('os error');
  });

  it('has no detail block when the detail is null', () => {
    render(ProblemMessage, { problem: { kind: 'conflict', summary: 'A run is already going.', detail: null }, testid: 'problem' });
    const summary = screen.getByTestId('problem');
    expect(summary.textContent).toBe('A run is already going.');
    expect(summary.parentElement?.querySelector('details')).toBeNull();
    expect(document.body.textContent).not.toContain('Technical detail');
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('EnvChanges', () => {
  it('lists each write of .env with who made it, an unset value and a removal said in words', async () => {
    mockBackend({
      env_changes: () => [
        {
          at: '2026-11-29T20:13:57+00:00',
          by: 'agriflux models off',
          run_id: null,
          changes: [{ key: 'USE_AI_MODELS', from: 'true', to: 'false' }],
        },
        {
          at: '2026-11-29T19:00:00+00:00',
          by: 'settings panel',
          run_id: null,
          changes: [
            { key: 'AGRIFLUX_SEED', from: '', to: '7' },
            { key: 'WEATHER_API_KEY', from: '(set)', to: '(removed)' },
          ],
        },
      ],
    });
    render(EnvChanges);
    const rows = await screen.findAllByTestId('env-change');
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain('agriflux models off');
    expect(rows[0].textContent).toContain('USE_AI_MODELS: true → false');
    expect(rows[1].textContent).toContain('AGRIFLUX_SEED: (unset) → 7');
    expect(rows[1].textContent).toContain('WEATHER_API_KEY: (set) → (removed)');
  });

  it('says when nothing was recorded', async () => {
    mockBackend({ env_changes: () => [] });
    render(EnvChanges);
    expect(await screen.findByText('No change to .env recorded yet.')).toBeTruthy();
  });
});

describe('App', () => {
  it('history: a failed list_runs shows its summary, the detail collapsed below', async () => {
    mockBackend({
      list_runs: rejectWith({ kind: 'files', summary: 'The list of runs could not be read.', detail: '/w/logs: No such file or directory (os error 2)' }),
    });
    ui.view = 'history';
    render(App);
    const summary = await screen.findByTestId('history-error');
    expect(summary.textContent).toBe('The list of runs could not be read.');
    expect(summary.getAttribute('role')).toBe('alert');
    const details = summary.nextElementSibling as HTMLDetailsElement;
    expect(details.tagName).toBe('DETAILS');
    expect(details.open).toBe(false);
    expect(details.textContent).toContain('/w/logs: No such file or directory (os error 2)');
    expect(screen.queryByText('Loading runs…')).toBeNull();
  });


  it('rebuilds a finished run from run_state: 8 cards, verdict, report link', async () => {
    const events = runEvents();
    mockBackend({ run_state: () => ({ run_id: '20261124-080356-04500', running: false, next_seq: events.length, events }) });
    render(App);
    const verdict = await screen.findByTestId('verdict');
    expect(verdict.textContent).toContain('CNN 0.94 on the test set, +46 points over the synthetic baseline');
    for (const card of screen.getAllByTestId(/^step-card-/)) expect(card.dataset.status).toBe('success');
    expect(screen.getAllByTestId(/^step-card-/)).toHaveLength(8);
    expect(screen.getByTestId('run-button')).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('plan-preview').textContent).toContain('up to date'));
    await fireEvent.click(screen.getByTestId('verdict-report-link'));
    const report = await screen.findByTestId('report-view');
    await waitFor(() => expect(report.querySelectorAll('img[src^="data:image/svg+xml;base64,"]')).toHaveLength(3));
    expect(screen.getByTestId('chart-cnn_metrics').textContent).toContain('real test split');
    expect(report.textContent).toContain('Simulated data');
  });

  it('settings: errors beside the field, save blocked, the secret never rendered', async () => {
    const typed = 'sup3r-s3cret-value';
    const { calls } = mockBackend({
      check_settings: (a) => {
        const v = (a.edits as { values: Record<string, string> }).values;
        return { errors: v.AGRIFLUX_CNN_EPOCHS === 'zero' ? { AGRIFLUX_CNN_EPOCHS: 'must be a whole number' } : {}, area: null, secret_keys: [] };
      },
      save_settings: () => ({ ok: true, errors: {}, env_path: '/x/.env', changes: [{ key: 'SENTINEL_HUB_CLIENT_SECRET', from: '(set)', to: '(changed)' }] }),
    });
    ui.view = 'settings';
    render(App);
    const epochs = (await screen.findByTestId('settings-AGRIFLUX_CNN_EPOCHS')) as HTMLInputElement;
    const save = screen.getByTestId('settings-save') as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    await fireEvent.input(epochs, { target: { value: 'zero' } });
    await waitFor(() => expect(screen.getByTestId('error-AGRIFLUX_CNN_EPOCHS').textContent).toBe('must be a whole number'));
    expect(save.disabled).toBe(true);
    await fireEvent.input(epochs, { target: { value: '12' } });
    await waitFor(() => expect(screen.getByTestId('error-AGRIFLUX_CNN_EPOCHS').textContent).toBe(''));
    expect(screen.getByTestId('secret-state-SENTINEL_HUB_CLIENT_SECRET').textContent).toBe('set');
    const secret = screen.getByTestId('settings-SENTINEL_HUB_CLIENT_SECRET') as HTMLInputElement;
    expect(secret.type).toBe('password');
    await fireEvent.input(secret, { target: { value: typed } });
    await waitFor(() => expect(save.disabled).toBe(false));
    await fireEvent.click(save);
    await screen.findByTestId('save-outcome');
    const sent = calls.find((c) => c.cmd === 'save_settings')?.args as { edits: { values: Record<string, string> } };
    expect(sent.edits.values).toEqual({ AGRIFLUX_CNN_EPOCHS: '12', SENTINEL_HUB_CLIENT_SECRET: typed });
    await waitFor(() => expect((screen.getByTestId('settings-SENTINEL_HUB_CLIENT_SECRET') as HTMLInputElement).value).toBe(''));
    expect(document.documentElement.outerHTML).not.toContain(typed);
  });
});

describe('RunOptions', () => {
  const upToDate = (n: number, step: string, run: string) => ({
    step, number: n, name: step, action: 'up_to_date', reason: `settings, inputs and outputs unchanged since run ${run}`, reused_from: run,
  });

  it('says once that everything is up to date, and forcing a re-run asks for a new plan', async () => {
    const steps = ['download', 'validate', 'cnn_dataset', 'lstm_dataset', 'train_cnn', 'train_lstm', 'compare', 'update_env'];
    const { calls } = mockBackend({ plan_run: () => steps.map((s, i) => upToDate(i + 1, s, 'r-7')) });
    render(RunOptions, { running: false });
    const line = await screen.findByTestId('plan-all-up-to-date');
    expect(line.textContent).toContain('Everything is up to date from run r-7');
    expect(screen.queryAllByRole('listitem').filter((li) => li.textContent?.startsWith('Step'))).toHaveLength(0);
    await fireEvent.click(screen.getByTestId('force-option'));
    await waitFor(() => {
      const last = calls.filter((c) => c.cmd === 'plan_run').at(-1);
      expect((last?.args as { options: { force: boolean } }).options.force).toBe(true);
    });
    ui.options.force = false;
  });

  it('lists the reason of each step that does not run when some do', async () => {
    mockBackend();
    render(RunOptions, { running: false });
    await waitFor(() => expect(screen.getByTestId('plan-preview').querySelectorAll('[data-action]').length).toBe(8));
    expect(screen.queryByTestId('plan-all-up-to-date')).toBeNull();
    expect(screen.getByText(/scenes for these dates and area are already downloaded/)).toBeTruthy();
  });
});

describe('TrainingCharts', () => {
  const titles = () => [...document.querySelectorAll('figcaption .t')].map((t) => t.textContent);

  it('charts step 7 per synthetic-data model, and a one-model step without a model label', () => {
    const state = initialState();
    for (const [series, value] of [
      ['synthetic_cnn/train_loss', 1.2], ['synthetic_cnn/val_loss', 1.3], ['synthetic_cnn/val_accuracy', 0.5],
      ['synthetic_lstm/train_loss', 0.2], ['synthetic_lstm/val_loss', 0.3], ['synthetic_lstm/val_mae', 0.1],
      ['real/val_loss', 0.9],
    ] as const) {
      const step = series.startsWith('real') ? 'train_cnn' : 'compare';
      applyEvent(state, { type: 'step_metric', step, series, x: 1, value });
    }
    render(TrainingCharts, { step: state.steps[6] });
    expect(titles()).toEqual([
      'Synthetic-data CNN · Loss', 'Synthetic-data CNN · Accuracy', 'Synthetic-data LSTM · Loss', 'Synthetic-data LSTM · MAE',
    ]);
    cleanup();
    render(TrainingCharts, { step: state.steps[4] });
    expect(titles()).toEqual(['Loss']);
  });
});
