import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/dashboard/dashboard-app';
import { HostStatus, type StartHost, type TabgridDashboard } from '../../src/dashboard/dashboard-app';
import type { ResultsFile } from '../../src/dashboard/results-file';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import { HandVolunteer } from '../helpers/honest-volunteer';
import { newIdentity } from '../helpers/signing';

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
      core = await HostCore.open(new MemoryHostStore(), [], { hostId: s.hostId, hash, identity: await newIdentity(), onVerdict: hooks.onVerdict, maxLeases: 1 });
      return { core, close: async () => undefined };
    });
  document.body.append(el);
  await until(() => el.status !== HostStatus.Starting);
  return { el, core: () => core! };
}

async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
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
    await (form as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    form.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => core().jobs().length === 1);
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
    const downloads = inner(el, 'tg-downloads') as HTMLElement & { build: (id: string) => ResultsFile };
    const file = JSON.parse(JSON.stringify(downloads.build('job-1'))) as ResultsFile;
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

  it('reports a job the host refuses next to the form', async () => {
    const { el, core } = await mount();
    await core().addJob({ id: 'job-1', kernel: 'sha256-batch', units: 1, messagesPerUnit: 8, messageLength: 64, seed: 9, samples: 2 });
    const form = inner(el, 'tg-job-form');
    form.shadowRoot!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => text(form, '[data-field="submit-error"]') !== '');
    expect(text(form, '[data-field="submit-error"]')).toMatch(/job-1 is stored with a different spec/);
  });

  it('says why when the host cannot start', async () => {
    const { el } = await mount(async () => {
      throw new Error('host could not register as test-host: ID is taken');
    });
    expect(el.status).toBe(HostStatus.Failed);
    expect(text(inner(el, 'tg-host-settings'), '[data-field="host-status"]')).toMatch(/did not start: host could not register .* is host id test-host free/);
  });
});
