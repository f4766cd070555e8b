import { describe, expect, it } from 'vitest';
import { base64Utf8, dateTime, duration, flatten, interval, progressText, shortPath } from '../../src/lib/format';

describe('format', () => {
  it('a figure with its 95 % interval', () => {
    expect(interval({ value: 0.8123, ci_low: 0.75, ci_high: 0.866 })).toBe('0.812 [0.750, 0.866]');
    expect(interval({ value: 0.5 })).toBe('0.500');
    expect(interval(null)).toBe('—');
  });
  it('durations', () => {
    expect(duration(0.463)).toBe('0.5 s');
    expect(duration(42.2)).toBe('42 s');
    expect(duration(192)).toBe('3 min 12 s');
    expect(duration(3900)).toBe('1 h 05 min');
    expect(duration(null)).toBe('—');
  });
  it('progress with its unit', () => {
    expect(progressText({ done: 12, total: 20, unit: 'scenes' })).toBe('12/20 scenes');
    expect(progressText({ done: 7, total: 50, unit: 'epochs' })).toBe('epoch 7/50');
    expect(progressText({ done: 1200, total: 8000, unit: 'patches' })).toBe('1,200/8,000 patches');
  });
  it('base64 of UTF-8 text round-trips', () => {
    const text = '<svg><text>R² · 0.47 — km²</text></svg>';
    const back = new TextDecoder().decode(Uint8Array.from(atob(base64Utf8(text)), (c) => c.charCodeAt(0)));
    expect(back).toBe(text);
  });
  it('paths, dates, nested settings', () => {
    expect(shortPath('/home/a/projects/agriflux/punjab-2026/demo', 24)).toBe('…/punjab-2026/demo');
    expect(shortPath('/short')).toBe('/short');
    expect(dateTime('2026-11-24T08:03:56+00:00')).toBe('2026-11-24 08:03');
    expect(flatten({ bbox: { min_lat: 1 }, seed: 42, id: '' })).toEqual([['bbox.min_lat', '1'], ['seed', '42'], ['id', '(empty)']]);
  });
});
