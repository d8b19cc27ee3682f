import { expect, test, type Page } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { CHEAT_KINDS, CheatKind, cheatIsBannable } from '../../scripts/farm/cheat-kind';
import { startCheater } from '../../scripts/farm/cheater';
import { startHost, startSignaling, startWeb, type Signaling } from '../../scripts/stack';
import { jobUnit, unitWork, type JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { checkResults, freePort, openVolunteer } from './stack-fixture';

// Two invalid results ban a key; every result is verified (the warm-up is never reached).
const trust = { banAfter: 2 };
// Checks that cannot miss a lie of this size: every digest opened (samples = messages), every
// row of C through Freivalds, and 256 shares expected per pow unit, so half a range is caught.
const sha: JobSpec = { id: 'sha', kernel: 'sha256-batch', units: 12, messagesPerUnit: 64, messageLength: 64, seed: 601, samples: 64, trust };
const modp: JobSpec = { id: 'modp', kernel: 'matmul-modp', units: 12, m: 32, n: 32, k: 48, p: 65521, seed: 602, verify: { policy: 'freivalds' }, trust };
const pow: JobSpec = { id: 'pow', kernel: 'sha256d-pow', units: 10, seed: 603, noncesPerUnit: 1 << 16, shareBits: 8, targetBits: 12, trust };

/** The job each cheat is tried on (f32 is left out: its results cannot be compared bit for bit). */
function jobFor(kind: CheatKind): JobSpec {
  const base = kind === CheatKind.WrongElement ? modp : kind === CheatKind.SkippedRange ? pow : sha;
  return { ...base, id: `cheat-${kind}` };
}

let signaling: Signaling;
let web: ViteDevServer;
let pages: Page[];
test.beforeAll(async ({ browser }) => {
  signaling = await startSignaling(await freePort());
  web = await startWeb(await freePort(), { signalUrl: signaling.url, hostId: 'unused' });
  // One context each: pages of one site in one context would take turns (one contributing tab).
  pages = await Promise.all([0, 1, 2].map(() => browser.newPage()));
});
test.afterAll(async () => {
  for (const p of pages ?? []) await p.context().close();
  await web?.close();
  await signaling?.close();
});

for (const kind of CHEAT_KINDS) {
  test(`one of four volunteers cheats (${kind}); the job finishes with only correct results${cheatIsBannable(kind) ? ' and the cheater banned' : ' and the cheater refused'}`, async () => {
    const job = jobFor(kind);
    const hostId = `e2e-cheat-${kind}-${process.pid}`;
    const store = new MemoryHostStore();
    const { core, host } = await startHost({ jobs: [job], store, signalUrl: signaling.url, hostId, leaseMs: 5000 });
    const stop = new AbortController();
    try {
      // The cheater goes first, so it holds units before the honest pages have loaded.
      const cheater = await startCheater({ kind, signalUrl: signaling.url, hostId, jobs: [job], signal: stop.signal, log: (l) => console.log(l) });
      await expect.poll(() => cheater.report.lies, { timeout: 20_000 }).toBeGreaterThan(0);
      const webUrl = `http://localhost:${web.config.server.port}/`;
      for (const page of pages) {
        await openVolunteer(page, webUrl, signaling.url, hostId);
        await page.getByRole('button', { name: 'Start' }).click();
      }
      await expect.poll(() => core.done, { timeout: 120_000 }).toBe(true);
      await checkResults(core);

      const trustState = (await store.load()).trust.find((t) => t.key === cheater.id && t.jobId === job.id);
      const mine = core.results(job.id).filter((r) => r.volunteer === cheater.id);
      const earned = mine.reduce((n, r) => n + unitWork(jobUnit(job, Number(r.unitId.split('/')[1]))), 0);
      // Credit only for results that passed (and were rechecked above): none for any lie.
      expect(core.volunteer(cheater.id)?.credit ?? 0).toBe(earned);
      if (cheatIsBannable(kind)) {
        expect(trustState?.banned, cheater.report.lines.join('\n')).toBe(true);
        expect(cheater.report.rejected).toBeGreaterThanOrEqual(trust.banAfter);
        // Only the replay earns an honest acceptance first (the result it then replays).
        expect(mine.length).toBe(kind === CheatKind.Replay ? 1 : 0);
      } else {
        // Refused before any verdict, so it never reaches the trust ledger: no ban, no credit.
        expect(cheater.report.refused + cheater.report.duplicates).toBeGreaterThan(0);
        expect(trustState?.banned ?? false).toBe(false);
        expect(mine).toHaveLength(0);
      }
    } finally {
      stop.abort();
      host.close();
    }
  });
}
