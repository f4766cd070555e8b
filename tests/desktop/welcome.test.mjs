// The real AgriFlux Studio window on a first start (an empty profile: no work directory, no
// recent folders): the welcome view, "Try it with simulated data" running all 8 steps in a
// demo folder in the user's documents, the one notification a run that ends unfocused sends,
// switching folders through the (stubbed) folder dialog, and the About view naming the log
// folder. Screenshots go to test-artifacts/desktop/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { launchApp } from './webdriver.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const TARGET = process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
const BINARY = process.env.AGRIFLUX_STUDIO_BIN ?? join(TARGET, 'debug/agriflux-studio');
const SHOTS = join(ROOT, 'test-artifacts/desktop');
const STEPS = ['download', 'validate', 'cnn_dataset', 'lstm_dataset', 'train_cnn', 'train_lstm', 'compare', 'update_env'];
const DONE = new Set(['success', 'skipped', 'up_to_date', 'failed', 'cancelled']);

// A profile of its own: home, config, data; the documents folder named the XDG way.
const home = mkdtempSync(join(tmpdir(), 'agriflux-home-'));
const config = join(home, '.config');
const documents = join(home, 'Field documents');
const demo = join(documents, 'AgriFlux demo');

let app;
let s;

before(async () => {
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, 'user-dirs.dirs'), 'XDG_DOCUMENTS_DIR="$HOME/Field documents"\n');
  // The demo folder keeps the settings it already has: tiny ones here, so the run takes
  // seconds (a new demo folder runs with the defaults, about a minute and a half).
  mkdirSync(demo, { recursive: true });
  writeFileSync(join(demo, '.env'), readFileSync(join(ROOT, 'tests/fixtures/tiny-farm.env')));
  app = await launchApp({
    binary: BINARY,
    env: {
      AGRIFLUX_STUDIO_TEST_HOOKS: '1',
      HOME: home,
      XDG_CONFIG_HOME: config,
      XDG_DATA_HOME: join(home, '.local/share'),
    },
  });
  s = app.session;
});

after(async () => {
  await app?.close();
});

const invoke = (cmd, args) => s.invoke(cmd, args);

const statuses = () => s.stepStatuses();

test('an empty profile opens on the welcome view with its three choices', async () => {
  await s.waitFor('[data-testid="welcome-view"]', 60_000);
  for (const id of ['welcome-try', 'welcome-connect', 'welcome-open']) {
    assert.ok(await s.find(`[data-testid="${id}"]`), id);
  }
  assert.equal(await s.find('[data-testid="nav-run"]'), null, 'no shell before a folder is open');
  const view = await invoke('workspace_view');
  assert.equal(view.current, null);
  assert.equal(view.demo_folder, demo, 'the demo folder goes in the XDG documents folder');
  await s.screenshot(SHOTS, 'welcome.png');
});

test('"Try it with simulated data" runs the 8 steps in the demo folder and, unfocused, notifies once', async () => {
  await invoke('test_pretend_focus', { focused: false });
  await s.click('[data-testid="welcome-try"]');
  await s.waitFor('[data-testid="step-card-download"]', 30_000);
  const final = await s.until('all 8 cards to finish', async () => {
    const st = await statuses();
    return STEPS.every((id) => DONE.has(st[id])) ? st : null;
  }, 10 * 60_000, 300);
  assert.deepEqual(Object.keys(final).sort(), [...STEPS].sort());
  assert.ok(STEPS.slice(0, 7).every((id) => final[id] === 'success'), JSON.stringify(final));
  assert.equal(final.update_env, 'skipped', 'simulated data never passes the gate');
  assert.ok(existsSync(join(demo, 'reports')), 'the run wrote into the demo folder');
  await s.screenshot(SHOTS, 'welcome-demo-run.png');
  // Step 7 trains two models: its curves show like steps 5 and 6.
  await s.elementScreenshot('[data-testid="curves-compare"]', SHOTS, 'welcome-demo-step7-curves.png');

  const sent = await s.until('the run-end notification', async () => {
    const n = await invoke('test_notifications');
    return n.length > 0 ? n : null;
  }, 10_000, 200);
  assert.equal(sent.length, 1, JSON.stringify(sent));
  assert.equal(sent[0].title, 'AgriFlux run finished: models held back');
  assert.match(sent[0].body, /^Took \d+ (s|min \d+ s)\. /);
  assert.match(sent[0].body, /simulated/);
});

test('"Open a work directory" switches to the folder picked in the (stubbed) dialog', async () => {
  const north = realpathSync(mkdtempSync(join(home, 'north-farm-')));
  await invoke('test_stub_folder_dialog', { path: north });
  await s.click('[data-testid="workdir-menu"]');
  await s.click('[data-testid="workdir-open"]');
  await s.until('the header to name the new folder', async () => {
    const text = await s.exec(`return document.querySelector('[data-testid="workdir-menu"]')?.innerText ?? ''`);
    return text.includes('north-farm-');
  }, 20_000, 200);
  const view = await invoke('workspace_view');
  assert.equal(view.current, north);
  assert.deepEqual(view.recent.map((r) => r.path), [north, realpathSync(demo)]);
  // The new folder has no runs: the history is empty, not the demo folder's.
  await s.click('[data-testid="nav-history"]');
  await s.until('an empty history', async () =>
    (await s.exec(`return document.querySelectorAll('[data-testid^="history-row-"]').length`)) === 0, 10_000);
  // Back to the demo folder from the recent list.
  await s.click('[data-testid="workdir-menu"]');
  await s.click('[data-testid="workdir-recent-0"]');
  // The window reloads after a switch: a call made while it unloads is lost, so ask again.
  await s.until('the demo folder again', async () => {
    try {
      return (await invoke('workspace_view')).current === realpathSync(demo);
    } catch {
      return false;
    }
  }, 20_000, 300);
  await s.waitFor('[data-testid="workdir-menu"]', 20_000);
  await s.screenshot(SHOTS, 'welcome-switched.png');
});

test('About names the versions, the bundled licences and the log folder, where the log is', async () => {
  await s.waitFor('[data-testid="nav-about"]', 20_000);
  await s.click('[data-testid="nav-about"]');
  const about = await s.text(await s.waitFor('[data-testid="about-view"]'));
  const logs = join(home, '.local/share/studio.agriflux.app/logs');
  assert.ok(about.includes(logs), about);
  assert.match(about, /Ubuntu Font Licence 1\.0/);
  const log = readFileSync(join(logs, 'agriflux-studio.log'), 'utf8');
  assert.match(log, /work directory opened/);
  await s.screenshot(SHOTS, 'about.png');
});
