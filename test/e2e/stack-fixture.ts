import { createServer } from 'node:net';
import type { Page } from '@playwright/test';
import { buildMerkleTreeOfChunks } from '../../src/hash/merkle';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { toHex } from '../../src/hex';
import type { HostCore } from '../../src/host/host-core';
import { jobUnit, type JobSpec } from '../../src/host/job';
import { seededBatch, sha256BatchCpu } from '../../src/kernels/sha256-batch';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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

/** The Merkle root the CPU reference computes for unit `index` of a job. */
export async function expectedRoot(job: JobSpec, index: number): Promise<string> {
  const hash = await createCpuSha256();
  const unit = jobUnit(job, index);
  if (unit.kernel !== 'sha256-batch') throw new Error('only exact hashing units have one expected root');
  const digests = sha256BatchCpu(seededBatch(unit.seed, unit.count, unit.messageLength), hash);
  return toHex(buildMerkleTreeOfChunks(digests, 32, hash).root);
}

/** Every accepted root must equal the root the CPU reference computes for that unit. */
export async function checkResults(core: HostCore): Promise<void> {
  const results = core.results();
  if (new Set(results.map((r) => r.unitId)).size !== results.length) throw new Error('a unit was accepted twice');
  const job = core.jobs()[0]!;
  for (const [i, r] of results.entries()) {
    if (jobUnit(job, i).unitId !== r.unitId) throw new Error(`result ${i} is for ${r.unitId}`);
    if ((await expectedRoot(job, i)) !== r.root) throw new Error(`accepted a wrong root for ${r.unitId}`);
  }
}
