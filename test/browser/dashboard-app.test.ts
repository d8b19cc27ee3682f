import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import '../../src/dashboard/dashboard-app';
import { HostStatus, type StartHost, type TabgridDashboard } from '../../src/dashboard/dashboard-app';
import type { BuiltResults, ResultsFile } from '../../src/dashboard/results-file';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { toHex } from '../../src/hex';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { HandVolunteer } from '../helpers/honest-volunteer';
import { honest, submit, volunteer } from '../helpers/judged';
import { newIdentity } from '../helpers/signing';
import { until as untilWithin } from '../helpers/until';

const until = (predicate: () => boolean, timeoutMs = 10_000) => untilWithin(predicate, timeoutMs, 20);

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});
afterEach(() => document.body.replaceChildren());

/** The dashboard over an in-memory host (no signaling server in browser tests). */
async function mount(start?: StartHost): Promise<{ el: TabgridDashboard; core: () => HostCore }> {
  const el = document.createElement('tabgrid-dashboard');
  let core: HostCore | undefined;
  el.settings = { signalUrl: 'ws://127.0.0.1:1/', hostId: 'test-host' };
  el.startHost =
    start ??
    (async (s, hooks) => {
      core = await HostCore.open(new MemoryHostStore(), [], {
        hostId: s.hostId,
        hash,
        identity: await newIdentity(),
        onVerdict: hooks.onVerdict,
        maxLeases: 1,
      });
      return { core, close: async () => undefined };
    });
  document.body.append(el);
  await until(() => el.status !== HostStatus.Starting);
  return { el, core: () => core! };
}

const inner = (el: TabgridDashboard, tag: string) => el.shadowRoot!.querySelector(tag)!;
const text = (host: Element, sel: string) => host.shadowRoot!.querySelector(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';

describe('<tabgrid-dashboard>', () => {
  it('creates a job through the form, shows its units, verdicts and volunteers, and downloads verifiable results', async () => {
    const { el, core } = await mount();
    expect(text(inner(el, 'tg-host-settings'), '[data-field="host-status"]')).toMatch(/^Running as host test-host/);
    const form = inner(el, 'tg-job-form');
    const units = form.shadowRoot!.querySelector<HTMLInputElement>('#f-units')!;
    units.value = '3';
    units.dispatchEvent(new Event('input'));
    const size = form.shadowRoot!.querySelector<HTMLInputElement>('#f-messagesPerUnit')!;
    size.value = '16';
    size.dispatchEvent(new Event('input'));
    // The hand volunteers below answer challenges, not requests for the whole output.
    form.shadowRoot!.querySelector<HTMLInputElement>('#f-collect')!.click();
    await (form as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    form.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => core().jobs().length === 1);
    // A successful create says so (issue 20, bug 6: it gave no confirmation).
    await until(() => text(form, '[data-field="created"]') !== '');
    expect(text(form, '[data-field="created"]')).toMatch(/^Job \S+ created: 3 units of .+\. Volunteers connected to this host start on it now/);
    expect(form.shadowRoot!.querySelector('[data-field="created"]')!.getAttribute('role')).toBe('status');
    const grid = inner(el, 'tg-unit-grid');
    await until(() => text(grid, '[data-field="summary"]').startsWith('0 of 3 units accepted'));

    // One honest result, one wrong one.
    const good = await HandVolunteer.greet(core(), 'a', await newIdentity(), hash);
    const bad = await HandVolunteer.greet(core(), 'b', await newIdentity(), hash);
    expect(await good.submit(await good.lease())).toMatchObject({ verdict: 'accepted' });
    expect(await bad.submit(await bad.lease(), true)).toMatchObject({ verdict: 'rejected' });
    await until(() => text(grid, '[data-field="summary"]') === '1 of 3 units accepted; 0 verifying, 0 leased, 1 queued, 1 recently rejected.');
    const log = inner(el, 'tg-verification-log');
    await until(() => log.shadowRoot!.querySelectorAll('li[data-verdict]').length === 2);
    expect(text(log, 'li[data-verdict="rejected"]')).toMatch(/job-1\/1 from .*root/);
    const table = inner(el, 'tg-volunteers-table');
    await until(() => table.shadowRoot!.querySelectorAll('tbody tr').length === 2);
    expect(text(table, `tr[data-volunteer="${good.identity.id}"]`)).toMatch(/every result checked/);
    expect(text(inner(el, 'tg-throughput-chart'), '[data-field="throughput"]')).toMatch(/1 in all/);

    // The download, as built for the button.
    const downloads = inner(el, 'tg-downloads') as HTMLElement & { build: (id: string) => Promise<BuiltResults> };
    const file = JSON.parse(JSON.stringify((await downloads.build('job-1')).header)) as ResultsFile;
    expect(file.host).toEqual({ id: 'test-host', publicKey: core().publicKey });
    expect(file.results).toHaveLength(1);
    const [r] = file.results;
    expect(r).toMatchObject({ unitId: 'job-1/0', volunteer: good.identity.id, root: core().results('job-1')[0]!.root });
    expect(await verifyReceiptSignature(file.host.publicKey, r!.receipt!, r!.receipt!.signature!)).toBe(true);

    // Nothing changed since the last refresh: the next one skips the rebuild, unless forced.
    el.refresh(true);
    expect(el.refresh()).toBe(false);
    expect(el.refresh(true)).toBe(true);
    await good.lease();
    expect(el.refresh()).toBe(true);
  });

  it('counts every job in the chart by default (issue 20, bug 5), or the job shown; pauses, cancels and deletes from the overview', async () => {
    const { el, core } = await mount();
    const spec = (id: string, seed: number): JobSpec => ({ id, kernel: 'sha256-batch', units: 2, messagesPerUnit: 8, messageLength: 32, seed, samples: 4 });
    await core().addJob(spec('a', 1));
    await core().addJob(spec('b', 2));
    const v = await volunteer(core(), 'v');
    const unit = await v.lease();
    expect(await submit(v, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    // Show job b, which has nothing accepted: the chart still counts job a's unit, and says whose units it counts.
    await until(() => el.shadowRoot!.querySelector('[data-field="chart-scope"]') !== null);
    const pick = el.shadowRoot!.querySelector<HTMLSelectElement>('.pick select')!;
    pick.value = 'b';
    pick.dispatchEvent(new Event('change'));
    const chart = inner(el, 'tg-throughput-chart');
    await until(() => text(chart, 'h2') === 'Throughput: all 2 jobs');
    expect(text(chart, '[data-field="throughput"]')).toMatch(/^Accepted units \(all 2 jobs\) per .*: 1 in all/);
    const scope = el.shadowRoot!.querySelector<HTMLSelectElement>('[data-field="chart-scope"]')!;
    scope.value = 'shown';
    scope.dispatchEvent(new Event('change'));
    await until(() => text(chart, 'h2') === 'Throughput: job b');
    expect(text(chart, '[data-field="throughput"]')).toMatch(/^No units accepted yet \(job b\)/);

    // The overview's buttons act on the host.
    const overview = inner(el, 'tg-jobs-overview');
    const press = async (label: string) => {
      await until(() => [...overview.shadowRoot!.querySelectorAll('button')].some((b) => (b.getAttribute('aria-label') ?? b.textContent!.trim()) === label));
      [...overview.shadowRoot!.querySelectorAll('button')].find((b) => (b.getAttribute('aria-label') ?? b.textContent!.trim()) === label)!.click();
    };
    expect(text(overview, 'tr[data-job="a"] [data-field="progress"]')).toBe('1 / 2');
    await press('Pause job b');
    await until(() => core().jobStatus('b') === 'paused');
    await until(() => overview.shadowRoot!.querySelector('tr[data-job="b"]')?.getAttribute('data-state') === 'paused');
    await press('Cancel job a');
    await press('Cancel job');
    await until(() => core().jobStatus('a') === 'cancelled');
    await press('Delete job a');
    await press('Delete');
    await until(() => core().jobs().length === 1);
    await until(() => overview.shadowRoot!.querySelectorAll('tbody tr').length === 1);
    expect(core().receipt(unit.unitId)).toBeDefined();
  });

  it("downloads the kept output of collecting jobs from the host's store, and only roots for a job that does not collect", async () => {
    const { el, core } = await mount();
    const jobs: JobSpec[] = [
      { id: 'dig', kernel: 'sha256-batch', units: 2, messagesPerUnit: 5, messageLength: 16, seed: 3, samples: 2, collect: true },
      { id: 'mat', kernel: 'matmul-modp', units: 3, m: 4, n: 3, k: 5, p: 65521, seed: 4, verify: { policy: 'freivalds' }, collect: true },
      { id: 'roots', kernel: 'sha256-batch', units: 1, messagesPerUnit: 5, messageLength: 16, seed: 5, samples: 2 },
    ];
    for (const job of jobs) await core().addJob(job);
    // Every unit of every job, computed honestly and accepted (outputs uploaded for the collecting ones).
    const v = await volunteer(core(), 'a');
    const outputs = new Map<string, Uint8Array>();
    for (let i = 0; i < 6; i++) {
      const unit = await v.lease();
      outputs.set(unit.unitId, honest(unit, hash));
      expect(await submit(v, unit, outputs.get(unit.unitId)!, hash)).toMatchObject({ verdict: 'accepted' });
    }
    const panel = inner(el, 'tg-downloads');
    el.refresh(true);
    await until(() => panel.shadowRoot!.querySelectorAll('li[data-job]').length === 3);
    const item = (id: string) => panel.shadowRoot!.querySelector(`li[data-job="${id}"]`)!;
    const kept = (id: string) => item(id).querySelector('[data-field="kept"]')!.textContent!.trim();
    expect(kept('roots')).toMatch(/^The output was not kept/);
    expect(kept('dig')).toMatch(/digests/);

    const blobs = new Map<string, Blob>();
    const saved = new Map<string, Blob>();
    const create = vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => (blobs.set(`blob:${blobs.size}`, b as Blob), `blob:${blobs.size - 1}`));
    const clicks = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.set(this.download, blobs.get(this.getAttribute('href')!)!);
    });
    try {
      // Hashing: the digests, as hex, in the JSON next to each root and receipt.
      item('dig').querySelector('button')!.click();
      await until(() => saved.has('tabgrid-dig-results.json'));
      const dig = JSON.parse(await saved.get('tabgrid-dig-results.json')!.text()) as ResultsFile;
      expect(dig).toMatchObject({ format: 'tabgrid-results/2', output: 'digests', units: { accepted: 2 } });
      for (const r of dig.results) expect(r.digests!.join('')).toBe(toHex(outputs.get(r.unitId)!));

      // Matrices: a header and C as binary, from one build; each slice hashes to the root its receipt signs.
      item('mat').querySelector('button')!.click();
      await until(() => item('mat').querySelectorAll('a[download]').length === 2);
      for (const a of item('mat').querySelectorAll('a')) a.click();
      const header = JSON.parse(await saved.get('tabgrid-mat-results.json')!.text()) as ResultsFile;
      const bin = new Uint8Array(await saved.get('tabgrid-mat-c.bin')!.arrayBuffer());
      const layout = header.layout!;
      expect(layout).toMatchObject({ file: 'tabgrid-mat-c.bin', dtype: 'uint32-le', m: 4, n: 3, unitBytes: 48, totalBytes: 144 });
      expect(bin.length).toBe(144);
      for (const u of layout.units) {
        const slice = bin.subarray(u.offset, u.offset + layout.unitBytes);
        expect(slice).toEqual(outputs.get(u.unitId));
        expect(toHex(buildMerkleTreeOfChunks(slice, layout.rowBytes, hash).root)).toBe(u.root);
        expect(await verifyReceiptSignature(header.host.publicKey, u.receipt!, u.receipt!.signature!)).toBe(true);
      }

      // No output kept: roots and receipts only.
      item('roots').querySelector('button')!.click();
      await until(() => saved.has('tabgrid-roots-results.json'));
      const roots = JSON.parse(await saved.get('tabgrid-roots-results.json')!.text()) as ResultsFile;
      expect(roots).toMatchObject({ output: 'none', units: { accepted: 1 } });
      expect(roots.results[0]).not.toHaveProperty('digests');
      expect(roots.note).toMatch(/stayed with the volunteers/);
    } finally {
      create.mockRestore();
      clicks.mockRestore();
    }
  });

  it('reports a job the host refuses next to the form', async () => {
    const { el, core } = await mount();
    await core().addJob({ id: 'job-1', kernel: 'sha256-batch', units: 1, messagesPerUnit: 8, messageLength: 64, seed: 9, samples: 2 });
    const form = inner(el, 'tg-job-form');
    form.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => text(form, '[data-field="submit-error"]') !== '');
    expect(text(form, '[data-field="submit-error"]')).toMatch(/job-1 is stored with a different spec/);
    expect(text(form, '[data-field="created"]')).toBe('');
  });

  it('says why when the host cannot start', async () => {
    const { el } = await mount(async () => {
      throw new Error('host could not register as test-host: ID is taken');
    });
    expect(el.status).toBe(HostStatus.Failed);
    expect(text(inner(el, 'tg-host-settings'), '[data-field="host-status"]')).toMatch(/did not start: host could not register .* is host id test-host free/);
  });
});
