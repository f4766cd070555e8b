import { describe, expect, it } from 'vitest';
import { applyEvent, initialState } from '../../src/lib/runState';
import { summarize, verdict } from '../../src/lib/summary';
import { runEvents } from './fixtures';

function finishedRun() {
  const state = initialState();
  for (const e of runEvents()) applyEvent(state, e);
  return state;
}

describe('summaries', () => {
  it('derives a short result per step from its output figures', () => {
    const s = finishedRun().steps.map((st) => summarize(st.outputSummary));
    expect(s[0]).toBe('20 scenes');
    expect(s[1]).toBe('20/20 dates passed');
    expect(s[2]).toBe('1,200/97/147 patches (train/val/test)');
    expect(s[4]).toBe('test accuracy 0.94');
    expect(s[5]).toBe('test MAE 0.024 vs persistence 0.044');
    expect(s[6]).toBe('CNN +45.6 points over synthetic');
    expect(s[7]).toBe('.env updated');
    expect(summarize({ widgets: 3 })).toBe('widgets 3');
  });

  it('gives a one-line verdict with numbers from run_finished', () => {
    const state = finishedRun();
    expect(verdict(state.finished!, state.steps)).toBe(
      'Finished in 9 min 21 s — CNN 0.94 on the test set, +46 points over the synthetic baseline',
    );
  });

  it('names the step a failed run stopped at', () => {
    const state = initialState();
    applyEvent(state, { type: 'step_finished', step: 'train_cnn', status: 'failed', duration_s: 3, error: 'out of disk\ndetail', output_summary: {}, reason: null, reused_from: null });
    const text = verdict({ status: 'failed', reportPath: '', summary: {} }, state.steps);
    expect(text).toBe('Failed at step 5, Train CNN Model — out of disk');
  });
  it('says when the gate held the models back', () => {
    const text = verdict(
      { status: 'success', reportPath: '', summary: { model_gate: { enable: false, forced: false, reason: 'held back: simulated' } } },
      [],
    );
    expect(text).toContain('AI models held back');
  });
});
