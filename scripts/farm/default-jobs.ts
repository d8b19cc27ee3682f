import type { JobSpec } from '../../src/host/job';

/** Two invalid results ban a key from a job; every result is verified during the warm-up. */
const trust = { banAfter: 2 };

/**
 * The farm's default work: every kernel, small units (seconds each on SwiftShader), and checks
 * that cannot miss the cheaters' lies: every digest opened (samples = messages per unit), every
 * row of C through Freivalds' check, 256 shares expected per pow unit (half a range is caught).
 * The matrix jobs collect their output (the Freivalds upload is kept), so the farm rechecks f32
 * element by element within the f32 error bound, its bits differing by device.
 */
export function defaultJobs(seed: number): JobSpec[] {
  return [
    { id: 'farm-sha256', kernel: 'sha256-batch', units: 24, messagesPerUnit: 64, messageLength: 256, seed: seed + 1, samples: 64, trust, priority: 2 },
    // Replicated: two keys agree per unit, and every replica from a key without a record is challenged on every leaf (so a colluding pair's lie cannot slip through).
    {
      id: 'farm-sha256-rep',
      kernel: 'sha256-batch',
      units: 8,
      messagesPerUnit: 64,
      messageLength: 256,
      seed: seed + 6,
      replicate: true,
      samples: 64,
      trust,
      priority: -1,
    },
    {
      id: 'farm-modp',
      kernel: 'matmul-modp',
      units: 12,
      m: 48,
      n: 48,
      k: 64,
      p: 65521,
      seed: seed + 2,
      verify: { policy: 'freivalds' },
      collect: true,
      trust,
      priority: 3,
    },
    { id: 'farm-pow', kernel: 'sha256d-pow', units: 12, seed: seed + 3, noncesPerUnit: 1 << 16, shareBits: 8, targetBits: 12, trust, priority: 1 },
    // Units of a second or more, so a tab reloaded mid-unit has a checkpoint to resume from.
    { id: 'farm-pow-long', kernel: 'sha256d-pow', units: 6, seed: seed + 5, noncesPerUnit: 1 << 21, shareBits: 13, targetBits: 20, trust },
    { id: 'farm-i8', kernel: 'matmul-i8', units: 8, m: 48, n: 48, k: 64, seed: seed + 7, verify: { policy: 'freivalds' }, collect: true, trust },
    { id: 'farm-f32', kernel: 'matmul-f32', units: 8, m: 48, n: 48, k: 64, seed: seed + 4, verify: { policy: 'freivalds' }, collect: true, trust },
  ];
}
