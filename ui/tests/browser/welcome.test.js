// The work directory in headless Chromium: a first start (the welcome view, then a demo run),
// the header's folder menu (switching reloads the window on the new folder) and the About view.
// Run `npm run build` first.
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

const commands = (page) => page.evaluate(() => window.__mock.calls.map((c) => c.cmd).filter((c) => !c.startsWith('plugin:')));

test('a first start shows the welcome view; "Try it" opens the demo folder and starts a run', async () => {
  const { page, context, errors } = await app.openPage(undefined, 'light', { firstStart: true });
  const { workspace } = app.fixtures;
  const welcome = page.getByTestId('welcome-view');
  assert.equal(await page.getByTestId('nav-run').count(), 0, 'no rail on the welcome view');
  assert.match(await welcome.innerText(), /AgriFlux Studio/);
  assert.match(await welcome.innerText(), /Sentinel-2 imagery of your fields/);
  assert.match(await page.getByTestId('welcome-try').innerText(), new RegExp(workspace.demo_folder));
  const rows = page.getByTestId(/^welcome-recent-\d+$/);
  assert.equal(await rows.count(), workspace.recent.length);
  for (const [i, folder] of workspace.recent.entries()) {
    assert.equal(await rows.nth(i).isDisabled(), !folder.exists, folder.path);
  }
  assert.match(await rows.nth(workspace.recent.length - 1).innerText(), /missing/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.equal(overflow, 0);
  await shot(page, 'welcome.png');

  await page.getByTestId('welcome-try').click();
  await page.getByTestId('nav-run').waitFor();
  assert.equal(await page.getByTestId('welcome-view').count(), 0);
  assert.equal(await page.getByTestId(/^step-card-/).count(), 8);
  const order = await commands(page);
  assert.ok(order.indexOf('open_demo_workdir') >= 0);
  assert.ok(order.indexOf('start_run') > order.indexOf('open_demo_workdir'), order.join(' '));
  const start = await page.evaluate(() => window.__mock.calls.find((c) => c.cmd === 'start_run'));
  assert.deepEqual(start.args.options, { skip_download: false, skip_validation: false, from_step: null, force: false });
  assert.equal(await page.getByTestId('workdir-menu').getAttribute('title'), workspace.demo_folder);

  // The run's cards fill in live.
  const events = app.fixtures.events;
  const cut = events.findIndex((e) => e.type === 'step_progress' && e.step === 'train_cnn') + 1;
  await sequencer(page, 'demo-run')(events.slice(0, cut).map((e) => (e.type === 'run_started' ? { ...e, run_id: 'demo-run' } : e)));
  await page.getByTestId('cancel-button').waitFor();
  assert.equal(await page.getByTestId('step-card-download').getAttribute('data-status'), 'success');
  assert.equal(await page.getByTestId('step-card-train_cnn').getAttribute('data-status'), 'running');
  assert.equal(await page.getByTestId('workdir-menu').isDisabled(), true, 'no switching while a run is going');
  await shot(page, 'welcome-demo-run.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the welcome view in the dark theme at 1024 x 700; a cancelled dialog stays, a picked folder opens', async () => {
  const { page, context, errors } = await app.openPage({ width: 1024, height: 700 }, 'dark', { firstStart: true });
  await page.getByTestId('welcome-open').click();
  await page.waitForFunction(() => window.__mock.calls.some((c) => c.cmd === 'choose_workdir'));
  await page.waitForFunction(() => !document.querySelector('[data-testid="welcome-open"]').disabled);
  assert.equal(await page.getByTestId('welcome-view').count(), 1);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.equal(overflow, 0);
  await shot(page, 'welcome-1024-dark.png');

  await page.evaluate(() => window.__mock.pickFolder('/home/agronomist/fields/season-2027'));
  await page.getByTestId('welcome-connect').click();
  await page.getByTestId('settings-save').waitFor();
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Settings');
  assert.equal(await page.getByTestId('workdir-menu').getAttribute('title'), '/home/agronomist/fields/season-2027');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the folder menu lists the other recent folders and switching reloads the window on the new folder', async () => {
  const { page, context, errors } = await app.openPage();
  const { workspace } = app.fixtures;
  const others = workspace.recent.filter((f) => f.path !== workspace.current);
  const menu = page.getByTestId('workdir-menu');
  assert.equal(await menu.getAttribute('title'), workspace.current);
  await menu.click();
  const items = page.getByTestId(/^workdir-recent-\d+$/);
  await items.first().waitFor();
  assert.equal(await items.count(), others.length);
  for (const [i, folder] of others.entries()) assert.equal(await items.nth(i).isDisabled(), !folder.exists, folder.path);
  await shot(page, 'workdir-menu.png');
  await page.keyboard.press('Escape');
  assert.equal(await page.getByTestId('workdir-popover').count(), 0);
  await menu.click();
  await page.getByTestId('workdir-popover').waitFor();
  await page.mouse.click(900, 500);
  assert.equal(await page.getByTestId('workdir-popover').count(), 0);

  await menu.click();
  await items.first().click();
  await page.waitForFunction((path) => document.querySelector('[data-testid="workdir-menu"]')?.title === path, others[0].path);
  // A new page: the stores read the new folder from the start.
  const after = await commands(page);
  assert.equal(after[0], 'workspace_view');
  assert.ok(after.includes('app_info'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('About: versions, bundled licences, the app\'s folders', async () => {
  const { page, context, errors } = await app.openPage();
  const { about } = app.fixtures;
  await page.getByTestId('nav-about').click();
  await page.getByTestId('about-view').waitFor();
  await page.getByTestId('about-log-folder').waitFor();
  assert.equal(await page.getByTestId('about-log-folder').innerText(), about.log_folder);
  assert.equal(await page.getByTestId('about-bundled').locator('tbody tr').count(), about.bundled.length);
  const rail = await page.getByTestId('nav-about').boundingBox();
  assert.ok(rail.y + rail.height > 800 - 60, 'About sits at the bottom of the rail');
  await shot(page, 'about.png');
  assert.deepEqual(errors, []);
  await context.close();
});
