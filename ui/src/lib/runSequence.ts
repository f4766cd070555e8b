// Ordering rules of the contract: batches carry `first_seq`; events below `nextSeq` were seen
// already (dedupe after a catch-up), a gap means something was missed (ask `run_state` again),
// and a batch of another run starting at 0 starts a new run.
import type { EventBatch, LiveRun } from './bridge';
import { applyEvent, initialState, type RunViewState } from './runState';

export type BatchResult = 'applied' | 'resync';

function reset(state: RunViewState, runId: string): void {
  Object.assign(state, initialState(), { runId, nextSeq: 0, rev: state.rev + 1 });
}

export function applyBatch(state: RunViewState, batch: EventBatch, now?: number): BatchResult {
  if (batch.run_id !== state.runId) {
    if (batch.first_seq !== 0) return 'resync';
    reset(state, batch.run_id);
  }
  for (let i = 0; i < batch.events.length; i++) {
    const seq = batch.first_seq + i;
    if (seq < state.nextSeq) continue;
    if (seq > state.nextSeq) return 'resync';
    applyEvent(state, batch.events[i], now);
    state.nextSeq = seq + 1;
  }
  return 'applied';
}

/** Rebuilds the state from `run_state` (null: no run since the app started). */
export function replay(state: RunViewState, live: LiveRun | null): void {
  if (!live) {
    Object.assign(state, initialState(), { rev: state.rev + 1 });
    return;
  }
  reset(state, live.run_id);
  for (const event of live.events) applyEvent(state, event);
  state.runId = live.run_id;
  state.nextSeq = live.next_seq;
  state.running = live.running;
}
