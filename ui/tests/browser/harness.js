// Serves ui/dist with vite's preview() API and drives the system Chromium with playwright-core.
// Needs a prior `npm run build`: this script builds nothing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preview } from 'vite';
import { chromium } from 'playwright-core';
import { installMockBackend } from './mock-backend.js';

export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = resolve(UI_DIR, '../test-artifacts/ui');
const FIXTURES = resolve(UI_DIR, 'tests/fixtures');

const json = (name) => JSON.parse(readFileSync(resolve(FIXTURES, name), 'utf8'));

/** The report's map as the engine would give it: the latest date's health and forecast layers. */
function reportMap(map) {
  const dates = Object.keys(map.views).sort();
  const view = map.views[dates[dates.length - 1]];
  return {
    date: view.date,
    simulated: view.simulated,
    class_names: view.class_names,
    layers: view.layers.filter((l) => l.id === 'health' || l.id === 'forecast'),
    fields: view.fields,
    notes: view.notes,
  };
}

export function loadFixtures() {
  const map = json('map.json');
  return {
    appInfo: json('app-info.json'),
    plan: json('plan.json'),
    runs: json('runs.json'),
    report: { ...json('report.json'), map: reportMap(map) },
    map,
    settings: json('settings.json'),
    models: json('models.json'),
    workspace: json('workspace.json'),
    about: json('about.json'),
    events: readFileSync(resolve(FIXTURES, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
  };
}

export async function startApp() {
  if (!existsSync(resolve(UI_DIR, 'dist/index.html'))) {
    throw new Error('ui/dist is missing: run `npm run build` before `npm run test:browser`');
  }
  mkdirSync(SHOTS, { recursive: true });
  const server = await preview({
    root: UI_DIR,
    configFile: false,
    logLevel: 'warn',
    base: './',
    build: { outDir: 'dist' },
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
  });
  const address = server.httpServer.address();
  const url = `http://127.0.0.1:${address.port}/`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const fixtures = loadFixtures();
  const { events: _events, ...backendFixtures } = fixtures;

  /** A new page on the app; `firstStart`: no work directory open (the welcome view). */
  async function openPage(viewport = { width: 1280, height: 800 }, colorScheme = 'light', { firstStart = false } = {}) {
    const context = await browser.newContext({ viewport, colorScheme });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    const workspace = firstStart ? { ...backendFixtures.workspace, current: null } : backendFixtures.workspace;
    await page.addInitScript(installMockBackend, { ...backendFixtures, workspace });
    await page.goto(url);
    await page.getByTestId(firstStart ? 'welcome-view' : 'nav-run').waitFor();
    return { page, context, errors };
  }

  async function stop() {
    await browser.close();
    await new Promise((r) => server.httpServer.close(r));
  }

  return { url, fixtures, openPage, stop };
}

/** Pushes events as `run-events` batches with consecutive sequence numbers. */
export function sequencer(page, runId) {
  let seq = 0;
  return async (events, batchSize = 50) => {
    for (let i = 0; i < events.length; i += batchSize) {
      const batch = { run_id: runId, first_seq: seq, events: events.slice(i, i + batchSize) };
      seq += batch.events.length;
      await page.evaluate((b) => window.__mock.push(b), batch);
    }
  };
}

export async function shot(page, name) {
  await page.waitForTimeout(250); // let the chevron transitions settle
  await page.screenshot({ path: resolve(SHOTS, name) });
}
