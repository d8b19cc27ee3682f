import { describe, expect, it } from 'vitest';
import { DEFAULT_FREIVALDS_ROUNDS } from '../../src/proof/freivalds-modp';
import { DEFAULT_TRUST_POLICY } from '../../src/proof/trust';
import { parseJob, type JobSpec } from '../../src/host/job';
import { legacyAwaiting } from '../../src/host/store/legacy-awaiting';
import {
  challengedLeaves,
  DEFAULT_REPLICA_SAMPLES,
  keepsOutput,
  OutputPolicy,
  PolicyKind,
  policiesFor,
  policyOf,
  type VerificationPolicy,
} from '../../src/host/verifiers/policy';
import { VERIFIERS, verifierFor, type VerifierRegistry } from '../../src/host/verifiers/registry';
import { SpotCheck } from '../../src/host/verifiers/verifier';
import { DEFAULT_FORM, specFromForm, verifyChoices } from '../../src/dashboard/job-form-model';
import { createCpuSha256 } from '../../src/hash/sha256-cpu';
import { seededRandom } from '../../src/work/seeded';
import { Kernel } from '../../src/protocol';

const hashing = { id: 'h', kernel: 'sha256-batch', units: 4, messagesPerUnit: 64, messageLength: 32, seed: 1 } as const;
const modp = { id: 'm', kernel: 'matmul-modp', units: 4, m: 16, n: 16, k: 16, p: 65521, seed: 1 } as const;
const f32 = { id: 'f', kernel: 'matmul-f32', units: 4, m: 16, n: 16, k: 16, seed: 1 } as const;
const pow = { id: 'p', kernel: 'sha256d-pow', units: 4, seed: 1, noncesPerUnit: 4096, shareBits: 6, targetBits: 11 } as const;
const base: Partial<Record<Kernel, JobSpec>> = { [Kernel.Sha256Batch]: hashing, [Kernel.MatmulModp]: modp, [Kernel.MatmulF32]: f32, [Kernel.Sha256dPow]: pow };

/** A kernel's job without policy fields: the one above, or the job form's defaults (so a new kernel needs no line here). */
function baseOf(kernel: Kernel): JobSpec {
  const listed = base[kernel];
  if (listed) return listed;
  const parsed = specFromForm({ ...DEFAULT_FORM, kernel, collect: false });
  if (!parsed.spec) throw new Error(`the form's defaults make no ${kernel} job`);
  const { samples: _, ...spec } = parsed.spec as JobSpec & { samples?: number };
  return spec as JobSpec;
}

/** The policy of a job file the host accepts (parseJob first, as the host does). */
const policy = (spec: JobSpec) => policyOf(parseJob(spec));
const discard = { output: OutputPolicy.Discard, trust: undefined };

describe('policyOf: the job file read as one policy', () => {
  it('reads every documented combination of samples, verify, replicate and collect', () => {
    const cases: [JobSpec, VerificationPolicy][] = [
      [
        { ...hashing, samples: 16 },
        { kind: PolicyKind.Challenge, samples: 16, ...discard },
      ],
      [
        { ...hashing, samples: 16, collect: true },
        { kind: PolicyKind.Challenge, samples: 16, output: OutputPolicy.Keep, trust: undefined },
      ],
      [
        { ...hashing, samples: 16, collect: false },
        { kind: PolicyKind.Challenge, samples: 16, ...discard },
      ],
      [
        { ...hashing, replicate: true },
        { kind: PolicyKind.Replicate, samples: DEFAULT_REPLICA_SAMPLES, ...discard },
      ],
      [
        { ...hashing, replicate: true, samples: 64 },
        { kind: PolicyKind.Replicate, samples: 64, ...discard },
      ],
      [
        { ...hashing, replicate: true, collect: true },
        { kind: PolicyKind.Replicate, samples: 8, output: OutputPolicy.Keep, trust: undefined },
      ],
      [
        { ...modp, samples: 8 },
        { kind: PolicyKind.Challenge, samples: 8, ...discard },
      ],
      [
        { ...modp, samples: 8, verify: { policy: 'challenge' } },
        { kind: PolicyKind.Challenge, samples: 8, ...discard },
      ],
      [
        { ...modp, verify: { policy: 'freivalds' } },
        { kind: PolicyKind.Freivalds, rounds: DEFAULT_FREIVALDS_ROUNDS, ...discard },
      ],
      [
        { ...modp, verify: { policy: 'freivalds', rounds: 5 }, collect: true },
        { kind: PolicyKind.Freivalds, rounds: 5, output: OutputPolicy.Keep, trust: undefined },
      ],
      [
        { ...modp, replicate: true, samples: 4 },
        { kind: PolicyKind.Replicate, samples: 4, ...discard },
      ],
      [
        { ...f32, samples: 8, collect: true },
        { kind: PolicyKind.Challenge, samples: 8, output: OutputPolicy.Keep, trust: undefined },
      ],
      [
        { ...f32, verify: { policy: 'freivalds', rounds: 3 } },
        { kind: PolicyKind.Freivalds, rounds: 3, ...discard },
      ],
      [pow, { kind: PolicyKind.RecheckAll, ...discard }],
    ];
    for (const [spec, expected] of cases) expect(policy(spec), JSON.stringify(spec)).toEqual(expected);
  });

  it('carries adaptive trust beside any kind, its missing fields filled from the defaults', () => {
    expect(policy({ ...hashing, samples: 4, trust: {} })).toEqual({
      kind: PolicyKind.Challenge,
      samples: 4,
      output: OutputPolicy.Discard,
      trust: DEFAULT_TRUST_POLICY,
    });
    expect(policy({ ...modp, verify: { policy: 'freivalds' }, trust: { warmup: 2, banAfter: 1 } }).trust).toEqual({
      ...DEFAULT_TRUST_POLICY,
      warmup: 2,
      banAfter: 1,
    });
    expect(policy({ ...hashing, replicate: true, trust: { decay: 0.5 } }).trust).toEqual({ ...DEFAULT_TRUST_POLICY, decay: 0.5 });
    // Proof of work is never spared a check, but trust still counts its invalid results toward a ban.
    expect(policy({ ...pow, trust: { banAfter: 2 } })).toEqual({
      kind: PolicyKind.RecheckAll,
      output: OutputPolicy.Discard,
      trust: { ...DEFAULT_TRUST_POLICY, banAfter: 2 },
    });
  });

  it('still refuses, at parseJob, the combinations that are no policy', () => {
    const refused: [unknown, RegExp][] = [
      [{ ...hashing }, /samples must be an integer/],
      [{ ...hashing, samples: 0 }, /samples must be an integer in 1\.\.64/],
      [{ ...hashing, replicate: false, samples: 4 }, /replicate must be true when given/],
      [{ ...modp, replicate: true, verify: { policy: 'freivalds' } }, /replicate replaces verify/],
      [{ ...modp, replicate: true, samples: 4, verify: { policy: 'challenge' } }, /replicate replaces verify/],
      [{ ...f32, replicate: true, samples: 4 }, /replicate needs bit-exact results/],
      [{ ...modp, samples: 4, verify: { policy: 'freivalds' } }, /samples does not apply to verify.policy "freivalds"/],
      [{ ...modp, samples: 4, verify: { policy: 'challenge', rounds: 2 } }, /verify.rounds is for the freivalds policy/],
      [{ ...modp, verify: { policy: 'freivalds', rounds: 0 } }, /rounds/],
      [{ ...modp, samples: 4, verify: { policy: 'guess' } }, /verify.policy must be "challenge" or "freivalds"/],
      [{ ...hashing, samples: 4, verify: { policy: 'freivalds' } }, /unknown field 'verify'/],
      [{ ...hashing, samples: 4, collect: 'yes' }, /collect must be true or false/],
      [{ ...pow, samples: 4 }, /samples does not apply to sha256d-pow/],
      [{ ...pow, replicate: true }, /replicate does not apply to sha256d-pow/],
      [{ ...pow, collect: true }, /collect does not apply to sha256d-pow/],
      [{ ...modp, n: 1024, samples: 64 }, /samples × row size is too large/],
      [{ ...modp, n: 1024, replicate: true, samples: 64 }, /samples × row size is too large/],
    ];
    for (const [spec, pattern] of refused) expect(() => parseJob(spec), JSON.stringify(spec)).toThrow(pattern);
    // Freivalds asks for no openings, so a wide C is fine.
    expect(() => parseJob({ ...modp, n: 1024, verify: { policy: 'freivalds' } })).not.toThrow();
  });

  it('knows how many leaves a result is challenged on, and whether the output is kept', () => {
    expect(challengedLeaves(policy({ ...hashing, samples: 12 }))).toBe(12);
    expect(challengedLeaves(policy({ ...hashing, replicate: true }))).toBe(DEFAULT_REPLICA_SAMPLES);
    expect(challengedLeaves(policy({ ...modp, verify: { policy: 'freivalds' } }))).toBe(0);
    expect(challengedLeaves(policy(pow))).toBe(0);
    expect(keepsOutput(policy({ ...hashing, samples: 4, collect: true }))).toBe(true);
    expect(keepsOutput(policy({ ...hashing, samples: 4 }))).toBe(false);
    expect(keepsOutput(policy(pow))).toBe(false);
  });
});

describe('policiesFor: the policies a kernel allows', () => {
  /** A job of `kernel` asking for policy `kind` the way a job file does. */
  const asking = (kernel: Kernel, kind: PolicyKind): JobSpec => {
    const spec = baseOf(kernel);
    switch (kind) {
      case PolicyKind.Challenge:
        return { ...spec, samples: 4 } as JobSpec;
      case PolicyKind.Freivalds:
        return { ...spec, verify: { policy: 'freivalds' } } as JobSpec;
      case PolicyKind.Replicate:
        return { ...spec, replicate: true } as JobSpec;
      case PolicyKind.RecheckAll:
        return spec;
    }
  };

  it('lists per kernel exactly what parseJob accepts, each read back as that kind', () => {
    expect(policiesFor(Kernel.Sha256Batch)).toEqual([PolicyKind.Challenge, PolicyKind.Replicate]);
    expect(policiesFor(Kernel.MatmulModp)).toEqual([PolicyKind.Challenge, PolicyKind.Freivalds, PolicyKind.Replicate]);
    expect(policiesFor(Kernel.MatmulF32)).toEqual([PolicyKind.Challenge, PolicyKind.Freivalds]);
    expect(policiesFor(Kernel.Sha256dPow)).toEqual([PolicyKind.RecheckAll]);
    for (const kernel of Object.values(Kernel)) {
      for (const kind of Object.values(PolicyKind)) {
        const spec = asking(kernel, kind);
        let accepted: JobSpec | undefined;
        try {
          accepted = parseJob(spec);
        } catch {
          accepted = undefined;
        }
        // A kind the kernel does not allow is either refused or read as the kernel's own (proof of work has no policy fields).
        if (policiesFor(kernel).includes(kind)) expect(accepted && policyOf(accepted).kind, `${kernel} ${kind}`).toBe(kind);
        else expect(accepted === undefined || policyOf(accepted).kind !== kind, `${kernel} ${kind}`).toBe(true);
      }
    }
  });

  it("gives the job form's choices (every policy a researcher picks; proof of work has none to pick)", () => {
    for (const kernel of Object.values(Kernel)) expect(policiesFor(kernel).filter((p) => p !== PolicyKind.RecheckAll)).toEqual(verifyChoices(kernel));
  });
});

describe('the verifier registry', () => {
  it('has one verifier per policy kind; a kind added to the union does not compile until it has one', async () => {
    expect(Object.keys(VERIFIERS).sort()).toEqual(Object.values(PolicyKind).sort());
    // A union with one kind more than the registry knows: the registry no longer satisfies it,
    // which is what `satisfies VerifierRegistry` in registry.ts does for a kind added to VerificationPolicy.
    type WithOneMore = VerificationPolicy | { readonly kind: 'quorum-of-three'; readonly output: OutputPolicy; readonly trust: undefined };
    // @ts-expect-error -- 'quorum-of-three' has no verifier.
    const incomplete: VerifierRegistry<WithOneMore> = VERIFIERS;
    expect(incomplete).toBe(VERIFIERS);
    const tools = { hash: await createCpuSha256(), random: seededRandom(1) };
    // Trust spares any policy's check but proof of work's, and only proof of work reads shares.
    for (const spec of [{ ...hashing, samples: 4 }, { ...hashing, replicate: true }, { ...modp, verify: { policy: 'freivalds' } }, pow] as JobSpec[]) {
      const verifier = verifierFor(policy(spec), tools);
      const recheck = spec.kernel === Kernel.Sha256dPow;
      expect(verifier.spotCheck).toBe(recheck ? SpotCheck.Always : SpotCheck.WhenDrawn);
      expect(verifier.shares).toBe(recheck);
    }
  });
});

describe('legacyAwaiting: what a unit stored before `awaiting` awaits', () => {
  it('reads it from the challenge, the holder and `collecting`', () => {
    const u = { state: 'verifying', holder: 'k', challenge: null };
    expect(legacyAwaiting({ ...u, challenge: [1, 2] })).toBe('openings');
    expect(legacyAwaiting({ ...u, holder: null })).toBe('recompute');
    expect(legacyAwaiting(u)).toBe('rows-to-check');
    expect(legacyAwaiting({ ...u, collecting: null })).toBe('rows-to-check');
    expect(legacyAwaiting({ ...u, collecting: 'verified' })).toBe('rows-to-keep');
    expect(legacyAwaiting({ ...u, collecting: 'trusted' })).toBe('rows-trusted');
    for (const state of ['queued', 'leased', 'accepted']) expect(legacyAwaiting({ ...u, state, challenge: [1] })).toBeUndefined();
  });
});
