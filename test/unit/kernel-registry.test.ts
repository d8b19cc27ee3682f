import { describe, expect, it } from 'vitest';
import { DEFAULT_FORM, outputSize, specFromForm } from '../../src/dashboard/job-form-model';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { jobUnit, parseJob, type JobSpec } from '../../src/host/job';
import { checksOf, formFieldsOf, hostKernel, JOB_FIELDS } from '../../src/kernels/host-registry';
import { sharesToLeaves } from '../../src/kernels/shares';
import { KERNELS, leafBytesOf, unitKernel, unitSize, type Kernel } from '../../src/kernels/units';
import { workerKernel } from '../../src/kernels/worker-registry';
import { encodeMessage } from '../../src/protocol';
import { parseHostMessage } from '../../src/validate';

/** A valid job of each kernel, as the dashboard's form makes it from its defaults. */
function jobOf(kernel: Kernel): JobSpec {
  const parsed = specFromForm({ ...DEFAULT_FORM, kernel, collect: false });
  if (!parsed.spec) throw new Error(`the form's defaults make no ${kernel} job: ${JSON.stringify(parsed.errors)}`);
  return parsed.spec;
}

describe('kernel registries', () => {
  it('hold every kernel once, each module under its own name', () => {
    expect(new Set(KERNELS).size).toBe(KERNELS.length);
    for (const kernel of KERNELS) {
      expect(unitKernel(kernel).kernel).toBe(kernel);
      expect(hostKernel(kernel).kernel).toBe(kernel);
      expect(typeof workerKernel(kernel).run).toBe('function');
      expect(typeof workerKernel(kernel).calibration).toBe('function');
    }
  });

  it.each(KERNELS)('%s: its units round-trip through the validator', (kernel) => {
    const spec = jobOf(kernel);
    for (const index of [0, spec.units - 1]) {
      const unit = jobUnit(spec, index);
      expect(unit.kernel).toBe(kernel);
      const message = { type: 'unit', id: 1, unit, leaseMs: 60_000 } as const;
      expect(parseHostMessage(encodeMessage(message))).toEqual(message);
      // A field the unit does not have is refused, not carried along.
      expect(() => parseHostMessage(JSON.stringify({ ...message, unit: { ...unit, extra: 1 } }))).toThrow(/unit.unit: unexpected field 'extra'/);
    }
  });

  it.each(KERNELS)("%s: its leaf layout is the size of its CPU reference's output", async (kernel) => {
    const hash = await createCpuSha256();
    const unit = jobUnit(jobOf(kernel), 1);
    const layout = unitKernel(kernel);
    const checks = checksOf(unit);
    expect(layout.output).toBe(checks.kind);
    if (checks.kind === 'leaves') {
      const leaves = checks.reference(hash);
      expect(leaves.length).toBe(layout.leafCount(unit)! * leafBytesOf(unit));
      expect(layout.leafCount(unit)).toBe(unitSize(unit));
      // What the form says keeping a unit's output costs is that output.
      expect(outputSize({ ...DEFAULT_FORM, kernel })?.perUnit).toBe(leaves.length);
    } else {
      const found = await checks.search();
      expect(found.shares.length).toBeGreaterThan(0);
      expect(sharesToLeaves(found.shares).length % leafBytesOf(unit)).toBe(0);
      expect(layout.leafCount(unit)).toBeUndefined();
    }
  });

  it.each(KERNELS)('%s: its job spec refuses unknown fields, naming them, and fields of other kernels', (kernel) => {
    const spec = jobOf(kernel);
    expect(parseJob(spec)).toBe(spec);
    expect(() => parseJob({ ...spec, input: 'data' })).toThrow(/unknown field 'input'/);
    const own = new Set(Object.keys(hostKernel(kernel).spec.entries));
    const foreign = [...JOB_FIELDS].find((field) => !own.has(field));
    if (foreign) expect(() => parseJob({ ...spec, [foreign]: 1 })).toThrow(new RegExp(`unknown field '${foreign}'`));
  });

  it.each(KERNELS)('%s: its job spec takes exactly the policies its checks allow', (kernel) => {
    const { samples: _, ...spec } = jobOf(kernel);
    const checks = hostKernel(kernel).checks;
    const takes = (extra: object) => {
      try {
        parseJob({ ...spec, ...extra });
        return true;
      } catch {
        return false;
      }
    };
    const leaves = checks.kind === 'leaves';
    expect(takes({ samples: 4 })).toBe(leaves);
    expect(takes({ replicate: true })).toBe(leaves && checks.bitExact);
    expect(takes({ verify: { policy: 'freivalds' } })).toBe(leaves && checks.freivalds !== undefined);
    expect(takes({ samples: 4, collect: true })).toBe(leaves);
    expect(hostKernel(kernel).output !== undefined).toBe(leaves);
  });

  it('gives a field two kernels share on the form one default', () => {
    const initial = new Map<string, string>();
    for (const kernel of KERNELS) {
      for (const { name, field } of formFieldsOf(kernel)) {
        expect(initial.get(name) ?? field.initial).toBe(field.initial);
        initial.set(name, field.initial);
      }
    }
  });

  it('reads a misspelt field as unknown, and a JSON array as no job', () => {
    const { kernel, ...spec } = jobOf('sha256-batch');
    expect(() => parseJob({ ...spec, kernal: kernel })).toThrow(/unknown field 'kernal'/);
    expect(() => parseJob({ ...spec })).toThrow(/kernel must be one of sha256-batch, matmul-f32, matmul-modp, sha256d-pow/);
    expect(() => parseJob([spec])).toThrow(/a job is a JSON object/);
    expect(() => parseJob(null)).toThrow(/a job is a JSON object/);
    // Named "job", not "job undefined", and the array called what it is (issue 20, bug 6).
    expect(() => parseJob([spec])).toThrow(/^job: a job is a JSON object, not an array \(give one job per file\)$/);
    expect(() => parseJob({ ...spec, kernel, id: undefined })).toThrow(/^job: /);
    expect(() => parseJob({ ...spec, kernal: kernel })).toThrow(/^job "[^"]+": unknown field 'kernal'$/);
  });
});
