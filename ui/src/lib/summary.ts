// The one place that turns backend output figures into short text. Generic: a few known keys,
// whichever a step reports, in this order; unknown steps fall back to their first numbers.
import { duration, fixed, int, signed } from './format';
import type { RunFinish, StepState } from './runState';

type Summary = Record<string, unknown>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Summary | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Summary) : null;

/** Each rule reads a few keys; the first two rules that match make the summary. */
const RULES: ((s: Summary) => string | null)[] = [
  (s) => {
    const n = num(s.downloaded);
    if (n === null) return null;
    const reused = num(s.reused) ?? 0;
    return `${int(n)} scenes` + (reused > 0 ? `, ${int(reused)} reused` : '');
  },
  (s) => {
    const ok = num(s.passed_imagery);
    const all = num(s.total_imagery);
    return ok !== null && all !== null ? `${int(ok)}/${int(all)} dates passed` : null;
  },
  (s) => {
    const parts = ['train', 'val', 'test'].map((k) => num(s[`${k}_patches`]));
    if (parts.every((p) => p === null) || num(s.test_accuracy) !== null) return null;
    return `${parts.map((p) => (p === null ? '—' : int(p))).join('/')} patches (train/val/test)`;
  },
  (s) => {
    const parts = ['train', 'val', 'test'].map((k) => num(s[`${k}_sequences`]));
    if (parts.every((p) => p === null)) return null;
    return `${parts.map((p) => (p === null ? '—' : int(p))).join('/')} sequences (train/val/test)`;
  },
  (s) => (num(s.test_accuracy) === null ? null : `test accuracy ${fixed(num(s.test_accuracy), 2)}`),
  (s) => {
    const m = obj(s.test_metrics);
    const mae = m ? num(m.mae) : null;
    if (mae === null) return null;
    const base = num(m?.persistence_mae);
    return `test MAE ${fixed(mae, 3)}` + (base !== null ? ` vs persistence ${fixed(base, 3)}` : '');
  },
  (s) => {
    const c = obj(s.model_comparison);
    const pp = c ? num(c.cnn_accuracy_improvement_pp) : null;
    return pp === null ? null : `CNN ${signed(pp, 1)} points over synthetic`;
  },
  (s) => (typeof s.changed === 'boolean' ? (s.changed ? '.env updated' : '.env already up to date') : null),
];

export function summarize(output: Summary | null): string {
  if (!output) return '';
  const hits = RULES.map((rule) => rule(output)).filter((t): t is string => !!t);
  if (hits.length) return hits.slice(0, 2).join(' · ');
  const numbers = Object.entries(output).filter(([, v]) => num(v) !== null).slice(0, 2);
  return numbers.map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(' · ');
}

/** Scalar output figures for the expanded card (lists shown by their length). */
export function outputFigures(output: Summary | null): [string, string][] {
  if (!output) return [];
  return Object.entries(output).flatMap(([k, v]): [string, string][] => {
    if (v === null || v === undefined) return [];
    if (Array.isArray(v)) return [[k, `${v.length} items`]];
    if (typeof v === 'object') {
      return Object.entries(v as Summary)
        .filter(([, x]) => x === null || typeof x !== 'object')
        .map(([k2, x]) => [`${k}.${k2}`, String(x)]);
    }
    return [[k, String(v)]];
  });
}

/** One line when the run ends; names the step a failed or cancelled run stopped at. */
export function verdict(finish: RunFinish, steps: StepState[]): string {
  const total = steps.reduce((sum, s) => sum + (s.durationS ?? 0), 0);
  if (finish.status === 'success') {
    const c = obj(finish.summary.model_comparison);
    const acc = num(c?.cnn_real_accuracy) ?? num(finish.summary.cnn_accuracy);
    const pp = num(c?.cnn_accuracy_improvement_pp);
    let text = `Finished in ${duration(total)}`;
    if (acc !== null) text += ` — CNN ${fixed(acc, 2)} on the test set`;
    if (pp !== null) text += `, ${signed(Math.round(pp), 0)} points over the synthetic baseline`;
    const gate = obj(finish.summary.model_gate);
    if (gate && gate.enable === false) text += ' — AI models held back';
    else if (gate && gate.forced === true) text += ' — AI models switched on (forced)';
    return text;
  }
  const bad = steps.find((s) => s.status === finish.status) ??
    steps.find((s) => ['failed', 'cancelled', 'interrupted'].includes(s.status));
  const where = bad ? ` at step ${bad.number}, ${bad.name}` : '';
  const word = finish.status === 'failed' ? 'Failed' : finish.status === 'cancelled' ? 'Cancelled' : 'Stopped';
  return `${word}${where}` + (finish.status === 'failed' && bad?.error ? ` — ${firstLine(bad.error)}` : '');
}

/** The error in plain words: its first line; the rest is technical detail. */
export function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
