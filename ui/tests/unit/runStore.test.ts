import { afterEach, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/lib/runStore.svelte';
import type { LiveRun } from '../../src/lib/bridge';
import { mockBackend, pushBatch, resetBackend } from './mockBackend';
import { runEvents } from './fixtures';

afterEach(() => resetBackend());
const events = runEvents();
const RUN = '20261124-080356-04500';

describe('RunStore catch-up', () => {
  it('subscribes before asking run_state and drops events already replayed', async () => {
    let answer: (live: LiveRun) => void = () => {};
    const { calls } = mockBackend({ run_state: () => new Promise<LiveRun>((r) => (answer = r)) });
    const store = new RunStore((fn) => fn());
    const connected = store.connect();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.map((c) => c.cmd)).toEqual(['plugin:event|listen', 'run_state']);
    // A batch arrives while run_state is on its way: its first events overlap the replay.
    await pushBatch({ run_id: RUN, first_seq: 10, events: events.slice(10, 30) });
    answer({ run_id: RUN, running: true, next_seq: 20, events: events.slice(0, 20) });
    await connected;
    expect(store.view.nextSeq).toBe(30);
    const logs = store.view.steps.flatMap((s) => s.logs.map((l) => l.message));
    expect(new Set(logs).size).toBe(logs.length);
    expect(store.view.steps[2].logs).toHaveLength(1); // seq 15 came in both: kept once
    expect(store.view.steps[4].status).toBe('running');
    expect(Object.values(store.view.steps[4].metrics).flat()).toHaveLength(2);
    store.disconnect();
  });

  it('renders a whole burst once per frame', async () => {
    mockBackend({ run_state: () => ({ run_id: RUN, running: true, next_seq: 1, events: events.slice(0, 1) }) });
    const frames: (() => void)[] = [];
    const store = new RunStore((fn) => frames.push(fn));
    await store.connect();
    for (let i = 0; i < 50; i++) {
      await pushBatch({ run_id: RUN, first_seq: 1 + i * 100, events: Array.from({ length: 100 }, (_, j) => ({
        type: 'step_log' as const, step: 'download' as const, level: 'info' as const, message: `l${i * 100 + j}` })) });
    }
    expect(frames).toHaveLength(1);
    frames[0]();
    expect(store.view.steps[0].logs).toHaveLength(2000);
    expect(store.view.steps[0].logTotal).toBe(5000);
    expect(store.view.steps[0].logs.at(-1)?.message).toBe('l4999');
    store.disconnect();
  });
});
