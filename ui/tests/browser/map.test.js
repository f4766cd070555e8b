// The Map view in headless Chromium against the scripted fake backend (tests/fixtures/map.json).
// Run `npm run build` first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { shot, startApp } from './harness.js';

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.stop();
});

// Everything expected comes from the fixture, so the engine's real output of the same shape can
// replace it: the latest view, its list of dates, the view shown on a date (the mock backend
// lets the nearest earlier view stand in for a date the fixture has no view of).
const views = () => app.fixtures.map.views;
const latest = () => views()[Object.keys(views()).sort().at(-1)];
const dateList = () => latest().dates.map((d) => d.date);
function viewOf(date) {
  const have = Object.keys(views()).sort();
  return views()[date] ?? views()[have.filter((d) => d <= date).pop() ?? have[0]];
}
const lonLat = ({ lon, lat }) =>
  `${Math.abs(lat).toFixed(5)}° ${lat >= 0 ? 'N' : 'S'}, ${Math.abs(lon).toFixed(5)}° ${lon >= 0 ? 'E' : 'W'}`;
const byNeed = (fields) => [...fields].sort((a, b) => b.need - a.need || a.name.localeCompare(b.name) || a.id - b.id);
const byName = (fields) => [...fields].sort((a, b) => a.name.toLocaleLowerCase().localeCompare(b.name.toLocaleLowerCase()) || a.id - b.id);
const mapCalls = (page) => page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === 'map_view').map((c) => c.args.date));

function inside(ring, x, y) {
  let hit = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}
/** A pixel of the view outside every field (and off the label in the middle of one). */
function pixelOutsideFields(view) {
  for (let row = 1; row < view.height; row += 2) {
    for (let col = 1; col < view.width; col += 2) {
      const near = (f) => f.outline.some((ring) => ring.some(([x, y]) => Math.abs(x - col) < 3 && Math.abs(y - row) < 3));
      if (!view.fields.some((f) => near(f) || f.outline.some((ring) => inside(ring, col + 0.5, row + 0.5)))) return { col, row };
    }
  }
  throw new Error('no pixel outside the fields');
}

/** The screen position of the middle of a scene pixel. */
const at = (box, view, col, row) => ({
  x: box.x + ((col + 0.5) * box.width) / view.width,
  y: box.y + ((row + 0.5) * box.height) / view.height,
});

async function openMap(page) {
  await page.getByTestId('nav-map').click();
  await page.getByTestId('map-stage').waitFor();
}

test('the map: layers, legend, values under the pointer, dates, a field and the fields table', async () => {
  const { page, context, errors } = await app.openPage();
  const last = latest();
  const all = dateList();
  const cloudy = last.dates.find((d) => d.cloudy).date;
  const first = all.find((d) => d !== cloudy && d !== last.date);
  const point = app.fixtures.map.point;
  await page.getByTestId('nav-map').click();
  assert.equal(await page.getByTestId('nav-map').getAttribute('aria-current'), 'page');
  // The first map_view computes every date's layers: its progress shows meanwhile.
  await page.getByTestId('map-progress').getByText(/Computing the maps: \d+\/\d+/).waitFor();
  await page.getByRole('heading', { name: `Map of ${last.date}` }).waitFor();
  assert.deepEqual(await mapCalls(page), [null]);

  // Default layers: true colour, health at 60 % over it; their legends; the images decode.
  const stage = page.getByTestId('map-stage');
  const layers = await stage.locator('img').evaluateAll((imgs) =>
    Promise.all(imgs.map((img) => img.decode().then(() => [img.dataset.layer, img.naturalWidth, getComputedStyle(img).opacity]))));
  assert.deepEqual(layers, [['true_colour', last.width, '1'], ['health', last.width, '0.6']]);
  assert.equal(await stage.locator('img').first().evaluate((img) => getComputedStyle(img).imageRendering), 'pixelated');
  const healthLegend = last.layers.find((l) => l.id === 'health').legend;
  await page.getByTestId('legend-health').getByText(healthLegend.at(-1).label, { exact: true }).waitFor();
  assert.equal(await page.getByTestId('legend-ndvi').count(), 0);
  assert.match(await page.getByTestId('scale-bar').innerText(), /^\d+ (m|km)$/);
  if (last.simulated) assert.match(await page.getByTestId('map-simulated').innerText(), /Simulated data/);
  assert.equal(await page.getByTestId('map-notes').locator('li').count(), last.notes.length);
  const box = await stage.boundingBox();
  assert.ok(Math.abs(box.width / box.height - last.width / last.height) < 0.02, 'the aspect is kept');

  // Values under the pointer.
  const [col, row] = [Math.floor(last.width * 0.3), Math.floor(last.height * 0.25)];
  const hover = at(box, last, col, row);
  await page.mouse.move(hover.x, hover.y);
  const readout = page.getByTestId('pointer-readout');
  await readout.getByText(lonLat(point)).waitFor();
  assert.match(await readout.innerText(), /NDVI (\d\.\d\d|—)/);
  assert.match(await readout.innerText(), /Health \S+( \(\d+ % sure\))?/);
  const asked = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === 'map_point').at(-1).args);
  assert.deepEqual(asked, { date: last.date, col, row });
  await shot(page, 'map-default.png');

  // A layer on, and its opacity.
  await page.getByTestId('layer-toggle-ndvi').check();
  await page.getByTestId('legend-ndvi').waitFor();
  await page.getByTestId('layer-opacity-ndvi').fill('40');
  assert.equal(await stage.locator('img[data-layer="ndvi"]').evaluate((img) => getComputedStyle(img).opacity), '0.4');
  await page.getByTestId('layer-toggle-ndvi').uncheck();
  assert.equal(await page.getByTestId('legend-ndvi').count(), 0);

  // The date slider: the cloudy dates are marked, and moving to one loads it.
  const ticks = page.getByTestId('cloudy-tick');
  assert.equal(await ticks.count(), last.dates.filter((d) => d.cloudy).length);
  assert.match(await ticks.first().getAttribute('title'), new RegExp(`^${cloudy}: cloudy, \\d+ % clear$`));
  await page.getByTestId('date-slider').fill(String(all.indexOf(cloudy)));
  await page.getByRole('heading', { name: `Map of ${cloudy}` }).waitFor();
  assert.match(await page.getByTestId('date-label').innerText(), /cloudy/);
  await page.getByTestId('date-slider').fill(String(all.indexOf(first)));
  await page.getByRole('heading', { name: `Map of ${first}` }).waitFor();
  assert.deepEqual(await mapCalls(page), [null, cloudy, first]);

  // A field: its panel with the season chart.
  const shown = viewOf(first);
  const [worst, ...others] = byNeed(shown.fields);
  await page.getByTestId(`field-outline-${worst.id}`).click();
  const panel = page.getByTestId('detail-panel');
  await panel.getByRole('heading', { name: worst.name }).waitFor();
  const chart = panel.getByTestId('series-chart');
  for (const line of ['observed', 'forecast', 'persistence']) {
    assert.ok((await chart.locator(`.l-${line}`).count()) > 0, `the chart has a ${line} line`);
  }
  assert.equal(await panel.getByTestId('series-table').locator('tbody tr').count(), worst.series.length);
  assert.match(await panel.getByTestId('next-forecast').innerText(), /Next acquisition|No forecast/);
  await shot(page, 'map-field.png');

  // The fields table: worst first, sortable, a row opens its field.
  const table = page.getByTestId('fields-table');
  await table.scrollIntoViewIfNeeded();
  const rowIds = () => table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.testid));
  assert.deepEqual(await rowIds(), byNeed(shown.fields).map((f) => `field-row-${f.id}`));
  assert.match(await page.getByTestId(`field-row-${worst.id}`).innerText(), /\S+ \d+ %|—/);
  await table.getByTestId('sort-name').click();
  assert.deepEqual(await rowIds(), byName(shown.fields).map((f) => `field-row-${f.id}`));
  if (others.length) {
    await page.getByTestId(`field-row-${others[0].id}`).click();
    await panel.getByRole('heading', { name: others[0].name }).waitFor();
  }
  await page.getByTestId('fields-export').click();
  await page.getByTestId('fields-done').getByText('Saved to /home/agronomist/agriflux/demo/maps/fields.csv').waitFor();
  await shot(page, 'map-fields-table.png');

  // Importing boundaries reloads the view.
  const geojson = JSON.stringify({ type: 'FeatureCollection', features: [{}, {}, {}] });
  await page.getByTestId('fields-import').setInputFiles({ name: 'farm.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(geojson) });
  await page.getByTestId('fields-done').getByText('Imported 3 fields from farm.geojson').waitFor();
  const imported = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === 'import_fields').args);
  assert.deepEqual(imported, { name: 'farm.geojson', text: geojson });
  assert.deepEqual((await mapCalls(page)).slice(-1), [first]);

  // A place, by the mouse and by the keyboard: its panel from map_point.
  await page.getByTestId('detail-close').click();
  await page.getByTestId('detail-hint').waitFor();
  await stage.scrollIntoViewIfNeeded();
  const outside = pixelOutsideFields(shown);
  const placeBox = await stage.boundingBox();
  const click = at(placeBox, shown, outside.col, outside.row);
  await page.mouse.move(click.x, click.y);
  await readout.getByText(lonLat(point)).waitFor();
  const before = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === 'map_point').length);
  await page.mouse.down();
  await page.mouse.up();
  await panel.getByRole('heading', { name: lonLat(point) }).waitFor();
  assert.equal(await panel.getAttribute('data-kind'), 'place');
  await panel.getByTestId('series-chart').getByRole('img').waitFor();
  const picked = await page.evaluate((n) => window.__mock.calls.filter((c) => c.cmd === 'map_point')[n].args, before);
  assert.deepEqual(picked, { date: first, ...outside });
  await shot(page, 'map-place.png');
  await stage.focus();
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  const keyed = { col: Math.floor(shown.width / 2) - 1, row: Math.floor(shown.height / 2) };
  await page.waitForFunction((k) => {
    const last = window.__mock.calls.filter((c) => c.cmd === 'map_point').at(-1).args;
    return last.col === k.col && last.row === k.row;
  }, keyed);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the timelapse steps through the dates, one map_view at a time', async () => {
  const { page, context, errors } = await app.openPage();
  await openMap(page);
  const all = dateList();
  await page.getByRole('heading', { name: `Map of ${latest().date}` }).waitFor();
  await page.evaluate(() => window.__mock.mapDelay(300));
  const t0 = Date.now();
  await page.getByTestId('map-play').click();
  assert.equal(await page.getByTestId('map-play').getAttribute('aria-pressed'), 'true');
  // From the last date it wraps to the first, then the next.
  await page.getByRole('heading', { name: `Map of ${all[0]}` }).waitFor();
  await page.getByRole('heading', { name: `Map of ${all[1]}` }).waitFor();
  await page.getByRole('heading', { name: `Map of ${all[2]}` }).waitFor();
  assert.ok(Date.now() - t0 >= 1500, 'about 800 ms a date');
  // Responsive meanwhile: the layers panel answers at once.
  const t1 = Date.now();
  await page.getByTestId('layer-toggle-clouds').check();
  await page.getByTestId('legend-clouds').waitFor();
  assert.ok(Date.now() - t1 < 1000);
  await page.getByTestId('map-play').click();
  assert.equal(await page.getByTestId('map-play').getAttribute('aria-pressed'), 'false');
  const stats = await page.evaluate(() => window.__mock.mapStats);
  assert.equal(stats.maxInFlight, 1);
  // Each date asked once at most (the first call asks for the latest, null).
  const calls = (await mapCalls(page)).slice(1);
  assert.equal(new Set(calls).size, calls.length, `calls: ${calls.join(', ')}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('no imagery yet: the map says to run the pipeline first', async () => {
  const { page, context } = await app.openPage();
  await page.evaluate(() =>
    window.__mock.fail('map_view', { kind: 'not_found', summary: 'There is no imagery in this work directory yet.', detail: null }));
  await page.getByTestId('nav-map').click();
  const empty = page.getByTestId('map-empty');
  await empty.waitFor();
  assert.match(await empty.innerText(), /No imagery yet: run the pipeline first/);
  await shot(page, 'map-empty.png');
  await empty.getByRole('button', { name: 'Go to Run' }).click();
  await page.getByTestId('run-button').waitFor();
  await context.close();
});

test('the report shows the latest maps and the fields table', async () => {
  const { page, context, errors } = await app.openPage();
  await page.getByTestId('nav-history').click();
  await page.locator('[data-testid^="history-row-"]').first().click();
  const map = page.getByTestId('report-map');
  await map.waitFor();
  const sizes = await map.locator('img').evaluateAll((imgs) => Promise.all(imgs.map((img) => img.decode().then(() => img.naturalWidth))));
  const reportMap = app.fixtures.report.map;
  assert.deepEqual(sizes, reportMap.layers.map(() => latest().width));
  for (const layer of reportMap.layers) await map.getByTestId(`legend-${layer.id}`).waitFor();
  assert.equal(await map.getByTestId('report-fields-table').locator('tbody tr').count(), reportMap.fields.length);
  assert.equal(await map.getByRole('button', { name: reportMap.fields[0].name }).count(), 0, 'read-only');
  await map.scrollIntoViewIfNeeded();
  await shot(page, 'report-map.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the map at 1024 x 700 in the dark theme: nothing overflows sideways', async () => {
  const { page, context } = await app.openPage({ width: 1024, height: 700 }, 'dark');
  await openMap(page);
  await page.getByTestId(`field-outline-${latest().fields[0].id}`).click();
  await page.getByTestId('detail-panel').waitFor();
  const overflow = await page.evaluate(() => {
    const main = document.querySelector('main');
    return { doc: document.documentElement.scrollWidth - window.innerWidth, main: main.scrollWidth - main.clientWidth };
  });
  assert.deepEqual(overflow, { doc: 0, main: 0 });
  const box = await page.getByTestId('map-stage').boundingBox();
  assert.ok(box.width > 200, `the map keeps a usable size (${box.width} px)`);
  await shot(page, 'map-1024-dark.png');
  await context.close();
});
