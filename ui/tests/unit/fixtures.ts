import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunEvent } from '../../src/lib/bridge';

// Vitest runs from the ui folder.
const dir = resolve(process.cwd(), 'tests/fixtures') + '/';

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(dir + name, 'utf8')) as T;
}

/** The trimmed event log of a real run (272 events). */
export function runEvents(): RunEvent[] {
  return readFileSync(dir + 'events.jsonl', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunEvent);
}
