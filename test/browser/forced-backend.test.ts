import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { jobUnit } from '../../src/host/job';
import { checksOf } from '../../src/kernels/host-registry';
import { Kernel } from '../../src/kernels/units';
import { leavesToShares } from '../../src/kernels/shares';
import { bytesEqual } from '../../src/hex';
import type { WorkUnit } from '../../src/protocol';
import { describeEngine } from '../../src/ui/describe';
import '../../src/ui/tabgrid-volunteer';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import type { UnitComputer } from '../../src/worker/client';
import { ComputeEngine, type UnitOutput } from '../../src/worker/engine';
import { until } from '../helpers/until';

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});

/** A small unit of every kernel. */
const units: readonly WorkUnit[] = [
  jobUnit({ id: 's', kernel: 'sha256-batch', units: 1, messagesPerUnit: 300, messageLength: 64, seed: 404, samples: 1 }, 0),
  jobUnit({ id: 'f', kernel: 'matmul-f32', units: 1, m: 37, n: 45, k: 63, seed: 404, samples: 1 }, 0),
  jobUnit({ id: 'm', kernel: 'matmul-modp', units: 1, m: 37, n: 45, k: 63, p: 65521, seed: 404, samples: 1 }, 0),
  jobUnit({ id: 'i', kernel: 'matmul-i8', units: 1, m: 37, n: 45, k: 63, seed: 404, samples: 1 }, 0),
  jobUnit({ id: 'p', kernel: 'sha256d-pow', units: 1, noncesPerUnit: 4096, shareBits: 6, targetBits: 12, seed: 404 }, 0),
];

/** What the host accepts: every leaf passes its check, bit-exact kernels equal the reference, a search finds the reference's shares. */
async function expectRight(unit: WorkUnit, out: UnitOutput) {
  const checks = checksOf(unit);
  if (checks.kind === 'shares') {
    expect(leavesToShares(out.leaves)).toEqual((await checks.search()).shares);
    return;
  }
  const check = checks.leafCheck(hash);
  for (let i = 0; i < out.leaves.length / out.leafBytes; i++) expect(check(i, out.leaves.subarray(i * out.leafBytes, (i + 1) * out.leafBytes))).toBeUndefined();
  if (checks.bitExact) expect(bytesEqual(out.leaves, checks.reference(hash))).toBe(true);
}

it('covers every kernel', () => {
  expect(new Set(units.map((u) => u.kernel))).toEqual(new Set(Object.values(Kernel)));
});

function mount(attrs: Record<string, string>): TabgridVolunteer {
  const el = document.createElement('tabgrid-volunteer');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  document.body.append(el);
  return el;
}

const field = (el: TabgridVolunteer, name: string) => el.shadowRoot!.querySelector(`[data-field="${name}"]`)?.textContent?.trim() ?? '';

afterEach(() => {
  document.body.replaceChildren();
  localStorage.clear();
});

describe('<tabgrid-volunteer backend="…">', () => {
  it.each(['cpu', 'webgpu'] as const)(
    'backend="%s" runs every kernel there, equal to the reference, and says it was forced',
    async (backend) => {
      // No host answers (port 9): the session retries, while the widget's compute worker is up.
      const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody', backend });
      await el.updateComplete;
      el.shadowRoot!.querySelector('button')!.click();
      await until(() => field(el, 'adapter').includes(`forced to ${backend}`), 20_000, 20);
      if (backend === 'webgpu') expect(field(el, 'adapter')).toMatch(/^WebGPU: .*software fallback/);
      else expect(field(el, 'adapter')).toBe('CPU (backend forced to cpu by the page)');
      // The widget's own compute worker (private: reached here only to give it units without a host).
      const computer = (el as unknown as { work: { computer?: UnitComputer } }).work.computer!;
      for (const unit of units) {
        const out = await computer.runUnit(unit);
        expect(out.backend).toBe(backend);
        await expectRight(unit, out);
      }
      // On SwiftShader the chooser would time each kernel; forced, every choice says so.
      const choices = Object.values((await computer.describe()).choices ?? {});
      expect(choices).toHaveLength(units.length);
      for (const c of choices) expect(c).toMatchObject({ backend, reason: expect.stringMatching(/chosen in settings/) });
    },
    120_000,
  );

  it('refuses any other value with a clear error, and starts nothing', async () => {
    const created: string[] = [];
    const RealWorker = window.Worker;
    window.Worker = class extends RealWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        created.push(String(url));
      }
    };
    try {
      const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody', backend: 'gpu' });
      await el.updateComplete;
      expect(el.state).toBe('error');
      expect(field(el, 'error')).toMatch(/backend "gpu" is not one of webgpu, cpu/);
      el.shadowRoot!.querySelector('button')!.click();
      await new Promise((r) => setTimeout(r, 300));
      await el.updateComplete;
      expect(field(el, 'status')).toMatch(/Cannot start: backend "gpu"/);
      expect(created).toEqual([]);
    } finally {
      window.Worker = RealWorker;
    }
  });
});

describe('a forced WebGPU where there is none', () => {
  const engine = new ComputeEngine({ gpu: () => undefined, backend: 'webgpu' });
  afterAll(() => engine.dispose());

  it('fails the unit saying so, never a quiet CPU run, and the widget line says why', async () => {
    await expect(engine.runUnit(units[0]!)).rejects.toMatchObject({
      code: ErrorCode.NoWebGpu,
      message: expect.stringMatching(/^backend=webgpu was forced, but this browser has no WebGPU/),
    });
    const info = await engine.describe();
    expect(info).toMatchObject({ forced: 'webgpu', backend: 'cpu' });
    expect(describeEngine(info, true)).toMatch(/^WebGPU forced by the page, but there is none \(this browser has no WebGPU/);
  });

  it('can be lifted: forceBackend(undefined) chooses again, and a bad value is refused', async () => {
    const e = new ComputeEngine({ gpu: () => undefined, backend: 'webgpu' });
    try {
      expect(() => e.forceBackend('gpu' as never)).toThrow(/backend "gpu" is not one of webgpu, cpu/);
      e.forceBackend(undefined);
      expect((await e.runUnit(units[0]!)).backend).toBe('cpu');
      expect((await e.describe()).forced).toBeUndefined();
    } finally {
      e.dispose();
    }
  });
});
