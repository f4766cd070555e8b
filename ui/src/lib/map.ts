// Presentation helpers of the Map view: pure functions, no Svelte, no backend. The figures come
// from the engine (MapView, MapPoint); these only fit, format, sort and throttle.
import type { LegendEntry, MapField, MapLayerId } from './generated/engine';
import { fixed, signed } from './format';

// ---- Layout ---------------------------------------------------------------------------------

export type Size = { width: number; height: number };

/** The largest size of a width x height image that fits the available space, aspect kept. */
export function fitSize(availWidth: number, availHeight: number, width: number, height: number): Size {
  if (!(availWidth > 0 && availHeight > 0 && width > 0 && height > 0)) return { width: 0, height: 0 };
  const scale = Math.min(availWidth / width, availHeight / height);
  return { width: width * scale, height: height * scale };
}

export type Rect = { left: number; top: number; width: number; height: number };

/**
 * The scene pixel [col, row] under a pointer at (clientX, clientY), given the rectangle the
 * width x height scene is displayed in (getBoundingClientRect of the image); null outside it.
 */
export function pixelAt(
  clientX: number,
  clientY: number,
  rect: Rect,
  width: number,
  height: number,
): { col: number; row: number } | null {
  if (!(rect.width > 0 && rect.height > 0)) return null;
  const fx = (clientX - rect.left) / rect.width;
  const fy = (clientY - rect.top) / rect.height;
  if (fx < 0 || fy < 0 || fx >= 1 || fy >= 1) return null;
  return {
    col: Math.min(width - 1, Math.floor(fx * width)),
    row: Math.min(height - 1, Math.floor(fy * height)),
  };
}

// ---- Scale bar ------------------------------------------------------------------------------

/** "500 m", "1 km", "2.5 km". */
export function lengthLabel(metres: number): string {
  if (metres >= 1000) return `${+(metres / 1000).toFixed(2)} km`;
  return `${+metres.toFixed(2)} m`;
}

/**
 * A scale bar for a map drawn at `metresPerPx` ground metres per screen pixel: the longest round
 * length (1, 2 or 5 x 10^n metres) whose bar is at most `maxPx` wide, and that width.
 */
export function scaleBar(metresPerPx: number, maxPx = 120): { metres: number; px: number; label: string } | null {
  if (!(metresPerPx > 0) || !(maxPx > 0) || !Number.isFinite(metresPerPx)) return null;
  const most = metresPerPx * maxPx;
  let pow = 10 ** Math.floor(Math.log10(most));
  let metres = pow;
  for (const m of [5, 2, 1]) {
    if (m * pow <= most * (1 + 1e-9)) {
      metres = m * pow;
      break;
    }
  }
  if (metres > most * (1 + 1e-9)) {
    pow /= 10;
    metres = 5 * pow;
  }
  return { metres, px: metres / metresPerPx, label: lengthLabel(metres) };
}

// ---- Text -----------------------------------------------------------------------------------

/** "85 %" from a fraction 0..1; "—" without one. */
export function pct(fraction: number | null | undefined): string {
  return typeof fraction === 'number' && Number.isFinite(fraction) ? `${Math.round(fraction * 100)} %` : '—';
}

/** "52.09312° N, 5.12345° E". */
export function lonLatText(lon: number, lat: number): string {
  const ns = `${Math.abs(lat).toFixed(5)}° ${lat >= 0 ? 'N' : 'S'}`;
  const ew = `${Math.abs(lon).toFixed(5)}° ${lon >= 0 ? 'E' : 'W'}`;
  return `${ns}, ${ew}`;
}

/** NDVI with two decimals, "—" without a value. */
export function ndviText(v: number | null | undefined): string {
  return fixed(v, 2);
}

/** A change of NDVI, signed: "+0.04", "−0.12"; "—" without one. */
export function changeText(v: number | null | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? signed(v, 2) : '—';
}

/** "0.61 ± 0.08". */
export function meanStdText(mean: number | null, std: number | null): string {
  if (mean === null) return '—';
  return std === null ? fixed(mean, 2) : `${fixed(mean, 2)} ± ${fixed(std, 2)}`;
}

/** The name of a predicted class ("Class 2" when the view names none), "—" without one. */
export function className(names: string[], cls: number | null | undefined): string {
  if (typeof cls !== 'number') return '—';
  return names[cls] ?? `Class ${cls}`;
}

/**
 * A field's predicted health as text: "Healthy 40 % · Stressed 60 %" (classes that round to
 * 0 % left out); "—" without a CNN (no shares).
 */
export function sharesText(shares: number[], names: string[]): string {
  const parts = shares
    .map((share, i) => ({ pctValue: Math.round(share * 100), name: className(names, i) }))
    .filter((p) => p.pctValue > 0)
    .map((p) => `${p.name} ${p.pctValue} %`);
  return parts.length ? parts.join(' · ') : '—';
}

// ---- Fields table ---------------------------------------------------------------------------

export type FieldSortKey = 'need' | 'name' | 'area' | 'clear' | 'ndvi' | 'health' | 'forecast' | 'change';
export type SortDir = 'asc' | 'desc';
export type FieldSort = { key: FieldSortKey; dir: SortDir };

/** The fields table opens on the fields that most need a visit. */
export const DEFAULT_FIELD_SORT: FieldSort = { key: 'need', dir: 'desc' };

/** The predicted class on average (0 healthy … 3 critical): the health column's sort value. */
function meanClass(shares: number[]): number | null {
  const total = shares.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return null;
  return shares.reduce((acc, share, i) => acc + share * i, 0) / total;
}

function sortValue(field: MapField, key: FieldSortKey): number | string | null {
  switch (key) {
    case 'need':
      return field.need;
    case 'name':
      return field.name.toLocaleLowerCase();
    case 'area':
      return field.area_ha;
    case 'clear':
      return field.stats.clear_fraction;
    case 'ndvi':
      return field.stats.ndvi_mean;
    case 'health':
      return meanClass(field.stats.class_shares);
    case 'forecast':
      return field.stats.forecast;
    case 'change':
      return field.stats.forecast_change;
  }
}

/** The fields sorted by a column; fields without a value go last either way; ties by name. */
export function sortFields(fields: MapField[], sort: FieldSort): MapField[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return fields
    .map((field) => ({ field, v: sortValue(field, sort.key) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null || a.v === b.v) {
        if (a.v === null && b.v !== null) return 1;
        if (b.v === null && a.v !== null) return -1;
        return a.field.name.localeCompare(b.field.name) || a.field.id - b.field.id;
      }
      if (typeof a.v === 'string' || typeof b.v === 'string') return sign * String(a.v).localeCompare(String(b.v));
      return sign * (a.v - b.v);
    })
    .map((x) => x.field);
}

/** Clicking the sorted column flips it; another column starts descending (names ascending). */
export function nextSort(current: FieldSort, key: FieldSortKey): FieldSort {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return { key, dir: key === 'name' ? 'asc' : 'desc' };
}

// ---- Layers and legends ---------------------------------------------------------------------

export type LayerState = { visible: boolean; opacity: number };

/** Layers shown at first: true colour, and predicted health at 60 % over it. */
export function defaultLayerState(id: MapLayerId): LayerState {
  if (id === 'true_colour') return { visible: true, opacity: 1 };
  if (id === 'health') return { visible: true, opacity: 0.6 };
  return { visible: false, opacity: 1 };
}

/** The CSS gradient of a ramp legend, its stops spread evenly, low to high. */
export function rampGradient(entries: LegendEntry[]): string {
  if (entries.length === 0) return 'transparent';
  if (entries.length === 1) return entries[0].colour;
  const stops = entries.map((e, i) => `${e.colour} ${+((i / (entries.length - 1)) * 100).toFixed(2)}%`);
  return `linear-gradient(to right, ${stops.join(', ')})`;
}

// ---- Field outlines -------------------------------------------------------------------------

/** SVG `points` of a ring of [col, row] vertices. */
export function ringPoints(ring: [number, number][]): string {
  return ring.map(([x, y]) => `${x},${y}`).join(' ');
}

/** Where a field's name goes: the centroid of its largest ring (the vertex mean if degenerate). */
export function labelPoint(outline: [number, number][][]): [number, number] | null {
  let best: { area: number; c: [number, number] } | null = null;
  for (const ring of outline) {
    if (ring.length === 0) continue;
    let a = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0; i < ring.length; i++) {
      const [x0, y0] = ring[i];
      const [x1, y1] = ring[(i + 1) % ring.length];
      const cross = x0 * y1 - x1 * y0;
      a += cross;
      cx += (x0 + x1) * cross;
      cy += (y0 + y1) * cross;
    }
    const area = Math.abs(a / 2);
    const c: [number, number] =
      area > 1e-9
        ? [cx / (3 * a), cy / (3 * a)]
        : [ring.reduce((s, p) => s + p[0], 0) / ring.length, ring.reduce((s, p) => s + p[1], 0) / ring.length];
    if (!best || area > best.area) best = { area, c };
  }
  return best ? best.c : null;
}

// ---- Throttling -----------------------------------------------------------------------------

/**
 * Calls `fn` with the latest value pushed, never more than one call in flight: a value pushed
 * while a call runs waits for it, and only the newest waiting value is sent. `onResult` gets each
 * answer with the value it answers; `onError` each failure.
 */
export function latestOnly<A, R>(
  fn: (arg: A) => Promise<R>,
  onResult: (result: R, arg: A) => void,
  onError: (err: unknown, arg: A) => void = () => {},
): { push(arg: A): void; cancel(): void; readonly busy: boolean } {
  let busy = false;
  let waiting: { arg: A } | null = null;
  let cancelled = false;
  const start = (arg: A) => {
    busy = true;
    fn(arg).then(
      (result) => !cancelled && onResult(result, arg),
      (err) => !cancelled && onError(err, arg),
    ).finally(() => {
      busy = false;
      if (waiting && !cancelled) {
        const next = waiting;
        waiting = null;
        start(next.arg);
      }
    });
  };
  return {
    push(arg: A) {
      if (cancelled) return;
      if (busy) waiting = { arg };
      else start(arg);
    },
    cancel() {
      cancelled = true;
      waiting = null;
    },
    get busy() {
      return busy;
    },
  };
}
