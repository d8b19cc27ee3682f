/**
 * What every VolunteerStore must do, as vitest tests: the memory store (Node) and the
 * IndexedDB store (browser) are held to one contract. `open` gives a new empty store; `reopen`
 * closes the store it is given and opens the same storage again (omit it for memory).
 */
import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { Backend, Kernel, type MatmulUnit, type Receipt, type WorkUnit } from '../../src/protocol';
import { CHUNK_BYTES } from '../../src/volunteer/store/schema';
import { StoredTuneCache } from '../../src/gpu/tune-cache';
import { HeldState, type HeldUnit, type VolunteerStore } from '../../src/volunteer/store/volunteer-store';
import { seededRandom } from '../../src/work/seeded';

export const shaUnit = (unitId: string, seed = 1): WorkUnit => ({ kernel: Kernel.Sha256Batch, jobId: 'j', unitId, seed, count: 64, messageLength: 32 });
export const matmulUnit = (unitId: string): MatmulUnit => ({ kernel: Kernel.MatmulModp, jobId: 'm', unitId, seed: 9, m: 64, n: 32, k: 16, p: 65521 });
export const receipt = (receiptId: string, unitId = 'j/0'): Receipt => ({
  receiptId,
  jobId: 'j',
  unitId,
  volunteer: 'v',
  credit: 1.5,
  root: 'ab'.repeat(32),
  issuedAt: 1_767_225_600_000,
});

/** `n` reproducible pseudo-random bytes. */
export function randomBytes(seed: number, n: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * Compares bytes with a plain loop: vitest's deep equality walks a typed array element by
 * element through its generic machinery and takes seconds per MiB.
 */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array, what = 'data'): void {
  expect(actual, what).toBeInstanceOf(Uint8Array);
  expect(actual!.length, `${what} length`).toBe(expected.length);
  let diff = -1;
  for (let i = 0; i < expected.length && diff < 0; i++) if (actual![i] !== expected[i]) diff = i;
  expect(diff, `${what}: first differing byte`).toBe(-1);
}

/** Held units without their data, for deep equality, and the data apart. */
export function split(held: readonly HeldUnit[]): { meta: Omit<HeldUnit, 'data'>[]; data: Uint8Array[] } {
  return { meta: held.map(({ data: _data, ...rest }) => rest), data: held.map((h) => h.data) };
}

/** The rejection of `promise`, which must be a TabgridError with `code`. */
export async function rejection(promise: Promise<unknown>, code: 'storage' | 'storage-full' = 'storage'): Promise<Error> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isTabgridError(err, code), String(err)).toBe(true);
  return err as Error;
}

/** Checkpoints `data` into the unit in pieces of the given sizes, each at the right offset. */
export async function checkpointInPieces(
  store: VolunteerStore,
  hostId: string,
  unitId: string,
  data: Uint8Array,
  sizes: readonly number[],
  at = 0,
): Promise<number> {
  for (const size of sizes) {
    const append = data.subarray(at, at + size);
    await store.checkpoint(hostId, unitId, { done: at + append.length, atBytes: at, append });
    at += append.length;
  }
  return at;
}

export function describeVolunteerStore(name: string, open: () => Promise<VolunteerStore>, reopen?: (store: VolunteerStore) => Promise<VolunteerStore>): void {
  /** Runs `f` on a fresh store and closes whichever store it ends with. */
  const withStore = (f: (store: VolunteerStore) => Promise<VolunteerStore | void>) => async () => {
    let store = await open();
    try {
      store = (await f(store)) ?? store;
    } finally {
      store.close();
    }
  };

  describe(`VolunteerStore conformance: ${name}`, () => {
    it(
      'keeps the donor profile, replaced whole (an empty one clears it), as a copy',
      withStore(async (store) => {
        expect(await store.getProfile()).toBeUndefined();
        const profile = { name: 'Ada 北京', team: 'Lab A' };
        await store.putProfile(profile);
        (profile as { name: string }).name = 'changed after';
        expect(await store.getProfile()).toEqual({ name: 'Ada 北京', team: 'Lab A' });
        await store.putProfile({ team: 'Lab B' });
        expect(await store.getProfile()).toEqual({ team: 'Lab B' });
        await store.putProfile({});
        expect(await store.getProfile()).toEqual({});
        if (!reopen) return;
        await store.putProfile({ name: 'Bob' });
        const again = await reopen(store);
        expect(await again.getProfile()).toEqual({ name: 'Bob' });
        return again;
      }),
    );

    it(
      'holds units per host in the order held; holding again changes nothing',
      withStore(async (store) => {
        expect(await store.held('A')).toEqual([]);
        await store.hold('A', shaUnit('j/2'));
        await store.hold('A', matmulUnit('m/0'));
        await store.hold('A', shaUnit('j/10'));
        await store.hold('B', shaUnit('j/2'));
        await store.checkpoint('A', 'm/0', { done: 1, atBytes: 0, append: new Uint8Array([7]) });
        const before = await store.held('A');
        // Again, with a different payload and after progress: still the first record, in place.
        await store.hold('A', { ...matmulUnit('m/0'), seed: 99 });
        await store.hold('A', shaUnit('j/2', 5));
        expect(await store.held('A')).toEqual(before);
        expect(before.map((h) => h.unit.unitId)).toEqual(['j/2', 'm/0', 'j/10']);
        expect(before[0]).toEqual({
          hostId: 'A',
          unit: shaUnit('j/2'),
          state: HeldState.Queued,
          done: 0,
          data: new Uint8Array(0),
          updatedAt: expect.any(Number),
        });
        expect(before[1]).toMatchObject({ unit: matmulUnit('m/0'), state: HeldState.Computing, done: 1, data: new Uint8Array([7]) });
        expect(await store.held('B')).toEqual([
          { hostId: 'B', unit: shaUnit('j/2'), state: HeldState.Queued, done: 0, data: new Uint8Array(0), updatedAt: expect.any(Number) },
        ]);
        expect(await store.held('C')).toEqual([]);
      }),
    );

    it(
      'checkpoints append and set done; a stale atBytes or unknown unit changes nothing',
      withStore(async (store) => {
        await store.hold('A', shaUnit('j/0'));
        await store.checkpoint('A', 'j/0', { done: 3, atBytes: 0, append: new Uint8Array([1, 2, 3]) });
        await store.checkpoint('A', 'j/0', { done: 5, atBytes: 3, append: new Uint8Array([4, 5]) });
        await store.checkpoint('A', 'j/0', { done: 6, atBytes: 5, append: new Uint8Array(0) });
        const before = await store.held('A');
        expect(before).toMatchObject([{ state: HeldState.Computing, done: 6, data: new Uint8Array([1, 2, 3, 4, 5]) }]);
        // A replayed write, a lost write, and writes for units not held.
        expect((await rejection(store.checkpoint('A', 'j/0', { done: 7, atBytes: 3, append: new Uint8Array([9]) }))).message).toMatch(/atBytes|byte 3/);
        await rejection(store.checkpoint('A', 'j/0', { done: 7, atBytes: 9, append: new Uint8Array([9]) }));
        await rejection(store.checkpoint('A', 'j/1', { done: 1, atBytes: 0, append: new Uint8Array([9]) }));
        await rejection(store.checkpoint('B', 'j/0', { done: 1, atBytes: 0, append: new Uint8Array([9]) }));
        expect(await store.held('A')).toEqual(before);
        expect(await store.held('B')).toEqual([]);
      }),
    );

    it(
      'stores copies: changing what was passed in or handed out changes nothing stored',
      withStore(async (store) => {
        await store.hold('A', shaUnit('j/0'));
        const append = new Uint8Array([1, 2, 3]);
        await store.checkpoint('A', 'j/0', { done: 3, atBytes: 0, append });
        append[0] = 99;
        const [got] = await store.held('A');
        got!.data[1] = 99;
        expect((await store.held('A'))[0]!.data).toEqual(new Uint8Array([1, 2, 3]));
      }),
    );

    it(
      'round-trips data spanning several 1 MiB chunks byte-exact, units kept apart',
      withStore(async (store) => {
        const a = randomBytes(1, 3 * CHUNK_BYTES + 12_345);
        const b = randomBytes(2, CHUNK_BYTES + 1);
        await store.hold('A', shaUnit('j/1'));
        await store.hold('A', shaUnit('j/10'));
        // Pieces that end short of, exactly at, and across chunk boundaries, interleaved with another unit's.
        let at = await checkpointInPieces(store, 'A', 'j/1', a, [700_000, CHUNK_BYTES - 700_000, 1, CHUNK_BYTES + 5]);
        await checkpointInPieces(store, 'A', 'j/10', b, [CHUNK_BYTES + 1]);
        at = await checkpointInPieces(store, 'A', 'j/1', a, [a.length], at);
        expect(at).toBe(a.length);
        const held = await store.held('A');
        expect(held.map((h) => h.data.length)).toEqual([a.length, b.length]);
        expectBytes(held[0]!.data, a);
        expectBytes(held[1]!.data, b);
        expect(held[0]!.done).toBe(a.length);
      }),
    );

    it(
      'finishes over a checkpointed prefix, and the unit is then sent and refuses checkpoints',
      withStore(async (store) => {
        const whole = randomBytes(3, 4 * CHUNK_BYTES + 7);
        await store.hold('A', shaUnit('j/0'));
        await checkpointInPieces(store, 'A', 'j/0', whole, [CHUNK_BYTES * 2 + CHUNK_BYTES / 2]);
        await store.finish('A', 'j/0', { done: 64, data: whole, root: 'cd'.repeat(32), backend: Backend.WebGpu });
        const sent = split(await store.held('A'));
        expect(sent.meta).toEqual([
          { hostId: 'A', unit: shaUnit('j/0'), state: HeldState.Sent, done: 64, root: 'cd'.repeat(32), backend: Backend.WebGpu, updatedAt: expect.any(Number) },
        ]);
        expectBytes(sent.data[0], whole);
        await rejection(store.checkpoint('A', 'j/0', { done: 65, atBytes: whole.length, append: new Uint8Array([1]) }));
        const after = split(await store.held('A'));
        expect(after.meta).toEqual(sent.meta);
        expectBytes(after.data[0], whole);
      }),
    );

    it(
      'finishes by replacing stored data that is not a prefix, longer or shorter',
      withStore(async (store) => {
        await store.hold('A', shaUnit('j/0'));
        await checkpointInPieces(store, 'A', 'j/0', randomBytes(4, 3 * CHUNK_BYTES), [3 * CHUNK_BYTES]);
        const shorter = randomBytes(5, CHUNK_BYTES + CHUNK_BYTES / 4);
        await store.finish('A', 'j/0', { done: 1, data: shorter, root: '01', backend: Backend.Cpu });
        let [held] = await store.held('A');
        expect(held).toMatchObject({ state: HeldState.Sent, root: '01', backend: Backend.Cpu });
        expectBytes(held!.data, shorter);
        // Same first chunk, then different bytes, and longer.
        const longer = new Uint8Array(2 * CHUNK_BYTES + 3);
        longer.set(shorter.subarray(0, CHUNK_BYTES));
        await store.finish('A', 'j/0', { done: 2, data: longer, root: '02', backend: Backend.WebGpu });
        [held] = await store.held('A');
        expect(held).toMatchObject({ done: 2, root: '02', backend: Backend.WebGpu });
        expectBytes(held!.data, longer);
        await store.finish('A', 'j/0', { done: 0, data: new Uint8Array(0), root: '03', backend: Backend.Cpu });
        expect((await store.held('A'))[0]).toMatchObject({ done: 0, data: new Uint8Array(0), root: '03' });
        await rejection(store.finish('A', 'j/9', { done: 0, data: new Uint8Array(1), root: '04', backend: Backend.Cpu }));
        expect(await store.held('A')).toHaveLength(1);
      }),
    );

    it(
      'forgets a unit and its data; forgetting an unknown unit does nothing',
      withStore(async (store) => {
        await store.hold('A', shaUnit('j/0'));
        await store.hold('A', shaUnit('j/1'));
        await checkpointInPieces(store, 'A', 'j/0', randomBytes(6, CHUNK_BYTES + 9), [CHUNK_BYTES + 9]);
        await store.forget('A', 'j/0');
        await store.forget('A', 'j/7');
        await store.forget('Z', 'j/1');
        expect((await store.held('A')).map((h) => h.unit.unitId)).toEqual(['j/1']);
        // Held again, it starts afresh, last in order, with no old bytes behind it.
        await store.hold('A', shaUnit('j/0'));
        expect((await store.held('A')).map((h) => [h.unit.unitId, h.state, h.data.length])).toEqual([
          ['j/1', 'queued', 0],
          ['j/0', 'queued', 0],
        ]);
        await store.checkpoint('A', 'j/0', { done: 1, atBytes: 0, append: new Uint8Array([5]) });
        expect((await store.held('A'))[1]!.data).toEqual(new Uint8Array([5]));
      }),
    );

    it(
      'settles: stores the receipt once and drops the unit',
      withStore(async (store) => {
        await store.hold('A', shaUnit('j/0'));
        await store.hold('A', shaUnit('j/1'));
        await store.finish('A', 'j/0', { done: 64, data: randomBytes(7, 2048), root: 'ef'.repeat(32), backend: Backend.Cpu });
        await store.settle('A', 'j/0', receipt('r0', 'j/0'));
        expect((await store.held('A')).map((h) => h.unit.unitId)).toEqual(['j/1']);
        expect(await store.receipts('A')).toEqual([receipt('r0', 'j/0')]);
        // Rejected: no receipt. A receipt delivered twice is kept once; one for a unit no longer held is kept.
        await store.settle('A', 'j/1');
        await store.settle('A', 'j/0', receipt('r0', 'j/0'));
        await store.settle('A', 'j/5', receipt('r5', 'j/5'));
        expect(await store.held('A')).toEqual([]);
        expect(await store.receipts('A')).toEqual([receipt('r0', 'j/0'), receipt('r5', 'j/5')]);
      }),
    );

    it(
      'lists receipts oldest first, per host or all',
      withStore(async (store) => {
        expect(await store.receipts()).toEqual([]);
        await store.settle('A', 'j/0', receipt('r-c', 'j/0'));
        await store.settle('B', 'j/1', receipt('r-a', 'j/1'));
        await store.settle('A', 'j/2', receipt('r-b', 'j/2'));
        expect(await store.receipts()).toEqual([receipt('r-c', 'j/0'), receipt('r-a', 'j/1'), receipt('r-b', 'j/2')]);
        expect(await store.receipts('A')).toEqual([receipt('r-c', 'j/0'), receipt('r-b', 'j/2')]);
        expect(await store.receipts('B')).toEqual([receipt('r-a', 'j/1')]);
        expect(await store.receipts('C')).toEqual([]);
      }),
    );

    it(
      'keeps settings by key, as copies',
      withStore(async (store) => {
        expect(await store.getSetting('missing')).toBeUndefined();
        const value = { paused: true, limits: [1, 2], bytes: new Uint8Array([3]) };
        await store.setSetting('prefs', value);
        value.limits.push(3);
        expect(await store.getSetting('prefs')).toEqual({ paused: true, limits: [1, 2], bytes: new Uint8Array([3]) });
        await store.setSetting('prefs', 'replaced');
        await store.setSetting('count', 0);
        expect(await store.getSetting<string>('prefs')).toBe('replaced');
        expect(await store.getSetting<number>('count')).toBe(0);
      }),
    );

    it(
      'keeps a non-extractable ECDSA key pair that still signs and verifies',
      withStore(async (store) => {
        expect(await store.getKeyPair()).toBeUndefined();
        const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
        await store.putKeyPair(pair);
        const got = (await store.getKeyPair())!;
        expect(got.privateKey.extractable).toBe(false);
        const message = new TextEncoder().encode('receipt');
        const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
        const signature = await crypto.subtle.sign(ecdsa, got.privateKey, message);
        expect(await crypto.subtle.verify(ecdsa, pair.publicKey, signature, message)).toBe(true);
        expect(await crypto.subtle.verify(ecdsa, got.publicKey, await crypto.subtle.sign(ecdsa, pair.privateKey, message), message)).toBe(true);
      }),
    );

    it(
      'keeps autotune results, also through StoredTuneCache',
      withStore(async (store) => {
        expect(await store.getTune('matmul-f32@gpu')).toBeUndefined();
        await store.setTune('matmul-f32@gpu', { wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true });
        expect(await store.getTune('matmul-f32@gpu')).toEqual({ wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true });
        const cache = new StoredTuneCache(store);
        expect(await cache.get('matmul-f32@gpu')).toEqual({ wgX: 8, wgY: 8, tm: 4, tn: 4, tileK: 16, vec4: true });
        await cache.set('matmul-modp@gpu', { wgX: 16, wgY: 16, tm: 2, tn: 2, tileK: 16 });
        expect(await store.getTune('matmul-modp@gpu')).toEqual({ wgX: 16, wgY: 16, tm: 2, tn: 2, tileK: 16 });
        // A store that fails is a cache miss, not an error that stops the kernel.
        store.close();
        expect(await cache.get('matmul-f32@gpu')).toBeUndefined();
        await cache.set('x', { wgX: 8, wgY: 8, tm: 1, tn: 1, tileK: 8 });
      }),
    );

    it(
      'refuses every call after close, and closes twice without error',
      withStore(async (store) => {
        store.close();
        store.close();
        await rejection(store.held('A'));
        await rejection(store.hold('A', shaUnit('j/0')));
        await rejection(store.receipts());
        await rejection(store.setSetting('k', 1));
      }),
    );

    it.runIf(reopen)(
      'keeps everything after close and reopen',
      withStore(async (store) => {
        const data = randomBytes(8, CHUNK_BYTES + 100);
        const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
        await store.hold('A', shaUnit('j/0'));
        await store.hold('A', shaUnit('j/1'));
        await store.hold('A', shaUnit('j/2'));
        await checkpointInPieces(store, 'A', 'j/1', data, [CHUNK_BYTES + 100]);
        await store.finish('A', 'j/2', { done: 64, data: data.subarray(0, 2048), root: 'aa', backend: Backend.WebGpu });
        await store.settle('B', 'k/0', receipt('r', 'k/0'));
        await store.setSetting('s', { x: 1 });
        await store.putKeyPair(pair);
        await store.setTune('t', { wgX: 8, wgY: 8, tm: 2, tn: 2, tileK: 32 });
        const held = split(await store.held('A'));
        const again = await reopen!(store);
        const reread = split(await again.held('A'));
        expect(reread.meta).toEqual(held.meta);
        held.data.forEach((d, i) => expectBytes(reread.data[i], d, `unit ${i}`));
        expect(await again.receipts()).toEqual([receipt('r', 'k/0')]);
        expect(await again.getSetting('s')).toEqual({ x: 1 });
        expect(await again.getTune('t')).toEqual({ wgX: 8, wgY: 8, tm: 2, tn: 2, tileK: 32 });
        const message = new TextEncoder().encode('m');
        const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
        const signature = await crypto.subtle.sign(ecdsa, (await again.getKeyPair())!.privateKey, message);
        expect(await crypto.subtle.verify(ecdsa, pair.publicKey, signature, message)).toBe(true);
        // And the checkpoint chain continues where it was.
        await again.checkpoint('A', 'j/1', { done: 1, atBytes: data.length, append: new Uint8Array([1]) });
        return again;
      }),
    );
  });
}
