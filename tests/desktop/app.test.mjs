// The real AgriFlux Studio window under Xvfb, driven through tauri-driver and WebKitWebDriver:
// a whole run on the simulated source with tiny settings, the report charts, settings saved to
// .env, the secret kept out of everything the app writes or shows, a cancelled run, and a
// flood of log lines through the real event bridge. Screenshots go to test-artifacts/desktop/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { launchApp } from './webdriver.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const TARGET = process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
const BINARY = process.env.AGRIFLUX_STUDIO_BIN ?? join(TARGET, 'debug/agriflux-studio');
const SHOTS = join(ROOT, 'test-artifacts/desktop');
const SECRET = 'wd-secret-7f3a9c1e5b';
const STEPS = ['download', 'validate', 'cnn_dataset', 'lstm_dataset', 'train_cnn', 'train_lstm', 'compare', 'update_env'];

// The crop-monitoring system's own key that holds a secret: it must never leave .env.
const WEATHER_KEY = 'wk-7c1e55d0a9b3f2';

// Tiny settings: a 2.6 km x 2 km area, 14 simulated dates, one CNN epoch; below them, keys of
// the crop-monitoring system that reads the same file (comments, export, quotes, a secret).
const ENV = `# AgriFlux test farm: tiny settings so a whole run takes seconds
AGRIFLUX_BBOX=75.80,30.90,75.827,30.918
AGRIFLUX_START=2025-01-01
AGRIFLUX_END=2025-12-31   # one season
AGRIFLUX_TARGET_COUNT=14
AGRIFLUX_MIN_VALID_DATES=10
AGRIFLUX_SEQUENCE_LENGTH=5
AGRIFLUX_SAMPLES_PER_CLASS=16

# training
AGRIFLUX_CNN_EPOCHS=1
AGRIFLUX_LSTM_EPOCHS=2

# --- the crop-monitoring system (not AgriFlux) ---
export DATABASE_PATH="/var/lib/crops/monitoring.sqlite"   # sqlite file
# forecasts come from this service
WEATHER_API_KEY='${WEATHER_KEY}'
REPORT_TITLE='North farm'
LEGACY_FLAG=1
`;
const CLI = process.env.AGRIFLUX_CLI_BIN ?? join(TARGET, 'debug/agriflux');

let app;
let s;
const workdir = mkdtempSync(join(tmpdir(), 'agriflux-wd-'));

before(async () => {
  writeFileSync(join(workdir, '.env'), ENV, { mode: 0o600 });
  app = await launchApp({
    binary: BINARY,
    workdir,
    env: { AGRIFLUX_STUDIO_TEST_HOOKS: '1', XDG_CONFIG_HOME: join(workdir, '.config-home') },
  });
  s = app.session;
  await s.waitFor('[data-testid="run-button"]', 60_000);
});

after(async () => {
  await app?.close();
});

const statuses = () => s.stepStatuses();

test('a run on the simulated source ends with 7 green cards, step 8 held back, and the report shows its charts', async () => {
  // The header learns the source from the backend after the first paint: wait for it.
  await s.until('the simulated-data badge', async () =>
    /Simulated data/.test(await s.exec('return document.body.innerText')), 15_000, 100);
  await s.click('[data-testid="run-button"]');
  await s.waitFor('[data-testid="cancel-button"]', 30_000);

  // Mid-run screenshot: as soon as a training step runs.
  await s.until('a training step to run', async () => {
    const st = await statuses();
    return st.train_cnn === 'running' || st.train_lstm === 'running' || st.compare === 'running' || st.update_env === 'skipped';
  }, 10 * 60_000, 200);
  await s.screenshot(SHOTS, 'run-mid.png');

  // Simulated data never passes the gate before step 8: it ends skipped, the rest succeed.
  const final = await s.until('steps 1-7 to succeed and step 8 to be held back', async () => {
    const st = await statuses();
    if (Object.values(st).some((v) => v === 'failed' || v === 'cancelled')) {
      throw new Error(`a step did not succeed: ${JSON.stringify(st)}`);
    }
    const done = STEPS.filter((id) => id !== 'update_env').every((id) => st[id] === 'success');
    return done && st.update_env === 'skipped' ? st : null;
  }, 15 * 60_000);
  assert.deepEqual(Object.keys(final).sort(), [...STEPS].sort());
  const verdict = await s.text(await s.waitFor('[data-testid="verdict"]'));
  assert.match(verdict, /CNN/);
  await s.screenshot(SHOTS, 'run-finished.png');

  // Nothing changed since: the "what will run" preview says every step is up to date.
  const actions = await s.until('the plan preview to refresh', async () => {
    const a = await s.exec(
      `return [...document.querySelectorAll('[data-testid="plan-preview"] [data-action]')].map(c => c.dataset.action);`,
    );
    return a.length === 8 && a.every((x) => x === 'up_to_date') ? a : null;
  }, 30_000);
  assert.equal(actions.length, 8);

  // The gate held the simulated models back: .env does not switch them on.
  const env = existsSync(join(workdir, '.env')) ? readFileSync(join(workdir, '.env'), 'utf8') : '';
  assert.doesNotMatch(env, /^USE_AI_MODELS=true$/m);

  // Report view of the newest run, from the history.
  await s.click('[data-testid="nav-history"]');
  // The newest run is the first row; its date button opens the report.
  await s.click('[data-testid^="history-row-"] button.open');
  await s.waitFor('[data-testid="report-view"]');
  const charts = await s.until('charts to load', async () => {
    const loaded = await s.exec(
      `return [...document.querySelectorAll('[data-testid^="chart-"] img')]
         .filter(i => i.complete && i.naturalWidth > 0).length;`,
    );
    return loaded >= 5 ? loaded : null;
  }, 30_000);
  assert.ok(charts >= 5, `only ${charts} charts drew`);
  for (const name of ['cnn_confusion', 'cnn_metrics', 'lstm_predicted_vs_actual']) {
    assert.ok(await s.find(`[data-testid="chart-${name}"]`), `chart ${name} missing`);
  }
  await s.screenshot(SHOTS, 'report.png');
  await s.click('[data-testid="nav-history"]');
  await s.waitFor('[data-testid^="history-row-"]');
  await s.screenshot(SHOTS, 'history.png');
});

/** Two rectangular fields in the latest scene's UTM zone, by pixel rectangles [c0, r0, c1, r1]. */
function fieldsOnLatestScene() {
  const scenes = join(workdir, 'data/scenes');
  const latest = readdirSync(scenes).filter((d) => /^\d{4}-\d\d-\d\d$/.test(d)).sort().at(-1);
  const meta = JSON.parse(readFileSync(join(scenes, latest, 'metadata.json'), 'utf8'));
  const [x0, px, , y0, , py] = meta.geotransform;
  const at = (c, r) => [x0 + c * px, y0 + r * py];
  const rect = (name, [c0, r0, c1, r1]) => ({
    type: 'Feature',
    properties: { name },
    geometry: { type: 'Polygon', coordinates: [[at(c0, r1), at(c1, r1), at(c1, r0), at(c0, r0), at(c0, r1)]] },
  });
  const epsg = meta.crs.replace('EPSG:', '');
  return JSON.stringify({
    type: 'FeatureCollection',
    crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${epsg}` } },
    features: [rect('North plot', [20, 20, 90, 80]), rect('River meadow', [140, 100, 220, 170])],
  });
}

test('the Map view: computed in the window, date slider, layers, a field season and the fields table', async () => {
  // The window's own import command (what "Import fields…" sends), then the Map view computes
  // every date's layers from this run's scenes and models.
  const imported = await s.execAsync(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke('import_fields', { name: 'farm.geojson', text: arguments[0] })
       .then((r) => done(r), (e) => done('error: ' + JSON.stringify(e)));`,
    [fieldsOnLatestScene()],
  );
  assert.equal(imported.fields, 2, JSON.stringify(imported));
  await s.click('[data-testid="nav-map"]');
  await s.waitFor('[data-testid="map-stage"]', 180_000);
  const heading = () => s.exec(`return document.querySelector('[data-testid="map-view"] h2').innerText`);
  const latest = (await heading()).replace('Map of ', '');
  const layers = () => s.exec(`return [...document.querySelectorAll('[data-testid="map-stage"] img')].map(i => i.dataset.layer)`);
  assert.deepEqual(await layers(), ['true_colour', 'health']);
  await s.waitFor('[data-testid="legend-health"]');
  await s.screenshot(SHOTS, 'map-latest.png');

  // The date slider back to the first date.
  await s.exec(`const el = document.querySelector('[data-testid="date-slider"]');
    el.value = '0'; el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true }));`);
  const first = await s.until('the first date to show', async () => {
    const h = await heading();
    return h !== `Map of ${latest}` && /^Map of \d{4}-\d\d-\d\d$/.test(h) ? h : null;
  }, 30_000, 200);
  assert.ok(first < `Map of ${latest}`, `${first} before ${latest}`);

  // Layers: NDVI on (with its legend), health off.
  await s.click('[data-testid="layer-toggle-ndvi"]');
  await s.click('[data-testid="layer-toggle-health"]');
  await s.until('the NDVI layer and its legend', async () => {
    const l = await layers();
    return l.includes('ndvi') && !l.includes('health') && (await s.findAll('[data-testid="legend-ndvi"]')).length === 1;
  }, 10_000, 200);
  await s.screenshot(SHOTS, 'map-first-date-ndvi.png');

  // A field: its season (observed, forecast, persistence) in the side panel.
  await s.exec(`document.querySelector('[data-testid="field-outline-1"]').dispatchEvent(new MouseEvent('click', { bubbles: true }))`);
  const panel = await s.waitFor('[data-testid="detail-panel"] [data-testid="series-chart"]', 10_000);
  assert.ok(panel);
  assert.match(await s.exec(`return document.querySelector('[data-testid="detail-panel"]').innerText`), /North plot/);
  const rows = await s.exec(`return document.querySelectorAll('[data-testid="detail-panel"] [data-testid="series-table"] tbody tr').length`);
  assert.ok(rows >= 10, `a row per date in the field's season: ${rows}`);
  await s.screenshot(SHOTS, 'map-field-season.png');

  // The fields table: both fields, the neediest first.
  const table = await s.exec(`return document.querySelector('[data-testid="fields-table"]').innerText`);
  assert.match(table, /North plot/);
  assert.match(table, /River meadow/);
  await s.exec(`document.querySelector('[data-testid="fields-table"]').scrollIntoView()`);
  await s.screenshot(SHOTS, 'map-fields-table.png');

  // The timelapse plays, and the window answers a click meanwhile.
  await s.click('[data-testid="map-play"]');
  const seen = new Set();
  await s.until('the timelapse to show three dates', async () => {
    seen.add(await heading());
    return seen.size >= 3;
  }, 30_000, 100);
  await s.click('[data-testid="layer-toggle-clouds"]');
  await s.waitFor('[data-testid="legend-clouds"]', 5_000);
  await s.click('[data-testid="map-play"]');
  await s.screenshot(SHOTS, 'map-timelapse.png');
  assert.ok(existsSync(join(workdir, 'maps/fields.csv')));

  // The latest run's report now shows the latest date's health and forecast maps and the fields.
  await s.click('[data-testid="nav-history"]');
  await s.click('[data-testid^="history-row-"] button.open');
  await s.waitFor('[data-testid="report-map"]', 20_000);
  const report = await s.exec(`return document.querySelector('[data-testid="report-map"]').innerText`);
  assert.match(report, /North plot/);
  assert.equal(await s.exec(`return document.querySelectorAll('[data-testid="report-map"] img').length`), 2);
  await s.exec(`document.querySelector('[data-testid="report-map"]').scrollIntoView()`);
  await s.screenshot(SHOTS, 'report-map.png');
});

test('settings are saved to .env with comments kept, and the secret never shows', async () => {
  await s.click('[data-testid="nav-settings"]');
  await s.type('[data-testid="settings-AGRIFLUX_CNN_EPOCHS"]', '2');
  await s.type('[data-testid="settings-SENTINEL_HUB_CLIENT_SECRET"]', SECRET);
  // The source must stay simulated for the rest of the tests: no client id, so the secret alone
  // does not switch to Sentinel Hub.
  await s.screenshot(SHOTS, 'settings.png');
  await s.click('[data-testid="settings-save"]');
  const env = await s.until('.env to change', async () => {
    const text = readFileSync(join(workdir, '.env'), 'utf8');
    return text.includes('AGRIFLUX_CNN_EPOCHS=2') && text.includes(SECRET) ? text : null;
  }, 20_000, 200);
  assert.ok(env.startsWith('# AgriFlux test farm: tiny settings so a whole run takes seconds\n'));
  assert.match(env, /^AGRIFLUX_END=2025-12-31   # one season$/m);
  assert.match(env, /^# training$/m);
  assert.equal(statSync(join(workdir, '.env')).mode & 0o777, 0o600);
  await s.screenshot(SHOTS, 'settings-saved.png');

  await s.call('POST', '/refresh', {});
  await s.click('[data-testid="nav-settings"]');
  await s.waitFor('[data-testid="settings-SENTINEL_HUB_CLIENT_SECRET"]');
  const html = await s.exec('return document.documentElement.outerHTML');
  assert.ok(!html.includes(SECRET), 'the secret is in the DOM');
});


test('the other keys of .env: edited, added and removed with every other byte kept, the API key never shown', async () => {
  await s.click('[data-testid="nav-settings"]');
  await s.waitFor('[data-testid="env-key-WEATHER_API_KEY"]');
  const keys = await s.exec(
    `return [...document.querySelectorAll('[data-testid^="env-key-"]')].map(e => e.dataset.testid.slice('env-key-'.length));`,
  );
  assert.deepEqual(keys, ['DATABASE_PATH', 'WEATHER_API_KEY', 'REPORT_TITLE', 'LEGACY_FLAG']);
  assert.equal(await s.attr(await s.find('[data-testid="env-value-WEATHER_API_KEY"]'), 'type'), 'password');
  assert.equal(await s.text(await s.find('[data-testid="secret-state-WEATHER_API_KEY"]')), 'set');
  const db = await s.find('[data-testid="env-key-DATABASE_PATH"]');
  assert.match(await s.text(db), /sqlite file/);

  const before = readFileSync(join(workdir, '.env'), 'utf8');
  await s.type('[data-testid="env-value-DATABASE_PATH"]', '/srv/crops/monitoring.sqlite');
  await s.click('[data-testid="env-remove-LEGACY_FLAG"]');
  await s.click('[data-testid="env-add"]');
  await s.type('[data-testid="env-new-key-0"]', 'FIELD_NOTES');
  await s.type('[data-testid="env-new-value-0"]', 'wet corner by the canal');
  await s.until('Save to be enabled', async () =>
    s.exec('return !document.querySelector(\'[data-testid="settings-save"]\').disabled'), 10_000, 100);
  await s.screenshot(SHOTS, 'settings-env-keys.png');
  await s.click('[data-testid="settings-save"]');
  const expected = before
    .replace('"/var/lib/crops/monitoring.sqlite"', '"/srv/crops/monitoring.sqlite"')
    .replace('LEGACY_FLAG=1\n', '') + 'FIELD_NOTES="wet corner by the canal"\n';
  const after = await s.until('.env to be saved', async () => {
    const text = readFileSync(join(workdir, '.env'), 'utf8');
    return text !== before ? text : null;
  }, 20_000, 200);
  assert.equal(after, expected);
  await s.waitFor('[data-testid="env-key-FIELD_NOTES"]', 10_000);
  const html = await s.exec('return document.documentElement.outerHTML');
  assert.ok(!html.includes(WEATHER_KEY), 'the API key is in the DOM');
});

test('after a settings change only the affected steps run; a cancel shows as cancelled', async () => {
  await s.click('[data-testid="nav-run"]');
  // The preview names what will run and why: the CNN epochs changed from 1 to 2.
  const plan = await s.until('the plan preview to show the change', async () => {
    const chips = await s.exec(
      `return [...document.querySelectorAll('[data-testid="plan-preview"] [data-action]')].map(c => [c.dataset.action, c.title]);`,
    );
    return chips.length === 8 && /cnn_epochs changed from 1 to 2/.test(chips[4][1]) ? chips : null;
  }, 30_000);
  assert.deepEqual(plan.slice(0, 4).map(([action]) => action), ['up_to_date', 'up_to_date', 'up_to_date', 'up_to_date']);
  assert.equal(plan[4][0], 'run');
  await s.screenshot(SHOTS, 'run-plan-preview.png');
  await s.click('[data-testid="run-button"]');
  await s.waitFor('[data-testid="cancel-button"]', 30_000);
  // Cancel while a training step runs (cancelling between two steps leaves the next one pending).
  const during = await s.until('training to run', async () => {
    const st = await statuses();
    return st.train_cnn === 'running' ? st : null;
  }, 120_000, 100);
  // Steps 1-4 were not run again: their cards say up to date.
  for (const id of ['download', 'validate', 'cnn_dataset', 'lstm_dataset']) {
    assert.equal(during[id], 'up_to_date', `${id}: ${JSON.stringify(during)}`);
  }
  await s.click('[data-testid="cancel-button"]');
  const st = await s.until('a cancelled card', async () => {
    const now = await statuses();
    return Object.values(now).includes('cancelled') ? now : null;
  }, 60_000);
  assert.ok(Object.values(st).includes('cancelled'), JSON.stringify(st));
  await s.waitFor('[data-testid="run-button"]', 30_000);
  await s.screenshot(SHOTS, 'run-cancelled.png');
});

test('a run whose step 8 switches the models on shows in Settings; switching off asks, writes false and is logged', async () => {
  // Simulated models never pass the gate: force it, as `--enable-models always` does.
  await s.click('[data-testid="nav-settings"]');
  await s.waitFor('[data-testid="settings-AGRIFLUX_ENABLE_MODELS"]');
  await s.exec(
    `const el = document.querySelector('[data-testid="settings-AGRIFLUX_ENABLE_MODELS"]');
     el.value = 'always';
     el.dispatchEvent(new Event('change', { bubbles: true }));`,
  );
  await s.until('Save to be enabled', async () =>
    s.exec('return !document.querySelector(\'[data-testid="settings-save"]\').disabled'), 10_000, 100);
  await s.click('[data-testid="settings-save"]');
  await s.until('.env to say always', async () =>
    readFileSync(join(workdir, '.env'), 'utf8').includes('AGRIFLUX_ENABLE_MODELS=always'), 20_000, 200);

  await s.click('[data-testid="nav-run"]');
  await s.waitFor('[data-testid="run-button"]', 30_000);
  await s.click('[data-testid="run-button"]');
  await s.waitFor('[data-testid="cancel-button"]', 30_000);
  await s.until('step 8 to switch the models on', async () => {
    const st = await statuses();
    if (Object.values(st).some((v) => v === 'failed' || v === 'cancelled')) throw new Error(JSON.stringify(st));
    return st.update_env === 'success' ? st : null;
  }, 10 * 60_000);
  await s.waitFor('[data-testid="run-button"]', 30_000);
  assert.match(readFileSync(join(workdir, '.env'), 'utf8'), /^USE_AI_MODELS=true$/m);
  const log = readFileSync(join(workdir, 'logs/env_changes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const runId = log[log.length - 1].run_id;
  assert.ok(runId, JSON.stringify(log[log.length - 1]));

  await s.click('[data-testid="nav-settings"]');
  const title = await s.until('the switch to say on', async () => {
    const el = await s.find('[data-testid="models-title"]');
    const text = el ? await s.text(el) : '';
    return /AI models: on/.test(text) ? text : null;
  }, 20_000, 200);
  assert.match(title, new RegExp(`switched on by step 8 of run ${runId}`));
  const figures = await s.text(await s.find('[data-testid="models-run"]'));
  assert.match(figures, /simulated data/);
  assert.match(figures, /gate forced/);
  assert.match(figures, /CNN macro-F1/);
  assert.match(figures, /persistence/);
  await s.screenshot(SHOTS, 'settings-models-on.png');

  await s.click('[data-testid="models-off"]');
  await s.waitFor('[data-testid="models-off-confirm"]');
  assert.match(readFileSync(join(workdir, '.env'), 'utf8'), /^USE_AI_MODELS=true$/m, 'asking wrote nothing');
  await s.click('[data-testid="models-off-confirm"]');
  await s.until('.env to say false', async () =>
    /^USE_AI_MODELS=false$/m.test(readFileSync(join(workdir, '.env'), 'utf8')), 20_000, 200);
  await s.until('the switch to say off', async () =>
    /AI models: off/.test(await s.text(await s.find('[data-testid="models-title"]'))), 10_000, 200);

  await s.click('[data-testid="nav-history"]');
  const change = await s.until('the switch in the History', async () => {
    const el = await s.find('[data-testid="env-change"]');
    const text = el ? await s.text(el) : '';
    return /USE_AI_MODELS: true → false/.test(text) ? text : null;
  }, 20_000, 300);
  assert.match(change, /app \(AI-models switch\)/);
  await s.screenshot(SHOTS, 'history-env-changes.png');

  // The CLI reads the same state.
  assert.ok(existsSync(CLI), `${CLI} is missing: cargo test builds it`);
  const status = execFileSync(CLI, ['models', 'status', '--workdir', workdir], { encoding: 'utf8' });
  assert.match(status, /AI models: off/);
  assert.match(status, /switched off by app \(AI-models switch\)/);
});

test('a step agriflux.toml adds shows as an external command card with its output as it comes', async () => {
  writeFileSync(join(workdir, 'agriflux.toml'), `# added by the desktop test
[steps.field_report]
name = "Field report"
after = "update_env"
command = ["sh", "-c", "echo 'agriflux:progress {\\"done\\":1,\\"total\\":2,\\"unit\\":\\"fields\\"}'; echo 'field north: healthy'; sleep 3; echo 'field south: stressed'; sleep 3"]
`);
  try {
    // The preview is asked again when the run view opens.
    await s.click('[data-testid="nav-settings"]');
    await s.click('[data-testid="nav-run"]');
    const chips = await s.until('the plan preview to show nine steps', async () => {
      const c = await s.exec(
        `return [...document.querySelectorAll('[data-testid="plan-preview"] [data-action]')].map(c => [c.dataset.step, c.textContent]);`,
      );
      return c.length === 9 ? c : null;
    }, 30_000);
    assert.equal(chips[8][0], 'field_report');
    assert.match(chips[8][1], /^9.*external command/);
    await s.click('[data-testid="run-button"]');
    await s.waitFor('[data-testid="step-card-field_report"]', 30_000);
    await s.until('the command step to run', async () =>
      (await statuses()).field_report === 'running', 10 * 60_000, 100);
    const card = '[data-testid="step-card-field_report"]';
    assert.equal(await s.text(await s.find(`${card} [data-testid="external-command"]`)), 'external command');
    await s.click(`${card} button.row`);
    // Its first line shows in the card's log while the command still runs (it sleeps after
    // it); the second is not there yet.
    const live = await s.until('the first line while it runs', async () => {
      const [status, log] = await s.exec(
        `const c = document.querySelector('${card}');
         return [c.dataset.status, c.querySelector('[data-testid="step-log"]')?.innerText ?? ''];`,
      );
      return status === 'running' && /^info\s*field north: healthy$/m.test(log) ? log : null;
    }, 20_000, 100);
    // (The Arguments and Executing lines quote the whole script: match whole lines.)
    assert.doesNotMatch(live, /^info\s*field south: stressed$/m);
    assert.match(await s.text(await s.find(`${card} [data-testid="step-command"]`)), /sh -c/);
    await s.screenshot(SHOTS, 'run-command-step.png');
    await s.until('the command step to succeed', async () =>
      (await statuses()).field_report === 'success', 60_000, 200);
    const log = await s.exec(`return document.querySelector('${card} [data-testid="step-log"]').innerText;`);
    assert.match(log, /^info\s*field south: stressed$/m);
    await s.waitFor('[data-testid="run-button"]', 30_000);
  } finally {
    rmSync(join(workdir, 'agriflux.toml'), { force: true });
  }
});

test('the secret is in no file the app wrote other than .env', async () => {
  const leaks = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (path !== join(workdir, '.env') && st.size < 50_000_000) {
        const bytes = readFileSync(path);
        if (bytes.includes(SECRET) || bytes.includes(WEATHER_KEY)) leaks.push(path);
      }
    }
  };
  walk(workdir);
  assert.deepEqual(leaks, []);
  const html = await s.exec('return document.documentElement.outerHTML');
  assert.ok(!html.includes(SECRET) && !html.includes(WEATHER_KEY));
});

test('5,000 log lines through the real bridge leave the window responsive', async () => {
  await s.click('[data-testid="nav-run"]');
  const sent = await s.execAsync(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke('test_log_burst', { count: 5000 })
       .then(() => done('ok'), (e) => done('error: ' + JSON.stringify(e)));`,
  );
  assert.equal(sent, 'ok');
  // The pretend run's step 1 is running; open its log and wait for the last line.
  await s.until('the pretend run to show', async () => (await statuses()).download === 'running', 30_000, 200);
  const toggle = '[data-testid="step-card-download"] button[aria-expanded]';
  if ((await s.attr(await s.waitFor(toggle), 'aria-expanded')) !== 'true') await s.click(toggle);
  await s.until('line 5000 to show', async () =>
    s.exec(`return document.querySelector('[data-testid="step-card-download"]').innerText.includes('test line 5000 of 5000')`),
  60_000, 300);
  await s.screenshot(SHOTS, 'run-log-flood.png');
  // A click still works at once.
  await s.click('[data-testid="nav-history"]');
  await s.waitFor('[data-testid^="history-row-"]', 10_000);
  await s.click('[data-testid="nav-run"]');
  await s.waitFor('[data-testid="step-card-download"]', 10_000);
});
