import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import '../../src/dashboard/dashboard-app';
import { HostStatus, type TabgridDashboard } from '../../src/dashboard/dashboard-app';
import type { BuiltResults, ResultsFile } from '../../src/dashboard/results-file';
import { resolveWatch } from '../../src/dashboard/settings';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { concat } from '../../src/bytes';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { ObserverHost } from '../../src/host/observer';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { honest, submit, volunteer } from '../helpers/judged';
import { memoryHostConnector } from '../helpers/memory-observer';
import { newIdentity } from '../helpers/signing';
import { until as untilWithin } from '../helpers/until';

const until = (predicate: () => boolean, timeoutMs = 10_000) => untilWithin(predicate, timeoutMs, 20);
const TOKEN = 'dashboard-watch-token-0123456789';
const HOST = 'node-host-1';

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});
afterEach(() => document.body.replaceChildren());

/**
 * A host as `npm run host` runs it, in this page over a memory store, with its ObserverHost;
 * the dashboard reaches it over in-memory links carrying the real observer messages.
 */
async function watchedHost(jobs: JobSpec[]) {
  const late: { observers?: ObserverHost } = {};
  const core = await HostCore.open(new MemoryHostStore(), jobs, {
    hostId: HOST,
    hash,
    identity: await newIdentity(),
    onVerdict: (e) => late.observers?.recordVerdict(e),
  });
  // The Node host exports from its store (host/export/export-job.ts, Node-only); here the same
  // shape from the core's kept outputs: the accepted units' digests, and a manifest naming them.
  const exportJob = async (jobId: string) => {
    const accepted = core.results(jobId);
    const outputs = await Promise.all(accepted.map((r) => core.output(r.unitId)));
    const manifest = new TextEncoder().encode(JSON.stringify({ job: jobId, units: accepted.map((r) => r.unitId) }));
    return {
      state: 'complete',
      missing: [],
      files: [
        { name: 'digests.bin', data: concat(outputs.map((o) => o!)) },
        { name: 'manifest.json', data: manifest },
      ],
    };
  };
  const observers = (late.observers = new ObserverHost({ hostId: HOST, token: TOKEN, core, exportJob }));
  return { core, observers, connector: memoryHostConnector(core, observers) };
}

function mount(connector: ReturnType<typeof memoryHostConnector>, token = TOKEN): TabgridDashboard {
  const el = document.createElement('tabgrid-dashboard');
  el.watch = { signalUrl: 'ws://127.0.0.1:1/', hostId: HOST, token };
  el.connectWatched = () => (handlers) => connector.connect(handlers);
  document.body.append(el);
  return el;
}

const inner = (el: TabgridDashboard, tag: string) => el.shadowRoot!.querySelector(tag)!;
const text = (host: Element | ShadowRoot | null, sel: string) =>
  (host && 'shadowRoot' in host && host.shadowRoot ? host.shadowRoot : host)?.querySelector(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const status = (el: TabgridDashboard) => text(el.shadowRoot!, '[data-field="watch-status"]');

describe('<tabgrid-dashboard> watching a Node host', () => {
  it('reads the watch settings from the URL, the token from the fragment', () => {
    expect(resolveWatch('?watch=h1&signal=wss%3A%2F%2Fs.example%2F', '#token=abc', {})).toEqual({ hostId: 'h1', signalUrl: 'wss://s.example/', token: 'abc' });
    expect(resolveWatch('?watch=h1', '', { VITE_TABGRID_SIGNAL: 'ws://x/' })).toEqual({ hostId: 'h1', signalUrl: 'ws://x/', token: '' });
    expect(resolveWatch('?host=h1', '#token=abc', {})).toBeUndefined();
  });

  it("shows the host's jobs, units, verdicts and volunteers read-only, and downloads its results and kept output", async () => {
    const dig: JobSpec = { id: 'dig', kernel: 'sha256-batch', units: 3, messagesPerUnit: 8, messageLength: 16, seed: 3, samples: 2, collect: true };
    const { core, connector } = await watchedHost([dig]);
    const el = mount(connector);
    await until(() => el.status === HostStatus.Running);
    expect(status(el)).toMatch(/^Watching host node-host-1 via ws:\/\/127\.0\.0\.1:1\/ \(read-only\)/);
    expect(text(el.shadowRoot!, 'h1')).toBe('tabgrid dashboard watching node-host-1');
    // Read-only: no job form, no host settings.
    expect(el.shadowRoot!.querySelector('tg-job-form')).toBeNull();
    expect(el.shadowRoot!.querySelector('tg-host-settings')).toBeNull();
    const grid = inner(el, 'tg-unit-grid');
    await until(() => text(grid, '[data-field="summary"]').startsWith('0 of 3 units accepted'));

    const good = await volunteer(core, 'a');
    const outputs = new Map<string, Uint8Array>();
    for (let i = 0; i < 3; i++) {
      const unit = await good.lease();
      outputs.set(unit.unitId, honest(unit, hash));
      expect(await submit(good, unit, outputs.get(unit.unitId)!, hash)).toMatchObject({ verdict: 'accepted' });
    }
    await until(() => text(grid, '[data-field="summary"]').startsWith('3 of 3 units accepted'));
    const log = inner(el, 'tg-verification-log');
    await until(() => log.shadowRoot!.querySelectorAll('li[data-verdict="accepted"]').length === 3);
    const table = inner(el, 'tg-volunteers-table');
    await until(() => table.shadowRoot!.querySelectorAll(`tr[data-volunteer="${good.me.id}"]`).length === 1);
    expect(text(inner(el, 'tg-throughput-chart'), '[data-field="throughput"]')).toMatch(/3 in all/);

    // The download, built from the watched host's results, receipts and kept digests.
    const downloads = inner(el, 'tg-downloads') as HTMLElement & { build: (id: string) => Promise<BuiltResults> };
    await until(() => downloads.build !== undefined);
    const file = JSON.parse(JSON.stringify((await downloads.build('dig')).header)) as ResultsFile;
    expect(file.host).toEqual({ id: HOST, publicKey: core.publicKey });
    expect(file).toMatchObject({ output: 'digests', units: { total: 3, accepted: 3 } });
    for (const r of file.results) {
      expect(r.digests!.join('')).toBe(toHex(outputs.get(r.unitId)!));
      expect(await verifyReceiptSignature(file.host.publicKey, r.receipt!, r.receipt!.signature!)).toBe(true);
    }

    // The host's export, fetched over the link and offered as files to save.
    const blobs = new Map<string, Blob>();
    const create = vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => (blobs.set(`blob:${blobs.size}`, b as Blob), `blob:${blobs.size - 1}`));
    try {
      const item = downloads.shadowRoot!.querySelector('li[data-job="dig"] [data-field="export"]')!;
      item.querySelector('button')!.click();
      await until(() => item.querySelectorAll('a[download]').length === 2);
      expect(text(item, '[data-field="export-status"]')).toBe('Ready: save the 2 files below.');
      const links = [...item.querySelectorAll('a[download]')].map((a) => [a.getAttribute('download'), blobs.get(a.getAttribute('href')!)!] as const);
      expect(links.map(([name]) => name)).toEqual(['digests.bin', 'manifest.json']);
      const digests = new Uint8Array(await links[0]![1].arrayBuffer());
      expect(toHex(digests)).toBe(['dig/0', 'dig/1', 'dig/2'].map((id) => toHex(outputs.get(id)!)).join(''));
    } finally {
      create.mockRestore();
    }
  });

  it('says so when the token is wrong, and when the address has none', async () => {
    const { connector } = await watchedHost([]);
    const el = mount(connector, 'a-wrong-token-000000000000');
    await until(() => el.status === HostStatus.Failed);
    expect(status(el)).toMatch(/Host node-host-1 refused to be watched: wrong observer token/);

    const bare = mount(connector, '');
    expect(bare.status).toBe(HostStatus.Failed);
    await bare.updateComplete;
    expect(status(bare)).toMatch(/No observer token in the address/);
  });

  it('keeps the last snapshot on screen while it dials a dropped link again, then watches on', async () => {
    const job: JobSpec = { id: 'j', kernel: 'sha256-batch', units: 2, messagesPerUnit: 8, messageLength: 16, seed: 4, samples: 2 };
    const { connector } = await watchedHost([job]);
    const el = mount(connector);
    await el.updateComplete;
    const grid = inner(el, 'tg-unit-grid');
    await until(() => text(grid, '[data-field="summary"]').startsWith('0 of 2 units accepted'));
    [...connector.links.values()][0]!.host.close();
    await until(() => /Lost the link to host node-host-1 .*trying again in/.test(status(el)));
    expect(text(grid, '[data-field="summary"]')).toMatch(/^0 of 2 units accepted/);
    await until(() => status(el).startsWith('Watching host node-host-1'), 15_000);
  });
});
