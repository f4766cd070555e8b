// Svelte wrapper around the run reducer: subscribes to `run-events` first, then catches up from
// `run_state`, then applies batches, rendering once per animation frame however many arrive.
import { onRunEvents, runState, type EventBatch } from './bridge';
import { applyBatch, replay } from './runSequence';
import { initialState, trimLogs, type RunViewState, type StepState } from './runState';

type Schedule = (fn: () => void) => void;
const defaultSchedule: Schedule = (fn) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => fn()) : setTimeout(fn, 16);

export class RunStore {
  /** What components render: a new object per frame, step objects reused when unchanged. */
  view = $state.raw<RunViewState>(initialState());
  /** Client clock, ticking each second while a run is going (elapsed time, ETA). */
  now = $state(Date.now());

  private state = initialState();
  private published = new WeakMap<StepState, { rev: number; snap: StepState }>();
  private ready = false;
  private buffered: EventBatch[] = [];
  private pending: EventBatch[] = [];
  private scheduled = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private unlisten: (() => void) | null = null;
  private schedule: Schedule;

  constructor(schedule: Schedule = defaultSchedule) {
    this.schedule = schedule;
  }

  async connect(): Promise<void> {
    this.unlisten = await onRunEvents((batch) => this.receive(batch));
    await this.resync();
  }

  disconnect(): void {
    this.unlisten?.();
    this.unlisten = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  receive(batch: EventBatch): void {
    if (!this.ready) {
      this.buffered.push(batch);
      return;
    }
    this.pending.push(batch);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  async resync(): Promise<void> {
    this.ready = false;
    try {
      replay(this.state, await runState());
    } finally {
      this.ready = true;
      this.pending = [...this.buffered, ...this.pending];
      this.buffered = [];
      this.flush();
    }
  }

  private flush(): void {
    this.scheduled = false;
    const now = Date.now();
    const batches = this.pending;
    this.pending = [];
    let lost = false;
    for (const batch of batches) {
      if (applyBatch(this.state, batch, now) === 'resync') {
        lost = true;
        break;
      }
    }
    this.publish();
    if (lost) void this.resync();
  }

  private publish(): void {
    const steps = this.state.steps.map((step) => {
      const last = this.published.get(step);
      if (last && last.rev === step.rev) return last.snap;
      trimLogs(step);
      const snap = { ...step };
      this.published.set(step, { rev: step.rev, snap });
      return snap;
    });
    this.view = { ...this.state, steps };
    this.now = Date.now();
    this.tick(this.state.running);
  }

  private tick(running: boolean): void {
    if (running && !this.timer) this.timer = setInterval(() => (this.now = Date.now()), 1000);
    if (!running && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export const runStore = new RunStore();
