import { describe, expect, it } from 'vitest';
import { problemOf } from '../../src/lib/bridge';

describe('problemOf', () => {
  it('keeps a CommandError object from the backend as it is', () => {
    const problem = { kind: 'not_found', summary: 'That report no longer exists.', detail: '/w/logs/r.json: not found' };
    expect(problemOf(problem)).toEqual(problem);
    expect(problemOf({ kind: 'settings', summary: 'The settings file is invalid.', detail: null }))
      .toEqual({ kind: 'settings', summary: 'The settings file is invalid.', detail: null });
  });

  it('reads an unknown kind as internal and an empty or missing detail as none', () => {
    expect(problemOf({ kind: 'weird', summary: 'Something broke.', detail: '  ' }))
      .toEqual({ kind: 'internal', summary: 'Something broke.', detail: null });
    expect(problemOf({ summary: 'Something broke.' })).toEqual({ kind: 'internal', summary: 'Something broke.', detail: null });
  });

  it('turns a plain string (older backend, mocks) into the summary, with no detail', () => {
    expect(problemOf('a run is already going')).toEqual({ kind: 'internal', summary: 'a run is already going', detail: null });
  });

  it("takes an Error's message as the summary", () => {
    expect(problemOf(new TypeError('x is undefined'))).toEqual({ kind: 'internal', summary: 'x is undefined', detail: null });
  });

  it('turns anything else into its text', () => {
    expect(problemOf(42)).toEqual({ kind: 'internal', summary: '42', detail: null });
    expect(problemOf(null)).toEqual({ kind: 'internal', summary: 'null', detail: null });
    expect(problemOf(undefined)).toEqual({ kind: 'internal', summary: 'undefined', detail: null });
    expect(problemOf({ summary: 7, detail: 'x' })).toEqual({ kind: 'internal', summary: '[object Object]', detail: null });
  });
});
