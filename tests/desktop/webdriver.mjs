// A small W3C WebDriver client (plain HTTP) plus the processes a desktop test needs: Xvfb,
// tauri-driver over WebKitWebDriver, and a session on the real AgriFlux Studio binary.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts a process in its own group so that stopping it stops its children too. */
function start(command, args, env) {
  const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-20000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-20000)));
  return { child, output: () => output };
}

function stop(proc) {
  if (proc && proc.child.exitCode === null) {
    try {
      process.kill(-proc.child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Everything a test needs to drive the real app; `close()` ends it all. Without `workdir` the
 * app starts as on a first run (or in its most recent folder): no `--workdir` argument.
 */
export async function launchApp({ binary, workdir, env = {}, snapshots = true }) {
  if (!existsSync(binary)) throw new Error(`no app binary at ${binary}: build it first (cargo build -p agriflux-app)`);
  // WebKitWebDriver's screenshot waits for a paint that an idle page never makes without
  // WebKit's DMA-BUF renderer, which the app turns off for memory (README, "Idle memory"):
  // sessions that take screenshots keep it on. The package layer checks, with an X
  // screenshot, that the installed app paints its window with the renderer off.
  const childEnv = { ...process.env, ...(snapshots ? { WEBKIT_DISABLE_DMABUF_RENDERER: '0' } : {}), ...env };
  const procs = [];
  if (!childEnv.DISPLAY) {
    const display = `:${90 + Math.floor(Math.random() * 9)}`;
    procs.push(start('Xvfb', [display, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], childEnv));
    childEnv.DISPLAY = display;
    await sleep(1000);
  }
  const port = await freePort();
  const nativePort = await freePort();
  const driver = start(
    'tauri-driver',
    ['--port', String(port), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'],
    childEnv,
  );
  procs.push(driver);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`tauri-driver did not start:\n${driver.output()}`);
    await sleep(300);
  }
  const session = new Session(base);
  try {
    const args = workdir ? ['--workdir', workdir] : [];
    await session.create({ 'tauri:options': { application: binary, args } });
  } catch (e) {
    procs.forEach(stop);
    throw new Error(`${e.message}\n${driver.output()}`);
  }
  return {
    session,
    display: childEnv.DISPLAY,
    driverOutput: driver.output,
    async close() {
      await session.delete().catch(() => {});
      procs.reverse().forEach(stop);
    },
  };
}

/** One WebDriver session. */
export class Session {
  constructor(base) {
    this.base = base;
    this.id = null;
  }

  async call(method, path, body) {
    const url = this.id ? `${this.base}/session/${this.id}${path}` : `${this.base}${path}`;
    const r = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json.value ?? json).slice(0, 500)}`);
      err.webdriver = json.value;
      throw err;
    }
    return json.value;
  }

  async create(alwaysMatch) {
    const r = await fetch(`${this.base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch } }),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`cannot create a session: ${JSON.stringify(json).slice(0, 800)}`);
    this.id = json.value.sessionId;
  }

  async delete() {
    if (this.id) await this.call('DELETE', '');
    this.id = null;
  }

  /** The element for a CSS selector, or null. */
  async find(css) {
    try {
      const v = await this.call('POST', '/element', { using: 'css selector', value: css });
      return v[ELEMENT];
    } catch (e) {
      if (e.webdriver?.error === 'no such element') return null;
      throw e;
    }
  }

  async findAll(css) {
    const v = await this.call('POST', '/elements', { using: 'css selector', value: css });
    return v.map((e) => e[ELEMENT]);
  }

  /** Waits for `css` to match, then returns the element. */
  async waitFor(css, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const el = await this.find(css);
      if (el) return el;
      if (Date.now() > deadline) throw new Error(`nothing matches ${css} after ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  async click(css) {
    const el = await this.waitFor(css);
    await this.call('POST', `/element/${el}/click`, {});
  }

  async type(css, text, { clear = true } = {}) {
    const el = await this.waitFor(css);
    if (clear) await this.call('POST', `/element/${el}/clear`, {});
    await this.call('POST', `/element/${el}/value`, { text });
  }

  async attr(el, name) {
    return this.call('GET', `/element/${el}/attribute/${name}`);
  }

  async text(el) {
    return this.call('GET', `/element/${el}/text`);
  }

  async exec(script, args = []) {
    return this.call('POST', '/execute/sync', { script, args });
  }

  async execAsync(script, args = []) {
    return this.call('POST', '/execute/async', { script, args });
  }

  /** Calls a backend command as the window does; its answer, or throws its error. */
  async invoke(cmd, args = {}) {
    const answer = await this.execAsync(
      `const done = arguments[arguments.length - 1];
       window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
         .then((v) => done({ ok: v ?? null }), (e) => done({ err: e }));`,
      [cmd, args],
    );
    if ('err' in answer) throw new Error(`${cmd}: ${JSON.stringify(answer.err)}`);
    return answer.ok;
  }

  /** Each step card's status, by step id. */
  async stepStatuses() {
    return this.exec(
      `return Object.fromEntries([...document.querySelectorAll('[data-testid^="step-card-"]')]
         .map(e => [e.dataset.testid.slice('step-card-'.length), e.dataset.status]));`,
    );
  }

  /** Polls `check` (returns truthy when done) until it holds. */
  async until(what, check, timeoutMs, intervalMs = 500) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await check();
      if (last) return last;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(intervalMs);
    }
  }

  /** A PNG of one element (scrolled into view by the driver), saved as `dir/name`. */
  async elementScreenshot(css, dir, name) {
    mkdirSync(dir, { recursive: true });
    const el = await this.waitFor(css);
    const png = await this.call('GET', `/element/${el}/screenshot`);
    const path = join(dir, name);
    writeFileSync(path, Buffer.from(png, 'base64'));
    return path;
  }

  async screenshot(dir, name) {
    mkdirSync(dir, { recursive: true });
    const png = await this.call('GET', '/screenshot');
    const path = join(dir, name);
    writeFileSync(path, Buffer.from(png, 'base64'));
    return path;
  }
}
