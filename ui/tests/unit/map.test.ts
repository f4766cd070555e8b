import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_FIELD_SORT,
  changeText,
  className,
  defaultLayerState,
  fitSize,
  labelPoint,
  latestOnly,
  lengthLabel,
  lonLatText,
  meanStdText,
  nextSort,
  pct,
  pixelAt,
  rampGradient,
  ringPoints,
  scaleBar,
  sharesText,
  sortFields,
} from '../../src/lib/map';
import { ViewCache } from '../../src/lib/mapCache';
import type { FieldStats, MapField, MapView } from '../../src/lib/bridge';

const NAMES = ['Healthy', 'Moderate', 'Stressed', 'Critical'];

function field(id: number, name: string, need: number, stats: Partial<FieldStats> = {}, area_ha = 10): MapField {
  return {
    id,
    name,
    area_ha,
    outline: [],
    need,
    series: [],
    next: null,
    stats: {
      date: '2026-06-03',
      clear_fraction: 1,
      ndvi_mean: 0.5,
      ndvi_std: 0.02,
      class_shares: [1, 0, 0, 0],
      forecast: 0.5,
      forecast_change: 0,
      ...stats,
    },
  };
}

describe('scaleBar', () => {
  it('picks the longest round length (1, 2, 5 x 10^n) that fits the width', () => {
    // 10 m pixels drawn 2 screen px wide: 5 m per screen px, 120 px = 600 m -> 500 m in 100 px.
    expect(scaleBar(5, 120)).toEqual({ metres: 500, px: 100, label: '500 m' });
    expect(scaleBar(10, 120)).toEqual({ metres: 1000, px: 100, label: '1 km' });
    expect(scaleBar(20, 120)?.label).toBe('2 km');
    expect(scaleBar(1.28, 120)).toEqual({ metres: 100, px: 100 / 1.28, label: '100 m' });
    expect(scaleBar(0.05, 120)?.label).toBe('5 m');
    expect(scaleBar(300, 120)?.label).toBe('20 km');
  });

  it('never draws a bar wider than asked, and is exact at a round width', () => {
    for (const m of [0.37, 1, 2.5, 7.77, 13, 99, 1234]) {
      const bar = scaleBar(m, 120)!;
      expect(bar.px).toBeLessThanOrEqual(120 + 1e-9);
      expect(bar.px).toBeGreaterThan(120 / 5 - 1e-9);
      expect(String(bar.metres)).toMatch(/^[125]0*$|^0\.0*[125]$/);
    }
    expect(scaleBar(10, 100)).toEqual({ metres: 1000, px: 100, label: '1 km' });
  });

  it('draws nothing before the map has a size', () => {
    expect(scaleBar(0)).toBeNull();
    expect(scaleBar(Number.POSITIVE_INFINITY)).toBeNull();
    expect(scaleBar(Number.NaN)).toBeNull();
  });

  it('says lengths in m below a kilometre, in km from there', () => {
    expect(lengthLabel(200)).toBe('200 m');
    expect(lengthLabel(1000)).toBe('1 km');
    expect(lengthLabel(2500)).toBe('2.5 km');
    expect(lengthLabel(0.5)).toBe('0.5 m');
  });
});

describe('pixelAt and fitSize', () => {
  const rect = { left: 100, top: 50, width: 640, height: 320 };

  it('maps a pointer to the scene pixel under it', () => {
    expect(pixelAt(100, 50, rect, 64, 32)).toEqual({ col: 0, row: 0 });
    expect(pixelAt(100 + 15, 50 + 15, rect, 64, 32)).toEqual({ col: 1, row: 1 });
    expect(pixelAt(100 + 639.9, 50 + 319.9, rect, 64, 32)).toEqual({ col: 63, row: 31 });
    expect(pixelAt(420, 210, rect, 64, 32)).toEqual({ col: 32, row: 16 });
  });

  it('is null outside the displayed scene or before it has a size', () => {
    expect(pixelAt(99, 60, rect, 64, 32)).toBeNull();
    expect(pixelAt(200, 49, rect, 64, 32)).toBeNull();
    expect(pixelAt(740, 60, rect, 64, 32)).toBeNull();
    expect(pixelAt(200, 370, rect, 64, 32)).toBeNull();
    expect(pixelAt(0, 0, { left: 0, top: 0, width: 0, height: 0 }, 64, 32)).toBeNull();
  });

  it('fits the scene to the space, aspect kept', () => {
    expect(fitSize(800, 600, 64, 64)).toEqual({ width: 600, height: 600 });
    expect(fitSize(800, 600, 400, 100)).toEqual({ width: 800, height: 200 });
    expect(fitSize(0, 600, 64, 64)).toEqual({ width: 0, height: 0 });
  });
});

describe('formatting', () => {
  it('writes the predicted health shares in words, classes at 0 % left out', () => {
    expect(sharesText([0.4, 0, 0.6, 0], NAMES)).toBe('Healthy 40 % · Stressed 60 %');
    expect(sharesText([0.001, 0.507, 0.41, 0.083], NAMES)).toBe('Moderate 51 % · Stressed 41 % · Critical 8 %');
    expect(sharesText([], NAMES)).toBe('—');
    expect(sharesText([0, 0, 0, 0], NAMES)).toBe('—');
    expect(sharesText([0.5, 0.5], [])).toBe('Class 0 50 % · Class 1 50 %');
  });

  it('formats percentages, coordinates, NDVI and changes', () => {
    expect(pct(0.576)).toBe('58 %');
    expect(pct(null)).toBe('—');
    expect(lonLatText(4.46473, 51.98218)).toBe('51.98218° N, 4.46473° E');
    expect(lonLatText(-58.4, -34.6)).toBe('34.60000° S, 58.40000° W');
    expect(changeText(0.04)).toBe('+0.04');
    expect(changeText(-0.12)).toBe('−0.12');
    expect(changeText(null)).toBe('—');
    expect(meanStdText(0.61, 0.08)).toBe('0.61 ± 0.08');
    expect(meanStdText(null, null)).toBe('—');
    expect(className(NAMES, 2)).toBe('Stressed');
    expect(className(NAMES, null)).toBe('—');
  });
});

describe('sortFields', () => {
  const fields = [
    field(1, 'North field', 0.2, { ndvi_mean: 0.7, class_shares: [0.9, 0.1, 0, 0] }, 5.5),
    field(2, 'Riverside', 1.5, { ndvi_mean: 0.31, class_shares: [0, 0, 0.5, 0.5] }, 12),
    field(3, 'Clouded', 0.6, { ndvi_mean: null, ndvi_std: null, class_shares: [], forecast: null }, 8),
    field(4, 'apple orchard', 0.9, { ndvi_mean: 0.45, class_shares: [0.2, 0.6, 0.2, 0] }, 3),
  ];
  const names = (sorted: MapField[]) => sorted.map((f) => f.name);

  it('puts the fields that most need a visit first by default', () => {
    expect(DEFAULT_FIELD_SORT).toEqual({ key: 'need', dir: 'desc' });
    expect(names(sortFields(fields, DEFAULT_FIELD_SORT))).toEqual(['Riverside', 'apple orchard', 'Clouded', 'North field']);
  });

  it('sorts by any column either way, fields without a value last', () => {
    expect(names(sortFields(fields, { key: 'ndvi', dir: 'asc' }))).toEqual(['Riverside', 'apple orchard', 'North field', 'Clouded']);
    expect(names(sortFields(fields, { key: 'ndvi', dir: 'desc' }))).toEqual(['North field', 'apple orchard', 'Riverside', 'Clouded']);
    expect(names(sortFields(fields, { key: 'name', dir: 'asc' }))).toEqual(['apple orchard', 'Clouded', 'North field', 'Riverside']);
    expect(names(sortFields(fields, { key: 'area', dir: 'desc' }))).toEqual(['Riverside', 'Clouded', 'North field', 'apple orchard']);
    expect(names(sortFields(fields, { key: 'health', dir: 'desc' }))).toEqual(['Riverside', 'apple orchard', 'North field', 'Clouded']);
  });

  it('does not change the list it is given', () => {
    const before = names(fields);
    sortFields(fields, { key: 'name', dir: 'desc' });
    expect(names(fields)).toEqual(before);
  });

  it('flips the sorted column, starts another descending (names ascending)', () => {
    expect(nextSort({ key: 'need', dir: 'desc' }, 'need')).toEqual({ key: 'need', dir: 'asc' });
    expect(nextSort({ key: 'need', dir: 'desc' }, 'ndvi')).toEqual({ key: 'ndvi', dir: 'desc' });
    expect(nextSort({ key: 'need', dir: 'desc' }, 'name')).toEqual({ key: 'name', dir: 'asc' });
  });
});

describe('layers and outlines', () => {
  it('starts with true colour and predicted health at 60 % over it', () => {
    expect(defaultLayerState('true_colour')).toEqual({ visible: true, opacity: 1 });
    expect(defaultLayerState('health')).toEqual({ visible: true, opacity: 0.6 });
    for (const id of ['ndvi', 'clouds', 'confidence', 'forecast', 'forecast_change'] as const) {
      expect(defaultLayerState(id).visible).toBe(false);
    }
  });

  it('spreads a ramp legend evenly over a gradient', () => {
    expect(rampGradient([{ label: '0', colour: '#000' }, { label: '0.5', colour: '#888' }, { label: '1', colour: '#fff' }]))
      .toBe('linear-gradient(to right, #000 0%, #888 50%, #fff 100%)');
    expect(rampGradient([{ label: 'x', colour: '#123' }])).toBe('#123');
  });

  it('draws rings and labels a field at the centroid of its largest ring', () => {
    const square: [number, number][] = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]];
    expect(ringPoints([[1, 2], [3, 4]])).toBe('1,2 3,4');
    const [x, y] = labelPoint([square])!;
    expect(x).toBeCloseTo(5);
    expect(y).toBeCloseTo(5);
    const small: [number, number][] = [[20, 20], [22, 20], [22, 22], [20, 20]];
    expect(labelPoint([small, square])![0]).toBeCloseTo(5);
    expect(labelPoint([[[3, 3], [3, 3]]])).toEqual([3, 3]);
    expect(labelPoint([])).toBeNull();
  });
});

describe('latestOnly', () => {
  it('keeps one call in flight and sends only the newest value waiting', async () => {
    const resolvers: ((v: string) => void)[] = [];
    const sent: number[] = [];
    const fn = vi.fn((n: number) => {
      sent.push(n);
      return new Promise<string>((r) => resolvers.push(r));
    });
    const results: [string, number][] = [];
    const q = latestOnly(fn, (r, n) => results.push([r, n]));
    q.push(1);
    q.push(2);
    q.push(3);
    expect(sent).toEqual([1]);
    expect(q.busy).toBe(true);
    resolvers[0]('one');
    await vi.waitFor(() => expect(sent).toEqual([1, 3]));
    resolvers[1]('three');
    await vi.waitFor(() => expect(results).toEqual([['one', 1], ['three', 3]]));
    expect(q.busy).toBe(false);
  });

  it('reports failures and stops after cancel', async () => {
    const errors: unknown[] = [];
    const results: number[] = [];
    const q = latestOnly((n: number) => (n < 0 ? Promise.reject(new Error('bad')) : Promise.resolve(n)), (r) => results.push(r), (e) => errors.push(e));
    q.push(-1);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    q.push(5);
    q.cancel();
    q.push(6);
    await new Promise((r) => setTimeout(r, 10));
    expect(results).toEqual([]);
  });
});

describe('ViewCache', () => {
  const viewOf = (date: string) => ({ date }) as MapView;

  function backend() {
    const pending: { date: string | null; resolve: (v: MapView) => void; reject: (e: unknown) => void }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const fetch = vi.fn((date: string | null) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<MapView>((resolve, reject) => {
        pending.push({
          date,
          resolve: (v) => {
            inFlight -= 1;
            resolve(v);
          },
          reject: (e) => {
            inFlight -= 1;
            reject(e);
          },
        });
      });
    });
    return { fetch, pending, max: () => maxInFlight };
  }

  it('asks once per date, then answers from the cache', async () => {
    const b = backend();
    const cache = new ViewCache(b.fetch);
    const first = cache.load(null);
    b.pending[0].resolve(viewOf('2026-06-23'));
    expect((await first)?.date).toBe('2026-06-23');
    expect(cache.has('2026-06-23')).toBe(true);
    expect((await cache.load('2026-06-23'))?.date).toBe('2026-06-23');
    expect(b.fetch).toHaveBeenCalledTimes(1);
  });

  it('keeps one request in flight; a newer one replaces an older one still waiting', async () => {
    const b = backend();
    const cache = new ViewCache(b.fetch);
    const a = cache.load('a');
    const bb = cache.load('b');
    const c = cache.load('c');
    expect(b.fetch).toHaveBeenCalledTimes(1);
    expect(await bb).toBeNull();
    b.pending[0].resolve(viewOf('a'));
    expect((await a)?.date).toBe('a');
    await vi.waitFor(() => expect(b.fetch).toHaveBeenCalledTimes(2));
    expect(b.pending[1].date).toBe('c');
    b.pending[1].resolve(viewOf('c'));
    expect((await c)?.date).toBe('c');
    expect(b.max()).toBe(1);
  });

  it('prefetches only when idle, and a load of the prefetched date waits for it', async () => {
    const b = backend();
    const cache = new ViewCache(b.fetch);
    cache.prefetch('x');
    cache.prefetch('y');
    expect(b.fetch).toHaveBeenCalledTimes(1);
    const x = cache.load('x');
    b.pending[0].resolve(viewOf('x'));
    expect((await x)?.date).toBe('x');
    expect(b.fetch).toHaveBeenCalledTimes(1);
  });

  it('passes errors on and keeps at most `size` views, dropping the least recently used', async () => {
    const b = backend();
    const cache = new ViewCache(b.fetch, 2);
    const bad = cache.load('bad');
    b.pending[0].reject({ kind: 'not_found', summary: 'none', detail: null });
    await expect(bad).rejects.toMatchObject({ kind: 'not_found' });
    for (const d of ['a', 'b']) {
      const p = cache.load(d);
      await vi.waitFor(() => expect(b.pending.at(-1)?.date).toBe(d));
      b.pending.at(-1)!.resolve(viewOf(d));
      await p;
    }
    cache.get('a');
    const p = cache.load('c');
    await vi.waitFor(() => expect(b.pending.at(-1)?.date).toBe('c'));
    b.pending.at(-1)!.resolve(viewOf('c'));
    await p;
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
  });

  it('forgets everything on clear, including a view arriving from before', async () => {
    const b = backend();
    const cache = new ViewCache(b.fetch);
    cache.prefetch('a');
    cache.clear();
    b.pending[0].resolve(viewOf('a'));
    await new Promise((r) => setTimeout(r, 0));
    expect(cache.has('a')).toBe(false);
  });
});
