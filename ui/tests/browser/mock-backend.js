// Runs in the page before the app (page.addInitScript). Defines window.__TAURI_INTERNALS__ the
// way @tauri-apps/api/mocks mockIPC does, with a scripted fake backend answering from fixtures,
// and window.__mock for the test: push(batch) delivers a `run-events` batch; calls lists the
// commands received; fail(cmd, problem) makes a command reject from then on with that
// CommandError ({ kind, summary, detail }), as the backend's commands do. The live run is kept
// in sessionStorage so run_state survives a reload. The maps (fx.map: { views, point }): the
// first map_view "computes" every date, emitting `map-progress`; mapDelay(ms) slows each later
// one; mapStats.maxInFlight is the most map_view calls that were running at once. The work
// directory (fx.workspace, a WorkspaceView; current null: a first start) is kept in
// sessionStorage too, since switching folders reloads the page; while none is open every command
// but the folder ones, about and run_state answers not_found. pickFolder(path | null) sets what
// the folder dialog of choose_workdir answers (null, the default: the user cancelled).
export function installMockBackend(fx) {
  const callbacks = new Map();
  const listeners = [];
  const calls = [];
  const failures = new Map();
  const saved = sessionStorage.getItem('mock-live');
  let live = saved ? JSON.parse(saved) : null;
  const settings = JSON.parse(JSON.stringify(fx.settings));
  let models = JSON.parse(JSON.stringify(fx.models));
  // The .env change log the mock keeps, as the engine's logs/env_changes.jsonl (oldest first).
  const envLog = [];
  const savedWorkspace = sessionStorage.getItem('mock-workspace');
  const workspace = savedWorkspace ? JSON.parse(savedWorkspace) : JSON.parse(JSON.stringify(fx.workspace));
  let picked = null;
  const WITHOUT_WORKDIR = new Set(['workspace_view', 'choose_workdir', 'open_recent_workdir', 'open_demo_workdir',
    'about', 'run_state', 'plugin:event|listen', 'plugin:event|unlisten']);
  const SWITCHING = new Set(['choose_workdir', 'open_recent_workdir', 'open_demo_workdir']);

  /** Makes `path` the open work directory and the most recent folder, as the backend does. */
  function switchTo(path) {
    const known = workspace.recent.find((f) => f.path === path);
    const name = path.split('/').filter(Boolean).pop() ?? path;
    workspace.current = path;
    workspace.recent = [known ?? { path, name, exists: true, has_runs: false }, ...workspace.recent.filter((f) => f.path !== path)];
    sessionStorage.setItem('mock-workspace', JSON.stringify(workspace));
    return workspace;
  }
  const mapStats = { inFlight: 0, maxInFlight: 0, computed: false, delay: 0 };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function emit(event, payload) {
    for (const l of listeners.filter((x) => x.event === event)) {
      runCallback(l.handler, { event, id: l.handler, payload });
    }
  }

  async function mapView({ date }) {
    const views = fx.map?.views ?? {};
    const dates = Object.keys(views).sort();
    mapStats.inFlight += 1;
    mapStats.maxInFlight = Math.max(mapStats.maxInFlight, mapStats.inFlight);
    try {
      if (!dates.length) {
        throw { kind: 'not_found', summary: 'There is no imagery in this work directory yet.', detail: 'data/raw: no scenes' };
      }
      if (!mapStats.computed) {
        const all = views[dates[dates.length - 1]].dates.map((d) => d.date);
        for (const [i, d] of all.entries()) {
          emit('map-progress', { done: i, total: all.length, what: `layers of ${d}` });
          await sleep(Math.max(20, 360 / all.length));
        }
        mapStats.computed = true;
      } else {
        await sleep(mapStats.delay || 5);
      }
      const latest = views[dates[dates.length - 1]];
      const wanted = date ?? latest.date;
      if (views[wanted]) return views[wanted];
      // A date of the slider the fixture has no view of: the nearest earlier view stands in.
      if (!latest.dates.some((d) => d.date === wanted)) {
        throw { kind: 'not_found', summary: `There is no imagery of ${wanted}.`, detail: null };
      }
      const near = dates.filter((d) => d <= wanted).pop() ?? dates[0];
      return { ...views[near], date: wanted };
    } finally {
      mapStats.inFlight -= 1;
    }
  }

  function registerCallback(callback, once = false) {
    const id = window.crypto.getRandomValues(new Uint32Array(1))[0];
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      return callback && callback(data);
    });
    return id;
  }
  function runCallback(id, data) {
    const cb = callbacks.get(id);
    if (cb) cb(data);
  }

  function checkValues(values) {
    const errors = {};
    for (const [key, value] of Object.entries(values)) {
      if (/EPOCHS|SEED|COUNT|PATIENCE|TIMEOUT/.test(key) && value !== '' && !/^\d+$/.test(value)) {
        errors[key] = `"${value}" is not a whole number`;
      }
      if (key === 'AGRIFLUX_BBOX' && value !== '') {
        const n = value.split(',').map(Number);
        if (n.length !== 4 || n.some(Number.isNaN)) errors[key] = 'expected MINLON,MINLAT,MAXLON,MAXLAT';
        else if (n[0] >= n[2] || n[1] >= n[3]) errors[key] = 'minimum must be less than maximum';
      }
    }
    return errors;
  }

  const commands = {
    workspace_view: () => workspace,
    choose_workdir: () => (picked === null ? null : switchTo(picked)),
    open_recent_workdir: ({ path }) => {
      const folder = workspace.recent.find((f) => f.path === path);
      if (!folder) throw { kind: 'not_found', summary: 'That folder is not in the list of recent folders.', detail: path };
      if (!folder.exists) {
        throw { kind: 'not_found', summary: `${folder.name} no longer exists: it may have been moved or deleted.`, detail: `${path}: No such file or directory (os error 2)` };
      }
      return switchTo(path);
    },
    open_demo_workdir: () => switchTo(workspace.demo_folder),
    about: () => fx.about,
    app_info: () => ({ ...fx.appInfo, workdir: workspace.current, env_path: `${workspace.current}/.env` }),
    start_run: () => ({ run_id: 'mock-run' }),
    cancel_run: () => null,
    run_state: () => live,
    plan_run: () => fx.plan,
    list_runs: () => fx.runs,
    env_changes: () => envLog.slice().reverse(),
    load_report: () => fx.report,
    export_report: () => '/home/agronomist/agriflux/demo/reports/pipeline_report_20261124_080356.html',
    open_folder: () => null,
    read_settings: () => settings,
    check_settings: ({ edits }) => ({
      errors: checkValues(edits.values),
      area: { width_px: 382, height_px: 387, km2: 14.79 },
      secret_keys: edits.env_keys.map((e) => e.key).filter((k) => /SECRET|_KEY$|_TOKEN$|_PASSWORD$/.test(k)),
    }),
    models_state: () => models,
    switch_models: ({ on }) => {
      const at = new Date().toISOString();
      const from = models.value ?? '';
      models = { ...models, on, value: String(on), last_switch: { on, by: 'app (AI-models switch)', at, from, run_id: null, run: null } };
      envLog.push({ at, by: 'app (AI-models switch)', run_id: null, changes: [{ key: 'USE_AI_MODELS', from, to: String(on) }] });
      return models;
    },
    save_settings: ({ edits }) => {
      const values = edits.values;
      const errors = checkValues(values);
      if (Object.keys(errors).length) return { ok: false, errors, changes: [], env_path: settings.env_path };
      const changes = [];
      for (const group of settings.groups) {
        for (const field of group.fields) {
          if (!(field.key in values)) continue;
          if (field.kind === 'secret') {
            if (values[field.key] !== '') {
              changes.push({ key: field.key, from: field.is_set ? '(set)' : '', to: '(changed)' });
              field.is_set = true;
            }
          } else {
            changes.push({ key: field.key, from: field.value, to: values[field.key] });
            field.value = values[field.key];
          }
        }
      }
      if (changes.length) envLog.push({ at: new Date().toISOString(), by: 'settings panel', run_id: null, changes });
      return { ok: true, errors: {}, changes, env_path: settings.env_path };
    },
    test_connection: () => ({ ok: false, message: 'Sentinel Hub refused the credentials (HTTP 401: invalid client)' }),
    map_view: mapView,
    map_point: async ({ col, row }) => {
      await sleep(5);
      return { ...fx.map.point, col, row };
    },
    import_fields: ({ name, text }) => {
      let features;
      try {
        features = JSON.parse(text).features;
      } catch (err) {
        throw { kind: 'files', summary: `${name} is not a GeoJSON file.`, detail: String(err) };
      }
      if (!Array.isArray(features)) throw { kind: 'files', summary: `${name} has no features.`, detail: null };
      return { fields: features.length, file: `fields/${name}` };
    },
    export_fields_csv: () => '/home/agronomist/agriflux/demo/maps/fields.csv',
    'plugin:event|listen': ({ event, handler }) => {
      listeners.push({ event, handler });
      return handler;
    },
    'plugin:event|unlisten': ({ eventId }) => {
      const i = listeners.findIndex((l) => l.handler === eventId);
      if (i >= 0) listeners.splice(i, 1);
      return null;
    },
  };

  async function invoke(cmd, args) {
    calls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
    if (failures.has(cmd)) throw failures.get(cmd);
    if (workspace.current === null && !WITHOUT_WORKDIR.has(cmd)) {
      throw { kind: 'not_found', summary: 'No work directory is open: choose one first.', detail: null };
    }
    if (SWITCHING.has(cmd) && live?.running) {
      throw { kind: 'conflict', summary: 'A run is going in this folder: cancel it or wait for it to end before switching.', detail: null };
    }
    const fn = commands[cmd];
    if (!fn) throw { kind: 'internal', summary: `The mock backend has no command ${cmd}.`, detail: 'tests/browser/mock-backend.js' };
    return fn(args ?? {});
  }

  function push(batch) {
    if (!live || (batch.first_seq === 0 && batch.run_id !== live.run_id)) {
      live = { run_id: batch.run_id, running: true, next_seq: 0, events: [] };
    }
    for (const [i, ev] of batch.events.entries()) {
      if (batch.first_seq + i !== live.next_seq) continue;
      live.events.push(ev);
      live.next_seq += 1;
      if (ev.type === 'run_finished') live.running = false;
    }
    sessionStorage.setItem('mock-live', JSON.stringify(live));
    emit('run-events', batch);
  }

  window.__TAURI_INTERNALS__ = {
    invoke,
    transformCallback: registerCallback,
    unregisterCallback: (id) => callbacks.delete(id),
    runCallback,
    callbacks,
    metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: (_event, id) => callbacks.delete(id) };
  window.__mock = {
    push,
    calls,
    fail: (cmd, problem) => failures.set(cmd, problem),
    pickFolder: (path) => (picked = path),
    mapStats,
    mapDelay: (ms) => (mapStats.delay = ms),
  };
}
