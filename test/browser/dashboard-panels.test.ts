import { afterEach, describe, expect, it, vi } from 'vitest';
import '../../src/dashboard/unit-grid';
import '../../src/dashboard/throughput-chart';
import '../../src/dashboard/volunteers-table';
import '../../src/dashboard/verification-log';
import '../../src/dashboard/downloads';
import type { UnitView, VerdictEvent } from '../../src/host/host-views';
import type { JobSpec } from '../../src/host/job';
import { RESULTS_FORMAT, type BuiltResults, type ResultsFile } from '../../src/dashboard/results-file';

function mount<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  Object.assign(el, props);
  document.body.append(el);
  return el;
}
const $$ = (el: Element, sel: string) => [...el.shadowRoot!.querySelectorAll(sel)];
const text = (el: Element, sel: string) => el.shadowRoot!.querySelector(sel)!.textContent!.replace(/\s+/g, ' ').trim();

afterEach(() => document.body.replaceChildren());

const unit = (index: number, over: Partial<UnitView> = {}): UnitView => ({
  unitId: `j/${index}`,
  index,
  state: 'queued',
  holder: null,
  progress: 0,
  root: null,
  rejections: 0,
  acceptedAt: null,
  ...over,
});

describe('<tg-unit-grid>', () => {
  it('draws one labelled cell per unit, a legend with counts and a text summary', async () => {
    const units = [
      unit(0, { state: 'accepted', holder: 'aaaa1111bbbb' }),
      unit(1, { state: 'verifying', holder: 'cccc2222' }),
      unit(2, { rejections: 1 }),
      unit(3, { state: 'leased', holder: 'dddd3333' }),
    ];
    const el = mount('tg-unit-grid', { jobId: 'j', units, now: 1 });
    await el.updateComplete;
    const cells = $$(el, '.cell');
    expect(cells.map((c) => c.getAttribute('data-state'))).toEqual(['accepted', 'verifying', 'rejected', 'leased']);
    expect(cells.map((c) => c.getAttribute('aria-label'))).toEqual([
      'unit 0: accepted from aaaa1111',
      'unit 1: verifying by cccc2222',
      'unit 2: rejected 1 time(s), back in the queue',
      'unit 3: leased by dddd3333',
    ]);
    expect(cells.every((c) => c.getAttribute('title') === c.getAttribute('aria-label'))).toBe(true);
    expect(text(el, '[data-field="summary"]')).toBe('1 of 4 units accepted; 1 verifying, 1 leased, 0 queued, 1 recently rejected.');
    expect($$(el, '.legend li').map((li) => li.textContent!.trim())).toEqual([
      'queued (0)',
      'leased (1)',
      'verifying (1)',
      'accepted (1)',
      'rejected recently (1)',
    ]);
    // Each state has its own colour.
    const colours = new Set(cells.map((c) => getComputedStyle(c).backgroundColor));
    expect(colours.size).toBe(4);
    el.units = units.map((u) => ({ ...u, state: 'accepted' as const }));
    await el.updateComplete;
    expect(text(el, '[data-field="summary"]')).toMatch(/^4 of 4 units accepted/);
  });
});

describe('<tg-throughput-chart>', () => {
  it('draws a bar per busy interval and describes the chart in words', async () => {
    // The last bar is the current interval, [59 s, 60 s).
    const now = 59_900;
    const el = mount('tg-throughput-chart', { acceptedAt: [59_100, 59_500, 57_200, null], now });
    await el.updateComplete;
    expect($$(el, 'rect')).toHaveLength(2);
    const svg = el.shadowRoot!.querySelector('svg')!;
    expect(svg.getAttribute('role')).toBe('img');
    expect(svg.getAttribute('aria-label')).toBe('Accepted units per 1 s over the last 12 s: 3 in all, peak 2, latest 2.');
    expect(text(el, '[data-field="throughput"]')).toBe(svg.getAttribute('aria-label'));
    el.acceptedAt = [];
    await el.updateComplete;
    expect($$(el, 'rect')).toHaveLength(0);
    expect(svg.getAttribute('aria-label')).toBe('No units accepted yet (bars of 1 s).');
  });
});

describe('<tg-volunteers-table>', () => {
  it('lists volunteers with a short id, trust, accepted, credit and rejections', async () => {
    const el = mount('tg-volunteers-table', {
      rows: [
        {
          id: '0123456789abcdef0123456789abcdef',
          credit: 12345,
          accepted: 3,
          rejected: 0,
          holding: 1,
          trust: { level: 'trusted', streak: 14, checkRate: 0.59, banned: false },
        },
        {
          id: 'fedcba9876543210fedcba9876543210',
          credit: 0,
          accepted: 0,
          rejected: 3,
          holding: 0,
          trust: { level: 'banned', streak: 0, checkRate: 1, banned: true },
        },
      ],
    });
    await el.updateComplete;
    const rows = $$(el, 'tbody tr').map((tr) => [...tr.children].map((c) => c.textContent!.trim()));
    expect(rows).toEqual([
      ['01234567', 'trusted (streak 14, next result checked with p = 59%)', '3', '12,345', '0', '1'],
      ['fedcba98', 'banned from this job', '0', '0', '3', '0'],
    ]);
    expect($$(el, 'thead th').every((th) => th.getAttribute('scope') === 'col')).toBe(true);
    el.rows = [];
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[data-field="no-volunteers"]')).not.toBeNull();
  });
});

describe('<tg-verification-log>', () => {
  it('shows the last verdicts newest first, with reasons, in a live region', async () => {
    const entries: VerdictEvent[] = Array.from({ length: 60 }, (_, i) => ({
      at: i * 1000,
      unitId: `j/${i}`,
      volunteer: 'abcdef0123',
      verdict: i % 2 ? 'rejected' : 'accepted',
      reason: i % 2 ? 'committed root does not match' : 'verified',
      credit: i % 2 ? 0 : 10,
    }));
    const el = mount('tg-verification-log', { entries });
    await el.updateComplete;
    const log = el.shadowRoot!.querySelector('[role="log"]')!;
    expect(log.getAttribute('aria-live')).toBe('polite');
    const items = $$(el, 'li[data-verdict]');
    expect(items).toHaveLength(50);
    expect(items[0]!.textContent!.replace(/\s+/g, ' ')).toMatch(/rejected j\/59 from abcdef01: committed root does not match/);
    expect(items[1]!.textContent!.replace(/\s+/g, ' ')).toMatch(/accepted j\/58 from abcdef01: verified \(\+10 credit\)/);
  });
});

describe('<tg-downloads>', () => {
  /** Captures the files the panel saves (anchor clicks) instead of downloading them. */
  function capture() {
    const blobs = new Map<string, Blob>();
    const saved: string[] = [];
    const create = vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => {
      const url = `blob:x${blobs.size}`;
      blobs.set(url, b as Blob);
      return url;
    });
    const revoke = vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined);
    const clicks = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
    return { blobs, saved, restore: () => [create, revoke, clicks].forEach((m) => m.mockRestore()) };
  }

  it("saves a job's results file on click, built then, saying preparing… meanwhile and that the output was not kept", async () => {
    const spec: JobSpec = { id: 'j', kernel: 'sha256-batch', units: 2, messagesPerUnit: 8, messageLength: 64, seed: 1, samples: 4 };
    let finish!: () => void;
    const build = vi.fn(
      (jobId: string) =>
        new Promise<BuiltResults>(
          (resolve) => (finish = () => resolve({ header: { format: RESULTS_FORMAT, job: { ...spec, id: jobId } } as unknown as ResultsFile })),
        ),
    );
    const files = capture();
    try {
      const el = mount('tg-downloads', { jobs: [{ spec, accepted: 1 }], build });
      await el.updateComplete;
      expect(build).not.toHaveBeenCalled();
      const button = el.shadowRoot!.querySelector('button')!;
      expect(button.textContent!.trim()).toBe('Download results of j (JSON)');
      expect(text(el, '[data-field="units"]')).toBe('1 of 2 units accepted; a download holds those accepted by then.');
      expect(text(el, '[data-field="kept"]')).toMatch(/^The output was not kept/);
      button.click();
      await el.updateComplete;
      const status = el.shadowRoot!.querySelector('[data-field="status"]')!;
      expect(status.getAttribute('aria-live')).toBe('polite');
      expect(status.textContent).toBe('Preparing…');
      expect(button.disabled).toBe(true);
      finish();
      await vi.waitFor(() => expect(files.saved).toEqual(['tabgrid-j-results.json']));
      await el.updateComplete;
      expect(JSON.parse(await [...files.blobs.values()][0]!.text())).toEqual({ format: RESULTS_FORMAT, job: spec });
      expect(status.textContent).toMatch(/^Saved tabgrid-j-results\.json \(\d+ bytes\)\.$/);
      expect(button.disabled).toBe(false);
    } finally {
      files.restore();
    }
  });

  it('offers a matrix job that keeps its output as two links from one build, and says why a build failed', async () => {
    const spec: JobSpec = { id: 'mm', kernel: 'matmul-modp', units: 2, m: 2, n: 2, k: 2, p: 65521, seed: 1, samples: 1, collect: true };
    const c = Uint8Array.from({ length: 32 }, (_, i) => i);
    const header = { format: RESULTS_FORMAT, layout: { file: 'tabgrid-mm-c.bin' } } as unknown as ResultsFile;
    const build = vi.fn(async () => ({ header, c }));
    const files = capture();
    try {
      const el = mount('tg-downloads', { jobs: [{ spec, accepted: 2 }], build });
      await el.updateComplete;
      const button = el.shadowRoot!.querySelector('button')!;
      expect(button.textContent!.trim()).toBe('Prepare results of mm (JSON header and C as binary)');
      expect(text(el, '[data-field="kept"]')).toMatch(/C of every accepted unit as binary/);
      button.click();
      await vi.waitFor(() => expect(el.shadowRoot!.querySelectorAll('a[download]')).toHaveLength(2));
      // Nothing is saved without a click on each link (a second automatic download would be blocked).
      expect(files.saved).toEqual([]);
      expect(build).toHaveBeenCalledTimes(1);
      expect(text(el, '[data-field="status"]')).toBe('Ready: save both files below.');
      const links = [...el.shadowRoot!.querySelectorAll<HTMLAnchorElement>('a[download]')];
      expect(links.map((a) => [a.download, a.textContent])).toEqual([
        ['tabgrid-mm-results.json', 'Save tabgrid-mm-results.json'],
        ['tabgrid-mm-c.bin', 'Save tabgrid-mm-c.bin'],
      ]);
      expect(new Uint8Array(await files.blobs.get(links[1]!.getAttribute('href')!)!.arrayBuffer())).toEqual(c);
      expect(JSON.parse(await files.blobs.get(links[0]!.getAttribute('href')!)!.text())).toEqual(header);

      build.mockRejectedValueOnce(new Error('the store is gone'));
      button.click();
      await vi.waitFor(() => expect(text(el, '[data-field="status"]')).toBe('Could not build the download: the store is gone'));
      expect(el.shadowRoot!.querySelectorAll('a[download]')).toHaveLength(0);
      expect(el.shadowRoot!.querySelector('[data-field="status"]')!.className).toBe('error');
    } finally {
      files.restore();
    }
  });
});
