// The built UI in headless Chromium against a scripted fake backend. Run `npm run build` first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sequencer, shot, startApp } from './harness.js';

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.stop();
});

const RUN = '20261124-080356-04500';
const status = (page, id) => page.getByTestId(`step-card-${id}`).getAttribute('data-status');

/** Fixture events up to (not including) the first event matching `pred`. */
function until(pred) {
  const events = app.fixtures.events;
  const i = events.findIndex(pred);
  return [events.slice(0, i), events.slice(i)];
}

async function midRun(page) {
  const push = sequencer(page, RUN);
  const [head, tail] = until((e) => e.type === 'step_progress' && e.step === 'train_cnn');
  // Up to the 16th CNN metric (4 epochs of curves), then a progress event of our own.
  let metrics = 0;
  const cut = tail.findIndex((e) => e.type === 'step_metric' && ++metrics === 16) + 1;
  await push(head);
  await push(tail.slice(0, cut));
  const progress = (done) => ({ type: 'step_progress', step: 'train_cnn', done, total: 50, unit: 'epochs', message: `real model, epoch ${done + 1}, batch 12/38` });
  await push([progress(6)]);
  await page.waitForTimeout(400); // a measurable rate, for the ETA
  await push([progress(7)]);
  return { push, rest: tail.slice(cut) };
}

test('a scripted run produces the right cards, progress, curves and verdict', async () => {
  const { page, context, errors } = await app.openPage();
  assert.equal(await page.getByTestId(/^step-card-/).count(), 8);
  await page.getByTestId('run-button').click();
  const start = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === 'start_run'));
  assert.deepEqual(start.args.options, { skip_download: false, skip_validation: false, from_step: null, force: false });

  const { push, rest } = await midRun(page);
  await page.getByTestId('cancel-button').waitFor();
  const cards = page.getByTestId(/^step-card-/);
  assert.equal(await cards.count(), 8);
  for (const id of ['download', 'validate', 'cnn_dataset', 'lstm_dataset']) assert.equal(await status(page, id), 'success');
  assert.equal(await status(page, 'train_cnn'), 'running');
  for (const id of ['train_lstm', 'compare', 'update_env']) assert.equal(await status(page, id), 'pending');
  const cnn = page.getByTestId('step-card-train_cnn');
  assert.match(await cnn.innerText(), /epoch 7\/50/);
  assert.match(await cnn.innerText(), /left|almost done/);
  assert.match(await page.getByTestId('step-card-download').innerText(), /20 scenes/);
  await page.getByTestId('curves-train_cnn').waitFor();
  await cnn.getByRole('button').first().click();
  await cnn.getByTestId('step-log').waitFor();
  await shot(page, 'run-mid.png');

  await push(rest);
  const verdict = page.getByTestId('verdict');
  await verdict.waitFor();
  assert.match(await verdict.innerText(), /Finished in .* CNN 0\.94 on the test set, \+46 points over the synthetic baseline/);
  for (let i = 0; i < 8; i++) assert.equal(await cards.nth(i).getAttribute('data-status'), 'success');
  await page.getByTestId('run-button').waitFor();
  await cnn.getByRole('button').first().click();
  await shot(page, 'run-finished.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a failure opens the failed card with its error first', async () => {
  const { page, context } = await app.openPage();
  const push = sequencer(page, 'r-fail');
  const [head] = until((e) => e.type === 'step_started' && e.step === 'validate');
  await push([
    ...head.map((e) => (e.type === 'run_started' ? { ...e, run_id: 'r-fail' } : e)),
    { type: 'step_started', step: 'validate', number: 2, total: 8 },
    { type: 'step_log', step: 'validate', level: 'error', message: 'only 9 of 20 dates passed' },
    { type: 'step_finished', step: 'validate', status: 'failed', duration_s: 0.8, output_summary: {},
      error: 'Only 9 of 20 dates are clear enough; at least 15 are needed.\nfailed dates: 2026-01-13, 2026-02-02 (clear fraction below 0.5)' },
    { type: 'run_finished', status: 'failed', report_path: 'logs/r.json', summary: {} },
  ]);
  const card = page.getByTestId('step-card-validate');
  await page.getByTestId('verdict').waitFor();
  assert.equal(await card.getAttribute('data-status'), 'failed');
  assert.equal(await card.getByRole('button').first().getAttribute('aria-expanded'), 'true');
  const firstDetail = card.locator('.detail > *').first();
  assert.equal(await firstDetail.getAttribute('role'), 'alert');
  assert.match(await firstDetail.innerText(), /^Only 9 of 20 dates are clear enough; at least 15 are needed\./);
  assert.match(await page.getByTestId('verdict').innerText(), /Failed at step 2, Validate Data Quality/);
  await shot(page, 'run-failed.png');
  assert.equal(await card.getByRole('button').first().getAttribute('aria-expanded'), 'true');
  await context.close();
});

test('settings: validation messages beside the field, area under the bbox', async () => {
  const { page, context } = await app.openPage();
  await page.getByTestId('nav-settings').click();
  const epochs = page.getByTestId('settings-AGRIFLUX_CNN_EPOCHS');
  const save = page.getByTestId('settings-save');
  assert.equal(await save.isDisabled(), true);
  await epochs.fill('ten');
  const field = epochs.locator('xpath=ancestor::div[contains(@class,"setting-row")]');
  await field.getByText('"ten" is not a whole number').waitFor();
  assert.equal(await save.isDisabled(), true);
  assert.match(await page.getByTestId('settings-area').innerText(), /382 × 387 px · 14\.79 km²/);
  await page.getByTestId('test-connection').click();
  await page.getByText('Sentinel Hub refused the credentials (HTTP 401: invalid client)').waitFor();
  await epochs.scrollIntoViewIfNeeded();
  await shot(page, 'settings.png');
  await epochs.fill('12');
  await page.waitForFunction(() => !document.querySelector('[data-testid="settings-save"]').disabled);
  assert.equal(await field.getByText('not a whole number').count(), 0);
  await context.close();
});

test('settings: the AI-models switch with its run, and the other keys of .env', async () => {
  const { page, context } = await app.openPage();
  await page.getByTestId('nav-settings').click();
  const title = page.getByTestId('models-title');
  await title.getByText('switched on by step 8 of run 20261124-080356-04500').waitFor();
  assert.match(await page.getByTestId('models-run').innerText(), /majority class: 0\.221 \[0\.204, 0\.238\]/);
  await shot(page, 'settings-models.png');
  await page.getByTestId('env-keys').scrollIntoViewIfNeeded();
  assert.equal(await page.getByTestId('env-value-WEATHER_API_KEY').getAttribute('type'), 'password');
  await page.getByTestId('env-duplicates').getByText('line 25 is used').waitFor();
  await shot(page, 'settings-env-keys.png');
  await page.getByTestId('models-off').click();
  await page.getByTestId('models-off-confirm').click();
  await page.getByTestId('models-state').getByText('off').waitFor();
  await page.getByTestId('nav-history').click();
  await page.getByTestId('env-change').first().getByText('USE_AI_MODELS: true → false').waitFor();
  await context.close();
});

test('the secret never appears in the DOM', async () => {
  const { page, context } = await app.openPage();
  const typed = 'S3cr3t-typed-by-the-user-1d8f';
  await page.getByTestId('nav-settings').click();
  const secret = page.getByTestId('settings-SENTINEL_HUB_CLIENT_SECRET');
  assert.equal(await secret.getAttribute('type'), 'password');
  assert.equal(await page.getByTestId('secret-state-SENTINEL_HUB_CLIENT_SECRET').innerText(), 'set');
  await secret.fill(typed);
  await page.waitForFunction(() => !document.querySelector('[data-testid="settings-save"]').disabled);
  await page.getByTestId('settings-save').click();
  await page.getByTestId('save-outcome').getByText('(changed)').waitFor();
  const sent = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === 'save_settings').args.edits.values);
  assert.equal(sent.SENTINEL_HUB_CLIENT_SECRET, typed);
  const html = await page.evaluate(() => document.documentElement.outerHTML);
  assert.equal(html.includes(typed), false);
  assert.equal(await secret.inputValue(), '');
  // The save is in the History's log of .env changes, the secret only as "(changed)".
  await page.getByTestId('nav-history').click();
  const change = page.getByTestId('env-change').first();
  await change.waitFor();
  const line = await change.innerText();
  assert.match(line, /settings panel/);
  assert.match(line, /SENTINEL_HUB_CLIENT_SECRET: \(set\) → \(changed\)/);
  const after = await page.evaluate(() => document.documentElement.outerHTML);
  assert.equal(after.includes(typed), false);
  await context.close();
});

test('5,000 log lines in quick batches leave the page responsive', async () => {
  const { page, context } = await app.openPage();
  await midRun(page);
  const cnn = page.getByTestId('step-card-train_cnn');
  await cnn.getByRole('button').first().click();
  const seqStart = await page.evaluate(() => JSON.parse(sessionStorage.getItem('mock-live')).next_seq);
  await page.evaluate(async (first) => {
    let seq = first;
    for (let b = 0; b < 50; b++) {
      const events = Array.from({ length: 100 }, (_, i) => ({
        type: 'step_log', step: 'train_cnn', level: 'info', message: `burst line ${b * 100 + i}` }));
      window.__mock.push({ run_id: '20261124-080356-04500', first_seq: seq, events });
      seq += events.length;
      await new Promise((r) => setTimeout(r, 5));
    }
  }, seqStart);
  await cnn.getByText('burst line 4999').waitFor({ timeout: 5000 });
  const rendered = await cnn.locator('.line').count();
  assert.ok(rendered < 200, `log renders a window, not every line (${rendered})`);
  assert.match(await cnn.innerText(), /earlier lines not kept/);
  const t0 = Date.now();
  await page.getByTestId('nav-history').click();
  await page.getByTestId(`history-row-${RUN}`).waitFor({ timeout: 5000 });
  assert.ok(Date.now() - t0 < 5000);
  await context.close();
});

test('a reload mid-run comes back to the same state', async () => {
  const { page, context } = await app.openPage();
  await midRun(page);
  const before = await page.getByTestId(/^step-card-/).evaluateAll((els) => els.map((e) => e.dataset.status));
  await page.reload();
  await page.getByTestId('cancel-button').waitFor();
  const afterReload = await page.getByTestId(/^step-card-/).evaluateAll((els) => els.map((e) => e.dataset.status));
  assert.deepEqual(afterReload, before);
  assert.match(await page.getByTestId('step-card-train_cnn').innerText(), /epoch 7\/50/);
  await page.getByTestId('curves-train_cnn').waitFor();
  await context.close();
});

test('usable at 1024 x 700 in the dark theme: nothing overflows sideways', async () => {
  const { page, context } = await app.openPage({ width: 1024, height: 700 }, 'dark');
  await midRun(page);
  await page.getByTestId('cancel-button').waitFor();
  const overflow = await page.evaluate(() => {
    const main = document.querySelector('main');
    return { doc: document.documentElement.scrollWidth - window.innerWidth, main: main.scrollWidth - main.clientWidth };
  });
  assert.deepEqual(overflow, { doc: 0, main: 0 });
  assert.ok(await page.getByTestId('cancel-button').isVisible());
  await shot(page, 'run-1024-dark.png');
  await context.close();
});

test('history lists runs newest first and opens a report', async () => {
  const { page, context } = await app.openPage();
  await page.getByTestId('nav-history').click();
  const rows = page.locator('[data-testid^="history-row-"]');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 4);
  assert.equal(await rows.first().getAttribute('data-testid'), `history-row-${RUN}`);
  assert.match(await page.getByTestId('history-row-20261123-171204-03112').innerText(), /Stopped at Train CNN Model/);
  await shot(page, 'history.png');
  await rows.first().click();
  const report = page.getByTestId('report-view');
  await report.getByTestId('chart-cnn_metrics').waitFor();
  const sizes = await report.locator('figure img').evaluateAll((imgs) =>
    Promise.all(imgs.map((img) => img.decode().then(() => img.naturalWidth))));
  assert.deepEqual(sizes, [800, 800, 800]);
  assert.match(await report.innerText(), /Simulated data/);
  assert.match(await report.getByTestId('headline-cnn').innerText(), /0\.939[\s\S]*test split/i);
  await page.getByRole('button', { name: 'Export HTML' }).click();
  await report.getByText('pipeline_report_20261124_080356.html').waitFor();
  await shot(page, 'report.png');
  await context.close();
});

test('a report that no longer exists: the summary shows, the technical detail collapsed below it', async () => {
  const { page, context, errors } = await app.openPage();
  const problem = {
    kind: 'not_found',
    summary: 'This run\'s report no longer exists; it may have been moved or deleted.',
    detail: '/home/agronomist/agriflux/demo/logs/pipeline_report_20261124_080356.json: No such file or directory (os error 2)',
  };
  await page.evaluate((p) => window.__mock.fail('load_report', p), problem);
  await page.getByTestId('nav-history').click();
  await page.getByTestId(`history-row-${RUN}`).click();
  const summary = page.getByTestId('report-error');
  await summary.waitFor();
  assert.equal(await summary.innerText(), problem.summary);
  assert.equal(await summary.getAttribute('role'), 'alert');
  const details = summary.locator('xpath=following-sibling::details');
  const pre = details.locator('pre');
  assert.equal(await details.getAttribute('open'), null);
  assert.equal(await pre.isVisible(), false);
  const box = await summary.evaluate((el) => el.parentElement.innerText);
  assert.ok(box.indexOf(problem.summary) < box.indexOf('Technical detail'), 'the summary comes before the detail');
  await details.getByText('Technical detail').click();
  assert.equal(await pre.isVisible(), true);
  assert.equal(await pre.innerText(), problem.detail);
  await shot(page, 'report-missing.png');
  assert.equal(await page.getByTestId('chart-cnn_metrics').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
