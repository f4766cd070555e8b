// Starts the installed /usr/bin/agriflux-studio on an empty profile under Xvfb, through
// tauri-driver, checks that its first window is the welcome view, and saves a screenshot.
// Used by tests/package/check.sh after `apt-get install ./agriflux-studio_….deb`.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { launchApp } from '../desktop/webdriver.mjs';

const binary = process.argv[2] ?? '/usr/bin/agriflux-studio';
const shots = resolve(import.meta.dirname, '../../test-artifacts/package');
const home = mkdtempSync(join(tmpdir(), 'agriflux-installed-home-'));

const app = await launchApp({
  binary,
  env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local/share') },
});
try {
  await app.session.waitFor('[data-testid="welcome-view"]', 60_000);
  const text = await app.session.exec('return document.body.innerText');
  if (!/Try it with simulated data/.test(text)) throw new Error(`not the welcome view:\n${text}`);
  const path = await app.session.screenshot(shots, 'installed-welcome.png');
  console.log(`the installed app shows its welcome view: ${path}`);
} finally {
  await app.close();
}
