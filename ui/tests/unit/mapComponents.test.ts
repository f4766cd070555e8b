import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import FieldsTable from '../../src/components/FieldsTable.svelte';
import Legend from '../../src/components/Legend.svelte';
import DateSlider from '../../src/components/DateSlider.svelte';
import MapViewComponent from '../../src/components/MapView.svelte';
import type { MapField, MapLayer, MapView } from '../../src/lib/bridge';
import { fixture } from './fixtures';
import { mapViewFromFixture, mockBackend, pushMapProgress, rejectWith, resetBackend } from './mockBackend';

// jsdom has no ResizeObserver (bind:clientWidth uses one): the map simply keeps no size there.
class NoResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;

afterEach(() => {
  cleanup();
  resetBackend();
});

type MapFixture = { views: Record<string, MapView> };
const views = () => Object.values(fixture<MapFixture>('map.json').views).sort((a, b) => a.date.localeCompare(b.date));
const NAMES = ['Healthy', 'Moderate', 'Stressed', 'Critical'];

function field(id: number, name: string, need: number, ndvi: number | null, shares: number[]): MapField {
  return {
    id, name, need, area_ha: 4 + id, outline: [], series: [], next: null,
    stats: { date: '2026-06-23', clear_fraction: 0.9, ndvi_mean: ndvi, ndvi_std: ndvi === null ? null : 0.03,
      class_shares: shares, forecast: ndvi, forecast_change: ndvi === null ? null : -0.02 },
  };
}

describe('FieldsTable', () => {
  const fields = [
    field(1, 'North field', 0.1, 0.72, [0.9, 0.1, 0, 0]),
    field(2, 'Riverside', 1.4, 0.31, [0, 0, 0.4, 0.6]),
    field(3, 'Beet strip', 0.7, null, []),
  ];
  const rowNames = () =>
    screen.getAllByTestId(/^field-row-/).map((tr) => within(tr).getAllByRole('cell')[1].textContent?.trim());

  it('lists the fields that most need a visit first, with their figures in words', () => {
    render(FieldsTable, { fields, classNames: NAMES });
    expect(rowNames()).toEqual(['Riverside', 'Beet strip', 'North field']);
    const table = screen.getByTestId('fields-table');
    expect(table.dataset.sort).toBe('need-desc');
    const riverside = screen.getByTestId('field-row-2');
    expect(riverside.textContent).toContain('Stressed 40 % · Critical 60 %');
    expect(riverside.textContent).toContain('0.31 ± 0.03');
    expect(riverside.textContent).toContain('−0.02');
    expect(screen.getByTestId('field-row-3').textContent).toContain('—');
  });

  it('sorts by a header click, again the other way, and marks the sorted column', async () => {
    render(FieldsTable, { fields, classNames: NAMES });
    await fireEvent.click(screen.getByTestId('sort-ndvi'));
    expect(rowNames()).toEqual(['North field', 'Riverside', 'Beet strip']);
    expect(screen.getByTestId('sort-ndvi').closest('th')?.getAttribute('aria-sort')).toBe('descending');
    await fireEvent.click(screen.getByTestId('sort-ndvi'));
    expect(rowNames()).toEqual(['Riverside', 'North field', 'Beet strip']);
    expect(screen.getByTestId('sort-ndvi').closest('th')?.getAttribute('aria-sort')).toBe('ascending');
    await fireEvent.click(screen.getByTestId('sort-name'));
    expect(rowNames()).toEqual(['Beet strip', 'North field', 'Riverside']);
    // The visit order column keeps the need order whatever sorts the table.
    expect(within(screen.getByTestId('field-row-2')).getAllByRole('cell')[0].textContent?.trim()).toBe('1');
  });

  it('opens a field from its row, and is read-only without onSelect', async () => {
    const onSelect = vi.fn();
    render(FieldsTable, { fields, classNames: NAMES, onSelect });
    await fireEvent.click(screen.getByTestId('field-row-1'));
    await fireEvent.click(screen.getByRole('button', { name: 'Riverside' }));
    expect(onSelect.mock.calls).toEqual([[1], [2]]);
    cleanup();
    render(FieldsTable, { fields, classNames: NAMES });
    expect(screen.queryByRole('button', { name: 'Riverside' })).toBeNull();
  });
});

describe('Legend', () => {
  it('draws a ramp as a gradient with its stop labels and unit', () => {
    const layer: MapLayer = {
      id: 'ndvi', title: 'NDVI', png: '', ramp: true, unit: 'NDVI',
      legend: [{ label: '0.0', colour: '#a50026' }, { label: '0.4', colour: '#fee08b' }, { label: '0.8', colour: '#1a9850' }],
    };
    render(Legend, { layer });
    const legend = screen.getByTestId('legend-ndvi');
    expect(legend.textContent).toContain('(NDVI)');
    expect(screen.getByRole('img').getAttribute('aria-label')).toBe('NDVI: colour ramp from 0.0 to 0.8 NDVI');
    expect((legend.querySelector('.bar') as HTMLElement).style.background).toContain('linear-gradient');
    expect([...legend.querySelectorAll('.stops span')].map((s) => s.textContent)).toEqual(['0.0', '0.4', '0.8']);
  });

  it('lists classes as swatch and name, never the colour alone', () => {
    const layer: MapLayer = {
      id: 'health', title: 'Predicted health', png: '', ramp: false, unit: null,
      legend: NAMES.map((label, i) => ({ label, colour: ['#1a9850', '#a6d96a', '#fdae61', '#d73027'][i] })),
    };
    render(Legend, { layer });
    const items = screen.getByTestId('legend-health').querySelectorAll('li');
    expect([...items].map((li) => li.textContent?.trim())).toEqual(NAMES);
    expect((items[3].querySelector('.swatch') as HTMLElement).style.background).toBe('rgb(215, 48, 39)');
  });
});

describe('DateSlider', () => {
  const dates = [
    { date: '2026-06-03', clear_fraction: 1, cloudy: false },
    { date: '2026-06-13', clear_fraction: 0.24, cloudy: true },
    { date: '2026-06-23', clear_fraction: 0.95, cloudy: false },
    { date: '2026-07-03', clear_fraction: 0.4, cloudy: true },
  ];

  it('marks the cloudy dates on the track with their clear share', () => {
    render(DateSlider, { dates, index: 2, playing: false, onChange: () => {}, onPlay: () => {} });
    const ticks = screen.getAllByTestId('cloudy-tick');
    expect(ticks.map((t) => t.dataset.date)).toEqual(['2026-06-13', '2026-07-03']);
    expect(ticks[0].getAttribute('title')).toBe('2026-06-13: cloudy, 24 % clear');
    expect(ticks[0].style.left).toBe(`${(1 / 3) * 100}%`);
    expect(ticks[1].style.left).toBe('100%');
    expect(screen.getByTestId('date-label').textContent).toContain('2026-06-23');
    expect(screen.getByTestId('date-label').textContent).toContain('95 % clear');
  });

  it('reports a moved slider and play/pause', async () => {
    const onChange = vi.fn();
    const onPlay = vi.fn();
    render(DateSlider, { dates, index: 0, playing: false, onChange, onPlay });
    const slider = screen.getByTestId('date-slider') as HTMLInputElement;
    expect(slider.max).toBe('3');
    await fireEvent.input(slider, { target: { value: '1' } });
    expect(onChange).toHaveBeenCalledWith(1);
    await fireEvent.click(screen.getByTestId('map-play'));
    expect(onPlay).toHaveBeenCalledWith(true);
  });
});

describe('MapView', () => {
  it('shows the latest date with its default layers, legends, notes and fields', async () => {
    const { calls } = mockBackend();
    render(MapViewComponent);
    const last = views().at(-1)!;
    await screen.findByTestId('map-stage');
    expect(calls.filter((c) => c.cmd === 'map_view')).toEqual([{ cmd: 'map_view', args: { date: null } }]);
    expect(screen.getByRole('heading', { level: 2, name: `Map of ${last.date}` })).toBeTruthy();
    const shown = [...screen.getByTestId('map-stage').querySelectorAll('img')].map((i) => i.dataset.layer);
    expect(shown).toEqual(['true_colour', 'health']);
    expect((screen.getByTestId('layer-toggle-ndvi') as HTMLInputElement).checked).toBe(false);
    expect((screen.getByTestId('layer-opacity-health') as HTMLInputElement).value).toBe('60');
    expect(screen.getByTestId('legend-health')).toBeTruthy();
    expect(screen.queryByTestId('legend-ndvi')).toBeNull();
    await fireEvent.click(screen.getByTestId('layer-toggle-ndvi'));
    expect(screen.getByTestId('legend-ndvi')).toBeTruthy();
    expect(screen.getByTestId('map-simulated').textContent).toContain('Simulated data');
    expect(screen.getByTestId('map-notes').textContent).toContain(last.notes[0]);
    expect(screen.getAllByTestId(/^field-row-/)).toHaveLength(last.fields.length);
    expect(screen.getAllByTestId(/^field-outline-/)).toHaveLength(last.fields.length);
  });

  it('opens a field panel from its outline, with its season chart', async () => {
    mockBackend();
    render(MapViewComponent);
    const f = views().at(-1)!.fields[0];
    await fireEvent.click(await screen.findByTestId(`field-outline-${f.id}`));
    const panel = screen.getByTestId('detail-panel');
    expect(panel.textContent).toContain(f.name);
    expect(within(panel).getByTestId('series-chart')).toBeTruthy();
    expect(within(panel).getAllByRole('row')).toHaveLength(f.series.length + 1);
  });

  it('moves to another date from the slider', async () => {
    const { calls } = mockBackend();
    render(MapViewComponent);
    const first = views().at(-1)!.dates[0].date;
    await fireEvent.input(await screen.findByTestId('date-slider'), { target: { value: '0' } });
    await screen.findByRole('heading', { level: 2, name: `Map of ${first}` });
    expect(calls.filter((c) => c.cmd === 'map_view').map((c) => (c.args as { date: string | null }).date)).toEqual([null, first]);
  });

  it('shows the progress of computing the maps', async () => {
    let release: (v: MapView) => void = () => {};
    mockBackend({ map_view: (args) => new Promise((r) => (release = () => r(mapViewFromFixture(args)))) });
    render(MapViewComponent);
    await waitFor(() => expect(screen.getByTestId('map-progress').textContent).toContain('Loading'));
    pushMapProgress({ done: 3, total: 20, what: 'layers of 2026-06-13' });
    await waitFor(() => expect(screen.getByTestId('map-progress').textContent).toContain('Computing the maps: 3/20'));
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('3');
    release({} as MapView);
    await screen.findByTestId('map-stage');
    expect(screen.getByTestId('map-progress').textContent?.trim()).toBe('');
  });

  it('says to run the pipeline first when there is no imagery yet', async () => {
    mockBackend({ map_view: rejectWith({ kind: 'not_found', summary: 'No scenes in data/raw.', detail: null }) });
    render(MapViewComponent);
    const empty = await screen.findByTestId('map-empty');
    expect(empty.textContent).toContain('No imagery yet: run the pipeline first');
    expect(screen.queryByTestId('map-error')).toBeNull();
  });

  it('shows any other failure as a problem', async () => {
    mockBackend({ map_view: rejectWith({ kind: 'files', summary: 'A scene could not be read.', detail: 'data/raw/x.tif: truncated' }) });
    render(MapViewComponent);
    expect((await screen.findByTestId('map-error')).textContent).toBe('A scene could not be read.');
  });

  it('keeps the map shown when a later date fails, and says why', async () => {
    mockBackend({
      map_view: (args) => {
        if (args.date === null) return mapViewFromFixture(args);
        throw { kind: 'not_found', summary: 'That date is no longer in the work directory.', detail: null };
      },
    });
    render(MapViewComponent);
    const latest = views().at(-1)!;
    await fireEvent.input(await screen.findByTestId('date-slider'), { target: { value: '0' } });
    expect((await screen.findByTestId('map-error')).textContent).toBe('That date is no longer in the work directory.');
    expect(screen.getByRole('heading', { level: 2, name: `Map of ${latest.date}` })).toBeTruthy();
    expect(screen.queryByTestId('map-empty')).toBeNull();
    expect((screen.getByTestId('date-slider') as HTMLInputElement).value).toBe(String(latest.dates.length - 1));
  });
});
