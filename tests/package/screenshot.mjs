// Starts the installed /usr/bin/agriflux-studio on an empty profile under Xvfb, through
// tauri-driver, checks that its first window is the welcome view, and saves an X screenshot of
// it (the app runs as installed: no WebDriver-only settings). Used by tests/package/check.sh
// after `apt-get install ./agriflux-studio_….deb`.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { launchApp } from '../desktop/webdriver.mjs';

const binary = process.argv[2] ?? '/usr/bin/agriflux-studio';
const shots = resolve(import.meta.dirname, '../../test-artifacts/package');
const home = mkdtempSync(join(tmpdir(), 'agriflux-installed-home-'));

const app = await launchApp({
  binary,
  snapshots: false,
  env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local/share') },
});
try {
  await app.session.waitFor('[data-testid="welcome-view"]', 60_000);
  const text = await app.session.exec('return document.body.innerText');
  if (!/Try it with simulated data/.test(text)) throw new Error(`not the welcome view:\n${text}`);
  mkdirSync(shots, { recursive: true });
  const out = execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'xshot.py'), join(shots, 'installed-welcome.png')], {
    env: { ...process.env, DISPLAY: app.display },
    encoding: 'utf8',
  });
  console.log(`the installed app shows its welcome view: ${out.trim()}`);
} finally {
  await app.close();
}
