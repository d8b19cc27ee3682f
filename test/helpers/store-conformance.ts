/**
 * What every durable HostStore must do, as vitest tests. Each test file calls describeHostStore
 * with a way to open a fresh, empty store (and, for stores that outlive their object, a way to
 * close one and open the same storage again), so SQLite and IndexedDB are held to one contract.
 */
import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import type { JobSpec } from '../../src/host/job';
import { identityOf, verifySignature } from '../../src/proof/identity';
import type { HostStore, StoredJob, StoredReceipt, StoredTrust, StoredUnit, StoredVolunteer } from '../../src/host/store/store';

const spec = (id: string): JobSpec => ({ id, kernel: 'sha256-batch', units: 4, messagesPerUnit: 16, messageLength: 64, seed: 7, samples: 8 });

export const job = (id: string, createdAt: number, priority = 0): StoredJob => ({ id, spec: spec(id), priority, createdAt });

export const unit = (jobId: string, index: number, over: Partial<StoredUnit> = {}): StoredUnit => ({
  jobId,
  unitId: `${jobId}/${index}`,
  index,
  state: 'queued',
  holder: null,
  leaseDeadline: null,
  progress: 0,
  root: null,
  challenge: null,
  rejectedBy: [],
  acceptedAt: null,
  solutions: null,
  ...over,
});

/** `n` bytes of a pattern that differs by `seed` and does not repeat every 256 bytes. */
const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + (i >> 8) * 7 + seed) & 0xff);

/** Byte equality without printing megabytes on failure (and without Node's Buffer, for the browser). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const volunteer = (id: string, credit = 0): StoredVolunteer => ({ id, credit, accepted: 0, rejected: 0 });

export const receipt = (receiptId: string, issuedAt: number): StoredReceipt => ({
  receiptId,
  jobId: 'j',
  unitId: 'j/0',
  volunteer: 'v',
  credit: 12.5,
  root: 'ab'.repeat(32),
  issuedAt,
});

/**
 * Registers the conformance tests. `open` gives a new empty store; `reopen` closes the store it
 * is given and opens the same storage again (omit it for stores that cannot be reopened).
 */
export function describeHostStore(name: string, open: () => Promise<HostStore>, reopen?: (store: HostStore) => Promise<HostStore>): void {
  /** Runs `f` on a fresh store and closes whichever store it ends with. */
  const withStore = (f: (store: HostStore) => Promise<HostStore | void>) => async () => {
    let store = await open();
    try {
      store = (await f(store)) ?? store;
    } finally {
      await store.close();
    }
  };

  describe(`HostStore conformance: ${name}`, () => {
    it(
      'loads empty when new, and an empty batch changes nothing',
      withStore(async (store) => {
        const empty = { jobs: [], units: [], volunteers: [], receipts: [], trust: [], teams: [] };
        expect(await store.load()).toEqual(empty);
        await store.commit({});
        await store.commit({ jobs: [], units: [] });
        expect(await store.load()).toEqual(empty);
      }),
    );

    it(
      'loads what was committed, in the stable order',
      withStore(async (store) => {
        // Committed out of order, with ties on the first sort key and indices that sort
        // differently as text ('10' < '2') than as numbers.
        await store.commit({
          jobs: [job('b', 2000), job('c', 1000), job('a', 2000, 5)],
          units: [unit('b', 10), unit('a', 2), unit('b', 2), unit('a', 0)],
          volunteers: [volunteer('b'), volunteer('a'), volunteer('B')],
          receipts: [receipt('r2', 50), receipt('r3', 40), receipt('r1', 50)],
        });
        const got = await store.load();
        expect(got.jobs).toEqual([job('c', 1000), job('a', 2000, 5), job('b', 2000)]);
        expect(got.units).toEqual([unit('a', 0), unit('a', 2), unit('b', 2), unit('b', 10)]);
        expect(got.volunteers).toEqual([volunteer('B'), volunteer('a'), volunteer('b')]);
        expect(got.receipts).toEqual([receipt('r3', 40), receipt('r1', 50), receipt('r2', 50)]);
      }),
    );

    it(
      'keeps donors’ names, teams, last seen and recent credit, and team totals; a record without them replaces one with them',
      withStore(async (store) => {
        const named = {
          ...volunteer('v', 40),
          accepted: 2,
          name: 'Ada 北京 🚀',
          team: 'Lab A',
          profileAt: 1_767_225_600_001,
          lastSeen: 1_767_225_600_123,
          rac: 12.375,
          racAt: 1_767_225_600_123,
        };
        const teams = [
          { key: 'lab b', name: 'Lab B', credit: 0.5, accepted: 1, rac: 0.25, racAt: 3, lastSeen: 3 },
          { key: 'lab a', name: 'Lab A', credit: 40, accepted: 2, rac: 12.375, racAt: 1_767_225_600_123, lastSeen: 1_767_225_600_123 },
        ];
        await store.commit({ volunteers: [named, volunteer('w')], teams });
        const got = await store.load();
        expect(got.volunteers).toEqual([named, volunteer('w')]);
        expect(got.teams).toEqual([teams[1], teams[0]]);
        await store.commit({ volunteers: [volunteer('v', 40)], teams: [{ ...teams[0]!, credit: 2 }] });
        const after = await store.load();
        expect(after.volunteers[0]).toEqual(volunteer('v', 40));
        expect(after.teams.map((t) => t.credit)).toEqual([40, 2]);
        await expect(store.commit({ teams: [{ ...teams[0]!, key: undefined as unknown as string }] })).rejects.toThrow();
      }),
    );

    it(
      'round-trips arrays, nulls, fractions and large numbers',
      withStore(async (store) => {
        const leased = unit('j', 0, {
          state: 'verifying',
          holder: 'v1',
          leaseDeadline: 1_767_225_600_123,
          progress: 37,
          root: 'cd'.repeat(32),
          challenge: [0, 5, 4095],
          rejectedBy: ['x', 'y'],
          hold: { key: 'v1', since: 1_767_225_000_001 },
        });
        const accepted = unit('j', 1, {
          state: 'accepted',
          holder: 'v2',
          root: 'ef'.repeat(32),
          challenge: [],
          acceptedAt: 1_767_225_600_999,
          backend: 'webgpu',
          adapter: 'NVIDIA H200 (vulkan) “quoted” ✓',
        });
        const solved = unit('j', 2, {
          state: 'accepted',
          holder: 'v2',
          root: '01'.repeat(32),
          acceptedAt: 5,
          solutions: [0, 7, 4_294_967_295],
          shares: [0, 3, 7, 4_294_967_295],
        });
        const replicated = unit('j', 3, {
          votes: [
            { key: 'k1', root: 'aa'.repeat(32) },
            { key: 'k2', root: 'bb'.repeat(32), backend: 'cpu', adapter: '8 CPU threads' },
          ],
          backend: 'cpu',
        });
        const noVotesYet = unit('j', 4, { votes: [], leasedTo: ['k1', 'k3'], hold: { key: 'k3', since: 0 } });
        // What a verifying unit awaits, each kind: a restarted host must know what it waits for and why.
        const awaiting = (['openings', 'rows-to-check', 'rows-to-keep', 'rows-trusted', 'recompute'] as const).map((a, i) =>
          unit('w', i, {
            state: 'verifying',
            holder: a === 'recompute' ? null : 'v1',
            root: 'ab'.repeat(32),
            challenge: a === 'openings' ? [2, 9] : null,
            awaiting: a,
          }),
        );
        await store.commit({
          units: [leased, accepted, solved, replicated, noVotesYet, ...awaiting],
          volunteers: [{ id: 'v1', credit: 0.1 + 0.2, accepted: 3, rejected: 1 }],
        });
        const got = await store.load();
        expect(got.units).toEqual([leased, accepted, solved, replicated, noVotesYet, ...awaiting]);
        expect(got.volunteers).toEqual([{ id: 'v1', credit: 0.1 + 0.2, accepted: 3, rejected: 1 }]);
      }),
    );

    it(
      'upserts replace records by key',
      withStore(async (store) => {
        await store.commit({ jobs: [job('j', 1)], units: [unit('j', 0)], volunteers: [volunteer('v')], receipts: [receipt('r', 1)] });
        const leased = unit('j', 0, { state: 'leased', holder: 'v', leaseDeadline: 99, rejectedBy: ['w'], hold: { key: 'v', since: 42 } });
        await store.commit({ jobs: [job('j', 1, 9)], units: [leased], volunteers: [volunteer('v', 42)], receipts: [{ ...receipt('r', 1), credit: 3 }] });
        expect(await store.load()).toEqual({
          jobs: [job('j', 1, 9)],
          units: [leased],
          volunteers: [volunteer('v', 42)],
          receipts: [{ ...receipt('r', 1), credit: 3 }],
          trust: [],
          teams: [],
        });
        // A record without an optional field replaces one with it: the field is gone, not kept.
        await store.commit({ units: [unit('j', 0, { rejectedBy: ['w'] })] });
        expect((await store.load()).units).toEqual([unit('j', 0, { rejectedBy: ['w'] })]);
      }),
    );

    it(
      'round-trips signed receipts and trust records, upserting trust by job and key',
      withStore(async (store) => {
        const signed = { ...receipt('r', 1), signature: 'ef'.repeat(64) };
        const t = (jobId: string, key: string, over: Partial<StoredTrust> = {}): StoredTrust => ({
          jobId,
          key,
          streak: 2,
          valid: 3,
          invalid: 1,
          banned: false,
          ...over,
        });
        await store.commit({ receipts: [signed], trust: [t('j', 'k2'), t('j', 'k1'), t('i', 'k2')] });
        await store.commit({ trust: [t('j', 'k1', { streak: 0, invalid: 3, banned: true })] });
        const got = await store.load();
        expect(got.receipts).toEqual([signed]);
        expect(got.trust).toEqual([t('i', 'k2'), t('j', 'k1', { streak: 0, invalid: 3, banned: true }), t('j', 'k2')]);
      }),
    );

    it(
      'applies a batch that fails midway not at all, and stays usable',
      withStore(async (store) => {
        const before = {
          jobs: [job('j', 1)],
          units: [unit('j', 0), unit('j', 1)],
          volunteers: [volunteer('v', 1)],
          receipts: [receipt('r', 1)],
          trust: [],
          teams: [],
        };
        await store.commit(before);
        // No key: every store must refuse it (SQLite: NOT NULL; IndexedDB: no key at the key path).
        const keyless = { ...unit('j', 2), unitId: null } as unknown as StoredUnit;
        const bad = {
          jobs: [job('k', 2)],
          units: [unit('j', 0, { state: 'leased', holder: 'v' }), unit('k', 0), keyless, unit('k', 1)],
          volunteers: [volunteer('v', 100)],
          receipts: [receipt('s', 2)],
        };
        const err = await store.commit(bad).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isTabgridError(err, 'storage'), String(err)).toBe(true);
        expect(await store.load()).toEqual(before);
        await store.commit({ units: [unit('k', 0)] });
        expect((await store.load()).units).toEqual([unit('j', 0), unit('j', 1), unit('k', 0)]);
      }),
    );

    it(
      'keeps outputs by unit and root, apart from the snapshot, atomically with the rest of a batch',
      withStore(async (store) => {
        const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
        const a = bytes(4096 * 4, 1);
        const b = bytes(96, 2);
        await store.commit({
          units: [unit('j', 0, { state: 'verifying', holder: 'v', root: 'aa', awaiting: 'rows-to-keep' })],
          outputs: [
            { unitId: 'j/0', root: 'aa', data: a },
            { unitId: 'j/0', root: 'bb', data: b },
          ],
        });
        expect(await store.output('j/0', 'aa')).toEqual(a);
        expect(await store.output('j/0', 'bb')).toEqual(b);
        expect(await store.output('j/0', 'cc')).toBeUndefined();
        expect(await store.output('j/1', 'aa')).toBeUndefined();
        expect((await store.load()).units).toEqual([unit('j', 0, { state: 'verifying', holder: 'v', root: 'aa', awaiting: 'rows-to-keep' })]);
        // A copy: changing what was read changes nothing stored.
        (await store.output('j/0', 'bb'))!.fill(0);
        expect(await store.output('j/0', 'bb')).toEqual(b);
        await store.commit({ units: [unit('j', 0, { state: 'accepted', root: 'aa' })], droppedOutputs: [{ unitId: 'j/0', root: 'bb' }] });
        expect(await store.output('j/0', 'bb')).toBeUndefined();
        expect(await store.output('j/0', 'aa')).toEqual(a);
        // A failing batch keeps none of its outputs either.
        const keyless = { ...unit('j', 2), unitId: null } as unknown as StoredUnit;
        await expect(store.commit({ units: [keyless], outputs: [{ unitId: 'j/2', root: 'dd', data: b }] })).rejects.toThrow();
        expect(await store.output('j/2', 'dd')).toBeUndefined();
      }),
    );

    it(
      'keeps what many commits wrote, and applies overlapping commits in call order',
      withStore(async (store) => {
        for (let i = 0; i < 100; i++) await store.commit({ units: [unit('j', i)], volunteers: [volunteer('v', i)] });
        // Not awaited one by one: the later commit must still win.
        await Promise.all([store.commit({ volunteers: [volunteer('v', 1000)] }), store.commit({ volunteers: [volunteer('v', 2000)] })]);
        const got = await store.load();
        expect(got.units).toEqual(Array.from({ length: 100 }, (_, i) => unit('j', i)));
        expect(got.volunteers).toEqual([volunteer('v', 2000)]);
      }),
    );

    it(
      'commits 5,000 units in one batch',
      withStore(async (store) => {
        const units = Array.from({ length: 5000 }, (_, i) => unit('big', 4999 - i, { rejectedBy: i % 7 === 0 ? ['x'] : [] }));
        await store.commit({ units });
        const got = await store.load();
        expect(got.units).toHaveLength(5000);
        expect(got.units).toEqual([...units].reverse());
      }),
    );

    it(
      'gives copies: changing a batch or a snapshot afterwards changes nothing stored',
      withStore(async (store) => {
        const u = { ...unit('j', 0), rejectedBy: ['a'] };
        await store.commit({ units: [u] });
        u.rejectedBy.push('b');
        const first = await store.load();
        (first.units[0]!.rejectedBy as string[]).push('c');
        expect((await store.load()).units).toEqual([unit('j', 0, { rejectedBy: ['a'] })]);
      }),
    );

    it(
      "keeps one host key: a real signing key, the same on every call, another store's differs",
      withStore(async (store) => {
        const [identity, again] = await Promise.all([store.hostIdentity(), store.hostIdentity()]);
        expect(again.publicKey).toBe(identity.publicKey);
        expect(identity.id).toBe(identityOf(identity.publicKey));
        const bytes = new TextEncoder().encode('receipt');
        const signature = await identity.sign(bytes);
        expect(await verifySignature(identity.publicKey, bytes, signature)).toBe(true);
        expect(await verifySignature(identity.publicKey, new TextEncoder().encode('receipts'), signature)).toBe(false);
        expect((await store.hostIdentity()).publicKey).toBe(identity.publicKey);
        const other = await open();
        try {
          expect((await other.hostIdentity()).publicKey).not.toBe(identity.publicKey);
        } finally {
          await other.close();
        }
      }),
    );

    it(
      'keeps datasets by root, apart from the snapshot: saving a root again changes nothing, an unknown root is undefined',
      withStore(async (store) => {
        expect(await store.datasetRoots()).toEqual([]);
        expect(await store.loadDataset('00'.repeat(32))).toBeUndefined();
        const small = { root: 'bb'.repeat(32), data: bytesOf(1000, 3), createdAt: 1_767_225_600_123 };
        const one = { root: 'aa'.repeat(32), data: Uint8Array.of(7), createdAt: 5 };
        await store.saveDataset(small);
        await store.saveDataset(one);
        expect(await store.loadDataset(small.root)).toEqual(small);
        expect(await store.loadDataset(one.root)).toEqual(one);
        expect(await store.datasetRoots()).toEqual([one.root, small.root]);
        // Content-addressed: a second save of a root keeps the first (its bytes and its time).
        await store.saveDataset({ root: small.root, data: bytesOf(1000, 3), createdAt: 9e12 });
        expect(await store.loadDataset(small.root)).toEqual(small);
        expect(await store.datasetRoots()).toEqual([one.root, small.root]);
        // A copy: changing what was saved or read changes nothing stored.
        small.data.fill(0);
        (await store.loadDataset(one.root))!.data.fill(0);
        expect(await store.loadDataset(small.root)).toEqual({ ...small, data: bytesOf(1000, 3) });
        expect((await store.loadDataset(one.root))!.data).toEqual(Uint8Array.of(7));
        // Not in the snapshot, and no commit touches them.
        await store.commit({ jobs: [job('j', 1)] });
        expect(await store.load()).toEqual({ jobs: [job('j', 1)], units: [], volunteers: [], receipts: [], trust: [], teams: [] });
        await expect(store.saveDataset({ root: 'cc'.repeat(32), data: new Uint8Array(0), createdAt: 1 })).rejects.toThrow(/no bytes/);
        expect(await store.loadDataset('cc'.repeat(32))).toBeUndefined();
      }),
    );

    it(
      "keeps a job's status, and an absent status stays absent",
      withStore(async (store) => {
        await store.commit({ jobs: [job('a', 1), { ...job('b', 2), status: 'paused' }, { ...job('c', 3), status: 'cancelled' }] });
        expect((await store.load()).jobs).toEqual([job('a', 1), { ...job('b', 2), status: 'paused' }, { ...job('c', 3), status: 'cancelled' }]);
        await store.commit({ jobs: [{ ...job('b', 2), status: 'active' }] });
        expect((await store.load()).jobs[1]).toEqual({ ...job('b', 2), status: 'active' });
      }),
    );

    it(
      "deletes a job with its units, trust records and kept outputs, and the datasets listed; keeps receipts, volunteers and other jobs' records",
      withStore(async (store) => {
        const gone = { root: 'e1'.repeat(32), data: bytesOf(300_000, 1), createdAt: 1 };
        const kept = { root: 'e2'.repeat(32), data: bytesOf(1000, 2), createdAt: 2 };
        await store.saveDataset(gone);
        await store.saveDataset(kept);
        const t = (jobId: string): StoredTrust => ({ jobId, key: 'k', streak: 1, valid: 1, invalid: 0, banned: false });
        await store.commit({
          jobs: [job('j', 1), job('k', 2)],
          units: [unit('j', 0, { state: 'accepted', root: 'aa' }), unit('j', 1), unit('k', 0, { state: 'accepted', root: 'aa' })],
          volunteers: [volunteer('v', 12.5)],
          receipts: [receipt('r', 1)],
          trust: [t('j'), t('k')],
          outputs: [
            { unitId: 'j/0', root: 'aa', data: Uint8Array.of(1) },
            { unitId: 'j/0', root: 'bb', data: Uint8Array.of(2) },
            { unitId: 'k/0', root: 'aa', data: Uint8Array.of(3) },
          ],
        });
        // Deletions apply before the batch's upserts, in one transaction.
        await store.commit({ deletedJobs: ['j'], deletedDatasets: [gone.root], jobs: [{ ...job('k', 2), status: 'paused' }] });
        expect(await store.load()).toEqual({
          jobs: [{ ...job('k', 2), status: 'paused' }],
          units: [unit('k', 0, { state: 'accepted', root: 'aa' })],
          volunteers: [volunteer('v', 12.5)],
          receipts: [receipt('r', 1)],
          trust: [t('k')],
          teams: [],
        });
        expect(await store.output('j/0', 'aa')).toBeUndefined();
        expect(await store.output('j/0', 'bb')).toBeUndefined();
        expect(await store.output('k/0', 'aa')).toEqual(Uint8Array.of(3));
        expect(await store.datasetRoots()).toEqual([kept.root]);
        expect(await store.loadDataset(gone.root)).toBeUndefined();
        expect(await store.loadDataset(kept.root)).toEqual(kept);
        // Deleting what is not there changes nothing.
        await store.commit({ deletedJobs: ['j'], deletedDatasets: [gone.root] });
        expect((await store.load()).jobs).toEqual([{ ...job('k', 2), status: 'paused' }]);
      }),
    );

    it(
      'keeps a dataset of many chunks whole (a partial last chunk included)',
      withStore(async (store) => {
        // 5 MiB + 13 bytes: 21 chunks of 256 KiB, the last 13 bytes long.
        const big = { root: 'dd'.repeat(32), data: bytesOf(5 * 2 ** 20 + 13, 11), createdAt: 42 };
        await store.saveDataset(big);
        const got = await store.loadDataset(big.root);
        expect(got?.data.length).toBe(big.data.length);
        expect(got?.createdAt).toBe(42);
        expect(sameBytes(got!.data, big.data)).toBe(true);
      }),
    );

    it(
      'closes twice without error',
      withStore(async (store) => {
        await store.close();
      }),
    );

    it.runIf(reopen)(
      'returns the same snapshot after close and reopen',
      withStore(async (store) => {
        await store.commit({ jobs: [job('j', 1)], units: [unit('j', 1, { challenge: [3], rejectedBy: ['z'] }), unit('j', 0)] });
        await store.commit({ volunteers: [volunteer('v', 7.25)], receipts: [receipt('r', 5)] });
        const before = await store.load();
        const again = await reopen!(store);
        expect(await again.load()).toEqual(before);
        await again.commit({ units: [unit('j', 2)] });
        expect((await again.load()).units).toHaveLength(3);
        return again;
      }),
    );

    it.runIf(reopen)(
      'keeps datasets across close and reopen',
      withStore(async (store) => {
        const d = { root: 'ee'.repeat(32), data: bytesOf(3 * 2 ** 18 + 1, 5), createdAt: 77 };
        await store.saveDataset(d);
        const again = await reopen!(store);
        expect(await again.datasetRoots()).toEqual([d.root]);
        const got = await again.loadDataset(d.root);
        expect(got?.createdAt).toBe(77);
        expect(sameBytes(got!.data, d.data)).toBe(true);
        return again;
      }),
    );

    it.runIf(reopen)(
      'keeps the host key across close and reopen: the reopened store signs as the first did',
      withStore(async (store) => {
        const identity = await store.hostIdentity();
        const bytes = new TextEncoder().encode('receipt');
        const signature = await identity.sign(bytes);
        const again = await reopen!(store);
        const reloaded = await again.hostIdentity();
        expect(reloaded.publicKey).toBe(identity.publicKey);
        expect(await verifySignature(reloaded.publicKey, bytes, signature)).toBe(true);
        expect(await verifySignature(identity.publicKey, bytes, await reloaded.sign(bytes))).toBe(true);
        return again;
      }),
    );
  });
}
