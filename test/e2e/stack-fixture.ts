import { test, type Page } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { startSignaling, startWeb, type Signaling } from '../../scripts/stack';
export { freePort } from '../../scripts/free-port';
import { freePort } from '../../scripts/free-port';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import type { HostCore } from '../../src/host/host-core';
import { jobUnit, type JobSpec } from '../../src/host/job';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { Recheck, recheck, referenceOutput, rootOf } from '../../scripts/farm/reference';

/**
 * A signaling server and the page server on free loopback ports, started before the calling
 * spec file's tests and closed after them; call at the top level of the spec.
 */
export function useSignalingAndWeb(hostId: string): { readonly signaling: Signaling; readonly web: ViteDevServer; readonly base: string } {
  let signaling: Signaling | undefined;
  let web: ViteDevServer | undefined;
  test.beforeAll(async () => {
    signaling = await startSignaling(await freePort());
    web = await startWeb(await freePort(), { signalUrl: signaling.url, hostId });
  });
  test.afterAll(async () => {
    await web?.close();
    await signaling?.close();
  });
  return {
    get signaling() {
      return signaling!;
    },
    get web() {
      return web!;
    },
    get base() {
      return `http://localhost:${web!.config.server.port}`;
    },
  };
}

/** Opens the volunteer page pointed at a host, counting tabgrid-unit-accepted events. */
export async function openVolunteer(page: Page, webUrl: string, signalUrl: string, hostId: string, params: Record<string, string> = {}): Promise<void> {
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  if (process.env.TABGRID_E2E_CONSOLE) page.on('console', (m) => console.log(`[page ${m.type()}] ${m.text()}`));
  const query = new URLSearchParams({ signal: signalUrl, host: hostId, ...params });
  await page.goto(`${webUrl}?${query}`);
  await page.waitForFunction(() => customElements.get('tabgrid-volunteer') !== undefined);
  await page.evaluate(() => {
    const w = window as unknown as { accepted: number };
    w.accepted = 0;
    document.addEventListener('tabgrid-unit-accepted', () => w.accepted++);
  });
}

export async function volunteerStatus(page: Page) {
  return page.evaluate(() => {
    const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer;
    return { state: el.state, unitsDone: el.unitsDone, credit: el.credit, events: (window as unknown as { accepted: number }).accepted };
  });
}

/** The Merkle root the CPU reference computes for unit `index` of an exact job (not f32: its bits vary by device). */
export async function expectedRoot(job: JobSpec, index: number): Promise<string> {
  const unit = jobUnit(job, index);
  if (unit.kernel === 'matmul-f32') throw new Error('f32 results differ bit for bit across devices: there is no one expected root');
  const hash = await createCpuSha256();
  return rootOf(await referenceOutput(unit, hash), hash);
}

/**
 * Every unit of every exact job accepted once, each root (and proof-of-work solution list)
 * the CPU reference's. f32 jobs are checked for completeness only.
 */
export async function checkResults(core: HostCore): Promise<void> {
  const hash = await createCpuSha256();
  for (const job of core.jobs()) {
    const results = core.results(job.id);
    if (new Set(results.map((r) => r.unitId)).size !== results.length) throw new Error(`a unit of ${job.id} was accepted twice`);
    if (results.length !== job.units) throw new Error(`${job.id}: ${results.length} of ${job.units} units accepted`);
    for (const r of results) {
      const index = Number(r.unitId.slice(job.id.length + 1));
      if (jobUnit(job, index).unitId !== r.unitId) throw new Error(`result ${r.unitId} is not a unit of ${job.id}`);
      if ((await recheck(job, index, r, hash)) === Recheck.Wrong) throw new Error(`accepted a wrong result for ${r.unitId}`);
    }
  }
}
