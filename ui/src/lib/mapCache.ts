// The Map view's views by date: a small cache, at most one `map_view` in flight, and the newest
// request winning over older ones still waiting (dragging the date slider asks for many dates;
// only the last one matters). Prefetching (the timelapse's next date) runs only when idle.
import type { MapView } from './generated/engine';

type Waiting = {
  date: string | null;
  resolve: (view: MapView | null) => void;
  reject: (err: unknown) => void;
};

export class ViewCache {
  private views = new Map<string, MapView>();
  private inFlight = false;
  private waiting: Waiting | null = null;
  private generation = 0;

  constructor(
    private readonly fetch: (date: string | null) => Promise<MapView>,
    private readonly size = 6,
  ) {}

  /** The cached view of a date, if any (and marks it recently used). */
  get(date: string): MapView | undefined {
    const view = this.views.get(date);
    if (view) {
      this.views.delete(date);
      this.views.set(date, view);
    }
    return view;
  }

  has(date: string): boolean {
    return this.views.has(date);
  }

  /** Whether a `map_view` call is running now. */
  get busy(): boolean {
    return this.inFlight;
  }

  /**
   * The view of a date (null: the latest), from the cache or the backend. Resolves to null when
   * a newer request replaced this one before it was sent.
   */
  load(date: string | null): Promise<MapView | null> {
    const hit = date === null ? undefined : this.get(date);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      this.waiting?.resolve(null);
      this.waiting = { date, resolve, reject };
      this.pump();
    });
  }

  /** Fetches a date into the cache when nothing else is running or waiting; errors are dropped. */
  prefetch(date: string): void {
    if (this.inFlight || this.waiting || this.views.has(date)) return;
    this.run(date).catch(() => {});
  }

  /** Forgets every view (after importing fields: the next load asks the backend again). */
  clear(): void {
    this.generation += 1;
    this.views.clear();
  }

  private pump(): void {
    if (this.inFlight || !this.waiting) return;
    const job = this.waiting;
    this.waiting = null;
    const hit = job.date === null ? undefined : this.get(job.date);
    if (hit) {
      job.resolve(hit);
      return;
    }
    this.run(job.date).then(job.resolve, job.reject);
  }

  private async run(date: string | null): Promise<MapView> {
    this.inFlight = true;
    const generation = this.generation;
    try {
      const view = await this.fetch(date);
      if (generation === this.generation) this.put(view);
      return view;
    } finally {
      this.inFlight = false;
      this.pump();
    }
  }

  private put(view: MapView): void {
    this.views.delete(view.date);
    this.views.set(view.date, view);
    while (this.views.size > this.size) {
      const oldest = this.views.keys().next().value as string;
      this.views.delete(oldest);
    }
  }
}
