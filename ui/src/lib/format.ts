// Formatting only: numbers come from the backend, these turn them into text.
const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function int(n: number): string {
  return intFmt.format(n);
}

export function fixed(n: number | null | undefined, digits: number): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—';
}

export function signed(n: number, digits: number): string {
  return `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(digits)}`;
}

/** "0.4 s", "12 s", "3 min 12 s", "1 h 05 min". */
export function duration(s: number | null | undefined): string {
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) return '—';
  if (s < 10) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${sec} s`;
}

export function eta(s: number | null): string {
  if (s === null) return '';
  if (s < 5) return 'almost done';
  if (s < 60) return `≈ ${Math.round(s / 5) * 5} s left`;
  return `≈ ${Math.round(s / 60)} min left`;
}

/** "12/20 scenes", "epoch 7/50". */
export function progressText(p: { done: number; total: number; unit: string }): string {
  if (p.unit === 'epochs' || p.unit === 'epoch') return `epoch ${int(p.done)}/${int(p.total)}`;
  return `${int(p.done)}/${int(p.total)} ${p.unit}`;
}

/** "2026-11-24 08:03" from an RFC 3339 time, as the backend wrote it. */
export function dateTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** Keeps the last folders of a long path: "…/projects/agriflux/demo". */
export function shortPath(path: string, max = 40): string {
  if (path.length <= max) return path;
  const sep = path.includes('\\') && !path.includes('/') ? '\\' : '/';
  const parts = path.split(sep).filter(Boolean);
  let out = parts.pop() ?? path;
  while (parts.length && out.length + parts[parts.length - 1].length + 3 <= max) {
    out = `${parts.pop()}${sep}${out}`;
  }
  return `…${sep}${out}`;
}

/** Base64 of UTF-8 text (btoa alone only takes Latin-1). */
export function base64Utf8(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Flattens nested settings into dotted keys for a key/value table. */
export function flatten(value: unknown, prefix = ''): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      flatten(v, prefix ? `${prefix}.${k}` : k),
    );
  }
  const text = value === null || value === undefined ? '—' : Array.isArray(value) ? value.join(', ') : String(value);
  return [[prefix, text === '' ? '(empty)' : text]];
}

/** `0.812 [0.751, 0.866]`: a figure with its 95 % interval; `—` when absent. */
export function interval(e: unknown, digits = 3): string {
  const v = e as { value?: unknown; ci_low?: unknown; ci_high?: unknown } | null;
  if (!v || typeof v.value !== 'number') return '—';
  if (typeof v.ci_low !== 'number' || typeof v.ci_high !== 'number') return v.value.toFixed(digits);
  return `${v.value.toFixed(digits)} [${v.ci_low.toFixed(digits)}, ${v.ci_high.toFixed(digits)}]`;
}
