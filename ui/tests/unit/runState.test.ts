import { describe, expect, it } from 'vitest';
import { applyEvent, etaSeconds, hasCurves, initialState, MAX_LOG_LINES, trimLogs, stoppedStep } from '../../src/lib/runState';
import { runEvents } from './fixtures';

describe('applyEvent', () => {
  it('folds a real run into eight finished cards', () => {
    const state = initialState();
    for (const e of runEvents()) applyEvent(state, e);
    expect(state.runId).toBe('20261124-080356-04500');
    expect(state.steps.map((s) => s.status)).toEqual(Array(8).fill('success'));
    expect(state.steps.map((s) => s.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(state.running).toBe(false);
    expect(state.finished?.status).toBe('success');
    const cnn = state.steps[4];
    expect(cnn.metrics['real/val_accuracy']).toHaveLength(8);
    expect(cnn.durationS).toBeCloseTo(236.798);
    expect(cnn.logs.length).toBeGreaterThan(5);
  });

  it('shows a step as running with its progress', () => {
    const state = initialState();
    const events = runEvents();
    const cut = events.findIndex((e) => e.type === 'step_progress' && e.step === 'download');
    for (const e of events.slice(0, cut + 1)) applyEvent(state, e);
    expect(state.running).toBe(true);
    expect(state.steps[0].status).toBe('running');
    expect(state.steps[0].progress).toMatchObject({ unit: 'scenes', total: 20 });
    expect(state.steps[1].status).toBe('pending');
  });

  it('keeps up_to_date, reused_from and interrupted as their own statuses', () => {
    const state = initialState();
    applyEvent(state, { type: 'step_finished', step: 'download', status: 'up_to_date', duration_s: 0, error: null,
      output_summary: {}, reason: 'unchanged', reused_from: 'r-1' });
    applyEvent(state, { type: 'step_finished', step: 'validate', status: 'interrupted', duration_s: 3, error: null, output_summary: {}, reason: null, reused_from: null });
    expect(state.steps[0]).toMatchObject({ status: 'up_to_date', reusedFrom: 'r-1', reason: 'unchanged' });
    expect(state.steps[1].status).toBe('interrupted');
    expect(stoppedStep(state)?.id).toBe('validate');
  });

  it('keeps at most the last 2,000 log lines per step', () => {
    const state = initialState();
    for (let i = 0; i < 5000; i++) applyEvent(state, { type: 'step_log', step: 'download', level: 'info', message: `line ${i}` });
    trimLogs(state.steps[0]);
    expect(state.steps[0].logs).toHaveLength(MAX_LOG_LINES);
    expect(state.steps[0].logs.at(-1)?.message).toBe('line 4999');
    expect(state.steps[0].logTotal).toBe(5000);
  });

  it('estimates the time left from the live progress rate', () => {
    const state = initialState();
    const p = (done: number) => ({ type: 'step_progress' as const, step: 'download' as const, done, total: 20, unit: 'scenes', message: '' });
    applyEvent(state, { type: 'step_started', step: 'download', number: 1, total: 8 }, 0);
    applyEvent(state, p(2), 1000);
    applyEvent(state, p(6), 5000);
    // 4 scenes in 4 s -> 14 left at 1/s
    expect(etaSeconds(state.steps[0], 5000)).toBeCloseTo(14);
    // replayed progress has no timing: no ETA rather than a wrong one
    const replayed = initialState();
    applyEvent(replayed, p(6));
    expect(etaSeconds(replayed.steps[0], 5000)).toBeNull();
  });

  it('starts a fresh view on run_started and remembers an interrupted run', () => {
    const state = initialState();
    const [start] = runEvents();
    applyEvent(state, { type: 'step_log', step: 'download', level: 'info', message: 'old' });
    applyEvent(state, { ...start, interrupted_run_report: 'logs/pipeline_report_old.json' } as typeof start);
    expect(state.steps[0].logs).toHaveLength(0);
    expect(state.interruptedRunReport).toBe('logs/pipeline_report_old.json');
  });
});

describe('hasCurves', () => {
  it('charts any step that sends metric points, step 7 and a command step included', () => {
    const state = initialState();
    applyEvent(state, { type: 'step_metric', step: 'my_trainer', series: 'val_loss', x: 1, value: 0.5 });
    applyEvent(state, { type: 'step_metric', step: 'compare', series: 'synthetic_cnn/val_loss', x: 1, value: 0.7 });
    const byId = Object.fromEntries(state.steps.map((s) => [s.id, s]));
    expect(hasCurves(byId.my_trainer)).toBe(true);
    expect(hasCurves(byId.compare)).toBe(true);
    expect(hasCurves(byId.download)).toBe(false);
  });
});
