import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/lib/bridge';
import { applyBatch, replay } from '../../src/lib/runSequence';
import { initialState } from '../../src/lib/runState';
import { runEvents } from './fixtures';

const events = runEvents();
const log = (message: string): RunEvent => ({ type: 'step_log', step: 'download', level: 'info', message });

describe('batches and catch-up', () => {
  it('replays run_state then ignores events below next_seq', () => {
    const state = initialState();
    replay(state, { run_id: 'r1', running: true, next_seq: 3, events: [events[0], events[1], log('a')] });
    expect(state.nextSeq).toBe(3);
    expect(applyBatch(state, { run_id: 'r1', first_seq: 1, events: [events[1], log('a'), log('b')] })).toBe('applied');
    expect(state.steps[0].logs.map((l) => l.message)).toEqual(['a', 'b']);
    expect(state.nextSeq).toBe(4);
  });

  it('asks for a resync when a batch skips sequence numbers', () => {
    const state = initialState();
    replay(state, { run_id: 'r1', running: true, next_seq: 2, events: [events[0], events[1]] });
    expect(applyBatch(state, { run_id: 'r1', first_seq: 5, events: [log('x')] })).toBe('resync');
    expect(state.steps[0].logs).toHaveLength(0);
  });

  it('resets the view when a new run starts at sequence 0', () => {
    const state = initialState();
    for (const [i, e] of events.entries()) applyBatch(state, { run_id: '20261124-080356-04500', first_seq: i, events: [e] });
    expect(state.finished?.status).toBe('success');
    const next = { ...events[0], run_id: 'r2' } as RunEvent;
    expect(applyBatch(state, { run_id: 'r2', first_seq: 0, events: [next] })).toBe('applied');
    expect(state.runId).toBe('r2');
    expect(state.finished).toBeNull();
    expect(state.steps.every((s) => s.status === 'pending')).toBe(true);
    expect(applyBatch(state, { run_id: 'r3', first_seq: 4, events: [log('y')] })).toBe('resync');
  });

  it('a null run_state is an empty view', () => {
    const state = initialState();
    replay(state, null);
    expect(state.runId).toBeNull();
    expect(state.steps).toHaveLength(8);
  });
});
