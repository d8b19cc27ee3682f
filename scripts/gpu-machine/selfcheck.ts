/**
 * A Node volunteer's self-check on Dawn, with no network: a HostCore in this process (memory
 * store) with a small job of every kernel that has a GPU runner, and one VolunteerSession whose
 * computer is the pages' engine on Dawn, forced to WebGPU, over an in-memory link. Passes when
 * the host accepted every unit, each computed on WebGPU. Run on a GPU machine before the bench.
 */
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { openDawn } from '../../src/gpu/dawn';
import type { AcceptedResult } from '../../src/host/host-options';
import { HostCore } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { createKeyPair, identityFromKeyPair } from '../../src/proof/identity';
import { Backend } from '../../src/protocol';
import { VolunteerSession } from '../../src/volunteer/session';
import { ComputeEngine } from '../../src/worker/engine';
import { memoryConnector } from '../../test/helpers/memory-host';

/** Every GPU kernel, in units big enough to use more than one workgroup row and small enough for seconds on lavapipe. */
export const SELF_CHECK_JOBS: readonly JobSpec[] = [
  { id: 'check-sha256', kernel: 'sha256-batch', units: 2, messagesPerUnit: 256, messageLength: 200, seed: 31, samples: 64 },
  { id: 'check-pow', kernel: 'sha256d-pow', units: 2, seed: 32, noncesPerUnit: 1 << 16, shareBits: 8, targetBits: 12 },
  { id: 'check-f32', kernel: 'matmul-f32', units: 2, m: 72, n: 68, k: 100, seed: 33, verify: { policy: 'freivalds' } },
  { id: 'check-modp', kernel: 'matmul-modp', units: 2, m: 72, n: 68, k: 100, p: 65521, seed: 34, verify: { policy: 'freivalds' } },
  { id: 'check-i8', kernel: 'matmul-i8', units: 2, m: 72, n: 68, k: 100, seed: 35, verify: { policy: 'freivalds' } },
];

export interface SelfCheck {
  readonly pass: boolean;
  readonly adapter?: string;
  readonly accepted: number;
  readonly expected: number;
  readonly problems: readonly string[];
  readonly ms: number;
}

export async function volunteerSelfCheck(flags: readonly string[], timeoutMs = 120_000): Promise<SelfCheck> {
  const started = performance.now();
  const { gpu } = await openDawn(flags);
  const hash = await createCpuSha256();
  const accepted: AcceptedResult[] = [];
  const problems: string[] = [];
  const core = await HostCore.open(new MemoryHostStore(), SELF_CHECK_JOBS, {
    hostId: 'self-check',
    hash,
    identity: await identityFromKeyPair(await createKeyPair()),
    onAccepted: (r) => accepted.push(r),
    onRejected: (unitId, _volunteer, reason) => problems.push(`${unitId} rejected: ${reason}`),
  });
  const engine = new ComputeEngine({ gpu: () => gpu, backend: Backend.WebGpu });
  const session = new VolunteerSession({
    signalUrl: 'ws://unused/',
    hostId: 'self-check',
    computer: engine,
    connect: memoryConnector(core).connect,
    identity: await identityFromKeyPair(await createKeyPair()),
    backoff: { baseMs: 20, maxMs: 200 },
  });
  session.addEventListener('change', () => {
    if (session.error) problems.push(`volunteer: ${session.error.message}`);
  });
  const expected = SELF_CHECK_JOBS.reduce((n, j) => n + j.units, 0);
  session.start();
  try {
    const deadline = started + timeoutMs;
    while (!core.done && problems.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!core.done && problems.length === 0) problems.push(`timed out after ${timeoutMs} ms with ${accepted.length} of ${expected} units accepted`);
  } finally {
    session.close();
    engine.dispose();
  }
  for (const r of accepted) if (r.backend !== Backend.WebGpu) problems.push(`${r.unitId} was computed on ${r.backend ?? 'an unnamed backend'}`);
  const adapter = accepted.find((r) => r.adapter)?.adapter;
  return {
    pass: problems.length === 0 && accepted.length === expected,
    ...(adapter ? { adapter } : {}),
    accepted: accepted.length,
    expected,
    problems: [...new Set(problems)],
    ms: performance.now() - started,
  };
}
