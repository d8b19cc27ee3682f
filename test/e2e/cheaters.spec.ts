import { expect, test, type Page } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { CHEAT_KINDS, CheatKind } from '../../scripts/farm/cheat-kind';
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
  // A colluding pair needs replicated units; every leaf of every replica from a fresh key is challenged.
  const base =
    kind === CheatKind.WrongElement ? modp : kind === CheatKind.SkippedRange ? pow : kind === CheatKind.ColludingPair ? { ...sha, replicate: true } : sha;
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

// Replication instead of checks: the cheater's wrong output is outvoted by two honest keys.
const { samples: _, ...shaReplicated } = { ...sha, replicate: true };
const { verify: __, ...modpReplicated } = { ...modp, replicate: true };
const cases: [CheatKind, JobSpec][] = [
  ...CHEAT_KINDS.map((kind): [CheatKind, JobSpec] => [kind, jobFor(kind)]),
  [CheatKind.WrongDigest, { ...shaReplicated, id: 'replicated-wrong-digest' }],
  [CheatKind.WrongElement, { ...modpReplicated, id: 'replicated-wrong-element' }],
];

for (const [kind, job] of cases) {
  test(`one of four volunteers cheats (${kind}${job.id.startsWith('replicated') ? ', replicated job' : ''}); the job finishes with only correct results and the cheater banned`, async () => {
    const hostId = `e2e-${job.id}-${process.pid}`;
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

      const stored = await store.load();
      // A colluding pair speaks with two keys: each is judged on its own.
      for (const key of cheater.keys) {
        const trustState = stored.trust.find((t) => t.key === key && t.jobId === job.id);
        const mine = stored.receipts.filter((r) => r.volunteer === key && r.jobId === job.id);
        const earned = mine.reduce((n, r) => n + unitWork(jobUnit(job, Number(r.unitId.split('/')[1]))), 0);
        // Credit only for results that passed (and were rechecked above): none for any lie.
        expect(core.volunteer(key)?.credit ?? 0).toBe(earned);
        expect(trustState?.banned, cheater.report.lines.join('\n')).toBe(true);
        // As the host counted them: rejected results, or claims on units it never held.
        expect(core.volunteer(key)?.rejected ?? 0).toBeGreaterThanOrEqual(trust.banAfter);
        // Only the replay earns an honest acceptance first (the result it then replays).
        expect(mine.length).toBe(kind === CheatKind.Replay ? 1 : 0);
      }
    } finally {
      stop.abort();
      host.close();
    }
  });
}
