import { afterAll, describe, expect, it } from 'vitest';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { jobUnit } from '../../src/host/job';
import { recomputedRoot } from '../../src/host/recompute';
import { webWorkerRecomputer } from '../../src/host/recompute-web';
import type { ChallengedUnit } from '../../src/protocol';

const recomputer = webWorkerRecomputer();
afterAll(() => recomputer.close());

describe("the page host's recomputer (a Web Worker)", () => {
  it('computes the same roots as the host would in its own thread, hashing and modp, in order', async () => {
    const hash = await createCpuSha256();
    const units = [
      jobUnit({ id: 's', kernel: 'sha256-batch', units: 1, messagesPerUnit: 33, messageLength: 71, seed: 5, samples: 1 }, 0),
      jobUnit({ id: 'm', kernel: 'matmul-modp', units: 2, m: 17, n: 9, k: 23, p: 65521, seed: 6, samples: 1 }, 1),
    ] as ChallengedUnit[];
    const roots = await Promise.all(units.map((u) => recomputer.root(u)));
    expect(roots).toEqual(units.map((u) => recomputedRoot(u, hash)));
  });

  it('keeps the page responsive while it computes a large unit, and rejects an aborted call', async () => {
    const big = jobUnit({ id: 'b', kernel: 'matmul-modp', units: 1, m: 256, n: 256, k: 256, p: 65521, seed: 7, samples: 1 }, 0) as ChallengedUnit;
    const pending = recomputer.root(big);
    // The page's own timers keep firing on time meanwhile.
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 10);
    expect(await pending).toMatch(/^[0-9a-f]{64}$/);
    clearInterval(timer);
    expect(worst).toBeLessThan(250);
    const abort = new AbortController();
    const call = recomputer.root(big, abort.signal);
    abort.abort();
    await expect(call).rejects.toThrow(/aborted/);
  });

  it('refuses to recompute f32 (not bit-exact) with a clear error', async () => {
    const f32 = jobUnit({ id: 'f', kernel: 'matmul-f32', units: 1, m: 4, n: 4, k: 4, seed: 1, samples: 1 }, 0) as ChallengedUnit;
    await expect(recomputer.root(f32)).rejects.toThrow(/not bit-exact/);
  });
});
