import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore, type VerdictEvent } from '../../src/host/host-core';
import type { JobSpec } from '../../src/host/job';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { verifyReceiptSignature } from '../../src/proof/receipt-signing';
import type { Identity } from '../../src/proof/identity';
import { seededRandom } from '../../src/work/seeded';
import { buildResults, RESULTS_FORMAT } from '../../src/dashboard/results-file';
import { volunteerRows } from '../../src/dashboard/volunteer-rows';
import { HandVolunteer } from '../helpers/honest-volunteer';
import { newIdentity } from '../helpers/signing';

const job: JobSpec = { id: 'dash', kernel: 'sha256-batch', units: 3, messagesPerUnit: 16, messageLength: 64, seed: 5, samples: 4 };
const trusted: JobSpec = { ...job, id: 'dash-trust', trust: { warmup: 1, banAfter: 2 } };
let hash: Hasher;
let hostKey: Identity;
beforeAll(async () => {
  hash = await createCpuSha256();
  hostKey = await newIdentity();
});

let now = 5_000_000;
async function open(jobs: JobSpec[], store = new MemoryHostStore(), events: VerdictEvent[] = []) {
  const core = await HostCore.open(store, jobs, {
    hostId: 'h',
    hash,
    identity: hostKey,
    random: seededRandom(3),
    clock: () => now,
    maxLeases: 1,
    onVerdict: (e) => events.push(e),
  });
  return { core, store, events };
}

describe('HostCore.addJob', () => {
  it('commits a job and all its units in one transaction, and leases them', async () => {
    const { core, store } = await open([]);
    const before = store.commits;
    expect(await core.addJob(job)).toBe(true);
    expect(store.commits).toBe(before + 1);
    expect(core.jobs()).toEqual([job]);
    expect(core.units('dash').map((u) => [u.unitId, u.state])).toEqual([
      ['dash/0', 'queued'],
      ['dash/1', 'queued'],
      ['dash/2', 'queued'],
    ]);
    // The committed state is what a reopened host sees.
    const again = await open([], store);
    expect(again.core.progress()).toMatchObject({ total: 3, queued: 3 });
    const v = await HandVolunteer.greet(core, 'a', await newIdentity(), hash);
    expect((await v.lease()).unitId).toBe('dash/0');
  });

  it('is idempotent for the same spec and refuses another spec under a known id', async () => {
    const { core, store } = await open([job]);
    const before = store.commits;
    expect(await core.addJob(job)).toBe(false);
    expect(store.commits).toBe(before);
    await expect(core.addJob({ ...job, seed: 6 })).rejects.toMatchObject({ code: 'bad-input' });
    await expect(core.addJob({ ...job, id: 'x', units: 0 })).rejects.toMatchObject({ code: 'bad-input' });
    expect(core.jobs()).toHaveLength(1);
  });
});

describe('HostCore read-only views', () => {
  it('reports units, volunteers, trust and every verdict', async () => {
    const { core, events } = await open([trusted]);
    const honest = await HandVolunteer.greet(core, 'a', await newIdentity(), hash);
    const cheat = await HandVolunteer.greet(core, 'b', await newIdentity(), hash);
    now += 1000;
    const u0 = await honest.lease();
    expect(await honest.submit(u0)).toMatchObject({ verdict: 'accepted' });
    const u1 = await cheat.lease();
    expect(core.units('dash-trust')[1]).toMatchObject({ state: 'leased', holder: cheat.identity.id, rejections: 0 });
    expect(await cheat.submit(u1, true)).toMatchObject({ verdict: 'rejected' });

    const units = core.units('dash-trust');
    expect(units[0]).toMatchObject({ state: 'accepted', holder: honest.identity.id, acceptedAt: now });
    expect(units[0]!.root).toMatch(/^[0-9a-f]{64}$/);
    expect(units[1]).toMatchObject({ state: 'queued', holder: null, rejections: 1 });
    expect(events.map((e) => [e.unitId, e.volunteer, e.verdict])).toEqual([
      ['dash-trust/0', honest.identity.id, 'accepted'],
      ['dash-trust/1', cheat.identity.id, 'rejected'],
    ]);
    expect(events[1]!.reason).toMatch(/root/);

    const rows = volunteerRows(core, trusted);
    expect(rows.map((r) => [r.id, r.accepted, r.rejected, r.trust.level])).toEqual([
      [honest.identity.id, 1, 0, 'trusted'],
      [cheat.identity.id, 0, 1, 'suspect'],
    ]);
    expect(rows[1]!.trust).toMatchObject({ streak: 0, checkRate: 1, banned: false });
    expect(core.trustRecords('dash-trust')).toHaveLength(2);
    expect(core.trustRecords('other')).toEqual([]);

    // Views are copies: changing one does not change the host.
    (core.units('dash-trust')[0] as { state: string }).state = 'queued';
    expect(core.progress().accepted).toBe(1);
  });

  it('shows a volunteer holding a lease before any verdict, and "always checked" without a trust policy', async () => {
    const { core } = await open([job]);
    const v = await HandVolunteer.greet(core, 'a', await newIdentity(), hash);
    await v.lease();
    expect(volunteerRows(core, job)).toEqual([
      { id: v.identity.id, credit: 0, accepted: 0, rejected: 0, holding: 1, trust: { level: 'always checked', streak: 0, checkRate: 1, banned: false } },
    ]);
  });
});

describe('results file', () => {
  it('holds each accepted root, volunteer and a receipt that verifies with the host key', async () => {
    const { core } = await open([job]);
    const v = await HandVolunteer.greet(core, 'a', await newIdentity(), hash);
    for (let i = 0; i < 2; i++) await v.submit(await v.lease());
    // The job does not collect output: none is read, and the file says it was not kept.
    const output = vi.fn(async (id: string) => core.output(id));
    const { header: file, c } = await buildResults({
      hostId: 'h',
      publicKey: core.publicKey,
      job,
      accepted: core.results('dash'),
      receipt: (id) => core.receipt(id),
      output,
      now: 0,
    });
    expect(output).not.toHaveBeenCalled();
    expect(c).toBeUndefined();
    expect(file.note).toMatch(/did not keep this job's output data .* without "collect": true/);
    expect(file.results.every((r) => !('digests' in r))).toBe(true);
    expect(file).toMatchObject({
      format: RESULTS_FORMAT,
      output: 'none',
      host: { id: 'h', publicKey: hostKey.publicKey },
      job,
      exportedAt: '1970-01-01T00:00:00.000Z',
      units: { total: 3, accepted: 2 },
    });
    expect(file.results.map((r) => [r.unitId, r.index, r.volunteer])).toEqual([
      ['dash/0', 0, v.identity.id],
      ['dash/1', 1, v.identity.id],
    ]);
    // Through JSON, as a downloader gets it.
    const parsed = JSON.parse(JSON.stringify(file)) as typeof file;
    for (const r of parsed.results) {
      expect(r.receipt!.root).toBe(r.root);
      expect(await verifyReceiptSignature(parsed.host.publicKey, r.receipt!, r.receipt!.signature!)).toBe(true);
      expect(await verifyReceiptSignature(parsed.host.publicKey, { ...r.receipt!, credit: r.receipt!.credit + 1 }, r.receipt!.signature!)).toBe(false);
    }
  });
});
