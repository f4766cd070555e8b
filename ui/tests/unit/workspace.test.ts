// The work directory in the window: the welcome view of a first start, the header's folder menu,
// and the About view.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import App from '../../src/App.svelte';
import { ui } from '../../src/lib/ui.svelte';
import type { WorkspaceView } from '../../src/lib/bridge';
import { fixture, runEvents } from './fixtures';
import { mockBackend, rejectWith, resetBackend } from './mockBackend';

const realReload = ui.reloadWindow;
afterEach(() => {
  cleanup();
  resetBackend();
  ui.view = 'run';
  ui.reloadWindow = realReload;
});

const WORKSPACE = fixture<WorkspaceView>('workspace.json');
const DEFAULT_RUN = { skip_download: false, skip_validation: false, from_step: null, force: false };
const cmds = (calls: { cmd: string }[]) => calls.map((c) => c.cmd).filter((c) => !c.startsWith('plugin:'));
const button = (testid: string) => screen.getByTestId(testid) as HTMLButtonElement;

describe('Welcome view (no work directory open)', () => {
  it('shows instead of the shell, with the demo folder and the recent folders, a missing one disabled', async () => {
    const { calls } = mockBackend({}, { current: null });
    render(App);
    const welcome = await screen.findByTestId('welcome-view');
    expect(screen.queryByTestId('nav-run')).toBeNull();
    expect(screen.queryByRole('banner', { name: /Run/ })).toBeNull();
    expect(welcome.textContent).toContain('AgriFlux Studio');
    expect(welcome.textContent).toMatch(/downloads Sentinel-2 imagery/i);
    expect(screen.getByTestId('welcome-try').textContent).toContain(WORKSPACE.demo_folder);
    const rows = screen.getAllByTestId(/^welcome-recent-\d+$/) as HTMLButtonElement[];
    expect(rows).toHaveLength(WORKSPACE.recent.length);
    WORKSPACE.recent.forEach((folder, i) => {
      expect(rows[i].textContent).toContain(folder.name);
      expect(rows[i].textContent).toContain(folder.path);
      expect(rows[i].disabled).toBe(!folder.exists);
      expect(rows[i].textContent?.includes('missing')).toBe(!folder.exists);
      expect(rows[i].textContent?.includes('has runs')).toBe(folder.has_runs);
    });
    // Nothing that needs a work directory was asked for.
    expect(cmds(calls)).toEqual(['workspace_view']);
  });

  it('hides the recent folders when there are none', async () => {
    mockBackend({ workspace_view: () => ({ current: null, recent: [], demo_folder: null }) });
    render(App);
    await screen.findByTestId('welcome-view');
    expect(screen.queryByText('Recent folders')).toBeNull();
    expect(screen.getByTestId('welcome-try').textContent).toContain('a folder in Documents');
  });

  it('"Open a work directory…" answered null (cancelled) stays on the welcome view', async () => {
    const { calls } = mockBackend({}, { current: null });
    render(App);
    await screen.findByTestId('welcome-view');
    await fireEvent.click(button('welcome-open'));
    await waitFor(() => expect(button('welcome-open').disabled).toBe(false));
    expect(cmds(calls)).toEqual(['workspace_view', 'choose_workdir']);
    expect(screen.getByTestId('welcome-view')).toBeTruthy();
    expect(screen.queryByTestId('nav-run')).toBeNull();
    expect(screen.queryByTestId('welcome-error')).toBeNull();
  });

  it('"Open a work directory…" with a folder picked shows the shell on the Run view', async () => {
    const picked = { ...WORKSPACE, current: '/home/agronomist/fields/2027' };
    mockBackend({ choose_workdir: () => picked }, { current: null });
    render(App);
    await fireEvent.click(await screen.findByTestId('welcome-open'));
    await screen.findByTestId('nav-run');
    expect(screen.queryByTestId('welcome-view')).toBeNull();
    expect(ui.view).toBe('run');
    expect(screen.getByTestId('workdir-menu').getAttribute('title')).toBe('/home/agronomist/fields/2027');
  });

  it('"Try it" opens the demo folder, then starts a run with the default options, then shows the Run view', async () => {
    const { calls } = mockBackend({}, { current: null });
    render(App);
    await screen.findByTestId('welcome-view');
    await fireEvent.click(button('welcome-try'));
    await screen.findByTestId('nav-run');
    expect(screen.getAllByTestId(/^step-card-/)).toHaveLength(8);
    await waitFor(() => expect(cmds(calls)).toContain('app_info'));
    const order = cmds(calls);
    expect(order.indexOf('open_demo_workdir')).toBeGreaterThan(-1);
    expect(order.indexOf('start_run')).toBeGreaterThan(order.indexOf('open_demo_workdir'));
    // The shell reads the folder only once it is open (and the run started).
    expect(order.indexOf('app_info')).toBeGreaterThan(order.indexOf('start_run'));
    expect(calls.find((c) => c.cmd === 'start_run')?.args).toEqual({ options: DEFAULT_RUN });
    expect(screen.getByTestId('nav-run').getAttribute('aria-current')).toBe('page');
    expect(screen.queryByTestId('run-error')).toBeNull();
  });

  it('a run that does not start after the demo folder opened is shown on the Run view', async () => {
    mockBackend(
      { start_run: rejectWith({ kind: 'settings', summary: 'The settings file is invalid.', detail: '.env line 3' }) },
      { current: null },
    );
    render(App);
    await fireEvent.click(await screen.findByTestId('welcome-try'));
    expect((await screen.findByTestId('run-error')).textContent).toBe('The settings file is invalid.');
  });

  it('an error of the demo folder stays on the welcome view, shown with its detail', async () => {
    const { calls } = mockBackend(
      { open_demo_workdir: rejectWith({ kind: 'files', summary: 'Your documents folder could not be found: open a work directory instead.', detail: 'no XDG_DOCUMENTS_DIR' }) },
      { current: null },
    );
    render(App);
    await fireEvent.click(await screen.findByTestId('welcome-try'));
    const error = await screen.findByTestId('welcome-error');
    expect(error.textContent).toBe('Your documents folder could not be found: open a work directory instead.');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.parentElement?.querySelector('details pre')?.textContent).toBe('no XDG_DOCUMENTS_DIR');
    expect(cmds(calls)).not.toContain('start_run');
    expect(button('welcome-try').disabled).toBe(false);
  });

  it('buttons are disabled while a call is pending', async () => {
    let answer: (w: WorkspaceView | null) => void = () => {};
    mockBackend({ choose_workdir: () => new Promise((r) => (answer = r)) }, { current: null });
    render(App);
    await fireEvent.click(await screen.findByTestId('welcome-connect'));
    for (const id of ['welcome-try', 'welcome-connect', 'welcome-open', 'welcome-recent-0']) expect(button(id).disabled).toBe(true);
    answer({ ...WORKSPACE, current: '/home/agronomist/fields/sh' });
    // "Connect Sentinel Hub": the credentials go in the folder's .env, on the Settings view.
    await screen.findByTestId('settings-save');
    expect(ui.view).toBe('settings');
  });

  it('a recent folder opens with open_recent_workdir; a removed one gives its error', async () => {
    const [, second] = WORKSPACE.recent;
    const gone = { kind: 'not_found' as const, summary: 'ludhiana-2025 no longer exists.', detail: second.path };
    const { calls } = mockBackend({ open_recent_workdir: rejectWith(gone) }, { current: null });
    render(App);
    await fireEvent.click(await screen.findByTestId('welcome-recent-1'));
    expect((await screen.findByTestId('welcome-error')).textContent).toBe(gone.summary);
    expect(calls.find((c) => c.cmd === 'open_recent_workdir')?.args).toEqual({ path: second.path });
    cleanup();
    resetBackend();
    mockBackend({}, { current: null });
    render(App);
    await fireEvent.click(await screen.findByTestId('welcome-recent-1'));
    await screen.findByTestId('nav-run');
    expect(screen.getByTestId('workdir-menu').getAttribute('title')).toBe(second.path);
  });
});

describe('Folder menu in the header', () => {
  it('lists the other recent folders, a missing one disabled; a pick switches and reloads the window', async () => {
    const reload = vi.fn();
    ui.reloadWindow = reload;
    const { calls } = mockBackend();
    render(App);
    const menu = (await screen.findByTestId('workdir-menu')) as HTMLButtonElement;
    expect(menu.title).toBe(WORKSPACE.current);
    expect(menu.getAttribute('aria-expanded')).toBe('false');
    await fireEvent.click(menu);
    expect(menu.getAttribute('aria-expanded')).toBe('true');
    const others = WORKSPACE.recent.filter((f) => f.path !== WORKSPACE.current);
    const rows = (await screen.findAllByTestId(/^workdir-recent-\d+$/)) as HTMLButtonElement[];
    expect(rows.map((r) => r.title.replace(/ no longer exists$/, ''))).toEqual(others.map((f) => f.path));
    expect(rows.map((r) => r.disabled)).toEqual(others.map((f) => !f.exists));
    expect(screen.getByTestId('workdir-open')).toBeTruthy();
    expect(screen.getByTestId('workdir-demo')).toBeTruthy();
    await fireEvent.click(rows[0]);
    await waitFor(() => expect(reload).toHaveBeenCalledOnce());
    expect(calls.find((c) => c.cmd === 'open_recent_workdir')?.args).toEqual({ path: others[0].path });
  });

  it('Escape and a click outside close it; a cancelled dialog changes nothing', async () => {
    const reload = vi.fn();
    ui.reloadWindow = reload;
    const { calls } = mockBackend();
    render(App);
    const menu = await screen.findByTestId('workdir-menu');
    await fireEvent.click(menu);
    await screen.findByTestId('workdir-popover');
    await fireEvent.keyDown(window, { key: 'Escape' });
    expect(screen.queryByTestId('workdir-popover')).toBeNull();
    expect(document.activeElement).toBe(menu);
    await fireEvent.click(menu);
    await fireEvent.click(screen.getByTestId('workdir-open'));
    await waitFor(() => expect(cmds(calls)).toContain('choose_workdir'));
    await waitFor(() => expect(button('workdir-open').disabled).toBe(false));
    expect(reload).not.toHaveBeenCalled();
    await fireEvent.pointerDown(screen.getByTestId('step-card-download'));
    expect(screen.queryByTestId('workdir-popover')).toBeNull();
  });

  it('shows a refused switch in the menu', async () => {
    ui.reloadWindow = vi.fn();
    mockBackend({ open_demo_workdir: rejectWith({ kind: 'conflict', summary: 'A run is going in this folder.', detail: null }) });
    render(App);
    await fireEvent.click(await screen.findByTestId('workdir-menu'));
    await fireEvent.click(screen.getByTestId('workdir-demo'));
    expect((await screen.findByTestId('workdir-error')).textContent).toBe('A run is going in this folder.');
    expect(ui.reloadWindow).not.toHaveBeenCalled();
  });

  it('is disabled while a run is going, and its title says why', async () => {
    const events = runEvents();
    const cut = events.findIndex((e) => e.type === 'step_started' && e.step === 'validate') + 1;
    mockBackend({ run_state: () => ({ run_id: 'r-live', running: true, next_seq: cut, events: events.slice(0, cut) }) });
    render(App);
    await screen.findByTestId('cancel-button');
    const menu = button('workdir-menu');
    expect(menu.disabled).toBe(true);
    expect(menu.title).toMatch(/cannot be changed while a run is going/);
  });
});

describe('About view', () => {
  it('is the last item of the rail and shows the versions, the licences and the log folder', async () => {
    const about = fixture<{
      version: string; licence: string; log_folder: string; config_folder: string;
      bundled: { item: string; origin: string; licence: string }[];
    }>('about.json');
    mockBackend();
    render(App);
    const nav = await screen.findByTestId('nav-about');
    expect(nav.parentElement?.lastElementChild).toBe(nav);
    await fireEvent.click(nav);
    expect(nav.getAttribute('aria-current')).toBe('page');
    const view = await screen.findByTestId('about-view');
    await waitFor(() => expect(screen.getByTestId('about-version').textContent).toBe(about.version));
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('About');
    expect(screen.getByTestId('about-licence').textContent).toBe(about.licence);
    const rows = screen.getByTestId('about-bundled').querySelectorAll('tbody tr');
    expect([...rows].map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)))
      .toEqual(about.bundled.map((b) => [b.item, b.origin, b.licence]));
    expect(screen.getByTestId('about-log-folder').textContent).toBe(about.log_folder);
    expect(screen.getByTestId('about-config-folder').textContent).toBe(about.config_folder);
    expect(view.textContent).toContain('Ubuntu Font Licence 1.0');
  });

  it('shows a failure of the about command', async () => {
    mockBackend({ about: rejectWith({ kind: 'files', summary: "The app's folders could not be found.", detail: 'no home' }) });
    ui.view = 'about';
    render(App);
    expect((await screen.findByTestId('about-error')).textContent).toBe("The app's folders could not be found.");
  });
});
